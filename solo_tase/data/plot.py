"""A PNG plot of a dataset's long-tailed profile: images per class, coloured by group; and the
mark a command leaves in the plots it writes, so that running it again replaces its own plot
but never a file it did not make."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from solo_tase.data.manifest import Manifest
from solo_tase.data.profiles import GROUPS, imbalance_ratio
from solo_tase.utils.atomic import refuse_existing, write_file_atomically

GROUP_COLOURS = {"many": "#1f77b4", "medium": "#ff7f0e", "few": "#2ca02c"}
MARK_KEY = "solo-tase-plot"  # PNG text chunk: the command that wrote the plot
PROFILE_MARK = "solo-tase data inspect"


def made_by(path: Path) -> str | None:
    """The command that wrote the PNG ``path`` (its :data:`MARK_KEY` text chunk), or ``None``
    (no such file, not a PNG, or no mark)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            mark = getattr(img, "text", {}).get(MARK_KEY)
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return mark if isinstance(mark, str) else None


def refuse_foreign_plot(path: Path, replace: bool, command: str) -> None:
    """Raise ``FileExistsError`` when ``path`` exists, ``replace`` is off and the file is not a
    plot that ``command`` wrote (:func:`made_by`)."""
    refuse_existing(path, replace or made_by(path) == command, "--plot path")


def mark_plot(path: Path, command: str) -> Path:
    """Add the mark of ``command`` to the PNG ``path`` written by a plotter that takes no
    metadata (rewritten atomically, pixels unchanged)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    with Image.open(path) as img:
        img.load()
        info = PngInfo()
        for key, value in getattr(img, "text", {}).items():
            if key != MARK_KEY:
                info.add_text(key, value)
        info.add_text(MARK_KEY, command)
        return write_file_atomically(
            Path(path), lambda tmp: img.save(tmp, format="PNG", pnginfo=info)
        )


def plot_profile(manifest: Manifest, path: str | Path, *, replace: bool = False) -> Path:
    """Bar chart (log scale) of images per class, classes sorted by count, to the PNG ``path``,
    marked as :data:`PROFILE_MARK`'s.

    Raises:
        FileExistsError: ``path`` exists, ``replace`` is off and ``path`` is not such a plot.
    """
    path = Path(path)
    refuse_foreign_plot(path, replace, PROFILE_MARK)
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
    fig.savefig(path, dpi=120, metadata={MARK_KEY: PROFILE_MARK})
    return path
