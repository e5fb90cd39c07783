"""``solo-tase diagnostics RUN``: the table and plot of a run's tail-signal estimates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solo_tase.cli.main import main as cli
from solo_tase.eval.tail_report import read_estimates


def write_stats(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "solo_tase_stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


RECORDS = [
    {"epoch": 0, "reclustered": False},
    {
        "epoch": 1,
        "reclustered": True,
        "tail_signal": "knn_density",
        "rho": 0.41,
        "recovered_imbalance": 3.2,
        "true_imbalance": 100.0,
        "tau_many": 0.3,
        "tau_few": 0.12,
        "w_many": 0.7,
        "w_few": 2.1,
    },
    {
        "epoch": 2,
        "reclustered": True,
        "tail_signal": "knn_density",
        "rho": 0.55,
        "recovered_imbalance": 5.0,
        "true_imbalance": 100.0,
        "tau_many": 0.31,
        "tau_few": 0.11,
        "w_many": 0.6,
        "w_few": 2.4,
    },
]


def test_table_and_plot_of_the_estimates(tmp_path: Path, capsys):
    run = write_stats(tmp_path / "run", RECORDS)
    assert [r["epoch"] for r in read_estimates(run)] == [1, 2]
    assert cli(["diagnostics", str(run)]) == 0
    out = capsys.readouterr().out
    assert "+0.55" in out and "knn_density" in out
    assert (run / "tail_diagnostics.png").stat().st_size > 1000
    assert cli(["diagnostics", str(run)]) == 0  # a re-run replaces its own plot
    assert cli(["diagnostics", str(run), "--replace"]) == 0


def test_unlabelled_runs_say_why_there_is_no_plot(tmp_path: Path, capsys):
    run = write_stats(
        tmp_path / "run",
        [{"epoch": 1, "reclustered": True, "diagnostics": "not computed: no labels"}],
    )
    assert cli(["diagnostics", str(run)]) == 0
    assert "not computed" in capsys.readouterr().out
    assert not (run / "tail_diagnostics.png").exists()


def test_a_folder_without_stats_is_a_clear_error(tmp_path: Path, capsys):
    assert cli(["diagnostics", str(tmp_path)]) == 2
    assert "solo_tase_stats.jsonl" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="TASE run folder"):
        read_estimates(tmp_path)
