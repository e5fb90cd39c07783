"""The knob tables of the docs, generated from the settings records (the records are the only
declaration of an option). ``python -m solo_tase.doc_tables`` rewrites, in a source checkout,
every table between its ``<!-- knobs:<name>:begin -->`` / ``<!-- knobs:<name>:end -->`` markers;
``tests/unit/test_doc_tables.py`` fails when a table and its record disagree."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

from solo_tase.methods.config import (
    BoostSettings,
    GhSettings,
    ProjectorSettings,
    SdclrConfig,
    TaseConfig,
    TsConfig,
)
from solo_tase.settings import knob_table, replace_block
from solo_tase.source_tree import source_tree

DOCS = (source_tree() or Path.cwd()) / "docs"  # the docs are in the checkout, not the package
PROJECTOR = tuple(f.name for f in dataclasses.fields(ProjectorSettings))
BOOST = tuple(f.name for f in dataclasses.fields(BoostSettings))


@dataclass(frozen=True)
class Table:
    """One generated table: the doc, its marker name and the record it lists."""

    doc: str  # file name under docs/
    name: str  # the markers' name: <!-- knobs:<name>:begin -->
    record: type
    key_prefix: str = ""
    defaults: dict[str, str] = field(default_factory=dict)
    skip: tuple[str, ...] = ()

    def render(self) -> str:
        return knob_table(
            self.record, key_prefix=self.key_prefix, defaults=self.defaults, skip=self.skip
        )


TABLES: tuple[Table, ...] = (
    Table(
        "method.md",
        "tase",
        TaseConfig,
        defaults={
            "tau_schedule_period": "max_epochs",
            "num_clusters": "data.num_classes (100 if unknown)",
            "knn_k": "3 N / num_clusters",
            "kmeans_seed": "the run's seed",
            "num_samples": "from the loader",
        },
        skip=PROJECTOR,
    ),
    Table("baselines.md", "projector", ProjectorSettings, skip=("gh",)),
    Table(
        "baselines.md",
        "gh",
        GhSettings,
        key_prefix="gh.",
        defaults={"gh.target_dim": "data.num_classes"},
    ),
    Table(
        "baselines.md",
        "sdclr",
        SdclrConfig,
        skip=tuple(n for n in PROJECTOR + BOOST if n != "proj_batch_norm"),
    ),
    Table("baselines.md", "ts", TsConfig, skip=PROJECTOR),
    Table("baselines.md", "boost", BoostSettings),
)


def stale() -> list[str]:
    """The tables whose doc block differs from the record (``<doc>: <name>``)."""
    out = []
    for table in TABLES:
        text = (DOCS / table.doc).read_text()
        if replace_block(text, f"knobs:{table.name}", table.render()) != text:
            out.append(f"{table.doc}: {table.name}")
    return out


def main() -> int:
    """Rewrite every table; print the ones that changed."""
    for table in TABLES:
        path = DOCS / table.doc
        text = path.read_text()
        new = replace_block(text, f"knobs:{table.name}", table.render())
        if new != text:
            path.write_text(new)
            print(f"updated {path}: {table.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
