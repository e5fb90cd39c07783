"""``solo-tase eval CHECKPOINT ...`` (group-wise evaluation) and ``solo-tase compare RUN...``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from solo_tase.eval.features import default_cache_dir
from solo_tase.eval.knn import KnnOptions
from solo_tase.eval.probe import LR_SCHEDULES, ProbeOptions

PROBE, KNN = ProbeOptions(), KnnOptions()


def register(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser(
        "eval", help="Many/Medium/Few evaluation of a solo-learn checkpoint",
        description="Evaluate the frozen backbone of a solo-learn checkpoint (args.json beside "
                    "it) with a linear probe or kNN; writes metrics.json, per_class.csv and "
                    "per_class.png. See docs/evaluation.md.")
    ev.add_argument("checkpoint", type=Path, help="solo-learn .ckpt or zoo weights file")
    data = ev.add_argument_group("data")
    data.add_argument("--probe-set", required=True,
                      help="balanced probe-training set: ImageFolder folder, or cifar10/cifar100")
    data.add_argument("--test-set", required=True,
                      help="test set: ImageFolder folder, or cifar10/cifar100")
    data.add_argument("--manifest", type=Path, default=None,
                      help="manifest.json of the long-tailed pre-training set (defines the groups;"
                           " default: data.long_tail.manifest of the run's args.json)")
    data.add_argument("--data-root", type=Path, default=None,
                      help="torchvision root holding CIFAR (for cifar10/cifar100 sets)")
    data.add_argument("--probe-indices", type=Path, default=None,
                      help=".npy of probe-set positions to use (e.g. SDCLR's trainIdxList.npy)")
    proto = ev.add_argument_group("protocol")
    proto.add_argument("--protocol", choices=("linear", "knn"), default="linear")
    few = proto.add_mutually_exclusive_group()
    few.add_argument("--shots", type=int, default=None, help="few-shot: images per class")
    few.add_argument("--fraction", type=float, default=None,
                     help="few-shot: class-balanced fraction of the probe set (0.01 = 1%%)")
    proto.add_argument("--seeds", type=int, nargs="+", default=[0],
                       help="seeds of the probe / few-shot draw; several: mean +- std")
    proto.add_argument("--resize", type=int, default=None,
                       help="resize before the centre crop (px; default from args.json)")
    lin = ev.add_argument_group("linear probe (BCL recipe)")
    lin.add_argument("--epochs", type=int, default=PROBE.epochs, help="default: %(default)s")
    lin.add_argument("--lr", type=float, default=PROBE.lr, help="default: %(default)s")
    lin.add_argument("--lr-min", type=float, default=PROBE.lr_min,
                     help="learning rate after the last epoch (default: %(default)s)")
    lin.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=PROBE.lr_schedule,
                     help="per-epoch decay from --lr to --lr-min (default: %(default)s)")
    lin.add_argument("--weight-decay", type=float, default=PROBE.weight_decay,
                     help="Adam weight decay (default: %(default)s)")
    lin.add_argument("--batch-size", type=int, default=PROBE.batch_size,
                     help="images per probe step (default: %(default)s)")
    knn = ev.add_argument_group("kNN")
    knn.add_argument("--k", type=int, default=KNN.k, help="neighbours (default: %(default)s)")
    knn.add_argument("--temperature", type=float, default=KNN.temperature,
                     help="vote weight exp(cosine / T) (default: %(default)s)")
    run = ev.add_argument_group("run")
    run.add_argument("--out", type=Path, default=None,
                     help="result folder (default: <checkpoint folder>/eval/<protocol>)")
    run.add_argument("--replace", action="store_true", help="overwrite an existing --out")
    run.add_argument("--device", default="auto", help="auto (GPU when present), cpu, cuda:0, ...")
    run.add_argument("--extract-batch-size", type=int, default=256)
    run.add_argument("--num-workers", type=int, default=4)
    run.add_argument("--cache-dir", type=Path, default=None,
                     help="feature cache (default: $SOLO_TASE_CACHE/features, else "
                          f"{default_cache_dir()})")
    run.add_argument("--no-cache", action="store_true", help="always extract features")
    ev.set_defaults(func=_eval)

    cmp = sub.add_parser("compare", help="Markdown table of several `solo-tase eval` results")
    cmp.add_argument("runs", nargs="+", type=Path, help="result folders or metrics.json files")
    cmp.set_defaults(func=_compare)


def default_out(args: argparse.Namespace) -> Path:
    """``<checkpoint folder>/eval/<protocol>[-<k>shot|-<pct>pct]``."""
    tag = args.protocol
    if args.shots is not None:
        tag += f"-{args.shots}shot"
    elif args.fraction is not None:
        tag += f"-{100 * args.fraction:g}pct"
    return args.checkpoint.expanduser().parent / "eval" / tag


def _eval(args: argparse.Namespace) -> int:
    from solo_tase.eval.pipeline import EvalRequest, evaluate
    from solo_tase.eval.report import comparison_table, refuse_existing, write_result

    out = args.out or default_out(args)
    refuse_existing(out, args.replace)  # before the work, not after it
    req = EvalRequest(
        checkpoint=args.checkpoint, probe_set=args.probe_set, test_set=args.test_set,
        manifest=args.manifest, data_root=args.data_root, protocol=args.protocol,
        shots=args.shots, fraction=args.fraction, seeds=tuple(args.seeds),
        probe_indices=args.probe_indices,
        probe=ProbeOptions(epochs=args.epochs, lr=args.lr, lr_min=args.lr_min,
                           lr_schedule=args.lr_schedule, weight_decay=args.weight_decay,
                           batch_size=args.batch_size),
        knn=KnnOptions(k=args.k, temperature=args.temperature), resize=args.resize,
        device=args.device, extract_batch_size=args.extract_batch_size,
        num_workers=args.num_workers,
        cache_dir=None if args.no_cache else (args.cache_dir or default_cache_dir()),
    )
    console = Console(stderr=True)

    def log(msg: str) -> None:
        console.print(msg, style="dim", markup=False, highlight=False, soft_wrap=True)

    document = evaluate(req, log=log)
    write_result(out, document, replace=args.replace)
    print(comparison_table([(str(out), document)]))
    print(f"\nwrote {out}/ (metrics.json, per_class.csv, per_class.png)")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from solo_tase.eval.report import comparison_table, load_metrics

    print(comparison_table([(str(path), load_metrics(path)) for path in args.runs]))
    return 0
