"""Linear probe on pre-extracted features: the recipe of the BCL / GH line of work.

BCL (``eval_cifar.eval_sgd``, from W-MSE) trains ``nn.Linear`` on the raw frozen features with
Adam (lr 1e-2, weight decay 5e-6), mini-batches of 1,000 reshuffled every epoch, for 500 epochs,
the learning rate decaying exponentially per epoch from 1e-2 to 1e-6. Those are the defaults;
``lr_schedule="cosine"`` decays along a cosine instead. Initialisation and shuffling draw from the
given seed only (the global RNG is left untouched): on CPU, same inputs and seed give bitwise the
same classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler

from solo_tase.settings import require

LR_SCHEDULES = ("exponential", "cosine")


@dataclass(frozen=True)
class ProbeOptions:
    """Linear-probe recipe (learning rates per step, epochs over the probe set, batch in images)."""

    epochs: int = 500
    lr: float = 1e-2
    lr_min: float = 1e-6
    lr_schedule: str = "exponential"
    weight_decay: float = 5e-6
    batch_size: int = 1000

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the command-line option that is out of range."""
        require(self.epochs >= 1, "--epochs", "an integer >= 1", self.epochs)
        require(self.lr > 0, "--lr", "> 0", self.lr)
        require(0 < self.lr_min <= self.lr, "--lr-min", f"in (0, --lr={self.lr}]", self.lr_min)
        require(
            self.lr_schedule in LR_SCHEDULES,
            "--lr-schedule",
            f"one of {LR_SCHEDULES}",
            self.lr_schedule,
        )
        require(self.weight_decay >= 0, "--weight-decay", ">= 0", self.weight_decay)
        require(self.batch_size >= 1, "--batch-size", "an integer >= 1", self.batch_size)


def make_scheduler(optimizer: torch.optim.Optimizer, options: ProbeOptions) -> LRScheduler:
    """Per-epoch schedule from ``options.lr`` to ``options.lr_min`` after ``options.epochs``."""
    if options.lr_schedule == "cosine":
        return CosineAnnealingLR(optimizer, T_max=options.epochs, eta_min=options.lr_min)
    gamma = (options.lr_min / options.lr) ** (1.0 / options.epochs)
    return ExponentialLR(optimizer, gamma=gamma)


def fit_linear_probe(
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    options: ProbeOptions = ProbeOptions(),
    seed: int = 0,
) -> nn.Linear:
    """Train ``nn.Linear(D, num_classes)`` on features ``x`` [N, D] and labels ``y`` [N]."""
    options.validate()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clf = nn.Linear(x.size(1), num_classes)
    clf = clf.to(x.device)
    optimizer = torch.optim.Adam(clf.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    scheduler = make_scheduler(optimizer, options)
    loss_fn = nn.CrossEntropyLoss()
    shuffle = torch.Generator().manual_seed(seed)
    for _ in range(options.epochs):
        order = torch.randperm(len(x), generator=shuffle).to(x.device)
        for batch in order.split(options.batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(clf(x[batch]), y[batch]).backward()
            optimizer.step()
        scheduler.step()
    return clf.eval()


def linear_probe_predict(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    num_classes: int,
    options: ProbeOptions = ProbeOptions(),
    seed: int = 0,
) -> torch.Tensor:
    """Predicted labels [M] of ``test_x`` [M, D] by a probe fitted on ``train_x`` / ``train_y``."""
    clf = fit_linear_probe(train_x, train_y, num_classes, options, seed)
    with torch.no_grad():
        return clf(test_x).argmax(dim=1)
