"""The Hydra callback that plugs solo-tase into solo-learn's ``main_pretrain.py``.

Add to any solo-learn pretrain config::

    hydra:
      callbacks:
        solo_tase:
          _target_: solo_tase.plugin.SoloTasePlugin

Hydra imports this module before ``main_pretrain`` builds ``METHODS[cfg.method](cfg)``; importing it
registers the plugin's methods into ``solo.methods.METHODS`` (idempotent, no solo-learn file is
touched). When the run starts, the callback resolves the config's interpolations and data paths
(so args.json is self-contained) and applies its optional ``data.long_tail`` block.
"""

from __future__ import annotations

from typing import Any

from solo_tase.solo_compat import require_solo

require_solo()

from hydra.experimental.callback import Callback  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from solo_tase.methods import register_methods  # noqa: E402

register_methods()


class SoloTasePlugin(Callback):
    """Registers the methods (on import); prepares the config when the run starts."""

    def __init__(self, **_: Any) -> None:
        register_methods()

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Resolve the config, apply ``data.long_tail``, check the plugin methods' crops/DALI.

        Hydra copies the config for the task after this hook, so edits made here reach
        main_pretrain (edits in on_job_start would not). Hydra also turns exceptions raised in
        callbacks into warnings and runs the job anyway (which would, e.g., train on the full
        dataset): every failure is re-raised as ``SystemExit``, the one error it lets through.
        """
        from solo_tase.job_config import prepare_config
        from solo_tase.methods import INDEXED_METHODS, PLUGIN_METHODS
        from solo_tase.methods.checks import early_checks

        try:
            prepare_config(config)
            early_checks(config, PLUGIN_METHODS, INDEXED_METHODS)
        except Exception as err:
            raise SystemExit(
                f"solo-tase: the run stops before training: {type(err).__name__}: {err}"
            ) from err
