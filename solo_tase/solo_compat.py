"""Where solo-learn meets the plugin: checking it is installed, with one clear error if not."""

from __future__ import annotations

import importlib.util

SOLO_LEARN_COMMIT = "9187ea3"
SOLO_LEARN_URL = "https://github.com/vturrisi/solo-learn"
INSTALL_HINT = (
    "solo-learn is not installed. It is not on PyPI (the registry's `solo-learn` is a 2021 "
    "release pinned to torch 1.9: do not use it). Install v1.0.6 from its source:\n"
    f"    git clone {SOLO_LEARN_URL} && git -C solo-learn checkout {SOLO_LEARN_COMMIT}\n"
    "    pip install 'setuptools<81' && pip install -e '.[solo]'   # in solo-tase\n"
    "    pip install --no-deps --no-build-isolation ./solo-learn\n"
    "or run `make solo-learn SOLO_LEARN_DIR=/path/to/solo-learn` in solo-tase."
)


def solo_available() -> bool:
    """True when ``import solo`` would succeed."""
    return importlib.util.find_spec("solo") is not None


def require_solo() -> None:
    """Raise ``ImportError`` with the install instructions unless solo-learn is importable."""
    if not solo_available():
        raise ImportError(INSTALL_HINT)
