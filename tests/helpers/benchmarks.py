"""The benchmark scripts (benchmarks/*.py are scripts, not a package), imported for their tests."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from tests.helpers.paths import REPO


def load(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` (and the scripts it imports) as a module."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
