"""Which samples of a labelled source make a long-tailed set: drawn by profile, or read from a file.

A :class:`LongTailSelection` lists positions in the source (a CIFAR train set, an image list, an
ImageFolder) in the canonical sample order every solo-tase dataset uses: class by class (label 0
first), ascending source position inside a class. That is the order in which torchvision's
``ImageFolder`` and solo-learn's DALI reader enumerate a materialised folder (class folders sorted,
files sorted by the zero-padded source index), so the in-place and the materialised form of one
selection give every image the same sample index and the same manifest checksum.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solo_tase.data.profiles import exponential_profile
from solo_tase.errors import ConfigError, InputError
from solo_tase.settings import key_name


@dataclass(frozen=True)
class LongTailSelection:
    """Positions [N] (int64) into a source of ``source_size`` samples, labels [N], counts [C]."""

    positions: np.ndarray
    labels: np.ndarray
    counts: list[int]
    source_size: int

    @property
    def num_samples(self) -> int:
        return int(self.positions.size)


def _canonical(
    positions: np.ndarray, source_labels: np.ndarray, num_classes: int, source_size: int
) -> LongTailSelection:
    """Sort ``positions`` class-major, ascending inside a class; every class must be non-empty."""
    labels = source_labels[positions]
    order = np.lexsort((positions, labels))
    positions, labels = positions[order], labels[order]
    counts = np.bincount(labels, minlength=num_classes)
    empty = np.flatnonzero(counts == 0).tolist()
    if empty:
        raise InputError(
            f"the selection leaves class(es) {empty[:10]} empty "
            f"({len(empty)} of {num_classes}): every class needs at least one image"
        )
    return LongTailSelection(
        positions=positions.astype(np.int64),
        labels=labels.astype(np.int64),
        counts=counts.tolist(),
        source_size=source_size,
    )


def _check_labels(source_labels: np.ndarray, num_classes: int) -> np.ndarray:
    labels = np.asarray(source_labels, dtype=np.int64)
    if labels.ndim != 1 or labels.size == 0:
        raise InputError("source labels must be a non-empty 1-D array")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise InputError(
            f"source labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}]"
        )
    return labels


def draw_order(
    source_labels: np.ndarray, num_classes: int, seed: int, keep: np.ndarray | None = None
) -> list[np.ndarray]:
    """The seeded per-class draw every profile shares: for each class in label order, the source
    positions of its candidates (``keep`` [N] bool, default all) permuted with one
    ``numpy.random.default_rng(seed)``; the first ``n_i`` of class ``i`` are its draw [n_i]."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(source_labels)
    allowed = np.ones(labels.size, dtype=bool) if keep is None else keep
    return [rng.permutation(np.flatnonzero(allowed & (labels == c))) for c in range(num_classes)]


def profile_selection(
    source_labels: np.ndarray,
    num_classes: int,
    *,
    ratio: float,
    seed: int,
    n_max: int | None = None,
    exclude: np.ndarray | None = None,
    where: str = "",
) -> LongTailSelection:
    """Draw ``floor(n_max * ratio^(-i/(C-1)))`` images of class ``i`` (class 0 is the head).

    Inside each class the candidates (source positions not in ``exclude``) are taken in
    :func:`draw_order`, so for one seed a larger ratio keeps a subset of a smaller ratio's
    images. ``n_max`` defaults to the smallest class's candidate count (every class can then fill
    its quota). Errors name ``n_max`` as the caller's user writes it after ``where`` (``--``).

    Raises:
        ConfigError: ratio < 1, or ``n_max`` above a class's candidates.
        InputError: a class without candidates.
    """
    labels = _check_labels(source_labels, num_classes)
    keep = np.ones(labels.size, dtype=bool)
    if exclude is not None:
        keep[np.asarray(exclude, dtype=np.int64)] = False
    candidates = draw_order(labels, num_classes, seed, keep)
    available = [len(c) for c in candidates]
    if min(available) == 0:
        empty = [c for c, n in enumerate(available) if n == 0]
        raise InputError(f"class(es) {empty[:10]} have no candidate images (after exclusions)")
    counts = exponential_profile(n_max or min(available), num_classes, ratio)
    short = [(c, n, a) for c, (n, a) in enumerate(zip(counts, available)) if n > a]
    if short:
        c, n, a = short[0]
        key = key_name(where, "n_max")
        raise ConfigError(
            f"{key}={counts[0]} asks {n} images of class {c}, which has only {a} "
            f"candidates ({len(short)} class(es) short): lower {key} to at most "
            f"{min(available)} or leave it unset"
        )
    chosen = [cand[:n] for cand, n in zip(candidates, counts)]
    return _canonical(np.concatenate(chosen), labels, num_classes, labels.size)


def ldam_selection(
    source_labels: np.ndarray, num_classes: int, *, ratio: float, seed: int = 0
) -> LongTailSelection:
    """The LDAM draw (``IMBALANCECIFAR``, used by GH): ``np.random.seed(seed)``, then for each
    class in label order ``idx = np.where(labels == c)[0]; np.random.shuffle(idx)`` and the first
    ``n_c = int(n_max * (1/ratio)^(c/(C-1)))`` kept, ``n_max = N / C``.

    The same stream is drawn from a private ``RandomState(seed)``: numpy's global state is left
    untouched and the indexes equal those of the recipe.
    """
    labels = _check_labels(source_labels, num_classes)
    counts = exponential_profile(labels.size // num_classes, num_classes, ratio)
    state = np.random.RandomState(seed)
    chosen = []
    for c, n in enumerate(counts):
        idx = np.where(labels == c)[0]
        state.shuffle(idx)
        if idx.size < n:
            raise InputError(
                f"the LDAM draw asks {n} images of class {c}, which has {idx.size}: "
                "it needs a balanced source (the full CIFAR train set)"
            )
        chosen.append(idx[:n])
    return _canonical(np.concatenate(chosen), labels, num_classes, labels.size)


def index_selection(
    source_labels: np.ndarray, num_classes: int, positions: np.ndarray
) -> LongTailSelection:
    """The samples at ``positions`` (already range- and duplicate-checked), in canonical order."""
    labels = _check_labels(source_labels, num_classes)
    return _canonical(np.asarray(positions, dtype=np.int64), labels, num_classes, labels.size)


def check_indexes(indexes: np.ndarray, upper: int, what: str) -> np.ndarray:
    """``indexes`` as int64 [N] if all lie in ``[0, upper)`` without duplicates; else InputError."""
    arr = np.asarray(indexes)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(
            f"{what} must hold a non-empty 1-D array of integer indexes, got "
            f"dtype {arr.dtype} and shape {arr.shape}"
        )
    arr = arr.astype(np.int64)
    bad = arr[(arr < 0) | (arr >= upper)]
    if bad.size:
        raise InputError(
            f"{what} has {bad.size} index(es) outside [0, {upper}) (first: "
            f"{bad[:5].tolist()}): it does not index this set; check the dataset "
            "(cifar10 / cifar100) and whether it indexes a pool"
        )
    uniq, seen = np.unique(arr, return_counts=True)
    if (seen > 1).any():
        dups = uniq[seen > 1]
        raise InputError(
            f"{what} repeats {dups.size} index(es) (first: {dups[:5].tolist()}): "
            "a split lists every image once"
        )
    return arr


def load_index_file(path: str | Path, upper: int) -> np.ndarray:
    """Read a ``.npy`` index file (e.g. SDCLR's split/pool files) and check it against ``upper``."""
    path = Path(path)
    if path.suffix != ".npy":
        raise InputError(f"{path}: expected a .npy file of integer indexes (SDCLR's format)")
    if not path.is_file():
        raise FileNotFoundError(f"index file {path} does not exist")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as err:
        raise InputError(f"{path} is not a plain .npy array: {err}") from None
    return check_indexes(arr, upper, str(path))


def split_positions(
    split_file: str | Path, source_size: int, pool_file: str | Path | None = None
) -> np.ndarray:
    """Source positions of a split file; with ``pool_file`` the split holds positions in the pool.

    SDCLR's ``*_D_i.npy`` files index the CIFAR train set directly (no pool).
    """
    if pool_file is None:
        return load_index_file(split_file, source_size)
    pool = load_index_file(pool_file, source_size)
    return pool[load_index_file(split_file, pool.size)]
