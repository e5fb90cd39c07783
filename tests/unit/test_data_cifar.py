"""CIFAR-LT: spec validation, names, the PNG build (on synthetic arrays), loader errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torchvision.datasets import ImageFolder

from solo_tase.data.cifar import (
    CifarLTSpec,
    build_cifar_lt,
    load_cifar,
    require_files,
)
from solo_tase.data.manifest import Manifest, checksum_items
from solo_tase.methods.config import ConfigError
from solo_tase.settings import parse

CLASSES = [f"c{i}" for i in range(10)]


def test_load_cifar_without_files_names_the_folder_and_the_fix(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py does not exist.*--download"):
        load_cifar("cifar10", tmp_path)
    (tmp_path / "cifar-100-python").mkdir()
    with pytest.raises(FileNotFoundError, match="incomplete or corrupt"):
        load_cifar("cifar100", tmp_path)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"dataset": "cifar10"}, "--ratio must be set to the imbalance ratio"),
        ({"dataset": "cifar10", "ratio": 0.5}, "--ratio must be set.*got 0.5"),
        ({"dataset": "cifar10", "ratio": 10, "n_max": 0}, "--n-max must be an integer >= 1"),
        ({"dataset": "svhn", "ratio": 10}, "--dataset must be one of 'cifar10', 'cifar100'"),
        ({"dataset": "cifar10", "source": "lists"}, "--source must be one of 'profile', 'sdclr'"),
        (
            {"dataset": "cifar10", "source": "sdclr"},
            "--split-file must be the .npy split file",
        ),
        (
            {"dataset": "cifar10", "ratio": 10, "split_file": "s.npy"},
            r"\['--split-file'\] only apply to "
            "source 'sdclr'",
        ),
        (
            {"dataset": "cifar10", "source": "sdclr", "split_file": "s.npy", "seed": 1},
            r"\['--seed'\] only apply to source 'profile'",
        ),
    ],
)
def test_spec_validation_names_the_key(spec: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        parse(CifarLTSpec, spec, "--")


def test_spec_validation_missing_file_and_config_prefix(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="data.long_tail.split_file: no such file"):
        require_files(
            CifarLTSpec("cifar10", source="sdclr", split_file=str(tmp_path / "x.npy")),
            "data.long_tail.",
        )
    with pytest.raises(ConfigError, match="data.long_tail.n_max"):
        parse(CifarLTSpec, {"dataset": "cifar10", "ratio": 10, "n_max": -1}, "data.long_tail.")


def test_names():
    assert CifarLTSpec("cifar100", ratio=100).name == "cifar100-lt-r100-s0"
    spec = CifarLTSpec("cifar10", ratio=50, seed=2, n_max=4500, exclude_file="/x/valIdxList.npy")
    assert spec.name == "cifar10-lt-r50-s2-n4500-excl-valIdxList"
    assert (
        CifarLTSpec("cifar10", source="sdclr", split_file="/s/split1_D_i.npy").name
        == "cifar10-lt-sdclr-split1_D_i"
    )


def test_build_writes_the_long_tailed_train_set_and_the_test_set(fake_cifar_arrays, tmp_path: Path):
    out = tmp_path / "c10"
    m = build_cifar_lt(out, CifarLTSpec("cifar10", ratio=10), tmp_path)
    train = fake_cifar_arrays[True]
    ds = ImageFolder(str(out / "train"))
    assert [len(list(d.iterdir())) for d in sorted((out / "train").iterdir())] == m.counts
    assert m.counts == [int(30 * 0.1 ** (i / 9)) for i in range(10)] and m.group_rule == "thirds"
    # the built folder's sample order is the manifest's index order, and the pixels are CIFAR's
    ids = [int(Path(p).stem) for p, _ in ds.samples]
    assert checksum_items(ids) == m.index_checksum
    assert [train.labels[i] for i in ids] == ds.targets
    first_path, _ = ds.samples[0]
    assert np.array_equal(np.asarray(Image.open(first_path)), train.images[ids[0]])
    assert len(ImageFolder(str(out / "test"))) == 20
    loaded = Manifest.load(out)
    assert loaded.extra["dataset"] == "cifar10" and loaded.profile["ratio"] == 10
    assert loaded.extra["test_checksum"] == checksum_items(range(20))


def test_build_reuses_refuses_and_replaces(fake_cifar_arrays, tmp_path: Path):
    out = tmp_path / "c10"
    build_cifar_lt(out, CifarLTSpec("cifar10", ratio=10), tmp_path)
    stamp = (out / "manifest.json").stat().st_mtime_ns
    build_cifar_lt(out, CifarLTSpec("cifar10", ratio=10), tmp_path)
    assert (out / "manifest.json").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="--replace"):
        build_cifar_lt(out, CifarLTSpec("cifar10", ratio=5), tmp_path)
    m = build_cifar_lt(out, CifarLTSpec("cifar10", ratio=5), tmp_path, replace=True)
    assert Manifest.load(out).index_checksum == m.index_checksum


def test_sdclr_build_through_a_pool_and_its_refusals(fake_cifar_arrays, tmp_path: Path):
    labels = fake_cifar_arrays[True].labels
    pool = np.flatnonzero(labels < 10)[::-1].copy()  # every image, reversed
    split = np.concatenate([np.flatnonzero(labels[pool] == c)[: 10 - c] for c in range(10)])
    np.save(tmp_path / "pool.npy", pool)
    np.save(tmp_path / "split.npy", split)
    spec = CifarLTSpec(
        "cifar10",
        source="sdclr",
        split_file=str(tmp_path / "split.npy"),
        pool_file=str(tmp_path / "pool.npy"),
    )
    m = build_cifar_lt(tmp_path / "s", spec, tmp_path)
    assert m.counts == list(range(10, 0, -1)) and m.profile["pool_file"] == "pool.npy"
    ids = sorted(int(p.stem) for p in (tmp_path / "s" / "train").rglob("*.png"))
    assert ids == sorted(pool[split].tolist())
    np.save(tmp_path / "dup.npy", np.array([1, 1, 2]))
    bad = CifarLTSpec("cifar10", source="sdclr", split_file=str(tmp_path / "dup.npy"))
    with pytest.raises(ValueError, match="repeats"):
        build_cifar_lt(tmp_path / "d", bad, tmp_path)
    np.save(tmp_path / "one_class.npy", np.flatnonzero(labels == 0))
    bad = CifarLTSpec("cifar10", source="sdclr", split_file=str(tmp_path / "one_class.npy"))
    with pytest.raises(ValueError, match="empty"):
        build_cifar_lt(tmp_path / "e", bad, tmp_path)
    assert not (tmp_path / "d").exists() and not (tmp_path / "e").exists()


def test_ldam_draw_spec_name_manifest_and_refusals(fake_cifar_arrays):
    spec = parse(CifarLTSpec, {"dataset": "cifar10", "ratio": 10, "draw": "ldam"}, "spec")
    assert spec.name == "cifar10-lt-r10-s0-ldam"
    labels = fake_cifar_arrays[True].labels
    selection = spec.select(labels)
    np.random.seed(0)
    expected = []
    for c, n in enumerate(selection.counts):
        idx = np.where(labels == c)[0]
        np.random.shuffle(idx)
        expected.extend(idx[:n].tolist())
    assert sorted(selection.positions.tolist()) == sorted(expected)
    manifest = spec.manifest_for(selection, CLASSES)
    assert manifest.profile["draw"] == "ldam"
    assert (
        "draw"
        not in CifarLTSpec("cifar10", ratio=10)
        .manifest_for(CifarLTSpec("cifar10", ratio=10).select(labels), CLASSES)
        .profile
    )
    with pytest.raises(ConfigError, match="draw"):
        parse(CifarLTSpec, {"dataset": "cifar10", "ratio": 10, "draw": "numpy"}, "spec")
    with pytest.raises(ConfigError, match="n_max"):
        parse(CifarLTSpec, {"dataset": "cifar10", "ratio": 10, "draw": "ldam", "n_max": 20}, "spec")
    with pytest.raises(ConfigError, match="only apply to source"):
        parse(
            CifarLTSpec,
            {"dataset": "cifar10", "source": "sdclr", "split_file": "x.npy", "draw": "ldam"},
            "spec",
        )
