"""BCL's memorisation boost as a component of a solo-learn method (BCL-I, SDCLR's ``bcl`` option).

The method calls it from its hooks: :meth:`BoostedMemorisation.start` in ``on_train_start``,
:meth:`loss` in ``training_step`` (the NT-Xent, whose per-anchor values it records),
:meth:`end_epoch` in ``on_train_epoch_end``, :meth:`save` / :meth:`load` in its checkpoint hooks
(``checkpoint["solo_tase_bcl"]``). At each epoch end the momentum losses
(``solo_tase.pseudo_labels.memorisation``) are normalised into the training set's shared
:class:`StrengthTable`, which the loader workers read.

solo-learn's Checkpointer saves in ``on_train_epoch_end`` *before* the method's hook runs, so an
epoch-end checkpoint holds the epoch's losses still pending; :meth:`start` applies them when the
run resumes at the next epoch, so the momentum losses and boost weights equal the uninterrupted
run's.
"""

from __future__ import annotations

from typing import Any

import torch

from solo_tase.data.boosted.solo_data import strength_table
from solo_tase.data.boosted.strength import StrengthTable
from solo_tase.losses.tase import nt_xent_per_anchor
from solo_tase.methods.common import STATS_FILE, append_stats, batch_indexes, resolve_num_samples
from solo_tase.methods.config import BoostSettings
from solo_tase.pseudo_labels.memorisation import MomentumLoss

CHECKPOINT_KEY = "solo_tase_bcl"


class BoostedMemorisation:
    """Momentum losses of the training samples and the boost weights they drive."""

    def __init__(self, settings: BoostSettings, method: str) -> None:
        self.settings = settings
        self.method = method
        self.momentum: MomentumLoss | None = None
        self.table: StrengthTable | None = None
        self.pending_epoch = -1  # epoch of the losses observed since the last end_epoch
        self._restored: dict[str, Any] | None = None

    def start(self, module: Any) -> None:
        """Build (or restore) the momentum losses of ``module``'s training set and write the boost
        weights to its table."""
        trainer, device = module.trainer, module.device
        self.table = strength_table(trainer, self.method)
        n = resolve_num_samples(trainer, None)
        self.momentum = MomentumLoss(n, self.settings.momentum_loss_beta, device=device)
        if self._restored is not None:
            self.momentum.load_state_dict(self._restored["momentum"])
            self.pending_epoch = int(self._restored["pending_epoch"])
            self._restored = None
            if self.momentum.pending and self.pending_epoch < int(trainer.current_epoch):
                self.momentum.end_epoch(self.pending_epoch)
        self.table.update(self.momentum.normalised())

    def loss(self, z: torch.Tensor, tau: float, indexes: torch.Tensor, epoch: int) -> torch.Tensor:
        """The NT-Xent of a step (mean over anchors), recording each sample's loss: the mean of
        its two anchors' (the official ``loss.view(2, B).mean(0)``).

        Args:
            z: [2B, D] projections, view-major (rows ``i`` and ``B + i`` are sample ``i``).
            tau: the temperature.
            indexes: [B] dataset indexes of the local batch (DALI's [B, 1] is accepted).
            epoch: the current (0-based) epoch.
        """
        assert self.momentum is not None, "start() runs in on_train_start"
        per_anchor = nt_xent_per_anchor(z, tau)  # [2B]
        indexes = batch_indexes(indexes)
        b = indexes.numel()
        self.momentum.observe(indexes, (per_anchor[:b] + per_anchor[b:]).detach() / 2)
        self.pending_epoch = int(epoch)
        return per_anchor.mean()

    def end_epoch(self, module: Any) -> dict[str, float]:
        """Update the momentum losses with the epoch's, rewrite the boost weights; log and record
        (``solo_tase_stats.jsonl``) the momentum losses and weights of the samples seen so far."""
        assert self.momentum is not None and self.table is not None
        epoch = int(module.current_epoch)
        if self.momentum.pending:
            self.momentum.end_epoch(epoch)
        weights = self.momentum.normalised()
        self.table.update(weights)
        seen = self.momentum.seen
        m, w = self.momentum.values[seen], weights[seen]
        stats = {"bcl_seen": float(seen.sum()),
                 "bcl_momentum_loss_mean": float(m.mean()) if m.numel() else 0.0,
                 "bcl_weight_mean": float(w.mean()) if w.numel() else 0.0,
                 "bcl_weight_max": float(w.max()) if w.numel() else 0.0}
        module.log_dict({f"bcl/{k[4:]}": v for k, v in stats.items()}, on_step=False,
                        on_epoch=True, sync_dist=False)  # identical on every rank
        append_stats(module.trainer, STATS_FILE, {"epoch": epoch, **stats})
        return stats

    def save(self, checkpoint: dict[str, Any]) -> None:
        """Store the momentum losses (tensors and plain values: Lightning loads checkpoints with
        weights_only=True) and the pending epoch in ``checkpoint``."""
        if self.momentum is not None:
            checkpoint[CHECKPOINT_KEY] = {"momentum": self.momentum.state_dict(),
                                          "pending_epoch": self.pending_epoch}

    def load(self, checkpoint: dict[str, Any]) -> None:
        """Keep the saved state for :meth:`start` (the loader's size is known only then).

        Raises:
            ValueError: the checkpoint has no BCL state.
        """
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is None:
            raise ValueError(
                f"this checkpoint has no BCL momentum losses (checkpoint[{CHECKPOINT_KEY!r}]): it "
                f"was not written by '{self.method}' with BCL; to start from its weights use "
                "pretrained weights, not resume_from_checkpoint")
        self._restored = saved
