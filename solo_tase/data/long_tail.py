"""In-place CIFAR-LT for solo-learn runs: the ``data.long_tail`` block of a pretrain config.

:func:`install_long_tail` (run by the plugin's Hydra callback) draws the subset once, writes its
manifest and puts :class:`LongTailCIFAR10` / :class:`LongTailCIFAR100` where solo-learn looks
up its CIFAR sets; the keys, and what the block records into args.json, are in docs/data.md.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
import torchvision.datasets
from omegaconf import DictConfig, OmegaConf, open_dict
from pydantic.dataclasses import dataclass

from solo_tase.data.cifar import CIFAR10, CIFAR100, CIFAR_SETS, load_cifar
from solo_tase.data.cifar_spec import CifarLTSpec, require_files
from solo_tase.data.manifest import Manifest
from solo_tase.data.selection import LongTailSelection
from solo_tase.data.writer import save_manifest_once
from solo_tase.settings import SETTINGS, ConfigError, Flag, doc, parse

PREFIX = "data.long_tail."
RECORDED = ("name", "num_samples")  # written back by install_long_tail; ignored when read


@dataclass(frozen=True, config=SETTINGS)
class LongTailBlock(CifarLTSpec):
    """The ``data.long_tail`` block: a :class:`CifarLTSpec` (``dataset`` is ``data.dataset``)
    plus how to apply it; a settings-kit record (:func:`parse` checks every key)."""

    download: Annotated[Flag, doc("torchvision may download CIFAR into data.train_path")] = True
    checksum: (
        Annotated[str, doc("if set: refuse to train unless the subset has this index checksum")]
        | None
    ) = None
    manifest: (
        Annotated[
            str,
            doc("manifest file path; unset: TRAIN_PATH/long_tail/NAME.json (NAME: the subset's)"),
        ]
        | None
    ) = None


def read_block(config: DictConfig) -> LongTailBlock:
    """Validate ``data.long_tail`` against ``data.dataset`` / ``data.format`` (``ConfigError``)."""
    node = OmegaConf.select(config, "data.long_tail")
    known = sorted(f.name for f in fields(LongTailBlock) if f.name != "dataset")
    if not OmegaConf.is_dict(node):
        raise ConfigError(f"data.long_tail must be a mapping with keys {known} (got {node!r})")
    raw: dict[str, Any] = OmegaConf.to_container(node, resolve=True)  # type: ignore[assignment]
    unknown = sorted(set(raw) - set(known) - set(RECORDED))
    if unknown:
        raise ConfigError(
            f"unknown keys {[PREFIX + k for k in unknown]}; known keys: {known} "
            "(the dataset itself is data.dataset)"
        )
    dataset = OmegaConf.select(config, "data.dataset")
    if dataset not in CIFAR_SETS:
        raise ConfigError(
            f"data.long_tail applies in place only to data.dataset cifar10 or cifar100 (got "
            f"{dataset!r}); for image lists or ImageFolders build the set with `solo-tase data "
            "build ...` and point data.train_path at its train/ folder, without data.long_tail"
        )
    if OmegaConf.select(config, "data.format") == "dali":
        raise ConfigError(
            "data.long_tail cannot restrict DALI loaders (data.format: dali): use "
            "data.format: image_folder, or a set built with `solo-tase data build`"
        )
    fraction = OmegaConf.select(config, "data.fraction", default=-1.0)
    if fraction is not None and float(fraction) > 0:
        raise ConfigError(
            f"data.fraction={fraction} cannot be combined with data.long_tail "
            "(the long-tailed profile already chooses the images): remove it"
        )
    given = {k: v for k, v in raw.items() if k not in RECORDED and v is not None}
    block = parse(LongTailBlock, {**given, "dataset": dataset}, PREFIX)
    require_files(block, PREFIX)
    return block


def default_manifest_path(train_path: str | Path, name: str) -> Path:
    """``<train_path>/long_tail/<name>.json``: beside the CIFAR files, one per subset."""
    return Path(train_path) / "long_tail" / f"{name}.json"


def restrict(dataset: Any, selection: LongTailSelection) -> None:
    """Keep only ``selection`` of a torchvision CIFAR train set (``data`` [N,32,32,3], ``targets``).

    Raises:
        ConfigError: the set is not the one the selection was drawn from (size or labels differ).
    """
    labels = np.asarray(dataset.targets, dtype=np.int64)
    same = labels.size == selection.source_size and np.array_equal(
        labels[selection.positions], selection.labels
    )
    if not same:
        raise ConfigError(
            f"the CIFAR train set at {dataset.root} ({labels.size} images) is not the one "
            f"data.long_tail was drawn from (data.train_path, {selection.source_size} images): "
            "read every CIFAR train set of the run from data.train_path"
        )
    dataset.data = dataset.data[selection.positions]
    dataset.targets = selection.labels.tolist()


class _LongTail:
    """Mixin for torchvision CIFAR classes: ``train=True`` sets keep only ``selection``."""

    selection: ClassVar[LongTailSelection | None] = None

    def __init__(
        self,
        root: str | Path,
        train: bool = True,
        transform: Any = None,
        target_transform: Any = None,
        download: bool = False,
    ) -> None:
        super().__init__(
            root,
            train=train,
            transform=transform,  # type: ignore[call-arg]
            target_transform=target_transform,
            download=download,
        )
        if train and self.selection is not None:
            restrict(self, self.selection)


class LongTailCIFAR10(_LongTail, CIFAR10):
    """torchvision's CIFAR10 whose train set is the installed long-tailed subset."""


class LongTailCIFAR100(_LongTail, CIFAR100):
    """torchvision's CIFAR100 whose train set is the installed long-tailed subset."""


LONG_TAIL_CLASSES: dict[str, type[_LongTail]] = {
    "cifar10": LongTailCIFAR10,
    "cifar100": LongTailCIFAR100,
}


def install_long_tail(config: DictConfig) -> Manifest:
    """Draw ``data.long_tail``'s subset, write its manifest, restrict solo-learn's CIFAR train set.

    Idempotent within a process. Records ``name``, ``num_samples``, ``checksum``, ``manifest``
    and absolute file paths into ``config.data.long_tail``.

    Raises:
        ConfigError: a bad key or value, or a ``checksum`` other than the subset's.
        FileNotFoundError: CIFAR or a split file is missing.
        FileExistsError: the manifest path holds another subset's manifest.
    """
    block = read_block(config)
    train_path = OmegaConf.select(config, "data.train_path")
    if not train_path:
        raise ConfigError(
            "data.long_tail needs data.train_path: the torchvision root that holds "
            f"(or will hold) {CIFAR_SETS[block.dataset].base_folder}/"
        )
    arrays = load_cifar(block.dataset, train_path, train=True, download=block.download)
    selection = block.select(arrays.labels, PREFIX)
    manifest = block.manifest_for(selection, arrays.classes)
    if block.checksum is not None and block.checksum != manifest.index_checksum:
        raise ConfigError(
            f"data.long_tail.checksum is {block.checksum} but this config selects "
            f"{manifest.name} with checksum {manifest.index_checksum}: the split files, profile "
            "or CIFAR copy differ from the run that recorded it; restore them, or remove "
            "data.long_tail.checksum to train on the new subset"
        )
    path = Path(block.manifest or default_manifest_path(train_path, manifest.name)).absolute()
    try:
        save_manifest_once(manifest, path)
    except PermissionError as err:
        raise PermissionError(
            f"cannot write the manifest ({err}): set data.long_tail.manifest "
            "to a writable file path"
        ) from None

    cls = LONG_TAIL_CLASSES[block.dataset]
    cls.selection = selection
    setattr(torchvision.datasets, CIFAR_SETS[block.dataset].__name__, cls)

    with open_dict(config):
        node = config.data.long_tail
        for key in ("split_file", "pool_file", "exclude_file"):
            if getattr(block, key) is not None:
                node[key] = str(Path(getattr(block, key)).absolute())
        node.name = manifest.name
        node.num_samples = manifest.num_samples
        node.checksum = manifest.index_checksum
        node.manifest = str(path)
    return manifest
