"""Per-sample momentum losses: the memorisation signal of BCL (Zhou et al., ICML 2022), and their
one lifecycle in a training loop (:class:`EpochMomentumLoss`, used by TASE and BCL).

Every sample keeps an exponential moving average of its contrastive loss over epochs. Samples the
network memorises late (the tail) keep a high momentum loss. As in the official code
(MediaBrain-SJTU/BCL, ``train.py``)::

    m_i <- l_i                                  the first epoch the sample is seen
    m_i <- (1 - beta) * l_i + beta * m_i        every later epoch it is seen

with ``l_i`` its loss in that epoch (the mean over the epoch's observations when DDP's sampler
repeats it). :meth:`MomentumLoss.normalised` maps the momentum losses to [0, 1] exactly as the
official dataset does (``calculate_momentum_weight``): z-score, divided by the largest absolute
z-score, halved and shifted by 1/2. Pure torch (no Lightning); every rank holds the same state.
"""

from __future__ import annotations

from typing import Any

import torch

from solo_tase.utils.distributed import gather_no_grad


class MomentumLoss:
    """Momentum loss per dataset index, updated once per epoch.

    Attributes:
        values: [N] fp32 momentum losses (0 for samples never seen).
        seen: [N] bool, True once a sample's loss has entered ``values``.
        last_epoch: the last epoch applied by :meth:`end_epoch` (-1 before the first).
    """

    def __init__(self, num_samples: int, beta: float, device: torch.device | str = "cpu") -> None:
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1 (got {num_samples})")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta (momentum_loss_beta) must be in [0, 1) (got {beta})")
        self.num_samples = int(num_samples)
        self.beta = float(beta)
        self.values = torch.zeros(num_samples, dtype=torch.float32, device=device)
        self.seen = torch.zeros(num_samples, dtype=torch.bool, device=device)
        self.last_epoch = -1
        self._loss_sum = torch.zeros(num_samples, dtype=torch.float32, device=device)
        self._count = torch.zeros(num_samples, dtype=torch.int64, device=device)

    @property
    def pending(self) -> bool:
        """True when losses were observed since the last :meth:`end_epoch`."""
        return bool(self._count.any())

    @torch.no_grad()
    def observe(self, indexes: torch.Tensor, losses: torch.Tensor) -> None:
        """Record this step's per-sample losses [B] at dataset ``indexes`` [B] (all ranks').

        Raises:
            ValueError: shapes differ, or an index is outside ``[0, num_samples)``.
        """
        indexes = indexes.reshape(-1).long().to(self.values.device)
        losses = losses.detach().reshape(-1).float().to(self.values.device)
        if indexes.shape != losses.shape:
            raise ValueError(
                f"indexes {tuple(indexes.shape)} and losses {tuple(losses.shape)} must both be [B]"
            )
        indexes, losses = gather_no_grad(indexes), gather_no_grad(losses)
        if indexes.numel() and (int(indexes.min()) < 0 or int(indexes.max()) >= self.num_samples):
            raise ValueError(
                f"dataset indexes must lie in [0, {self.num_samples}) (got "
                f"[{int(indexes.min())}, {int(indexes.max())}]): the training set "
                "has more samples than the momentum-loss table"
            )
        self._loss_sum.index_add_(0, indexes, losses)
        self._count.index_add_(0, indexes, torch.ones_like(indexes))

    @torch.no_grad()
    def end_epoch(self, epoch: int) -> None:
        """Apply epoch ``epoch``'s losses to the samples seen in it (BCL's update, see module).

        Raises:
            ValueError: ``epoch`` was already applied (epochs must increase).
        """
        if epoch <= self.last_epoch:
            raise ValueError(
                f"momentum losses of epoch {epoch} applied after epoch "
                f"{self.last_epoch}: epochs must increase"
            )
        hit = self._count > 0
        loss = self._loss_sum[hit] / self._count[hit].float()
        old = self.values[hit]
        self.values[hit] = torch.where(
            self.seen[hit], (1.0 - self.beta) * loss + self.beta * old, loss
        )
        self.seen |= hit
        self.last_epoch = int(epoch)
        self._loss_sum.zero_()
        self._count.zero_()

    @torch.no_grad()
    def normalised(self) -> torch.Tensor:
        """[N] fp32 in [0, 1]: ``(z / max|z|) / 2 + 1/2`` with ``z`` the z-score (unbiased std)
        of the seen samples' momentum losses; 0 for samples never seen, 1/2 for all seen samples
        when their momentum losses are all equal (or only one is seen)."""
        out = torch.zeros_like(self.values)
        m = self.values[self.seen]
        if m.numel() == 0:
            return out
        z = (m - m.mean()) / m.std() if m.numel() > 1 else torch.zeros_like(m)
        scale = z.abs().max()
        if not torch.isfinite(scale) or scale == 0:
            out[self.seen] = 0.5
            return out
        out[self.seen] = (z / scale) / 2 + 0.5
        return out

    def state_dict(self) -> dict[str, Any]:
        """Copies on CPU of the tensors, and plain values (loads with ``weights_only=True``)."""
        return {
            "num_samples": self.num_samples,
            "beta": self.beta,
            "last_epoch": self.last_epoch,
            "values": self.values.cpu().clone(),
            "seen": self.seen.cpu().clone(),
            "loss_sum": self._loss_sum.cpu().clone(),
            "count": self._count.cpu().clone(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (the pending epoch included); ``beta`` stays the
        configured one.

        Raises:
            ValueError: the state is for another training-set size.
        """
        if int(state["num_samples"]) != self.num_samples:
            raise ValueError(
                f"the saved momentum losses are for {state['num_samples']} samples, "
                f"this training set has {self.num_samples}: resume with the same "
                "data (data.train_path, data.long_tail, data.fraction)"
            )
        device = self.values.device
        self.last_epoch = int(state["last_epoch"])
        self.values = state["values"].to(device, torch.float32).clone()
        self.seen = state["seen"].to(device, torch.bool).clone()
        self._loss_sum = state["loss_sum"].to(device, torch.float32).clone()
        self._count = state["count"].to(device, torch.int64).clone()

    def to(self, device: torch.device | str) -> MomentumLoss:
        """Move every tensor to ``device`` (in place); returns ``self``."""
        for name in ("values", "seen", "_loss_sum", "_count"):
            setattr(self, name, getattr(self, name).to(device))
        return self


class EpochMomentumLoss:
    """:class:`MomentumLoss` inside a training loop: the one lifecycle of TASE's memorisation
    signal and BCL's boost.

    Every step's losses are observed with their epoch; an epoch's losses are folded in (BCL's
    update) once the epoch is over, at whichever comes first: :meth:`fold_before` a later epoch
    (the start of the next epoch, or the end of this one by ``fold_before(epoch + 1)``), or
    :meth:`load_state_dict` of a checkpoint written after the epoch's last step. solo-learn's
    Checkpointer saves in ``on_train_epoch_end`` *before* the method's own epoch-end hook runs, so
    an epoch-end checkpoint still holds its epoch's losses pending; :meth:`state_dict` marks them
    complete when every step of the epoch was taken, and a checkpoint written mid-epoch keeps them
    pending, to be continued by the resumed steps.
    """

    def __init__(self, num_samples: int, beta: float, device: torch.device | str = "cpu") -> None:
        self.momentum = MomentumLoss(num_samples, beta, device=device)
        self.pending_epoch = -1  # epoch of the losses observed since the last fold
        self.steps_in_epoch = 0  # steps of ``pending_epoch`` observed by this rank

    @property
    def values(self) -> torch.Tensor:
        """[N] fp32 momentum losses of the folded epochs (0 for samples never seen)."""
        return self.momentum.values

    @property
    def seen(self) -> torch.Tensor:
        """[N] bool: the sample's loss has been folded in."""
        return self.momentum.seen

    def normalised(self) -> torch.Tensor:
        """[N] in [0, 1], BCL's normalisation (:meth:`MomentumLoss.normalised`)."""
        return self.momentum.normalised()

    def observe(self, indexes: torch.Tensor, losses: torch.Tensor, epoch: int) -> None:
        """This step's per-sample losses [B] at dataset ``indexes`` [B] (gathered over ranks)."""
        self.fold_before(epoch)
        if epoch != self.pending_epoch:
            self.pending_epoch, self.steps_in_epoch = int(epoch), 0
        self.momentum.observe(indexes, losses)
        self.steps_in_epoch += 1

    def fold_before(self, epoch: int) -> bool:
        """Fold the pending losses if their epoch is earlier than ``epoch``; True if it did."""
        if self.momentum.pending and self.pending_epoch < epoch:
            self.momentum.end_epoch(self.pending_epoch)
            return True
        return False

    def state_dict(self, steps_per_epoch: float) -> dict[str, Any]:
        """The momentum losses, the pending epoch and whether all its ``steps_per_epoch`` steps
        were taken (tensors and plain values)."""
        return {
            "momentum": self.momentum.state_dict(),
            "pending_epoch": self.pending_epoch,
            "steps_in_epoch": self.steps_in_epoch,
            "epoch_complete": bool(self.steps_in_epoch >= steps_per_epoch),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output and fold a complete pending epoch. A bare
        :class:`MomentumLoss` state (TASE's earlier checkpoints, folded at the next epoch's start)
        is read as the pending epoch after its last folded one."""
        if "momentum" not in state:
            state = {
                "momentum": state,
                "pending_epoch": int(state["last_epoch"]) + 1,
                "steps_in_epoch": 0,
                "epoch_complete": False,
            }
        self.momentum.load_state_dict(state["momentum"])
        self.pending_epoch = int(state["pending_epoch"])
        self.steps_in_epoch = int(state["steps_in_epoch"])
        if state["epoch_complete"]:
            self.fold_before(self.pending_epoch + 1)

    def to(self, device: torch.device | str) -> EpochMomentumLoss:
        self.momentum.to(device)
        return self
