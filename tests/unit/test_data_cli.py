"""``solo-tase data build`` / ``inspect``: wiring, one-line errors (exit 2), the profile plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import solo_tase.data.cifar as cifar
from solo_tase.cli.main import main
from solo_tase.data.manifest import Manifest
from tests.helpers.images import cifar_arrays, png


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    for name in ("a", "b", "c"):
        for i in range(10):
            png(src / name / f"{i}.png")
    return src


def test_build_image_folder_then_inspect_with_plot(
    folder: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            ["data", "build", "image-folder", "--root", str(folder), "--ratio", "5", "--out", "lt"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "src-lt-r5-s0: 16 train images in 3 classes" in out and "data.train_path=" in out
    assert main(["data", "inspect", "lt"]) == 0
    out = capsys.readouterr().out
    assert "many" in out and "groups" in out and "profile plot: src-lt-r5-s0-profile.png" in out
    with Image.open(tmp_path / "src-lt-r5-s0-profile.png") as img:
        assert img.format == "PNG" and img.size[0] > 300
    assert main(["data", "inspect", "lt"]) == 0  # its own plot: replaced
    (tmp_path / "p").mkdir()
    png(tmp_path / "p" / "x.png", value=7)  # a file the command did not write
    assert main(["data", "inspect", "lt", "--plot", "p/x.png"]) == 2
    assert "--replace" in capsys.readouterr().err
    assert main(["data", "inspect", "lt", "--replace", "--plot", "p/x.png"]) == 0
    with Image.open(tmp_path / "p" / "x.png") as img:
        assert img.size[0] > 300


def test_inspect_a_plain_image_folder_and_a_manifest_file(folder: Path, tmp_path: Path, capsys):
    assert main(["data", "inspect", str(folder), "--no-plot", "--groups", "thresholds"]) == 0
    assert "src: 30 images, 3 classes (thresholds)" in capsys.readouterr().out
    main(
        [
            "data",
            "build",
            "image-folder",
            "--root",
            str(folder),
            "--ratio",
            "2",
            "--out",
            str(tmp_path / "lt"),
        ]
    )
    capsys.readouterr()
    assert main(["data", "inspect", str(tmp_path / "lt" / "manifest.json"), "--no-plot"]) == 0
    assert "src-lt-r2-s0" in capsys.readouterr().out
    assert main(["data", "inspect", str(tmp_path / "lt"), "--groups", "thirds", "--no-plot"]) == 2
    assert "drop --groups" in capsys.readouterr().err


def test_user_errors_are_one_line_and_write_nothing(folder: Path, tmp_path: Path, capsys):
    assert (
        main(
            [
                "data",
                "build",
                "cifar10-lt",
                "--root",
                str(tmp_path / "none"),
                "--out",
                str(tmp_path / "c"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cifar-10-batches-py does not exist" in err
    assert (
        main(
            [
                "data",
                "build",
                "image-folder",
                "--root",
                str(folder),
                "--ratio",
                "0.5",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "ratio must be >= 1" in capsys.readouterr().err
    assert (
        main(
            [
                "data",
                "build",
                "list",
                "--root",
                str(folder),
                "--train-list",
                str(tmp_path / "missing.txt"),
                "--out",
                str(tmp_path / "y"),
            ]
        )
        == 2
    )
    assert "missing.txt does not exist" in capsys.readouterr().err
    assert not (tmp_path / "c").exists() and not (tmp_path / "x").exists()
    assert not (tmp_path / "y").exists()


def test_build_cifar_and_sdclr_sources(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch):
    arrays = cifar_arrays(12, seed=0, shuffle=False)
    monkeypatch.setattr(cifar, "load_cifar", lambda *a, **k: arrays)
    monkeypatch.setenv("SOLO_TASE_DATA", str(tmp_path))
    np.save(tmp_path / "val.npy", np.arange(0, 120, 12))  # one image of every class held out
    assert (
        main(
            [
                "data",
                "build",
                "cifar10-lt",
                "--ratio",
                "11",
                "--exclude-file",
                str(tmp_path / "val.npy"),
            ]
        )
        == 0
    )
    m = Manifest.load(tmp_path / "cifar10-lt-r11-s0-excl-val")
    assert m.counts[0] == 11 and m.counts[-1] == 1
    np.save(tmp_path / "split.npy", np.arange(0, 120, 2))
    assert (
        main(
            [
                "data",
                "build",
                "sdclr",
                "--dataset",
                "cifar10",
                "--split-file",
                str(tmp_path / "split.npy"),
                "--out",
                str(tmp_path / "s"),
            ]
        )
        == 0
    )
    assert Manifest.load(tmp_path / "s").counts == [6] * 10
    assert "cifar10-lt-sdclr-split" in capsys.readouterr().out


def test_build_list_preset_names_the_dataset(folder: Path, tmp_path: Path):
    (tmp_path / "l.txt").write_text(
        "".join(f"{c}/{i}.png {k}\n" for k, c in enumerate("abc") for i in range(10 - 3 * k))
    )
    assert (
        main(
            [
                "data",
                "build",
                "places-lt",
                "--root",
                str(folder),
                "--train-list",
                str(tmp_path / "l.txt"),
                "--out",
                str(tmp_path / "p"),
            ]
        )
        == 0
    )
    m = Manifest.load(tmp_path / "p")
    assert (m.name, m.counts, m.group_rule) == ("places-lt", [10, 7, 4], "thresholds")


def test_bad_files_and_options_are_one_line_errors(
    folder: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{not json")
    assert main(["data", "inspect", str(tmp_path / "bad"), "--no-plot"]) == 2
    assert "manifest.json is not a manifest: not valid JSON" in capsys.readouterr().err
    (tmp_path / "l.txt").write_bytes(b"\xff\xfe\x00a 0\n")
    argv = ["data", "build", "list", "--root", str(folder), "--train-list", str(tmp_path / "l.txt")]
    assert main([*argv, "--out", str(tmp_path / "l")]) == 2
    assert "l.txt is not a text list" in capsys.readouterr().err
    arrays = cifar_arrays(12, seed=0, shuffle=False)
    monkeypatch.setattr(cifar, "load_cifar", lambda *a, **k: arrays)
    (tmp_path / "empty.npy").write_bytes(b"")
    argv = ["data", "build", "cifar10-lt", "--exclude-file", str(tmp_path / "empty.npy")]
    assert main([*argv, "--out", str(tmp_path / "c")]) == 2
    assert "empty.npy is not a plain .npy array" in capsys.readouterr().err
    assert main(["data", "build", "fashion-mnist-lt", "--download"]) == 2
    assert "--root must be given with --download" in capsys.readouterr().err
    argv = ["data", "build", "cifar10-lt", "--ratio", "2", "--n-max", "20"]
    assert main([*argv, "--out", str(tmp_path / "c")]) == 2
    assert "--n-max=20 asks 20 images of class 0" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in ("l", "c"))


def test_a_rerun_replaces_only_its_own_plot(folder: Path, tmp_path: Path, capsys):
    from solo_tase.data.plot import PROFILE_MARK, made_by

    build = ["data", "build", "image-folder", "--root", str(folder)]
    assert main([*build, "--ratio", "5", "--out", str(tmp_path / "lt")]) == 0
    plot = tmp_path / "profile.png"
    inspect = ["data", "inspect", str(tmp_path / "lt"), "--plot", str(plot)]
    assert main(inspect) == 0 and made_by(plot) == PROFILE_MARK
    assert main(inspect) == 0, capsys.readouterr().err  # a second run replaces its own plot
    plot.write_text("not a plot")
    assert main(inspect) == 2 and plot.read_text() == "not a plot"
    png(plot)  # a PNG without the mark: still not the command's
    assert main(inspect) == 2
    assert "--replace" in capsys.readouterr().err.splitlines()[-1]


def test_diagnostics_rerun_replaces_its_own_plot_only(tmp_path: Path, capsys):
    import json

    from solo_tase.cli.diagnostics import PLOT_MARK, PLOT_NAME
    from solo_tase.data.plot import made_by
    from solo_tase.run_folder import STATS_FILE

    record = {
        "reclustered": True,
        "epoch": 1,
        "tail_signal": "kmeans",
        "rho": 0.5,
        "recovered_imbalance": 3.0,
        "true_imbalance": 10.0,
        "nmi": 0.4,
    }
    (tmp_path / STATS_FILE).write_text(json.dumps(record) + "\n")
    assert main(["diagnostics", str(tmp_path)]) == 0, capsys.readouterr()
    plot = tmp_path / PLOT_NAME
    assert made_by(plot) == PLOT_MARK
    assert main(["diagnostics", str(tmp_path)]) == 0, capsys.readouterr().err
    png(plot)
    assert main(["diagnostics", str(tmp_path)]) == 2
    assert "--replace" in capsys.readouterr().err


def test_build_reuses_only_a_folder_that_matches_its_manifest(folder: Path, tmp_path: Path, capsys):
    argv = ["data", "build", "image-folder", "--root", str(folder), "--ratio", "5"]
    out = tmp_path / "lt"
    assert main([*argv, "--out", str(out)]) == 0
    manifest = Manifest.load(out)
    assert manifest.extra["build_command"].startswith("solo-tase data build image-folder --root ")
    assert f"--ratio 5.0 --out {out}" in manifest.extra["build_command"]
    assert main([*argv, "--out", str(out)]) == 0  # intact: reused
    capsys.readouterr()
    first = sorted((out / "train" / "0_a").iterdir())[0]
    first.unlink()
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "class '0_a' has 9 images, the manifest" in err and "says 10" in err
    assert "--replace" in err
    assert main(["data", "inspect", str(out), "--no-plot"]) == 1  # the folder's counts, flagged
    shown = capsys.readouterr().out
    assert "differs from its manifest" in shown and "15 images" in shown
    assert main([*argv, "--out", str(out), "--replace"]) == 0  # rebuilt
    assert first.is_symlink() and main(["data", "inspect", str(out), "--no-plot"]) == 0


def test_build_refuses_renamed_files_with_the_same_counts(folder: Path, tmp_path: Path, capsys):
    argv = ["data", "build", "image-folder", "--root", str(folder), "--ratio", "5"]
    out = tmp_path / "lt"
    assert main([*argv, "--out", str(out)]) == 0
    first = sorted((out / "train" / "0_a").iterdir())[0]
    first.rename(first.with_name("renamed.png"))
    capsys.readouterr()
    assert main([*argv, "--out", str(out)]) == 2
    assert "file names differ" in capsys.readouterr().err
