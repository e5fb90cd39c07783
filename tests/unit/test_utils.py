"""Shared helpers: atomic files, documents and dotted keys, hashes, Markdown tables."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from solo_tase.utils.atomic import refuse_existing, write_file_atomically
from solo_tase.utils.documents import dotted, read_document
from solo_tase.utils.hashing import sha256_file, tensors_checksum
from solo_tase.utils.markdown import markdown_table


def test_an_atomic_write_replaces_whole_or_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "table.md"
    write_file_atomically(path, lambda tmp: tmp.write_text("one"))
    assert path.read_text() == "one"

    def failing(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_file_atomically(path, failing)
    assert path.read_text() == "one"
    assert sorted(p.name for p in path.parent.iterdir()) == ["table.md"]  # no temporary file


def test_an_existing_path_is_refused_unless_replace(tmp_path: Path) -> None:
    refuse_existing(tmp_path / "new", False, "--out")
    (tmp_path / "old").write_text("kept")
    with pytest.raises(
        FileExistsError, match="old already exists .*another --out or pass --replace"
    ):
        refuse_existing(tmp_path / "old", False, "--out")
    refuse_existing(tmp_path / "old", True, "--out")
    assert (tmp_path / "old").read_text() == "kept"


def test_documents_are_read_by_suffix_from_a_file_or_its_folder(tmp_path: Path) -> None:
    (tmp_path / "args.json").write_text('{"data": {"dataset": "cifar10", "long_tail": null}}')
    (tmp_path / "card.yaml").write_text("name: x\n")
    file, args = read_document(tmp_path / "args.json", "no args")
    assert file == tmp_path / "args.json"
    assert dotted(args, "data.dataset") == "cifar10" and dotted(args, "data.long_tail") is None
    assert dotted(args, "data.missing.deeper", "d") == "d" and dotted([1], "a") is None
    assert read_document(tmp_path, "no card", "card.yaml") == (
        tmp_path / "card.yaml",
        {"name": "x"},
    )
    with pytest.raises(FileNotFoundError, match="^no metrics here$"):
        read_document(tmp_path, "no metrics here", "metrics.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        read_document(tmp_path / "bad.json", "")
    (tmp_path / "bad.yaml").write_text("a: [")
    with pytest.raises(ValueError, match="bad.yaml is not valid YAML"):
        read_document(tmp_path / "bad.yaml", "")


def test_hashes(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    assert sha256_file(tmp_path / "f") == hashlib.sha256(b"abc").hexdigest()
    a, b = torch.arange(4), torch.ones(2, dtype=torch.bool)
    # the digest of names and tensor bytes in order, as the checksums in logs have always been
    expected = hashlib.sha256(b"a" + a.numpy().tobytes() + b"b" + b.numpy().tobytes())
    assert tensors_checksum(["a", a, "b", b]) == expected.hexdigest()[:16]
    assert tensors_checksum([a.t()]) == tensors_checksum([a.clone()])
    assert tensors_checksum([b, a]) != tensors_checksum([a, b])


def test_markdown_table_aligns_and_escapes() -> None:
    assert markdown_table(["name", "acc"], [["a|b", "1.00"]], right=["acc"]).splitlines() == [
        "| name | acc |",
        "| --- | ---: |",
        "| a\\|b | 1.00 |",
    ]
