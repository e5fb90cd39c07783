"""``zoo fetch``: download a model's weights from its card's URL, verified.

The file is streamed (any scheme ``urllib`` opens: https, http, ftp, file) into a hidden
``.<stem>.part<suffix>`` beside the destination while its sha256 and size are computed; only a
file that matches the card is renamed into place (atomic on one file system). A mismatch or an
interruption deletes the partial file, so a final file is always a verified one, and running the
command again simply starts over. Run one fetch per destination at a time.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from solo_tase.eval.checkpoint import ARGS_NAME
from solo_tase.zoo.card import CARD_NAME, ModelCard
from solo_tase.zoo.weights import file_problems

CHUNK = 1 << 20  # bytes read per step


def partial_path(final: Path) -> Path:
    """Hidden download file beside ``final``, keeping its suffix (so ``.gitignore`` covers it)."""
    return final.with_name(f".{final.stem}.part{final.suffix}")


def download(url: str, final: Path, sha256: str, size: int, timeout: float = 60.0) -> Path:
    """Stream ``url`` to ``final`` if and only if it has ``size`` bytes and this ``sha256``.

    Raises ``ValueError`` on a mismatch and ``ConnectionError`` when the URL cannot be read;
    in every failure the partial file is removed and ``final`` is untouched.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(final)
    digest, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            while chunk := response.read(CHUNK):
                received += len(chunk)
                if received > size:
                    raise ValueError(f"{url} is larger than the card's {size} bytes: refused "
                                     "(the file at the URL is not the published one)")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if received != size:
            raise ValueError(f"{url} gave {received} bytes, the card says {size}: refused "
                             "(truncated or different file; nothing was kept)")
        if digest.hexdigest() != sha256:
            raise ValueError(f"{url} has sha256 {digest.hexdigest()}, the card says {sha256}: "
                             "refused (corrupted or different file; nothing was kept)")
        os.replace(part, final)
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as err:
        part.unlink(missing_ok=True)
        raise ConnectionError(f"cannot download {url}: {getattr(err, 'reason', err)} "
                              "(nothing was kept; check the URL or the connection)") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return final


def _check_sidecar(src: Path, dest: Path) -> bool:
    """True if ``dest`` must be copied from ``src``; refuses a different existing file."""
    if not dest.exists():
        return True
    if dest.read_bytes() != src.read_bytes():
        raise FileExistsError(f"{dest} exists and differs from {src}: move it away or fetch "
                              "into another --dest")
    return False


def fetch(entry: Path, card: ModelCard, dest: Path | None = None) -> tuple[Path, bool]:
    """Download the weights of the zoo entry ``entry`` into ``dest`` (default: the entry).

    With another ``dest``, the card and args.json are copied beside the weights, so that
    ``solo-tase eval`` and ``zoo verify`` work there. Returns (path, downloaded); an existing
    verified file is kept (downloaded False), an existing different one is refused.
    """
    if not card.url:
        raise ValueError(f"{entry / CARD_NAME} has no url: the weights were not uploaded; "
                         "republish with --url URL (or ask the publisher)")
    dest = Path(dest) if dest is not None else entry
    final = dest / card.weights.file
    sidecars = [] if dest.resolve() == entry.resolve() else [
        (entry / n, dest / n) for n in (CARD_NAME, ARGS_NAME) if _check_sidecar(entry / n, dest / n)]
    downloaded = False
    if final.exists():
        problems = file_problems(final, card.weights.sha256, card.weights.size)
        if problems:
            raise FileExistsError(f"{problems[0]}: it is not the published file; delete it to "
                                  "download again")
    else:
        download(card.url, final, card.weights.sha256, card.weights.size)
        downloaded = True
    for src, target in sidecars:
        shutil.copyfile(src, target)
    return final, downloaded
