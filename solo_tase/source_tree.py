"""The solo-tase source checkout the package is imported from, if any. An installed package has
none: it finds its data through ``importlib.resources`` and resolves relative places from the
current folder."""

from __future__ import annotations

from pathlib import Path


def source_tree() -> Path | None:
    """The checkout root (the folder holding ``pyproject.toml`` beside ``solo_tase/``) when the
    package is imported from one; None for an installed package."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None
