"""A training sampler whose per-sample weights can change between epochs (TASE's
``weights_as: sampling``).

Each epoch draws ``N`` indexes with probabilities proportional to the weights, with replacement
(``torch.multinomial``; sample ``i`` is drawn ``N w_i / sum(w)`` times in expectation, so weights of
mean 1 give the same expected weights as loss weights). Without weights it is the loader's own
shuffle, bit for bit: one process draws like ``torch.utils.data.RandomSampler`` (a generator seeded
from the global stream every epoch), DDP like ``DistributedSampler`` (``seed + epoch``, padded to a
multiple of the world size, rank ``r`` taking every ``world``-th index from ``r``). The weighted
draws are seeded the same way, so every DDP rank draws the same ``N`` indexes and takes its share.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

from solo_tase.errors import ConfigError


class WeightedEpochSampler(Sampler[int]):
    """Sampler of ``num_samples`` indexes per epoch (``ceil(N / world)`` per rank)."""

    def __init__(self, num_samples: int, *, seed: int, rank: int = 0, world_size: int = 1) -> None:
        if num_samples < 1 or not 0 <= rank < world_size:
            raise ValueError(
                f"need num_samples >= 1 and 0 <= rank < world_size, got {num_samples}, "
                f"rank {rank}, world size {world_size}"
            )
        self.num_samples = num_samples
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.weights: torch.Tensor | None = None  # [N] fp64 on the CPU, or None (uniform)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_weights(self, weights: torch.Tensor | None) -> None:
        """Per-sample weights [N] (>= 0, not all 0), or ``None`` for the loader's own shuffle."""
        if weights is not None:
            w = weights.detach().double().cpu().flatten()
            if w.numel() != self.num_samples or not bool(torch.isfinite(w).all()):
                raise ValueError(
                    f"sampling weights must be {self.num_samples} finite values, got "
                    f"{w.numel()} values"
                )
            if bool((w < 0).any()) or float(w.sum()) <= 0:
                raise ValueError("sampling weights must be >= 0 and not all 0")
            weights = w
        self.weights = weights

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.world_size)

    def _generator(self) -> torch.Generator:
        if self.world_size == 1:  # RandomSampler: a fresh seed from the global stream
            seed = int(torch.empty((), dtype=torch.int64).random_().item())
        else:  # DistributedSampler: the same draw on every rank
            seed = self.seed + self.epoch
        return torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[int]:
        g = self._generator()
        n = self.num_samples
        if self.weights is None:
            idx = torch.randperm(n, generator=g)
        else:
            idx = torch.multinomial(self.weights, n, replacement=True, generator=g)
        total = len(self) * self.world_size
        if total > n:
            idx = torch.cat([idx, idx[: total - n]])
        return iter(idx[self.rank : total : self.world_size].tolist())


def install_sampler(loader: object, sampler: WeightedEpochSampler) -> None:
    """Make ``loader`` (a PyTorch ``DataLoader`` with a batch sampler) draw its indexes from
    ``sampler``; the number of batches per epoch does not change.

    Raises:
        ConfigError: the loader has no batch sampler to draw from, or another length.
    """
    batch_sampler = getattr(loader, "batch_sampler", None)
    current = getattr(batch_sampler, "sampler", None)
    if current is None:
        raise ConfigError(
            "method_kwargs.weights_as=sampling replaces the sampler of a PyTorch DataLoader with "
            f"a batch sampler, but the training loader is {type(loader).__name__}: use "
            "weights_as=loss (DALI pipelines have no PyTorch sampler)"
        )
    if len(current) != len(sampler):
        raise ConfigError(
            f"the training loader draws {len(current)} indexes per epoch on this rank, the "
            f"weighted sampler {len(sampler)}: method_kwargs.weights_as=sampling needs the "
            "loader's own sampler over the whole training set"
        )
    batch_sampler.sampler = sampler  # type: ignore[union-attr]
