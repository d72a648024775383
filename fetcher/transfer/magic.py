"""What a file's first bytes must be, so that an error page is never saved as data."""

from __future__ import annotations

from pathlib import Path

HEAD_BYTES = 64  # enough to see an HTML page's opening tag
MAGIC: dict[str, tuple[bytes, ...]] = {
    "zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "tiff": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),  # classic and BigTIFF
    "netcdf": (b"CDF\x01", b"CDF\x02", b"\x89HDF"),
}
KIND_BY_SUFFIX = {".zip": "zip", ".tif": "tiff", ".tiff": "tiff", ".nc": "netcdf",
                  ".nc4": "netcdf"}


def kind_for_name(name: str) -> str | None:
    """The magic-byte kind a file name implies (``None`` when it implies none)."""
    return KIND_BY_SUFFIX.get(Path(name).suffix.lower())


def looks_like_html(head: bytes) -> bool:
    """True when a body starts like an HTML page (what error pages are)."""
    start = head.lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def magic_problem(head: bytes, kind: str | None) -> str | None:
    """Why ``head`` cannot start a file of ``kind``, or None when it can."""
    if looks_like_html(head):
        return "an HTML page"
    if kind is None or head.startswith(MAGIC.get(kind, (b"",))):
        return None
    return f"not a {kind} file (starts with {head[:8]!r})"


