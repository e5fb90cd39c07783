"""Linear probe on pre-extracted features: the recipe of the BCL / GH line of work.

BCL (``eval_cifar.eval_sgd``, from W-MSE) trains ``nn.Linear`` on the raw frozen features with
Adam (lr 1e-2, weight decay 5e-6), mini-batches of 1,000 reshuffled every epoch, for 500 epochs,
the learning rate decaying exponentially per epoch from 1e-2 to 1e-6. Those are the defaults;
``lr_schedule="cosine"`` decays along a cosine instead. Initialisation and shuffling draw from the
given seed only (the global RNG is left untouched): on CPU, same inputs and seed give bitwise the
same classifier.
"""

from __future__ import annotations

from typing import Annotated, Self

import torch
import torch.nn as nn
from pydantic import model_validator
from pydantic.dataclasses import dataclass
from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler

from solo_tase.settings import SETTINGS, Count, Positive, at_least, cross_check, doc, one_of

LR_SCHEDULES = ("exponential", "cosine")


@dataclass(frozen=True, config=SETTINGS)
class ProbeOptions:
    """The linear probe of the adam recipe (learning rates per step, epochs over the probe set,
    batch in images)."""

    epochs: Annotated[Count, doc("epochs over the probe set")] = 500
    lr: Annotated[Positive, doc("Adam learning rate of the first epoch")] = 1e-2
    lr_min: Annotated[Positive, doc("learning rate after the last epoch")] = 1e-6
    lr_schedule: Annotated[str, one_of(*LR_SCHEDULES), doc("per-epoch decay from lr to lr_min")] = (
        "exponential"
    )
    weight_decay: Annotated[float, at_least(0), doc("Adam weight decay")] = 5e-6
    batch_size: Annotated[Count, doc("images per probe step")] = 1000

    @model_validator(mode="after")
    def _decays(self) -> Self:
        cross_check(self.lr_min <= self.lr, "lr_min", f"in (0, {{lr}}={self.lr:g}]", self.lr_min)
        return self


BCL_PROBE = ProbeOptions()  # BCL's recipe: the defaults


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
    options: ProbeOptions = BCL_PROBE,
    seed: int = 0,
) -> nn.Linear:
    """Train ``nn.Linear(D, num_classes)`` on features ``x`` [N, D] and labels ``y`` [N]."""
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
    options: ProbeOptions = BCL_PROBE,
    seed: int = 0,
) -> torch.Tensor:
    """Predicted labels [M] of ``test_x`` [M, D] by a probe fitted on ``train_x`` / ``train_y``."""
    clf = fit_linear_probe(train_x, train_y, num_classes, options, seed)
    with torch.no_grad():
        return clf(test_x).argmax(dim=1)
