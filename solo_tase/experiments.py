"""Driving solo-learn's entry points and our evaluation from Python: the demo, the benchmarks and
the reproduction recipes all run exactly the commands a user would type."""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from solo_tase.solo_compat import (
    INSTALL_HINT,
    SOLO_LEARN_ENV,
    solo_available,
    solo_learn_candidates,
)
from solo_tase.source_tree import source_tree


def find_solo_learn_dir() -> Path:
    """The solo-learn checkout holding ``main_pretrain.py``: the first of the places
    ``solo_learn_candidates`` lists (relative ones under the solo-tase checkout, or the current
    folder for an installed package), else the checkout ``solo`` is installed from (editable)."""
    candidates = solo_learn_candidates(source_tree() or Path.cwd())
    if solo_available() and not os.environ.get(SOLO_LEARN_ENV):
        spec = importlib.util.find_spec("solo")
        if spec is not None and spec.origin:
            candidates.append(Path(spec.origin).resolve().parents[1])
    for c in candidates:
        if (c / "main_pretrain.py").is_file():
            return c.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"no solo-learn checkout with main_pretrain.py was found (looked in "
        f"{looked}; set {SOLO_LEARN_ENV} to use another place).\n" + INSTALL_HINT
    )


def pretrain_command(
    solo_dir: Path, config_dir: Path, method: str, out_dir: Path, overrides: Sequence[str] = ()
) -> list[str]:
    """The ``main_pretrain.py`` command line for ``<config_dir>/<method>.yaml``."""
    return [
        sys.executable,
        str(solo_dir / "main_pretrain.py"),
        "--config-path",
        str(config_dir),
        "--config-name",
        f"{method}.yaml",
        f"checkpoint.dir={out_dir}",
        f"default_root_dir={out_dir}",
        *overrides,
    ]


def run(
    cmd: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, log: Path | None = None
) -> float:
    """Run ``cmd`` (output to the console, or to ``log``); raise on failure; return seconds."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    start = time.perf_counter()
    if log is None:
        proc = subprocess.run(list(cmd), cwd=cwd, env=env)
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as f:
            proc = subprocess.run(list(cmd), cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        where = f" (log: {log})" if log else ""
        raise RuntimeError(
            f"command failed with exit code {proc.returncode}{where}:\n" + shlex.join(cmd)
        )
    return time.perf_counter() - start
