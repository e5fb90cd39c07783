"""``solo-tase eval CHECKPOINT ...`` (group-wise evaluation) and ``solo-tase compare RUN...``.

Every option of ``eval`` is generated from a settings-kit record: :class:`EvalRequest` and its
nested option records (``request.OPTION_PREFIXES``), :class:`PresetChoice` and
:class:`RunOptions`; their choices, defaults, help and error messages come from there.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from solo_tase.eval.features import cache_summary, default_cache_dir
from solo_tase.eval.presets import FIXES, PRESET_DEFAULTS, RECORDS, PresetChoice
from solo_tase.eval.request import (
    COMMAND_DEFAULTS,
    NUM_WORKERS,
    OPTION_PREFIXES,
    EvalRequest,
    RunOptions,
)
from solo_tase.settings import (
    ConfigError,
    add_arguments,
    describe,
    flag,
    from_arguments,
    given,
    parse,
)

NESTED = {f.name: f.record for f in describe(EvalRequest) if f.record is not None}


def register(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser(
        "eval",
        help="Many/Medium/Few evaluation of a solo-learn checkpoint",
        description="Evaluate the frozen backbone of a solo-learn checkpoint (args.json beside "
        "it) with a linear probe or kNN; writes metrics.json, per_class.csv and "
        "per_class.png. See docs/evaluation.md.",
    )
    add_eval_options(ev)
    ev.set_defaults(func=_eval)

    cmp = sub.add_parser("compare", help="Markdown table of several `solo-tase eval` results")
    cmp.add_argument(
        "runs",
        nargs="+",
        type=Path,
        help="result folders, metrics.json files, or run folders (their eval/*/ results, one "
        "table per protocol)",
    )
    cmp.add_argument(
        "--over-splits",
        action="store_true",
        help="each RUN is a method folder of per-split results (split<k>/): mean "
        "+- std over the splits",
    )
    cmp.set_defaults(func=_compare)


def add_eval_options(ev: argparse.ArgumentParser) -> None:
    """The options of ``eval``, one group per record."""
    checkpoint = next(f for f in describe(EvalRequest) if f.name == "checkpoint")
    ev.add_argument("checkpoint", type=Path, help=checkpoint.help)
    add_arguments(
        ev.add_argument_group("evaluation"),
        EvalRequest,
        skip=("checkpoint", *RECORDS),
        required=("probe_set", "test_set"),
        defaults=COMMAND_DEFAULTS,
    )
    for f in describe(EvalRequest):
        if f.record is not None:
            group = ev.add_argument_group(f.help)
            add_arguments(group, f.record, prefix=OPTION_PREFIXES.get(f.name, ""))
    add_arguments(
        ev.add_argument_group("protocol presets (docs/evaluation.md)"),
        PresetChoice,
        defaults=PRESET_DEFAULTS,
    )
    add_arguments(ev.add_argument_group("run"), RunOptions)


def eval_request(args: argparse.Namespace) -> EvalRequest:
    """The request of ``eval``'s options: the nested records first (errors name their options),
    then the preset's fixes, then the whole request."""
    records: dict[str, Any] = {
        name: from_arguments(cls, args, prefix=OPTION_PREFIXES.get(name, ""))
        for name, cls in NESTED.items()
    }
    top = {
        k: v for k, v in given(EvalRequest, args).items() if k not in NESTED and k not in RECORDS
    }
    fixed = preset_fixes(args, top)
    fill: dict[str, Any] = {"num_workers": NUM_WORKERS, "cache_dir": default_cache_dir()}
    data = {**fill, **top, **records, **fixed}
    if from_arguments(RunOptions, args).no_cache:
        data["cache_dir"] = None  # even next to --cache-dir
    return parse(EvalRequest, data, "--")


def preset_fixes(args: argparse.Namespace, top: dict[str, Any]) -> dict[str, Any]:
    """The request fields ``--preset`` records and fixes (none without it); an option setting
    a fixed field is refused next to it, before any file is read."""
    choice = from_arguments(PresetChoice, args)
    if choice.preset is None:
        return {}
    clashes = [flag(k) for k in top if k in FIXES]
    for name, cls in NESTED.items():
        if name in FIXES:
            prefix = OPTION_PREFIXES.get(name, "")
            clashes += [flag(k, prefix) for k in given(cls, args, prefix=prefix)]
    if clashes:
        raise ConfigError(
            f"--preset {choice.preset} fixes {clashes}: drop them, or evaluate without --preset"
        )
    return choice.request(top["checkpoint"], top.get("val_set"))


def default_out(req: EvalRequest) -> Path:
    """``<checkpoint folder>/eval/<protocol>[-<k>shot|-<pct>pct]``, or ``<preset>-<setting>``."""
    tag = req.protocol
    if req.preset is not None:
        tag = f"{req.preset}-{(req.setting or 'full-shot').replace('%', 'pct')}"
    elif req.few_shot.shots is not None:
        tag += f"-{req.few_shot.shots}shot"
    elif req.few_shot.fraction is not None:
        tag += f"-{100 * req.few_shot.fraction:g}pct"
    return req.checkpoint.expanduser().parent / "eval" / tag


def _eval(args: argparse.Namespace) -> int:
    from rich.console import Console

    from solo_tase.eval.pipeline import evaluate
    from solo_tase.eval.report import comparison_table, write_result
    from solo_tase.utils.atomic import refuse_existing

    req = eval_request(args)
    run = from_arguments(RunOptions, args)
    out = run.out or default_out(req)
    refuse_existing(out, run.replace, "--out")  # before the work, not after it
    console = Console(stderr=True)

    def log(msg: str) -> None:
        console.print(msg, style="dim", markup=False, highlight=False, soft_wrap=True)

    document = evaluate(req, log=log)
    log(cache_summary(req.cache_dir))
    write_result(out, document, replace=run.replace)
    print(comparison_table([(str(out), document)]))
    print(f"\nwrote {out}/ (metrics.json, per_class.csv, per_class.png)")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from solo_tase.eval.report import compare_results
    from solo_tase.eval.splits import split_table

    print(split_table(args.runs) if args.over_splits else compare_results(args.runs))
    return 0
