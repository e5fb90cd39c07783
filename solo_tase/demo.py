"""The main job on the embedded default: Digits-LT, TASE vs solo-learn's SimCLR, group-wise eval.

    python -m solo_tase.demo [--epochs 80] [--out runs/demo]

1. builds Digits-LT (scikit-learn's digits, imbalance ratio 10) as an ImageFolder,
2. pre-trains TASE and solo-learn's SimCLR through solo-learn's own ``main_pretrain.py`` with
   the ``digits-lt`` configs ``{tase,simclr}.yaml`` (``solo-tase configs --dataset digits-lt``),
3. evaluates both frozen backbones with ``solo-tase eval`` (linear probe on the balanced probe set,
   balanced test set, groups from the manifest),
4. prints the Many / Medium / Few / Std / All table and where the plots and checkpoints are.
It runs ``solo-tase doctor`` first and stops, before any work, when something the job needs is
missing (torch/torchvision, solo-learn and its checkout, the methods' registration).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console

from solo_tase.cli.doctor import run_doctor
from solo_tase.cli.main import main as cli
from solo_tase.config_folders import config_folder
from solo_tase.experiments import find_solo_learn_dir, pretrain_command, run
from solo_tase.run_folder import last_checkpoint, run_folder

METHODS = ("tase", "simclr")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m solo_tase.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    p.add_argument("--epochs", type=int, default=80, help="pre-training epochs per method")
    p.add_argument("--probe-epochs", type=int, default=500, help="linear-probe epochs")
    args = p.parse_args(argv)
    console = Console()
    console.rule("[bold]solo-tase doctor")
    if not run_doctor(console):
        return 1
    try:
        solo_dir = find_solo_learn_dir()
    except FileNotFoundError as err:
        console.print(f"[red]solo-tase demo: {err}[/red]")
        return 1
    out = args.out.resolve()
    start = time.perf_counter()
    console.rule("[bold]1/4 Digits-LT")
    data = out / "data" / "digits-lt"
    if cli(["data", "build", "digits-lt", "--out", str(data)]) != 0:
        return 1
    runs = {
        method: pretrain(console, solo_dir, method, i, data, out, args.epochs)
        for i, method in enumerate(METHODS, start=2)
    }
    console.rule("[bold]4/4 group-wise evaluation (solo-tase eval)")
    results = []
    for method, ckpt in runs.items():
        result = out / "eval" / method
        if (code := evaluate(ckpt, data, result, args.probe_epochs)) != 0:
            return code
        results.append(str(result))
    console.rule("[bold]Digits-LT: linear probe, accuracy in %")
    cli(["compare", *results])
    console.print(
        f"\nplots: {out / 'eval'}/<method>/per_class.png; "
        f"checkpoints: {out / 'pretrain'}; total {(time.perf_counter() - start) / 60:.1f} min"
    )
    return 0


def pretrain(
    console: Console, solo_dir: Path, method: str, step: int, data: Path, out: Path, epochs: int
) -> Path:
    """Pre-train ``method`` on Digits-LT through solo-learn's main_pretrain.py; its checkpoint."""
    console.rule(
        f"[bold]{step}/4 pre-training {method} through solo-learn's main_pretrain.py "
        f"({epochs} epochs)"
    )
    pretrain_dir = out / "pretrain" / method
    overrides = [
        f"max_epochs={epochs}",
        f"checkpoint.frequency={epochs - 1}",
        f"data.train_path={data / 'train'}",
    ]
    cmd = pretrain_command(
        solo_dir, config_folder("pretrain", "digits-lt"), method, pretrain_dir, overrides
    )
    console.print("$ " + " ".join(cmd[1:]), style="dim")
    seconds = run(cmd, cwd=solo_dir)
    ckpt = last_checkpoint(run_folder(pretrain_dir, method))
    console.print(f"{method}: {seconds / 60:.1f} min, checkpoint {ckpt}")
    return ckpt


def evaluate(ckpt: Path, data: Path, result: Path, probe_epochs: int) -> int:
    """``solo-tase eval`` of ``ckpt`` (linear probe) into ``result``; its exit code."""
    return cli(
        [
            "eval",
            str(ckpt),
            "--probe-set",
            str(data / "probe"),
            "--test-set",
            str(data / "test"),
            "--manifest",
            str(data / "manifest.json"),
            "--epochs",
            str(probe_epochs),
            "--num-workers",
            "0",
            "--out",
            str(result),
            "--replace",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
