"""scripts/install_solo_learn.sh, the Makefile's `test` / `demo` set-up and .ci/run: where
solo-learn is looked for, what happens without a checkout, git or network, and what CI prints."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import solo_tase.experiments as experiments
from solo_tase.solo_compat import SOLO_LEARN_COMMIT, checkout_commit, solo_learn_candidates
from tests.helpers.paths import REPO

SCRIPT = REPO / "scripts" / "install_solo_learn.sh"
CLONE = "git clone https://github.com/vturrisi/solo-learn"

pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("git") is None, reason="needs bash and git"
)


def _bin(tmp_path: Path, name: str, body: str) -> Path:
    """A folder holding one executable shell script ``name`` (to put first on PATH)."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    exe = folder / name
    exe.write_text("#!/usr/bin/env bash\n" + body)
    exe.chmod(0o755)
    return folder


def _run(
    cmd: list[str],
    env: dict[str, str],
    cwd: Path = REPO,
    path_first: Path | None = None,
    timeout: int = 120,
) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "SOLO_LEARN_DIR"}
    full.update({"PYTHON": sys.executable, **env})
    if path_first is not None:
        full["PATH"] = f"{path_first}{os.pathsep}{full['PATH']}"
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _script(
    *args: str,
    env: dict[str, str] | None = None,
    path_first: Path | None = None,
    script: Path = SCRIPT,
) -> subprocess.CompletedProcess:
    return _run(["bash", str(script), *args], env or {}, path_first=path_first)


def _checkout(root: Path, commit: bool = True) -> Path:
    """A tiny git repository holding a main_pretrain.py (at some commit that is not ours)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "main_pretrain.py").write_text("# entry point\n")
    if commit:
        git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
        for args in (["init", "-q"], ["add", "main_pretrain.py"], ["commit", "-q", "-m", "x"]):
            subprocess.run([*git, *args], check=True, capture_output=True)
    return root


FAILING_GIT = 'echo "fatal: unable to access github.com: Could not resolve host" >&2\nexit 128\n'


def test_shell_and_python_search_the_same_places_in_the_same_order(tmp_path: Path):
    default = _script("--places")
    assert default.returncode == 0, default.stderr
    expected = [str(p) for p in solo_learn_candidates(REPO)]
    assert default.stdout.splitlines() == expected
    assert expected == [
        str(REPO / "solo-learn"),
        str(REPO.parent / "solo-learn"),
        "/opt/solo-learn",
    ]
    chosen = _script("--places", env={"SOLO_LEARN_DIR": str(tmp_path)})
    assert chosen.stdout.splitlines() == [str(tmp_path)]


def test_both_pick_the_first_place_holding_a_checkout(tmp_path: Path, monkeypatch):
    project = tmp_path / "proj"
    for f in ("scripts/install_solo_learn.sh", "solo_tase/solo_compat.py"):
        (project / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / f, project / f)
    inner = _checkout(project / "solo-learn", commit=False)
    outer = _checkout(tmp_path / "solo-learn", commit=False)
    monkeypatch.delenv("SOLO_LEARN_DIR", raising=False)
    monkeypatch.setattr(experiments, "source_tree", lambda: project)
    script = project / "scripts" / "install_solo_learn.sh"
    for expected in (inner, outer):
        proc = _script("--check", script=script)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"solo-learn checkout: {expected} ")
        assert experiments.find_solo_learn_dir() == expected
        shutil.rmtree(expected)


def test_an_installed_package_looks_from_the_current_folder(tmp_path: Path, monkeypatch):
    work = tmp_path / "work"
    checkout = _checkout(work / "solo-learn", commit=False)
    monkeypatch.delenv("SOLO_LEARN_DIR", raising=False)
    monkeypatch.setattr(experiments, "source_tree", lambda: None)
    monkeypatch.chdir(work)
    assert experiments.find_solo_learn_dir() == checkout


def test_no_checkout_and_no_network_stops_with_the_clone_commands(tmp_path: Path):
    empty = tmp_path / "solo"
    empty.mkdir()
    proc = _script(
        "--get", env={"SOLO_LEARN_DIR": str(empty)}, path_first=_bin(tmp_path, "git", FAILING_GIT)
    )
    assert proc.returncode == 3
    assert f"{CLONE} {empty}\n" in proc.stderr
    assert f"git -C {empty} checkout {SOLO_LEARN_COMMIT}\n" in proc.stderr
    assert "failed (no network?)" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "solo"]  # no half clone left
    assert list(empty.iterdir()) == []


def test_no_git_stops_with_the_clone_commands(tmp_path: Path):
    tools = tmp_path / "tools"  # a PATH with what the script needs, and no git
    tools.mkdir()
    for tool in ("dirname", "ls", "mkdir", "rm", "mv", "rmdir", "env", "bash"):
        (tools / tool).symlink_to(shutil.which(tool))
    target = tmp_path / "solo"
    env = {k: v for k, v in os.environ.items() if k != "SOLO_LEARN_DIR"}
    env.update(PATH=str(tools), PYTHON=sys.executable, SOLO_LEARN_DIR=str(target))
    proc = subprocess.run(
        [str(tools / "bash"), str(SCRIPT), "--get"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    assert "git is not installed" in proc.stderr and f"{CLONE} {target}" in proc.stderr
    assert not target.exists()


def test_a_checkout_at_another_commit_is_used_with_a_warning(tmp_path: Path):
    repo = _checkout(tmp_path / "other")
    head = checkout_commit(repo)
    for mode in ("--check", "--get"):
        proc = _script(mode, env={"SOLO_LEARN_DIR": str(repo)})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == f"solo-learn checkout: {repo} (commit {head[:7]})\n"
        assert (
            f"warning: {repo} is at commit {head[:7]}, solo-tase is tested with "
            f"{SOLO_LEARN_COMMIT}; using it as it is"
        ) in proc.stderr
        assert "cloning" not in proc.stderr


def test_a_folder_with_other_files_is_never_cloned_over(tmp_path: Path):
    target = tmp_path / "solo"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    proc = _script("--get", env={"SOLO_LEARN_DIR": str(target)})
    assert proc.returncode == 3
    assert "exists but holds no main_pretrain.py" in proc.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def _redirecting_git(tmp_path: Path, source: Path) -> Path:
    """A git whose `clone URL DIR` clones ``source`` instead of GitHub."""
    real = shutil.which("git")
    return _bin(
        tmp_path,
        "git",
        f'[ "$1" = clone ] && exec {real} clone -q {source} "$4"\nexec {real} "$@"\n',
    )


def test_a_clone_without_the_pinned_commit_is_refused_and_removed(tmp_path: Path):
    source = _checkout(tmp_path / "upstream")
    target = tmp_path / "solo"
    proc = _script(
        "--get", env={"SOLO_LEARN_DIR": str(target)}, path_first=_redirecting_git(tmp_path, source)
    )
    assert proc.returncode == 3
    assert f"the clone has no commit {SOLO_LEARN_COMMIT}" in proc.stderr
    assert not target.exists()
    assert not list(tmp_path.glob(".solo.clone-*"))


def test_a_clone_is_checked_out_at_the_pinned_commit(tmp_path: Path):
    try:
        source = experiments.find_solo_learn_dir()
    except FileNotFoundError:
        pytest.skip("no local solo-learn checkout to clone from")
    if not (checkout_commit(source) or "").startswith(SOLO_LEARN_COMMIT):
        pytest.skip(f"the local checkout {source} is not a git checkout at {SOLO_LEARN_COMMIT}")
    target = tmp_path / "solo"
    proc = _script(
        "--get", env={"SOLO_LEARN_DIR": str(target)}, path_first=_redirecting_git(tmp_path, source)
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"solo-learn checkout: {target} (commit {SOLO_LEARN_COMMIT})\n"
    assert (target / "main_pretrain.py").is_file()
    assert checkout_commit(target).startswith(SOLO_LEARN_COMMIT)
    assert not list(tmp_path.glob(".solo.clone-*"))


@pytest.fixture
def fake_venv(tmp_path: Path) -> Path:
    """A venv folder whose python runs pytest as an echo of its arguments, ``-m pip`` as a
    failure and has no solo-learn (``import solo`` from stdin fails)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".ready").touch()
    os.utime(venv / ".ready", (4e9, 4e9))  # newer than pyproject.toml: no set-up is run
    python = venv / "bin" / "python"
    python.write_text(
        f'#!/usr/bin/env bash\ncase "$1 $2" in\n'
        f'  "-m pytest") echo "PYTEST RAN ${{*:3}}"; exit 0;;\n'
        f'  "-m pip") echo "pip failed" >&2; exit 1;;\n'
        f'  "- ") exit 1;;\n'
        f'esac\nexec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    return venv


def _make(target: str, venv: Path, env: dict[str, str], path_first: Path | None = None):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return _run(
        ["make", "--no-print-directory", target, f"VENV={venv}"], env, path_first=path_first
    )


@pytest.mark.parametrize("target, pytest_args", [("test", "-ra"), ("test-fast", "-ra -m not slow")])
def test_make_test_runs_the_unit_tier_when_no_checkout_can_be_had(
    tmp_path: Path, fake_venv, target: str, pytest_args: str
):
    """``make test`` runs every test, ``make test-fast`` those not marked slow."""
    empty = tmp_path / "solo"
    empty.mkdir()
    proc = _make(
        target, fake_venv, {"SOLO_LEARN_DIR": str(empty)}, _bin(tmp_path, "git", FAILING_GIT)
    )
    assert proc.returncode == 0, proc.stderr
    assert "PYTEST RAN" in proc.stdout
    assert f"PYTEST RAN {pytest_args}" in proc.stdout.splitlines()  # the echo drops the quotes
    assert "no solo-learn checkout: the integration tier will be skipped" in proc.stderr


def test_make_test_stops_when_installing_solo_learn_fails(tmp_path: Path, fake_venv):
    checkout = _checkout(tmp_path / "solo", commit=False)
    proc = _make("test", fake_venv, {"SOLO_LEARN_DIR": str(checkout)})
    assert proc.returncode != 0
    assert "pip failed" in proc.stderr and "PYTEST RAN" not in proc.stdout


def test_make_demo_stops_before_any_set_up_without_a_checkout(tmp_path: Path):
    empty = tmp_path / "solo"
    empty.mkdir()
    venv = tmp_path / "venv"
    proc = _make("demo", venv, {"SOLO_LEARN_DIR": str(empty)}, _bin(tmp_path, "git", FAILING_GIT))
    assert proc.returncode != 0
    assert f"{CLONE} {empty}" in proc.stderr
    assert not venv.exists()


@pytest.mark.parametrize(
    "summary, make_rc, error, rc, says",
    [
        (
            "integration tier: 4 passed, 0 failed, 0 skipped",
            0,
            "",
            0,
            "CI: ran the unit and integration tiers with solo-learn ",
        ),
        (
            "integration tier: 0 passed, 0 failed, 7 skipped",
            0,
            "",
            0,
            "CI: ran the unit tier only (integration tier skipped",
        ),
        (
            "integration tier: 0 passed, 0 failed, 0 skipped",
            2,
            "make: *** [Makefile:29: test] Error 5",
            1,
            "CI: FAILED - pytest collected or ran no tests (exit 5)",
        ),
        (
            "integration tier: 3 passed, 1 failed, 0 skipped",
            2,
            "make: *** [Makefile:29: test] Error 1",
            2,
            "CI: FAILED - make test exited with 2",
        ),
        (  # tests pass, lint fails: CI fails and says why
            "integration tier: 4 passed, 0 failed, 0 skipped",
            0,
            "",
            1,
            "CI: FAILED - make lint exited with 2",
        ),
    ],
)
def test_ci_prints_the_tier_and_keeps_the_exit_codes(
    tmp_path: Path, summary, make_rc, error, rc, says
):
    lint_rc = 2 if "make lint" in says else 0
    fake_make = _bin(
        tmp_path,
        "make",
        f'[ "$1" = lint ] && exit {lint_rc}\n[ "$1" = test ] || exit 99\necho "{summary}"\n'
        f'echo "{error}" >&2\nexit {make_rc}\n',
    )
    _bin(tmp_path, "apt-get", "exit 100\n")  # where Fashion-MNIST is missing, its install fails
    proc = _run(["bash", str(REPO / ".ci" / "run")], {"CI": "true"}, path_first=fake_make)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    tail = proc.stdout.split("---- CI summary ----\n", 1)[1]
    assert summary in tail.splitlines()
    assert ("CI: lint passed" in tail) == (lint_rc == 0)
    assert says in tail
