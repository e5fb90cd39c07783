"""``zoo fetch``: download a model's weights from its card's URL with
``torch.hub.download_url_to_file`` (progress bar, sha256 check, written to a temporary file and
moved into place only when it matches), so a final file is always the published one."""

from __future__ import annotations

import http.client
import shutil
import urllib.error
from pathlib import Path

from torch.hub import download_url_to_file

from solo_tase.eval.checkpoint import ARGS_NAME
from solo_tase.zoo.card import CARD_NAME, ModelCard
from solo_tase.zoo.verify import file_problems


def download(url: str, final: Path, sha256: str, progress: bool = True) -> Path:
    """Download ``url`` to ``final`` if and only if its sha256 is ``sha256``; ``ValueError`` on
    a mismatch, ``ConnectionError`` when the URL cannot be read; ``final`` is untouched on error."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        download_url_to_file(url, str(final), hash_prefix=sha256, progress=progress)
    except RuntimeError as err:
        if "invalid hash value" not in str(err):
            raise
        raise ValueError(
            f"{url} does not match the card's sha256 ({err}): refused (corrupted, "
            "truncated or different file; nothing was kept)"
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as err:
        raise ConnectionError(
            f"cannot download {url}: {getattr(err, 'reason', err)} "
            "(nothing was kept; check the URL or the connection)"
        ) from None
    return final


def _needs_copy(src: Path, dest: Path) -> bool:
    """True if ``dest`` must be copied from ``src``; refuses a different existing file."""
    if dest.exists() and dest.read_bytes() != src.read_bytes():
        raise FileExistsError(
            f"{dest} exists and differs from {src}: move it away or fetch into another --dest"
        )
    return not dest.exists()


def fetch(entry: Path, card: ModelCard, dest: Path | None = None) -> tuple[Path, bool]:
    """Download the weights of the zoo entry ``entry`` into ``dest`` (default: the entry).

    With another ``dest``, the card and args.json are copied beside the weights, so that
    ``solo-tase eval`` and ``zoo verify`` work there. Returns (path, downloaded); an existing
    verified file is kept (downloaded False), an existing different one is refused.
    """
    if not card.url:
        raise ValueError(
            f"{entry / CARD_NAME} has no url: the weights were not uploaded; "
            "republish with --url URL (or ask the publisher)"
        )
    dest = Path(dest) if dest is not None else entry
    final = dest / card.weights.file
    sidecars = (
        []
        if dest.resolve() == entry.resolve()
        else [
            (entry / n, dest / n)
            for n in (CARD_NAME, ARGS_NAME)
            if _needs_copy(entry / n, dest / n)
        ]
    )
    downloaded = not final.exists()
    if downloaded:
        download(card.url, final, card.weights.sha256)
    elif problems := file_problems(final, card):
        raise FileExistsError(
            f"{problems[0]}: it is not the published file; delete it to download again"
        )
    for src, target in sidecars:
        shutil.copyfile(src, target)
    return final, downloaded
