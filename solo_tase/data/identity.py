"""A built folder's identity against its manifest: the class folders, the image files per class
and a checksum of their names, compared before a build is reused, a run starts or a set is
inspected (docs/data.md, "What is checked").

The file checksum covers names only (``<class dir>/<file name>``, sorted), never file contents:
listing 60,000 files takes well under a second. ``materialize`` records each built split's
identity in the manifest (``extra["folders"]``); manifests written before that are compared by
classes and, for the train split, per-class counts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solo_tase.data.manifest import MANIFEST_NAME, Manifest, checksum_items
from solo_tase.errors import InputError

# sub-folders that make a folder a dataset's root rather than one of its image folders
SPLIT_NAMES = ("train", "val", "probe", "test")
FOLDERS_KEY = "folders"  # manifest.extra[FOLDERS_KEY][split dir] = FolderIdentity.record()
COMMAND_KEY = "build_command"  # manifest.extra[COMMAND_KEY]: the `solo-tase data build` line
# what a run on a built folder records under ``data`` (and so in args.json): the manifest's path
# and its index_checksum; the run's start writes them, eval and zoo publish read them
RECORDED_MANIFEST, RECORDED_CHECKSUM = "manifest", "manifest_checksum"


@dataclass(frozen=True)
class FolderIdentity:
    """An ImageFolder as solo-learn reads it: class folder names [C] (sorted), image files per
    class [C], and the SHA-256 of the sorted ``<class dir>/<file>`` names."""

    classes: list[str]
    counts: list[int]
    checksum: str

    @property
    def num_images(self) -> int:
        return int(sum(self.counts))

    def record(self) -> dict[str, Any]:
        """What a manifest keeps of it (``extra["folders"][split]``)."""
        return {"classes": self.classes, "counts": self.counts, "files_checksum": self.checksum}


def _image_extensions() -> tuple[str, ...]:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return tuple(IMG_EXTENSIONS)


def folder_identity(folder: Path) -> FolderIdentity:
    """The identity of the ImageFolder ``folder``: the files torchvision's ImageFolder would read
    (image extensions; a symlink counts when its target exists), names only, no contents."""
    folder = Path(folder)
    extensions = _image_extensions()
    classes = sorted(e.name for e in os.scandir(folder) if e.is_dir() and _visible(e.name))
    counts: list[int] = []
    names: list[str] = []
    for name in classes:
        files = sorted(
            e.name
            for e in os.scandir(folder / name)
            if e.name.lower().endswith(extensions) and e.is_file()
        )
        counts.append(len(files))
        names.extend(f"{name}/{f}" for f in files)
    return FolderIdentity(classes=classes, counts=counts, checksum=checksum_items(names))


def _visible(name: str) -> bool:
    return not name.startswith(".")


def find_manifest(train_path: str | Path) -> Path | None:
    """The ``manifest.json`` of the built folder ``train_path``: in it, else in its parent (a
    build keeps it beside ``train/``); ``None`` for a folder that was not built."""
    folder = Path(train_path).expanduser()
    for path in (folder / MANIFEST_NAME, folder.parent / MANIFEST_NAME):
        if path.is_file():
            return path
    return None


def split_folders(folder: Path) -> list[str]:
    """The names in :data:`SPLIT_NAMES` that are sub-folders of ``folder``."""
    return [name for name in SPLIT_NAMES if (Path(folder) / name).is_dir()]


def refuse_dataset_root(folder: str | Path, key: str = "data.train_path") -> None:
    """Raise ``InputError`` when ``folder`` is a dataset's root: it holds ``train/`` with another
    split folder, or a manifest with split folders (a root read as an ImageFolder would make its
    splits the classes)."""
    folder = Path(folder)
    splits = split_folders(folder)
    if ("train" in splits and len(splits) > 1) or (splits and (folder / MANIFEST_NAME).is_file()):
        use = folder / ("train" if "train" in splits else splits[0])
        held = ", ".join(f"{s}/" for s in splits)
        raise InputError(
            f"{key} {folder} is a dataset's root folder (it holds {held}), not one of its image "
            f"folders: use {key}={use}"
        )


def rebuild_hint(manifest: Manifest, root: Path) -> str:
    """The command that rebuilds the dataset at ``root``: the recorded build command with
    ``--replace``, else the generic form."""
    command = manifest.extra.get(COMMAND_KEY)
    if isinstance(command, str) and command:
        return f"rebuild it with `{command} --replace`"
    return (
        f"rebuild it with `solo-tase data build SOURCE --out {root} --replace` and the options it "
        "was built with"
    )


def _split_of(folder: Path, manifest_path: Path, manifest: Manifest) -> str:
    """The split directory name ``folder`` is in its build (``train`` when the manifest sits in
    the folder itself)."""
    if folder.resolve() == manifest_path.parent.resolve():
        return "train"
    return folder.name


def _expected(manifest: Manifest, split: str) -> tuple[list[str], list[int] | None, str | None]:
    """Class dirs [C], counts [C] (or None) and file checksum (or None) the manifest gives for
    the split directory ``split``."""
    from solo_tase.data.writer import class_dir_names

    recorded = manifest.extra.get(FOLDERS_KEY, {}).get(split)
    if isinstance(recorded, dict):
        return (
            list(recorded["classes"]),
            list(recorded["counts"]),
            recorded.get("files_checksum"),
        )
    splits = manifest.extra.get("splits", {"train": "train"})
    counts = manifest.counts if split == splits.get("train", "train") else None
    return class_dir_names(manifest.class_names), counts, None


def verify_folder(
    folder: str | Path, manifest_path: Path | None = None, *, key: str = "data.train_path"
) -> Manifest:
    """Check that the built ImageFolder ``folder`` holds what its manifest (``manifest_path``,
    else :func:`find_manifest`) says: not a dataset root, the manifest's classes, and, where the
    manifest records them, the per-class image counts and the checksum of the file names.
    ``key`` names the setting in the messages. Returns the manifest.

    Raises:
        InputError: one line: what differs, and the path to use or the command that rebuilds it.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputError(f"{key} {folder} is not a folder")
    refuse_dataset_root(folder, key)
    path = Path(manifest_path) if manifest_path is not None else find_manifest(folder)
    if path is None:
        raise InputError(
            f"{key} {folder} has no {MANIFEST_NAME} (in it or its parent): build the dataset "
            "with `solo-tase data build ...` and use its train/ folder"
        )
    manifest = Manifest.load(path)
    difference = folder_difference(folder, path, manifest)
    if difference is not None:
        raise InputError(f"{key} {folder} {difference}; {rebuild_hint(manifest, path.parent)}")
    return manifest


def folder_difference(folder: Path, manifest_path: Path, manifest: Manifest) -> str | None:
    """How the split folder ``folder`` differs from ``manifest`` (read from ``manifest_path``),
    as the end of a sentence naming the folder; ``None`` when it matches."""
    split = _split_of(folder, manifest_path, manifest)
    classes, counts, checksum = _expected(manifest, split)
    found = folder_identity(folder)
    if found.classes != classes:
        missing = [c for c in classes if c not in found.classes]
        extra = [c for c in found.classes if c not in classes]
        what = (
            f"lacks the class folders {_first(missing)}"
            if missing
            else f"holds class folders its manifest does not list: {_first(extra)}"
            if extra
            else "has its class folders in another order"
        )
        return f"{what} (manifest {manifest_path}: {len(classes)} classes)"
    if counts is not None:
        for name, have, want in zip(classes, found.counts, counts):
            if have != want:
                return (
                    f"does not match its manifest: class {name!r} has {have} images, the "
                    f"manifest {manifest_path} says {want} ({found.num_images} images in all, "
                    f"{sum(counts)} listed)"
                )
    if checksum is not None and found.checksum != checksum:
        return (
            f"does not match its manifest: its file names differ from those {manifest_path} "
            f"recorded (same counts; files_checksum {found.checksum[:12]}, recorded "
            f"{checksum[:12]})"
        )
    return None


def build_difference(out: Path, manifest: Manifest) -> str | None:
    """How the build ``out`` differs from its ``manifest`` (every split folder it records; for
    older manifests, the train split), as a sentence; ``None`` when it matches."""
    out = Path(out)
    recorded = manifest.extra.get(FOLDERS_KEY)
    splits = (
        list(recorded)
        if isinstance(recorded, dict)
        else [manifest.extra.get("splits", {}).get("train", "train")]
    )
    for split in splits:
        folder = out / split
        if not folder.is_dir():
            return f"{folder} is missing"
        difference = folder_difference(folder, out / MANIFEST_NAME, manifest)
        if difference is not None:
            return f"{folder} {difference}"
    return None


def record_folders(root: Path, manifest: Manifest) -> None:
    """Add the identity of every split folder under the new build ``root`` to ``manifest.extra``
    (in place, before it is saved)."""
    manifest.extra[FOLDERS_KEY] = {
        e.name: folder_identity(Path(e.path)).record()
        for e in sorted(os.scandir(root), key=lambda e: e.name)
        if e.is_dir() and _visible(e.name)
    }


def missing_path_message(path: Path, key: str = "data.train_path") -> str:
    """One line for a data path that does not exist: the path, ``SOLO_TASE_DATA`` and the
    ``solo-tase data build`` command that writes it."""
    from solo_tase.cli.data import source_names

    path = Path(path)
    dataset = path.parent if path.name in SPLIT_NAMES else path
    env = os.environ.get("SOLO_TASE_DATA")
    data_root = (
        f"SOLO_TASE_DATA is {env}"
        if env
        else "SOLO_TASE_DATA is unset, so the configs read ./datasets of the folder the run "
        "starts in"
    )
    if dataset.name in source_names():
        build = f"`solo-tase data build {dataset.name} --out {dataset}`"
    else:
        build = f"`solo-tase data build SOURCE --out {dataset}` (`solo-tase data build --help`)"
    return (
        f"{key} {path} does not exist ({data_root}): build the dataset with {build}, or set "
        f"SOLO_TASE_DATA (or {key}) to where it was built"
    )


def _first(items: list[str], n: int = 5) -> str:
    return ", ".join(repr(i) for i in items[:n]) + (" ..." if len(items) > n else "")
