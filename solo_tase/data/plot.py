"""A PNG plot of a dataset's long-tailed profile: images per class, coloured by group."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from solo_tase.data.manifest import Manifest
from solo_tase.data.profiles import GROUPS, imbalance_ratio
from solo_tase.utils.atomic import refuse_existing

GROUP_COLOURS = {"many": "#1f77b4", "medium": "#ff7f0e", "few": "#2ca02c"}


def plot_profile(manifest: Manifest, path: str | Path, *, replace: bool = False) -> Path:
    """Bar chart (log scale) of images per class, classes sorted by count, to the PNG ``path``.

    Raises:
        FileExistsError: ``path`` exists and ``replace`` is off.
    """
    path = Path(path)
    refuse_existing(path, replace, "--plot path")
    order = sorted(range(manifest.num_classes), key=lambda i: (-manifest.counts[i], i))
    counts = [manifest.counts[i] for i in order]
    fig = Figure(figsize=(max(6.0, min(16.0, 0.06 * len(counts) + 4)), 4), layout="constrained")
    ax = fig.add_subplot()
    ax.bar(
        range(len(counts)),
        counts,
        width=1.0 if len(counts) > 30 else 0.8,
        color=[GROUP_COLOURS[manifest.groups[i]] for i in order],
    )
    ax.set_yscale("log")
    ax.set_xlabel("class (sorted by training images)")
    ax.set_ylabel("training images")
    sizes = manifest.group_sizes()
    ax.legend(
        handles=[
            Patch(color=GROUP_COLOURS[g], label=f"{g} ({sizes[g]} classes)")
            for g in GROUPS
            if sizes[g]
        ],
        title=f"groups ({manifest.group_rule})",
    )
    ax.set_title(
        f"{manifest.name}: {manifest.num_samples:,} images, {manifest.num_classes} "
        f"classes, imbalance {imbalance_ratio(manifest.counts):.1f}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
