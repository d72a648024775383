"""Rendering for people: aligned tables that fit the terminal, and JSON documents."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any, TextIO

JSON_VERSION = 1


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, width: int | None = None,
          out: TextIO | None = None) -> None:
    """Print rows under headers, columns aligned, every line within the terminal's width.

    The widest columns give way first (the last one, the free text, down to 20
    characters before the others shrink); a cut cell ends in "…". Piped into a file
    or a CI log (no terminal, no ``COLUMNS``), every cell is printed whole.
    """
    out = out or sys.stdout
    width = width or terminal_width(out)
    cells = [list(headers), *[list(map(str, row)) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if width is not None:
        widths = _fit(widths, width)
    for row in cells:
        line = "  ".join(_cut(cell, widths[i]).ljust(widths[i]) for i, cell in enumerate(row))
        print(line.rstrip(), file=out)


def terminal_width(out: TextIO) -> int | None:
    """The width to fit: the terminal's, or ``COLUMNS``; None when neither applies."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        return shutil.get_terminal_size((120, 24)).columns
    return None


def _fit(widths: list[int], width: int, gap: int = 2) -> list[int]:
    """Column widths that fit ``width``: the last column first, then the widest."""
    widths = list(widths)

    def total() -> int:
        return sum(widths) + gap * (len(widths) - 1)

    excess = total() - width
    if excess > 0:
        widths[-1] = max(min(widths[-1], 20), widths[-1] - excess)
    while total() > width and max(widths) > 4:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _cut(cell: str, size: int) -> str:
    return cell if len(cell) <= size else cell[: max(size - 1, 0)] + "…"


def dump_json(document: dict[str, Any], out: TextIO | None = None, *,
              compact: bool = False) -> None:
    """Print one JSON document with the schema ``version`` field first.

    ``compact`` drops the indentation, which costs more than the rest for documents
    of many thousand entries.
    """
    print(json.dumps({"version": JSON_VERSION, **document}, indent=None if compact else 2,
                     separators=(",", ":") if compact else None, default=str),
          file=out or sys.stdout)
