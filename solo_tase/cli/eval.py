"""``solo-tase eval CHECKPOINT ...`` (group-wise evaluation) and ``solo-tase compare RUN...``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from solo_tase.eval.features import default_cache_dir
from solo_tase.eval.knn import KnnOptions
from solo_tase.eval.presets import PRESETS, SPLITS_ENV
from solo_tase.eval.probe import LR_SCHEDULES, ProbeOptions
from solo_tase.settings import ConfigError

PROBE, KNN = ProbeOptions(), KnnOptions()
PROBE_FLAGS = {
    "epochs": "--epochs",
    "lr": "--lr",
    "lr_min": "--lr-min",
    "lr_schedule": "--lr-schedule",
    "weight_decay": "--weight-decay",
    "batch_size": "--batch-size",
}
PRESET_FIXES = {
    "probe_indices": "--probe-indices",
    "shots": "--shots",
    "fraction": "--fraction",
    "recipe": "--recipe",
    "augment": "--augment",
    "val_indices": "--val-indices",
}


def register(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser(
        "eval",
        help="Many/Medium/Few evaluation of a solo-learn checkpoint",
        description="Evaluate the frozen backbone of a solo-learn checkpoint (args.json beside "
        "it) with a linear probe or kNN; writes metrics.json, per_class.csv and "
        "per_class.png. See docs/evaluation.md.",
    )
    ev.add_argument("checkpoint", type=Path, help="solo-learn .ckpt or zoo weights file")
    data = ev.add_argument_group("data")
    data.add_argument(
        "--probe-set",
        required=True,
        help="balanced probe-training set: ImageFolder folder, or cifar10/cifar100",
    )
    data.add_argument(
        "--test-set", required=True, help="test set: ImageFolder folder, or cifar10/cifar100"
    )
    data.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="manifest.json of the long-tailed pre-training set (defines the groups;"
        " default: data.long_tail.manifest of the run's args.json)",
    )
    data.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="torchvision root holding CIFAR (for cifar10/cifar100 sets)",
    )
    data.add_argument(
        "--probe-indices",
        type=Path,
        nargs="+",
        default=None,
        help=".npy of probe-set positions to use (e.g. SDCLR's trainIdxList.npy); "
        "several files: one probe each, mean +- std over them",
    )
    data.add_argument(
        "--val-indices",
        type=Path,
        default=None,
        help="sdclr-sgd: .npy of held-out probe-set positions (SDCLR's valIdxList)",
    )
    data.add_argument(
        "--val-set",
        default=None,
        help="sdclr-sgd: a separate held-out set (folder, or cifar10/cifar100)",
    )
    pre = ev.add_argument_group("protocol presets (docs/evaluation.md)")
    pre.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="a published protocol: fixes the probe files, recipe and augmentation",
    )
    pre.add_argument(
        "--setting",
        default=None,
        help="the preset's setting (full-shot, 1%%, 100-shot, 50-shot; default: full-shot)",
    )
    pre.add_argument(
        "--split",
        type=int,
        default=None,
        help="the D_i pre-training split (1-5) of the checkpoint, for split-paired "
        "files (SDCLR's S_b)",
    )
    pre.add_argument(
        "--benchmark",
        default=None,
        help="cifar10-lt, cifar100-lt, imagenet100-lt, ... (default: from the run's data.dataset)",
    )
    pre.add_argument(
        "--splits",
        type=Path,
        default=None,
        help=f"folder holding the projects' split folders as sdclr/, bcl/, gh/ "
        f"(default: ${SPLITS_ENV}, else ./reference-splits)",
    )
    proto = ev.add_argument_group("protocol")
    proto.add_argument("--protocol", choices=("linear", "knn"), default="linear")
    few = proto.add_mutually_exclusive_group()
    few.add_argument("--shots", type=int, default=None, help="few-shot: images per class")
    few.add_argument(
        "--fraction",
        type=float,
        default=None,
        help="few-shot: class-balanced fraction of the probe set (0.01 = 1%%)",
    )
    proto.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="seeds of the probe / few-shot draw; several: mean +- std",
    )
    proto.add_argument(
        "--resize",
        type=int,
        default=None,
        help="resize before the centre crop (px; default from args.json)",
    )
    proto.add_argument(
        "--recipe",
        choices=("adam", "sdclr-sgd"),
        default=None,
        help="linear probe: adam (BCL/GH, cached features; the default) or "
        "sdclr-sgd (SDCLR's SGD on augmented images, needs --val-indices "
        "or --val-set)",
    )
    proto.add_argument(
        "--augment",
        choices=("none", "one-pass", "every-epoch"),
        default=None,
        help="probe-set crop + flip: none (default), one-pass (GH), every-epoch (sdclr-sgd)",
    )
    lin = ev.add_argument_group("linear probe (BCL recipe)")
    lin.add_argument("--epochs", type=int, default=PROBE.epochs, help="default: %(default)s")
    lin.add_argument("--lr", type=float, default=PROBE.lr, help="default: %(default)s")
    lin.add_argument(
        "--lr-min",
        type=float,
        default=PROBE.lr_min,
        help="learning rate after the last epoch (default: %(default)s)",
    )
    lin.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default=PROBE.lr_schedule,
        help="per-epoch decay from --lr to --lr-min (default: %(default)s)",
    )
    lin.add_argument(
        "--weight-decay",
        type=float,
        default=PROBE.weight_decay,
        help="Adam weight decay (default: %(default)s)",
    )
    lin.add_argument(
        "--batch-size",
        type=int,
        default=PROBE.batch_size,
        help="images per probe step (default: %(default)s)",
    )
    knn = ev.add_argument_group("kNN")
    knn.add_argument("--k", type=int, default=KNN.k, help="neighbours (default: %(default)s)")
    knn.add_argument(
        "--temperature",
        type=float,
        default=KNN.temperature,
        help="vote weight exp(cosine / T) (default: %(default)s)",
    )
    run = ev.add_argument_group("run")
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        help="result folder (default: <checkpoint folder>/eval/<protocol>)",
    )
    run.add_argument("--replace", action="store_true", help="overwrite an existing --out")
    run.add_argument("--device", default="auto", help="auto (GPU when present), cpu, cuda:0, ...")
    run.add_argument("--extract-batch-size", type=int, default=256)
    run.add_argument("--num-workers", type=int, default=4)
    run.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"feature cache (default: $SOLO_TASE_CACHE/features, else {default_cache_dir()})",
    )
    run.add_argument("--no-cache", action="store_true", help="always extract features")
    ev.set_defaults(func=_eval)

    cmp = sub.add_parser("compare", help="Markdown table of several `solo-tase eval` results")
    cmp.add_argument("runs", nargs="+", type=Path, help="result folders or metrics.json files")
    cmp.add_argument(
        "--over-splits",
        action="store_true",
        help="each RUN is a method folder of per-split results (split<k>/): mean "
        "+- std over the splits",
    )
    cmp.set_defaults(func=_compare)


def default_out(args: argparse.Namespace) -> Path:
    """``<checkpoint folder>/eval/<protocol>[-<k>shot|-<pct>pct]``, or ``<preset>-<setting>``."""
    tag = args.protocol
    if args.preset is not None:
        tag = f"{args.preset}-{(args.setting or 'full-shot').replace('%', 'pct')}"
    elif args.shots is not None:
        tag += f"-{args.shots}shot"
    elif args.fraction is not None:
        tag += f"-{100 * args.fraction:g}pct"
    return args.checkpoint.expanduser().parent / "eval" / tag


def _eval(args: argparse.Namespace) -> int:
    from solo_tase.eval.pipeline import EvalRequest, evaluate
    from solo_tase.eval.report import comparison_table, write_result
    from solo_tase.utils.atomic import refuse_existing

    out = args.out or default_out(args)
    refuse_existing(out, args.replace, "--out")  # before the work, not after it
    options = {
        "protocol": args.protocol,
        "shots": args.shots,
        "fraction": args.fraction,
        "probe_indices": tuple(args.probe_indices or ()),
        "recipe": args.recipe or "adam",
        "augment": args.augment or "none",
        "val_indices": args.val_indices,
        "val_set": args.val_set,
        "probe": ProbeOptions(
            epochs=args.epochs,
            lr=args.lr,
            lr_min=args.lr_min,
            lr_schedule=args.lr_schedule,
            weight_decay=args.weight_decay,
            batch_size=args.batch_size,
        ),
    }
    if args.preset is not None:
        options.update(preset_options(args))
    elif args.setting or args.split or args.benchmark or args.splits:
        raise ConfigError(
            "--setting, --split, --benchmark and --splits choose within a preset: add --preset"
        )
    req = EvalRequest(
        checkpoint=args.checkpoint,
        probe_set=args.probe_set,
        test_set=args.test_set,
        manifest=args.manifest,
        data_root=args.data_root,
        seeds=tuple(args.seeds),
        knn=KnnOptions(k=args.k, temperature=args.temperature),
        resize=args.resize,
        device=args.device,
        extract_batch_size=args.extract_batch_size,
        num_workers=args.num_workers,
        cache_dir=None if args.no_cache else (args.cache_dir or default_cache_dir()),
        **options,
    )
    console = Console(stderr=True)

    def log(msg: str) -> None:
        console.print(msg, style="dim", markup=False, highlight=False, soft_wrap=True)

    document = evaluate(req, log=log)
    write_result(out, document, replace=args.replace)
    print(comparison_table([(str(out), document)]))
    print(f"\nwrote {out}/ (metrics.json, per_class.csv, per_class.png)")
    return 0


def preset_options(args: argparse.Namespace) -> dict[str, object]:
    """The request options ``--preset`` fixes; an explicit option it fixes too is refused."""
    from solo_tase.run_folder import read_run_args
    from solo_tase.eval.presets import BENCHMARK_OF_DATASET, default_splits_root, request_options

    given = [flag for key, flag in PRESET_FIXES.items() if getattr(args, key) is not None]
    given += [
        flag for key, flag in PROBE_FLAGS.items() if getattr(args, key) != getattr(PROBE, key)
    ]
    if args.protocol != "linear":
        given.append("--protocol")
    if given:
        raise ConfigError(
            f"--preset {args.preset} fixes {given}: drop them, or evaluate without --preset"
        )
    benchmark = args.benchmark
    if benchmark is None:
        dataset = read_run_args(args.checkpoint.expanduser())[0]["data"]["dataset"]
        if dataset not in BENCHMARK_OF_DATASET:
            raise ConfigError(
                f"the run's data.dataset is {dataset!r}: pass --benchmark (one "
                f"of the presets' benchmarks)"
            )
        benchmark = BENCHMARK_OF_DATASET[dataset]
    return request_options(
        args.preset,
        benchmark,
        args.setting,
        args.split,
        args.splits or default_splits_root(),
        args.val_set,
    )


def _compare(args: argparse.Namespace) -> int:
    from solo_tase.eval.report import comparison_table, load_metrics
    from solo_tase.eval.splits import split_table

    if args.over_splits:
        print(split_table(args.runs))
    else:
        print(comparison_table([(str(path), load_metrics(path)) for path in args.runs]))
    return 0
