"""The docs' knob tables are generated from the settings records: a table that disagrees with its
record (a field added, renamed, its default or help changed) fails here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import solo_tase.doc_tables as doc_tables
from solo_tase.doc_tables import DOCS, TABLES, stale


def test_every_knob_table_equals_its_record():
    assert stale() == [], "run `python -m solo_tase.doc_tables` to regenerate the tables"


@pytest.mark.parametrize("table", TABLES, ids=lambda t: f"{t.doc}:{t.name}")
def test_a_table_edited_by_hand_is_found_stale(table, tmp_path: Path, monkeypatch):
    for doc in {t.doc for t in TABLES}:
        shutil.copy(DOCS / doc, tmp_path / doc)
    path = tmp_path / table.doc
    first_row = table.render().splitlines()[2]
    path.write_text(path.read_text().replace(first_row + "\n", "", 1))
    monkeypatch.setattr(doc_tables, "DOCS", tmp_path)
    assert stale() == [f"{table.doc}: {table.name}"]
    assert doc_tables.main() == 0 and stale() == []
