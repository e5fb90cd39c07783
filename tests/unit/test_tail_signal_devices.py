"""benchmarks/tail_signals.py's measurements with the labels: neighbourhood purity and the
density on label-separated (LDA) features, which tell an estimator's miss from the features'."""

from __future__ import annotations

import torch

from tests.helpers.benchmarks import load

tail_signals = load("tail_signals")


def mixed_bank(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Classes of 200, 60 and 20 samples share one blob in 6 directions; two weak directions
    (0.1 against a spread of 1) tell them apart."""
    g = torch.Generator().manual_seed(seed)
    y = torch.cat([torch.full((n,), c) for c, n in enumerate((200, 60, 20))]).long()
    x = torch.randn(280, 8, generator=g)
    x[:, 6:] = 0.1 * torch.tensor([[1.0, 0.0], [-0.5, 0.87], [-0.5, -0.87]])[y]
    x[:, 6:] += 0.01 * torch.randn(280, 2, generator=g)
    return x + 3.0 * torch.eye(8)[0], y


def test_purity_counts_the_neighbours_of_the_own_class():
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    x = torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3)
    assert tail_signals.class_purity(x, y, k=2) == [1.0, 1.0]
    x, y = mixed_bank()
    purity = tail_signals.class_purity(x, y)
    assert purity[2] < 0.3  # the rare class's neighbours are mostly the frequent class


def test_the_lda_device_separates_what_the_bank_mixes():
    x, y = mixed_bank()
    z = tail_signals.lda_features(x, y)
    assert z.shape == (280, 2)
    assert min(tail_signals.class_purity(z, y)) > 0.85  # the bank gives the rare class < 0.3
    plain = tail_signals.signal_stats(x, y, 3, {"tail_signal": "knn_density", "knn_k": 60})
    device = tail_signals.signal_stats(z, y, 3, {"tail_signal": "knn_density", "knn_k": 60})
    assert device["w_few"] > plain["w_few"] + 0.5
    assert device["class_rho"] == 1.0
