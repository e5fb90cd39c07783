"""A frozen backbone from a solo-learn checkpoint or a zoo weights file, built as solo-learn
builds it and loaded strictly (every tensor must fit; docs/evaluation.md)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torchvision

from solo_tase.errors import InputError
from solo_tase.run_folder import read_run_args
from solo_tase.solo_compat import INSTALL_HINT, solo_available
from solo_tase.utils.hashing import sha256_file

STATE_PREFIX = "backbone."
CIFAR_DATASETS = ("cifar10", "cifar100")
Factory = Callable[..., nn.Module]


@dataclass
class LoadedBackbone:
    """A backbone in eval mode with the provenance of its weights."""

    module: nn.Module
    args: dict[str, Any]
    checkpoint: Path
    args_path: Path
    checkpoint_sha256: str
    args_sha256: str
    registry: str  # "solo-learn" or "torchvision"


def backbone_factories(use_solo: bool) -> dict[str, Factory]:
    """Backbone name -> ``factory(method, **kwargs)``, as solo-learn's registry calls them."""
    if use_solo:
        with warnings.catch_warnings():  # timm/solo-learn import-time deprecation noise
            warnings.simplefilter("ignore")
            from solo.methods.base import BaseMethod
        return dict(BaseMethod._BACKBONES)
    # solo-learn's resnet18/resnet50 are torchvision's (solo/backbones/resnet/resnet.py).
    return {
        "resnet18": lambda method, **kw: torchvision.models.resnet18(**kw),
        "resnet50": lambda method, **kw: torchvision.models.resnet50(**kw),
    }


def build_backbone(args: Mapping[str, Any], use_solo: bool | None = None) -> nn.Module:
    """The randomly initialised backbone of a run, shaped as solo-learn shapes it."""
    use_solo = solo_available() if use_solo is None else use_solo
    name = args["backbone"]["name"]
    factories = backbone_factories(use_solo)
    if name not in factories:
        if use_solo:
            raise InputError(
                f"unknown backbone '{name}' (backbone.name in args.json); "
                f"solo-learn's registry has {sorted(factories)}"
            )
        raise InputError(
            f"backbone '{name}' needs solo-learn's backbone registry; without "
            f"solo-learn only {sorted(factories)} can be built. {INSTALL_HINT}"
        )
    model = factories[name](args["method"], **dict(args["backbone"].get("kwargs") or {}))
    if name.startswith("resnet"):  # the same condition and surgery as solo's BaseMethod
        model.fc = nn.Identity()
        if args["data"]["dataset"] in CIFAR_DATASETS:
            model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=2, bias=False)
            model.maxpool = nn.Identity()
    return model


def backbone_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The ``backbone.``-prefixed tensors of a checkpoint, prefix removed; a file that is not a
    checkpoint (text, truncated, another torch file) raises one ``InputError`` naming it."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # KeyError, EOFError, RuntimeError, ... on a non-torch file
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        why = f"{type(err).__name__}: {first}" if first else type(err).__name__
        raise InputError(
            f"cannot read {path} as a checkpoint with torch.load(weights_only=True) ({why}): "
            "pass a solo-learn .ckpt or a zoo weights file (a text or truncated file, or one "
            "saving more than tensors and plain values, is not one)"
        ) from None
    state = ckpt.get("state_dict") if isinstance(ckpt, Mapping) else None
    if not isinstance(state, Mapping):
        raise InputError(
            f"{path} has no 'state_dict': expected a solo-learn checkpoint or a zoo "
            "weights file {'state_dict': {'backbone.<name>': tensor, ...}}"
        )
    out = {
        k[len(STATE_PREFIX) :]: v
        for k, v in state.items()
        if isinstance(k, str) and k.startswith(STATE_PREFIX)
    }
    if not out:
        raise InputError(
            f"{path}: no 'backbone.*' key in its state_dict (first keys: "
            f"{list(state)[:5]}); it is not a solo-learn checkpoint"
        )
    if odd := [k for k, v in out.items() if not isinstance(v, torch.Tensor)]:
        raise InputError(
            f"{path}: state_dict entries {[STATE_PREFIX + k for k in odd[:4]]} are not tensors; "
            "it is not a solo-learn checkpoint"
        )
    return out


def load_strict(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path, name: str) -> None:
    """Load ``state`` into ``model``; any missing, unexpected or mis-shaped tensor is an error."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or shapes:
        problems = "; ".join(
            f"{what}: {items[:4]}{' ...' if len(items) > 4 else ''}"
            for what, items in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("shape mismatch", shapes),
            )
            if items
        )
        raise InputError(
            f"{path} does not fit the '{name}' backbone that its args.json "
            f"describes ({problems}); check that args.json belongs to this checkpoint"
        )
    model.load_state_dict(state, strict=True)


def load_backbone(checkpoint: str | Path, use_solo: bool | None = None) -> LoadedBackbone:
    """Read args.json, build the backbone and load every one of its tensors (eval mode, CPU)."""
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        hint = (
            f" (it is a folder: pass one of its checkpoints "
            f"{sorted(p.name for p in path.glob('*.ckpt'))})"
            if path.is_dir()
            else ""
        )
        raise FileNotFoundError(f"checkpoint {path} not found{hint}")
    use_solo = solo_available() if use_solo is None else use_solo
    args, args_path = read_run_args(path)
    model = build_backbone(args, use_solo)
    load_strict(model, backbone_state_dict(path), path, args["backbone"]["name"])
    return LoadedBackbone(
        module=model.eval(),
        args=args,
        checkpoint=path,
        args_path=args_path,
        checkpoint_sha256=sha256_file(path),
        args_sha256=sha256_file(args_path),
        registry="solo-learn" if use_solo else "torchvision",
    )
