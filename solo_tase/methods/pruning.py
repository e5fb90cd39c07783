"""SDCLR's self-competitor: a pruned, functional second pass through a dense module.

Pure torch (no Lightning, no solo-learn), so it is unit-testable; ``methods/sdclr.py`` drives it.

- :func:`global_magnitude_masks`: global unstructured magnitude pruning over a set of weight
  tensors (exactly ``round(ratio * n)`` of the ``n`` entries removed, the smallest ``|w|`` first).
- :class:`BranchNorms`: the second branch's own copy of every BatchNorm layer of a module
  (affine parameters and running statistics).
- :func:`masks_on_weights`: each mask on its weight's device (masks restored from a checkpoint are
  loaded before the model is moved to its GPU).
- :func:`branch_forward`: runs the dense module with its conv weights multiplied by the masks and
  its BatchNorm layers swapped for the branch's copies, through ``torch.func.functional_call``, so
  the dense module's stored tensors are never written; gradients reach the shared (dense) weights
  through the masks and the branch's own BatchNorm parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
import torch.nn as nn
from torch.func import functional_call
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.utils import prune

from solo_tase.utils.hashing import tensors_checksum


def conv_weight_names(module: nn.Module) -> list[str]:
    """Names (as in ``module.named_parameters()``) of the weight of every conv layer."""
    return [
        f"{name}.weight" if name else "weight"
        for name, m in module.named_modules()
        if isinstance(m, _ConvNd)
    ]


@torch.no_grad()
def global_magnitude_masks(
    weights: Mapping[str, torch.Tensor], ratio: float
) -> dict[str, torch.Tensor]:
    """Bool masks (shapes of ``weights``) keeping the largest ``|w|`` over all tensors together.

    ``ratio`` in [0, 1) is the fraction REMOVED: exactly ``round(ratio * n)`` of the ``n`` entries
    are False. The selection is ``torch.nn.utils.prune.L1Unstructured`` on the concatenation of the
    flattened tensors, which is what ``prune.global_unstructured`` does; it is called on a copy
    because ``global_unstructured`` would re-parametrise the modules (renaming ``weight`` to
    ``weight_orig`` in the state dict, which solo-learn's ``main_linear.py`` could not load).
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"the pruning ratio must be in [0, 1), got {ratio!r}")
    if not weights:
        raise ValueError("no weights to prune")
    flat = torch.cat([w.detach().reshape(-1) for w in weights.values()])
    keep = prune.L1Unstructured(amount=ratio).compute_mask(flat, torch.ones_like(flat)).bool()
    sizes = [w.numel() for w in weights.values()]
    # empty_like keeps each weight's memory format (channels_last)
    return {
        name: torch.empty_like(w, dtype=torch.bool).copy_(part.view(w.shape))
        for (name, w), part in zip(weights.items(), torch.split(keep, sizes))
    }


def masks_checksum(masks: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 (hex, 16 chars) over the names and bits of ``masks``, to compare ranks and runs."""
    return tensors_checksum(part for name in sorted(masks) for part in (name, masks[name]))


def masks_on_weights(
    masks: Mapping[str, torch.Tensor], weights: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """``masks`` with each mask on its weight's device (masks already there are not copied).

    Masks restored from a checkpoint are loaded before Lightning moves the model to its GPU; they
    follow the weights here, at their first use.
    """
    return {
        name: m if m.device == weights[name].device else m.to(weights[name].device)
        for name, m in masks.items()
    }


def _key(name: str) -> str:
    """A module path as a ``ModuleDict`` key (keys may not contain dots)."""
    return name.replace(".", "-")


class BranchNorms(nn.Module):
    """A second branch's own BatchNorm layers for ``module``: a copy of each of its BatchNorms.

    The copies start equal to the module's layers (parameters and running statistics) and are
    never run themselves: :meth:`overrides` hands their tensors to ``functional_call``, which then
    trains their affine parameters and updates their running statistics in place.
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.norms = nn.ModuleDict(
            {
                _key(name): copy.deepcopy(m)
                for name, m in module.named_modules()
                if isinstance(m, _BatchNorm)
            }
        )

    def overrides(self) -> dict[str, torch.Tensor]:
        """``{"<module path>.<weight|bias|running_mean|...>": tensor}`` for ``functional_call``."""
        out: dict[str, torch.Tensor] = {}
        for key, norm in self.norms.items():
            prefix = key.replace("-", ".")
            tensors = [*norm.named_parameters(recurse=False), *norm.named_buffers(recurse=False)]
            out.update({f"{prefix}.{name}": t for name, t in tensors})
        return out


def branch_forward(
    module: nn.Module,
    x: torch.Tensor,
    norms: BranchNorms,
    masks: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """``module(x)`` with the BatchNorms of ``norms`` and conv weights kept where ``masks[name]``.

    ``masks`` maps parameter names of ``module`` (see :func:`conv_weight_names`) to bool tensors of
    the same shapes; ``None`` keeps every weight. The module's own parameters and buffers are
    neither modified nor updated (its BatchNorm statistics are untouched).
    """
    tensors = norms.overrides()
    if masks:
        params = dict(module.named_parameters())
        masks = masks_on_weights(masks, params)
        # torch.where (unlike w * mask) keeps the weight's exact strides, also on 1x1 channels_last
        # kernels, so the gradient matches DDP's bucket layout
        tensors.update({name: torch.where(mask, params[name], 0.0) for name, mask in masks.items()})
    return functional_call(module, tensors, (x,))
