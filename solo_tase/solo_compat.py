"""Where solo-learn meets the plugin: where its checkout is looked for, whether it is installed,
and one clear error if not.

This file is also run as a script by ``scripts/install_solo_learn.sh`` (``python
solo_tase/solo_compat.py places|commit|url``) so that the shell and Python search the same places
in the same order; it therefore imports nothing but the standard library.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

SOLO_LEARN_COMMIT = "9187ea3"
SOLO_LEARN_URL = "https://github.com/vturrisi/solo-learn"
SOLO_LEARN_ENV = "SOLO_LEARN_DIR"
# Where a checkout is looked for when $SOLO_LEARN_DIR is not set, in order; relative places are
# relative to the solo-tase checkout (the current folder for an installed package). When
# $SOLO_LEARN_DIR is set it is the only place.
SOLO_LEARN_PLACES = ("solo-learn", "../solo-learn", "/opt/solo-learn")
PLACES_TEXT = f"${SOLO_LEARN_ENV}, else " + ", ".join(
    p if os.path.isabs(p) or p.startswith(".") else f"./{p}" for p in SOLO_LEARN_PLACES
)
# The commands that install v1.0.6 by hand, from a checkout at ./solo-learn.
INSTALL_STEPS = (
    f"git clone {SOLO_LEARN_URL} solo-learn && git -C solo-learn checkout {SOLO_LEARN_COMMIT}",
    "pip install 'setuptools<81' && pip install -e '.[solo]'   # in solo-tase",
    "pip install --no-deps --no-build-isolation -e ./solo-learn",
)
MAKE_STEP = (
    f"make solo-learn (in solo-tase: uses the checkout at {PLACES_TEXT}; clones one into "
    "./solo-learn when there is none)"
)
INSTALL_HINT = (
    "solo-learn is not installed. It is not on PyPI (the registry's `solo-learn` is a 2021 "
    "release pinned to torch 1.9: do not use it). Install v1.0.6 from its source:\n"
    + "".join(f"    {step}\n" for step in INSTALL_STEPS)
    + f"or run {MAKE_STEP}."
)


def solo_learn_candidates(project: Path) -> list[Path]:
    """The places a solo-learn checkout is looked for, in order: ``[$SOLO_LEARN_DIR]`` when set,
    else ``SOLO_LEARN_PLACES`` under ``project`` (absolute, normalised, symlinks kept)."""
    env = os.environ.get(SOLO_LEARN_ENV, "")
    if env:
        return [Path(os.path.abspath(env))]
    return [Path(os.path.abspath(Path(project) / place)) for place in SOLO_LEARN_PLACES]


def checkout_commit(path: Path) -> str | None:
    """The full commit a git checkout at ``path`` is at; None when it is not a git checkout (its
    own ``.git``, not an enclosing repository's) or git is missing."""
    if not (Path(path) / ".git").exists():
        return None
    try:
        proc = subprocess.run(
            ["git", "-c", f"safe.directory={path}", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def solo_available() -> bool:
    """True when ``import solo`` would succeed."""
    return importlib.util.find_spec("solo") is not None


def require_solo() -> None:
    """Raise ``ImportError`` with the install instructions unless solo-learn is importable."""
    if not solo_available():
        from solo_tase.errors import MissingDependency  # (a script imports only the stdlib)

        raise MissingDependency(INSTALL_HINT)


if __name__ == "__main__":
    # `python solo_tase/solo_compat.py places|commit|url`, for scripts/install_solo_learn.sh, run
    # from the checkout holding this file; places: the search order, one absolute path a line.
    project = Path(__file__).resolve().parents[1]
    answers = {
        "places": "\n".join(str(p) for p in solo_learn_candidates(project)),
        "commit": SOLO_LEARN_COMMIT,
        "url": SOLO_LEARN_URL,
    }
    if len(sys.argv) != 2 or sys.argv[1] not in answers:
        sys.exit(f"usage: python solo_tase/solo_compat.py {{{'|'.join(answers)}}}")
    print(answers[sys.argv[1]])
