"""SDCLR's linear probe: SGD on augmented images through the frozen backbone, epoch chosen on a
held-out set.

SDCLR's ``train_cifar.py --fixbn --fixto layer4`` trains only the final ``fc`` (initialised
N(0, 0.01), bias 0) of a frozen network whose BatchNorms stay in eval mode, with SGD (momentum
0.9, weight decay 0, lr 30, batch 128) on random-crop + flip images, for 30 epochs (few-shot: 100),
the learning rate x0.1 at epochs 10 and 20 (few-shot: 40 and 60; its ``MultiStepLR`` is stepped
before each 1-based epoch, so epoch 10 already runs at lr 3: ``lr_step="before_epoch"``). Every
``eval_every`` epochs the probe is scored on the held-out ``valIdxList`` (top-1); the best-scoring
epoch's probe is the one tested. SDCLR's ``train_imagenet.py`` steps its scheduler after each
epoch (``lr_step="after_epoch"``: the lr drops from epoch 11 and 21) and picks the epoch on top-5
held-out accuracy (``select_top_k=5``).

Because the images are augmented anew every epoch, the backbone runs on the probe set every epoch
(no feature cache). Initialisation, shuffling and augmentations draw from the given seed only.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Self

import torch
import torch.nn as nn
from pydantic import model_validator
from pydantic.dataclasses import dataclass
from torch.utils.data import DataLoader, Dataset

from solo_tase.settings import (
    SETTINGS,
    Count,
    Positive,
    at_least,
    check,
    cross_check,
    doc,
    one_of,
    within,
)

LR_STEPS = ("before_epoch", "after_epoch")


@dataclass(frozen=True, config=SETTINGS)
class SgdProbeOptions:
    """SDCLR's probe recipe (epochs over the probe set, lr per step, batch in images)."""

    epochs: Annotated[Count, doc("epochs over the probe set")] = 30
    lr: Annotated[Positive, doc("SGD learning rate")] = 30.0
    momentum: Annotated[float, within(0, 1, "[)"), doc("SGD momentum")] = 0.9
    weight_decay: Annotated[float, at_least(0), doc("SGD weight decay")] = 0.0
    batch_size: Annotated[Count, doc("images per probe step")] = 128
    milestones: Annotated[
        tuple[int, ...],
        check(lambda m: list(m) == sorted(m), "must be increasing epochs"),
        doc("1-based epochs at which the lr is multiplied by gamma"),
    ] = (10, 20)
    gamma: Annotated[float, within(0, 1, "(]"), doc("lr factor at each milestone")] = 0.1
    eval_every: Annotated[
        Count, doc("epochs between scores on the held-out set (SDCLR's --test_freq)")
    ] = 1
    lr_step: Annotated[
        str,
        one_of(*LR_STEPS),
        doc(
            "the lr schedule steps before each epoch (SDCLR's CIFAR probe) or after it (its "
            "ImageNet probe)"
        ),
    ] = "before_epoch"
    select_top_k: Annotated[
        Count, doc("the epoch is chosen on top-k held-out accuracy (SDCLR's ImageNet probe: 5)")
    ] = 1

    @model_validator(mode="after")
    def _scored(self) -> Self:
        cross_check(
            self.eval_every <= self.epochs,
            "eval_every",
            f"in [1, {{epochs}}={self.epochs}] (the epochs)",
            self.eval_every,
        )
        return self

    def lr_at(self, epoch: int) -> float:
        """The learning rate during 1-based ``epoch``: x ``gamma`` per milestone reached (the
        milestone epoch itself included with ``lr_step="before_epoch"``, from the next one with
        ``"after_epoch"``)."""
        passed = sum(1 for m in self.milestones if m < epoch or (m == epoch and self.before))
        return self.lr * self.gamma**passed

    @property
    def before(self) -> bool:
        """Whether the scheduler steps before each epoch (SDCLR's CIFAR probe)."""
        return self.lr_step == "before_epoch"


SDCLR_CIFAR_PROBE = SgdProbeOptions()  # SDCLR's full-shot CIFAR recipe: the defaults


def accuracy(clf: nn.Linear, x: torch.Tensor, y: torch.Tensor, k: int = 1) -> float:
    """Top-``k`` accuracy (%) of ``clf`` on features ``x`` [N, D], labels ``y`` [N]."""
    with torch.no_grad():
        top = clf(x).topk(min(k, clf.out_features), dim=1).indices
        return 100.0 * float((top == y[:, None]).any(dim=1).float().mean())


_CPU = torch.device("cpu")  # the default device of fit_sgd_probe


def fit_sgd_probe(
    backbone: nn.Module,
    train: Dataset,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    num_classes: int,
    options: SgdProbeOptions = SDCLR_CIFAR_PROBE,
    *,
    seed: int = 0,
    device: torch.device = _CPU,
    num_workers: int = 0,
) -> tuple[nn.Linear, dict[str, Any]]:
    """Train ``nn.Linear(D, num_classes)`` on ``backbone``'s features of the augmented ``train``
    images (yielding ``(image, label)``); return the probe of the epoch with the best top-k
    accuracy (k = ``options.select_top_k``) on ``val_x`` [M, D] / ``val_y`` [M] and
    ``{"best_epoch", "val_accuracy", "val_curve"}`` (that accuracy, %)."""
    backbone = backbone.eval().to(device)  # frozen, BatchNorms in eval mode
    for p in backbone.parameters():
        p.requires_grad_(False)
    val_x, val_y = val_x.to(device), val_y.to(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clf = nn.Linear(val_x.size(1), num_classes)
        nn.init.normal_(clf.weight, mean=0.0, std=0.01)
        nn.init.zeros_(clf.bias)
        clf = clf.to(device)
        optimizer = torch.optim.SGD(
            clf.parameters(), options.lr, options.momentum, weight_decay=options.weight_decay
        )
        loader = DataLoader(
            train,
            batch_size=options.batch_size,
            shuffle=True,
            num_workers=num_workers,
            generator=torch.Generator().manual_seed(seed),
            pin_memory=device.type == "cuda",
        )
        loss_fn = nn.CrossEntropyLoss()
        best: tuple[float, int, dict[str, torch.Tensor] | None] = (-1.0, 0, None)
        curve: list[tuple[int, float]] = []
        for epoch in range(1, options.epochs + 1):
            for group in optimizer.param_groups:
                group["lr"] = options.lr_at(epoch)
            clf.train()
            for images, labels in loader:
                with torch.no_grad():
                    feats = backbone(images.to(device, non_blocking=True)).float()
                optimizer.zero_grad(set_to_none=True)
                loss_fn(clf(feats), labels.to(device)).backward()
                optimizer.step()
            if epoch % options.eval_every == 0:
                acc = accuracy(clf.eval(), val_x, val_y, options.select_top_k)
                curve.append((epoch, acc))
                if acc > best[0]:
                    best = (acc, epoch, copy.deepcopy(clf.state_dict()))
    assert best[2] is not None
    clf.load_state_dict(best[2])
    return clf.eval(), {"best_epoch": best[1], "val_accuracy": best[0], "val_curve": curve}
