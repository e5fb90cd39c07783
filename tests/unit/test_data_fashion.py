"""Fashion-MNIST-LT: idx reading, where the files are looked for, the split, the real build."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from solo_tase.cli.main import main as cli
from solo_tase.data.fashion_mnist import (
    DEFAULT_ROOT,
    FashionLTSpec,
    find_raw_files,
    read_idx,
    split_fashion,
)
from solo_tase.data.fashion_spec import parse_class_order
from solo_tase.settings import parse


def write_idx(path: Path, array: np.ndarray, gz: bool) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    data = header + array.astype(np.uint8).tobytes()
    path = path.with_name(path.name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_round_trip_gzipped_or_not(tmp_path: Path, gz: bool):
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    path = write_idx(tmp_path / "train-images-idx3-ubyte", images, gz)
    assert np.array_equal(read_idx(path), images)


def test_a_truncated_file_is_a_clear_error(tmp_path: Path):
    path = write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(10), gz=False)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="(?s)corrupt or truncated.*apt-get install"):
        read_idx(path)


def test_files_are_found_in_a_folder_or_torchvision_layout(tmp_path: Path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        write_idx(raw / stem, np.zeros(3), gz=stem.startswith("train"))
    found = find_raw_files(tmp_path)
    assert found["train_images"].name == "train-images-idx3-ubyte.gz"
    assert found["test_labels"].name == "t10k-labels-idx1-ubyte"


def test_missing_files_name_what_was_looked_for_and_the_three_ways(tmp_path: Path):
    with pytest.raises(FileNotFoundError) as err:
        find_raw_files(tmp_path)
    msg = str(err.value)
    assert "train-images-idx3-ubyte[.gz]" in msg and str(tmp_path / "FashionMNIST" / "raw") in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "--root" in msg
    assert "--download" in msg
    assert (
        cli(
            [
                "data",
                "build",
                "fashion-mnist-lt",
                "--root",
                str(tmp_path),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    assert not (tmp_path / "out").exists()


def test_class_orders():
    assert parse_class_order("label") == list(range(10))
    order = parse_class_order("random:1")
    assert sorted(order) == list(range(10)) and order != list(range(10))
    assert order == parse_class_order("random:1")
    assert parse_class_order("9,8,7,6,5,4,3,2,1,0")[0] == 9
    for bad in ("random:x", "1,2,3", "0,0,1,2,3,4,5,6,7,8"):
        with pytest.raises(ValueError, match="--class-order"):
            parse(FashionLTSpec, {"class_order": bad}, "--")


def test_split_is_disjoint_balanced_and_follows_the_class_order():
    targets = np.repeat(np.arange(10), 300)
    spec = FashionLTSpec(
        ratio=10, n_max=200, class_order="random:2", val_per_class=20, probe_per_class=250, seed=5
    )
    s = split_fashion(targets, spec)
    order = parse_class_order("random:2")
    assert s.counts[order[0]] == 200 and s.counts[order[-1]] == 20
    assert [int((targets[s.train] == c).sum()) for c in range(10)] == s.counts
    assert set(s.val).isdisjoint(s.probe) and set(s.train) <= set(s.probe)
    assert np.bincount(targets[s.val]).tolist() == [20] * 10
    assert np.bincount(targets[s.probe]).tolist() == [250] * 10
    again = split_fashion(targets, spec)
    assert np.array_equal(again.train, s.train) and np.array_equal(again.val, s.val)
    with pytest.raises(ValueError, match="--n-max 300 exceeds the 280"):
        split_fashion(targets, FashionLTSpec(n_max=300, val_per_class=20), where="--")


def test_the_balanced_twin_has_the_same_size_outside_val_probe_and_test():
    targets = np.repeat(np.arange(10), 300)
    base = dict(ratio=10, n_max=100, class_order="random:2", val_per_class=20, probe_per_class=100)
    lt = split_fashion(targets, FashionLTSpec(**base))
    s = split_fashion(targets, FashionLTSpec(**base, balanced_train=True))
    assert lt.balanced.size == 0
    assert np.array_equal(s.train, lt.train) and np.array_equal(s.probe, lt.probe)  # unchanged
    assert s.balanced.size == sum(s.counts)
    per_class = np.bincount(targets[s.balanced], minlength=10)
    assert per_class.max() - per_class.min() <= 1
    assert set(s.balanced).isdisjoint(s.probe) and set(s.balanced).isdisjoint(s.val)
    assert FashionLTSpec(**base, balanced_train=True).name.endswith("-bal")
    with pytest.raises(ValueError, match="--balanced-train needs 41 images per class.*only 30 are"):
        split_fashion(
            targets,
            FashionLTSpec(**{**base, "probe_per_class": 250}, balanced_train=True),
            where="--",
        )


def test_build_from_the_real_files(tmp_path: Path):
    try:
        find_raw_files(None)
    except FileNotFoundError:
        pytest.skip(f"Fashion-MNIST not in {DEFAULT_ROOT}: apt-get install dataset-fashion-mnist")
    out = tmp_path / "fm"
    args = [
        "data",
        "build",
        "fashion-mnist-lt",
        "--n-max",
        "60",
        "--ratio",
        "10",
        "--probe-per-class",
        "80",
        "--val-per-class",
        "10",
        "--class-order",
        "random:0",
        "--balanced-train",
        "--out",
        str(out),
    ]
    assert cli(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    balanced = manifest["extra"]["train_balanced"]["counts"]
    assert sum(balanced) == manifest["num_samples"] and max(balanced) - min(balanced) <= 1
    assert len(list((out / "train-balanced").rglob("*.png"))) == manifest["num_samples"]
    assert manifest["num_samples"] == sum(manifest["counts"]) and max(manifest["counts"]) == 60
    assert manifest["groups"].count("many") == 4 and manifest["extra"]["val_per_class"] == 10
    counts = {p.name: len(list(p.iterdir())) for p in (out / "train").iterdir()}
    assert sorted(counts.values()) == sorted(manifest["counts"])
    assert len(list((out / "test").rglob("*.png"))) == 10000
    assert len(list((out / "val").rglob("*.png"))) == 100
    assert cli(args) == 0  # the same build again is reused, not rewritten
    assert cli([*args[:-2], "--seed", "1", "--out", str(out)]) == 2  # refuses to overwrite
