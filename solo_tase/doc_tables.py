"""The docs' tables made from settings-kit records (the records are the only declaration of an
option): the knobs of every method (``method_kwargs``), the keys of ``data.long_tail``, the
options of ``data build`` / ``data inspect`` / ``eval`` / ``zoo publish``, the fields of a model
card. Each is the
block between ``<!-- <tag>:begin -->`` and ``<!-- <tag>:end -->`` of its page.

``python -m solo_tase.doc_tables [--check]`` (in a source checkout) rewrites them, or only lists
the stale ones (exit 1); a unit test runs the check on ``docs/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from solo_tase.cli.data import INSPECT, Options, sources
from solo_tase.cli.zoo import ZooFolder
from solo_tase.data.data_root import BuildOutput
from solo_tase.data.long_tail import PREFIX, LongTailBlock
from solo_tase.eval.presets import PRESET_DEFAULTS, PresetChoice
from solo_tase.eval.request import COMMAND_DEFAULTS, EvalRequest, RunOptions
from solo_tase.methods.config import (
    BoostSettings,
    GhSettings,
    ProjectorSettings,
    SdclrConfig,
    TaseConfig,
    TsConfig,
)
from solo_tase.settings import knob_table, option_table, replace_block, show
from solo_tase.source_tree import source_tree
from solo_tase.utils.atomic import write_text_atomically
from solo_tase.zoo.card import ModelCard
from solo_tase.zoo.publish_options import PublishOptions


def options_table(options: Sequence[Options]) -> str:
    """One ``| option | default | meaning |`` table of the options of several records."""
    tables = []
    for part in options:
        required = dict.fromkeys(part.required_options(), "required")
        shown = {k: show(v) for k, v in part.shown_defaults().items()}
        tables.append(option_table(part.record, skip=part.skip, defaults={**shown, **required}))
    head, *rest = tables
    return head + "".join(t.split("\n", 2)[2] for t in rest)  # one header


def source_options(name: str) -> str:
    """The options of ``data build <name>`` but the output's (one table for every source)."""
    source = next(s for s in sources() if s.name == name)
    return options_table([o for o in source.options if o.record is not BuildOutput])


def long_tail_keys() -> str:
    """The keys of the ``data.long_tail`` block (``data.dataset`` is not one of them)."""
    required = {PREFIX + "ratio": "required (profile)", PREFIX + "split_file": "required (sdclr)"}
    table = knob_table(LongTailBlock, key_prefix=PREFIX, defaults=required)
    return "".join(row for row in table.splitlines(True) if f"`{PREFIX}dataset`" not in row)


PROJECTOR = tuple(f.name for f in dataclasses.fields(ProjectorSettings))  # and the gh block
BOOST = tuple(f.name for f in dataclasses.fields(BoostSettings))
TASE_DEFAULTS = {
    "tau_schedule_period": "max_epochs",
    "num_clusters": "data.num_classes (100 if unknown)",
    "knn_k": "3 N / num_clusters",
    "kmeans_seed": "the run's seed",
    "num_samples": "from the loader",
}

# (page in docs/, tag) -> the block
TABLES: dict[tuple[str, str], Callable[[], str]] = {
    ("method.md", "knobs:tase"): lambda: knob_table(
        TaseConfig, defaults=TASE_DEFAULTS, skip=PROJECTOR
    ),
    ("baselines.md", "knobs:projector"): lambda: knob_table(ProjectorSettings, skip=("gh",)),
    ("baselines.md", "knobs:gh"): lambda: knob_table(
        GhSettings, key_prefix="gh.", defaults={"gh.target_dim": "data.num_classes"}
    ),
    ("baselines.md", "knobs:sdclr"): lambda: knob_table(
        SdclrConfig, skip=tuple(n for n in PROJECTOR + BOOST if n != "proj_batch_norm")
    ),
    ("baselines.md", "knobs:ts"): lambda: knob_table(TsConfig, skip=PROJECTOR),
    ("baselines.md", "knobs:boost"): lambda: knob_table(BoostSettings),
    ("evaluation.md", "eval-request"): lambda: knob_table(EvalRequest, defaults=COMMAND_DEFAULTS),
    ("evaluation.md", "eval-preset"): lambda: knob_table(PresetChoice, defaults=PRESET_DEFAULTS),
    ("evaluation.md", "eval-run"): lambda: knob_table(RunOptions),
    ("data.md", "long-tail-keys"): long_tail_keys,
    ("data.md", "build-output"): lambda: options_table([Options(BuildOutput)]),
    ("data.md", "build-digits-lt"): lambda: source_options("digits-lt"),
    ("data.md", "build-fashion-mnist-lt"): lambda: source_options("fashion-mnist-lt"),
    ("data.md", "build-cifar-lt"): lambda: source_options("cifar10-lt"),
    ("data.md", "build-sdclr"): lambda: source_options("sdclr"),
    ("data.md", "build-list"): lambda: source_options("list"),
    ("data.md", "build-image-folder"): lambda: source_options("image-folder"),
    ("data.md", "inspect"): lambda: options_table(INSPECT),
    ("zoo.md", "publish-options"): lambda: options_table(
        [Options(PublishOptions), Options(ZooFolder)]
    ),
    ("zoo.md", "card-fields"): lambda: knob_table(ModelCard),
}


@dataclasses.dataclass(frozen=True)
class Page:
    """A page of ``docs/`` as it is and as its tables make it."""

    path: Path
    text: str
    made: str

    def write(self) -> None:
        """The page with its tables made (atomically)."""
        write_text_atomically(self.path, self.made)


def pages(docs: Path) -> list[Page]:
    """Every page holding tables, with its tables made from the records now."""
    out = []
    for name in sorted({page for page, _ in TABLES}):
        path = docs / name
        text = path.read_text()
        made = text
        for (page, tag), table in TABLES.items():
            if page == name:
                made = replace_block(made, tag, table())
        out.append(Page(path, text, made))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--docs",
        type=Path,
        default=(source_tree() or Path.cwd()) / "docs",
        help="the docs folder (default: the source checkout's)",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    stale = [p for p in pages(args.docs) if p.made != p.text]
    for page in stale:
        if args.check:
            print(f"{page.path} has stale tables: run python -m solo_tase.doc_tables")
        else:
            page.write()
            print(f"updated {page.path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
