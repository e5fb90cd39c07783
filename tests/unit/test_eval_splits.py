"""Results over pre-training splits: mean ± std per method, and the refusals of ``compare
--over-splits``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from solo_tase.cli.main import main
from solo_tase.eval.pipeline import METRICS_SCHEMA
from solo_tase.eval.splits import split_table

CLASSES = [("a", 30, "many"), ("b", 10, "medium"), ("c", 3, "few")]


def write_doc(folder: Path, method: str, split: int, all_: float, protocol: str = "linear") -> None:
    folder.mkdir(parents=True)
    doc = {
        "schema": METRICS_SCHEMA,
        "method": method,
        "run_name": f"{method}-{split}",
        "protocol": {"name": protocol, "preset": "bcl", "setting": "100-shot"},
        "metrics": {"all": all_, "many": all_ + 5, "medium": all_, "few": all_ - 5, "std": 4.08},
        "metrics_std": None,
        "per_class": [
            {"class": c, "train_count": n, "group": g, "accuracy": all_} for c, n, g in CLASSES
        ],
        "inputs": {"manifest": f"split{split}.json", "manifest_checksum": f"sum{split}"},
    }
    (folder / "metrics.json").write_text(json.dumps(doc))


def test_mean_and_std_over_the_splits(tmp_path: Path, capsys):
    values = {"simclr": [50.0, 52.0, 54.0], "tase": [60.0, 60.0, 63.0]}
    for method, alls in values.items():
        for k, a in enumerate(alls, start=1):
            write_doc(tmp_path / method / f"split{k}", method, k, a)
    table = split_table([tmp_path / "simclr", tmp_path / "tase"])
    assert "mean ± std over 3 pre-training split(s) (split1, split2, split3)" in table
    assert f"| simclr | 3 | 57.00 ± {np.std([55, 57, 59]):.2f} |" in table
    assert f"{np.mean(values['tase']):.2f} ± {np.std(values['tase']):.2f} |" in table
    assert main(["compare", "--over-splits", str(tmp_path / "simclr"), str(tmp_path / "tase")]) == 0
    assert capsys.readouterr().out.strip() == table


def test_methods_must_cover_the_same_splits_with_the_same_protocol(tmp_path: Path):
    write_doc(tmp_path / "a" / "split1", "simclr", 1, 50)
    write_doc(tmp_path / "a" / "split2", "simclr", 2, 50)
    write_doc(tmp_path / "b" / "split1", "tase", 1, 50)
    with pytest.raises(ValueError, match="same splits"):
        split_table([tmp_path / "a", tmp_path / "b"])
    write_doc(tmp_path / "b" / "split2", "tase", 2, 50, protocol="knn")
    with pytest.raises(ValueError, match="different protocols"):
        split_table([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(FileNotFoundError, match="split<k>/metrics.json"):
        split_table([tmp_path / "missing"])
