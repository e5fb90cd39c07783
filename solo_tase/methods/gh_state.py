"""Geometric Harmonization's state (pure torch, no Lightning): the fixed target structure, each
sample's moving-average logits, the surrogate-class prior and the schedule of one of the official
training loops (MediaBrain-SJTU/Geometric-Harmonization), in 0-based epochs ``e``. The logits are
view 1's, ``t = normalize(z1 @ M^T)``.

``schedule: cifar`` (``train_cifar.py``):

- the logits enter a per-sample average once a step: added in epoch 0 (from zeros), then
  ``m <- beta m + (1 - beta) t`` with ``beta = beta_warmup`` before ``warmup_epochs`` and ``beta``
  from then on;
- in every epoch with ``(e + 1) % prior_every == 0`` or ``e + 1 == warmup_epochs`` (and
  ``e + 1 >= warmup_epochs``) the prior is re-estimated after each step, as the histogram of the
  average logits' arg-max (normalised).

``schedule: large_scale`` (``train_imagenet_places.py``, whose epochs count from 1):

- each step writes its logits into the epoch's table (``logit_shadow``); at the end of every
  epoch with ``e + 1 >= average_start`` the table is folded into the averages: copied at
  ``e + 1 == average_start``, then ``m <- beta m + (1 - beta) shadow`` (``beta`` as above);
- at the end of such an epoch, if ``(e + 2) % prior_every == 0`` or ``e + 2 == warmup_epochs``
  (and ``e + 2 >= warmup_epochs``), the prior is re-estimated once, from the counts plus
  ``prior_floor``.

Both: the GH loss is off while ``e + 1 <= warmup_epochs``; then its weight is
``weight * min(1, (e + 1 - warmup_epochs) / ramp_epochs)``. Under DDP each step's indexes and
logits are gathered from every rank, so every rank holds the same tables and the same prior.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from solo_tase.methods.config import GhSettings
from solo_tase.settings import ConfigError
from solo_tase.utils.distributed import gather_no_grad
from solo_tase.utils.hashing import tensors_checksum


def simplex_etf(k: int, d: int, seed: int) -> torch.Tensor:
    """A simplex equiangular tight frame [k, d] fp32: unit rows with pairwise cosine
    ``-1 / (k - 1)``, from a Gaussian matrix ``A`` [k, d] drawn with
    ``numpy.random.default_rng(seed)`` (the official script draws from the unseeded global
    stream), its polar factor ``U``, centred and scaled.

    For ``k <= d`` this is the official ``simplex_equiangular_tight_frame(k, d)``
    (``target/gen_target.py``), where ``U`` has orthonormal rows. For ``k = d + 1`` the official
    ``U`` has orthonormal columns only and its rows are no simplex; here ``A`` is centred first,
    so ``U`` [k, d] is an orthonormal basis of the sum-zero subspace (dimension ``k - 1 = d``) and
    ``U U^T`` is the centring projection."""
    from scipy import linalg

    if not 2 <= k <= d + 1:
        raise ConfigError(
            f"method_kwargs.gh.target_dim must be in [2, proj_output_dim + 1 = {d + 1}] (a simplex "
            f"ETF of K vertices needs K - 1 <= {d} dimensions), got {k}"
        )
    a = np.random.default_rng(seed).standard_normal((k, d))
    centre = np.eye(k) - np.ones(k) / k
    u, _ = linalg.polar(a if k <= d else centre @ a)
    m = np.sqrt(k / (k - 1)) * centre @ u
    return torch.from_numpy(m).float()


def load_target(path: str | Path, k: int, d: int) -> torch.Tensor:
    """A user's target ``.npy`` [k, d] as fp32.

    Raises:
        ConfigError: missing or unreadable file, wrong shape, non-finite values.
    """
    path = Path(path).expanduser()
    key = "method_kwargs.gh.target_file"
    if not path.is_file():
        raise ConfigError(f"{key}: {path} does not exist (a .npy of shape [{k}, {d}])")
    try:
        m = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ConfigError(f"{key}: {path} is not a .npy array ({err})") from None
    if m.shape != (k, d):
        raise ConfigError(
            f"{key}: {path} holds an array of shape {tuple(m.shape)}, but the target must be "
            f"[gh.target_dim, proj_output_dim] = [{k}, {d}]: set gh.target_dim to {m.shape[0]} "
            "if the file is right"
            if m.ndim == 2 and m.shape[1] == d
            else f"{key}: {path} holds an array of shape {tuple(m.shape)}, but the target must be "
            f"[gh.target_dim, proj_output_dim] = [{k}, {d}]"
        )
    if not np.isfinite(m).all():
        raise ConfigError(f"{key}: {path} has non-finite values")
    return torch.from_numpy(np.asarray(m, dtype=np.float32))


class GhState:
    """Target [K, D], average logits [N, K], prior [K] (uniform until the first estimate); with
    ``schedule: large_scale`` also the open epoch's logits [N, K] and which samples it holds [N]."""

    def __init__(
        self, settings: GhSettings, target: torch.Tensor, num_samples: int, device: Any = "cpu"
    ) -> None:
        self.settings = settings
        self.target = target.to(device)
        k = target.size(0)
        self.logits = torch.zeros(num_samples, k, dtype=torch.float32, device=device)
        self.prior = torch.full((k,), 1.0 / k, dtype=torch.float32, device=device)
        self.prior_epoch = -1  # epoch of the last prior estimate (-1: none yet)
        large = settings.schedule == "large_scale"
        # large_scale: the official per-epoch ``logit_shadow`` (zero where ``seen`` is false)
        self.shadow = torch.zeros(num_samples if large else 0, k, device=device)
        self.seen = torch.zeros(num_samples if large else 0, dtype=torch.bool, device=device)
        self.shadow_epoch = -1  # the epoch whose logits ``shadow`` holds, not yet folded (-1: none)

    @property
    def num_samples(self) -> int:
        return self.logits.size(0)

    @property
    def large_scale(self) -> bool:
        return self.settings.schedule == "large_scale"

    def weight(self, epoch: int) -> float:
        """The GH loss's weight in ``epoch`` (0 during the warm-up)."""
        s = self.settings
        done = epoch + 1 - s.warmup_epochs
        return 0.0 if done <= 0 else s.weight * min(1.0, done / s.ramp_epochs)

    def beta(self, epoch: int) -> float:
        s = self.settings
        return s.beta if epoch >= s.warmup_epochs else s.beta_warmup

    def is_prior_epoch(self, epoch: int) -> bool:
        """Whether the prior is re-estimated in ``epoch`` (cifar: after each of its steps;
        large_scale: once, at its end; the official large-scale epoch ``E`` is ``epoch + 1``)."""
        s = self.settings
        if self.large_scale:
            if epoch + 1 < s.average_start:
                return False
            epoch += 1  # train_imagenet_places.py tests (E + 1), E = epoch + 1
        return (epoch + 1) >= s.warmup_epochs and (
            (epoch + 1) % s.prior_every == 0 or epoch + 1 == s.warmup_epochs
        )

    @torch.no_grad()
    def observe(self, indexes: torch.Tensor, logits: torch.Tensor, epoch: int) -> None:
        """Record this step's logits [B, K] of dataset ``indexes`` [B] (gathered over ranks):
        cifar: fold them into the averages and re-estimate the prior in a prior epoch;
        large_scale: write them into ``epoch``'s table (after folding an older open one)."""
        idx = gather_no_grad(indexes.reshape(-1).long().to(self.logits.device))
        t = gather_no_grad(logits.detach().float().to(self.logits.device))
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.num_samples):
            raise ValueError(
                f"dataset indexes must lie in [0, {self.num_samples}) (got "
                f"[{int(idx.min())}, {int(idx.max())}]): the training set has more samples than "
                "GH's table of logits"
            )
        if self.large_scale:
            self.end_epoch(epoch - 1)
            if epoch + 1 >= self.settings.average_start:
                self.shadow[idx] = t
                self.seen[idx] = True
                self.shadow_epoch = int(epoch)
            return
        if epoch == 0:
            self.logits[idx] += t
        else:
            b = self.beta(epoch)
            self.logits[idx] = b * self.logits[idx] + (1.0 - b) * t
        if self.is_prior_epoch(epoch):
            self.estimate_prior(epoch)

    @torch.no_grad()
    def end_epoch(self, epoch: int) -> None:
        """large_scale: fold the open table of an epoch ``<= epoch`` into the averages (copied at
        ``e + 1 == average_start``, else the moving average with that epoch's ``beta``; samples
        not seen in it keep their average) and re-estimate the prior if it is a prior epoch.
        Idempotent; a no-op for cifar or when no table is open."""
        if not 0 <= self.shadow_epoch <= epoch:
            return
        e, rows = self.shadow_epoch, self.seen.nonzero().squeeze(1)
        if e + 1 == self.settings.average_start:
            self.logits[rows] = self.shadow[rows]
        else:
            b = self.beta(e)
            self.logits[rows] = b * self.logits[rows] + (1.0 - b) * self.shadow[rows]
        self.shadow.zero_()
        self.seen.zero_()
        self.shadow_epoch = -1
        if self.is_prior_epoch(e):
            self.estimate_prior(e, floor=self.settings.prior_floor)

    @torch.no_grad()
    def estimate_prior(self, epoch: int, floor: int = 0) -> None:
        """The prior: the share of samples whose average logits peak at each vertex, each count
        plus ``floor`` (large_scale's ``stat_floor``)."""
        counts = torch.bincount(self.logits.argmax(dim=1), minlength=self.target.size(0))
        counts = counts.double() + floor
        self.prior = (counts / counts.sum()).float().to(self.prior.device)
        self.prior_epoch = int(epoch)

    def summary(self) -> dict[str, float]:
        """Prior statistics: used vertices, largest / smallest non-zero share, entropy (nats)."""
        p = self.prior[self.prior > 0]
        return {
            "gh_prior_used": float(p.numel()),
            "gh_prior_max": float(p.max()),
            "gh_prior_min": float(p.min()),
            "gh_prior_entropy": float(-(p * p.log()).sum()),
        }

    def checksum(self) -> str:
        """SHA-256 (16 hex) of the target: the run's record of its structure."""
        return tensors_checksum((self.target,))

    def state_checksum(self) -> str:
        """SHA-256 (16 hex) of the averages, the prior and an open epoch's table, to compare
        ranks."""
        return tensors_checksum((self.logits, self.prior, self.shadow, self.seen))

    def state_dict(self) -> dict[str, Any]:
        """Plain tensors and values; large_scale adds the open epoch's table as the indexes of
        its samples [S] and their logits [S, K] (a checkpoint written at an epoch's end holds
        that epoch's table, folded when the next epoch starts)."""
        state: dict[str, Any] = {
            "target": self.target.cpu(),
            "logits": self.logits.cpu(),
            "prior": self.prior.cpu(),
            "prior_epoch": self.prior_epoch,
        }
        if self.large_scale:
            rows = self.seen.nonzero().squeeze(1)
            state["schedule"] = self.settings.schedule
            state["shadow_epoch"] = self.shadow_epoch
            state["shadow_indexes"] = rows.cpu()
            state["shadow_logits"] = self.shadow[rows].cpu()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output.

        Raises:
            ValueError: the saved target or table has another shape, or another target or
                schedule.
        """
        if tuple(state["logits"].shape) != tuple(self.logits.shape):
            raise ValueError(
                f"the checkpoint holds GH logits for {tuple(state['logits'].shape)} (samples, "
                f"vertices), this run has {tuple(self.logits.shape)}: resume with the same data "
                "and method_kwargs.gh.target_dim"
            )
        if not torch.equal(state["target"].float(), self.target.cpu().float()):
            raise ValueError(
                "the checkpoint's GH target differs from this run's: resume with the same "
                "method_kwargs.gh.target_seed / target_file"
            )
        saved = state.get("schedule", "cifar")
        if saved != self.settings.schedule:
            raise ValueError(
                f"the checkpoint's GH state follows method_kwargs.gh.schedule {saved}, this run "
                f"{self.settings.schedule}: resume with the same schedule"
            )
        device = self.logits.device
        self.logits = state["logits"].to(device, torch.float32)
        self.prior = state["prior"].to(device, torch.float32)
        self.prior_epoch = int(state["prior_epoch"])
        if self.large_scale:
            rows = state["shadow_indexes"].to(device, torch.long)
            self.shadow.zero_()
            self.seen.zero_()
            self.shadow[rows] = state["shadow_logits"].to(device, torch.float32)
            self.seen[rows] = True
            self.shadow_epoch = int(state["shadow_epoch"])
