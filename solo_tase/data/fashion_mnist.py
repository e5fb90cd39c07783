"""Fashion-MNIST-LT: a long-tailed set of real photographs of clothes that a CPU can train on.

Built from Fashion-MNIST's idx files (60,000 train / 10,000 test, 28x28 grey, 10 classes). Per
class, ``val_per_class`` images are held out first (a balanced validation split, for choosing
hyper-parameters); the long-tailed train set is drawn from the rest with the CIFAR-LT profile in a
seeded class order; the probe set (linear evaluation) is the balanced rest of the pool, a superset
of the train set as the full CIFAR train set is in the CIFAR-LT protocol; the test set is the
official one. With ``balanced_train`` a balanced training set of the same size is drawn from the
pool left after the probe set (disjoint from val, probe and test), for the positive control
"SimCLR on balanced data" (docs/results.md). Layout and manifest as docs/data.md describes::

    <out>/train/<class>/<id>.png  <out>/probe/...  <out>/val/...  <out>/test/...
    <out>/train-balanced/...  (with balanced_train)
    <out>/manifest.json
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solo_tase.data.fashion_spec import (
    BALANCED_SPLIT,
    DEFAULT_ROOT,
    NUM_CLASSES,
    FashionLTSpec,
)
from solo_tase.data.manifest import Manifest, checksum_items
from solo_tase.data.profiles import exponential_profile
from solo_tase.data.selection import draw_order
from solo_tase.data.writer import materialize, write_png_split
from solo_tase.errors import ConfigError, InputError
from solo_tase.settings import key_name

CLASS_NAMES = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle-boot",
)
TEST_SIZE = 10_000  # the official test set, written whole
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
GET_IT = (
    "Get Fashion-MNIST in one of three ways:\n"
    "  1. apt-get install dataset-fashion-mnist   (Debian/Ubuntu: files in "
    f"{DEFAULT_ROOT})\n"
    "  2. --root DIR: a folder with the four idx files (gzipped or not; torchvision's "
    "FashionMNIST/raw layout works)\n"
    "  3. --download: let torchvision fetch it into --root (needs the network)"
)


def find_raw_files(root: str | Path | None = None) -> dict[str, Path]:
    """The four idx files (``.gz`` or not) in ``root``, ``root/FashionMNIST/raw`` or, without
    ``root``, in Debian's folder. Raises ``FileNotFoundError`` naming what was looked for."""
    bases = [Path(root)] if root is not None else [DEFAULT_ROOT]
    folders = [b for base in bases for b in (base, base / "FashionMNIST" / "raw")]
    for folder in folders:
        found = {}
        for key, stem in FILES.items():
            hit = next((folder / n for n in (stem + ".gz", stem) if (folder / n).is_file()), None)
            if hit is None:
                break
            found[key] = hit
        else:
            return found
    wanted = ", ".join(f"{s}[.gz]" for s in FILES.values())
    raise FileNotFoundError(
        f"Fashion-MNIST not found: looked for {wanted} in {', '.join(map(str, folders))}.\n{GET_IT}"
    )


def read_idx(path: Path) -> np.ndarray:
    """An idx file (gzipped or not) as a uint8 array ([N] labels or [N, 28, 28] images).

    Hand-written (12 lines) because torchvision's reader does not open ``.gz`` files, which is how
    Debian and the original site ship them.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        magic, ndim = int.from_bytes(data[:2], "big"), data[3]
        shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
        if magic != 0 or data[2] != 0x08 or len(data) != 4 + 4 * ndim + int(np.prod(shape)):
            raise ValueError("bad header or length")
    except (OSError, EOFError, ValueError, IndexError) as err:
        raise InputError(
            f"{path} is not a valid uint8 idx file ({err}): the download is "
            f"corrupt or truncated; fetch it again.\n{GET_IT}"
        ) from None
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def download(root: Path) -> dict[str, Path]:
    """Fetch Fashion-MNIST with torchvision into ``root`` and return its raw files."""
    from torchvision.datasets import FashionMNIST

    FashionMNIST(str(root), train=True, download=True)
    return find_raw_files(root)


DEFAULT_SPEC = FashionLTSpec()
SPLIT_KEYS = ("n_max", "val_per_class", "probe_per_class", "balanced_train")


@dataclass(frozen=True)
class FashionSets:
    """The official sets as read: images [N, 28, 28] and labels [N] (uint8) of train (60,000)
    and test (10,000), and the folder of the idx files."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    folder: Path


@dataclass(frozen=True)
class FashionLTSplit:
    """Indexes into the official train set (train/probe/val, and the balanced train set or an
    empty array) and per-class train counts in label order."""

    train: np.ndarray
    probe: np.ndarray
    val: np.ndarray
    counts: list[int]
    order: list[int]
    balanced: np.ndarray


def split_fashion(targets: np.ndarray, spec: FashionLTSpec, where: str = "") -> FashionLTSplit:
    """Draw val, then the long-tailed train set and the balanced probe set, from ``targets`` [N];
    errors name the spec's keys as the user writes them after ``where`` (``--``)."""
    per_class = draw_order(targets, NUM_CLASSES, spec.seed)
    smallest = min(len(p) for p in per_class)
    key = {name: key_name(where, name) for name in SPLIT_KEYS}
    if spec.val_per_class >= smallest:
        raise ConfigError(
            f"{key['val_per_class']} must be in [0, {smallest - 1}], got {spec.val_per_class}"
        )
    pools = [p[spec.val_per_class :] for p in per_class]
    pool_size = min(len(p) for p in pools)
    n_max = spec.n_max or pool_size
    if n_max > pool_size:
        raise ConfigError(
            f"{key['n_max']} {n_max} exceeds the {pool_size} images per class left after "
            f"{key['val_per_class']} {spec.val_per_class}; lower one of them"
        )
    profile = exponential_profile(n_max, NUM_CLASSES, spec.ratio)
    counts = [0] * NUM_CLASSES
    for rank, c in enumerate(spec.order):
        counts[c] = profile[rank]
    probe_n = spec.probe_per_class or pool_size
    if not n_max <= probe_n <= pool_size:
        raise ConfigError(
            f"{key['probe_per_class']} must be in [{n_max}, {pool_size}] (the probe set "
            f"holds every train image), got {probe_n}"
        )
    balanced = [p[probe_n:probe_n] for p in pools]
    if spec.balanced_train:
        balanced = _balanced_part(pools, probe_n, sum(counts), spec, key)
    return FashionLTSplit(
        train=np.concatenate([np.sort(p[:n]) for p, n in zip(pools, counts)]),
        probe=np.concatenate([np.sort(p[:probe_n]) for p in pools]),
        val=np.concatenate([np.sort(p[: spec.val_per_class]) for p in per_class]),
        counts=counts,
        order=spec.order,
        balanced=np.concatenate([np.sort(b) for b in balanced]),
    )


def _balanced_part(
    pools: list[np.ndarray], probe_n: int, size: int, spec: FashionLTSpec, key: dict[str, str]
) -> list[np.ndarray]:
    """Per class, the images after the first ``probe_n`` of its pool that make a balanced set of
    ``size`` images (the first classes take the remainder)."""
    per, extra = divmod(size, NUM_CLASSES)
    wanted = [per + (c < extra) for c in range(NUM_CLASSES)]
    room = min(len(p) for p in pools) - probe_n
    if max(wanted) > room:
        raise ConfigError(
            f"{key['balanced_train']} needs {max(wanted)} images per class outside the probe "
            f"set, but only {room} are left after {key['val_per_class']} {spec.val_per_class} "
            f"and {key['probe_per_class']} {probe_n}: lower {key['n_max']} or "
            f"{key['probe_per_class']}"
        )
    return [p[probe_n : probe_n + n] for p, n in zip(pools, wanted)]


def _rgb(images: np.ndarray) -> np.ndarray:
    """uint8 grey [N, H, W] -> uint8 RGB [N, H, W, 3]."""
    return np.repeat(images[..., None], 3, axis=3)


def read_fashion(root: str | Path | None = None, download_ok: bool = False) -> FashionSets:
    """The official train and test sets (from ``root``, else Debian's folder; downloaded into
    ``root`` when missing and ``download_ok``).

    Raises:
        FileNotFoundError: the files are missing (what was looked for, and how to get them).
        InputError: a file is corrupt, or the sets do not have Fashion-MNIST's shapes.
    """
    try:
        files = find_raw_files(root)
    except FileNotFoundError:
        if not download_ok or root is None:
            raise
        files = download(Path(root))
    sets = FashionSets(
        **{key: read_idx(files[key]) for key in FILES}, folder=files["train_images"].parent
    )
    if sets.train_images.shape != (60000, 28, 28) or sets.test_images.shape != (TEST_SIZE, 28, 28):
        raise InputError(
            f"unexpected Fashion-MNIST shapes {sets.train_images.shape} / "
            f"{sets.test_images.shape} in {sets.folder}: expected 60000 and 10000 28x28 images"
        )
    return sets


def fashion_lt_manifest(
    spec: FashionLTSpec, split: FashionLTSplit, train_labels: np.ndarray, source: str
) -> Manifest:
    """The manifest of ``split`` (drawn from the official train set's ``train_labels`` [60000]
    with ``spec``); ``source`` says where the idx files were."""
    splits = {"train": "train", "probe": "probe", "val": "val", "test": "test"}
    balanced: dict[str, object] = {}
    if spec.balanced_train:
        splits["train_balanced"] = BALANCED_SPLIT
        balanced["train_balanced"] = {
            "counts": np.bincount(train_labels[split.balanced], minlength=NUM_CLASSES).tolist(),
            "checksum": checksum_items(split.balanced.tolist()),
        }
    return Manifest.build(
        name=spec.name,
        source=source,
        class_names=list(CLASS_NAMES),
        counts=split.counts,
        items=split.train.tolist(),
        group_rule="thirds",
        profile={
            "type": "exponential",
            "ratio": spec.ratio,
            "n_max": max(split.counts),
            "class_order": split.order,
            "class_order_spec": spec.class_order,
        },
        seed=spec.seed,
        extra={
            "image_size": 28,
            "val_per_class": spec.val_per_class,
            "probe_per_class": len(split.probe) // NUM_CLASSES,
            "probe_checksum": checksum_items(split.probe.tolist()),
            "val_checksum": checksum_items(split.val.tolist()),
            "test_checksum": checksum_items(range(TEST_SIZE)),
            "splits": splits,
            **balanced,
        },
    )


def build_fashion_lt(
    out: str | Path,
    spec: FashionLTSpec = DEFAULT_SPEC,
    *,
    root: str | Path | None = None,
    download_ok: bool = False,
    replace: bool = False,
    where: str = "",
    command: str | None = None,
) -> Manifest:
    """Build Fashion-MNIST-LT under ``out`` (atomically; reused if already built identically);
    errors name the spec's keys after ``where`` (:func:`split_fashion`)."""
    sets = read_fashion(root, download_ok)
    images, labels = sets.train_images, sets.train_labels
    split = split_fashion(labels, spec, where)
    source = f"Fashion-MNIST idx files in {sets.folder}"
    manifest = fashion_lt_manifest(spec, split, labels, source)
    names = list(CLASS_NAMES)

    def fill(tmp: Path) -> None:
        parts = [("train", split.train), ("probe", split.probe), ("val", split.val)]
        if spec.balanced_train:
            parts.append((BALANCED_SPLIT, split.balanced))
        for part, idx in parts:
            write_png_split(tmp / part, _rgb(images[idx]), labels[idx], idx, names)
        ids = np.arange(TEST_SIZE)
        write_png_split(tmp / "test", _rgb(sets.test_images), sets.test_labels, ids, names)

    materialize(Path(out), manifest, fill, replace=replace, command=command)
    return manifest
