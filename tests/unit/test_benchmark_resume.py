"""Benchmark pre-trainings: an interrupted one resumes from its newest checkpoint, with an
override solo-learn's Hydra accepts (checkpoint names hold "=": ``...-ep=40.ckpt``); runs of
another length get their own folder, and a finished run is never reused for another length."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers.benchmarks import load
from tests.helpers.paths import PRETRAIN_CONFIGS

overrides_parser = pytest.importorskip(
    "hydra.core.override_parser.overrides_parser", reason="Hydra comes with solo-learn's deps"
)


def test_a_run_resumes_from_its_newest_checkpoint_with_a_quoted_path(tmp_path, monkeypatch):
    quality = load("quality")
    run_out = tmp_path / "pretrain" / "simclr-s0"
    ckpts = run_out / "simclr" / "0"
    ckpts.mkdir(parents=True)
    (run_out / "pretrain.log").write_text("the first attempt, killed: no time recorded\n")
    for epoch, mtime in ((20, 1_000), (40, 2_000)):
        path = ckpts / f"simclr-fashion-mnist-lt-0-ep={epoch}.ckpt"
        path.write_bytes(b"")
        os.utime(path, (mtime, mtime))
    commands: list[list[str]] = []
    logs: list[Path] = []

    def interrupted(cmd: list[str], cwd: Path, log: Path) -> float:
        commands.append(cmd)
        logs.append(log)
        raise RuntimeError("stopped")

    monkeypatch.setattr(quality, "run", interrupted)
    with pytest.raises(RuntimeError, match="stopped"):
        quality.pretrain(
            "simclr",
            quality.CORE["simclr"],
            PRETRAIN_CONFIGS / "fashion-mnist-lt",
            0,
            60,
            tmp_path,
            tmp_path / "solo-learn",
            tmp_path / "data",
        )
    (cmd,) = commands
    overrides = cmd[cmd.index("--config-name") + 2 :]
    parsed = overrides_parser.OverridesParser.create().parse_overrides(overrides)
    resume = {o.key_or_group: o.value() for o in parsed}["resume_from_checkpoint"]
    assert resume == str(ckpts / "simclr-fashion-mnist-lt-0-ep=40.ckpt")
    assert (run_out / "attempts.json").is_file()  # the interrupted attempt's time is kept
    # every attempt has its own log, even after one that recorded no time
    assert (run_out / "pretrain.log").read_text().startswith("the first attempt")
    assert logs == [run_out / "pretrain1.log"]


def test_runs_of_another_length_get_their_own_folder_and_table():
    quality = load("quality")
    assert quality.run_name("fashion-mnist-lt", 20) == "fashion-mnist-lt"
    # the folder of headroom.py's 60x1000 runs: their SimCLR rows are reused
    assert quality.run_name("fashion-mnist-lt", 60) == "fashion-mnist-lt-e60-n1000"
    assert quality.run_name("digits-lt", quality.BENCHMARKS["digits-lt"].epochs) == "digits-lt"
    assert quality.run_name("digits-lt", 7) == "digits-lt-e7"


def test_a_finished_run_of_another_length_is_refused_not_reused(tmp_path, monkeypatch):
    quality = load("quality")
    run_out = tmp_path / "pretrain" / "simclr-s0"
    run_out.mkdir(parents=True)
    done = {"checkpoint": str(run_out / "last.ckpt"), "seconds": 240.0, "epochs": 20}
    (run_out / "done.json").write_text(json.dumps(done))
    monkeypatch.setattr(quality, "run", lambda *a, **k: pytest.fail("no pre-training expected"))
    args = ("simclr", quality.CORE["simclr"], PRETRAIN_CONFIGS / "fashion-mnist-lt", 0)
    paths = (tmp_path, tmp_path / "solo-learn", tmp_path / "data")
    assert quality.pretrain(*args, 20, *paths) == (run_out / "last.ckpt", 240.0)
    with pytest.raises(RuntimeError, match="run of 20 epochs, not 60.*--out"):
        quality.pretrain(*args, 60, *paths)


@pytest.mark.parametrize("dataset", ["digits-lt", "fashion-mnist-lt"])
def test_every_row_of_the_quality_benchmark_composes_with_its_config(dataset):
    """Each row's overrides, as the pre-training gets them, compose with the dataset's configs,
    and a TASE row's method_kwargs are valid settings (a knob the yaml does not list is added)."""
    hydra = pytest.importorskip("hydra", reason="Hydra comes with solo-learn's deps")
    from omegaconf import OmegaConf

    from solo_tase.methods.config import TaseConfig

    quality = load("quality")
    bench = quality.BENCHMARKS[dataset]
    with hydra.initialize_config_dir(
        config_dir=str(PRETRAIN_CONFIGS / (bench.configs or dataset)), version_base="1.2"
    ):
        for name, variant in bench.variants.items():
            overrides = variant.all_overrides(bench.epochs)
            cfg = hydra.compose(
                config_name=f"{variant.config}.yaml",
                overrides=[o for o in overrides if "limit_train" not in o],
            )
            if variant.config == "tase":
                kwargs = OmegaConf.to_container(cfg.method_kwargs, resolve=True)
                assert isinstance(kwargs, dict), name
                TaseConfig.from_kwargs(kwargs, num_classes=10, max_epochs=bench.epochs)
