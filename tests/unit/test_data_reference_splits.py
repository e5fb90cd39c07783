"""The published split files in ../shared/reference-splits (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from solo_tase.data.image_lists import parse_image_list, read_image_list
from solo_tase.data.image_set_specs import ImageListSpec
from solo_tase.data.profiles import assign_groups
from solo_tase.data.selection import load_index_file, split_positions
from solo_tase.data.symlinked import build_list_dataset

CIFAR_TRAIN = 50_000
SDCLR = {  # dataset: (split file pattern, pool file, D_i size, D_b size, S_b size)
    "cifar10": (
        "cifar10_imbSub_with_subsets/split{k}_{s}.npy",
        "cifar10/trainIdxList.npy",
        11_165,
        11_160,
        450,
    ),
    "cifar100": (
        "cifar100_imbSub_with_subsets/cifar100_split{k}_{s}.npy",
        "cifar100/cifar100_trainIdxList.npy",
        9_754,
        9_700,
        400,
    ),
}


@pytest.mark.parametrize("dataset", sorted(SDCLR))
def test_sdclr_split_files(reference_splits: Path, dataset: str):
    pattern, pool_file, n_i, n_b, n_s = SDCLR[dataset]
    sdclr = reference_splits / "sdclr"
    pool = load_index_file(sdclr / pool_file, CIFAR_TRAIN)
    val = load_index_file(sdclr / pool_file.replace("train", "val"), CIFAR_TRAIN)
    assert not set(pool) & set(val)
    for k in range(1, 6):
        # the split files index the CIFAR train set directly: in range, no duplicates
        d_i, d_b, s_b = (
            split_positions(sdclr / pattern.format(k=k, s=s), CIFAR_TRAIN)
            for s in ("D_i", "D_b", "S_b")
        )
        assert (d_i.size, d_b.size, s_b.size) == (n_i, n_b, n_s)
        assert not set(d_i) & set(val) and not set(d_b) & set(val)  # the val set is held out
        assert set(s_b) <= set(d_b) and set(s_b) <= set(d_i)  # few-shot set inside both
    if dataset == "cifar10":  # CIFAR-10's splits lie inside the 45,000-image pool
        assert set(d_i) <= set(pool)


def test_imagenet100_lt_list_builds_with_its_groups(reference_splits: Path, tmp_path: Path):
    lists = reference_splits / "sdclr" / "imagenet-100"
    root = tmp_path / "imagenet"
    for name in ("imageNet_100_LT_train.txt", "ImageNet_100_test.txt"):
        for path in parse_image_list(lists / name)[0]:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).touch()
    images = read_image_list(lists / "imageNet_100_LT_train.txt", root)
    assert len(images.paths) == 12_205 and len(images.class_names) == 100
    spec = ImageListSpec(
        root,
        lists / "imageNet_100_LT_train.txt",
        val_list=lists / "ImageNet_100_test.txt",
        name="imagenet100-lt",
    )
    m = build_list_dataset(tmp_path / "in100", spec)
    assert (m.num_samples, m.num_classes) == (12_205, 100)
    assert m.group_sizes() == {"many": 39, "medium": 48, "few": 13}
    assert sum(1 for p in (tmp_path / "in100" / "train").rglob("*") if p.is_symlink()) == 12_205
    assert sum(1 for p in (tmp_path / "in100" / "val").rglob("*") if p.is_symlink()) == 5_000
    assert m.extra["val_counts"] == [50] * 100


def test_places_lt_list(reference_splits: Path):
    paths, labels = parse_image_list(reference_splits / "gh" / "Places_LT" / "Places_LT_train.txt")
    counts = np.bincount(labels).tolist()
    assert len(paths) == 62_500 and len(counts) == 365 and min(counts) >= 1
    groups = assign_groups(counts, "thresholds")
    assert {g: groups.count(g) for g in ("many", "medium", "few")} == {
        "many": 131,
        "medium": 163,
        "few": 71,
    }
