"""What the plugin's Hydra callback applies to a run's config before ``main_pretrain`` reads it:
resolved interpolations and absolute data paths, the data folders checked (a built folder against
its manifest, recorded as ``data.manifest`` and ``data.manifest_checksum``), BCL's boosted data
path for the methods that boost, and the optional in-place ``data.long_tail`` restriction."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf


def prepare_config(config: DictConfig) -> None:
    """Resolve paths, check the data folders (``InputError`` for a missing path, a dataset root or
    a folder that does not match its manifest), install the optional ``data.long_tail``
    restriction and, for methods with BCL, the boosted augmentation."""
    from solo_tase.data.solo_hook import check_data_paths, resolve_paths
    from solo_tase.methods.boosted import install_boosted_augment

    resolve_paths(config)
    check_data_paths(config)
    install_boosted_augment(config)
    if OmegaConf.select(config, "data.long_tail") is not None:
        from solo_tase.data.long_tail import install_long_tail

        install_long_tail(config)
