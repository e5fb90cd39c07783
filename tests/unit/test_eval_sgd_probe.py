"""SDCLR's SGD probe: its step schedule, frozen backbone, seeded runs and the epoch chosen on the
held-out set."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from torch.utils.data import TensorDataset

from solo_tase.eval.sgd_probe import SgdProbeOptions, accuracy, fit_sgd_probe
from solo_tase.settings import ConfigError


def test_lr_steps_like_sdclrs_multisteplr_stepped_before_each_epoch():
    opts = SgdProbeOptions()  # lr 30, x0.1 at 10 and 20
    assert [opts.lr_at(e) for e in (1, 9, 10, 19, 20, 30)] == pytest.approx(
        [30, 30, 3, 3, 0.3, 0.3]
    )
    few = SgdProbeOptions(epochs=100, milestones=(40, 60), eval_every=5)
    assert few.lr_at(39) == pytest.approx(30) and few.lr_at(60) == pytest.approx(0.3)


@pytest.mark.parametrize(
    "opts, key",
    [
        (SgdProbeOptions(epochs=0), "epochs"),
        (SgdProbeOptions(lr=0), "lr"),
        (SgdProbeOptions(eval_every=40), "eval_every"),
        (SgdProbeOptions(milestones=(20, 10)), "milestones"),
    ],
)
def test_bad_options_name_the_option(opts, key):
    with pytest.raises(ConfigError, match=key):
        opts.validate()


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
    monkeypatch.setattr(sgd, "accuracy", lambda clf, x, y: next(scores))
    x, y = blobs(60, 1)
    opts = SgdProbeOptions(epochs=4, lr=1.0, batch_size=16, milestones=(), eval_every=1)
    clf, info = fit_sgd_probe(nn.Identity(), TensorDataset(x, y), x, y, 3, opts, seed=0)
    assert (info["best_epoch"], info["val_accuracy"]) == (2, 50.0)
    rising = iter(range(100))  # every epoch better: the last epoch's probe is returned
    monkeypatch.setattr(sgd, "accuracy", lambda clf, x, y: float(next(rising)))
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
