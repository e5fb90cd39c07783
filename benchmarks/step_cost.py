"""Per-step cost of the plugin's methods against solo-learn's SimCLR, in one process.

Every method is built exactly as solo-learn's ``main_pretrain.py`` builds it (Hydra composes the
method's config from a folder of ours, ``solo.args.pretrain.parse_cfg`` fills the defaults,
``solo.methods.METHODS[...]``), then trained by a Lightning Trainer on the same synthetic batches
(pre-generated random crops, so data loading and augmentation cost nothing). Methods take turns in
``--rounds`` rounds; the step time of each is the median over its measured steps (``--warmup``
steps per round are dropped). TASE is timed after its warm-up (re-clustering at the start of
every round's epoch is excluded from the step times and reported as seconds per call). BCL-I
(``bcl``) and BCL-D (``bcl_d``: SDCLR with ``bcl: true``) are timed on the model side (loss,
momentum-loss bookkeeping); their per-sample RandAugment runs in the loader workers, which the
pre-generated crops leave out.
Peak memory: CUDA's max_memory_allocated per method; on CPU the peak resident-set growth.

    python benchmarks/step_cost.py --config-dir scripts/pretrain/cifar100-lt --device cpu \
        --batch-size 32 --steps 20 --methods simclr bcl sdclr bcl_d
    python benchmarks/step_cost.py --config-dir scripts/pretrain/cifar100-lt --device cuda \
        --batch-size 256 --seconds 60 --methods simclr tase
    python benchmarks/step_cost.py --config-dir scripts/pretrain/fashion-mnist-lt --device cpu \
        --train-path runs/bench-fashion-mnist-lt/data/fashion-mnist-lt-s0/train \
        --batch-size 64 --num-samples 2478 --methods simclr tase:kmeans tase:overcluster \
        tase:knn_density tase:memorisation   # a tail signal per TASE entry
    python benchmarks/step_cost.py --config-dir scripts/pretrain/fashion-mnist-lt --device cpu \
        --train-path ... --methods simclr simclr_plus simclr_plus+gh sdclr sdclr+gh   # GH's cost

``<config>+gh`` is that config with the GH block on (``method_kwargs.gh.enabled``), timed in its
second epoch, after a one-epoch warm-up, at the official prior period (no prior estimate in that
epoch: the steady state of 19 epochs in 20).

A ``custom`` dataset (Fashion-MNIST-LT) needs ``--train-path``: solo-learn counts its classes
there (the images themselves are not read).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from solo_tase.data.boosted.dataset import TABLE_ATTRIBUTE
from solo_tase.data.boosted.strength import StrengthTable


class SyntheticCrops(Dataset):
    """``(index, [crop1, crop2], target)`` with fixed random 3 x S x S crops (seeded)."""

    def __init__(self, n: int, size: int, num_classes: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.n = n
        self.bank = torch.randn(512, 2, 3, size, size, generator=g)
        self.targets = torch.randint(num_classes, (n,), generator=g)
        setattr(self, TABLE_ATTRIBUTE, StrengthTable(n))  # BCL's boost weights (unused here)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        crops = self.bank[i % 512]
        return i, [crops[0], crops[1]], int(self.targets[i])


def build_method(config_dir: Path, name: str, overrides: list[str]):
    """Compose ``<config_dir>/<name>.yaml`` with Hydra; build the method as main_pretrain does."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    from solo.args.pretrain import parse_cfg
    from solo.methods import METHODS

    from solo_tase.methods import register_methods

    register_methods()
    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.2"):
        cfg = compose(config_name=f"{name}.yaml", overrides=overrides)
    OmegaConf.set_struct(cfg, False)
    cfg = parse_cfg(cfg)
    return METHODS[cfg.method](cfg), cfg


class StepTimer:
    """Lightning callback: wall time of every training step (CUDA-synchronised)."""

    def __init__(self, cuda: bool) -> None:
        import lightning.pytorch as pl

        timer = self

        class _CB(pl.Callback):
            def on_train_batch_start(self, trainer, module, batch, batch_idx):
                if cuda:
                    torch.cuda.synchronize()
                timer._t0 = time.perf_counter()

            def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
                if cuda:
                    torch.cuda.synchronize()
                timer.times.append(time.perf_counter() - timer._t0)

        self.callback = _CB()
        self.times: list[float] = []
        self._t0 = 0.0


class PeakRSS:
    """Samples this process's resident set size (Linux /proc) in a thread; peak growth in MiB."""

    def __init__(self) -> None:
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--config-dir", type=Path, default=Path("scripts/pretrain/cifar100-lt"))
    p.add_argument("--methods", nargs="+", default=["simclr", "tase", "sdclr", "ts"])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--crop-size", type=int, default=32)
    p.add_argument("--num-samples", type=int, default=10847, help="dataset size N (bank size)")
    p.add_argument("--steps", type=int, default=20, help="measured steps per method per round")
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="instead of --steps: about this many seconds per method (split in rounds)",
    )
    p.add_argument(
        "--train-path",
        type=Path,
        default=None,
        help="data.train_path of a `custom` dataset (its class folders give num_classes)",
    )
    p.add_argument("--warmup", type=int, default=3, help="unmeasured steps per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--precision", default=None, help="Lightning precision (default: config's)")
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args()

    from lightning.pytorch.utilities import disable_possible_user_warnings

    disable_possible_user_warnings()
    cuda = args.device == "cuda"
    precision = args.precision or ("bf16-mixed" if cuda else "32")
    built = {
        name: build_method(
            args.config_dir, config_name(name), method_overrides(args, name, precision)
        )
        for name in args.methods
    }
    models = {name: model for name, (model, _) in built.items()}
    num_classes = int(next(iter(built.values()))[1].data.num_classes)  # the online classifier's
    data = SyntheticCrops(args.num_samples, args.crop_size, num_classes)
    if args.seconds:  # calibrate the steps per round on the first method
        first = next(iter(models))
        times, _, _ = fit_and_time(models[first], first, data, args, precision, args.warmup + 5, 0)
        step = statistics.median(times[args.warmup :])
        args.steps = max(5, int(args.seconds / args.rounds / step))
        print(f"calibration: {step * 1000:.1f} ms per {first} step -> {args.steps} steps per round")
    results = {name: {"times": [], "peak_mib": 0.0, "recluster_seconds": []} for name in models}
    for rnd in range(args.rounds):
        for name, model in models.items():
            times, peak, stats = fit_and_time(
                model, name, data, args, precision, args.warmup + args.steps, rnd + 1
            )
            measured = times[-args.steps :]  # TASE: its second epoch, after the re-clustering
            results[name]["times"] += measured
            results[name]["peak_mib"] = max(results[name]["peak_mib"], peak)
            if "estimate_seconds" in stats:
                results[name]["recluster_seconds"].append(stats["estimate_seconds"])
            print(
                f"round {rnd + 1}/{args.rounds} {name:<7} median step "
                f"{statistics.median(measured) * 1000:8.1f} ms",
                flush=True,
            )
    report(results, args, precision)


def config_name(name: str) -> str:
    """``tase:kmeans`` / ``sdclr+gh`` -> the config file's name (``tase``, ``sdclr``)."""
    return name.partition(":")[0].removesuffix("+gh")


def two_epochs(name: str) -> bool:
    """Methods timed in their second epoch: TASE (after its first estimate) and GH runs."""
    return name.startswith("tase") or name.endswith("+gh")


def method_overrides(args: argparse.Namespace, name: str, precision: str) -> list[str]:
    """Hydra overrides: batch size, precision, no workers; TASE re-estimates after 1 epoch.
    ``tase:<signal>`` is TASE with ``method_kwargs.tail_signal=<signal>``; ``<config>+gh`` turns
    GH on after a one-epoch warm-up."""
    gh = name.endswith("+gh")
    name, _, signal = name.removesuffix("+gh").partition(":")
    out = [
        f"optimizer.batch_size={args.batch_size}",
        "data.num_workers=0",
        "max_epochs=1000",
        f"precision={precision}",
    ]
    if "long_tail:" in (args.config_dir / f"{name}.yaml").read_text():
        out.append("~data.long_tail")  # synthetic data: no dataset to restrict
    if args.train_path is not None:
        if not args.train_path.is_dir():
            raise SystemExit(f"--train-path {args.train_path} is not a folder of class folders")
        out.append(f"data.train_path={args.train_path.resolve()}")
    if name == "tase":  # synthetic crops cannot be re-read: the bank of the steps' first crops
        out += [
            "method_kwargs.warmup_epochs=1",
            "method_kwargs.recluster_every=1",
            "method_kwargs.bank_feature=crop1",
        ]
    if signal:
        out.append(f"method_kwargs.tail_signal={signal}")
    if gh:
        out += [
            "method_kwargs.gh.enabled=True",
            "method_kwargs.gh.warmup_epochs=1",
            "method_kwargs.gh.ramp_epochs=1",
            "method_kwargs.gh.prior_every=20",
        ]
    return out


def fit_and_time(
    model, name: str, data: Dataset, args: argparse.Namespace, precision: str, steps: int, seed: int
) -> tuple[list[float], float, dict]:
    """One Lightning fit of ``steps`` steps (TASE: a warm-up epoch, then a re-clustered epoch; GH:
    a warm-up epoch, then one with the GH loss).
    Returns the step times of the last epoch, the peak memory (MiB) and TASE's last stats."""
    import lightning.pytorch as pl

    cuda = args.device == "cuda"
    timer = StepTimer(cuda)
    trainer = pl.Trainer(
        accelerator="gpu" if cuda else "cpu",
        devices=1,
        precision=precision,
        max_epochs=2 if two_epochs(name) else 1,
        limit_train_batches=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer.callback],
        num_sanity_val_steps=0,
    )
    # sample with replacement so that an epoch has exactly ``steps`` batches whatever N is
    sampler = RandomSampler(
        data,
        replacement=True,
        num_samples=steps * args.batch_size,
        generator=torch.Generator().manual_seed(seed),
    )
    loader = DataLoader(
        data, batch_size=args.batch_size, sampler=sampler, drop_last=True, num_workers=0
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with PeakRSS() as rss:
        trainer.fit(model, loader)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else rss.mib
    return timer.times[-steps:], peak, dict(getattr(model, "_last_stats", {}))


def report(results: dict[str, dict], args: argparse.Namespace, precision: str) -> None:
    device = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    base = statistics.median(results["simclr"]["times"]) if "simclr" in results else None
    print(
        f"\n# step cost on {device} ({torch.get_num_threads()} threads), "
        f"batch {args.batch_size} x 2 crops of {args.crop_size} px, {precision}, "
        f"config {args.config_dir}"
    )
    print(
        "| method | median step (ms) | images/s | step / SimCLR | peak memory (MiB) | "
        "re-clustering (s/call) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        med = statistics.median(r["times"])
        r["median_step_s"] = med
        r["images_per_s"] = args.batch_size / med
        r["ratio_vs_simclr"] = med / base if base else None
        rc = f"{statistics.median(r['recluster_seconds']):.3f}" if r["recluster_seconds"] else "-"
        if r["recluster_seconds"] and base:  # one re-estimation against one SimCLR epoch of N
            r["reestimate_vs_simclr_epoch"] = statistics.median(r["recluster_seconds"]) / (
                base * args.num_samples / args.batch_size
            )
            rc += f" ({100 * r['reestimate_vs_simclr_epoch']:.1f}% of a SimCLR epoch)"
        ratio = f"{r['ratio_vs_simclr']:.3f}" if base else "-"
        print(
            f"| {name} | {med * 1000:.1f} | {r['images_per_s']:.0f} | {ratio} | "
            f"{r['peak_mib']:.0f} | {rc} |"
        )
    for name, r in results.items():  # the GH block against the same method without it
        without = results.get(name.removesuffix("+gh"))
        if name.endswith("+gh") and without is not None:
            r["ratio_vs_method"] = r["median_step_s"] / without["median_step_s"]
            print(f"GH block on {name.removesuffix('+gh')}: {r['ratio_vs_method']:.3f}x its step")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "device": device,
                    "batch_size": args.batch_size,
                    "precision": precision,
                    "results": {
                        k: {kk: vv for kk, vv in v.items() if kk != "times"}
                        for k, v in results.items()
                    },
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
