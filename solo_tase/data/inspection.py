"""What ``data inspect`` shows of a dataset: its manifest (or one made from a bare ImageFolder's
class counts), checked against the built train folder, and the table of per-class counts with
their Many/Medium/Few groups."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.table import Table

from solo_tase.data.manifest import MANIFEST_NAME, Manifest
from solo_tase.data.profiles import GROUPS
from solo_tase.errors import ConfigError
from solo_tase.settings import key_name


def load_or_scan(path: Path, group_rule: str | None, where: str = "") -> Manifest:
    """The manifest at ``path`` (folder or file), or one made from an ImageFolder's counts with
    ``group_rule`` (default ``thirds``); a manifest brings its own groups, so ``group_rule`` (named
    after ``where``, ``--``) must then be unset."""
    if path.is_file() or (path / MANIFEST_NAME).is_file():
        if group_rule is not None:
            groups = key_name(where, "groups")
            raise ConfigError(f"{path} has a manifest with its own groups: drop {groups}")
        return Manifest.load(path)
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path} is neither a dataset folder, a manifest file nor an ImageFolder"
        )
    from solo_tase.data.image_lists import scan_image_folder

    images = scan_image_folder(path)
    return Manifest.build(
        name=images.root.name,
        source=f"ImageFolder {images.root}",
        class_names=images.class_names,
        counts=images.counts,
        items=images.paths,
        group_rule=group_rule or "thirds",
    )


def against_folder(path: Path, manifest: Manifest) -> tuple[Manifest, str | None]:
    """``manifest`` (read from ``path``, a build folder or its manifest file) with the per-class
    counts of the build's train folder, and how that folder differs from the manifest (``None``
    when it matches, or when ``path`` is not a build with a train folder)."""
    from solo_tase.data.identity import folder_difference, folder_identity

    root = path.parent if path.is_file() else path
    train = root / manifest.extra.get("splits", {}).get("train", "train")
    if not (root / MANIFEST_NAME).is_file() or not train.is_dir():
        return manifest, None
    difference = folder_difference(train, root / MANIFEST_NAME, manifest)
    if difference is None:
        return manifest, None
    found = folder_identity(train)
    if len(found.counts) == manifest.num_classes:
        manifest = dataclasses.replace(manifest, counts=found.counts)
    return manifest, f"{train} {difference}"


def histogram_tables(manifest: Manifest) -> tuple[Table, Table]:
    """Rich tables: per-class counts and groups (with a bar), then images and classes per group."""
    table = Table(
        title=f"{manifest.name}: {manifest.num_samples:,} images, "
        f"{manifest.num_classes} classes ({manifest.group_rule})"
    )
    for col in ("label", "class", "count", "group", ""):
        table.add_column(col)
    top = max(manifest.counts)
    for i, (name, count, group) in enumerate(
        zip(manifest.class_names, manifest.counts, manifest.groups)
    ):
        table.add_row(str(i), name, str(count), group, "#" * max(1, round(30 * count / top)))
    summary = Table(title="groups")
    for col in ("group", "classes", "images", "min", "max"):
        summary.add_column(col)
    for group in GROUPS:
        counts = [c for c, g in zip(manifest.counts, manifest.groups) if g == group]
        if counts:
            summary.add_row(
                group, str(len(counts)), f"{sum(counts):,}", str(min(counts)), str(max(counts))
            )
    return table, summary
