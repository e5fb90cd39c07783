"""Checks of a run's config made before training (methods/checks.py)."""

from __future__ import annotations

import warnings

import pytest
import yaml
from omegaconf import OmegaConf

from solo_tase.methods import PLUGIN_METHODS
from solo_tase.methods.checks import SOLO_LEARN_RECORDS, early_checks, final_checkpoint_problem
from solo_tase.settings import ConfigError
from tests.helpers.paths import PRETRAIN_CONFIGS

SIMCLR_KWARGS = {"proj_hidden_dim": 512, "proj_output_dim": 128, "temperature": 0.2}


def config(frequency: int, max_epochs: int, enabled: bool = True, **kwargs: float):
    return OmegaConf.create(
        {
            "method": "simclr",
            "method_kwargs": {**SIMCLR_KWARGS, **kwargs},
            "max_epochs": max_epochs,
            "checkpoint": {"enabled": enabled, "frequency": frequency},
        }
    )


@pytest.mark.parametrize(("frequency", "max_epochs"), [(1, 20), (19, 20), (10, 21), (5, 1)])
def test_a_frequency_dividing_the_last_epoch_keeps_it(frequency: int, max_epochs: int) -> None:
    assert final_checkpoint_problem(config(frequency, max_epochs)) is None


def test_disabled_checkpoints_are_not_reported() -> None:
    assert final_checkpoint_problem(config(10, 20, enabled=False)) is None


def test_a_frequency_that_skips_the_last_epoch_names_both_keys_and_the_fix() -> None:
    problem = final_checkpoint_problem(config(10, 20))
    assert problem is not None
    assert "checkpoint.frequency=10" in problem and "max_epochs=20" in problem
    assert "epoch 10" in problem and "last epoch 19" in problem
    assert "checkpoint.frequency=1" in problem


def test_the_hydra_checks_warn_for_any_method() -> None:
    with pytest.warns(UserWarning, match="checkpoint.frequency=10"):
        early_checks(config(10, 20), methods=(), indexed=())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        early_checks(config(1, 20), methods=(), indexed=())


def test_the_hydra_checks_refuse_a_misspelled_key_of_solo_learns_simclr() -> None:
    with pytest.raises(ConfigError, match=r"did you mean 'temperature'\?"):
        early_checks(config(1, 20, temprature=0.3), methods=(), indexed=())


def test_every_method_of_the_shipped_configs_has_its_keys_checked() -> None:
    methods = {
        yaml.safe_load(path.read_text())["method"] for path in PRETRAIN_CONFIGS.glob("*/*.yaml")
    }
    assert "simclr" in methods
    unchecked = methods - set(PLUGIN_METHODS) - set(SOLO_LEARN_RECORDS)
    assert not unchecked, (
        f"shipped configs of methods whose method_kwargs nobody checks: {unchecked}"
    )
