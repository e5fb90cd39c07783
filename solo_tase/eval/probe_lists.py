"""Probe lists of SDCLR's ImageNet-100 protocol: the full-shot list built from the train folder
when ``ImageNet_100_train.txt`` is not at hand, and the check that a probe list leaves the held-out
images out.

SDCLR's probe trains on ``split/imagenet-100/ImageNet_100_train.txt`` and picks its epoch on
``ImageNet_100_val.txt``, 2,000 images of ImageNet's ``train/`` folder: a list of every train
image of the 100 classes would hold them, so :func:`train_folder_list` leaves them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torchvision.datasets.folder import IMG_EXTENSIONS

from solo_tase.data.image_lists import parse_image_list
from solo_tase.errors import InputError
from solo_tase.utils.atomic import write_text_atomically


def check_disjoint_lists(probe_list: Path, held_out_list: Path) -> None:
    """``InputError`` unless the two ``relative/path label`` lists share no image."""
    shared = sorted(set(parse_image_list(probe_list)[0]) & set(parse_image_list(held_out_list)[0]))
    if shared:
        raise InputError(
            f"probe list {probe_list} holds {len(shared)} images of the held-out list "
            f"{held_out_list} that picks the probe epoch (e.g. {shared[0]}): leave them out (pass "
            "the train folder instead, and the list is built without them)"
        )


def train_folder_list(
    train_dir: Path, root: Path, classes_list: Path, held_out_list: Path
) -> list[str]:
    """Lines ``relative/path label``: every image in ``train_dir/<class>/`` for the classes of
    ``classes_list`` (the folder names of its paths, with its labels), paths relative to ``root``,
    less the images of ``held_out_list``."""
    train_dir, root = train_dir.expanduser().resolve(), root.expanduser().resolve()
    if not train_dir.is_relative_to(root):
        raise InputError(
            f"--imagenet100-train-list {train_dir} is not inside the image root {root}: pass "
            f"the train folder under it (e.g. {root / 'train'})"
        )
    paths, labels = parse_image_list(classes_list)
    label_of = {Path(p).parent.name: label for p, label in zip(paths, labels)}
    held_out = set(parse_image_list(held_out_list)[0])
    lines = []
    for name, label in sorted(label_of.items(), key=lambda item: item[1]):
        folder = train_dir / name
        if not folder.is_dir():
            raise InputError(
                f"--imagenet100-train-list {train_dir} has no folder {name} (class {label} of "
                f"{classes_list}): pass ImageNet's train folder"
            )
        found = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMG_EXTENSIONS)
        relative = (f.relative_to(root).as_posix() for f in found)
        lines += [f"{p} {label}" for p in relative if p not in held_out]
    return lines


def write_list(lines: Sequence[str], out: Path) -> Path:
    """Write the list ``out`` (atomically); an existing file with other lines is refused."""
    text = "\n".join(lines) + "\n"
    if out.exists() and out.read_text() != text:
        raise FileExistsError(
            f"{out} already exists with other lines and is never overwritten: remove it, or "
            "choose another --out"
        )
    if not out.exists():
        write_text_atomically(out, text)
    return out
