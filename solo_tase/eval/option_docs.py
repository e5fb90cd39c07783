"""The option tables of docs/evaluation.md, generated from the records that declare the options
(``python -m solo_tase.eval.option_docs`` rewrites them; a unit test fails when they differ)."""

from __future__ import annotations

import sys
from pathlib import Path

from solo_tase.eval.presets import PRESET_DEFAULTS, PresetChoice
from solo_tase.eval.request import COMMAND_DEFAULTS, EvalRequest, RunOptions
from solo_tase.settings import knob_table, replace_block

DOC = Path(__file__).resolve().parents[2] / "docs" / "evaluation.md"
# block tag -> the table between its markers
TABLES = {
    "eval-request": knob_table(EvalRequest, defaults=COMMAND_DEFAULTS),
    "eval-preset": knob_table(PresetChoice, defaults=PRESET_DEFAULTS),
    "eval-run": knob_table(RunOptions),
}


def refreshed(text: str) -> str:
    """``text`` with every table block generated anew."""
    for tag, table in TABLES.items():
        text = replace_block(text, tag, table)
    return text


def main() -> int:
    """Rewrite the tables of docs/evaluation.md; report whether they changed."""
    text = DOC.read_text()
    new = refreshed(text)
    if new != text:
        DOC.write_text(new)
    print(f"{DOC}: {'tables rewritten' if new != text else 'tables up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
