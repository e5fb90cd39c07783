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
from tests.helpers.fake_runs import (
    link_run,
    make_run,
    run_args,
    write_args,
    write_built_folder,
    write_manifest,
)
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
    assert "only in the manifest: ['a', 'b', 'c']; only in the probe set: ['0', '1', '2']" in (
        capsys.readouterr().err
    )
    assert not (folders["root"] / "nope").exists()


def test_a_renamed_class_is_refused_naming_it_both_ways(folders, tmp_path, capsys):
    """The classes past the sixth were never shown: a test set whose eighth class was renamed
    read as a mismatch of its first six, which agree."""
    names = [f"c{i}" for i in range(8)]
    manifest = write_manifest(tmp_path / "manifest.json", names, [40, 30, 20, 15, 10, 6, 4, 2])
    probe = write_image_folder(tmp_path / "probe", [2] * 8, names)
    test = write_image_folder(tmp_path / "test", [1] * 8, [*names[:7], "kitty"])
    cmd = eval_cmd(folders, "--out", str(tmp_path / "res"))
    for option, value in (("--manifest", manifest), ("--probe-set", probe), ("--test-set", test)):
        cmd[cmd.index(option) + 1] = str(value)
    assert main(cmd) == 2
    err = capsys.readouterr().err
    assert f"test set {test} does not have the classes of manifest {manifest}" in err
    assert "only in the manifest: ['c7']; only in the test set: ['7_kitty']" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "res").exists()


@pytest.fixture(scope="module")
def built_run(folders) -> dict[str, Path]:
    """A run pre-trained on a built folder (``data.train_path`` = ``<build>/train``, the manifest
    beside it): the checkpoint of ``folders`` linked, and the manifest of another build with the
    same classes (other counts, so other groups)."""
    root = folders["root"] / "built"
    train = write_built_folder(root / "data", NAMES, [3, 12, 30])
    other = write_manifest(root / "other-build.json", NAMES, [30, 10, 3])
    return {
        "ckpt": link_run(root / "run", folders["ckpt"], train_path=train),
        "manifest": root / "data" / "manifest.json",
        "other": other,
    }


def built_cmd(folders, built_run, out: Path, *extra: str) -> list[str]:
    cmd = eval_cmd(folders, "--out", str(out), *extra)
    cmd[1] = str(built_run["ckpt"])
    del cmd[cmd.index("--manifest") : cmd.index("--manifest") + 2]
    return cmd


def test_the_manifest_of_another_build_is_refused(folders, built_run, tmp_path, capsys):
    """--manifest of another build gave numbers (wrong Many/Medium/Few) with exit 0."""
    cmd = built_cmd(folders, built_run, tmp_path / "res", "--manifest", str(built_run["other"]))
    assert main(cmd) == 2
    err = capsys.readouterr().err
    assert (
        f"--manifest {built_run['other']} is not the manifest the run was pre-trained on, "
        f"{built_run['manifest']} (beside data.train_path "
    ) in err
    assert f"--regroup-manifest {built_run['other']} to group the classes by it on purpose" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "res").exists()
    both = [*cmd, "--regroup-manifest", str(built_run["other"])]
    assert main(both) == 2
    assert "--regroup-manifest must be left out when --manifest is given" in (
        capsys.readouterr().err
    )


def test_the_run_names_its_manifest_and_a_regrouping_is_said(folders, built_run, tmp_path, capsys):
    """Without --manifest the run's own is found beside its data.train_path (the lookup zoo
    publish had and eval lacked); --regroup-manifest replaces it on purpose; the feature cache
    is said with its size and how to clear it."""
    assert main(built_cmd(folders, built_run, tmp_path / "own")) == 0
    err = capsys.readouterr().err
    doc = json.loads((tmp_path / "own" / "metrics.json").read_text())
    assert doc["inputs"]["manifest"] == str(built_run["manifest"])
    assert doc["inputs"]["regrouped"] is False
    assert [c["train_count"] for c in doc["per_class"]] == [3, 12, 30]
    assert f"groups of manifest {built_run['manifest']} (beside data.train_path" in err
    cache = folders["cache"]
    assert (
        f"feature cache: {cache} (" in err and f"rm -rf {cache}, or evaluate with --no-cache" in err
    )
    copy = tmp_path / "copy.json"
    copy.write_bytes(built_run["manifest"].read_bytes())  # the same manifest elsewhere: accepted
    assert main(built_cmd(folders, built_run, tmp_path / "copy", "--manifest", str(copy))) == 0
    regroup = ["--regroup-manifest", str(built_run["other"])]
    assert main(built_cmd(folders, built_run, tmp_path / "regroup", *regroup)) == 0
    doc = json.loads((tmp_path / "regroup" / "metrics.json").read_text())
    assert [c["train_count"] for c in doc["per_class"]] == [30, 10, 3]
    assert doc["inputs"]["regrouped"] is True
    assert "instead of the run's own" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["dataset root", "image removed", "rebuilt"])
def test_a_run_on_a_dataset_root_or_a_damaged_build_is_refused(folders, tmp_path, capsys, damage):
    """A run pre-trained on a dataset root (its train/ and test images together), on a build
    missing images, or on a folder rebuilt since (args.json records the images' checksum) gave
    numbers."""
    train = write_built_folder(tmp_path / "data", NAMES, [6, 4, 2])
    data: dict[str, object] = {"train_path": train}
    if damage == "image removed":
        next((train / "1").iterdir()).unlink()
    elif damage == "rebuilt":
        data["manifest_checksum"] = "0" * 64
    else:
        data["train_path"] = train.parent
    ckpt = link_run(tmp_path / "run", folders["ckpt"], **data)
    cmd = eval_cmd(folders, "--out", str(tmp_path / "res"))
    cmd[1] = str(ckpt)
    assert main(cmd) == 2
    err = capsys.readouterr().err
    assert f"the run of {tmp_path / 'run' / 'args.json'} cannot be trusted: " in err
    expected = {
        "dataset root": f"data.train_path {train.parent} is a dataset's root folder",
        "image removed": "does not match its manifest: class '1' has 3",
        "rebuilt": "trained on images of index_checksum 000000000000 (data.manifest_checksum)",
    }
    assert expected[damage] in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "res").exists()


def test_a_text_file_named_ckpt_is_one_line(folders, tmp_path, capsys):
    """It ended in ``KeyError: 101``."""
    ckpt = tmp_path / "run" / "notes-ep=0.ckpt"
    write_args(ckpt.parent, run_args())
    ckpt.write_text("epoch 0: loss 4.2\n")
    cmd = eval_cmd(folders, "--out", str(tmp_path / "res"))
    cmd[1] = str(ckpt)
    assert main(cmd) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"solo-tase eval: error: cannot read {ckpt} as a checkpoint")
    assert len(err.splitlines()) == 1


def metrics_doc(run_name: str, protocol: str = "linear", all_: float = 50.0) -> dict:
    """A metrics.json document of the schema, with the keys ``compare`` reads."""
    return {
        "schema": "solo-tase/metrics/v1",
        "method": "simclr",
        "run_name": run_name,
        "protocol": {"name": protocol, "seeds": [0], **({"k": 20} if protocol == "knn" else {})},
        "metrics": dict.fromkeys(("all", "many", "medium", "few", "std"), all_),
        "metrics_std": None,
        "per_class": [{"class": "0", "train_count": 3, "group": "few", "accuracy": all_}],
        "inputs": {"manifest": "m.json", "manifest_checksum": "ab" * 32},
    }


def write_result(folder: Path, doc: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(doc))
    return folder


def test_compare_tells_runs_of_one_name_apart_and_reads_run_folders(tmp_path, capsys):
    """Two runs of one config name gave two rows of the same name; ``compare RUN_DIR`` did not
    read RUN_DIR/eval/*."""
    for run, score in (("0a1b", 50.0), ("9z8y", 60.0)):
        write_result(tmp_path / "simclr" / run / "eval" / "linear", metrics_doc("same", all_=score))
        write_result(tmp_path / "simclr" / run / "eval" / "knn", metrics_doc("same", "knn", score))
    first, second = tmp_path / "simclr" / "0a1b", tmp_path / "simclr" / "9z8y"
    assert main(["compare", str(first / "eval" / "linear"), str(second / "eval" / "linear")]) == 0
    out = capsys.readouterr().out
    assert "| simclr | same (0a1b) | 50.00 |" in out and "| simclr | same (9z8y) | 60.00 |" in out
    assert main(["compare", str(first), str(second)]) == 0
    out = capsys.readouterr().out
    assert "Protocol: knn k=20" in out and "Protocol: linear," in out
    assert out.count("| simclr | same (0a1b) |") == 2 and out.count("| simclr | same (9z8y) |") == 2
    assert main(["compare", str(tmp_path / "simclr")]) == 2
    assert f"no metrics.json in {tmp_path / 'simclr'} nor in" in capsys.readouterr().err


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
