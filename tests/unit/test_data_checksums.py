"""The draws of every builder are pinned: published zoo cards and benchmark results name their
data by these checksums, so a change to the seeded per-class draw must not move them.

The expected values are the checksums of the earlier implementation (each builder drawing with
its own ``default_rng(seed).permutation`` per class), computed before the draw became one
function (``solo_tase.data.selection.draw_order``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from solo_tase.data.cifar import CifarLTSpec
from solo_tase.data.digits import DigitsLTSpec, build_digits_lt
from solo_tase.data.fashion_mnist import (
    DEFAULT_ROOT,
    FashionLTSpec,
    fashion_lt_manifest,
    find_raw_files,
    read_idx,
    split_fashion,
)
from solo_tase.data.manifest import checksum_items
from solo_tase.data.selection import profile_selection


@pytest.mark.parametrize(
    "spec, train, probe, test",
    [
        (
            DigitsLTSpec(size=8),
            "67b067fc3a139f5aa97c38b2951b963223705679aa96e0d1019ab644a7e94055",
            "2f055388b3d5b8da2ca74bba563d45e2db9c4d803a0e546f165cc2fa004f3f6d",
            "d6045c1c3dd193542c9db13b5b76f693197463dde955861d2132e15fd257148e",
        ),
        (
            DigitsLTSpec(ratio=5, seed=3, test_per_class=20, n_max=100, size=8),
            "6173d2754efad0a4794cf5bc7ba8d6cab804dfb09a7551085745ea5a7bf3354f",
            "cf754fd34622ab0dea19fede440d57fa350d42976148d0f423fb3f15871696a5",
            "247f0c2c6f1d3ec4b3f6ac01b20a5b300b65fea10b9acb6b7d2dce5dee073b75",
        ),
    ],
)
def test_digits_lt_builds_keep_their_checksums(
    tmp_path: Path, spec: DigitsLTSpec, train: str, probe: str, test: str
):
    manifest = build_digits_lt(tmp_path / "d", spec)
    assert manifest.index_checksum == train
    assert (manifest.extra["probe_checksum"], manifest.extra["test_checksum"]) == (probe, test)


@pytest.mark.parametrize(
    "options, train, probe, val, balanced",
    [
        (
            {},
            "3ea4a6229a9e939c429b7a32d02f3e60eb65fa3919ab3c360f6c3fd83a17de63",
            "6e23118e15dc9d75d4d1e2c7adb9e72760a440958c1791ec4bd5e9151c384dfb",
            "bbec88802fa2c4e4fe515b202f6241a213309c20e591c1760d720f1b6784d623",
            None,
        ),
        (  # the quality benchmark's data of seed 1
            {"n_max": 1000, "probe_per_class": 1000, "seed": 1, "class_order": "random:1"},
            "38afafebdef4b38e3bfa9fe53c84c8e33a39871dc0e2c6528847b909ae02cbb4",
            "5e214b40c98c33f920974b26e8f2209d8191c54e73ad2d65641e92c4723957e6",
            "5e40464824a2dd74617299dbdb8920e67b8f8c31afffd75d91265a8356419cbc",
            None,
        ),
        (
            {
                "n_max": 60,
                "ratio": 10,
                "probe_per_class": 80,
                "val_per_class": 10,
                "class_order": "random:0",
                "balanced_train": True,
            },
            "ea605ddef8019104f43f20730a63d0753923fa0c23070810f4fb5415b0f67967",
            "da2ca255dcb457ed1abae778f5d0c36d5c935ae2ec6ae3f8934511325a068e0c",
            "830f0bcb93b4ebcde22fef3c1951a21943a3059ed6e6724698f9a15b029fac41",
            "8a4564f43918f949685e1031d143a7f872e926b9f20938d25c5ddf7197a3af7e",
        ),
    ],
)
def test_fashion_mnist_lt_manifests_keep_their_checksums(
    options: dict, train: str, probe: str, val: str, balanced: str | None
):
    try:
        labels = read_idx(find_raw_files(None)["train_labels"])
    except FileNotFoundError:
        pytest.skip(f"Fashion-MNIST not in {DEFAULT_ROOT}: apt-get install dataset-fashion-mnist")
    spec = FashionLTSpec(**options)
    manifest = fashion_lt_manifest(spec, split_fashion(labels, spec), labels, "idx files")
    assert manifest.index_checksum == train
    assert (manifest.extra["probe_checksum"], manifest.extra["val_checksum"]) == (probe, val)
    assert manifest.extra.get("train_balanced", {}).get("checksum") == balanced
    assert manifest.extra["test_checksum"] == checksum_items(range(10_000))


LABELS = np.random.default_rng(0).permutation(np.repeat(np.arange(10), 500))


@pytest.mark.parametrize(
    "spec, checksum",
    [
        (
            CifarLTSpec("cifar10", ratio=100, seed=0),
            "755be15d89adca7dab257023c946a6270b42c65eed6077671b42b2276d50c677",
        ),
        (
            CifarLTSpec("cifar10", ratio=10, seed=3, n_max=300),
            "cee162c35fca4779329a42892d0fbf9f1598dd3dadad46ab6a392cec932b9d43",
        ),
    ],
)
def test_cifar_lt_profiles_keep_their_checksums(spec: CifarLTSpec, checksum: str):
    manifest = spec.manifest_for(spec.select(LABELS), [str(c) for c in range(10)])
    assert manifest.index_checksum == checksum


def test_profile_selection_with_exclusions_keeps_its_checksum():
    selection = profile_selection(LABELS, 10, ratio=20, seed=5, exclude=np.arange(0, 5000, 7))
    assert (
        checksum_items(selection.positions.tolist())
        == "3075606141072b7bb5e5c25bc341f8b665737b8a98d8cd09f6351c2cd0ac93e2"
    )
