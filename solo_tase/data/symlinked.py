"""Materialised long-tailed sets of image files: ImageFolders of symlinks to the user's images.

``out/train/<label, zero-padded>_<class>/<file name>`` links to each selected image, so
solo-learn's ``image_folder`` and DALI loaders read the set with no hook, labels follow the
source's label order, and no image is copied. Two sources:

* a text list (ImageNet-LT, ImageNet-100-LT, Places-LT, their balanced / few-shot lists), taken
  as is; an optional second list (val or test) goes to ``out/val`` with the train list's classes;
* any ImageFolder, made long-tailed with the exponential profile (class 0 in sorted class-folder
  order is the head).

The manifest checksum covers the source-relative paths in the built folder's sample order
(class by class, file names sorted), which is the order of the dataset's sample indexes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from solo_tase.data.image_lists import ImageList, read_image_list, scan_image_folder
from solo_tase.data.image_set_specs import FolderLTSpec, ImageListSpec
from solo_tase.data.manifest import Manifest, checksum_items
from solo_tase.data.selection import profile_selection
from solo_tase.data.writer import class_dir_names, materialize, write_symlink_split
from solo_tase.errors import InputError


@dataclass(frozen=True)
class LinkPlan:
    """Symlinks ``(class dir, file name, target)`` [N] of one split, in sample order, and the
    source-relative path of each (what the checksum covers)."""

    links: list[tuple[str, str, Path]]
    items: list[str]


def plan_links(images: ImageList, positions: np.ndarray | None = None) -> LinkPlan:
    """Links for ``images`` (or the entries at ``positions``), sorted as ImageFolder reads them.

    Raises:
        InputError: two files of one class share a file name (their links would collide).
    """
    idx = np.arange(len(images.paths)) if positions is None else np.asarray(positions)
    dirs = class_dir_names(images.class_names)
    rows = sorted(
        (int(images.labels[i]), PurePosixPath(images.paths[i]).name, images.paths[i])
        for i in idx.tolist()
    )
    clashes = [k for k, n in Counter((label, name) for label, name, _ in rows).items() if n > 1]
    if clashes:
        label, name = clashes[0]
        raise InputError(
            f"{len(clashes)} file name(s) occur twice in one class (first: {name!r} "
            f"in class {images.class_names[label]!r}): the flat class folders of "
            "the built ImageFolder need unique names per class"
        )
    return LinkPlan(
        links=[(dirs[label], name, images.root / path) for label, name, path in rows],
        items=[path for _, _, path in rows],
    )


def build_list_dataset(
    out: str | Path, spec: ImageListSpec, *, replace: bool = False, command: str | None = None
) -> Manifest:
    """Materialise ``spec``'s training list (and val list) under ``out`` as symlinked
    ImageFolders. Groups default to ImageNet-LT's thresholds (> 100, 20-100, < 20 images)."""
    train = read_image_list(spec.train_list, spec.root)
    train_plan = plan_links(train)
    splits = {"train": "train"}
    extra: dict[str, object] = {"root": str(train.root), "splits": splits}
    val_plan = None
    if spec.val_list is not None:
        val = read_image_list(spec.val_list, spec.root, train.class_names)
        val_plan = plan_links(val)
        splits["val"] = "val"
        extra.update(
            val_list=spec.val_list.name,
            val_checksum=checksum_items(val_plan.items),
            val_counts=val.counts,
        )
    manifest = Manifest.build(
        name=spec.dataset_name,
        source=f"image list {spec.train_list.name}",
        class_names=train.class_names,
        counts=train.counts,
        items=train_plan.items,
        group_rule=spec.groups,
        profile={"type": "list", "list_file": spec.train_list.name},
        extra=extra,
    )

    def fill(tmp: Path) -> None:
        write_symlink_split(tmp / "train", train_plan.links)
        if val_plan is not None:
            write_symlink_split(tmp / "val", val_plan.links)

    materialize(Path(out), manifest, fill, replace=replace, command=command)
    return manifest


def build_folder_lt(
    out: str | Path,
    spec: FolderLTSpec,
    *,
    replace: bool = False,
    where: str = "",
    command: str | None = None,
) -> Manifest:
    """Draw the exponential profile from the ImageFolder ``spec.root`` into ``out/train``
    (symlinks); errors name the spec's keys after ``where`` (``--``)."""
    images = scan_image_folder(spec.root)
    selection = profile_selection(
        images.labels,
        len(images.class_names),
        ratio=spec.ratio,
        seed=spec.seed,
        n_max=spec.n_max,
        where=where,
    )
    plan = plan_links(images, selection.positions)
    manifest = Manifest.build(
        name=spec.name,
        source=f"ImageFolder {images.root.name}",
        class_names=images.class_names,
        counts=selection.counts,
        items=plan.items,
        group_rule=spec.groups,
        profile={
            "type": "exponential",
            "ratio": spec.ratio,
            "n_max": selection.counts[0],
            "class_order": "sorted class folders: class 0 (head) .. C-1 (tail)",
        },
        seed=spec.seed,
        extra={"root": str(images.root), "splits": {"train": "train"}},
    )
    materialize(
        Path(out),
        manifest,
        lambda tmp: write_symlink_split(tmp / "train", plan.links),
        replace=replace,
        command=command,
    )
    return manifest
