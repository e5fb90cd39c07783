"""Test tiers: unit tests always run; tests marked ``integration`` need solo-learn.

Integration tests run whenever ``import solo`` works and are skipped with the install hint
otherwise. They also need solo-learn's ``main_pretrain.py``: from ``SOLO_LEARN_DIR`` or the
checkout that ``solo`` was installed from (``make solo-learn`` installs it editable).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from solo_tase.solo_compat import MAKE_STEP, solo_available
from tests.helpers.paths import REFERENCE_SPLITS

SOLO_MISSING = f"solo-learn is not importable; install it with {MAKE_STEP}"

_integration = {"passed": 0, "failed": 0, "skipped": 0, "reasons": set()}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if solo_available():
        return
    skip = pytest.mark.skip(reason=SOLO_MISSING)
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "integration" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = "skipped" if report.skipped else report.outcome
        _integration[outcome] += 1
        if report.skipped and isinstance(report.longrepr, tuple):
            _integration["reasons"].add(str(report.longrepr[2]).removeprefix("Skipped: "))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    i = _integration
    line = f"integration tier: {i['passed']} passed, {i['failed']} failed, {i['skipped']} skipped"
    terminalreporter.write_line(line)
    for reason in sorted(i["reasons"]):
        terminalreporter.write_line(f"  skipped because: {reason}")


@pytest.fixture(scope="session")
def solo_learn_dir() -> Path:
    """The solo-learn checkout holding main_pretrain.py (integration tests only)."""
    from solo_tase.experiments import find_solo_learn_dir

    try:
        return find_solo_learn_dir()
    except FileNotFoundError as err:
        pytest.fail(
            f"solo-learn is importable but its checkout (main_pretrain.py) was not "
            f"found: set SOLO_LEARN_DIR or install it with `make solo-learn`.\n{err}"
        )


@pytest.fixture(scope="session")
def digits_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root holding Digits-LT (built once per session) at ``<root>/digits-lt``."""
    from solo_tase.data.digits import build_digits_lt

    root = tmp_path_factory.mktemp("data")
    build_digits_lt(root / "digits-lt")
    return root


@pytest.fixture(scope="session")
def reference_splits() -> Path:
    """``../shared/reference-splits`` beside the project (skip when absent)."""
    if not REFERENCE_SPLITS.is_dir():
        pytest.skip(f"reference split files not found at {REFERENCE_SPLITS}")
    return REFERENCE_SPLITS
