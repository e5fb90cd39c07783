"""GitHub Markdown tables."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence


def markdown_table(
    header: Sequence[str], rows: Iterable[Sequence[str]], right: Collection[str] = ()
) -> str:
    """A table with ``header``, one line per row; columns named in ``right`` are right-aligned
    and ``|`` inside cells is escaped."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    rule = "| " + " | ".join("---:" if c in right else "---" for c in header) + " |"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
