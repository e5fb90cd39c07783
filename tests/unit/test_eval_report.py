"""Result folders (atomic, never overwritten silently) and the comparison table's refusals."""

from __future__ import annotations

import copy
import csv
import json

import pytest

from solo_tase.eval.report import comparison_table, load_metrics, write_result

GROUPS = ["many", "many", "medium", "few"]


def document(method: str = "tase", all_: float = 70.0, std: dict | None = None) -> dict:
    return {
        "schema": "solo-tase/metrics/v1",
        "method": method,
        "run_name": f"{method}-run",
        "protocol": {
            "name": "linear",
            "shots": None,
            "fraction": None,
            "seeds": [0],
            "epochs": 500,
        },
        "metrics": {"all": all_, "many": 80.0, "medium": 70.0, "few": 55.5, "std": 10.27},
        "metrics_std": std,
        "per_class": [
            {"class": str(c), "train_count": n, "group": g, "accuracy": 50.0 + c}
            for c, (n, g) in enumerate(zip([100, 50, 20, 5], GROUPS))
        ],
        "inputs": {"manifest": "/data/manifest.json", "manifest_checksum": "abc"},
        "versions": {},
    }


def test_write_result_files_and_refusal(tmp_path):
    out = write_result(tmp_path / "res", document())
    assert json.loads((out / "metrics.json").read_text()) == document()
    rows = list(csv.DictReader(open(out / "per_class.csv")))
    assert rows[3] == {"class": "3", "train_count": "5", "group": "few", "accuracy": "53.0"}
    assert (out / "per_class.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(FileExistsError, match="pass --replace"):
        write_result(out, document("sdclr"))
    assert json.loads((out / "metrics.json").read_text())["method"] == "tase"
    write_result(out, document("sdclr"), replace=True)
    assert json.loads((out / "metrics.json").read_text())["method"] == "sdclr"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_failed_write_leaves_nothing(tmp_path):
    bad = document()
    bad["versions"]["torch"] = object()  # not JSON-serialisable: fails half-way
    with pytest.raises(TypeError):
        write_result(tmp_path / "res", bad)
    assert list(tmp_path.iterdir()) == []


def test_comparison_table(tmp_path):
    write_result(
        tmp_path / "a",
        document("tase", 71.234, std={k: 0.5 for k in ("all", "many", "medium", "few", "std")}),
    )
    table = comparison_table([("a", load_metrics(tmp_path / "a")), ("b", document("simclr", 65.0))])
    lines = table.splitlines()
    assert lines[2] == "| method | run | Many | Medium | Few | Std | All |"
    assert lines[4] == (
        "| tase | tase-run | 80.00 ± 0.50 | 70.00 ± 0.50 | 55.50 ± 0.50 | "
        "10.27 ± 0.50 | 71.23 ± 0.50 |"
    )
    assert lines[5] == "| simclr | simclr-run | 80.00 | 70.00 | 55.50 | 10.27 | 65.00 |"


def test_compare_refuses_other_protocols_and_manifests():
    other = copy.deepcopy(document("simclr"))
    other["protocol"]["epochs"] = 100
    with pytest.raises(ValueError, match=r"different protocols \(epochs: 100 vs 500\)"):
        comparison_table([("a", document()), ("b", other)])
    other = copy.deepcopy(document("simclr"))
    other["inputs"]["manifest_checksum"] = "def"
    with pytest.raises(ValueError, match="different manifests"):
        comparison_table([("a", document()), ("b", other)])
    other = copy.deepcopy(document("simclr"))
    other["per_class"][1]["group"] = "medium"
    with pytest.raises(ValueError, match="different manifests"):
        comparison_table([("a", document()), ("b", other)])


def test_load_metrics_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics.json"):
        load_metrics(tmp_path)
    (tmp_path / "metrics.json").write_text(json.dumps({"schema": "other"}))
    with pytest.raises(ValueError, match="not a solo-tase/metrics/v1 document"):
        load_metrics(tmp_path)
