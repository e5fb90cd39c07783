"""``solo-tase doctor``: can the main job (``make demo``: Digits-LT, TASE vs SimCLR through
solo-learn) run here? One line per check, with the fix where something is wrong.

Exit code 1 when a blocking check fails (torch/torchvision, solo-learn and its checkout, the
solo-learn stack, the methods' registration, the Hydra configs, scikit-learn for Digits-LT); CUDA,
faiss and Fashion-MNIST are reported but never block. Every import is done inside its check, so
the doctor runs (and says what is broken) on a broken install.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.text import Text

from solo_tase.solo_compat import (
    INSTALL_STEPS,
    MAKE_STEP,
    SOLO_LEARN_COMMIT,
    SOLO_LEARN_ENV,
    checkout_commit,
    solo_available,
)

OK, WARN, FAIL = "ok", "warn", "fail"
TESTED = {"torch": "2.14.1", "torchvision": "0.29.1"}
SOLO_FIX = "\n".join([f"{MAKE_STEP}, or by hand:", *INSTALL_STEPS])


@dataclass(frozen=True)
class Finding:
    """What one check found: ``status`` is OK, WARN (never blocks) or FAIL (blocks the main job)."""

    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Check:
    """A named check; ``blocking`` says whether an unexpected error in it blocks the main job."""

    name: str
    run: Callable[[], Finding]
    blocking: bool


def check_python() -> Finding:
    return Finding(OK, f"{'.'.join(map(str, sys.version_info[:3]))} at {sys.executable}")


def nms_probe() -> None:
    """Run ``torchvision.ops.nms`` on two boxes: fails when torch and torchvision do not match."""
    import torch
    import torchvision

    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    keep = torchvision.ops.nms(boxes, torch.tensor([1.0, 0.5]), 0.5)
    if keep.tolist() != [0]:
        raise RuntimeError(f"torchvision.ops.nms returned {keep.tolist()} instead of [0]")


def check_torch() -> Finding:
    fix = (
        f"install matching releases, e.g. pip install torch=={TESTED['torch']} "
        f"torchvision=={TESTED['torchvision']} (the tested pair)"
    )
    try:
        import torch
        import torchvision
    except Exception as err:  # noqa: BLE001 - any import failure is the finding
        return Finding(FAIL, f"import failed: {_one_line(err)}", fix)
    versions = f"torch {torch.__version__}, torchvision {torchvision.__version__}"
    try:
        nms_probe()
    except Exception as err:  # noqa: BLE001
        return Finding(
            FAIL,
            f"{versions}: torchvision ops fail together with this torch: {_one_line(err)}",
            fix,
        )
    return Finding(OK, f"{versions}; torchvision ops work (nms)")


def check_cuda() -> Finding:
    import torch

    built = (
        f"torch built with CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only torch"
    )
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n == 0:
        return Finding(WARN, f"no CUDA device ({built}): training and k-means run on the CPU")
    names = ", ".join(torch.cuda.get_device_name(i) for i in range(n))
    return Finding(OK, f"{n} device(s): {names} ({built})")


def check_solo_import() -> Finding:
    if not solo_available():
        return Finding(
            FAIL, "`import solo` fails: solo-learn is not installed (it is not on PyPI)", SOLO_FIX
        )
    spec = importlib.util.find_spec("solo")
    where = Path(spec.origin).resolve().parents[1] if spec and spec.origin else "?"
    return Finding(OK, f"importable, installed from {where}")


def check_solo_checkout() -> Finding:
    from solo_tase.experiments import find_solo_learn_dir

    try:
        path = find_solo_learn_dir()
    except FileNotFoundError as err:
        return Finding(
            FAIL,
            str(err).splitlines()[0],
            f"make solo-learn (it clones one), or place a checkout at commit "
            f"{SOLO_LEARN_COMMIT} there, or set {SOLO_LEARN_ENV}=/path/to/solo-learn",
        )
    commit = checkout_commit(path)
    if commit is None:
        return Finding(
            WARN,
            f"{path}, main_pretrain.py found; not a git checkout: commit unknown "
            f"(tested with {SOLO_LEARN_COMMIT})",
        )
    if not commit.startswith(SOLO_LEARN_COMMIT):
        return Finding(
            WARN,
            f"{path} is at commit {commit[:7]}, main_pretrain.py found; solo-tase "
            f"is tested with {SOLO_LEARN_COMMIT}",
            f"git -C {path} checkout {SOLO_LEARN_COMMIT}",
        )
    return Finding(OK, f"{path}, commit {commit[:7]}, main_pretrain.py found")


def check_configs() -> Finding:
    """The Hydra configs of every kind are there; says where and how many."""
    from solo_tase.config_folders import (
        KINDS,
        REINSTALL,
        config_datasets,
        config_files,
        configs_root,
    )

    try:
        root = configs_root()
    except FileNotFoundError as err:
        return Finding(FAIL, str(err))
    counts = {kind: (len(config_files(kind)), len(config_datasets(kind))) for kind in KINDS}
    found = ", ".join(f"{kind} {n} files in {d} datasets" for kind, (n, d) in counts.items())
    if not all(n for n, _ in counts.values()):
        return Finding(FAIL, f"{root}: {found}", REINSTALL)
    return Finding(
        OK, f"{root}: {found} (`solo-tase configs --dataset NAME` prints a --config-path)"
    )


def check_solo_stack() -> Finding:
    versions, missing = [], []
    for dist in ("lightning", "torchmetrics", "hydra-core"):
        try:
            versions.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist)
    if missing:
        return Finding(
            FAIL, f"missing: {', '.join(missing)}", "pip install -e '.[solo]'   # in solo-tase"
        )
    return Finding(OK, ", ".join(versions))


def check_faiss() -> Finding:
    try:
        import faiss
    except ImportError:
        return Finding(
            WARN,
            "not installed: k-means runs in torch",
            "pip install faiss-cpu   (GPU: faiss-gpu-cu12)",
        )
    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    kind = f"gpu, {gpus} GPU(s)" if gpus else "cpu"
    return Finding(OK, f"faiss {getattr(faiss, '__version__', '?')} ({kind})")


def registered_methods() -> dict[str, bool]:
    """Instantiate the Hydra callback as a config does; method name -> found in solo's METHODS."""
    from hydra.utils import instantiate

    from solo_tase.methods import PLUGIN_METHODS

    with warnings.catch_warnings():  # solo-learn's and timm's import-time deprecation noise
        warnings.simplefilter("ignore")
        instantiate({"_target_": "solo_tase.plugin.SoloTasePlugin"})
        import solo.methods

    found = {}
    for name, target in PLUGIN_METHODS.items():
        module, cls = target.split(":")
        method = getattr(importlib.import_module(module), cls)
        found[name] = solo.methods.METHODS.get(name) is method
    return found


def check_registration() -> Finding:
    fix = "make solo-learn, then pip install -e '.[solo]' (see the solo-learn lines above)"
    try:
        found = registered_methods()
    except Exception as exc:  # noqa: BLE001 - any failure of the callback is the finding
        err: BaseException = exc
        while err.__cause__ is not None:  # Hydra wraps the real error
            err = err.__cause__
        return Finding(
            FAIL, f"the Hydra callback solo_tase.plugin.SoloTasePlugin fails: {_one_line(err)}", fix
        )
    missing = [n for n, ok in found.items() if not ok]
    if missing:
        return Finding(
            FAIL, f"not in solo.methods.METHODS after the callback: {', '.join(missing)}", fix
        )
    return Finding(
        OK, f"{', '.join(found)} registered in solo.methods.METHODS by the Hydra callback"
    )


def data_root() -> Path:
    """``$SOLO_TASE_DATA`` or ``./datasets``."""
    from solo_tase.cli.data import default_data_root

    return default_data_root().resolve()


def check_data_root() -> Finding:
    root = data_root()
    source = (
        "from $SOLO_TASE_DATA"
        if os.environ.get("SOLO_TASE_DATA")
        else "default; set SOLO_TASE_DATA to move it"
    )
    if root.exists() and not root.is_dir():
        return Finding(
            WARN,
            f"{root} ({source}) is not a folder",
            "remove it or set SOLO_TASE_DATA=/path/to/datasets",
        )
    state = "exists" if root.is_dir() else "created on first build"
    return Finding(OK, f"{root} ({source}; {state})")


def check_digits() -> Finding:
    from solo_tase.data.manifest import MANIFEST_NAME

    if importlib.util.find_spec("sklearn") is None:
        return Finding(
            FAIL,
            "scikit-learn (which embeds the digits) is not installed",
            "pip install -e .   # in solo-tase",
        )
    manifest = data_root() / "digits-lt" / MANIFEST_NAME
    if manifest.is_file():
        return Finding(OK, f"built ({manifest})")
    return Finding(
        OK,
        f"not built yet in {manifest.parent} (scikit-learn embeds it): "
        f"solo-tase data build digits-lt",
    )


def check_fashion_mnist() -> Finding:
    from solo_tase.data.fashion_mnist import find_raw_files

    try:
        files = find_raw_files(None)
    except FileNotFoundError as err:
        lines = str(err).strip().splitlines()
        return Finding(WARN, lines[0], "\n".join(lines[1:]))
    folders = sorted({str(Path(p).parent) for p in files.values()})
    return Finding(OK, f"idx files in {', '.join(folders)}")


CHECKS: tuple[Check, ...] = (
    Check("python", check_python, True),
    Check("torch", check_torch, True),
    Check("CUDA", check_cuda, False),
    Check("solo-learn", check_solo_import, True),
    Check("solo-learn checkout", check_solo_checkout, True),
    Check("solo-learn deps", check_solo_stack, True),
    Check("faiss", check_faiss, False),
    Check("methods", check_registration, True),
    Check("configs", check_configs, True),
    Check("data root", check_data_root, False),
    Check("Digits-LT", check_digits, True),
    Check("Fashion-MNIST", check_fashion_mnist, False),
)


def _one_line(err: BaseException) -> str:
    """``Type: first line of the message``."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


def diagnose(checks: Sequence[Check] | None = None) -> list[tuple[str, Finding]]:
    """Run ``checks`` (default: ``CHECKS``); an unexpected error is a FAIL (blocking checks) or a
    WARN (the others)."""
    out = []
    for check in CHECKS if checks is None else checks:
        try:
            finding = check.run()
        except Exception as err:  # noqa: BLE001 - the doctor reports, it does not crash
            finding = Finding(
                FAIL if check.blocking else WARN, f"the check itself failed: {_one_line(err)}"
            )
        out.append((check.name, finding))
    return out


def report(findings: Sequence[tuple[str, Finding]], console: Console) -> bool:
    """Print one line per finding (✓/!/✗ on a terminal, OK/WARN/FAIL otherwise) with its fix
    indented below; return whether the main job can run (no FAIL)."""
    fancy = console.is_terminal
    marks = (
        {OK: ("✓", "green"), WARN: ("!", "yellow"), FAIL: ("✗", "red")}
        if fancy
        else {OK: ("OK  ", ""), WARN: ("WARN", ""), FAIL: ("FAIL", "")}
    )
    width = max(len(name) for name, _ in findings)
    for name, finding in findings:
        mark, style = marks[finding.status]
        line = Text.assemble(
            (mark, style), " ", (name.ljust(width), "bold" if fancy else ""), "  ", finding.detail
        )
        console.print(line, highlight=False, soft_wrap=True)
        for i, fix_line in enumerate(finding.fix.splitlines()):
            console.print(
                Text(" " * (width + 7) + ("fix: " if i == 0 else "     ") + fix_line),
                highlight=False,
                soft_wrap=True,
            )
    can_run = all(f.status != FAIL for _, f in findings)
    bad = "✗" if fancy else "FAIL"
    console.print(
        "doctor: the main job (make demo) can run here"
        if can_run
        else f"doctor: the main job (make demo) cannot run here: fix the {bad} lines above",
        highlight=False,
        soft_wrap=True,
    )
    return can_run


def run_doctor(console: Console | None = None) -> bool:
    """Run every check and print the report; True when the main job can run."""
    return report(diagnose(), console or Console())


def register(sub: argparse._SubParsersAction) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check that the main job (make demo) can run here: "
        "torch, solo-learn, the methods' registration, data",
    )
    doctor.set_defaults(func=lambda args: 0 if run_doctor() else 1)
