"""Reproduction recipe of one long-tailed SSL benchmark under a published protocol preset: every
method pre-trained on every split of the preset, each evaluated with the preset's settings, then
one table per setting (mean ± std over the splits) and the zoo entries of the first split.

    python scripts/reproduce/reproduce.py cifar100-lt --data-root ~/data --splits ~/splits \
        [--dry-run]
    python scripts/reproduce/reproduce.py imagenet100-lt --data-root /data/imagenet \
        --splits ~/splits --imagenet100-train-list ImageNet_100_train.txt [--dry-run]

``--preset`` (sdclr, bcl, gh) chooses the protocol (docs/evaluation.md); the default is the one
whose published table the benchmark's numbers are compared against, named in the output.
``--splits`` is the folder holding the projects' split folders as ``sdclr/``, ``bcl/``, ``gh/``.
It runs solo-learn's own main_pretrain.py (from $SOLO_LEARN_DIR or the installed checkout) with
``scripts/pretrain/<benchmark>/<method>.yaml`` plus the preset's split and weight decay, and then
``solo-tase`` commands; ``--dry-run`` prints the exact commands without running them. Extra Hydra
overrides for every pre-training go after ``--set``, extra ``solo-tase eval`` options (device,
workers) in ``--eval-options``. Finished steps are skipped when the command is run again.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from solo_tase.eval.presets import (  # noqa: E402
    DEFAULT_PRESET,
    PRESETS,
    Protocol,
    default_splits_root,
    get_preset,
    split_file,
)
from solo_tase.run_folder import last_checkpoint, run_folder  # noqa: E402
from solo_tase.config_folders import config_folder  # noqa: E402
from solo_tase.experiments import find_solo_learn_dir, pretrain_command, run  # noqa: E402

BENCHMARKS = ("cifar10-lt", "cifar100-lt", "imagenet100-lt")
METHODS = ("simclr", "ts", "sdclr", "bcl", "bcl_d", "tase")  # bcl: BCL-I, bcl_d: BCL-D
SOLO_METHOD = {"bcl_d": "sdclr"}  # config -> cfg.method (the Checkpointer's folder) if different
IMAGENET100_TEST = "sdclr/imagenet-100/ImageNet_100_test.txt"


@dataclass
class Step:
    """One command: what it is, its argv, the folder it runs in, the file it leaves when done."""

    title: str
    argv: list[str]
    cwd: Path
    done: Path | None = None


def solo_tase(*args: str) -> list[str]:
    return [sys.executable, "-m", "solo_tase.cli.main", *args]


def slug(setting: str) -> str:
    """A folder name for a setting: ``1%`` -> ``1pct``."""
    return setting.replace("%", "pct")


def reference(args: argparse.Namespace, name: str) -> str:
    """A reference file under ``--splits`` (checked, except in a dry run)."""
    if args.dry_run:
        return str(args.splits / name)
    return str(split_file(args.splits, name))


def long_tail_overrides(protocol: Protocol, args: argparse.Namespace, split: int) -> list[str]:
    """Hydra overrides that make the config's ``data.long_tail`` block the preset's split."""
    if protocol.pretrain_draw == "split_file":
        path = reference(args, protocol.pretrain_splits[split - 1])
        return [
            "data.long_tail.source=sdclr",
            "~data.long_tail.ratio",
            "~data.long_tail.seed",
            f"+data.long_tail.split_file={path}",
        ]
    if protocol.pretrain_draw == "ldam":
        return ["+data.long_tail.draw=ldam", "data.long_tail.seed=0"]
    return []  # "list": the built folder is the split


def build_step(root: Path, out: Path, list_name: str, name: str, *extra: str) -> Step:
    """Symlinked ImageFolder of one list of the preset (``out/<name>/train``)."""
    return Step(
        f"{name}: folder of {Path(list_name).name} (symlinks)",
        solo_tase(
            "data",
            "build",
            "list",
            "--root",
            str(root),
            "--train-list",
            list_name,
            "--name",
            name,
            "--out",
            str(out / name),
            *extra,
        ),
        REPO,
        out / name / "manifest.json",
    )


def steps(args: argparse.Namespace, solo_dir: Path) -> Iterator[Step]:
    """The recipe's commands in order (later ones may depend on earlier ones' outputs)."""
    out, bench = args.out, args.benchmark
    preset = get_preset(args.preset)
    protocol = preset.protocol(bench)
    splits = args.pretrain_splits or list(range(1, protocol.num_splits + 1))
    data = out / "data"
    probe_sets: dict[str, list[str]] = {}
    if bench.startswith("cifar"):
        dataset = bench.split("-")[0]
        data_overrides = [f"data.train_path={args.data_root}", f"data.val_path={args.data_root}"]
        cifar = ["--probe-set", dataset, "--test-set", dataset, "--data-root", str(args.data_root)]
        probe_sets = {s.name: cifar for s in protocol.settings}
    else:
        lt = data / "imagenet100-lt"
        yield Step(
            "long-tailed train set and balanced test set (symlinks)",
            solo_tase(
                "data",
                "build",
                "imagenet100-lt",
                "--root",
                str(args.data_root),
                "--train-list",
                reference(args, protocol.pretrain_splits[0]),
                "--val-list",
                reference(args, IMAGENET100_TEST),
                "--out",
                str(lt),
            ),
            REPO,
            lt / "manifest.json",
        )
        data_overrides = [f"data.train_path={lt / 'train'}", f"data.val_path={lt / 'val'}"]
        common = ["--test-set", str(lt / "val"), "--manifest", str(lt / "manifest.json")]
        if protocol.val and not protocol.val.endswith(".npy"):
            yield build_step(args.data_root, data, reference(args, protocol.val), "held-out")
            common += ["--val-set", str(data / "held-out" / "train")]
        for s in protocol.settings:
            name = f"probe-{slug(s.name)}"
            listed = (
                reference(args, s.probe_list) if s.probe_list else str(args.imagenet100_train_list)
            )
            yield build_step(args.data_root, data, listed, name)
            probe_sets[s.name] = ["--probe-set", str(data / name / "train"), *common]
    results: dict[str, list[str]] = {s.name: [] for s in protocol.settings}
    first_ckpt = ""
    for method in args.methods:
        for s in protocol.settings:
            results[s.name].append(str(out / "eval" / slug(s.name) / method))
        for split in splits:
            tag = f"split{split}"
            pre = out / "pretrain" / tag / method
            overrides = [
                *data_overrides,
                *long_tail_overrides(protocol, args, split),
                f"optimizer.weight_decay={protocol.weight_decay:g}",
                *args.set,
            ]
            yield Step(
                f"pre-train {method} ({tag} of {protocol.num_splits})",
                pretrain_command(
                    solo_dir, config_folder("pretrain", bench), method, pre, overrides
                ),
                solo_dir,
                pre / "done",
            )
            ckpt = _checkpoint(pre, method, args.dry_run)
            first_ckpt = first_ckpt if split != splits[0] else ckpt
            for s in protocol.settings:
                result = out / "eval" / slug(s.name) / method / tag
                yield Step(
                    f"evaluate {method} ({s.name}, {tag})",
                    solo_tase(
                        "eval",
                        ckpt,
                        *probe_sets[s.name],
                        "--preset",
                        preset.name,
                        "--setting",
                        s.name,
                        "--split",
                        str(split),
                        "--benchmark",
                        bench,
                        "--splits",
                        str(args.splits),
                        "--out",
                        str(result),
                        "--replace",
                        *shlex.split(args.eval_options),
                    ),
                    REPO,
                    result / "metrics.json",
                )
        first = f"split{splits[0]}"
        publish = solo_tase(
            "zoo",
            "publish",
            str(Path(first_ckpt).parent),
            "--zoo-dir",
            str(args.zoo_dir),
            "--replace",
            *sum(
                (
                    [
                        "--metrics",
                        str(out / "eval" / slug(s.name) / method / first / "metrics.json"),
                    ]
                    for s in protocol.settings
                ),
                [],
            ),
        )
        if args.url_prefix:
            publish += ["--url", f"{args.url_prefix.rstrip('/')}/{bench}-{method}.pth"]
        yield Step(f"publish {method} ({first}) to the zoo", publish, REPO)
    for s in protocol.settings:
        yield Step(
            f"results ({preset.name} preset, {s.name}): mean ± std over {len(splits)} "
            "pre-training split(s)",
            solo_tase("compare", "--over-splits", *results[s.name]),
            REPO,
        )


def _checkpoint(pre: Path, method: str, dry_run: bool) -> str:
    method = SOLO_METHOD.get(method, method)
    if dry_run:
        return f"{pre}/{method}/<version>/<name>-<version>-ep=<last>.ckpt"
    return str(last_checkpoint(run_folder(pre, method)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("benchmark", choices=BENCHMARKS)
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="published protocol (default: the table the benchmark is compared "
        f"against: {DEFAULT_PRESET})",
    )
    p.add_argument(
        "--data-root",
        type=Path,
        required=True,
        help="CIFAR: torchvision root (cifar-*-python/); ImageNet-100: the image root "
        "the lists' relative paths start from",
    )
    p.add_argument(
        "--splits",
        type=Path,
        default=None,
        help="folder holding the projects' split folders as sdclr/, bcl/, gh/ "
        "(default: $SOLO_TASE_SPLITS, else ./reference-splits)",
    )
    p.add_argument(
        "--pretrain-splits",
        type=int,
        nargs="+",
        default=None,
        metavar="K",
        help="only these pre-training splits (default: all of the preset's)",
    )
    p.add_argument(
        "--imagenet100-train-list",
        type=Path,
        default=None,
        help="imagenet100-lt, sdclr full-shot: the list of the whole ImageNet-100 "
        "train set (SDCLR's ImageNet_100_train.txt, not in its release)",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="default: runs/reproduce/<benchmark>-<preset>"
    )
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="OVERRIDE",
        help="Hydra overrides for every pre-training run",
    )
    p.add_argument(
        "--eval-options",
        default="",
        metavar="OPTIONS",
        help='extra options for every `solo-tase eval`, one string (e.g. "--num-workers 8")',
    )
    p.add_argument("--zoo-dir", type=Path, default=None, help="default: <out>/zoo")
    p.add_argument("--url-prefix", default=None, help="download URL prefix for the zoo cards")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = p.parse_args(argv)
    args.preset = args.preset or DEFAULT_PRESET[args.benchmark]
    preset = PRESETS[args.preset]
    if args.benchmark not in preset.benchmarks:
        p.error(
            f"--preset {preset.name} has no protocol for {args.benchmark} (it covers "
            f"{sorted(preset.benchmarks)})"
        )
    protocol = preset.benchmarks[args.benchmark]
    bad = [k for k in args.pretrain_splits or () if not 1 <= k <= protocol.num_splits]
    if bad:
        p.error(
            f"--pretrain-splits {bad}: preset {preset.name} has splits 1..{protocol.num_splits}"
        )
    needs_train = any(s.probe_list is None for s in protocol.settings)
    if args.benchmark == "imagenet100-lt" and needs_train and args.imagenet100_train_list is None:
        if not args.dry_run:
            p.error(
                "imagenet100-lt: pass --imagenet100-train-list, the list of the whole "
                "ImageNet-100 train set that the full-shot probe trains on"
            )
        args.imagenet100_train_list = Path("<ImageNet_100_train.txt>")
    args.splits = (args.splits or default_splits_root()).expanduser().resolve()
    args.out = (args.out or Path("runs/reproduce") / f"{args.benchmark}-{args.preset}").resolve()
    args.zoo_dir = (args.zoo_dir or args.out / "zoo").resolve()
    args.data_root = args.data_root.expanduser().resolve()
    print(
        f"# preset {preset.name}: {preset.paper}, {preset.code}; results: {preset.aggregate}"
        + (
            " (the default for this benchmark)"
            if args.preset == DEFAULT_PRESET[args.benchmark]
            else ""
        ),
        flush=True,
    )
    print(
        f"# probe set: {protocol.probe_set}; test set: {protocol.test_set}; groups: "
        f"{protocol.group_rule}; pre-training weight decay {protocol.weight_decay:g}; from "
        f"{', '.join(protocol.sources)}",
        flush=True,
    )
    try:
        solo_dir = find_solo_learn_dir()
    except FileNotFoundError:
        if not args.dry_run:
            raise
        solo_dir = Path("<solo-learn checkout>")
    for step in steps(args, solo_dir):
        print(
            f"# {step.title}\n(cd {shlex.quote(str(step.cwd))} && {shlex.join(step.argv)})",
            flush=True,
        )
        if args.dry_run:
            continue
        if step.done is not None and step.done.exists():
            print("  already done, skipped")
            continue
        run(step.argv, cwd=step.cwd)
        if step.done is not None and step.done.name == "done":
            step.done.touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
