"""Fake solo-learn run folders without solo-learn: ``args.json``, a checkpoint of a seeded
ResNet-18 backbone, and the data manifest a run names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from solo_tase.data.manifest import Manifest
from solo_tase.eval.checkpoint import build_backbone


def run_args(
    dataset: str = "custom", backbone: str = "resnet18", crop: int = 32, **augmentation: Any
) -> dict[str, Any]:
    """A solo-learn ``args.json`` holding the keys evaluation reads; ``augmentation`` adds keys
    to the first augmentation block (``mean``, ``std``, ``rrc`` ...)."""
    return {
        "name": f"fake-{dataset}",
        "method": "simclr",
        "max_epochs": 1,
        "backbone": {"name": backbone, "kwargs": {}},
        "data": {"dataset": dataset},
        "augmentations": [{"crop_size": crop, **augmentation}],
        "method_kwargs": {},
    }


def write_args(folder: Path, args: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "args.json").write_text(json.dumps(args))
    return folder / "args.json"


def make_run(
    folder: Path, dataset: str = "custom", extra: dict | None = None, seed: int = 0
) -> tuple[Path, dict[str, torch.Tensor]]:
    """A fake solo-learn run folder: args.json and a checkpoint with a seeded ResNet-18
    backbone plus other heads. Returns the checkpoint path and the backbone's tensors."""
    args = run_args(dataset)
    write_args(folder, args)
    torch.manual_seed(seed)
    backbone = build_backbone(args, use_solo=False).state_dict()
    state = {f"backbone.{k}": v for k, v in backbone.items()}
    state.update(extra if extra is not None else {"projector.0.weight": torch.zeros(4, 512)})
    path = folder / "fake-ep=0.ckpt"
    torch.save({"state_dict": state, "epoch": 0}, path)
    return path, backbone


def write_manifest(path: Path, names: list[str], counts: list[int], name: str = "fake-lt") -> Path:
    """A data manifest of ``counts[i]`` images of class ``names[i]`` saved at ``path`` (a file,
    or a folder that gets ``manifest.json``)."""
    Manifest.build(
        name=name, source="test", class_names=names, counts=counts, items=range(sum(counts))
    ).save(path)
    return path


def link_run(folder: Path, checkpoint: Path, **data: Any) -> Path:
    """Another run folder ``folder`` sharing ``checkpoint`` (a symbolic link, no copy) with an
    ``args.json`` whose ``data`` block gets ``data`` (``train_path=...``); returns the link."""
    args = run_args()
    args["data"].update({k: str(v) for k, v in data.items()})
    write_args(folder, args)
    link = folder / checkpoint.name
    link.symlink_to(checkpoint)
    return link


def write_built_folder(root: Path, names: list[str], counts: list[int]) -> Path:
    """A built dataset ``root`` as ``solo-tase data build`` lays it out: ``root/train`` (an
    ImageFolder of ``counts[i]`` PNGs of class ``names[i]``) and ``root/manifest.json``
    naming those counts. Returns ``root/train``."""
    from tests.helpers.images import write_image_folder

    write_image_folder(root / "train", counts, names, seed=3)
    write_manifest(root / "manifest.json", names, counts)
    return root / "train"
