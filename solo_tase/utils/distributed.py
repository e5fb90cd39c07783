"""Thin helpers over ``torch.distributed`` that are no-ops in a single process.

Lightning's DDP strategy initialises the process group; these helpers only read it.
``gather_with_grad`` is a small ``autograd.Function`` (as solo-learn's ``GatherLayer``): torch's
``torch.distributed.nn.functional.all_gather`` is deprecated since torch 2.14 and its replacement
lives in the private ``torch.distributed._functional_collectives``.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """True when a process group with more than one rank is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's global rank (0 outside DDP)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of ranks (1 outside DDP)."""
    return dist.get_world_size() if is_distributed() else 1


class _GatherWithGrad(torch.autograd.Function):
    """all_gather forward; backward sums the gradients of every rank and keeps this rank's slice,
    so that DDP's gradient averaging yields the gradient of the mean of the ranks' losses."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(out, x.contiguous())
        return torch.cat(out, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad.chunk(dist.get_world_size(), dim=0)[dist.get_rank()]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` [B, ...] from every rank along dim 0 -> [world*B, ...], keeping grads.

    On one process the result is a copy (``torch.cat([x])``), as solo-learn's ``gather`` makes, so
    that autograd sums the gradients of ``x`` in the same order as solo-learn's SimCLR does."""
    if not is_distributed():
        return torch.cat([x])
    return _GatherWithGrad.apply(x)


@torch.no_grad()
def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` [B, ...] from every rank along dim 0 -> [world*B, ...], no grad."""
    if not is_distributed():
        return x
    out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(out, x.contiguous())
    return torch.cat(out, dim=0)


@torch.no_grad()
def all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum ``x`` over ranks (returns a new tensor; ``x`` is untouched)."""
    if not is_distributed():
        return x.clone()
    y = x.clone()
    dist.all_reduce(y, op=dist.ReduceOp.SUM)
    return y


@torch.no_grad()
def broadcast_(x: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Overwrite ``x`` in place with rank ``src``'s copy and return it."""
    if is_distributed():
        dist.broadcast(x, src=src)
    return x


def same_on_all_ranks(value: str, what: str) -> list[str]:
    """Every rank's ``value`` (e.g. a checksum), in rank order; raises ``RuntimeError`` naming
    ``what`` when they differ."""
    if not is_distributed():
        return [value]
    found: list[str] = [""] * dist.get_world_size()
    dist.all_gather_object(found, value)
    if len(set(found)) != 1:
        raise RuntimeError(f"{what} differ across ranks: {found}")
    return found
