"""``zoo fetch``: download a model's weights from its card's URL with torch.hub (progress bar;
moved into place only when the sha256 matches the card)."""

from __future__ import annotations

import http.client
import shutil
import urllib.error
from pathlib import Path

from torch.hub import download_url_to_file

from solo_tase.errors import InputError
from solo_tase.run_folder import ARGS_NAME
from solo_tase.zoo.card import CARD_NAME, ModelCard
from solo_tase.zoo.verify import file_problems

NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError)


def fetch(entry: Path, card: ModelCard, dest: Path | None = None) -> tuple[Path, bool]:
    """Download the weights of the zoo entry ``entry`` into ``dest`` (default: the entry; another
    folder also gets card.yaml and args.json). Returns (path, downloaded); an existing verified
    file is kept, an existing different one refused."""
    if not card.url:
        raise InputError(
            f"the weights of {card.dataset}/{card.method}/{card.name} are not hosted: "
            f"{entry / CARD_NAME} has no url, so there is nothing to download (ask the "
            "publisher to upload them and republish with --url URL, or pre-train the run of "
            "its args.json)"
        )
    dest = Path(dest) if dest is not None else entry
    final = dest / card.weights.file
    sidecars = [] if dest.resolve() == entry.resolve() else [CARD_NAME, ARGS_NAME]
    for name in sidecars:
        if (dest / name).exists() and (dest / name).read_bytes() != (entry / name).read_bytes():
            raise FileExistsError(
                f"{dest / name} exists and differs from {entry / name}: "
                "move it away or fetch into another --dest"
            )
    downloaded = not final.exists()
    if downloaded:
        dest.mkdir(parents=True, exist_ok=True)
        try:
            download_url_to_file(card.url, str(final), hash_prefix=card.weights.sha256)
        except RuntimeError as err:
            if "invalid hash value" not in str(err):
                raise
            raise InputError(
                f"{card.url} does not match the card's sha256 ({err}): refused (corrupted, "
                "truncated or different file; nothing was kept)"
            ) from None
        except NETWORK_ERRORS as err:
            raise ConnectionError(
                f"cannot download {card.url}: {getattr(err, 'reason', err)} "
                "(nothing was kept; check the URL or the connection)"
            ) from None
    elif problems := file_problems(final, card):
        raise FileExistsError(
            f"{problems[0]}: it is not the published file; delete it to download again"
        )
    for name in sidecars:
        if not (dest / name).exists():
            shutil.copyfile(entry / name, dest / name)
    return final, downloaded
