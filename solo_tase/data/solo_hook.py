"""Absolute, resolved and checked data paths in a run's config: applied by the plugin's Hydra
callback when the run starts (``on_run_start``, before ``main_pretrain`` reads the config;
``job_config.py``)."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from solo_tase.data.identity import RECORDED_CHECKSUM, RECORDED_MANIFEST
from solo_tase.data.manifest import Manifest
from solo_tase.errors import ConfigError, InputError


def resolve_paths(config: DictConfig) -> None:
    """Resolve interpolations outside ``hydra`` and make data paths absolute.

    solo-learn saves the config unresolved into args.json; resolving here makes args.json (and
    thus ``solo-tase eval`` / ``zoo publish``) independent of the environment and working folder.
    """
    with open_dict(config):
        for key in list(config.keys()):
            if key == "hydra":
                continue
            node = config._get_node(key)
            if OmegaConf.is_config(node):
                OmegaConf.resolve(node)  # type: ignore[arg-type]
            else:
                config[key] = config[key]
        for key in ("train_path", "val_path"):
            value = OmegaConf.select(config, f"data.{key}")
            if isinstance(value, str) and value and "://" not in value:
                config.data[key] = os.path.abspath(os.path.expanduser(value))


# datasets that solo-learn reads through torchvision from a root it may download into
TORCHVISION_SETS = ("cifar10", "cifar100", "stl10")


def check_data_paths(config: DictConfig) -> Manifest | None:
    """Check the (absolute) image-folder paths of a run before solo-learn reads them.

    For ImageFolder data (not the torchvision sets, not ``data.long_tail``, not h5):
    ``data.train_path`` / ``data.val_path`` must exist and not be a dataset's root; a built
    ``train_path`` (a manifest in it or its parent, or the one ``data.manifest`` names) must match
    its manifest (:func:`~solo_tase.data.identity.verify_folder`), and so must a built
    ``val_path``. Records the manifest's absolute path as ``data.manifest`` and its
    ``index_checksum`` as ``data.manifest_checksum``, so that args.json names the images the run
    trained on. Returns the train folder's manifest, if any.

    Raises:
        InputError: a path is missing (the message names ``SOLO_TASE_DATA`` and the build
            command), is a dataset root, or does not match its manifest.
        ConfigError: ``data.manifest_checksum`` (from an earlier run's args.json) is not the
            manifest's.
    """
    from solo_tase.data.identity import (
        find_manifest,
        missing_path_message,
        refuse_dataset_root,
        verify_folder,
    )

    if OmegaConf.select(config, "data.long_tail") is not None:
        return None
    if OmegaConf.select(config, "data.dataset") in TORCHVISION_SETS:
        return None
    if OmegaConf.select(config, "data.format") == "h5":
        return None
    paths: dict[str, Path] = {}
    for key in ("train_path", "val_path"):
        value = OmegaConf.select(config, f"data.{key}")
        if not isinstance(value, str) or not value or "://" in value:
            continue
        path = paths[key] = Path(value)
        if not path.exists():
            raise InputError(missing_path_message(path, f"data.{key}"))
        if path.is_dir():
            refuse_dataset_root(path, f"data.{key}")
    if "val_path" in paths and find_manifest(paths["val_path"]) is not None:
        verify_folder(paths["val_path"], key="data.val_path")
    train = paths.get("train_path")
    if train is None or not train.is_dir():
        return None
    named = OmegaConf.select(config, f"data.{RECORDED_MANIFEST}")
    named_path = Path(named).expanduser() if isinstance(named, str) and named else None
    manifest_path = (
        named_path if named_path is not None and named_path.is_file() else find_manifest(train)
    )
    if manifest_path is None:
        return None
    manifest = verify_folder(train, manifest_path)
    recorded = OmegaConf.select(config, f"data.{RECORDED_CHECKSUM}")
    if recorded is not None and recorded != manifest.index_checksum:
        raise ConfigError(
            f"data.{RECORDED_CHECKSUM} is {recorded} but data.train_path {train} holds "
            f"{manifest.name} with checksum {manifest.index_checksum}: not the data of the "
            f"recorded run; restore that build, or remove data.{RECORDED_CHECKSUM} to train on "
            "this one"
        )
    with open_dict(config):
        config.data[RECORDED_MANIFEST] = str(manifest_path.absolute())
        config.data[RECORDED_CHECKSUM] = manifest.index_checksum
    return manifest
