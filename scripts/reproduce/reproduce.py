"""Reproduction recipe of one long-tailed SSL benchmark under a published protocol preset: every
method pre-trained on every split of the preset with the preset's recipe for that method, each
evaluated with the preset's settings, then one table per setting (mean ± std over the splits) and
the zoo entries of the first split.

    python scripts/reproduce/reproduce.py cifar100-lt --data-root ~/data --splits ~/splits \
        [--dry-run]
    python scripts/reproduce/reproduce.py imagenet100-lt --data-root /data/imagenet \
        --splits ~/splits [--dry-run]

``--preset`` (sdclr, bcl, gh) chooses the protocol (docs/evaluation.md); the default is the one
whose published table the benchmark's numbers are compared against, named in the output.
``--splits`` is the folder holding the projects' split folders as ``sdclr/``, ``bcl/``, ``gh/``.
It runs solo-learn's own main_pretrain.py (from $SOLO_LEARN_DIR or the installed checkout) with
``scripts/pretrain/<benchmark>/<method>.yaml`` plus the preset's split and its recipe for the
method (weight decay, epochs, projection head, method settings; printed first), and then
``solo-tase`` commands; ``--dry-run`` prints the exact commands without running them. Extra Hydra
overrides for every pre-training go after ``--set``, extra ``solo-tase eval`` options (device,
workers) in ``--eval-options``. Finished steps are skipped when the command is run again.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from solo_tase.config_folders import config_folder  # noqa: E402
from solo_tase.eval.presets import (  # noqa: E402
    DEFAULT_PRESET,
    GH_SUFFIX,
    IMAGENET100_TRAIN,
    PRESETS,
    MethodRecipe,
    Preset,
    Protocol,
    Setting,
    default_splits_root,
    split_file,
)
from solo_tase.eval.probe_lists import (  # noqa: E402
    check_disjoint_lists,
    train_folder_list,
    write_list,
)
from solo_tase.experiments import find_solo_learn_dir, pretrain_command, run  # noqa: E402
from solo_tase.run_folder import last_checkpoint, run_folder  # noqa: E402

BENCHMARKS = ("cifar10-lt", "cifar100-lt", "imagenet100-lt")
METHODS = ("simclr", "ts", "sdclr", "bcl", "bcl_d", "tase")  # bcl: BCL-I, bcl_d: BCL-D
# on request: the plugin's SimCLR (solo-learn's, with the blocks) and methods + GH
MORE_METHODS = ("simclr_plus", *(m + GH_SUFFIX for m in ("simclr", "sdclr", "bcl")))
IMAGENET100_TEST = "sdclr/imagenet-100/ImageNet_100_test.txt"


@dataclass
class Step:
    """One command: what it is, its argv, the folder it runs in, the file it leaves when done."""

    title: str
    argv: list[str]
    cwd: Path
    done: Path | None = None


@dataclass
class Plan:
    """What the steps of every method share: the protocol, the splits, the data overrides of
    pre-training and the data options of ``solo-tase eval`` per setting."""

    preset: Preset
    protocol: Protocol
    splits: list[int]
    data_overrides: list[str]
    probe_sets: dict[str, list[str]]


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


def config_name(method: str, recipe: MethodRecipe) -> str:
    """The shipped config a method runs from (``<config>.yaml``): ``<name>_gh`` runs ``<name>``;
    SimCLR given a head or a block runs as ``simclr_plus`` (solo-learn's SimCLR takes neither)."""
    base = method.removesuffix(GH_SUFFIX)
    return "simclr_plus" if base == "simclr" and recipe.method_kwargs else base


def checkpoint(args: argparse.Namespace, pre: Path, config: str) -> str:
    """The last checkpoint of a pre-training (its folder is named after the config's method)."""
    method = yaml.safe_load(
        (config_folder("pretrain", args.benchmark) / f"{config}.yaml").read_text()
    )
    if args.dry_run:
        return f"{pre}/{method['method']}/<version>/<name>-<version>-ep=<last>.ckpt"
    return str(last_checkpoint(run_folder(pre, method["method"])))


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


def build_step(root: Path, out: Path, list_name: str, name: str) -> Step:
    """Symlinked ImageFolder of one list of the preset (``out/<name>/train``)."""
    argv = ["data", "build", "list", "--root", str(root), "--train-list", list_name]
    return Step(
        f"{name}: folder of {Path(list_name).name} (symlinks)",
        solo_tase(*argv, "--name", name, "--out", str(out / name)),
        REPO,
        out / name / "manifest.json",
    )


def probe_list(args: argparse.Namespace, protocol: Protocol, setting: Setting) -> str:
    """The list a setting's probe folder is built from: the preset's, or for SDCLR's full-shot
    ImageNet-100 probe ``--imagenet100-train-list`` (a list without the held-out images, or the
    train folder: the list of its images less the held-out ones is written under ``--out``)."""
    assert setting.probe_list is not None and protocol.val is not None
    given = args.imagenet100_train_list
    if setting.probe_list != IMAGENET100_TRAIN or given is None:
        return reference(args, setting.probe_list)
    held_out = Path(reference(args, protocol.val))
    if not given.is_dir():
        if not args.dry_run:
            check_disjoint_lists(given, held_out)
        return str(given)
    out = args.out / "data" / Path(IMAGENET100_TRAIN).name
    if not args.dry_run:
        classes = Path(reference(args, protocol.pretrain_splits[0]))
        write_list(train_folder_list(given, args.data_root, classes, held_out), out)
    return str(out)


def cifar_data(args: argparse.Namespace, protocol: Protocol) -> tuple[list[str], dict]:
    """CIFAR: solo-learn's own set (the split applied in place) and torchvision's for eval."""
    dataset = args.benchmark.split("-")[0]
    overrides = [f"data.train_path={args.data_root}", f"data.val_path={args.data_root}"]
    cifar = ["--probe-set", dataset, "--test-set", dataset, "--data-root", str(args.data_root)]
    return overrides, {s.name: cifar for s in protocol.settings}


def list_data(
    args: argparse.Namespace, protocol: Protocol
) -> Generator[Step, None, tuple[list[str], dict]]:
    """ImageNet-100: the steps building folders from the preset's lists (train, test, held-out,
    probes); returns the pre-training overrides and the eval options per setting."""
    data = args.out / "data"
    lt = data / "imagenet100-lt"
    lists = {s.name: probe_list(args, protocol, s) for s in protocol.settings}  # checked first
    yield Step(
        "long-tailed train set and balanced test set (symlinks)",
        solo_tase(
            *("data", "build", "imagenet100-lt", "--root", str(args.data_root)),
            *("--train-list", reference(args, protocol.pretrain_splits[0])),
            *("--val-list", reference(args, IMAGENET100_TEST), "--out", str(lt)),
        ),
        REPO,
        lt / "manifest.json",
    )
    common = ["--test-set", str(lt / "val"), "--manifest", str(lt / "manifest.json")]
    if protocol.val and not protocol.val.endswith(".npy"):
        yield build_step(args.data_root, data, reference(args, protocol.val), "held-out")
        common += ["--val-set", str(data / "held-out" / "train")]
    probe_sets = {}
    for s in protocol.settings:
        name = f"probe-{slug(s.name)}"
        yield build_step(args.data_root, data, lists[s.name], name)
        probe_sets[s.name] = ["--probe-set", str(data / name / "train"), *common]
    return [f"data.train_path={lt / 'train'}", f"data.val_path={lt / 'val'}"], probe_sets


def eval_steps(
    args: argparse.Namespace, plan: Plan, ckpt: str, method: str, split: int
) -> Iterator[Step]:
    """``solo-tase eval --preset`` of one checkpoint, one step per setting."""
    for s in plan.protocol.settings:
        result = args.out / "eval" / slug(s.name) / method / f"split{split}"
        options = ["--preset", plan.preset.name, "--setting", s.name, "--split", str(split)]
        options += ["--benchmark", args.benchmark, "--splits", str(args.splits)]
        yield Step(
            f"evaluate {method} ({s.name}, split{split})",
            solo_tase(
                "eval",
                ckpt,
                *plan.probe_sets[s.name],
                *options,
                *("--out", str(result), "--replace"),
                *shlex.split(args.eval_options),
            ),
            REPO,
            result / "metrics.json",
        )


def method_steps(
    args: argparse.Namespace, plan: Plan, solo_dir: Path, method: str
) -> Iterator[Step]:
    """Pre-train ``method`` on every split with the preset's recipe, evaluate, publish split 1."""
    recipe = plan.protocol.recipe(method)
    config = config_name(method, recipe)
    checkpoints = []
    for split in plan.splits:
        pre = args.out / "pretrain" / f"split{split}" / method
        overrides = [
            *plan.data_overrides,
            *long_tail_overrides(plan.protocol, args, split),
            *recipe.overrides(),
            *args.set,
        ]
        yield Step(
            f"pre-train {method} (split{split} of {plan.protocol.num_splits})",
            pretrain_command(
                solo_dir, config_folder("pretrain", args.benchmark), config, pre, overrides
            ),
            solo_dir,
            pre / "done",
        )
        checkpoints.append(checkpoint(args, pre, config))
        yield from eval_steps(args, plan, checkpoints[-1], method, split)
    yield publish_step(args, plan, method, checkpoints[0])


def publish_step(args: argparse.Namespace, plan: Plan, method: str, ckpt: str) -> Step:
    """The zoo entry of the first split's checkpoint with every setting's metrics."""
    first = f"split{plan.splits[0]}"
    publish = solo_tase("zoo", "publish", str(Path(ckpt).parent), "--zoo-dir", str(args.zoo_dir))
    publish.append("--replace")
    for s in plan.protocol.settings:
        metrics = args.out / "eval" / slug(s.name) / method / first / "metrics.json"
        publish += ["--metrics", str(metrics)]
    if args.url_prefix:
        publish += ["--url", f"{args.url_prefix.rstrip('/')}/{args.benchmark}-{method}.pth"]
    return Step(f"publish {method} ({first}) to the zoo", publish, REPO)


def steps(args: argparse.Namespace, solo_dir: Path) -> Iterator[Step]:
    """The recipe's commands in order (later ones may depend on earlier ones' outputs)."""
    preset = PRESETS[args.preset]
    protocol = preset.protocol(args.benchmark)
    if args.benchmark.startswith("cifar"):
        data = cifar_data(args, protocol)
    else:
        data = yield from list_data(args, protocol)
    splits = args.pretrain_splits or list(range(1, protocol.num_splits + 1))
    plan = Plan(preset, protocol, splits, *data)
    for method in args.methods:
        yield from method_steps(args, plan, solo_dir, method)
    for s in protocol.settings:
        folders = [str(args.out / "eval" / slug(s.name) / m) for m in args.methods]
        yield Step(
            f"results ({preset.name} preset, {s.name}): mean ± std over {len(splits)} "
            "pre-training split(s)",
            solo_tase("compare", "--over-splits", *folders),
            REPO,
        )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("benchmark", choices=BENCHMARKS)
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help=f"published protocol (default: the table the benchmark is compared against: "
        f"{DEFAULT_PRESET})",
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
        help=f"imagenet100-lt, sdclr full-shot: instead of {IMAGENET100_TRAIN} under --splits, "
        "another list of the probe images, or ImageNet's train folder (under --data-root): the "
        "list of its images of the 100 classes less the held-out ImageNet_100_val.txt ones",
    )
    add_run_options(p)
    return p


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of what runs and where: methods, overrides, output, zoo, dry run."""
    p.add_argument(
        "--out", type=Path, default=None, help="default: runs/reproduce/<benchmark>-<preset>"
    )
    p.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS + MORE_METHODS,
        default=list(METHODS),
        help=f"default: {' '.join(METHODS)}; <name>{GH_SUFFIX}: <name> with Geometric "
        "Harmonization (with GH's own settings under --preset gh)",
    )
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


def resolve(p: argparse.ArgumentParser, args: argparse.Namespace) -> Protocol:
    """Fill the defaults of ``args``; ``p.error`` for a preset without the benchmark or splits
    it does not have. Returns the preset's protocol of the benchmark."""
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
    args.splits = (args.splits or default_splits_root()).expanduser().resolve()
    args.out = (args.out or Path("runs/reproduce") / f"{args.benchmark}-{args.preset}").resolve()
    args.zoo_dir = (args.zoo_dir or args.out / "zoo").resolve()
    args.data_root = args.data_root.expanduser().resolve()
    return protocol


def header(args: argparse.Namespace, protocol: Protocol) -> list[str]:
    """The preset, its protocol and each method's pre-training recipe, as comment lines."""
    preset = PRESETS[args.preset]
    default = args.preset == DEFAULT_PRESET[args.benchmark]
    lines = [
        f"# preset {preset.name}: {preset.paper}, {preset.code}; results: {preset.aggregate}"
        + (" (the default for this benchmark)" if default else ""),
        f"# probe set: {protocol.probe_set}; test set: {protocol.test_set}; groups: "
        f"{protocol.group_rule}; from {', '.join(protocol.sources)}",
    ]
    for method in args.methods:
        recipe = protocol.recipe(method)
        lines.append(
            f"# pre-training of {method} ({config_name(method, recipe)}.yaml): {recipe.describe()}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    protocol = resolve(p, args)
    print("\n".join(header(args, protocol)), flush=True)
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
