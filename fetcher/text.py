"""Numbers and sizes written for people. Imports nothing of fetcher's."""

from __future__ import annotations


def human_size(size: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def file_count(count: int, size: float) -> str:
    """'3 files, 1.5 MiB'."""
    return f"{count} file{'s' if count != 1 else ''}, {human_size(size)}"
