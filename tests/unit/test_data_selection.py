"""Profiles and selections: the literature's reference counts, seeded draws, index-file checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from solo_tase.data.profiles import assign_groups, exponential_profile
from solo_tase.data.selection import (
    check_indexes,
    index_selection,
    load_index_file,
    profile_selection,
    split_positions,
)


@pytest.mark.parametrize(
    "n_max, classes, total",
    [
        (500, 100, 10_847),  # CIFAR-100-LT, r = 100 (LDAM / BCL)
        (5000, 10, 12_406),  # CIFAR-10-LT, r = 100
        (450, 100, 9_754),  # SDCLR's CIFAR-100-LT profile
        (4500, 10, 11_165),  # SDCLR's CIFAR-10-LT profile
    ],
)
def test_reference_profile_sizes(n_max, classes, total):
    counts = exponential_profile(n_max, classes, 100)
    assert sum(counts) == total
    assert counts[0] == n_max and counts[-1] == n_max // 100


def test_thirds_of_cifar_profiles():
    groups = assign_groups(exponential_profile(500, 100, 100), "thirds")
    assert [groups.count(g) for g in ("many", "medium", "few")] == [34, 33, 33]


def balanced_labels(per_class: int, classes: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(classes), per_class))


def test_profile_selection_counts_order_and_labels():
    labels = balanced_labels(50, 10)
    sel = profile_selection(labels, 10, ratio=10, seed=0)
    assert sel.counts == exponential_profile(50, 10, 10)
    assert sel.num_samples == sum(sel.counts) and sel.source_size == 500
    assert np.array_equal(labels[sel.positions], sel.labels)
    assert np.array_equal(sel.labels, np.repeat(np.arange(10), sel.counts))  # class-major
    for c in range(10):  # ascending source positions inside a class
        assert np.all(np.diff(sel.positions[sel.labels == c]) > 0)
    assert len(np.unique(sel.positions)) == sel.num_samples


def test_profile_selection_is_seeded_and_nested_across_ratios():
    labels = balanced_labels(50, 10)
    a, b = (profile_selection(labels, 10, ratio=10, seed=1) for _ in range(2))
    c = profile_selection(labels, 10, ratio=10, seed=2)
    assert np.array_equal(a.positions, b.positions) and not np.array_equal(a.positions, c.positions)
    steeper = profile_selection(labels, 10, ratio=25, seed=1)
    assert set(steeper.positions) <= set(a.positions)


def test_exclusions_are_never_drawn_and_lower_the_default_n_max():
    labels = balanced_labels(50, 10)
    held_out = np.concatenate([np.flatnonzero(labels == c)[:5] for c in range(10)])
    sel = profile_selection(labels, 10, ratio=10, seed=0, exclude=held_out)
    assert sel.counts[0] == 45 and not set(sel.positions) & set(held_out)


def test_profile_selection_refusals():
    labels = balanced_labels(20, 5)
    with pytest.raises(ValueError, match="ratio must be >= 1"):
        profile_selection(labels, 5, ratio=0.5, seed=0)
    with pytest.raises(ValueError, match="n_max=30 asks 30 images of class 0, which has only 20"):
        profile_selection(labels, 5, ratio=2, seed=0, n_max=30)
    with pytest.raises(ValueError, match="empty"):
        profile_selection(labels, 5, ratio=100, seed=0)  # floor(20 / 100) = 0 for the tail
    with pytest.raises(ValueError, match=r"class\(es\) \[4\] have no candidate"):
        profile_selection(labels, 5, ratio=2, seed=0, exclude=np.flatnonzero(labels == 4))


def test_index_selection_canonical_order_and_empty_class():
    labels = np.array([2, 0, 1, 0, 2, 1])
    sel = index_selection(labels, 3, np.array([4, 3, 2, 1]))
    assert sel.positions.tolist() == [1, 3, 2, 4] and sel.labels.tolist() == [0, 0, 1, 2]
    assert sel.counts == [2, 1, 1]
    with pytest.raises(ValueError, match=r"leaves class\(es\) \[1\] empty"):
        index_selection(labels, 3, np.array([0, 1]))


def test_check_indexes_reports_range_duplicates_and_dtype():
    assert check_indexes(np.array([3, 1], dtype=np.int32), 4, "x").dtype == np.int64
    with pytest.raises(ValueError, match=r"2 index\(es\) outside \[0, 4\) \(first: \[4, -1\]\)"):
        check_indexes(np.array([0, 4, -1]), 4, "split.npy")
    with pytest.raises(ValueError, match=r"repeats 1 index\(es\) \(first: \[2\]\)"):
        check_indexes(np.array([2, 1, 2]), 4, "split.npy")
    with pytest.raises(ValueError, match="integer indexes"):
        check_indexes(np.array([0.5, 1.0]), 4, "split.npy")
    with pytest.raises(ValueError, match="integer indexes"):
        check_indexes(np.zeros((2, 2), dtype=int), 4, "split.npy")


def test_split_files_direct_and_through_a_pool(tmp_path: Path):
    np.save(tmp_path / "pool.npy", np.array([9, 7, 5, 3]))
    np.save(tmp_path / "split.npy", np.array([0, 2]))
    assert split_positions(tmp_path / "split.npy", 10).tolist() == [0, 2]
    assert split_positions(tmp_path / "split.npy", 10, tmp_path / "pool.npy").tolist() == [9, 5]
    np.save(tmp_path / "far.npy", np.array([0, 4]))
    with pytest.raises(ValueError, match="outside \\[0, 4\\)"):
        split_positions(tmp_path / "far.npy", 10, tmp_path / "pool.npy")
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        load_index_file(tmp_path / "missing.npy", 10)
    (tmp_path / "split.txt").write_text("0\n1\n")
    with pytest.raises(ValueError, match="expected a .npy file"):
        load_index_file(tmp_path / "split.txt", 10)


def _ldam_recipe(targets: np.ndarray, counts: list[int], seed: int) -> np.ndarray:
    """LDAM's IMBALANCECIFAR draw, written out: the global numpy RNG, classes in order."""
    np.random.seed(seed)
    picked = []
    for c, n in enumerate(counts):
        idx = np.where(targets == c)[0]
        np.random.shuffle(idx)
        picked.append(idx[:n])
    return np.concatenate(picked)


@pytest.mark.parametrize("classes, per_class, seed", [(10, 500, 0), (100, 50, 0), (10, 60, 3)])
def test_ldam_draw_gives_the_recipe_indexes(classes, per_class, seed):
    from solo_tase.data.selection import ldam_selection

    targets = np.random.default_rng(7).permutation(np.repeat(np.arange(classes), per_class))
    counts = exponential_profile(per_class, classes, 10)
    expected = _ldam_recipe(targets, counts, seed)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    sel = ldam_selection(targets, classes, ratio=10, seed=seed)
    assert np.array_equal(np.random.get_state()[1], before)  # the global RNG is untouched
    assert sel.counts == counts
    assert np.array_equal(np.sort(sel.positions), np.sort(expected))
    for c in range(classes):  # per class: exactly the recipe's images
        assert set(sel.positions[sel.labels == c]) == set(expected[targets[expected] == c])


def test_ldam_draw_differs_from_the_seeded_draw():
    from solo_tase.data.selection import ldam_selection

    targets = np.repeat(np.arange(10), 100)
    ldam = ldam_selection(targets, 10, ratio=10, seed=0)
    seeded = profile_selection(targets, 10, ratio=10, seed=0)
    assert ldam.counts == seeded.counts
    assert not np.array_equal(ldam.positions, seeded.positions)
