"""Folders that appear whole or not at all."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path


def build_folder_atomically(out: Path, fill: Callable[[Path], None]) -> Path:
    """Create ``out`` by ``fill(tmp)`` in a hidden sibling folder, then rename it into place.

    An existing ``out`` is swapped out only once ``fill`` has succeeded, so a failure (or an
    interrupt) leaves the old folder, or nothing, behind. Callers decide whether replacing an
    existing ``out`` is allowed before calling this.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        fill(tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
