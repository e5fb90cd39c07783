"""Every key of docs/evaluation.md's option tables (generated from the records with the other docs
tables, ``solo_tase/doc_tables.py``) is an option of ``solo-tase eval`` under the naming rule the
docs state."""

from __future__ import annotations

import argparse
import re

from solo_tase.cli.main import build_parser
from solo_tase.doc_tables import TABLES as DOC_TABLES
from solo_tase.eval.request import OPTION_PREFIXES
from solo_tase.settings import flag

TABLES = {tag: make() for (page, tag), make in DOC_TABLES.items() if page == "evaluation.md"}


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
