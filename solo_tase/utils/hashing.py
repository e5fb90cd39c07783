"""SHA-256 digests of files and tensors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import torch


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def tensors_checksum(parts: Iterable[str | torch.Tensor]) -> str:
    """SHA-256 (hex, 16 chars) over names (utf-8) and tensor bytes, in order, to compare ranks
    and runs."""
    h = hashlib.sha256()
    for part in parts:
        h.update(
            part.encode()
            if isinstance(part, str)
            else part.detach().cpu().contiguous().numpy().tobytes()
        )
    return h.hexdigest()[:16]
