"""Rendering for people: aligned tables that fit the terminal, and JSON documents."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from typing import Any, TextIO

JSON_VERSION = 1


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, width: int | None = None,
          out: TextIO | None = None) -> None:
    """Print rows under headers, columns aligned; the last column is cut to fit the width."""
    out = out or sys.stdout
    width = width or shutil.get_terminal_size((120, 24)).columns
    cells = [list(headers), *[list(map(str, row)) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    fixed = sum(widths[:-1]) + 2 * (len(headers) - 1)
    last = max(20, width - fixed)
    for row in cells:
        text = row[-1] if len(row[-1]) <= last else row[-1][: last - 1] + "…"
        line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1]))
        print(f"{line}  {text}".rstrip() if line else text, file=out)


def dump_json(document: dict[str, Any], out: TextIO | None = None, *,
              compact: bool = False) -> None:
    """Print one JSON document with the schema ``version`` field first.

    ``compact`` drops the indentation, which costs more than the rest for documents
    of many thousand entries.
    """
    print(json.dumps({"version": JSON_VERSION, **document}, indent=None if compact else 2,
                     separators=(",", ":") if compact else None, default=str),
          file=out or sys.stdout)
