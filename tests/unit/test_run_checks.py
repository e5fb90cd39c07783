"""Checks of a run's config made before training (methods/checks.py)."""

from __future__ import annotations

import warnings

import pytest
from omegaconf import OmegaConf

from solo_tase.methods.checks import early_checks, final_checkpoint_problem


def config(frequency: int, max_epochs: int, enabled: bool = True):
    return OmegaConf.create(
        {
            "method": "simclr",
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
