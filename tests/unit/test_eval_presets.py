"""Protocol presets: what each one fixes, the reference files it names, and ``solo-tase eval
--preset`` end to end on a tiny CIFAR-10 with synthetic split files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from solo_tase.cli.main import main
from solo_tase.eval.presets import (
    BCL,
    DEFAULT_PRESET,
    FIXES,
    GH,
    MISSING_FROM_RELEASE,
    PRESETS,
    RECORDS,
    SDCLR,
    get_preset,
    request_options,
    split_file,
)
from solo_tase.eval.probe import ProbeOptions
from solo_tase.eval.report import protocol_label
from solo_tase.settings import ConfigError
from tests.helpers.fake_runs import make_run
from tests.helpers.paths import DOCS, REFERENCE_SPLITS

needs_reference = pytest.mark.skipif(
    not REFERENCE_SPLITS.is_dir(), reason="the published split files are not on this machine"
)


def test_each_preset_fixes_every_choice():
    assert set(PRESETS) == {"sdclr", "bcl", "gh"}
    assert {get_preset(n).recipe for n in PRESETS} == {"sdclr-sgd", "adam"}
    assert (PRESETS["sdclr"].augment, PRESETS["bcl"].augment, PRESETS["gh"].augment) == (
        "every-epoch",
        "none",
        "one-pass",
    )
    for preset in PRESETS.values():
        for protocol in preset.benchmarks.values():
            assert protocol.settings and protocol.sources and protocol.group_rule
            assert protocol.pretrain_draw in ("split_file", "ldam", "list")
            if preset.recipe == "sdclr-sgd":
                assert protocol.val and all(s.sgd for s in protocol.settings)
    wd = {n: {p.weight_decay for p in PRESETS[n].benchmarks.values()} for n in PRESETS}
    assert wd == {"sdclr": {1e-4}, "bcl": {5e-4}, "gh": {5e-4, 1e-4}}
    assert PRESETS["gh"].benchmarks["cifar100-lt"].weight_decay == 5e-4
    assert all(b in PRESETS[p].benchmarks for b, p in DEFAULT_PRESET.items())


def test_sdclr_imagenet100_probe_follows_train_imagenet_py():
    """train_imagenet.py: scheduler.step() after each epoch, the epoch of the best top-5
    held-out accuracy, the full-shot probe on ImageNet_100_train.txt (--fullset)."""
    protocol = SDCLR.benchmarks["imagenet100-lt"]
    full, few = protocol.settings
    assert full.probe_list == "sdclr/imagenet-100/ImageNet_100_train.txt"
    for s in (full, few):
        assert (s.sgd.lr_step, s.sgd.select_top_k, s.sgd.batch_size) == ("after_epoch", 5, 512)
    assert [full.sgd.lr_at(e) for e in (10, 11, 21)] == pytest.approx([30, 3, 0.3])
    assert [few.sgd.lr_at(e) for e in (40, 41, 61)] == pytest.approx([30, 3, 0.3])
    for s in SDCLR.benchmarks["cifar10-lt"].settings:  # train_cifar.py: before, top-1
        assert (s.sgd.lr_step, s.sgd.select_top_k) == ("before_epoch", 1)


def test_a_missing_imagenet100_train_list_names_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="github.com/VITA-Group/SDCLR, split/imagenet-100/"):
        split_file(tmp_path, "sdclr/imagenet-100/ImageNet_100_train.txt")


def test_bcl_preset_names_its_real_sources_and_each_methods_recipe():
    protocol = BCL.benchmarks["cifar100-lt"]
    assert not any("bash_scripts" in s for s in protocol.sources)
    assert {m: protocol.recipe(m).weight_decay for m in ("simclr", "bcl", "sdclr", "bcl_d")} == {
        "simclr": 5e-4,
        "bcl": 5e-4,
        "sdclr": 1e-4,
        "bcl_d": 1e-4,
    }
    for method in ("simclr", "ts", "sdclr", "bcl", "bcl_d", "tase"):
        kwargs = dict(protocol.recipe(method).method_kwargs)
        assert kwargs["proj_batch_norm"] is kwargs["proj_output_bn"] is True
        assert kwargs.get("joint_views", False) is (method == "bcl")
        assert protocol.recipe(method).epochs == 2000
    cifar = SDCLR.benchmarks["cifar10-lt"].recipe("tase")
    assert (cifar.head, cifar.method_kwargs, cifar.epochs) == ("config", (), 2000)


def test_refusals_name_the_option_and_the_alternatives(tmp_path):
    with pytest.raises(ConfigError, match="--preset must be one of"):
        get_preset("ldam")
    with pytest.raises(ConfigError, match=r"covers \['cifar100-lt'\].*'sdclr'"):
        request_options("bcl", "cifar10-lt", None, None, tmp_path)
    with pytest.raises(ConfigError, match="--setting must be one of"):
        request_options("bcl", "cifar100-lt", "10-shot", None, tmp_path)
    with pytest.raises(ConfigError, match="--split 1..5"):
        request_options("sdclr", "cifar100-lt", "1%", None, REFERENCE_SPLITS)
    with pytest.raises(ConfigError, match=r"--split must be in \[1, 1\]"):
        request_options("gh", "cifar100-lt", None, 2, tmp_path)
    with pytest.raises(FileNotFoundError, match="sdclr/, bcl/ and gh/"):
        request_options("bcl", "cifar100-lt", "100-shot", None, tmp_path)


@needs_reference
def test_options_point_at_the_published_files():
    bcl = request_options("bcl", "cifar100-lt", "100-shot", None, REFERENCE_SPLITS)
    assert [p.name for p in bcl["probe_indices"]] == [
        f"cifar100_split{k}_test_100shot.npy" for k in range(1, 6)
    ]
    assert bcl["recipe"] == "adam" and bcl["augment"] == "none"
    sdclr = request_options("sdclr", "cifar10-lt", "1%", 3, REFERENCE_SPLITS)
    assert [p.name for p in sdclr["probe_indices"]] == ["split3_S_b.npy"]
    assert sdclr["val_indices"].name == "valIdxList.npy"
    assert (sdclr["sgd"].epochs, sdclr["sgd"].milestones, sdclr["sgd"].eval_every) == (
        100,
        (40, 60),
        5,
    )
    full = request_options("sdclr", "cifar100-lt", "full-shot", None, REFERENCE_SPLITS)
    assert [p.name for p in full["probe_indices"]] == ["cifar100_trainIdxList.npy"]
    assert (full["sgd"].epochs, full["sgd"].lr, full["sgd"].batch_size) == (30, 30.0, 128)
    with pytest.raises(ConfigError, match="--val-set"):
        request_options("sdclr", "imagenet100-lt", None, None, REFERENCE_SPLITS)
    gh = request_options("gh", "cifar100-lt", None, None, REFERENCE_SPLITS)
    assert gh["probe_indices"] == () and gh["augment"] == "one-pass"


@needs_reference
def test_a_preset_returns_exactly_the_fields_it_records_and_fixes():
    for preset, benchmark, setting in [
        ("bcl", "cifar100-lt", "50-shot"),
        ("sdclr", "cifar10-lt", "1%"),
    ]:
        options = request_options(preset, benchmark, setting, 1, REFERENCE_SPLITS)
        assert list(options) == [*RECORDS, *FIXES]


@needs_reference
@pytest.mark.parametrize(
    "name, size",
    [
        ("bcl/cifar100_imbSub_with_subsets/cifar100_split{split}_test_100shot.npy", 10_000),
        ("bcl/cifar100_imbSub_with_subsets/cifar100_split{split}_test_50shot.npy", 5_000),
        ("sdclr/cifar100_imbSub_with_subsets/cifar100_split{split}_D_i.npy", 9_754),
        ("sdclr/cifar10_imbSub_with_subsets/split{split}_D_i.npy", 11_165),
    ],
)
def test_the_preset_files_hold_the_published_sizes(name, size):
    for k in range(1, 6):
        assert np.load(split_file(REFERENCE_SPLITS, name, k)).size == size


@needs_reference
def test_every_file_a_preset_names_is_in_the_release():
    for preset in PRESETS.values():
        for benchmark, protocol in preset.benchmarks.items():
            files = [*protocol.pretrain_splits, *(protocol.val,) * bool(protocol.val)]
            for s in protocol.settings:
                files += [*s.probe_indices, *(s.probe_list,) * bool(s.probe_list)]
            for name in files:
                if (
                    name.startswith(
                        ("gh/Places_LT/Places_split1", "sdclr/imagenet-100/ImageNet_100_val")
                    )
                    or name in MISSING_FROM_RELEASE
                ):
                    continue  # not in the local copy of the release
                assert split_file(REFERENCE_SPLITS, name, 1).is_file(), (
                    preset.name,
                    benchmark,
                    name,
                )


# ----------------------------------------------------------------------------- end to end
FAST = ["--num-workers", "0", "--device", "cpu", "--no-cache"]


def short_presets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The presets with probes of a few epochs (CPU test time); everything else as shipped."""
    sdclr = SDCLR.benchmarks["cifar10-lt"]
    settings = tuple(
        replace(s, sgd=replace(s.sgd, epochs=10, milestones=(4, 6), eval_every=5))
        for s in sdclr.settings
    )
    monkeypatch.setitem(
        PRESETS,
        "sdclr",
        replace(
            SDCLR, benchmarks={**SDCLR.benchmarks, "cifar10-lt": replace(sdclr, settings=settings)}
        ),
    )
    monkeypatch.setitem(PRESETS, "bcl", replace(BCL, probe=ProbeOptions(epochs=20)))
    monkeypatch.setitem(PRESETS, "gh", replace(GH, probe=ProbeOptions(epochs=20)))


@pytest.fixture()
def fake(
    tmp_path, monkeypatch, without_solo, fake_cifar10_files, cifar10_lt_manifest
) -> dict[str, Path]:
    """A tiny CIFAR-10 (50 train images, label = position % 10) and a splits root with
    synthetic files at the presets' paths."""
    short_presets(monkeypatch)
    ckpt, _ = make_run(tmp_path / "run", dataset="cifar10")
    splits = tmp_path / "splits"
    files = {
        "sdclr/cifar10/trainIdxList.npy": np.arange(40),
        "sdclr/cifar10/valIdxList.npy": np.arange(40, 50),
        **{
            f"sdclr/cifar10_imbSub_with_subsets/split{k}_S_b.npy": np.arange(10) + 10 * (k % 4)
            for k in range(1, 6)
        },
        **{
            f"bcl/cifar100_imbSub_with_subsets/cifar100_split{k}_test_{n}shot.npy": np.arange(20)
            + 10 * (k % 3)
            for k in range(1, 6)
            for n in (50, 100)
        },
    }
    for name, idx in files.items():
        (splits / name).parent.mkdir(parents=True, exist_ok=True)
        np.save(splits / name, idx)
    return {
        "root": fake_cifar10_files,
        "ckpt": ckpt,
        "splits": splits,
        "manifest": cifar10_lt_manifest,
        "tmp": tmp_path,
    }


def preset_cmd(f: dict[str, Path], out: str, *extra: str) -> list[str]:
    return [
        "eval",
        str(f["ckpt"]),
        "--probe-set",
        "cifar10",
        "--test-set",
        "cifar10",
        "--data-root",
        str(f["root"]),
        "--manifest",
        str(f["manifest"]),
        "--splits",
        str(f["splits"]),
        "--out",
        str(f["tmp"] / out),
        *FAST,
        *extra,
    ]


def test_bcl_few_shot_evaluates_the_five_files_and_reports_their_mean(fake):
    """The BCL protocol's cifar100-lt files, written for the tiny CIFAR-10."""
    cmd = preset_cmd(
        fake, "bcl", "--preset", "bcl", "--setting", "100-shot", "--benchmark", "cifar100-lt"
    )
    assert main(cmd) == 0
    doc = json.loads((fake["tmp"] / "bcl" / "metrics.json").read_text())
    assert (doc["protocol"]["preset"], doc["protocol"]["setting"]) == ("bcl", "100-shot")
    assert protocol_label(doc) == "bcl 100-shot"
    assert doc["protocol"]["recipe"] == "adam" and doc["protocol"]["epochs"] == 20
    assert len(doc["protocol"]["probe_indices_sha256"]) == 5
    assert [Path(r["probe_indices"]).name for r in doc["runs"]] == [
        f"cifar100_split{k}_test_100shot.npy" for k in range(1, 6)
    ]
    alls = [r["all"] for r in doc["runs"]]
    assert doc["metrics"]["all"] == pytest.approx(np.mean(alls))
    assert doc["metrics_std"]["all"] == pytest.approx(np.std(alls))


def test_sdclr_preset_runs_the_sgd_probe_and_picks_an_epoch(fake, capsys):
    cmd = preset_cmd(fake, "sdclr", "--preset", "sdclr", "--setting", "1%", "--split", "2")
    assert main(cmd) == 0
    doc = json.loads((fake["tmp"] / "sdclr" / "metrics.json").read_text())
    p = doc["protocol"]
    assert (p["recipe"], p["augment"], p["sgd_epochs"], p["sgd_milestones"]) == (
        "sdclr-sgd",
        "every-epoch",
        10,
        [4, 6],
    )
    (run,) = doc["runs"]
    assert run["probe_images"] == 10 and Path(run["probe_indices"]).name == "split2_S_b.npy"
    assert run["best_epoch"] % 5 == 0 and 0 <= run["val_accuracy"] <= 100
    # the held-out images may not be probe images
    np.save(fake["splits"] / "sdclr/cifar10/valIdxList.npy", np.arange(15, 25))
    assert (
        main(preset_cmd(fake, "sdclr2", "--preset", "sdclr", "--setting", "1%", "--split", "2"))
        == 2
    )
    assert "shares images with the probe" in capsys.readouterr().err


def test_gh_preset_probes_on_one_augmented_pass(fake):
    cmd = preset_cmd(fake, "gh", "--preset", "gh", "--benchmark", "cifar100-lt")
    assert main(cmd) == 0
    doc = json.loads((fake["tmp"] / "gh" / "metrics.json").read_text())
    assert doc["protocol"]["augment"] == "one-pass" and doc["runs"][0]["probe_images"] == 50


def test_options_fixed_by_the_preset_are_refused(fake, capsys):
    assert (
        main(
            preset_cmd(
                fake,
                "x",
                "--preset",
                "bcl",
                "--benchmark",
                "cifar100-lt",
                "--lr",
                "0.1",
                "--shots",
                "2",
            )
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "--preset bcl fixes" in err and "--lr" in err and "--shots" in err
    assert main(preset_cmd(fake, "y", "--setting", "1%")) == 2
    assert "add --preset" in capsys.readouterr().err
    assert main(preset_cmd(fake, "z", "--preset", "bcl")) == 2  # a cifar10 run: no bcl protocol
    assert "covers ['cifar100-lt']" in capsys.readouterr().err


def test_docs_name_the_real_sources_and_how_the_official_code_normalises():
    """BCL's bash_scripts/ are gone from its repository, and the official SDCLR / BCL ResNets
    normalise inside the network (ImageNet mean and std): the docs said they read un-normalised
    images."""
    for name in ("evaluation.md", "baselines.md"):
        text = " ".join((DOCS / name).read_text().split())
        assert "bash_scripts/cifar-LT-BCL.sh" not in text
        assert "un-normalised `ToTensor`" not in text and "does not normalise" not in text
        assert "ImageNet's mean and std" in text


def test_sgd_options_are_options_of_their_own_and_fixed_by_the_sdclr_preset(fake, capsys):
    cmd = preset_cmd(fake, "sgd", "--preset", "sdclr", "--sgd-lr", "3", "--sgd-epochs", "2")
    assert main(cmd) == 2
    assert "--preset sdclr fixes ['--sgd-epochs', '--sgd-lr']" in capsys.readouterr().err
