"""SDCLR's SGD probe: its step schedule, frozen backbone, seeded runs and the epoch chosen on the
held-out set."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from torch.utils.data import TensorDataset

from solo_tase.eval.sgd_probe import SgdProbeOptions, accuracy, fit_sgd_probe
from solo_tase.settings import ConfigError, parse


def test_lr_steps_like_sdclrs_multisteplr_stepped_before_each_epoch():
    opts = SgdProbeOptions()  # lr 30, x0.1 at 10 and 20
    assert [opts.lr_at(e) for e in (1, 9, 10, 19, 20, 30)] == pytest.approx(
        [30, 30, 3, 3, 0.3, 0.3]
    )
    few = SgdProbeOptions(epochs=100, milestones=(40, 60), eval_every=5)
    assert few.lr_at(39) == pytest.approx(30) and few.lr_at(60) == pytest.approx(0.3)


def test_imagenet_convention_steps_after_each_epoch():
    """SDCLR's train_imagenet.py calls scheduler.step() after each epoch: lr 30 up to epoch 10,
    3 from epoch 11, 0.3 from epoch 21 (few-shot: from 41 and 61)."""
    opts = SgdProbeOptions(lr_step="after_epoch")
    assert [opts.lr_at(e) for e in (1, 10, 11, 20, 21, 30)] == pytest.approx(
        [30, 30, 3, 3, 0.3, 0.3]
    )
    few = SgdProbeOptions(epochs=100, milestones=(40, 60), eval_every=10, lr_step="after_epoch")
    assert (few.lr_at(40), few.lr_at(41), few.lr_at(60), few.lr_at(61)) == pytest.approx(
        (30, 3, 3, 0.3)
    )


def test_top_k_accuracy_counts_a_label_among_the_k_best_scores():
    clf = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        clf.weight.copy_(torch.eye(3))
    x = torch.tensor([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0], [2.0, 3.0, 1.0]])
    y = torch.tensor([1, 2, 2])  # ranks: second, first, third
    assert accuracy(clf, x, y) == pytest.approx(100 / 3)
    assert accuracy(clf, x, y, 2) == pytest.approx(200 / 3)
    assert accuracy(clf, x, y, 5) == pytest.approx(100.0)  # k above the classes: all of them


def test_the_epoch_is_chosen_on_the_asked_top_k(monkeypatch):
    import solo_tase.eval.sgd_probe as sgd

    asked = []
    monkeypatch.setattr(sgd, "accuracy", lambda clf, x, y, k: asked.append(k) or 1.0)
    x, y = blobs(30, 1)
    opts = SgdProbeOptions(epochs=2, lr=1.0, batch_size=16, milestones=(), select_top_k=5)
    fit_sgd_probe(nn.Identity(), TensorDataset(x, y), x, y, 3, opts, seed=0)
    assert asked == [5, 5]


@pytest.mark.parametrize(
    "opts, key",
    [
        ({"epochs": 0}, "epochs"),
        ({"lr": 0}, "lr"),
        ({"eval_every": 40}, "eval_every"),
        ({"milestones": (20, 10)}, "milestones"),
        ({"lr_step": "never"}, "lr_step"),
        ({"select_top_k": 0}, "select_top_k"),
    ],
)
def test_bad_options_name_the_option(opts, key):
    with pytest.raises(ConfigError, match=key):
        parse(SgdProbeOptions, opts, "sgd.")


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.tensor([[4.0, 0, 0, 0], [0, 4.0, 0, 0], [0, 0, 4.0, 0]])
    return centres[y] + torch.randn(n, 4, generator=g), y


class Frozen(nn.Module):
    """A backbone with a BatchNorm: eval mode must leave its statistics alone."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(4)
        self.lin = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(self.norm(x))


def test_probe_is_seeded_leaves_the_backbone_alone_and_returns_the_best_epoch():
    torch.manual_seed(0)
    backbone = Frozen()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    x, y = blobs(60, 1)
    vx, vy = blobs(30, 2)
    with torch.no_grad():
        vfeat = backbone.eval()(vx)
    opts = SgdProbeOptions(epochs=6, lr=0.5, batch_size=16, milestones=(3,), eval_every=2)
    clf, info = fit_sgd_probe(backbone, TensorDataset(x, y), vfeat, vy, 3, opts, seed=4)
    again, info2 = fit_sgd_probe(backbone, TensorDataset(x, y), vfeat, vy, 3, opts, seed=4)
    assert torch.equal(clf.weight, again.weight) and info == info2
    assert all(torch.equal(v, backbone.state_dict()[k]) for k, v in before.items())
    assert [e for e, _ in info["val_curve"]] == [2, 4, 6]
    best = max(a for _, a in info["val_curve"])
    assert info["val_accuracy"] == best
    assert info["best_epoch"] == next(e for e, a in info["val_curve"] if a == best)
    assert accuracy(clf, vfeat, vy) == pytest.approx(best)
    other, _ = fit_sgd_probe(backbone, TensorDataset(x, y), vfeat, vy, 3, opts, seed=5)
    assert not torch.equal(other.weight, clf.weight)


def test_the_probe_of_the_best_held_out_epoch_is_returned_not_the_last(monkeypatch):
    import solo_tase.eval.sgd_probe as sgd

    scores = iter([10.0, 50.0, 30.0, 20.0])
    monkeypatch.setattr(sgd, "accuracy", lambda clf, x, y, k: next(scores))
    x, y = blobs(60, 1)
    opts = SgdProbeOptions(epochs=4, lr=1.0, batch_size=16, milestones=(), eval_every=1)
    clf, info = fit_sgd_probe(nn.Identity(), TensorDataset(x, y), x, y, 3, opts, seed=0)
    assert (info["best_epoch"], info["val_accuracy"]) == (2, 50.0)
    rising = iter(range(100))  # every epoch better: the last epoch's probe is returned
    monkeypatch.setattr(sgd, "accuracy", lambda clf, x, y, k: float(next(rising)))
    two, _ = fit_sgd_probe(
        nn.Identity(),
        TensorDataset(x, y),
        x,
        y,
        3,
        SgdProbeOptions(epochs=2, lr=1.0, batch_size=16, milestones=(), eval_every=1),
        seed=0,
    )
    four, _ = fit_sgd_probe(nn.Identity(), TensorDataset(x, y), x, y, 3, opts, seed=0)
    assert torch.equal(clf.weight, two.weight)  # the state after epoch 2 ...
    assert not torch.equal(clf.weight, four.weight)  # ... not the last one
