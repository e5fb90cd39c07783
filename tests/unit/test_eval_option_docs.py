"""docs/evaluation.md's option tables are the records' (generated), and every documented key is
an option of ``solo-tase eval`` under the naming rule the docs state."""

from __future__ import annotations

import argparse
import re

from solo_tase.cli.main import build_parser
from solo_tase.eval.option_docs import DOC, TABLES, refreshed
from solo_tase.eval.request import OPTION_PREFIXES
from solo_tase.settings import flag


def test_the_docs_tables_are_generated_from_the_records():
    text = DOC.read_text()
    assert refreshed(text) == text, "run: python -m solo_tase.eval.option_docs"


def test_a_table_that_disagrees_with_its_record_is_caught():
    text = DOC.read_text()
    drifted = text.replace("| `probe.epochs` | 500 |", "| `probe.epochs` | 400 |")
    assert drifted != text and refreshed(drifted) == text


def eval_options() -> set[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {o for a in sub.choices["eval"]._actions for o in a.option_strings}


def test_every_documented_key_is_an_option_of_eval():
    options = eval_options()
    for tag, table in TABLES.items():
        for key in re.findall(r"^\| `([^`]+)`", table, re.M):
            if tag == "eval-request" and key in ("checkpoint", "preset", "setting"):
                continue  # the positional argument; recorded from the preset options
            record, _, name = key.rpartition(".")
            assert flag(name, OPTION_PREFIXES.get(record, "")) in options, key
