"""``solo-tase doctor``: one line per check, the fix where something is wrong, exit code 1 only when
the main job cannot run."""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from rich.console import Console

from solo_tase.cli import doctor
from solo_tase.cli.main import main as cli
from solo_tase.solo_compat import SOLO_LEARN_COMMIT, solo_available


def _replace(monkeypatch, **runs) -> None:
    """Swap the ``run`` of the named checks (``name=function``; ``_`` stands for a space)."""
    names = {k.replace("_", " "): v for k, v in runs.items()}
    monkeypatch.setattr(
        doctor,
        "CHECKS",
        tuple(
            dataclasses.replace(c, run=names[c.name]) if c.name in names else c
            for c in doctor.CHECKS
        ),
    )


def _fashion(monkeypatch, find) -> None:
    module = types.ModuleType("solo_tase.data.fashion_mnist")
    module.find_raw_files = find
    monkeypatch.setitem(sys.modules, "solo_tase.data.fashion_mnist", module)


def _fake_checkout(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "main_pretrain.py").write_text("# solo-learn's entry point\n")
    return root


def _faiss(monkeypatch) -> None:
    """faiss 1.8.0 (CPU) looks installed, whether it is or not."""
    module = types.ModuleType("faiss")
    module.__version__ = "1.8.0"
    module.get_num_gpus = lambda: 0
    monkeypatch.setitem(sys.modules, "faiss", module)


@pytest.fixture
def healthy(monkeypatch, tmp_path: Path) -> Path:
    """Everything the main job needs looks present, without importing solo-learn; the optional
    parts look the same on every machine: faiss installed, no CUDA device, Fashion-MNIST found."""
    import torch

    checkout = _fake_checkout(tmp_path / "solo-learn")
    monkeypatch.setenv("SOLO_LEARN_DIR", str(checkout))
    monkeypatch.setenv("SOLO_TASE_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(doctor, "solo_available", lambda: True)
    monkeypatch.setattr(
        doctor, "registered_methods", lambda: {"tase": True, "sdclr": True, "ts": True}
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _faiss(monkeypatch)
    _replace(monkeypatch, solo_learn_deps=lambda: doctor.Finding(doctor.OK, "lightning 2.6"))
    _fashion(monkeypatch, lambda root: {"train_images": Path("/x/train-images-idx3-ubyte.gz")})
    return checkout


def _statuses(out: str) -> dict[str, str]:
    """Check name -> status word of a plain report (without the indented fixes and the verdict)."""
    width = max(len(c.name) for c in doctor.CHECKS)
    lines = out.strip().splitlines()[:-1]
    return {
        line[5 : 5 + width].rstrip(): line[:4].rstrip() for line in lines if not line[0].isspace()
    }


@pytest.mark.parametrize("faiss", ["installed", "missing"])
def test_healthy_machine_exits_zero_with_one_line_per_check(healthy, monkeypatch, capsys, faiss):
    if faiss == "missing":
        monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` raises ImportError
    assert cli(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "doctor: the main job (make demo) can run here"
    statuses = _statuses(out)
    assert list(statuses) == [c.name for c in doctor.CHECKS]
    warned = {"CUDA", "solo-learn checkout"} | ({"faiss"} if faiss == "missing" else set())
    assert {name for name, status in statuses.items() if status != "OK"} == warned
    assert set(statuses.values()) <= {"OK", "WARN"}
    assert "tase, sdclr, ts registered" in out
    assert "not a git checkout: commit unknown" in out  # the fake checkout has no .git
    assert "no CUDA device" in out
    if faiss == "missing":
        assert "not installed: k-means runs in torch" in out and "pip install faiss-cpu" in out
    else:
        assert "faiss 1.8.0 (cpu)" in out


def test_solo_learn_missing_fails_with_the_install_hint(healthy, monkeypatch, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("SOLO_LEARN_DIR", str(empty))
    monkeypatch.setattr(doctor, "solo_available", lambda: False)

    def no_solo():
        raise ImportError("solo-learn is not installed")

    monkeypatch.setattr(doctor, "registered_methods", no_solo)
    assert cli(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL solo-learn " in out and "`import solo` fails" in out
    assert "FAIL solo-learn checkout" in out and str(empty) in out
    assert "git clone https://github.com/vturrisi/solo-learn" in out
    assert f"checkout {SOLO_LEARN_COMMIT}" in out
    assert "FAIL methods" in out and "ImportError: solo-learn is not installed" in out
    assert out.strip().endswith("cannot run here: fix the FAIL lines above")


def test_torch_and_torchvision_that_do_not_work_together_block(healthy, monkeypatch, capsys):
    def broken():
        raise RuntimeError("operator torchvision::nms does not exist")

    monkeypatch.setattr(doctor, "nms_probe", broken)
    assert cli(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL torch" in out and "torchvision::nms does not exist" in out
    assert "pip install torch==2.14.1 torchvision==0.29.1" in out


def test_a_method_missing_from_solo_methods_blocks(healthy, monkeypatch, capsys):
    monkeypatch.setattr(
        doctor, "registered_methods", lambda: {"tase": True, "sdclr": False, "ts": True}
    )
    assert cli(["doctor"]) == 1
    assert "not in solo.methods.METHODS after the callback: sdclr" in capsys.readouterr().out


def test_optional_parts_missing_warn_but_do_not_block(healthy, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` raises ImportError

    def no_fashion(root):
        assert root is None
        raise FileNotFoundError(
            "Fashion-MNIST not found: looked in /nowhere.\napt-get install dataset-fashion-mnist"
        )

    _fashion(monkeypatch, no_fashion)
    assert cli(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "WARN faiss" in out and "pip install faiss-cpu" in out
    assert "WARN Fashion-MNIST" in out and "Fashion-MNIST not found" in out
    assert "fix: apt-get install dataset-fashion-mnist" in out


def test_an_unexpected_error_fails_blocking_checks_and_warns_on_the_others():
    def boom():
        raise KeyError("surprise")

    checks = [doctor.Check("a", boom, True), doctor.Check("b", boom, False)]
    findings = dict(doctor.diagnose(checks))
    assert findings["a"].status == doctor.FAIL and "KeyError" in findings["a"].detail
    assert findings["b"].status == doctor.WARN


def test_checkout_at_another_commit_warns_with_the_fix(healthy, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git = ["git", "-C", str(healthy), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "main_pretrain.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    finding = doctor.check_solo_checkout()
    assert finding.status == doctor.WARN
    assert f"solo-tase is tested with {SOLO_LEARN_COMMIT}" in finding.detail
    assert finding.fix == f"git -C {healthy} checkout {SOLO_LEARN_COMMIT}"


def test_digits_lt_built_or_the_command_to_build_it(healthy, tmp_path):
    assert "solo-tase data build digits-lt" in doctor.check_digits().detail
    manifest = tmp_path / "data" / "digits-lt" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    assert doctor.check_digits().detail == f"built ({manifest})"


def test_terminal_output_uses_marks_and_plain_output_words():
    findings = [
        ("x", doctor.Finding(doctor.OK, "fine")),
        ("y", doctor.Finding(doctor.FAIL, "broken", "do this\nthen that")),
    ]
    tty, plain = io.StringIO(), io.StringIO()
    assert not doctor.report(findings, Console(file=tty, force_terminal=True, width=200))
    assert not doctor.report(findings, Console(file=plain, force_terminal=False, width=200))
    assert "✓" in tty.getvalue() and "✗" in tty.getvalue()
    assert plain.getvalue().splitlines() == [
        "OK   x  fine",
        "FAIL y  broken",
        "        fix: do this",
        "             then that",
        "doctor: the main job (make demo) cannot run here: fix the FAIL lines above",
    ]


@pytest.mark.skipif(not solo_available(), reason="solo-learn is not importable")
def test_registration_check_instantiates_the_callback_and_finds_every_method():
    from solo_tase.methods import PLUGIN_METHODS

    finding = doctor.check_registration()
    assert finding.status == doctor.OK, finding
    assert set(doctor.registered_methods()) == set(PLUGIN_METHODS)
