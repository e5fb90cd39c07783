"""Places in the checkout the tests read."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PRETRAIN_CONFIGS = REPO / "scripts" / "pretrain"
LINEAR_CONFIGS = REPO / "scripts" / "linear"
# the published split files, when a copy sits beside the checkout
REFERENCE_SPLITS = REPO.parent / "shared" / "reference-splits"
