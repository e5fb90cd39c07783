"""Checks of a run's config made before training (the plugin's Hydra callback) and at a method's
start: two large crops, real DALI indexes, a checkpoint of the last epoch, the ``method_kwargs`` of
solo-learn's own methods that the plugin ships configs for."""

from __future__ import annotations

import warnings
from typing import Any

from omegaconf import DictConfig, OmegaConf

from solo_tase.methods.config import SoloSimclrConfig
from solo_tase.settings import ConfigError

# solo-learn's own methods among the shipped configs' ``method:`` values -> the record of the
# ``method_kwargs`` they read (the plugin's methods check theirs when they are built)
SOLO_LEARN_RECORDS: dict[str, Any] = {"simclr": SoloSimclrConfig}


def count_crops(augmentations: Any) -> tuple[int, int]:
    """(large, small) crops as solo-learn counts them: large = crop_size of the first pipeline."""
    big = augmentations[0].crop_size
    large = sum(int(a.num_crops) for a in augmentations if a.crop_size == big)
    small = sum(int(a.num_crops) for a in augmentations if a.crop_size != big)
    return large, small


def check_two_large_crops(cfg: DictConfig, method: str) -> None:
    """The plugin's methods contrast exactly two large crops and no small crops."""
    large, small = count_crops(cfg.augmentations)
    if large != 2 or small != 0:
        raise ConfigError(
            f"method '{method}' needs exactly 2 large crops and no small crops, but "
            f"augmentations give {large} large and {small} small: set "
            "augmentations[*].num_crops so that the crops of size augmentations[0].crop_size "
            "add up to 2"
        )


def check_dali_indexes(cfg: DictConfig, method: str) -> None:
    """With DALI, real dataset indexes require ``dali.encode_indexes_into_labels=True``."""
    if OmegaConf.select(cfg, "data.format") == "dali" and not OmegaConf.select(
        cfg, "dali.encode_indexes_into_labels", default=False
    ):
        raise ConfigError(
            f"method '{method}' keeps per-sample state keyed by dataset index, but DALI only "
            "yields real indexes with dali.encode_indexes_into_labels=True (allowed: true); "
            "set it in the config"
        )


def final_checkpoint_problem(cfg: DictConfig) -> str | None:
    """Why the run would end without a checkpoint of its last epoch, or None.

    solo-learn's Checkpointer saves after epoch ``e`` (0-based) only when
    ``e % checkpoint.frequency == 0`` and saves nothing when training ends, so the last epoch
    (``max_epochs - 1``) is kept only when ``checkpoint.frequency`` divides ``max_epochs - 1``.
    """
    if not OmegaConf.select(cfg, "checkpoint.enabled", default=False):
        return None
    frequency = int(OmegaConf.select(cfg, "checkpoint.frequency", default=1))
    last = int(OmegaConf.select(cfg, "max_epochs", default=1)) - 1
    if frequency <= 0 or last % frequency == 0:
        return None
    kept = last - last % frequency
    return (
        f"checkpoint.frequency={frequency} with max_epochs={last + 1}: solo-learn saves only "
        f"the epochs divisible by the frequency and nothing at the end, so the last checkpoint "
        f"will be of epoch {kept} (0-based), not of the last epoch {last}; set "
        "checkpoint.frequency=1 (or a divisor of max_epochs - 1)"
    )


def check_solo_learn_kwargs(config: DictConfig) -> None:
    """Refuse unknown, missing or bad ``method_kwargs`` of a solo-learn method in
    :data:`SOLO_LEARN_RECORDS` (solo-learn itself ignores an unknown key and trains at the
    default), naming the key (``ConfigError``)."""
    record = SOLO_LEARN_RECORDS.get(OmegaConf.select(config, "method"))
    if record is None:
        return
    node = OmegaConf.select(config, "method_kwargs")
    kwargs = OmegaConf.to_container(node, resolve=True) if node is not None else {}
    record.from_kwargs(kwargs)


def early_checks(config: DictConfig, methods: Any, indexed: Any) -> None:
    """Checks run by the Hydra callback before main_pretrain starts (whose own crop assertion
    has no message): a warning when the last epoch would not be checkpointed (any method); the
    ``method_kwargs`` of solo-learn's methods in :data:`SOLO_LEARN_RECORDS`; two large crops for
    the plugin's ``methods``, real DALI indexes for the ``indexed`` ones (those that key
    per-sample state by dataset index)."""
    problem = final_checkpoint_problem(config)
    if problem is not None:
        warnings.warn(f"solo-tase: {problem}", UserWarning, stacklevel=2)
    check_solo_learn_kwargs(config)
    method = OmegaConf.select(config, "method")
    if method not in methods or OmegaConf.select(config, "augmentations") is None:
        return
    check_two_large_crops(config, method)
    if method in indexed or OmegaConf.select(config, "method_kwargs.gh.enabled", default=False):
        check_dali_indexes(config, method)
