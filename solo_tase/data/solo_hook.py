"""Absolute, resolved paths in a run's config: applied by the plugin's Hydra callback when the run
starts (``on_run_start``, before ``main_pretrain`` reads the config; ``job_config.py``)."""

from __future__ import annotations

import os

from omegaconf import DictConfig, OmegaConf, open_dict


def resolve_paths(config: DictConfig) -> None:
    """Resolve interpolations outside ``hydra`` and make data paths absolute.

    solo-learn saves the config unresolved into args.json; resolving here makes args.json (and
    thus ``solo-tase eval`` / ``zoo publish``) independent of the environment and working folder.
    """
    with open_dict(config):
        for key in list(config.keys()):
            if key == "hydra":
                continue
            node = config._get_node(key)
            if OmegaConf.is_config(node):
                OmegaConf.resolve(node)  # type: ignore[arg-type]
            else:
                config[key] = config[key]
        for key in ("train_path", "val_path"):
            value = OmegaConf.select(config, f"data.{key}")
            if isinstance(value, str) and value and "://" not in value:
                config.data[key] = os.path.abspath(os.path.expanduser(value))
