"""The spec file's schema: pydantic models of regions and of each source's datasets."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fetcher.types import SourceKind

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SOURCES = tuple(s.value for s in SourceKind)


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


class ClmsSpec(_Model):
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


class CedaSpec(_Model):
    """Files of one CEDA archive folder, by name or glob."""

    source: Literal["ceda"]
    path: str = Field(pattern=r"^/")
    files: list[str] = Field(min_length=1)
    extract: bool = False
    keep_archive: bool = True


class ZenodoSpec(_Model):
    """Files of one Zenodo record (all of them when ``files`` is absent)."""

    source: Literal["zenodo"]
    record: int = Field(gt=0)
    files: list[str] | None = None
    extract: bool = False
    keep_archive: bool = True


class HttpSpec(_Model):
    """One file at a URL, optionally pinned by its sha256."""

    source: Literal["http"]
    url: str = Field(pattern=r"^https?://[^/\s]+")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    filename: str | None = None
    extract: bool = False
    keep_archive: bool = True


MODELS: dict[str, type[_Model]] = {
    "clms": ClmsSpec, "ceda": CedaSpec, "zenodo": ZenodoSpec, "http": HttpSpec,
}
TOP_KEYS = ("version", "regions", "datasets")
