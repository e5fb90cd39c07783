"""Benchmark the k-means backends against scikit-learn on long-tailed features on the sphere.

For each size (N x D, K) it draws K cluster centres on the unit sphere with long-tailed cluster
sizes (exponential profile, ratio 100), samples unit features around them, and clusters them with
our torch and faiss backends (one seeded Lloyd loop with k-means++ initialisation; they differ
only in the nearest-centroid search), faiss's own k-means with its random initialisation (for
reference) and scikit-learn's KMeans (k-means++, n_init=1, the same maximum
iterations, tol=0 so that both stop only on unchanged assignments). Every method's quality is the
same number: the within-cluster sum of squares of its final assignment, sum ||x - mean_c||^2
(scikit-learn's inertia; spherical k-means reports distances to unit centroids, which would not be
comparable). Prints a Markdown table of seconds, speed-up over scikit-learn and inertia ratio.

    python benchmarks/kmeans_backends.py   # CPU: 10,847 x 128 / 100 and 116k / 1000
    python benchmarks/kmeans_backends.py --device cuda --sizes 1200000:1000 --skip-sklearn
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from solo_tase.tail.kmeans.backend import faiss_available, make_backend


def long_tailed_sphere(
    n: int, k: int, dim: int, *, ratio: float = 100.0, kappa: float = 20.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit features [N, D] around K unit centres with exponential cluster sizes (ratio
    ``ratio``): ``normalise(kappa * centre + N(0, I))``; with kappa 20 and D 128 the clusters are
    well separated, as trained SSL features are, so initialisation matters."""
    g = torch.Generator().manual_seed(seed)
    centres = F.normalize(torch.randn(k, dim, generator=g), dim=1)
    probs = torch.tensor([ratio ** (-i / (k - 1)) for i in range(k)])
    labels = torch.multinomial(probs, n, replacement=True, generator=g)
    x = F.normalize(kappa * centres[labels] + torch.randn(n, dim, generator=g), dim=1)
    return x, labels


def wcss(x: torch.Tensor, assign: torch.Tensor, k: int) -> float:
    """sum_i ||x_i - mean_{c(i)}||^2 in float64."""
    xd = x.double().cpu()
    a = assign.cpu()
    sums = torch.zeros(k, x.size(1), dtype=torch.float64).index_add_(0, a, xd)
    counts = torch.bincount(a, minlength=k).clamp_min(1).double()
    return float((xd**2).sum() - ((sums**2).sum(1) / counts).sum())


def timed(fn: Callable[[], torch.Tensor], device: str) -> tuple[float, torch.Tensor]:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def run_size(
    n: int, k: int, dim: int, iters: int, device: str, skip_sklearn: bool, seed: int
) -> list[dict]:
    x, _ = long_tailed_sphere(n, k, dim, seed=seed)
    xd = x.to(device)
    rows: list[dict] = []

    def ours(name: str) -> Callable[[], torch.Tensor]:
        backend = make_backend(name)
        return lambda: backend.fit(xd, k, n_iter=iters, seed=seed).assignments

    methods: dict[str, Callable[[], torch.Tensor]] = {"torch": ours("torch")}
    if device == "cuda":  # warm-up: CUDA context and kernels, not part of the timing
        make_backend("torch").fit(xd[: min(n, 20000)], min(k, 100), n_iter=2, seed=seed)
    if faiss_available():
        import faiss

        methods["faiss (k-means++)"] = ours("faiss")

        def faiss_random() -> torch.Tensor:
            xn = x.numpy()
            km = faiss.Kmeans(
                dim,
                k,
                niter=iters,
                seed=seed,
                spherical=True,
                min_points_per_centroid=1,
                max_points_per_centroid=n,
            )
            km.train(xn)
            return torch.from_numpy(km.index.search(xn, 1)[1][:, 0]).long()

        methods["faiss (own random init)"] = faiss_random
    if not skip_sklearn:
        from sklearn.cluster import KMeans

        def sklearn() -> torch.Tensor:
            km = KMeans(
                k, init="k-means++", n_init=1, max_iter=iters, tol=0.0, random_state=seed
            ).fit(x.numpy())
            return torch.from_numpy(km.labels_).long()

        methods["scikit-learn"] = sklearn
    for name, fn in methods.items():
        seconds, assign = timed(fn, device if name == "torch" else "cpu")
        rows.append(
            {
                "n": n,
                "k": k,
                "dim": dim,
                "method": name,
                "seconds": seconds,
                "inertia": wcss(x, assign, k),
                "device": device if name == "torch" else "cpu",
            }
        )
        print(
            f"  {n} x {dim}, K={k}: {name:<24} {seconds:8.2f} s  inertia {rows[-1]['inertia']:.1f}",
            flush=True,
        )
    ref = next((r for r in rows if r["method"] == "scikit-learn"), None)
    for r in rows:
        r["speedup_vs_sklearn"] = ref["seconds"] / r["seconds"] if ref else None
        r["inertia_vs_sklearn"] = r["inertia"] / ref["inertia"] if ref else None
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| N x D | K | method | device | seconds | speed-up vs sklearn | inertia / sklearn |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        sp = f"{r['speedup_vs_sklearn']:.2f}x" if r["speedup_vs_sklearn"] else "-"
        ir = f"{r['inertia_vs_sklearn']:.4f}" if r["inertia_vs_sklearn"] else "-"
        lines.append(
            f"| {r['n']:,} x {r['dim']} | {r['k']} | {r['method']} | {r['device']} | "
            f"{r['seconds']:.2f} | {sp} | {ir} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--sizes",
        nargs="+",
        default=["10847:100", "116000:1000"],
        help="N:K or N:K:D (default: CIFAR-100-LT and ImageNet-LT sizes, D = --dim)",
    )
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--skip-sklearn", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the rows to this JSON file")
    args = p.parse_args()
    print(
        f"# k-means backends on {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
        + (f", {torch.cuda.get_device_name()}" if args.device == "cuda" else ""),
        flush=True,
    )
    rows: list[dict] = []
    for size in args.sizes:
        n, k, *dim = (int(v) for v in size.split(":"))
        rows += run_size(
            n, k, dim[0] if dim else args.dim, args.iters, args.device, args.skip_sklearn, args.seed
        )
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
