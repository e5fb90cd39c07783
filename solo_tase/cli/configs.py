"""``solo-tase configs [--kind KIND] [--dataset NAME]``: the folders of the shipped Hydra configs,
one absolute path a line, for solo-learn's ``--config-path``."""

from __future__ import annotations

import argparse

from solo_tase.config_folders import KINDS, config_datasets, config_folder


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "configs",
        help="print the folder of the Hydra configs (for main_pretrain.py's --config-path)",
        description="Print the folder holding the configs of --dataset (every dataset's folder "
        'without it), e.g. python main_pretrain.py --config-path "$(solo-tase configs '
        '--dataset cifar100-lt)" --config-name tase.yaml',
    )
    p.add_argument(
        "--kind",
        choices=KINDS,
        default=KINDS[0],
        help="pretrain: main_pretrain.py's configs (default); linear: main_linear.py's",
    )
    p.add_argument("--dataset", default=None, help="one dataset's folder, e.g. cifar100-lt")
    p.set_defaults(func=_configs)


def _configs(args: argparse.Namespace) -> int:
    datasets = [args.dataset] if args.dataset else config_datasets(args.kind)
    for dataset in datasets:
        print(config_folder(args.kind, dataset))
    return 0
