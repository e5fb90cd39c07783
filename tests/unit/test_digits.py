"""Digits-LT builder: counts, balanced test/probe parts, manifest, reuse and refusal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from solo_tase.data.digits import DigitsLTSpec, build_digits_lt, split_digits
from solo_tase.data.manifest import Manifest
from solo_tase.settings import parse


def test_split_profile_and_balance():
    targets = load_digits().target
    split = split_digits(targets, DigitsLTSpec(ratio=10, seed=0, test_per_class=50))
    assert split.counts[0] / split.counts[-1] == pytest.approx(10, rel=0.05)
    assert np.bincount(targets[split.train]).tolist() == split.counts
    assert np.bincount(targets[split.test]).tolist() == [50] * 10
    probe_counts = np.bincount(targets[split.probe])
    assert len(set(probe_counts.tolist())) == 1  # balanced
    assert not set(split.test) & set(split.train) and not set(split.test) & set(split.probe)
    assert set(split.train) <= set(split.probe)
    assert list(split.counts) == sorted(split.counts, reverse=True)


def test_split_is_seeded():
    targets = load_digits().target
    a = split_digits(targets, DigitsLTSpec(seed=1))
    b = split_digits(targets, DigitsLTSpec(seed=1))
    c = split_digits(targets, DigitsLTSpec(seed=2))
    assert np.array_equal(a.train, b.train) and not np.array_equal(a.train, c.train)


def test_bad_specs_are_refused():
    targets = load_digits().target
    with pytest.raises(ValueError, match="ratio must be >= 1"):
        split_digits(targets, parse(DigitsLTSpec, {"ratio": 0.5}, "--"))
    with pytest.raises(ValueError, match="test_per_class"):
        split_digits(targets, DigitsLTSpec(test_per_class=500))
    with pytest.raises(ValueError, match="n_max"):
        split_digits(targets, DigitsLTSpec(n_max=1000))


def test_build_writes_image_folders_and_manifest(tmp_path: Path):
    out = tmp_path / "digits-lt"
    m = build_digits_lt(out, DigitsLTSpec(size=16))
    train_counts = [len(list(d.glob("*.png"))) for d in sorted((out / "train").iterdir())]
    assert train_counts == m.counts and sum(train_counts) == m.num_samples
    assert all(len(list(d.glob("*.png"))) == 50 for d in (out / "test").iterdir())
    loaded = Manifest.load(out)
    assert loaded.index_checksum == m.index_checksum and loaded.seed == 0
    assert loaded.groups[0] == "many" and loaded.groups[-1] == "few"
    from PIL import Image

    img = Image.open(next((out / "train" / "0").glob("*.png")))
    assert img.size == (16, 16) and img.mode == "RGB"


def test_rebuild_is_reused_and_a_different_dataset_is_refused(tmp_path: Path):
    out = tmp_path / "d"
    build_digits_lt(out, DigitsLTSpec(size=8))
    stamp = (out / "manifest.json").stat().st_mtime_ns
    build_digits_lt(out, DigitsLTSpec(size=8))  # identical: nothing rewritten
    assert (out / "manifest.json").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="--replace"):
        build_digits_lt(out, DigitsLTSpec(size=8, ratio=5))
    m = build_digits_lt(out, DigitsLTSpec(size=8, ratio=5), replace=True)
    assert Manifest.load(out).index_checksum == m.index_checksum


def test_a_failed_build_leaves_nothing_behind(tmp_path: Path, monkeypatch):
    import solo_tase.data.digits as digits

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(digits, "write_png_split", boom)
    with pytest.raises(RuntimeError):
        build_digits_lt(tmp_path / "x", DigitsLTSpec(size=8))
    assert list(tmp_path.iterdir()) == []
