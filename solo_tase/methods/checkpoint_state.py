"""What the plugin's methods add to a solo-learn checkpoint, in one layout.

``checkpoint["solo_tase"] = {"layout": 2, "method": <name>, "parts": {<part>: <state>},
"rng": <every rank's RNG states>}``: each component of a method (TASE's tables ``tase``, SDCLR's
masks ``sdclr``, BCL's momentum losses ``bcl``, the GH block ``gh``) saves its state as one part,
and the RNG states are saved once, so a resumed run draws the same data order and augmentations.
Only tensors and plain values are stored (Lightning loads with ``weights_only=True``).

Checkpoints of earlier versions still load: TASE's ``{"state", "last_stats", "rng"}`` under
``"solo_tase"``, SDCLR's ``"solo_tase_sdclr"`` (``masks``, ``mask_epoch``, ``rng``), and BCL's
``"solo_tase_bcl"`` with ``"solo_tase_bcl_rng"`` are read as the parts ``tase``, ``sdclr`` and
``bcl``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from solo_tase.utils.rng import capture_rng_state, restore_rng_state

KEY = "solo_tase"
LAYOUT = 2


def save_parts(checkpoint: dict[str, Any], method: str, parts: Mapping[str, Any]) -> None:
    """Store ``parts`` (part name -> state) and every rank's RNG states in ``checkpoint``
    (a collective under DDP: call it on every rank, as ``on_save_checkpoint`` is)."""
    checkpoint[KEY] = {
        "layout": LAYOUT,
        "method": method,
        "parts": dict(parts),
        "rng": capture_rng_state(),
    }


def load_parts(
    checkpoint: Mapping[str, Any], method: str, required: Sequence[str] = ()
) -> dict[str, Any]:
    """The parts saved by :func:`save_parts` (or converted from an earlier layout); restores the
    RNG states when the checkpoint has them.

    Raises:
        ValueError: a ``required`` part is missing (the checkpoint was written by another method or
            configuration), naming it and how to start from the weights instead.
    """
    parts, rng = _read(checkpoint)
    missing = [p for p in required if p not in parts]
    if missing:
        block = checkpoint.get(KEY)
        saved = block.get("method") if isinstance(block, Mapping) else None
        by = f"written by '{saved}', " if saved else ""
        raise ValueError(
            f"this checkpoint has no {' / '.join(missing)} state (checkpoint[{KEY!r}]['parts']): "
            f"it was {by}not written by the '{method}' method with this configuration; resume with "
            "the method and method_kwargs it was trained with, or start from its weights "
            "(pretrained weights), not resume_from_checkpoint"
        )
    if rng is not None:
        restore_rng_state(rng)
    return parts


def read_parts(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a checkpoint of any layout, without touching the RNG states (to inspect)."""
    return _read(checkpoint)[0]


def _read(checkpoint: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """(parts, rng states or None) of any layout."""
    saved = checkpoint.get(KEY)
    if isinstance(saved, Mapping) and saved.get("layout") == LAYOUT:
        return dict(saved["parts"]), saved.get("rng")
    parts: dict[str, Any] = {}
    rng = None
    if isinstance(saved, Mapping) and "state" in saved:  # TASE, layout 1
        parts["tase"] = {"state": saved["state"], "last_stats": saved.get("last_stats", {})}
        rng = saved.get("rng")
    sdclr = checkpoint.get("solo_tase_sdclr")
    if isinstance(sdclr, Mapping):
        parts["sdclr"] = {"masks": sdclr["masks"], "mask_epoch": sdclr["mask_epoch"]}
        rng = sdclr.get("rng", rng)
    if isinstance(checkpoint.get("solo_tase_bcl"), Mapping):
        parts["bcl"] = dict(checkpoint["solo_tase_bcl"])
    return parts, checkpoint.get("solo_tase_bcl_rng", rng)
