"""The tables of docs/ that are made from settings-kit records agree with those records."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from solo_tase import doc_tables
from tests.helpers.paths import DOCS


def test_every_generated_table_of_the_docs_matches_its_record():
    stale = [str(p.path) for p in doc_tables.pages(DOCS) if p.made != p.text]
    assert not stale, f"{stale}: run `python -m solo_tase.doc_tables` and commit the result"


def test_a_table_that_disagrees_with_its_record_is_found_and_rewritten(tmp_path: Path, capsys):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    data = docs / "data.md"
    data.write_text(
        data.read_text().replace("| `--val-per-class` | 100 |", "| `--val-per-class` | 50 |")
    )
    assert doc_tables.main(["--docs", str(docs), "--check"]) == 1
    assert "data.md has stale tables" in capsys.readouterr().out
    assert doc_tables.main(["--docs", str(docs)]) == 0
    assert data.read_text() == (DOCS / "data.md").read_text()
    assert doc_tables.main(["--docs", str(docs), "--check"]) == 0


@pytest.mark.parametrize("key", sorted(doc_tables.TABLES), ids=lambda k: f"{k[0]}:{k[1]}")
def test_each_table_edited_by_hand_is_found_stale(key: tuple[str, str], tmp_path: Path):
    page, _tag = key
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    first_row = doc_tables.TABLES[key]().splitlines()[2]
    path = docs / page
    path.write_text(path.read_text().replace(first_row + "\n", "", 1))
    assert doc_tables.main(["--docs", str(docs), "--check"]) == 1
    assert doc_tables.main(["--docs", str(docs)]) == 0
    assert path.read_text() == (DOCS / page).read_text()
