"""The manifest every built long-tailed dataset carries: what was drawn, and a proof of it.

A manifest is a JSON file (``manifest.json`` beside the data) with the source, the profile and
seed, per-class counts and groups, and ``index_checksum``: the SHA-256 of the ordered sample list,
so that two runs can prove they trained on the same images. A built folder's manifest also
records, in ``extra``, the identity of each split folder and the command that rebuilds it
(``solo_tase.data.identity``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path
from typing import Any

from solo_tase import __version__
from solo_tase.data.profiles import GROUPS, assign_groups
from solo_tase.errors import InputError

MANIFEST_NAME = "manifest.json"


def checksum_items(items: Iterable[Any]) -> str:
    """SHA-256 hex digest of the items' ``str`` forms, one per line, in order."""
    h = hashlib.sha256()
    for it in items:
        h.update(str(it).encode())
        h.update(b"\n")
    return h.hexdigest()


@dataclass
class Manifest:
    """Description of a long-tailed training set (all counts in images)."""

    name: str
    source: str
    class_names: list[str]
    counts: list[int]
    groups: list[str]
    group_rule: str
    index_checksum: str
    profile: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    version: str = __version__

    @property
    def num_classes(self) -> int:
        return len(self.counts)

    @property
    def num_samples(self) -> int:
        return int(sum(self.counts))

    def group_sizes(self) -> dict[str, int]:
        """Number of classes in each group."""
        return {g: sum(1 for x in self.groups if x == g) for g in GROUPS}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["num_samples"] = self.num_samples
        d["num_classes"] = self.num_classes
        return d

    def save(self, path: Path) -> Path:
        """Write to ``path`` (a file, or a folder that gets ``manifest.json``)."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        """Read a manifest file, or ``manifest.json`` inside a folder."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST_NAME
        if not path.is_file():
            raise FileNotFoundError(
                f"no manifest at {path}: build the dataset with `solo-tase data build` "
                "(it writes manifest.json next to the data)"
            )
        try:
            d = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"{path} is not a manifest: not valid JSON ({err})") from None
        if not isinstance(d, dict):
            raise InputError(f"{path} is not a manifest: a JSON object is expected")
        d.pop("num_samples", None)
        d.pop("num_classes", None)
        fields = cls.__dataclass_fields__
        unknown = set(d) - set(fields)
        if unknown:
            raise InputError(f"{path}: unknown manifest keys {sorted(unknown)}")
        required = {k for k, f in fields.items() if f.default is f.default_factory is MISSING}
        if missing := sorted(required - set(d)):
            raise InputError(f"{path}: missing manifest keys {missing}")
        return cls(**d)

    @classmethod
    def build(
        cls,
        *,
        name: str,
        source: str,
        class_names: Sequence[str],
        counts: Sequence[int],
        items: Iterable[Any],
        group_rule: str = "thirds",
        **kw: Any,
    ) -> Manifest:
        """Manifest for ``counts`` per class; ``items`` is the ordered sample list to checksum."""
        counts = [int(c) for c in counts]
        return cls(
            name=name,
            source=source,
            class_names=list(map(str, class_names)),
            counts=counts,
            groups=assign_groups(counts, group_rule),  # type: ignore[arg-type]
            group_rule=group_rule,
            index_checksum=checksum_items(items),
            **kw,
        )
