"""Text lists and ImageFolders: checks, and the symlinked ImageFolders built from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from torchvision.datasets import ImageFolder

from solo_tase.data.image_lists import read_image_list, scan_image_folder
from solo_tase.data.image_set_specs import FolderLTSpec, ImageListSpec
from solo_tase.data.manifest import Manifest, checksum_items
from solo_tase.data.symlinked import build_folder_lt, build_list_dataset
from tests.helpers.images import png

COUNTS = {"dog": 5, "cat": 3, "eel": 1}  # label order: dog 0, cat 1, eel 2


@pytest.fixture()
def image_root(tmp_path: Path) -> Path:
    """``root/train/<class>/<i>.png`` and ``root/val/<class>/v<i>.png``, plus list files."""
    root = tmp_path / "images"
    train, val = [], []
    for label, (name, n) in enumerate(COUNTS.items()):
        for i in range(n):
            png(root / "train" / name / f"{i}.png", 10 * label + i)
            train.append(f"train/{name}/{i}.png {label}")
        png(root / "val" / name / "v0.png", 100 + label)
        val.append(f"val/{name}/v0.png {label}")
    (tmp_path / "train.txt").write_text("\n".join(reversed(train)) + "\n")
    (tmp_path / "val.txt").write_text("\n".join(val) + "\n")
    return root


def test_read_list_counts_and_class_names(image_root: Path):
    images = read_image_list(image_root.parent / "train.txt", image_root)
    assert images.class_names == ["dog", "cat", "eel"] and images.counts == [5, 3, 1]
    val = read_image_list(image_root.parent / "val.txt", image_root, images.class_names)
    assert val.counts == [1, 1, 1]


@pytest.mark.parametrize(
    "lines, error, message",
    [
        (["train/dog/0.png"], ValueError, r"train.txt:1: expected 'relative/path label'"),
        (
            ["train/dog/0.png 0", "train/cat/0.png -1"],
            ValueError,
            "train.txt:2: labels must be >= 0",
        ),
        (["/abs/dog.png 0"], ValueError, "must be relative to the image root"),
        (["../images/train/dog/0.png 0"], ValueError, "stay inside it"),
        (
            ["train/dog/0.png 0", "train/dog/0.png 0"],
            ValueError,
            r"lists 1 path\(s\) more than once",
        ),
        (["train/dog/0.png 0", "train/dog/notes.txt 0"], ValueError, "not images that torchvision"),
        (["train/dog/0.png 0", "train/eel/0.png 2"], ValueError, r"no images of label\(s\) 1"),
        (
            [f"train/dog/x{i}.png 0" for i in range(7)] + ["train/dog/0.png 0"],
            FileNotFoundError,
            r"7 of the 8 files listed in .* do not exist under .* \(first: train/dog/x0.png, "
            r"train/dog/x1.png, train/dog/x2.png, train/dog/x3.png, train/dog/x4.png \.\.\.\)",
        ),
        ([], ValueError, "lists no images"),
    ],
)
def test_bad_lists_are_refused_with_the_reason(image_root: Path, lines, error, message):
    (image_root.parent / "train.txt").write_text("\n".join(lines))
    with pytest.raises(error, match=message):
        read_image_list(image_root.parent / "train.txt", image_root)


def test_missing_list_root_and_val_labels(image_root: Path):
    with pytest.raises(FileNotFoundError, match="image list .*nope.txt does not exist"):
        read_image_list(image_root.parent / "nope.txt", image_root)
    with pytest.raises(FileNotFoundError, match="is not a folder: pass the folder the paths"):
        read_image_list(image_root.parent / "train.txt", image_root / "missing")
    with pytest.raises(ValueError, match="labels up to 2 but there are only 2 classes"):
        read_image_list(image_root.parent / "val.txt", image_root, ["dog", "cat"])


def test_list_build_links_every_image_in_imagefolder_order(image_root: Path, tmp_path: Path):
    out = tmp_path / "built"
    spec = ImageListSpec(
        image_root,
        image_root.parent / "train.txt",
        val_list=image_root.parent / "val.txt",
        name="toy-lt",
        groups="thirds",
    )
    m = build_list_dataset(out, spec)
    assert (m.name, m.counts, m.groups) == ("toy-lt", [5, 3, 1], ["many", "medium", "few"])
    train = ImageFolder(str(out / "train"))
    assert train.classes == ["0_dog", "1_cat", "2_eel"]
    assert train.targets == [0] * 5 + [1] * 3 + [2]
    assert all(Path(p).is_symlink() for p, _ in train.samples)
    relative = [str(Path(p).resolve().relative_to(image_root)) for p, _ in train.samples]
    assert checksum_items(relative) == m.index_checksum  # sample order = checksum order
    val = ImageFolder(str(out / "val"))
    assert val.classes == train.classes and val.targets == [0, 1, 2]
    assert Manifest.load(out).extra["val_counts"] == [1, 1, 1]


def test_list_build_defaults_to_imagenet_lt_thresholds_and_writes_nothing_on_error(
    image_root: Path, tmp_path: Path
):
    spec = ImageListSpec(image_root, image_root.parent / "train.txt")
    m = build_list_dataset(tmp_path / "a", spec)
    assert m.group_rule == "thresholds" and m.groups == ["few"] * 3 and m.name == "train"
    (image_root / "train" / "cat" / "1.png").unlink()
    with pytest.raises(FileNotFoundError, match="1 of the 9 files"):
        build_list_dataset(tmp_path / "b", spec)
    assert not (tmp_path / "b").exists()


def test_clashing_file_names_within_a_class_are_refused(image_root: Path, tmp_path: Path):
    png(image_root / "extra" / "dog" / "0.png", 7)
    (tmp_path / "clash.txt").write_text("train/dog/0.png 0\nextra/dog/0.png 0\n")
    with pytest.raises(ValueError, match="'0.png' in class 'dog'"):
        build_list_dataset(tmp_path / "c", ImageListSpec(image_root, tmp_path / "clash.txt"))


def test_image_folder_made_long_tailed(tmp_path: Path):
    src = tmp_path / "flowers"
    for c, name in enumerate(("a", "b", "c", "d")):
        for i in range(20):
            png(src / name / f"{i:02d}.jpg", c * 20 + i)
    scanned = scan_image_folder(src)
    assert scanned.class_names == ["a", "b", "c", "d"] and scanned.counts == [20] * 4
    m = build_folder_lt(tmp_path / "lt", FolderLTSpec(src, ratio=10, seed=0))
    assert m.name == "flowers-lt-r10-s0"
    assert m.counts == [int(20 * 0.1 ** (i / 3)) for i in range(4)]
    built = ImageFolder(str(tmp_path / "lt" / "train"))
    assert np.bincount(built.targets).tolist() == m.counts
    relative = [str(Path(p).resolve().relative_to(src)) for p, _ in built.samples]
    assert checksum_items(relative) == m.index_checksum
    with pytest.raises(ValueError, match="lower n_max to at most 20"):
        build_folder_lt(tmp_path / "big", FolderLTSpec(src, ratio=10, n_max=25))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        scan_image_folder(tmp_path / "nothing")
