"""Batched feature extraction from a frozen backbone, cached on disk.

A cache entry is ``<cache dir>/<key>.pt`` where ``key`` is the SHA-256 of the checkpoint's
SHA-256, the transform's description, the data set's cache key (file listing, sizes and
modification times, or the CIFAR arrays) and the device type (GPU and CPU kernels differ in the
last bits). An entry whose stored key differs, or that cannot be read, is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
from rich.console import Console
from rich.progress import track
from torch.utils.data import DataLoader, Dataset

from solo_tase.errors import ConfigError, InputError
from solo_tase.eval.datasets import EvalSet
from solo_tase.utils.atomic import write_file_atomically

FEATURES_VERSION = 1


@dataclass(frozen=True)
class Features:
    """Frozen features ``x`` [N, D] (float32, CPU) and labels ``y`` [N] (int64)."""

    x: torch.Tensor
    y: torch.Tensor


def default_cache_dir() -> Path:
    """``$SOLO_TASE_CACHE/features``, default ``~/.cache/solo-tase/features``."""
    root = os.environ.get("SOLO_TASE_CACHE") or Path.home() / ".cache" / "solo-tase"
    return Path(root) / "features"


def cache_summary(cache_dir: Path | None) -> str:
    """One line for the user: where the feature cache is, its size (MB, every entry) and how
    to clear it."""
    if cache_dir is None:
        return "feature cache: off (--no-cache)"
    folder = Path(cache_dir).expanduser()
    entries = [p for p in folder.glob("*.pt") if p.is_file()] if folder.is_dir() else []
    size = sum(p.stat().st_size for p in entries) / 1e6
    return (
        f"feature cache: {folder} ({len(entries)} entries, {size:.1f} MB; clear it with "
        f"rm -rf {shlex.quote(str(folder))}, or evaluate with --no-cache)"
    )


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> the first GPU when present, else the CPU; anything else as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA GPU is available here (use --device cpu)")
    return torch.device(device)


@torch.inference_mode()
def extract_features(
    model: nn.Module,
    dataset: Dataset,
    *,
    device: torch.device,
    batch_size: int = 256,
    num_workers: int = 0,
    description: str = "features",
) -> Features:
    """Run ``model`` (eval mode) over ``dataset`` in order, with a progress bar on stderr."""
    model = model.eval().to(device)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
    )
    xs, ys = [], []
    for images, labels in track(
        loader, description=description, total=len(loader), console=Console(stderr=True)
    ):
        out = model(images.to(device, non_blocking=True))
        if out.ndim != 2:
            raise InputError(
                f"the backbone returned features of shape {tuple(out.shape)}; "
                "expected [batch, dim] (a pooled backbone without its head)"
            )
        xs.append(out.float().cpu())
        ys.append(labels.long())
    return Features(x=torch.cat(xs), y=torch.cat(ys))


def cache_key(parts: Mapping[str, str]) -> str:
    """SHA-256 of the key parts (checkpoint, transform, data set, device)."""
    payload = json.dumps({"version": FEATURES_VERSION, **parts}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def cached_features(
    cache_dir: Path | None, parts: Mapping[str, str], compute: Callable[[], Features]
) -> tuple[Features, bool]:
    """``compute()`` unless ``cache_dir`` holds an entry for ``parts``; returns (features, hit)."""
    if cache_dir is None:
        return compute(), False
    key = cache_key(parts)
    path = Path(cache_dir) / f"{key}.pt"
    if path.is_file():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if saved.get("key") == dict(parts):
                return Features(x=saved["x"], y=saved["y"]), True
        except (
            OSError,
            RuntimeError,
            EOFError,
            pickle.UnpicklingError,
            AttributeError,
            KeyError,
        ) as err:  # a damaged entry is recomputed, never trusted
            Console(stderr=True).print(
                f"[yellow]feature cache {path} unreadable ({err}); recomputing[/yellow]"
            )
    feats = compute()
    write_file_atomically(
        path, lambda tmp: torch.save({"key": dict(parts), "x": feats.x, "y": feats.y}, tmp)
    )
    return feats, False


@dataclass(frozen=True)
class Extractor:
    """Features of evaluation sets through one frozen backbone: batched, cached, logged."""

    model: nn.Module
    checkpoint_sha256: str
    device: torch.device
    batch_size: int
    num_workers: int
    cache_dir: Path | None
    log: Callable[[str], None]

    def __call__(
        self, data: EvalSet, role: str, transform: str, seed: int | None = None
    ) -> Features:
        """Features of ``data`` (whose dataset applies the transform ``transform`` describes);
        a random transform is drawn from ``seed``, which is then part of the cache key."""
        parts = {
            "checkpoint_sha256": self.checkpoint_sha256,
            "transform": transform,
            "data": data.cache_key,
            "device": self.device.type,
        }
        if seed is not None:
            parts["augmentation_seed"] = str(seed)

        def compute() -> Features:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed or 0)
                return extract_features(
                    self.model,
                    data.dataset,
                    device=self.device,
                    batch_size=self.batch_size,
                    num_workers=self.num_workers,
                    description=f"{role} features",
                )

        feats, hit = cached_features(self.cache_dir, parts, compute)
        shape = tuple(feats.x.shape)
        self.log(f"{'cached' if hit else 'extracted'} features {shape} of {data.description}")
        return feats
