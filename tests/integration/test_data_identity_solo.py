"""solo-learn's real main_pretrain.py on a built folder: a dataset root, a damaged build or a
missing path stop the run before training with one line; a sound build's manifest path and
checksum end up in the run's args.json."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from solo_tase.data.manifest import MANIFEST_NAME, Manifest
from tests.helpers.solo_runs import DIGITS, TINY, single_run_folder

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # each test starts solo-learn

ONE_EPOCH = [*TINY, "max_epochs=1"]


def stop_line(proc: subprocess.CompletedProcess, text: str) -> str:
    """The one stderr line of a run that stopped before training that holds ``text``."""
    assert proc.returncode != 0, proc.stdout[-2000:]
    lines = [line for line in proc.stderr.splitlines() if text in line]
    assert lines, proc.stderr[-3000:]
    return lines[-1]


def test_a_dataset_root_stops_the_run(run_solo, digits_root: Path, tmp_path: Path):
    root = digits_root / "digits-lt"
    proc = run_solo(
        "main_pretrain.py",
        DIGITS,
        "simclr.yaml",
        [*ONE_EPOCH, f"data.train_path={root}"],
        tmp_path / "out",
        check=False,
    )
    line = stop_line(proc, "is a dataset's root folder")
    assert f"use data.train_path={root / 'train'}" in line
    assert not (tmp_path / "out" / "simclr").exists()  # nothing trained


def test_a_damaged_build_stops_the_run(run_solo, digits_root: Path, tmp_path: Path):
    copy = tmp_path / "digits-lt"
    shutil.copytree(digits_root / "digits-lt", copy)
    images = sorted((copy / "train" / "0").iterdir())
    for image in images[:5]:
        image.unlink()
    proc = run_solo(
        "main_pretrain.py",
        DIGITS,
        "simclr.yaml",
        [*ONE_EPOCH, f"data.train_path={copy / 'train'}"],
        tmp_path / "out",
        check=False,
    )
    line = stop_line(proc, "does not match its manifest")
    assert f"class '0' has {len(images) - 5} images" in line and "--replace" in line
    assert not (tmp_path / "out" / "simclr").exists()


def test_a_missing_train_path_names_the_data_root_and_the_build(run_solo, tmp_path: Path):
    missing = tmp_path / "elsewhere" / "digits-lt" / "train"
    proc = run_solo(
        "main_pretrain.py",
        DIGITS,
        "simclr.yaml",
        [*ONE_EPOCH, f"data.train_path={missing}"],
        tmp_path / "out",
        check=False,
    )
    line = stop_line(proc, "does not exist")
    assert "SOLO_TASE_DATA" in line and "solo-tase data build digits-lt" in line
    assert "Traceback" not in proc.stderr.split(line)[-1]


def test_a_sound_build_is_recorded_in_args_json(run_solo, digits_root: Path, tmp_path: Path):
    run_solo("main_pretrain.py", DIGITS, "simclr.yaml", ONE_EPOCH, tmp_path / "out")
    args = json.loads((single_run_folder(tmp_path / "out", "simclr") / "args.json").read_text())
    manifest_path = digits_root / "digits-lt" / MANIFEST_NAME
    assert args["data"]["manifest"] == str(manifest_path)
    assert args["data"]["manifest_checksum"] == Manifest.load(manifest_path).index_checksum
