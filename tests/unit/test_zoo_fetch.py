"""``zoo fetch`` over file:// URLs: verified downloads, refused corruption, safe interruption."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch.hub

from solo_tase.cli.main import main
from solo_tase.zoo.fetch import fetch
from solo_tase.zoo.publish import publish
from solo_tase.zoo.publish_options import PublishOptions
from solo_tase.zoo.store import find_entry
from solo_tase.zoo.verify import verify
from tests.helpers.zoo_runs import RUN_NAME


@pytest.fixture
def served(run_dir: Path, tmp_path: Path) -> Path:
    """A zoo whose only entry's weights are served from ``tmp_path/server`` (file://) and are
    absent from the entry, as in a fresh clone. Returns the served file."""
    server = tmp_path / "server" / "weights.pth"
    server.parent.mkdir()
    done = publish(
        run_dir, [run_dir / "metrics.json"], tmp_path / "zoo", PublishOptions(url=server.as_uri())
    )
    shutil.move(done.folder / done.card.weights.file, server)
    return server


def zoo_entry(tmp_path: Path):
    return find_entry(tmp_path / "zoo", RUN_NAME)


def partial_files(folder: Path) -> list[Path]:
    """Temporary download files (torch.hub writes ``<final>.<hex>.partial``)."""
    return sorted(folder.glob("*.partial"))


def nothing_kept(folder: Path, name: str) -> bool:
    return not (folder / name).exists() and not partial_files(folder)


def test_fetch_over_file_url_verifies_and_is_idempotent(served: Path, tmp_path: Path) -> None:
    entry, card = zoo_entry(tmp_path)
    path, downloaded = fetch(entry, card)
    assert (path, downloaded) == (entry / card.weights.file, True)
    assert path.read_bytes() == served.read_bytes()
    assert verify(path, tmp_path / "zoo").ok
    assert fetch(entry, card) == (path, False)


def test_fetch_to_dest_brings_the_card_and_args(served: Path, tmp_path: Path) -> None:
    entry, card = zoo_entry(tmp_path)
    path, _ = fetch(entry, card, tmp_path / "elsewhere")
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "args.json",
        "card.yaml",
        card.weights.file,
    ]
    assert (path.parent / "args.json").read_bytes() == (entry / "args.json").read_bytes()
    verdict = verify(path.parent, tmp_path / "no-zoo")
    assert verdict.ok and verdict.card_path == path.parent / "card.yaml"


REFUSED = "does not match the card's sha256 .*refused"


def corrupt_same_size(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage,match",
    [
        (corrupt_same_size, REFUSED),
        (lambda p: p.write_bytes(p.read_bytes()[:-100]), REFUSED),
        (lambda p: p.write_bytes(p.read_bytes() + b"extra"), REFUSED),
    ],
)
def test_a_damaged_download_is_refused_and_deleted(
    served: Path, tmp_path: Path, damage, match: str
) -> None:
    damage(served)
    entry, card = zoo_entry(tmp_path)
    with pytest.raises(ValueError, match=match):
        fetch(entry, card)
    assert nothing_kept(entry, card.weights.file)


class Dropping:
    """A response that fails with ``error`` on the second read (after one chunk arrived)."""

    def __init__(self, response, error: BaseException, folder: Path) -> None:
        self.response, self.error, self.folder, self.reads = response, error, folder, 0
        self.part_existed = False

    def info(self):
        return self.response.info()

    def read(self, n: int) -> bytes:
        self.reads += 1
        if self.reads > 1:
            self.part_existed = any(p.stat().st_size > 0 for p in partial_files(self.folder))
            raise self.error
        return self.response.read(n)

    def __enter__(self) -> Dropping:
        return self

    def __exit__(self, *exc) -> None:
        self.response.close()


@pytest.mark.parametrize(
    "error,raised",
    [
        (ConnectionResetError("reset by peer"), ConnectionError),
        (KeyboardInterrupt(), KeyboardInterrupt),
    ],
)
def test_an_interrupted_download_leaves_no_file_and_can_be_rerun(
    served: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    raised: type,
) -> None:
    entry, card = zoo_entry(tmp_path)
    real_urlopen = torch.hub.urlopen
    responses: list[Dropping] = []

    def dropping_urlopen(request):
        responses.append(Dropping(real_urlopen(request), error, entry))
        return responses[-1]

    monkeypatch.setattr(torch.hub, "READ_DATA_CHUNK", 1 << 16)
    monkeypatch.setattr(torch.hub, "urlopen", dropping_urlopen)
    with pytest.raises(raised):
        fetch(entry, card)
    assert responses[0].part_existed  # bytes had been written to the partial file...
    assert nothing_kept(entry, card.weights.file)  # ...and nothing remains
    monkeypatch.undo()
    assert fetch(entry, card)[1]
    assert verify(entry, tmp_path / "zoo").ok and not partial_files(entry)


def test_an_existing_different_file_is_not_overwritten(served: Path, tmp_path: Path) -> None:
    entry, card = zoo_entry(tmp_path)
    (entry / card.weights.file).write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="not the published file; delete it"):
        fetch(entry, card)
    assert (entry / card.weights.file).read_bytes() == b"mine"
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "args.json").write_text("{}")
    with pytest.raises(FileExistsError, match="args.json exists and differs"):
        fetch(entry, card, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["args.json"]


def test_missing_url_and_unreachable_url(
    served: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry, card = zoo_entry(tmp_path)
    served.unlink()
    with pytest.raises(ConnectionError, match="cannot download file://"):
        fetch(entry, card)
    assert nothing_kept(entry, card.weights.file)
    assert main(["zoo", "fetch", RUN_NAME, "--zoo-dir", str(tmp_path / "zoo")]) == 2
    assert "cannot download" in capsys.readouterr().err
    with pytest.raises(ValueError, match="has no url"):
        fetch(entry, replace(card, url=None))


def test_cli_fetch_by_name_or_path(
    served: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zoo = str(tmp_path / "zoo")
    assert main(["zoo", "fetch", f"digits-lt-r10-s0/tase/{RUN_NAME}", "--zoo-dir", zoo]) == 0
    assert "downloaded and verified" in capsys.readouterr().out
    assert main(["zoo", "fetch", RUN_NAME, "--zoo-dir", zoo]) == 0
    assert "already present, verified" in capsys.readouterr().out
    assert main(["zoo", "fetch", "nope", "--zoo-dir", zoo]) == 2
    assert (
        f"no model 'nope' in {zoo} (published: digits-lt-r10-s0/tase/{RUN_NAME})"
        in capsys.readouterr().err
    )


def test_weights_that_are_not_hosted_are_said_so(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every entry of the repository's zoo has no url: fetch failed without saying that the
    weights are nowhere to download."""
    zoo = tmp_path / "zoo"
    publish(run_dir, [run_dir / "metrics.json"], zoo)
    assert main(["zoo", "fetch", RUN_NAME, "--zoo-dir", str(zoo)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"the weights of digits-lt-r10-s0/tase/{RUN_NAME} are not hosted" in err
    assert len(err.splitlines()) == 1
