"""The spec file's schema: pydantic models of regions and of each source's datasets.

Each dataset model knows, beyond its fields, the rules across them that pydantic's
per-field checks cannot see (``mistakes``), the canonical request of one of its
items (``canonical``) and the options that change where and how files land but
not what the server returns (``options``). Adding a source adds one model here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fetcher.secrets import has_secrets, plain, redact
from fetcher.sources.clms import rules as clms_rules
from fetcher.transfer.urls import is_loopback
from fetcher.types import SourceKind

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SOURCES = tuple(s.value for s in SourceKind)
SAFE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
KNOWN_GCS = (*clms_rules.BASE_GCS, *clms_rules.OTHER_AVAILABLE_GCS)

Mistake = tuple[str, str]
"""(the key a mistake is located at, the message)."""


def format_name(value: str) -> str | None:
    """A format in the server's spelling (``geotif`` -> ``Geotiff``), or None if unknown."""
    lowered = {f.lower(): f for f in clms_rules.FORMATS}
    return lowered.get(value.strip().lower().replace("geotif", "geotiff").replace(
        "geotifff", "geotiff"))


def crs_name(value: str) -> str:
    """A CRS as ``EPSG:<code>``."""
    text = value.strip().upper().replace(" ", "")
    return f"EPSG:{text}" if text.isdigit() else text


def number(value: float) -> float:
    """One form for equal numbers: 112, 112.0 and 1.12e2 all become 112.0."""
    return float(round(float(value), 9)) + 0.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionDef(_Model):
    """A named area: a bounding box in EPSG:4326 degrees, west, south, east, north."""

    bbox: tuple[float, float, float, float]

    @field_validator("bbox")
    @classmethod
    def _in_range(cls, bbox: tuple[float, float, float, float]) -> tuple[float, ...]:
        west, south, east, north = bbox
        if not (-180 <= west <= 180 and -180 <= east <= 180):
            raise ValueError(f"longitudes must lie in [-180, 180], found {west} and {east}")
        if not (-90 <= south <= 90 and -90 <= north <= 90):
            raise ValueError(f"latitudes must lie in [-90, 90], found {south} and {north}")
        if west >= east:
            raise ValueError(f"west ({west}) must be less than east ({east}); "
                             "the order is [west, south, east, north]")
        if south >= north:
            raise ValueError(f"south ({south}) must be less than north ({north}); "
                             "the order is [west, south, east, north]")
        return bbox


class Download(_Model):
    """Which ``dataset_download_information`` item to request."""

    name: str
    collection: str | None = None


class TimeRange(_Model):
    """An inclusive range of days."""

    start: date
    end: date

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: date, info: Any) -> date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError(f"end ({end}) is before start ({start})")
        return end


class DatasetSpec(_Model):
    """What every source's dataset model offers the spec layer.

    Each model declares its own fields (``extract`` and ``keep_archive`` among them,
    last, so that messages list the fields in the order a spec writes them).
    """

    @property
    def region_refs(self) -> list[str]:
        """The regions the dataset is cut to, as written (empty: one item)."""
        return []

    def mistakes(self) -> Iterator[Mistake]:
        """Rules across fields, which pydantic's per-field checks cannot see."""
        yield from ()

    def canonical(self, region: str | None,
                  regions: Mapping[str, RegionDef]) -> dict[str, Any]:
        """The canonical request of one item: what the server is asked, normalised."""
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """What changes where and how files land, not what the server returns."""
        return self.model_dump(include={"extract", "keep_archive"})


class ClmsSpec(DatasetSpec):
    """A CLMS dataset: a catalogue reference and what to cut out of it."""

    source: Literal["clms"]
    uid: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32}$")
    dataset: str | None = None
    title: str | None = None
    download: Download | None = None
    layer: str | None = None
    format: str | None = None
    crs: str | None = None
    regions: list[str] = []
    time: TimeRange | None = None
    file: str | None = None
    extract: bool = True
    keep_archive: bool = False

    @property
    def region_refs(self) -> list[str]:
        """NUTS codes, country codes or names of ``regions:`` entries."""
        return self.regions

    def mistakes(self) -> Iterator[Mistake]:
        """One catalogue reference; a prepackaged file or regions; known format and CRS."""
        refs = [k for k in ("uid", "dataset", "title") if getattr(self, k)]
        if len(refs) != 1:
            yield (refs[1] if len(refs) > 1 else "source",
                   "a clms dataset needs exactly one of uid, dataset or title, found "
                   + (", ".join(refs) if refs else "none"))
        if self.file is not None:
            extra = [k for k in ("download", "layer", "format", "crs", "time")
                     if getattr(self, k) is not None] + (["regions"] if self.regions else [])
            if extra:
                yield (extra[0], f"'file' asks for a prepackaged file; {', '.join(extra)} "
                                 + ("does" if len(extra) == 1 else "do") + " not apply to it")
        elif not self.regions:
            yield ("source", "a clms dataset needs 'regions' (NUTS codes or named boxes), or "
                             "'file' for a prepackaged file; the service does not cut whole "
                             "datasets")
        if self.format is not None and format_name(self.format) is None:
            yield ("format", f"unknown format '{self.format}'; expected one of "
                             + ", ".join(clms_rules.FORMATS))
        if self.crs is not None and crs_name(self.crs) not in KNOWN_GCS:
            yield ("crs", f"unsupported crs '{self.crs}'; expected one of "
                          + ", ".join(KNOWN_GCS))

    def canonical(self, region: str | None,
                  regions: Mapping[str, RegionDef]) -> dict[str, Any]:
        """Reference, download item or file, layer, format, CRS, area and time."""
        ref = next({k: getattr(self, k)} for k in ("uid", "dataset", "title") if getattr(self, k))
        if "uid" in ref:
            ref = {"uid": ref["uid"].lower()}
        area: dict[str, Any] | None = None
        if region is not None:
            if region in regions:
                area = {"bbox": [number(v) for v in regions[region].bbox]}
            else:
                area = {"nuts": region.upper()}
        download = None if self.download is None else {
            "name": self.download.name.strip(),
            "collection": None if self.download.collection is None
            else self.download.collection.strip()}
        is_file = self.file is not None
        return {
            "source": "clms", "ref": ref, "file": self.file, "download": download,
            "layer": self.layer,
            "format": None if self.format is None else format_name(self.format),
            "crs": None if is_file else crs_name(self.crs or "EPSG:4326"), "area": area,
            "time": None if self.time is None else {
                "start": self.time.start.isoformat(), "end": self.time.end.isoformat()},
        }


def _plain_names(files: list[str] | None) -> Iterator[Mistake]:
    bad = [f for f in files or () if "/" in f or f in ("", ".", "..")]
    if bad:
        yield ("files", f"file names may not contain '/': {bad[0]!r}")


class CedaSpec(DatasetSpec):
    """Files of one CEDA archive folder, by name or glob."""

    source: Literal["ceda"]
    path: str = Field(pattern=r"^/")
    files: list[str] = Field(min_length=1)
    extract: bool = False
    keep_archive: bool = True

    def mistakes(self) -> Iterator[Mistake]:
        """File names are plain names."""
        yield from _plain_names(self.files)

    def canonical(self, region: str | None,
                  regions: Mapping[str, RegionDef]) -> dict[str, Any]:
        """The folder and the selection."""
        return {"source": "ceda", "path": "/" + self.path.strip("/"),
                "files": sorted(set(self.files))}


class ZenodoSpec(DatasetSpec):
    """Files of one Zenodo record (all of them when ``files`` is absent)."""

    source: Literal["zenodo"]
    record: int = Field(gt=0)
    files: list[str] | None = None
    extract: bool = False
    keep_archive: bool = True

    def mistakes(self) -> Iterator[Mistake]:
        """File names are plain names."""
        yield from _plain_names(self.files)

    def canonical(self, region: str | None,
                  regions: Mapping[str, RegionDef]) -> dict[str, Any]:
        """The record and the selection."""
        return {"source": "zenodo", "record": self.record,
                "files": None if self.files is None else sorted(set(self.files))}


class HttpSpec(DatasetSpec):
    """One file at a URL, optionally pinned by its sha256.

    Credentials come from the URL's userinfo, ``~/.netrc``, or the environment
    variable ``auth_env`` names (``user:password``); none of them is ever stored.
    """

    source: Literal["http"]
    url: str = Field(pattern=r"^https?://[^/\s]+")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    filename: str | None = None
    auth_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    extract: bool = False
    keep_archive: bool = True

    @field_validator("url")
    @classmethod
    def _readable(cls, url: str) -> str:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - a port out of range or not a number raises here
        except ValueError as exc:
            raise ValueError(f"cannot read '{redact(url)}' as a URL: {exc}") from None
        if not parts.hostname:
            raise ValueError(f"expected a URL with a host name, found '{redact(url)}'")
        return url

    def mistakes(self) -> Iterator[Mistake]:
        """https (or loopback http); a usable name: the URL's last segment, or ``filename``."""
        parts = urlsplit(self.url)
        if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            yield ("url", f"plain http:// is allowed to a loopback address only, found "
                          f"'{plain(self.url)}'; use https://")
        # The URL's last path segment, as the http source names the file: never the host.
        name = self.filename or unquote(PurePosixPath(urlsplit(self.url).path).name)
        if not name or "/" in name or name in (".", "..") or not SAFE_FILE.match(name):
            yield ("filename" if self.filename else "url",
                   f"cannot use '{name}' as a file name; give 'filename:'" if name else
                   f"expected a URL whose path ends in a file name, found '{redact(self.url)}'; "
                   "give 'filename:'")

    def canonical(self, region: str | None,
                  regions: Mapping[str, RegionDef]) -> dict[str, Any]:
        """The URL (credentials masked: they are not what is asked for) and its pin."""
        return {"source": "http", "url": redact(self.url),
                "sha256": None if self.sha256 is None else self.sha256.lower()}

    def options(self) -> dict[str, Any]:
        """Extraction, the name the file lands under, and where its credentials are."""
        extra = {"filename": self.filename, "auth_env": self.auth_env,
                 "url": self.url if has_secrets(self.url) else None}
        return {**super().options(), **{k: v for k, v in extra.items() if v is not None}}


MODELS: dict[str, type[DatasetSpec]] = {
    "clms": ClmsSpec, "ceda": CedaSpec, "zenodo": ZenodoSpec, "http": HttpSpec,
}
TOP_KEYS = ("version", "regions", "datasets")
