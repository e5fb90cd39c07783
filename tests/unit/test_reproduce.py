"""Reproduction recipes (--dry-run) and the demo's fail-fast without solo-learn."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_reproduce():
    spec = importlib.util.spec_from_file_location("reproduce", REPO / "scripts/reproduce/reproduce.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["reproduce"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("benchmark", ["cifar10-lt", "cifar100-lt", "imagenet100-lt"])
def test_dry_run_prints_every_step_and_writes_nothing(benchmark, tmp_path: Path, capsys):
    reproduce = load_reproduce()
    out = tmp_path / "out"
    assert reproduce.main([benchmark, "--data-root", str(tmp_path / "data"), "--out", str(out),
                           "--dry-run", "--set", "max_epochs=1",
                           "--eval-options", "--epochs 5"]) == 0
    text = capsys.readouterr().out
    assert not out.exists()
    for method in ("simclr", "ts", "sdclr", "tase"):
        assert (f"--config-path {REPO / 'scripts/pretrain' / benchmark} --config-name "
                f"{method}.yaml") in text
        assert f"# evaluate {method} (full-shot)" in text
        assert f"# evaluate {method} (few-shot-1pct)" in text
        assert f"# publish {method} to the zoo" in text
    assert text.count("max_epochs=1") == 4 and text.count("--epochs 5") == 8
    assert text.count("--fraction 0.01 --seeds 0 1 2") == 4
    assert "# comparison table (full-shot)" in text and "# comparison table (few-shot-1pct)" in text
    if benchmark == "imagenet100-lt":
        assert "data build imagenet100-lt" in text and "imageNet_100_BL_train.txt" in text
    else:
        assert f"--probe-set {benchmark.split('-')[0]}" in text


def test_wrappers_call_the_driver_with_their_benchmark():
    for name, bench in [("cifar10_lt", "cifar10-lt"), ("cifar100_lt", "cifar100-lt"),
                        ("imagenet100_lt", "imagenet100-lt")]:
        text = (REPO / "scripts/reproduce" / f"{name}.sh").read_text()
        assert f'reproduce.py" {bench} "$@"' in text


def test_demo_stops_before_any_work_without_solo_learn(monkeypatch, tmp_path: Path, capsys):
    import solo_tase.demo as demo

    def missing():
        raise FileNotFoundError("no solo-learn checkout with main_pretrain.py was found")

    monkeypatch.setattr(demo, "find_solo_learn_dir", missing)
    out = tmp_path / "demo"
    assert demo.main(["--out", str(out)]) == 1
    assert "no solo-learn checkout" in capsys.readouterr().out
    assert not out.exists()


def test_find_solo_learn_dir_names_the_install_commands(monkeypatch, tmp_path: Path):
    import solo_tase.experiments as experiments

    monkeypatch.setenv("SOLO_LEARN_DIR", str(tmp_path))
    monkeypatch.setattr(experiments, "solo_available", lambda: False)
    monkeypatch.setattr(experiments, "REPO", tmp_path / "repo")
    with pytest.raises(FileNotFoundError, match="git clone https://github.com/vturrisi/solo-learn"):
        experiments.find_solo_learn_dir()
