"""Reproduction recipe of one long-tailed SSL benchmark: every method, then the evaluation
(full-shot linear probe and 1% few-shot), the comparison table and the zoo entries.

    python scripts/reproduce/reproduce.py cifar100-lt --data-root ~/data [--dry-run]
    python scripts/reproduce/reproduce.py imagenet100-lt --data-root /data/imagenet \
        --lists /path/to/imagenet-100 [--dry-run]

It runs solo-learn's own main_pretrain.py (from $SOLO_LEARN_DIR or the installed checkout) with
``scripts/pretrain/<benchmark>/<method>.yaml`` and then ``solo-tase`` commands; ``--dry-run`` prints
the exact commands without running them. Extra Hydra overrides for every pre-training go after
``--set`` (e.g. ``--set devices=[0,1,2,3] optimizer.batch_size=128``), extra ``solo-tase eval``
options in ``--eval-options "--epochs 100"``. Finished steps are skipped when the command is run
again.
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

from solo_tase.experiments import (  # noqa: E402
    PRETRAIN_CONFIGS,
    find_solo_learn_dir,
    last_checkpoint,
    pretrain_command,
    run,
    run_folder,
)

BENCHMARKS = ("cifar10-lt", "cifar100-lt", "imagenet100-lt")
METHODS = ("simclr", "ts", "sdclr", "tase")
# ImageNet-100-LT lists (SDCLR's release): long-tailed train, balanced train, test
IMAGENET100_LISTS = {"train": "imageNet_100_LT_train.txt", "balanced": "imageNet_100_BL_train.txt",
                     "test": "ImageNet_100_test.txt"}
PROTOCOLS = {"full-shot": [], "few-shot-1pct": ["--fraction", "0.01", "--seeds", "0", "1", "2"]}


@dataclass
class Step:
    """One command: what it is, its argv, the folder it runs in, the file it leaves when done."""

    title: str
    argv: list[str]
    cwd: Path
    done: Path | None = None


def solo_tase(*args: str) -> list[str]:
    return [sys.executable, "-m", "solo_tase.cli.main", *args]


def steps(args: argparse.Namespace, solo_dir: Path) -> Iterator[Step]:
    """The recipe's commands in order (later ones may depend on earlier ones' outputs)."""
    out = args.out.resolve()
    bench = args.benchmark
    cifar = bench.startswith("cifar")
    data = out / "data"
    if cifar:
        dataset = bench.split("-")[0]
        data_overrides = [f"data.train_path={args.data_root}", f"data.val_path={args.data_root}"]
        eval_sets = ["--probe-set", dataset, "--test-set", dataset, "--data-root", str(args.data_root)]
    else:
        lists = args.lists
        lt, bl = data / "imagenet100-lt", data / "imagenet100-bl"
        yield Step("long-tailed train set and balanced test set (symlinks)",
                   solo_tase("data", "build", "imagenet100-lt", "--root", str(args.data_root),
                             "--train-list", str(lists / IMAGENET100_LISTS["train"]),
                             "--val-list", str(lists / IMAGENET100_LISTS["test"]), "--out", str(lt)),
                   REPO, lt / "manifest.json")
        yield Step("balanced probe-training set (symlinks)",
                   solo_tase("data", "build", "list", "--root", str(args.data_root),
                             "--train-list", str(lists / IMAGENET100_LISTS["balanced"]),
                             "--name", "imagenet100-bl", "--out", str(bl)),
                   REPO, bl / "manifest.json")
        data_overrides = [f"data.train_path={lt / 'train'}", f"data.val_path={lt / 'val'}"]
        eval_sets = ["--probe-set", str(bl / "train"), "--test-set", str(lt / "val"),
                     "--manifest", str(lt / "manifest.json")]
    results: dict[str, list[str]] = {p: [] for p in PROTOCOLS}
    for method in args.methods:
        pre = out / "pretrain" / method
        yield Step(f"pre-train {method}",
                   pretrain_command(solo_dir, PRETRAIN_CONFIGS / bench, method, pre,
                                    data_overrides + list(args.set)),
                   solo_dir, pre / "done")
        ckpt = _checkpoint(pre, method, args.dry_run)
        for protocol, options in PROTOCOLS.items():
            result = out / "eval" / protocol / method
            results[protocol].append(str(result))
            yield Step(f"evaluate {method} ({protocol})",
                       solo_tase("eval", ckpt, *eval_sets, "--out", str(result), "--replace",
                                 *options, *shlex.split(args.eval_options)),
                       REPO, result / "metrics.json")
        publish = solo_tase("zoo", "publish", str(Path(ckpt).parent), "--zoo-dir", str(args.zoo_dir),
                            "--replace", *sum((["--metrics", str(out / "eval" / p / method / "metrics.json")]
                                               for p in PROTOCOLS), []))
        if args.url_prefix:
            publish += ["--url", f"{args.url_prefix.rstrip('/')}/{bench}-{method}.pth"]
        yield Step(f"publish {method} to the zoo", publish, REPO)
    for protocol, folders in results.items():
        yield Step(f"comparison table ({protocol})", solo_tase("compare", *folders), REPO)


def _checkpoint(pre: Path, method: str, dry_run: bool) -> str:
    if dry_run:
        return f"{pre}/{method}/<version>/<name>-<version>-ep=<last>.ckpt"
    return str(last_checkpoint(run_folder(pre, method)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", choices=BENCHMARKS)
    p.add_argument("--data-root", type=Path, required=True,
                   help="CIFAR: torchvision root (cifar-*-python/); ImageNet-100: the image root "
                        "the lists' relative paths start from")
    p.add_argument("--lists", type=Path, default=REPO.parent / "shared" / "reference-splits" / "sdclr" / "imagenet-100",
                   help="folder with the ImageNet-100-LT lists (default: %(default)s)")
    p.add_argument("--out", type=Path, default=None, help="default: runs/reproduce/<benchmark>")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--set", nargs="*", default=[], metavar="OVERRIDE",
                   help="Hydra overrides for every pre-training run")
    p.add_argument("--eval-options", default="", metavar="OPTIONS",
                   help='extra options for every `solo-tase eval`, one string (e.g. "--epochs 100")')
    p.add_argument("--zoo-dir", type=Path, default=None, help="default: <out>/zoo")
    p.add_argument("--url-prefix", default=None, help="download URL prefix for the zoo cards")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = p.parse_args(argv)
    args.out = (args.out or Path("runs/reproduce") / args.benchmark).resolve()
    args.zoo_dir = (args.zoo_dir or args.out / "zoo").resolve()
    args.data_root = args.data_root.expanduser().resolve()
    try:
        solo_dir = find_solo_learn_dir()
    except FileNotFoundError:
        if not args.dry_run:
            raise
        solo_dir = Path("<solo-learn checkout>")
    for step in steps(args, solo_dir):
        print(f"# {step.title}\n(cd {shlex.quote(str(step.cwd))} && {shlex.join(step.argv)})",
              flush=True)
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
