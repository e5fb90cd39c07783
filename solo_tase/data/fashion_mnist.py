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

from solo_tase.data.manifest import Manifest, checksum_items
from solo_tase.data.profiles import exponential_profile
from solo_tase.data.writer import materialize, write_png_split

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
DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
BALANCED_SPLIT = "train-balanced"  # the balanced train set's folder (balanced_train)
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
        raise ValueError(
            f"{path} is not a valid uint8 idx file ({err}): the download is "
            f"corrupt or truncated; fetch it again.\n{GET_IT}"
        ) from None
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def download(root: Path) -> dict[str, Path]:
    """Fetch Fashion-MNIST with torchvision into ``root`` and return its raw files."""
    from torchvision.datasets import FashionMNIST

    FashionMNIST(str(root), train=True, download=True)
    return find_raw_files(root)


def parse_class_order(value: str, num_classes: int = 10) -> list[int]:
    """Head-to-tail class order: ``label`` (0..C-1), ``random:<seed>`` (a seeded permutation) or
    a comma-separated list of all C labels."""
    if value == "label":
        return list(range(num_classes))
    if value.startswith("random:"):
        try:
            seed = int(value.split(":", 1)[1])
        except ValueError:
            raise ValueError(
                f"--class-order {value!r}: the seed after 'random:' must be an "
                "integer, e.g. random:1"
            ) from None
        return [int(c) for c in np.random.default_rng(seed).permutation(num_classes)]
    try:
        order = [int(x) for x in value.split(",")]
    except ValueError:
        order = []
    if sorted(order) != list(range(num_classes)):
        raise ValueError(
            f"--class-order {value!r} must be 'label', 'random:<seed>' or a "
            f"comma-separated permutation of 0..{num_classes - 1}"
        )
    return order


@dataclass(frozen=True)
class FashionLTSpec:
    """Knobs of Fashion-MNIST-LT (counts in images per class)."""

    ratio: float = 100.0
    n_max: int | None = None  # head-class images; default: the whole pool left after val
    seed: int = 0  # choice of images inside each class, and of the val split
    class_order: str = "label"  # see parse_class_order
    val_per_class: int = 100
    probe_per_class: int | None = None  # default: the whole pool left after val
    balanced_train: bool = False  # also a balanced train set of the same size (train-balanced/)

    @property
    def name(self) -> str:
        order = (
            ""
            if self.class_order == "label"
            else "-o" + self.class_order.replace("random:", "r").replace(",", "")
        )
        n_max = f"-n{self.n_max}" if self.n_max else ""
        balanced = "-bal" if self.balanced_train else ""
        return f"fashion-mnist-lt-r{self.ratio:g}{n_max}{order}-s{self.seed}{balanced}"


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


def split_fashion(targets: np.ndarray, spec: FashionLTSpec) -> FashionLTSplit:
    """Draw val, then the long-tailed train set and the balanced probe set, from ``targets``."""
    rng = np.random.default_rng(spec.seed)
    classes = list(range(10))
    per_class = [rng.permutation(np.flatnonzero(targets == c)) for c in classes]
    smallest = min(len(p) for p in per_class)
    if not 0 <= spec.val_per_class < smallest:
        raise ValueError(
            f"--val-per-class must be in [0, {smallest - 1}], got {spec.val_per_class}"
        )
    pools = [p[spec.val_per_class :] for p in per_class]
    pool_size = min(len(p) for p in pools)
    n_max = spec.n_max or pool_size
    if n_max > pool_size:
        raise ValueError(
            f"--n-max {n_max} exceeds the {pool_size} images per class left after "
            f"--val-per-class {spec.val_per_class}; lower one of them"
        )
    order = parse_class_order(spec.class_order)
    profile = exponential_profile(n_max, 10, spec.ratio)
    counts = [0] * 10
    for rank, c in enumerate(order):
        counts[c] = profile[rank]
    probe_n = spec.probe_per_class or pool_size
    if not n_max <= probe_n <= pool_size:
        raise ValueError(
            f"--probe-per-class must be in [{n_max}, {pool_size}] (the probe set "
            f"holds every train image), got {probe_n}"
        )
    balanced = [p[probe_n:probe_n] for p in pools]
    if spec.balanced_train:
        per, extra = divmod(sum(counts), 10)  # the same size: the first classes take the rest
        wanted = [per + (c < extra) for c in classes]
        room = pool_size - probe_n
        if max(wanted) > room:
            raise ValueError(
                f"--balanced-train needs {max(wanted)} images per class outside the probe set, "
                f"but only {room} are left after --val-per-class {spec.val_per_class} and "
                f"--probe-per-class {probe_n}: lower --n-max or --probe-per-class"
            )
        balanced = [p[probe_n : probe_n + n] for p, n in zip(pools, wanted)]
    return FashionLTSplit(
        train=np.concatenate([np.sort(p[:n]) for p, n in zip(pools, counts)]),
        probe=np.concatenate([np.sort(p[:probe_n]) for p in pools]),
        val=np.concatenate([np.sort(p[: spec.val_per_class]) for p in per_class]),
        counts=counts,
        order=order,
        balanced=np.concatenate([np.sort(b) for b in balanced]),
    )


def _rgb(images: np.ndarray) -> np.ndarray:
    """uint8 grey [N, H, W] -> uint8 RGB [N, H, W, 3]."""
    return np.repeat(images[..., None], 3, axis=3)


def build_fashion_lt(
    out: str | Path,
    spec: FashionLTSpec = FashionLTSpec(),
    *,
    root: str | Path | None = None,
    download_ok: bool = False,
    replace: bool = False,
) -> Manifest:
    """Build Fashion-MNIST-LT under ``out`` (atomically; reused if already built identically)."""
    try:
        files = find_raw_files(root)
    except FileNotFoundError:
        if not download_ok or root is None:
            raise
        files = download(Path(root))
    train_x, train_y = read_idx(files["train_images"]), read_idx(files["train_labels"])
    test_x, test_y = read_idx(files["test_images"]), read_idx(files["test_labels"])
    if train_x.shape != (60000, 28, 28) or test_x.shape != (10000, 28, 28):
        raise ValueError(
            f"unexpected Fashion-MNIST shapes {train_x.shape} / {test_x.shape} in "
            f"{files['train_images'].parent}: expected 60000 and 10000 28x28 images"
        )
    split = split_fashion(train_y, spec)
    names = list(CLASS_NAMES)
    splits = {"train": "train", "probe": "probe", "val": "val", "test": "test"}
    balanced: dict[str, object] = {}
    if spec.balanced_train:
        splits["train_balanced"] = BALANCED_SPLIT
        balanced["train_balanced"] = {
            "counts": np.bincount(train_y[split.balanced], minlength=10).tolist(),
            "checksum": checksum_items(split.balanced.tolist()),
        }
    manifest = Manifest.build(
        name=spec.name,
        source=f"Fashion-MNIST idx files in {files['train_images'].parent}",
        class_names=names,
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
            "probe_per_class": len(split.probe) // 10,
            "probe_checksum": checksum_items(split.probe.tolist()),
            "val_checksum": checksum_items(split.val.tolist()),
            "test_checksum": checksum_items(range(len(test_y))),
            "splits": splits,
            **balanced,
        },
    )

    def fill(tmp: Path) -> None:
        parts = [("train", split.train), ("probe", split.probe), ("val", split.val)]
        if spec.balanced_train:
            parts.append((BALANCED_SPLIT, split.balanced))
        for part, idx in parts:
            write_png_split(tmp / part, _rgb(train_x[idx]), train_y[idx], idx, names)
        write_png_split(tmp / "test", _rgb(test_x), test_y, np.arange(len(test_y)), names)

    materialize(Path(out), manifest, fill, replace=replace)
    return manifest
