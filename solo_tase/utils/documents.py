"""JSON / YAML documents on disk (run configs, metrics, model cards) and their nested keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from solo_tase.errors import InputError


def read_document(path: Path, missing: str, name: str | None = None) -> tuple[Path, Any]:
    """The file ``path`` (``path/name`` when ``path`` is a folder) and its parsed content (JSON
    for ``.json``, else YAML); ``FileNotFoundError(missing)`` when it is not a file,
    ``InputError`` when it does not parse."""
    path = Path(path)
    path = path / name if name and path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(missing)
    is_json = path.suffix == ".json"
    try:
        text = path.read_text()
        return path, json.loads(text) if is_json else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not valid {'JSON' if is_json else 'YAML'} ({err})") from None


def dotted(doc: Any, key: str, default: Any = None) -> Any:
    """``doc["a"]["b"]`` for ``key`` ``"a.b"``; ``default`` when a level is missing."""
    node = doc
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node
