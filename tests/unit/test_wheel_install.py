"""The wheel carries the Hydra configs: built from this checkout and installed (not editable) into a
fresh venv, ``solo-tase doctor`` and ``solo-tase configs`` find every config there.

The fresh venv gets only the wheel; torch, solo-learn's stack and the rest are the ones this test
runs with, seen through a ``.pth`` file written after the install (a plain path list: the editable
installs of this environment, solo-tase's included, are not activated there), so nothing is
downloaded and the wheel's own files are the only solo-tase the venv can import.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from solo_tase.config_folders import KINDS
from solo_tase.solo_compat import solo_available
from tests.helpers.paths import REPO

# What the build reads (the files an sdist holds); a copy keeps the checkout free of build/.
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "README.md",
    "solo_tase",
    "scripts/pretrain",
    "scripts/linear",
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("pip") is None, reason="needs pip to build and install the wheel"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("setuptools") is None,
        reason="needs setuptools to build the wheel without the network (--no-build-isolation)",
    ),
]


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _repo_configs(kind: str) -> dict[str, bytes]:
    """``<dataset>/<file>.yaml`` -> content, for the repository's ``scripts/<kind>``."""
    root = REPO / "scripts" / kind
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.yaml")}


def _outer_paths() -> list[str]:
    """This interpreter's import path without any folder holding a ``solo_tase`` package, and the
    solo-learn checkout ``solo`` is imported from (an editable install the venv would not see)."""
    paths = [p for p in sys.path if p and Path(p).is_dir() and not (Path(p) / "solo_tase").exists()]
    if solo_available():
        spec = importlib.util.find_spec("solo")
        assert spec is not None and spec.origin is not None
        paths.append(str(Path(spec.origin).resolve().parents[1]))
    return paths


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel built from this checkout, and the path of this test's
    packages through a ``.pth``."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run(
        [
            *pip,
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            "dist",
            str(src),
        ],
        tmp,
    )
    (wheel,) = (tmp / "dist").glob("solo_tase-*.whl")
    env = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(env)], tmp)
    python = env / "bin" / "python"
    _run(
        [*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)], tmp
    )
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp)
    (Path(site.strip()) / "outer_packages.pth").write_text("\n".join(_outer_paths()) + "\n")
    return env


def _solo_tase(venv: Path, *args: str) -> subprocess.CompletedProcess:
    """``solo-tase ARGS`` of the venv, run outside the checkout with no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(SOLO_TASE_DATA=str(venv.parent / "data"), OMP_NUM_THREADS="1")
    return subprocess.run(
        [str(venv / "bin" / "solo-tase"), *args],
        cwd=venv.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _installed_configs(venv: Path) -> Path:
    (root,) = venv.glob("lib/python*/site-packages/solo_tase/configs")
    return root


def test_the_doctor_of_the_installed_wheel_finds_every_config(venv: Path):
    proc = _solo_tase(venv, "doctor")
    found = ", ".join(
        f"{kind} {len(_repo_configs(kind))} files in "
        f"{len({Path(name).parts[0] for name in _repo_configs(kind)})} datasets"
        for kind in KINDS
    )
    line = next(line for line in proc.stdout.splitlines() if line[5:].startswith("configs "))
    assert line.startswith("OK   ") and f"{_installed_configs(venv)}: {found} (" in line, (
        proc.stdout
    )
    if solo_available():  # the same stack as here: the installed plugin registers its methods
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_configs_prints_installed_folders_holding_every_yaml_file(venv: Path):
    for kind in KINDS:
        proc = _solo_tase(venv, "configs", "--kind", kind)
        assert proc.returncode == 0, proc.stderr
        folders = [Path(line) for line in proc.stdout.splitlines()]
        assert folders and all(f.parent == _installed_configs(venv) / kind for f in folders)
        shipped = {
            str(p.relative_to(f.parent)): p.read_bytes() for f in folders for p in f.rglob("*.yaml")
        }
        assert shipped == _repo_configs(kind)
    one = _solo_tase(venv, "configs", "--dataset", "digits-lt")
    assert one.stdout == f"{_installed_configs(venv) / 'pretrain' / 'digits-lt'}\n", one.stderr
