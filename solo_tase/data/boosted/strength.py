"""The per-sample boost weights that the training process writes and the loader workers read.

One fp32 tensor [N] in shared memory (``Tensor.share_memory_``), created with the dataset before
any worker starts: forked workers (persistent or not) map the same pages (a pickled copy, as
with the ``spawn`` start method, would receive a handle to them too), so a write in the
training process is seen by every worker of that process at its next ``__getitem__``. Under
DDP every rank owns its dataset, its table and its workers; the ranks write identical values.
"""

from __future__ import annotations

import torch


class StrengthTable:
    """Boost weight in [0, 1] per dataset index (all 0 until the first update: no boost)."""

    def __init__(self, num_samples: int) -> None:
        if num_samples < 1:
            raise ValueError(f"a strength table needs >= 1 sample (got {num_samples})")
        self.values = torch.zeros(num_samples, dtype=torch.float32).share_memory_()

    def __len__(self) -> int:
        return self.values.numel()

    def __getitem__(self, index: int) -> float:
        return float(self.values[index])

    @torch.no_grad()
    def update(self, weights: torch.Tensor) -> None:
        """Write ``weights`` [M] (M <= N, values in [0, 1]) at indexes ``0..M-1``, in place.

        Raises:
            ValueError: more weights than samples, or values outside [0, 1].
        """
        weights = weights.detach().reshape(-1).float().cpu()
        if weights.numel() > len(self):
            raise ValueError(
                f"{weights.numel()} boost weights for a table of {len(self)} "
                "samples: the training set changed after the table was built"
            )
        if weights.numel() and not (weights.min() >= 0 and weights.max() <= 1):
            raise ValueError(
                "boost weights must lie in [0, 1] (got "
                f"[{float(weights.min())}, {float(weights.max())}])"
            )
        self.values[: weights.numel()].copy_(weights)
