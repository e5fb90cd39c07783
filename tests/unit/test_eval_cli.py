"""``solo-tase eval`` / ``compare`` end to end without solo-learn (torchvision's ResNet-18), on
tiny ImageFolder sets and a fake CIFAR-10: outputs, refusals and bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from solo_tase.cli.main import main
from solo_tase.data.manifest import Manifest
from tests.helpers.fake_runs import make_run, run_args, write_args, write_manifest
from tests.helpers.images import write_image_folder

NAMES = ["0", "1", "2"]
FAST = ["--epochs", "30", "--num-workers", "0", "--device", "cpu"]


pytestmark = pytest.mark.usefixtures("without_solo")


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval-cli")
    ckpt, _ = make_run(root / "run")
    return {
        "root": root,
        "ckpt": ckpt,
        "probe": write_image_folder(root / "data" / "probe", [6, 6, 6], NAMES, seed=1),
        "test": write_image_folder(root / "data" / "test", [4, 4, 4], NAMES, seed=2),
        "manifest": write_manifest(root / "data" / "manifest.json", NAMES, [30, 10, 3]),
        "cache": root / "cache",
    }


def eval_cmd(f: dict[str, Path], *extra: str) -> list[str]:
    return [
        "eval",
        str(f["ckpt"]),
        "--probe-set",
        str(f["probe"]),
        "--test-set",
        str(f["test"]),
        "--manifest",
        str(f["manifest"]),
        "--cache-dir",
        str(f["cache"]),
        *FAST,
        *extra,
    ]


def test_eval_writes_results_and_never_overwrites(folders, capsys):
    out = folders["root"] / "res-linear"
    assert main(eval_cmd(folders, "--out", str(out))) == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["schema"] == "solo-tase/metrics/v1"
    assert (doc["method"], doc["run_name"]) == ("simclr", "fake-custom")
    assert doc["protocol"]["name"] == "linear" and doc["protocol"]["epochs"] == 30
    assert doc["metrics_std"] is None and set(doc["metrics"]) == {
        "all",
        "many",
        "medium",
        "few",
        "std",
    }
    assert [(c["class"], c["train_count"], c["group"]) for c in doc["per_class"]] == [
        ("0", 30, "many"),
        ("1", 10, "medium"),
        ("2", 3, "few"),
    ]
    ckpt_sha = hashlib.sha256(folders["ckpt"].read_bytes()).hexdigest()
    assert doc["inputs"]["checkpoint_sha256"] == ckpt_sha
    assert doc["inputs"]["manifest_checksum"] == Manifest.load(folders["manifest"]).index_checksum
    assert doc["inputs"]["transform"].startswith("resize=32 bilinear,center_crop=32")
    assert set(doc["versions"]) == {"solo_tase", "torch", "solo_learn"}
    assert (out / "per_class.csv").is_file() and (out / "per_class.png").is_file()
    assert "| simclr | fake-custom |" in capsys.readouterr().out

    before = (out / "metrics.json").read_bytes()
    assert main(eval_cmd(folders, "--out", str(out), "--epochs", "5")) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "metrics.json").read_bytes() == before
    assert main(eval_cmd(folders, "--out", str(out), "--replace")) == 0
    assert json.loads((out / "metrics.json").read_text()) == doc  # same numbers, cached features


def test_few_shot_seeds_knn_and_compare(folders, capsys):
    assert main(eval_cmd(folders, "--shots", "2", "--seeds", "0", "1")) == 0
    few = folders["ckpt"].parent / "eval" / "linear-2shot"
    doc = json.loads((few / "metrics.json").read_text())
    assert doc["protocol"]["shots"] == 2 and doc["protocol"]["seeds"] == [0, 1]
    assert set(doc["metrics_std"]) == set(doc["metrics"])
    knn = folders["root"] / "res-knn"
    assert main(eval_cmd(folders, "--protocol", "knn", "--k", "3", "--out", str(knn))) == 0
    assert json.loads((knn / "metrics.json").read_text())["protocol"]["k"] == 3
    capsys.readouterr()
    assert main(["compare", str(few), str(knn)]) == 2
    assert "different protocols" in capsys.readouterr().err
    assert main(["compare", str(knn), str(knn / "metrics.json")]) == 0
    assert capsys.readouterr().out.count("| simclr | fake-custom |") == 2


def test_manifest_must_match_the_test_classes(folders, capsys):
    wrong = write_manifest(folders["root"] / "wrong.json", ["a", "b", "c"], [30, 10, 3])
    cmd = eval_cmd(folders, "--out", str(folders["root"] / "nope"))
    cmd[cmd.index("--manifest") + 1] = str(wrong)
    assert main(cmd) == 2
    assert "does not match test set" in capsys.readouterr().err
    assert not (folders["root"] / "nope").exists()


def test_empty_probe_class_is_refused(folders, tmp_path, capsys):
    probe = write_image_folder(tmp_path / "probe", [6, 6, 6], NAMES)
    for png in (probe / "1").iterdir():
        png.unlink()
    cmd = eval_cmd(folders, "--out", str(tmp_path / "res"))
    cmd[cmd.index("--probe-set") + 1] = str(probe)
    assert main(cmd) == 2
    assert "has no images of class(es) ['1']" in capsys.readouterr().err


def test_manifest_from_args_long_tail_block_or_a_clear_error(folders, tmp_path, capsys):
    ckpt, _ = make_run(tmp_path / "run")
    cmd = eval_cmd(folders, "--out", str(tmp_path / "res"))
    cmd[1] = str(ckpt)
    del cmd[cmd.index("--manifest") : cmd.index("--manifest") + 2]
    assert main(cmd) == 2
    assert "pass --manifest" in capsys.readouterr().err
    args = run_args()
    args["data"]["long_tail"] = {"manifest": str(folders["manifest"].parent)}
    write_args(tmp_path / "run", args)
    assert main(cmd) == 0
    doc = json.loads((tmp_path / "res" / "metrics.json").read_text())
    assert doc["inputs"]["manifest"] == str(folders["manifest"])


def test_cifar_through_torchvision_with_probe_indices(
    tmp_path, fake_cifar10_files, cifar10_lt_manifest, capsys
):
    ckpt, _ = make_run(tmp_path / "run", dataset="cifar10")
    indices = tmp_path / "pool.npy"
    np.save(indices, np.arange(25))  # half of the 50 train images, every class present
    cmd = [
        "eval",
        str(ckpt),
        "--probe-set",
        "cifar10",
        "--test-set",
        "cifar10",
        "--data-root",
        str(fake_cifar10_files),
        "--manifest",
        str(cifar10_lt_manifest),
        "--probe-indices",
        str(indices),
        "--no-cache",
        "--out",
        str(tmp_path / "res"),
        *FAST,
    ]
    assert main(cmd) == 0
    doc = json.loads((tmp_path / "res" / "metrics.json").read_text())
    assert doc["inputs"]["probe_set"].startswith("cifar10:train@")
    assert doc["inputs"]["test_set"].startswith("cifar10:test@")
    assert doc["inputs"]["transform"].startswith("resize=32 bilinear,center_crop=32,mean=[0.4914")
    assert doc["protocol"]["probe_indices_sha256"] is not None
    np.save(indices, np.array([0, 1, 99]))
    cmd[cmd.index("--out") + 1] = str(tmp_path / "res2")
    assert main(cmd) == 2
    assert "indexes must be distinct and in [0, 50)" in capsys.readouterr().err
    np.save(indices, np.arange(0, 50, 2))  # train labels cycle 0..9: odd classes left out
    assert main(cmd) == 2
    assert "has no images of class(es) ['automobile', 'cat'," in capsys.readouterr().err


def test_checkpoint_without_args_json(tmp_path, folders, capsys):
    ckpt, _ = make_run(tmp_path / "run")
    (tmp_path / "run" / "args.json").unlink()
    cmd = eval_cmd(folders, "--out", str(tmp_path / "res"))
    cmd[1] = str(ckpt)
    assert main(cmd) == 2
    assert "no args.json beside" in capsys.readouterr().err


def held_out_links(folder: Path, probe: Path, take: int) -> Path:
    """A held-out ImageFolder of links to the first ``take`` images of each probe class."""
    for cls in NAMES:
        (folder / cls).mkdir(parents=True)
        for png in sorted((probe / cls).iterdir())[:take]:
            (folder / cls / png.name).symlink_to(png)
    return folder


@pytest.mark.parametrize("take", [1, 6])
def test_a_held_out_set_sharing_probe_images_is_refused_whatever_option_names_it(
    folders, tmp_path, capsys, take
):
    """--val-set was not checked: a held-out folder of links to probe images (a probe list
    holding SDCLR's ImageNet_100_val.txt images) chose the epoch on probe images."""
    val = held_out_links(tmp_path / "val", folders["probe"], take)
    cmd = eval_cmd(folders, "--out", str(tmp_path / "res"), "--recipe", "sdclr-sgd")
    cmd += ["--augment", "every-epoch", "--val-set", str(val)]
    assert main(cmd) == 2
    err = capsys.readouterr().err
    assert f"--val-set {val} shares images with the probe images ({3 * take} of the 18" in err
    assert not (tmp_path / "res").exists()


def test_cifar_held_out_set_overlapping_the_probe_set_is_refused(
    tmp_path, fake_cifar10_files, cifar10_lt_manifest, capsys
):
    ckpt, _ = make_run(tmp_path / "run", dataset="cifar10")
    cmd = ["eval", str(ckpt), "--probe-set", "cifar10", "--test-set", "cifar10"]
    cmd += ["--data-root", str(fake_cifar10_files), "--manifest", str(cifar10_lt_manifest)]
    cmd += ["--no-cache", *FAST[2:]]
    cmd += ["--recipe", "sdclr-sgd", "--augment", "every-epoch", "--val-set", "cifar10"]
    assert main([*cmd, "--out", str(tmp_path / "res")]) == 2
    assert "--val-set cifar10 shares images with the probe images (50 of the 50" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--shots", "2", "--fraction", "0.5"],
            "--fraction must be left out when --shots is given",
        ),
        (["--augment", "every-epoch"], "--augment must be none or one-pass unless --recipe is"),
        (["--recipe", "sdclr-sgd", "--augment", "every-epoch"], "--val-set must be a held-out set"),
        (["--recipe", "sdclr-sgd"], "--recipe must be adam unless --protocol is linear and"),
        (["--lr-min", "1"], "--lr-min must be in (0, --lr=0.01] (got 1.0)"),
        (["--sgd-eval-every", "99"], "--sgd-eval-every must be in [1, --sgd-epochs=30]"),
        (["--seeds", "1", "1"], "--seeds must be one or more distinct integers >= 0"),
    ],
)
def test_bad_options_are_refused_before_any_work_naming_the_option(
    folders, tmp_path, capsys, extra, message
):
    """The records' field and cross-field rules, generated into the command line."""
    assert main(eval_cmd(folders, "--out", str(tmp_path / "res"), *extra)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "res").exists()


def test_no_cache_wins_over_a_cache_dir(folders, tmp_path):
    from solo_tase.cli.eval import eval_request
    from solo_tase.cli.main import build_parser

    argv = eval_cmd(folders, "--no-cache")
    assert eval_request(build_parser().parse_args(argv)).cache_dir is None
    argv = eval_cmd(folders)
    req = eval_request(build_parser().parse_args(argv))
    assert (req.cache_dir, req.num_workers) == (folders["cache"], 0)
    i = argv.index("--num-workers")
    default = eval_request(build_parser().parse_args(argv[:i] + argv[i + 2 :]))
    assert default.num_workers == 4  # the command's default (the record's is 0)
