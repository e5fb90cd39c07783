"""Atomic, non-destructive writing of dataset folders.

A dataset is built in a hidden temporary sibling folder and renamed into place only when complete,
so a failure never leaves a partial dataset. An existing folder is reused when its manifest has the
same checksum and its folders still match that manifest, and is never overwritten unless
``replace=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from solo_tase.data.identity import COMMAND_KEY, build_difference, record_folders
from solo_tase.data.manifest import MANIFEST_NAME, Manifest
from solo_tase.errors import InputError
from solo_tase.utils.atomic import build_folder_atomically, write_file_atomically


def materialize(
    out: Path,
    manifest: Manifest,
    fill: Callable[[Path], None],
    *,
    replace: bool = False,
    command: str | None = None,
) -> Path:
    """Create ``out`` by calling ``fill(tmp_dir)`` and saving ``manifest`` there, atomically.

    The manifest records the identity of every split folder written (``extra["folders"]``,
    :mod:`solo_tase.data.identity`) and ``command``, the ``solo-tase data build`` line that
    rebuilds it (``extra["build_command"]``), if given; both are added to ``manifest`` in place.
    Returns ``out``. If ``out`` already holds this exact dataset (same name and checksum, its
    folders as the manifest records them), nothing is written. If it holds anything else, or
    this dataset with images missing, added or renamed, raises ``FileExistsError`` /
    ``InputError`` unless ``replace`` is set (which rebuilds the whole folder).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(
            f"{out} is a file, not a dataset folder: choose another output folder"
        )
    if out.exists() and any(out.iterdir()):
        existing = _existing_manifest(out / MANIFEST_NAME)
        if existing is not None and _same_dataset(existing, manifest):
            difference = build_difference(out, existing)
            if difference is None:
                return out
            if not replace:
                raise InputError(
                    f"{out} holds this dataset, but {difference}: pass --replace "
                    "(replace=True) to rebuild the whole folder"
                )
        elif not replace:
            what = (
                f"a different dataset ({existing.name}, checksum {existing.index_checksum[:12]})"
                if existing
                else "files that are not a solo-tase dataset"
            )
            raise FileExistsError(
                f"{out} already holds {what}; choose another output folder or pass --replace "
                "(replace=True) to overwrite it"
            )

    def fill_with_manifest(tmp: Path) -> None:
        fill(tmp)
        record_folders(tmp, manifest)
        if command:
            manifest.extra[COMMAND_KEY] = command
        manifest.save(tmp / MANIFEST_NAME)

    return build_folder_atomically(out, fill_with_manifest)


def _existing_manifest(path: Path) -> Manifest | None:
    try:
        return Manifest.load(path)
    except (FileNotFoundError, ValueError, TypeError):
        return None


def _same_dataset(existing: Manifest | None, manifest: Manifest) -> bool:
    return (
        existing is not None
        and existing.index_checksum == manifest.index_checksum
        and existing.name == manifest.name
    )


def save_manifest_once(manifest: Manifest, path: Path) -> Path:
    """Write ``manifest`` to the file ``path`` atomically, unless it already holds it.

    A file there with the same name and checksum is kept as is (so concurrent DDP ranks and
    re-runs agree); anything else raises ``FileExistsError``.
    """
    path = Path(path)
    if path.exists():
        existing = _existing_manifest(path)
        if _same_dataset(existing, manifest):
            return path
        what = (
            f"the manifest of other data ({existing.name}, checksum {existing.index_checksum[:12]})"
            if existing
            else "a file that is not a manifest"
        )
        raise FileExistsError(
            f"{path} already holds {what}: choose another manifest path or remove that file"
        )
    return write_file_atomically(path, manifest.save)


def class_dir_names(class_names: Sequence[str]) -> list[str]:
    """Folder name per class whose lexicographic order is the label order (ImageFolder sorts)."""
    width = len(str(len(class_names) - 1))
    return [
        f"{i:0{width}d}_{name}" if name != str(i) else f"{i:0{width}d}"
        for i, name in enumerate(class_names)
    ]


def write_png_split(
    root: Path,
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    ids: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
) -> None:
    """Write uint8 images [N, H, W, 3] as ``root/<class dir>/<id>.png`` (ImageFolder layout)."""
    dirs = class_dir_names(class_names)
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for img, label, i in zip(images, labels, ids):
        Image.fromarray(img).save(root / dirs[int(label)] / f"{int(i):06d}.png")


def write_symlink_split(root: Path, links: Iterable[tuple[str, str, Path]]) -> None:
    """Create ``root/<class dir>/<name>`` -> absolute ``target`` for each ``(class dir, name,
    target)`` (ImageFolder layout; solo-learn's ImageFolder and DALI readers follow the links)."""
    for class_dir, name, target in links:
        folder = root / class_dir
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).symlink_to(Path(target).resolve())
