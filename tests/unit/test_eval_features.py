"""Feature extraction (order, shapes) and the on-disk cache (hit, miss on a new key, damage)."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from solo_tase.eval.features import Features, cached_features, extract_features

PARTS = {"checkpoint_sha256": "a" * 64, "transform": "resize=32", "data": "d1", "device": "cpu"}


def test_extract_in_order_on_cpu():
    x = torch.randn(10, 4)
    y = torch.arange(10) % 3
    model = torch.nn.Linear(4, 2)
    feats = extract_features(model, TensorDataset(x, y), device=torch.device("cpu"), batch_size=3)
    assert feats.x.shape == (10, 2) and feats.x.dtype == torch.float32
    assert torch.equal(feats.y, y)
    with torch.no_grad():
        assert torch.allclose(feats.x, model(x))


def test_cache_hit_miss_and_damage(tmp_path):
    calls = []

    def compute() -> Features:
        calls.append(1)
        return Features(x=torch.full((2, 3), float(len(calls))), y=torch.tensor([0, 1]))

    a, hit_a = cached_features(tmp_path, PARTS, compute)
    b, hit_b = cached_features(tmp_path, PARTS, compute)
    assert (hit_a, hit_b, len(calls)) == (False, True, 1) and torch.equal(a.x, b.x)
    c, hit_c = cached_features(tmp_path, {**PARTS, "transform": "resize=36"}, compute)
    assert not hit_c and len(calls) == 2 and c.x[0, 0] == 2
    for entry in tmp_path.glob("*.pt"):
        entry.write_bytes(b"not a torch file")
    d, hit_d = cached_features(tmp_path, PARTS, compute)
    assert not hit_d and len(calls) == 3
    assert cached_features(None, PARTS, compute)[1] is False and len(calls) == 4
    assert not list(tmp_path.glob("*.tmp-*"))
