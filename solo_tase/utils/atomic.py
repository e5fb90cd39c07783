"""Files and folders that appear whole or not at all."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path


def _sibling(path: Path, tag: str) -> Path:
    """Hidden sibling ``.<name>.<tag>-<pid>`` of ``path``."""
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


def refuse_existing(path: Path, replace: bool, instead: str) -> None:
    """Raise ``FileExistsError`` when ``path`` exists and ``replace`` is off; ``instead`` names
    the option that picks another path (``--out``, ``--name``, ...)."""
    if Path(path).exists() and not replace:
        raise FileExistsError(
            f"{path} already exists and is never overwritten silently: choose another "
            f"{instead} or pass --replace"
        )


def write_file_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Create or replace the file ``path`` by ``write(tmp)`` on a hidden sibling, then
    ``os.replace``: readers see the old file or the new one, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomically(path: Path, text: str) -> Path:
    """:func:`write_file_atomically` for a text file holding ``text``."""
    return write_file_atomically(path, lambda tmp: tmp.write_text(text))


def build_folder_atomically(out: Path, fill: Callable[[Path], None]) -> Path:
    """Create ``out`` by ``fill(tmp)`` in a hidden sibling folder, then rename it into place.

    An existing ``out`` is swapped out only once ``fill`` has succeeded, so a failure (or an
    interrupt) leaves the old folder, or nothing, behind. Callers decide whether replacing an
    existing ``out`` is allowed before calling this.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(out, "tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        fill(tmp)
        if out.exists():
            old = _sibling(out, "old")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
