"""SDCLR's ImageNet-100 probe list: built from the train folder without the held-out images, and
refused when it holds them (reproduce.py's --imagenet100-train-list)."""

from __future__ import annotations

from pathlib import Path

import pytest

from solo_tase.errors import InputError
from solo_tase.eval.probe_lists import check_disjoint_lists, train_folder_list, write_list


def fake_imagenet(root: Path) -> dict[str, Path]:
    """``root/train/<wnid>/<wnid>_<i>.JPEG`` for three classes (two in the lists), an LT list
    naming classes n02 (label 0) and n01 (label 1) and a held-out list of two train images."""
    for wnid in ("n01", "n02", "n03"):
        (root / "train" / wnid).mkdir(parents=True)
        for i in range(4):
            (root / "train" / wnid / f"{wnid}_{i}.JPEG").write_bytes(b"jpeg")
    (root / "train" / "n01" / "notes.txt").write_text("not an image")
    lists = root / "lists"
    lists.mkdir()
    (lists / "lt.txt").write_text(
        "train/n02/n02_0.JPEG 0\ntrain/n02/n02_1.JPEG 0\ntrain/n01/n01_0.JPEG 1\n"
    )
    (lists / "val.txt").write_text("train/n01/n01_3.JPEG 1\ntrain/n02/n02_2.JPEG 0\n")
    return {"root": root, "lt": lists / "lt.txt", "val": lists / "val.txt"}


def test_the_train_folder_list_leaves_the_held_out_images_out(tmp_path):
    f = fake_imagenet(tmp_path)
    lines = train_folder_list(f["root"] / "train", f["root"], f["lt"], f["val"])
    assert lines == [
        "train/n02/n02_0.JPEG 0",
        "train/n02/n02_1.JPEG 0",
        "train/n02/n02_3.JPEG 0",
        "train/n01/n01_0.JPEG 1",
        "train/n01/n01_1.JPEG 1",
        "train/n01/n01_2.JPEG 1",
    ]
    out = write_list(lines, tmp_path / "probe.txt")
    check_disjoint_lists(out, f["val"])  # nothing shared
    assert write_list(lines, out) == out  # the same lines again: left as is
    with pytest.raises(FileExistsError, match="never overwritten"):
        write_list(lines[:2], out)


def test_a_probe_list_holding_held_out_images_is_refused(tmp_path):
    f = fake_imagenet(tmp_path)
    every = tmp_path / "every.txt"
    every.write_text("train/n01/n01_3.JPEG 1\ntrain/n01/n01_1.JPEG 1\n")
    with pytest.raises(InputError, match=r"holds 1 images of the held-out list .*n01_3.JPEG"):
        check_disjoint_lists(every, f["val"])


def test_a_folder_outside_the_root_or_without_a_class_is_refused(tmp_path):
    f = fake_imagenet(tmp_path / "in")
    with pytest.raises(InputError, match="not inside the image root"):
        train_folder_list(tmp_path, f["root"], f["lt"], f["val"])
    with pytest.raises(InputError, match="has no folder n02"):
        train_folder_list(f["root"] / "train" / "n01", f["root"], f["lt"], f["val"])
