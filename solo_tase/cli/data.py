"""``solo-tase data ...``: build and inspect long-tailed datasets (docs/data.md)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from solo_tase.data.manifest import MANIFEST_NAME, Manifest

if TYPE_CHECKING:
    from solo_tase.data.cifar import CifarLTSpec

# Named text-list sources: (manifest name, what the list is).
LIST_PRESETS = {
    "imagenet100-lt": "ImageNet-100-LT (SDCLR's imageNet_100_LT_train.txt, 12,205 images)",
    "imagenet-lt": "ImageNet-LT (ImageNet_LT_train.txt, 115,846 images)",
    "places-lt": "Places-LT (Places_LT_train.txt, 62,500 images)",
}


def default_data_root() -> Path:
    """``$SOLO_TASE_DATA`` or ``./datasets`` (the same default the configs use)."""
    return Path(os.environ.get("SOLO_TASE_DATA", "datasets"))


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="build and inspect long-tailed datasets")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    options = _shared_options()
    build = dsub.add_parser("build", help="build a long-tailed dataset as an ImageFolder")
    _register_sources(build.add_subparsers(dest="source", required=True, metavar="SOURCE"), options)
    inspect = dsub.add_parser(
        "inspect",
        parents=[options["groups"]],
        help="print a dataset's class histogram and groups; plot its profile",
    )
    inspect.add_argument(
        "path", type=Path, help="dataset folder, manifest file, or an ImageFolder without manifest"
    )
    inspect.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="PNG of the profile (default: ./<dataset name>-profile.png)",
    )
    inspect.add_argument("--no-plot", action="store_true", help="do not write the plot")
    inspect.add_argument("--replace", action="store_true", help="overwrite an existing --plot file")
    inspect.set_defaults(func=_inspect)


def _shared_options() -> dict[str, argparse.ArgumentParser]:
    """Option groups shared by several sources (argparse parent parsers)."""
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: $SOLO_TASE_DATA/<dataset name>, "
        "else ./datasets/<dataset name>)",
    )
    out.add_argument(
        "--replace", action="store_true", help="overwrite a different dataset at --out"
    )
    cifar = argparse.ArgumentParser(add_help=False)
    cifar.add_argument(
        "--root",
        type=Path,
        default=None,
        help="torchvision CIFAR root holding cifar-10-batches-py / cifar-100-python "
        "(default: $SOLO_TASE_DATA or ./datasets)",
    )
    cifar.add_argument(
        "--download",
        action="store_true",
        help="allow torchvision to download CIFAR into --root if it is missing",
    )
    profile = argparse.ArgumentParser(add_help=False)
    profile.add_argument("--ratio", type=float, default=100.0, help="imbalance ratio n_max/n_min")
    profile.add_argument(
        "--n-max",
        type=int,
        default=None,
        help="images of the head class (default: the smallest class size)",
    )
    profile.add_argument("--seed", type=int, default=0, help="seed of the choice inside classes")
    groups = argparse.ArgumentParser(add_help=False)
    groups.add_argument(
        "--groups",
        choices=("thirds", "thresholds"),
        default=None,
        help="Many/Medium/Few rule: thirds by count (CIFAR-style) or >100 / 20-100 "
        "/ <20 images (ImageNet-LT / Places-LT)",
    )
    return {"out": out, "cifar": cifar, "profile": profile, "groups": groups}


def _register_sources(
    bsub: argparse._SubParsersAction, options: dict[str, argparse.ArgumentParser]
) -> None:
    out, cifar, profile, groups = (options[k] for k in ("out", "cifar", "profile", "groups"))
    digits = bsub.add_parser(
        "digits-lt", parents=[out], help="Digits-LT from scikit-learn's embedded digits"
    )
    digits.add_argument("--ratio", type=float, default=10.0, help="imbalance ratio n_max/n_min")
    digits.add_argument("--seed", type=int, default=0)
    digits.add_argument("--test-per-class", type=int, default=50)
    digits.add_argument("--size", type=int, default=32, help="image side in pixels")
    digits.set_defaults(func=_build_digits)

    fashion = bsub.add_parser(
        "fashion-mnist-lt", parents=[out], help="Fashion-MNIST-LT from the Fashion-MNIST idx files"
    )
    fashion.add_argument(
        "--root",
        type=Path,
        default=None,
        help="folder with the four idx files, gzipped or not (default: "
        "/usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist)",
    )
    fashion.add_argument(
        "--download",
        action="store_true",
        help="let torchvision download Fashion-MNIST into --root if missing",
    )
    fashion.add_argument("--ratio", type=float, default=100.0, help="imbalance ratio n_max/n_min")
    fashion.add_argument(
        "--n-max",
        type=int,
        default=None,
        help="images of the head class (default: all left after --val-per-class)",
    )
    fashion.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the choice of images inside classes and of the val split",
    )
    fashion.add_argument(
        "--class-order",
        default="label",
        help="head-to-tail class order: label, random:<seed> or a comma list of "
        "the 10 labels (default: label)",
    )
    fashion.add_argument(
        "--val-per-class",
        type=int,
        default=100,
        help="balanced validation images per class, held out first",
    )
    fashion.add_argument(
        "--probe-per-class",
        type=int,
        default=None,
        help="balanced probe images per class (default: all left after val)",
    )
    fashion.add_argument(
        "--balanced-train",
        action="store_true",
        help="also write train-balanced/: a balanced training set of the same size, drawn "
        "outside val, probe and test (the positive control of docs/results.md)",
    )
    fashion.set_defaults(func=_build_fashion)

    for name, title in (("cifar10-lt", "CIFAR-10-LT"), ("cifar100-lt", "CIFAR-100-LT")):
        p = bsub.add_parser(
            name,
            parents=[out, cifar, profile],
            help=f"{title} (exponential profile) as PNG train/ and test/",
        )
        p.add_argument(
            "--exclude-file",
            type=Path,
            default=None,
            help=".npy of train indexes never drawn (e.g. SDCLR's valIdxList.npy)",
        )
        p.set_defaults(func=_build_cifar, dataset=name.removesuffix("-lt"))

    sdclr = bsub.add_parser(
        "sdclr",
        parents=[out, cifar],
        help="CIFAR-LT from an SDCLR .npy split file, as PNG train/ and test/",
    )
    sdclr.add_argument("--dataset", choices=("cifar10", "cifar100"), required=True)
    sdclr.add_argument(
        "--split-file",
        type=Path,
        required=True,
        help=".npy of CIFAR train indexes (e.g. split1_D_i.npy)",
    )
    sdclr.add_argument(
        "--pool-file",
        type=Path,
        default=None,
        help=".npy pool of train indexes that --split-file holds positions in",
    )
    sdclr.set_defaults(func=_build_sdclr)

    for name, what in {"list": "any 'relative/path label' list", **LIST_PRESETS}.items():
        p = bsub.add_parser(
            name, parents=[out, groups], help=f"{what}: symlinked ImageFolder train/ (and val/)"
        )
        p.add_argument(
            "--root", type=Path, required=True, help="image root the list's paths are relative to"
        )
        p.add_argument("--train-list", type=Path, required=True, help="the training list")
        p.add_argument(
            "--val-list",
            type=Path,
            default=None,
            help="a val/test list, written to val/ with the training list's classes",
        )
        p.add_argument(
            "--name",
            default=None if name == "list" else name,
            help="dataset name (default: "
            + ("the list's file name)" if name == "list" else f"{name})"),
        )
        p.set_defaults(func=_build_list)

    folder = bsub.add_parser(
        "image-folder",
        parents=[out, profile, groups],
        help="any ImageFolder made long-tailed: symlinked ImageFolder train/",
    )
    folder.add_argument("--root", type=Path, required=True, help="the source ImageFolder")
    folder.set_defaults(func=_build_folder)


def _out(args: argparse.Namespace, name: str) -> Path:
    return args.out or default_data_root() / name


def _build_digits(args: argparse.Namespace) -> int:
    from solo_tase.data.digits import DigitsLTSpec, build_digits_lt

    spec = DigitsLTSpec(
        ratio=args.ratio, seed=args.seed, test_per_class=args.test_per_class, size=args.size
    )
    out = _out(args, "digits-lt")
    return _report(build_digits_lt(out, spec, replace=args.replace), out)


def _build_fashion(args: argparse.Namespace) -> int:
    from solo_tase.data.fashion_mnist import FashionLTSpec, build_fashion_lt

    spec = FashionLTSpec(
        ratio=args.ratio,
        n_max=args.n_max,
        seed=args.seed,
        class_order=args.class_order,
        val_per_class=args.val_per_class,
        probe_per_class=args.probe_per_class,
        balanced_train=args.balanced_train,
    )
    if args.download and args.root is None:
        raise ValueError("--download needs --root DIR: the folder torchvision downloads into")
    out = _out(args, "fashion-mnist-lt")
    return _report(
        build_fashion_lt(
            out, spec, root=args.root, download_ok=args.download, replace=args.replace
        ),
        out,
    )


def _build_cifar_spec(args: argparse.Namespace, spec: CifarLTSpec) -> int:
    from solo_tase.data.cifar import build_cifar_lt

    out = _out(args, spec.name)
    manifest = build_cifar_lt(
        out, spec, args.root or default_data_root(), download=args.download, replace=args.replace
    )
    return _report(manifest, out)


def _build_cifar(args: argparse.Namespace) -> int:
    from solo_tase.data.cifar import CifarLTSpec

    exclude = str(args.exclude_file) if args.exclude_file else None
    return _build_cifar_spec(
        args,
        CifarLTSpec(
            dataset=args.dataset,
            ratio=args.ratio,
            n_max=args.n_max,
            seed=args.seed,
            exclude_file=exclude,
        ),
    )


def _build_sdclr(args: argparse.Namespace) -> int:
    from solo_tase.data.cifar import CifarLTSpec

    pool = str(args.pool_file) if args.pool_file else None
    return _build_cifar_spec(
        args,
        CifarLTSpec(
            dataset=args.dataset, source="sdclr", split_file=str(args.split_file), pool_file=pool
        ),
    )


def _build_list(args: argparse.Namespace) -> int:
    from solo_tase.data.symlinked import build_list_dataset

    name = args.name or args.train_list.stem.lower()
    out = _out(args, name)
    manifest = build_list_dataset(
        out,
        args.root,
        args.train_list,
        val_list=args.val_list,
        name=name,
        group_rule=args.groups or "thresholds",
        replace=args.replace,
    )
    return _report(manifest, out)


def _build_folder(args: argparse.Namespace) -> int:
    from solo_tase.data.symlinked import build_folder_lt, folder_lt_name

    out = _out(args, folder_lt_name(args.root, args.ratio, args.seed, args.n_max))
    manifest = build_folder_lt(
        out,
        args.root,
        ratio=args.ratio,
        seed=args.seed,
        n_max=args.n_max,
        group_rule=args.groups or "thirds",
        replace=args.replace,
    )
    return _report(manifest, out)


def _report(manifest: Manifest, out: Path) -> int:
    sizes = manifest.group_sizes()
    print(
        f"{manifest.name}: {manifest.num_samples:,} train images in {manifest.num_classes} "
        f"classes at {out} (many/medium/few: {sizes['many']}/{sizes['medium']}/{sizes['few']} "
        f"classes; checksum {manifest.index_checksum[:12]})"
    )
    print(
        f"use data.train_path={Path(out).absolute() / 'train'} in a solo-learn config; "
        f"`solo-tase data inspect {out}` shows the profile"
    )
    return 0


def load_or_scan(path: Path, group_rule: str | None) -> Manifest:
    """The manifest at ``path`` (folder or file), or one made from an ImageFolder's counts."""
    if path.is_file() or (path / MANIFEST_NAME).is_file():
        if group_rule is not None:
            raise ValueError(f"{path} has a manifest with its own groups: drop --groups")
        return Manifest.load(path)
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path} is neither a dataset folder, a manifest file nor an ImageFolder"
        )
    from solo_tase.data.image_lists import scan_image_folder

    images = scan_image_folder(path)
    return Manifest.build(
        name=images.root.name,
        source=f"ImageFolder {images.root}",
        class_names=images.class_names,
        counts=images.counts,
        items=images.paths,
        group_rule=group_rule or "thirds",
    )


def _inspect(args: argparse.Namespace) -> int:
    manifest = load_or_scan(args.path, args.groups)
    print_histogram(manifest)
    if not args.no_plot:
        from solo_tase.data.plot import plot_profile

        plot = plot_profile(
            manifest, args.plot or Path(f"{manifest.name}-profile.png"), replace=args.replace
        )
        print(f"profile plot: {plot}")
    return 0


def print_histogram(manifest: Manifest) -> None:
    """Rich table of per-class counts and groups, then the images and classes per group."""
    table = Table(
        title=f"{manifest.name}: {manifest.num_samples:,} images, "
        f"{manifest.num_classes} classes ({manifest.group_rule})"
    )
    for col in ("label", "class", "count", "group", ""):
        table.add_column(col)
    top = max(manifest.counts)
    for i, (name, count, group) in enumerate(
        zip(manifest.class_names, manifest.counts, manifest.groups)
    ):
        table.add_row(str(i), name, str(count), group, "#" * max(1, round(30 * count / top)))
    summary = Table(title="groups")
    for col in ("group", "classes", "images", "min", "max"):
        summary.add_column(col)
    for group in ("many", "medium", "few"):
        counts = [c for c, g in zip(manifest.counts, manifest.groups) if g == group]
        if counts:
            summary.add_row(
                group, str(len(counts)), f"{sum(counts):,}", str(min(counts)), str(max(counts))
            )
    console = Console()
    console.print(table)
    console.print(summary)
