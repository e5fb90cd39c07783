"""solo-learn methods of the plugin. Importing this package does not import solo-learn;
``register_methods()`` does (and needs it)."""

from __future__ import annotations

from collections.abc import Callable

# method name -> "module:Class"; imported lazily so the pure modules work without solo-learn
PLUGIN_METHODS: dict[str, str] = {
    "tase": "solo_tase.methods.tase:TASE",
    "sdclr": "solo_tase.methods.sdclr:SDCLR",
    "ts": "solo_tase.methods.ts:TS",
    "bcl": "solo_tase.methods.bcl:BCL",
    "simclr_plus": "solo_tase.methods.simclr_plus:SimCLRPlus",
}
# methods that key per-sample state by dataset index (DALI must encode real indexes); every
# plugin method does when its GH block is on (methods/checks.py)
INDEXED_METHODS: frozenset[str] = frozenset({"tase", "bcl"})


def register_methods() -> dict[str, type]:
    """Add the plugin's methods to ``solo.methods.METHODS`` (idempotent); returns them."""
    import importlib

    from solo_tase.solo_compat import require_solo

    require_solo()
    import solo.methods

    added: dict[str, type] = {}
    for name, target in PLUGIN_METHODS.items():
        module, cls = target.split(":")
        method: Callable = getattr(importlib.import_module(module), cls)
        current = solo.methods.METHODS.get(name)
        if current is not None and current is not method:
            raise RuntimeError(f"solo.methods.METHODS already has a different {name!r}: {current}")
        solo.methods.METHODS[name] = method
        added[name] = method  # type: ignore[assignment]
    return added
