"""``solo-tase data ...``: build and inspect long-tailed datasets (docs/data.md). Every option is
generated from a settings-kit record: a builder's spec, where its files are, where it writes."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic.dataclasses import dataclass

from solo_tase.cli.plot_options import PlotOptions
from solo_tase.data.cifar_spec import CifarFiles, CifarLTSpec
from solo_tase.data.data_root import BuildOutput, default_data_root
from solo_tase.data.digits import DigitsLTSpec
from solo_tase.data.fashion_spec import FashionFiles, FashionLTSpec
from solo_tase.data.image_set_specs import LIST_PRESETS, FolderLTSpec, ImageListSpec
from solo_tase.data.manifest import Manifest
from solo_tase.data.profiles import Groups
from solo_tase.settings import SETTINGS, add_arguments, describe, from_arguments

# CifarLTSpec's keys that a source fills in or leaves out
PROFILE_SKIP = ("dataset", "source", "split_file", "pool_file")
SPLIT_FILE_SKIP = ("source", "ratio", "n_max", "seed", "exclude_file", "draw")


@dataclass(frozen=True, config=SETTINGS)
class InspectOptions:
    """``data inspect``'s own option (the plot's are :class:`PlotOptions`)."""

    groups: Groups | None = None


@dataclasses.dataclass(frozen=True)
class Options:
    """The command-line options made from the record ``record``, but those in ``skip``; ``fill``
    holds values the command supplies itself (shown as defaults), ``shown`` defaults the command
    works out, and ``required`` options the record lets be unset but the command needs."""

    record: type
    skip: tuple[str, ...] = ()
    fill: dict[str, Any] = dataclasses.field(default_factory=dict)
    shown: dict[str, str] = dataclasses.field(default_factory=dict)
    required: tuple[str, ...] = ()

    def required_options(self) -> list[str]:
        """The fields whose options must be given."""
        needed = [f.name for f in describe(self.record) if f.default is dataclasses.MISSING]
        return [n for n in (*needed, *self.required) if n not in (*self.skip, *self.fill)]

    def shown_defaults(self) -> dict[str, Any]:
        """The defaults the command shows where they are not the record's."""
        return {**self.fill, **self.shown}

    def declare(self, parser: argparse.ArgumentParser) -> None:
        required = self.required_options()
        # a required option shows no default
        defaults = {**self.shown_defaults(), **dict.fromkeys(required, dataclasses.MISSING)}
        add_arguments(parser, self.record, skip=self.skip, required=required, defaults=defaults)

    def read(self, args: argparse.Namespace) -> Any:
        return from_arguments(self.record, args, **self.fill)


INSPECT = (
    Options(InspectOptions, shown={"groups": "a manifest's own, else thirds"}),
    Options(PlotOptions, shown={"plot": "./NAME-profile.png (NAME: the dataset's)"}),
)


@dataclasses.dataclass(frozen=True)
class Source:
    """A ``data build`` source: its options (the builder's spec first, where it writes last)
    and the build, from the records read and the :data:`Command` that rebuilds a folder,
    returning the manifest and the folder written."""

    name: str
    help: str
    options: tuple[Options, ...]
    build: Callable[..., tuple[Manifest, Path]]


Command = Callable[[Path], str]  # the build line that rebuilds an output folder


def _digits(spec: DigitsLTSpec, target: BuildOutput, command: Command) -> tuple[Manifest, Path]:
    from solo_tase.data.digits import build_digits_lt

    out = target.folder("digits-lt")
    manifest = build_digits_lt(out, spec, replace=target.replace, where="--", command=command(out))
    return manifest, out


def _fashion(
    spec: FashionLTSpec, files: FashionFiles, target: BuildOutput, command: Command
) -> tuple[Manifest, Path]:
    from solo_tase.data.fashion_mnist import build_fashion_lt

    out = target.folder("fashion-mnist-lt")
    manifest = build_fashion_lt(
        out,
        spec,
        root=files.root,
        download_ok=files.download,
        replace=target.replace,
        where="--",
        command=command(out),
    )
    return manifest, out


def _cifar(
    spec: CifarLTSpec, files: CifarFiles, target: BuildOutput, command: Command
) -> tuple[Manifest, Path]:
    from solo_tase.data.cifar import build_cifar_lt

    out, root = target.folder(spec.name), files.root or default_data_root()
    manifest = build_cifar_lt(
        out,
        spec,
        root,
        download=files.download,
        replace=target.replace,
        where="--",
        command=command(out),
    )
    return manifest, out


def _list(spec: ImageListSpec, target: BuildOutput, command: Command) -> tuple[Manifest, Path]:
    from solo_tase.data.symlinked import build_list_dataset

    out = target.folder(spec.dataset_name)
    return build_list_dataset(out, spec, replace=target.replace, command=command(out)), out


def _folder(spec: FolderLTSpec, target: BuildOutput, command: Command) -> tuple[Manifest, Path]:
    from solo_tase.data.symlinked import build_folder_lt

    out = target.folder(spec.name)
    manifest = build_folder_lt(out, spec, replace=target.replace, where="--", command=command(out))
    return manifest, out


def source_names() -> list[str]:
    """The ``data build`` sources' names (``digits-lt``, ``fashion-mnist-lt``, ...)."""
    return [source.name for source in sources()]


def build_command(source: Source, args: argparse.Namespace, out: Path) -> str:
    """The ``solo-tase data build`` line that rebuilds ``out`` as ``args`` built it: the options
    given (paths absolute), ``--out`` absolute, without ``--replace``."""
    from solo_tase.settings import flag, given

    words = ["solo-tase", "data", "build", source.name]
    for options in source.options:
        for name, value in given(options.record, args).items():
            if name in ("out", "replace"):
                continue
            if isinstance(value, bool):
                words.append(flag(name if value else "no_" + name))
                continue
            words.append(flag(name))
            values = value if isinstance(value, (list, tuple)) else [value]
            words.extend(str(Path(v).absolute()) if isinstance(v, Path) else str(v) for v in values)
    words += ["--out", str(Path(out).absolute())]
    return shlex.join(words)


def sources() -> list[Source]:
    """Every ``data build`` source, in the order of ``--help``."""
    output, cifar_files = Options(BuildOutput), Options(CifarFiles)
    digits = (Options(DigitsLTSpec), output)
    fashion = (Options(FashionLTSpec), Options(FashionFiles), output)
    found = [
        Source("digits-lt", "Digits-LT from scikit-learn's embedded digits", digits, _digits),
        Source("fashion-mnist-lt", "Fashion-MNIST-LT from its four idx files", fashion, _fashion),
    ]
    for name, title in (("cifar10", "CIFAR-10-LT"), ("cifar100", "CIFAR-100-LT")):
        spec = Options(CifarLTSpec, PROFILE_SKIP, {"dataset": name, "ratio": 100.0, "seed": 0})
        what = f"{title} (exponential profile) as PNG train/ and test/"
        found.append(Source(f"{name}-lt", what, (spec, cifar_files, output), _cifar))
    spec = Options(CifarLTSpec, SPLIT_FILE_SKIP, {"source": "sdclr"}, required=("split_file",))
    what = "CIFAR-LT from an SDCLR .npy split file, as PNG train/ and test/"
    found.append(Source("sdclr", what, (spec, cifar_files, output), _cifar))
    for name, listed in {"list": "any 'relative/path label' list", **LIST_PRESETS}.items():
        spec = Options(ImageListSpec, fill={} if name == "list" else {"name": name})
        what = f"{listed}: symlinked ImageFolder train/ (and val/)"
        found.append(Source(name, what, (spec, output), _list))
    what = "any ImageFolder made long-tailed: symlinked ImageFolder train/"
    return [*found, Source("image-folder", what, (Options(FolderLTSpec), output), _folder)]


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="build and inspect long-tailed datasets")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    build = dsub.add_parser("build", help="build a long-tailed dataset as an ImageFolder")
    bsub = build.add_subparsers(dest="build_source", required=True, metavar="SOURCE")
    for source in sources():
        parser = bsub.add_parser(source.name, help=source.help)
        for options in source.options:
            options.declare(parser)
        parser.set_defaults(func=functools.partial(_build, source))
    inspect = dsub.add_parser(
        "inspect", help="print a dataset's class histogram and groups; plot its profile"
    )
    inspect.add_argument(
        "path", type=Path, help="dataset folder, manifest file, or an ImageFolder without manifest"
    )
    for options in INSPECT:
        options.declare(inspect)
    inspect.set_defaults(func=_inspect)


def _build(source: Source, args: argparse.Namespace) -> int:
    records = [options.read(args) for options in source.options]
    manifest, out = source.build(*records, lambda out: build_command(source, args, out))
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


def _inspect(args: argparse.Namespace) -> int:
    from rich.console import Console

    from solo_tase.data.inspection import against_folder, histogram_tables, load_or_scan

    options: InspectOptions = from_arguments(InspectOptions, args)
    plot: PlotOptions = from_arguments(PlotOptions, args)
    manifest, difference = against_folder(
        args.path, load_or_scan(args.path, options.groups, where="--")
    )
    console = Console()
    for table in histogram_tables(manifest):
        console.print(table)
    if difference is not None:
        print(f"the folder differs from its manifest: {difference}; the table shows the folder")
    if not plot.no_plot:
        from solo_tase.data.plot import plot_profile

        path = plot.plot or Path(f"{manifest.name}-profile.png")
        print(f"profile plot: {plot_profile(manifest, path, replace=plot.replace)}")
    return 0 if difference is None else 1
