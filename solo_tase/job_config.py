"""What the plugin's Hydra callback applies to a run's config before ``main_pretrain`` reads it:
resolved interpolations and absolute data paths, BCL's boosted data path for the methods that
boost, and the optional in-place ``data.long_tail`` restriction."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf


def prepare_config(config: DictConfig) -> None:
    """Resolve paths, install the optional ``data.long_tail`` restriction and, for methods with
    BCL, the boosted augmentation."""
    from solo_tase.data.solo_hook import resolve_paths
    from solo_tase.methods.boosted import install_boosted_augment

    resolve_paths(config)
    install_boosted_augment(config)
    if OmegaConf.select(config, "data.long_tail") is not None:
        from solo_tase.data.long_tail import install_long_tail

        install_long_tail(config)
