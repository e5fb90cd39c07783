"""A tiny but real solo-learn run folder for the zoo (no solo-learn import), and a model card.

The checkpoint holds a torchvision ResNet-18 (the backbone solo-learn builds, ``fc`` removed,
ImageNet stem as for ``custom`` data) under ``backbone.`` keys, a projector and a classifier, in
the layout of a Lightning checkpoint; ``args.json`` has the shape of the one solo-learn writes for
``scripts/pretrain/digits-lt/tase.yaml``; a Digits-LT-style manifest (``MANIFEST_NAME``) sits
above ``train_path``; metrics.json follows the contract ``solo-tase eval`` writes. The
``run_dir`` fixture of ``tests/unit/conftest.py`` puts them together.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torchvision

from solo_tase.data.manifest import Manifest
from solo_tase.utils.hashing import sha256_file
from solo_tase.zoo.card import CARD_SCHEMA
from tests.helpers.fake_runs import run_args

RUN_NAME = "tase-digits-lt"
CKPT_NAME = f"{RUN_NAME}-0-ep=1.ckpt"
MANIFEST_NAME = "digits-lt-r10-s0"


def solo_backbone(cifar: bool = False) -> torch.nn.Module:
    """The ResNet-18 solo-learn builds: torchvision's, ``fc`` removed, CIFAR stem if asked."""
    net = torchvision.models.resnet18()
    net.fc = torch.nn.Identity()
    if cifar:
        net.conv1 = torch.nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=2, bias=False)
        net.maxpool = torch.nn.Identity()
    return net


def args_json(train_path: Path) -> dict[str, Any]:
    """solo-learn's args.json for the Digits-LT TASE config (abridged to the real keys)."""
    args = run_args(rrc={"enabled": True, "crop_min_scale": 0.4}, num_crops=2)
    args.update(
        name=RUN_NAME,
        method="tase",
        max_epochs=2,
        method_kwargs={
            "proj_hidden_dim": 512,
            "proj_output_dim": 128,
            "tau_0": 0.2,
            "tau_min": 0.1,
            "tau_max": 0.5,
            "beta": 0.5,
            "num_clusters": 10,
            "warmup_epochs": 10,
            "recluster_every": 5,
            "weighting": "power",
            "gamma": 0.5,
            "w_min": 0.1,
            "w_max": 10.0,
            "num_samples": None,
        },
        data={
            "dataset": "custom",
            "train_path": str(train_path),
            "val_path": None,
            "format": "image_folder",
            "num_workers": 0,
            "no_labels": False,
            "fraction": -1,
            "num_classes": 10,
            "num_large_crops": 2,
            "num_small_crops": 0,
        },
        optimizer={
            "name": "sgd",
            "batch_size": 64,
            "lr": 0.125,
            "classifier_lr": 0.1,
            "weight_decay": 0.0001,
            "kwargs": {"momentum": 0.9},
        },
        checkpoint={"enabled": True, "dir": "trained_models", "frequency": 1, "keep_prev": False},
        seed=5,
        devices="1",
        accelerator="cpu",
        precision=32,
        wandb_run_id="0",
    )
    return args


def lightning_checkpoint(backbone: torch.nn.Module, epoch: int = 1) -> dict[str, Any]:
    """A checkpoint dict with the keys Lightning writes and solo-learn's module layout."""
    state = {f"backbone.{k}": v for k, v in backbone.state_dict().items()}
    state.update(
        {
            "projector.0.weight": torch.randn(512, 512),
            "projector.0.bias": torch.zeros(512),
            "classifier.weight": torch.randn(10, 512),
            "classifier.bias": torch.zeros(10),
        }
    )
    return {
        "epoch": epoch,
        "global_step": 10 * (epoch + 1),
        "pytorch-lightning_version": "2.6.0",
        "state_dict": state,
        "loops": {},
        "callbacks": {},
        "optimizer_states": [],
        "lr_schedulers": [],
        "solo_tase": {"state": {}},
    }


def write_metrics(path: Path, run: Path, **changes: Any) -> Path:
    """A metrics.json of the contract for the run folder ``run``; ``changes`` replace top-level
    keys (``inputs`` defaults to the sha256 of the run's checkpoint and args.json, and the data
    manifest when there is one)."""
    data: dict[str, Any] = {
        "schema": "solo-tase/metrics/v1",
        "method": "tase",
        "run_name": RUN_NAME,
        "protocol": {
            "name": "linear",
            "shots": None,
            "fraction": None,
            "seeds": [0, 1, 2],
            "epochs": 30,
        },
        "metrics": {"all": 61.25, "many": 80.5, "medium": 60.0, "few": 45.25, "std": 14.4},
        "metrics_std": {"all": 0.4, "many": 0.3, "medium": 0.5, "few": 1.1, "std": 0.2},
        "per_class": [{"class": "0", "train_count": 150, "group": "many", "accuracy": 90.0}],
        "versions": {"solo_tase": "0.1.0", "torch": torch.__version__, "solo_learn": "9187ea3"},
    }
    data.update(changes)
    if "inputs" not in changes:
        data["inputs"] = {
            "checkpoint": str(run / CKPT_NAME),
            "checkpoint_sha256": sha256_file(run / CKPT_NAME),
            "args_sha256": sha256_file(run / "args.json"),
            "probe_set": "probe",
            "test_set": "test",
            "transform": "resize 32",
        }
        manifest = run.parent / "data" / "manifest.json"
        if manifest.is_file():
            data["inputs"].update(
                manifest=str(manifest), manifest_checksum=Manifest.load(manifest).index_checksum
            )
    path.write_text(json.dumps(data))
    return path


def edit_args(run: Path, **changes: Any) -> None:
    """Rewrite ``run/args.json`` with top-level ``changes`` and its metrics.json to match."""
    args = json.loads((run / "args.json").read_text())
    args.update(changes)
    (run / "args.json").write_text(json.dumps(args))
    write_metrics(run / "metrics.json", run)


def card_dict() -> dict[str, Any]:
    return {
        "name": "simclr-digits-lt",
        "dataset": "digits-lt-r10-s0",
        "method": "simclr",
        "method_kwargs": {"temperature": 0.2, "proj_output_dim": 128},
        "backbone": {"name": "resnet18", "kwargs": {}, "stem": "imagenet"},
        "pretraining": {
            "data": "custom",
            "manifest": "digits-lt-r10-s0",
            "manifest_checksum": "ab" * 32,
            "epochs": 100,
            "checkpoint_epoch": 99,
            "crop_size": 32,
            "batch_size": 64,
            "seed": 5,
        },
        "evaluations": [
            {
                "protocol": {"name": "linear", "shots": None, "fraction": None, "seeds": [0, 1, 2]},
                "metrics": {"all": 50.0, "many": 70.0, "medium": 45.5, "few": 30.25, "std": 16.3},
                "metrics_std": None,
                "file": "metrics-linear.json",
            }
        ],
        "weights": {
            "file": "simclr-digits-lt.pth",
            "kind": "backbone",
            "sha256": "0" * 64,
            "size": 1234,
            "source_checkpoint": "simclr-digits-lt-x-ep=99.ckpt",
            "source_sha256": "1" * 64,
        },
        "args_sha256": "2" * 64,
        "url": "https://example.org/simclr-digits-lt.pth",
        "solo_learn_commit": "9187ea3",
        "solo_tase_version": "0.1.0",
        "date": "2026-11-26T12:00:00Z",
        "schema": CARD_SCHEMA,
    }
