"""Where the Hydra configs for solo-learn's ``main_pretrain.py`` / ``main_linear.py`` are:
``<root>/<kind>/<dataset>/*.yaml`` with ``kind`` one of ``KINDS``.

``<root>`` is ``solo_tase/configs/`` of an installed package (``setup.py`` ships the repository's
``scripts/pretrain`` and ``scripts/linear`` there), else ``scripts/`` of the source checkout.
``solo-tase configs`` prints these folders for ``--config-path``.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from solo_tase.errors import InputError
from solo_tase.source_tree import source_tree

KINDS = ("pretrain", "linear")
REINSTALL = "reinstall solo-tase (pip install --force-reinstall --no-deps <its wheel or checkout>)"


def configs_root() -> Path:
    """The folder holding ``pretrain/`` and ``linear/``: the installed package's ``configs/``,
    else the source checkout's ``scripts/``."""
    packaged = importlib.resources.files("solo_tase") / "configs"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    tree = source_tree()
    if tree is not None and (tree / "scripts" / KINDS[0]).is_dir():
        return tree / "scripts"
    raise FileNotFoundError(
        f"solo-tase's Hydra configs were not found: {packaged} (an installed package) is not a "
        f"folder and the package does not run from a source checkout holding scripts/: {REINSTALL}"
    )


def config_datasets(kind: str) -> list[str]:
    """The datasets with ``kind`` configs: the folders of ``<root>/<kind>`` holding YAML files."""
    folder = configs_root() / _checked_kind(kind)
    if not folder.is_dir():
        return []
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and any(d.glob("*.yaml")))


def config_files(kind: str) -> list[Path]:
    """Every ``kind`` config, augmentation groups included (``<root>/<kind>/**/*.yaml``)."""
    return sorted((configs_root() / _checked_kind(kind)).rglob("*.yaml"))


def config_folder(kind: str, dataset: str) -> Path:
    """``<root>/<kind>/<dataset>``, the ``--config-path`` of that dataset's configs."""
    choices = config_datasets(kind)
    if dataset not in choices:
        raise InputError(
            f"no {kind} configs for dataset {dataset!r} in {configs_root() / kind}: "
            f"choose one of {', '.join(choices) or '(none)'}"
        )
    return configs_root() / kind / dataset


def _checked_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InputError(f"config kind {kind!r} is not one of {', '.join(KINDS)}")
    return kind
