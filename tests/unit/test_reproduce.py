"""Reproduction recipes (--dry-run) and the demo's fail-fast without solo-learn."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_reproduce():
    spec = importlib.util.spec_from_file_location(
        "reproduce", REPO / "scripts/reproduce/reproduce.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["reproduce"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


REFERENCE = REPO.parent / "shared" / "reference-splits"


def dry_run(reproduce, capsys, benchmark: str, out: Path, *extra: str) -> str:
    assert (
        reproduce.main(
            [
                benchmark,
                "--data-root",
                str(out.parent / "data"),
                "--out",
                str(out),
                "--splits",
                str(REFERENCE),
                "--dry-run",
                *extra,
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert not out.exists()
    return text


@pytest.mark.parametrize(
    "benchmark, preset, splits, settings",
    [
        ("cifar10-lt", "sdclr", 5, ["full-shot", "1%"]),
        ("cifar100-lt", "bcl", 5, ["full-shot", "100-shot", "50-shot"]),
        ("imagenet100-lt", "sdclr", 1, ["full-shot", "1%"]),
    ],
)
def test_dry_run_shows_every_split_setting_and_the_final_tables(
    benchmark, preset, splits, settings, tmp_path, capsys
):
    reproduce = load_reproduce()
    text = dry_run(
        reproduce,
        capsys,
        benchmark,
        tmp_path / "out",
        "--set",
        "max_epochs=1",
        "--eval-options",
        "--num-workers 2",
    )
    assert text.splitlines()[0].startswith(f"# preset {preset}: ")
    assert "(the default for this benchmark)" in text.splitlines()[0]
    for method in reproduce.METHODS:
        assert (
            f"--config-path {REPO / 'scripts/pretrain' / benchmark} --config-name {method}.yaml"
        ) in text
        for k in range(1, splits + 1):
            assert f"# pre-train {method} (split{k} of {splits})" in text
            for s in settings:
                assert f"# evaluate {method} ({s}, split{k})" in text
        assert f"# publish {method} (split1) to the zoo" in text
    runs = len(reproduce.METHODS) * splits
    assert text.count("max_epochs=1") == runs
    assert text.count("--num-workers 2") == runs * len(settings)
    assert text.count(f"--preset {preset} ") == runs * len(settings)
    wd = {"sdclr": "0.0001", "bcl": "0.0005"}[preset]
    assert text.count(f"optimizer.weight_decay={wd}") == runs
    for s in settings:
        assert (
            f"# results ({preset} preset, {s}): mean ± std over {splits} pre-training split(s)"
        ) in text
        slug = s.replace("%", "pct")
        folders = " ".join(str(tmp_path / "out" / "eval" / slug / m) for m in reproduce.METHODS)
        assert f"compare --over-splits {folders}" in text
    if benchmark == "imagenet100-lt":
        assert "data build imagenet100-lt" in text and "imageNet_100_LT_train.txt" in text
        assert "imageNet_100_sub_balance_train_0.01.txt" in text
        assert "--val-set" in text and "ImageNet_100_val.txt" in text
    else:
        assert f"--probe-set {benchmark.split('-')[0]}" in text
        for k in range(1, 6):
            assert f"split{k}_D_i.npy" in text


def test_gh_preset_draws_the_ldam_split_and_pretrains_once(tmp_path, capsys):
    reproduce = load_reproduce()
    text = dry_run(
        reproduce, capsys, "cifar100-lt", tmp_path / "out", "--preset", "gh", "--methods", "tase"
    )
    assert "(the default" not in text.splitlines()[0]
    assert text.count("# pre-train tase") == 1
    assert "+data.long_tail.draw=ldam data.long_tail.seed=0 optimizer.weight_decay=0.0005" in text
    assert "--preset gh --setting full-shot" in text


def test_a_subset_of_splits_and_refusals(tmp_path, capsys):
    reproduce = load_reproduce()
    text = dry_run(
        reproduce,
        capsys,
        "cifar100-lt",
        tmp_path / "out",
        "--pretrain-splits",
        "2",
        "4",
        "--methods",
        "simclr",
    )
    assert "split2 of 5" in text and "split4 of 5" in text and "split1 of 5" not in text
    assert "mean ± std over 2 pre-training split(s)" in text
    for argv, message in (
        (["--preset", "bcl"], "bcl has no protocol for cifar10-lt"),
        (["--pretrain-splits", "6"], "--pretrain-splits [6]: preset sdclr"),
    ):
        with pytest.raises(SystemExit):
            reproduce.main(["cifar10-lt", "--data-root", str(tmp_path), "--dry-run", *argv])
        assert message in capsys.readouterr().err


def test_wrappers_call_the_driver_with_their_benchmark():
    for name, bench in [
        ("cifar10_lt", "cifar10-lt"),
        ("cifar100_lt", "cifar100-lt"),
        ("imagenet100_lt", "imagenet100-lt"),
    ]:
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
    monkeypatch.setattr(experiments, "source_tree", lambda: tmp_path / "repo")
    with pytest.raises(FileNotFoundError, match="git clone https://github.com/vturrisi/solo-learn"):
        experiments.find_solo_learn_dir()
