"""A wrong input to solo-learn's main_pretrain.py ends the run before training in one line with
exit code 2 (the plugin's Hydra callback), and a good run says where its checkpoints are."""

from __future__ import annotations

import inspect
import re
from dataclasses import fields
from pathlib import Path

import pytest

from solo_tase.methods.config import SoloSimclrConfig
from tests.helpers.solo_runs import DIGITS, TINY, single_run_folder

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # each test starts main_pretrain.py

STOP = "solo-tase: the run stops before training: "


@pytest.mark.parametrize(
    "config_name, override, message",
    [
        ("tase.yaml", "++method_kwargs.tau_mn=0.1", "(did you mean 'tau_min'?)"),
        (
            "tase.yaml",
            "method_kwargs.tau_min=0.6",
            "method_kwargs.tau_max must be >= method_kwargs.tau_min (0.6) (got 0.5)",
        ),
        ("tase.yaml", "method_kwargs.tail_signal=foo", "method_kwargs.tail_signal must be one of"),
        ("simclr.yaml", "++method_kwargs.temprature=0.3", "(did you mean 'temperature'?)"),
        ("simclr_plus.yaml", "++method_kwargs.gh.enabeld=True", "(did you mean 'enabled'?)"),
        ("simclr.yaml", "data.train_path=/nonexistent/train", "data.train_path"),  # InputError
    ],
)
def test_a_bad_setting_ends_the_run_in_one_line_with_exit_code_2(
    run_solo, tmp_path: Path, config_name: str, override: str, message: str
):
    proc = run_solo(
        "main_pretrain.py", DIGITS, config_name, TINY + ["max_epochs=1", override], tmp_path, False
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("solo-tase:") or "Error" in x]
    assert line.startswith(STOP) and message in line
    assert not list(tmp_path.glob("**/*.ckpt"))


def test_a_good_run_says_where_its_checkpoints_are(run_solo, tmp_path: Path):
    proc = run_solo(
        "main_pretrain.py",
        DIGITS,
        "simclr.yaml",
        TINY + ["max_epochs=1"],
        tmp_path,
    )
    folder = single_run_folder(tmp_path, "simclr")
    said = [x for x in proc.stdout.splitlines() if x.startswith("solo-tase: checkpoints in ")]
    assert said == [f"solo-tase: checkpoints in {folder.resolve()}"]
    assert list(folder.glob("*.ckpt"))


def test_the_solo_learn_simclr_keys_are_those_solo_learn_reads():
    from solo.methods.base import BaseMethod
    from solo.methods.simclr import SimCLR

    def read(cls: type) -> set[str]:
        return set(re.findall(r"method_kwargs\.(\w+)", inspect.getsource(cls)))

    listed = {f.name for f in fields(SoloSimclrConfig)}
    assert read(SimCLR) | read(BaseMethod) == listed
