"""The Hydra callback that plugs solo-tase into solo-learn's ``main_pretrain.py``.

Add to any solo-learn pretrain config::

    hydra:
      callbacks:
        solo_tase:
          _target_: solo_tase.plugin.SoloTasePlugin

Hydra imports this module before ``main_pretrain`` builds ``METHODS[cfg.method](cfg)``; importing it
registers the plugin's methods into ``solo.methods.METHODS`` (idempotent, no solo-learn file is
touched). When the run starts, the callback resolves the config's interpolations and data paths
(so args.json is self-contained), applies its optional ``data.long_tail`` block and checks the
method's settings; a bad input ends the run there, in one line with exit code 2. When the run
ends, it says where the checkpoints are.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from pathlib import Path
from typing import Any

from solo_tase.solo_compat import require_solo

require_solo()

from hydra.core.utils import JobReturn, JobStatus  # noqa: E402
from hydra.experimental.callback import Callback  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from solo_tase.errors import USER_ERRORS  # noqa: E402
from solo_tase.methods import register_methods  # noqa: E402

register_methods()

STOP = "solo-tase: the run stops before training"  # the start of every message of on_run_start


class SoloTasePlugin(Callback):
    """Registers the methods (on import); prepares and checks the config when the run starts;
    names the checkpoint folder when it ends."""

    def __init__(self, **_: Any) -> None:
        register_methods()
        self._started = time.time()

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Resolve the config, apply ``data.long_tail``, check the method's crops, DALI indexes
        and ``method_kwargs`` (with its blocks, ``gh``).

        Hydra copies the config for the task after this hook, so edits made here reach
        main_pretrain (edits in on_job_start would not). Hydra also turns exceptions raised in
        callbacks into warnings and runs the job anyway (which would, e.g., train on the full
        dataset): a user error (``solo_tase.errors.USER_ERRORS``) ends the run with one line on
        stderr and exit code 2, any other exception with ``SystemExit`` naming it (exit code 1).
        """
        from solo_tase.job_config import prepare_config
        from solo_tase.methods import INDEXED_METHODS, PLUGIN_METHODS
        from solo_tase.methods.checks import early_checks

        self._started = time.time()
        try:
            prepare_config(config)
            early_checks(config, PLUGIN_METHODS, INDEXED_METHODS)
            check_method_settings(config, PLUGIN_METHODS)
        except USER_ERRORS as err:
            print(f"{STOP}: {err}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None
        except Exception as err:
            raise SystemExit(f"{STOP}: {type(err).__name__}: {err}") from err

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        """Print ``solo-tase: checkpoints in <folder>`` after a completed run that wrote one (on
        the first process only)."""
        if job_return.status != JobStatus.COMPLETED or not _first_process():
            return
        folder = checkpoint_folder(config, since=self._started)
        if folder is not None:
            print(f"solo-tase: checkpoints in {folder}", flush=True)


def check_method_settings(config: DictConfig, methods: Any) -> None:
    """Run the checks that a plugin method (one of ``methods``) makes when main_pretrain builds
    it, now: its ``add_and_assert_specific_cfg`` (``method_kwargs`` and their blocks, crops,
    DALI) on a copy of ``config`` completed by solo-learn's ``parse_cfg`` as main_pretrain will,
    then the GH target the method would load. A copy that ``parse_cfg`` itself refuses is left to
    main_pretrain, which runs it again and reports the failure.

    Raises:
        ConfigError: a bad key or value, named.
    """
    method = OmegaConf.select(config, "method")
    if method not in methods:
        return
    from solo.args.pretrain import parse_cfg
    from solo.methods import METHODS

    cfg = copy.deepcopy(config)
    OmegaConf.set_readonly(cfg, False)
    OmegaConf.set_struct(cfg, False)  # as main_pretrain does before parse_cfg
    try:
        cfg = parse_cfg(cfg)
    except Exception:
        return
    method_class = METHODS[method]
    cfg = method_class.add_and_assert_specific_cfg(cfg)
    settings = method_class.config_class.from_kwargs(OmegaConf.to_container(cfg.method_kwargs))
    if settings.gh.enabled:
        from solo_tase.methods.gh_block import GhBlock

        GhBlock(settings.gh, settings.proj_output_dim)  # reads gh.target_file, if any


def checkpoint_folder(config: DictConfig, since: float) -> Path | None:
    """The absolute Checkpointer folder ``<checkpoint.dir>/<method>/<id>`` that this run wrote
    (its args.json is newer than ``since``, seconds since the epoch), or None (checkpoints off,
    none written)."""
    from solo_tase.run_folder import ARGS_NAME, run_folder

    if not OmegaConf.select(config, "checkpoint.enabled", default=False):
        return None
    out_dir = Path(str(OmegaConf.select(config, "checkpoint.dir", default="trained_models")))
    try:
        folder = run_folder(out_dir.expanduser().resolve(), str(config.method))
    except FileNotFoundError:
        return None
    # a second of slack for file clocks coarser than time.time()
    return folder if (folder / ARGS_NAME).stat().st_mtime >= since - 1.0 else None


def _first_process() -> bool:
    """False in the other processes of a distributed run (Lightning starts them with ranks)."""
    return all(int(os.environ.get(k, "0") or 0) == 0 for k in ("RANK", "LOCAL_RANK", "NODE_RANK"))
