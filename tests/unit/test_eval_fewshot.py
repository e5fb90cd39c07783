"""Few-shot subsets: exact per-class counts, seeded, nested, and the SDCLR 1% sizes."""

from __future__ import annotations

import numpy as np
import pytest

from solo_tase.eval.fewshot import FewShotOptions, balanced_subset, images_per_class
from solo_tase.settings import parse


def few(**size: float) -> FewShotOptions:
    """The few-shot options of ``--shots`` / ``--fraction``."""
    return parse(FewShotOptions, size, "--")


LABELS = np.repeat(np.arange(4), [30, 12, 20, 8])  # an imbalanced probe set


def test_exact_counts_per_class():
    idx = balanced_subset(LABELS, 4, few(shots=7), seed=0)
    assert np.bincount(LABELS[idx], minlength=4).tolist() == [7, 7, 7, 7]
    assert len(np.unique(idx)) == len(idx) and np.all(np.diff(idx) > 0)


def test_seeded_and_nested():
    a = balanced_subset(LABELS, 4, few(shots=5), seed=3)
    assert np.array_equal(a, balanced_subset(LABELS, 4, few(shots=5), seed=3))
    assert not np.array_equal(a, balanced_subset(LABELS, 4, few(shots=5), seed=4))
    assert set(balanced_subset(LABELS, 4, few(shots=2), seed=3)) <= set(a)


def test_fraction_is_balanced_over_the_probe_set():
    labels = np.repeat(np.arange(10), 100)
    idx = balanced_subset(labels, 10, few(fraction=0.05), seed=0)
    assert np.bincount(labels[idx]).tolist() == [5] * 10


def test_one_percent_matches_sdclr_subset_sizes(reference_splits):
    for pool, subset in (
        ("cifar10/trainIdxList.npy", "cifar10_imbSub_with_subsets/split1_S_b.npy"),
        (
            "cifar100/cifar100_trainIdxList.npy",
            "cifar100_imbSub_with_subsets/cifar100_split1_S_b.npy",
        ),
    ):
        n_pool = len(np.load(reference_splits / "sdclr" / pool))
        n_subset = len(np.load(reference_splits / "sdclr" / subset))
        classes = 10 if pool.startswith("cifar10/") else 100
        assert images_per_class(few(fraction=0.01), n_pool, classes) * classes == n_subset


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="exactly one"):
        balanced_subset(LABELS, 4, few(shots=2, fraction=0.1), seed=0)
    with pytest.raises(ValueError, match=r"classes \{1: 12, 3: 8\}"):
        balanced_subset(LABELS, 4, few(shots=13), seed=0)
    with pytest.raises(ValueError, match="--fraction"):
        balanced_subset(LABELS, 4, few(fraction=0.01), seed=0)
    with pytest.raises(ValueError, match="--shots"):
        balanced_subset(LABELS, 4, few(shots=0), seed=0)
