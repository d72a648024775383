"""``@datarequest_post`` validation and normalisation, in the server's order (§4.2, §4.4).

``check`` walks the items in array order and returns the first error exactly as the
server words it, or the normalised items split into prepackaged and regular ones.
It reads the catalogue and nothing else; the duplicate and size rules that look at the
whole request and the user's tasks live in ``finalize``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from fetcher.emulator.catalogue import Dataset
from fetcher.emulator.tasks import digest
from fetcher.sources.clms import rules

M = rules.MESSAGES
NUTS_NAMES = {
    "ITC11": "Torino", "IT": "Italia", "ES": "España", "FR": "France", "DE": "Deutschland",
    "PT": "Portugal", "NL": "Nederland", "BE": "Belgique/België", "CN": "China",
    "ES51": "Cataluña", "FRK26": "Rhône", "DK": "Danmark", "EC": "Ecuador",
}
EEA_META = "https://sdi.eea.europa.eu/catalogue/copernicus/api/records/{}/formatters/xml?approved=true"
VITO_META = "https://globalland.vito.be/geonetwork/srv/api/records/{}/formatters/xml?approved=true"


class Refusal(Exception):
    """The request is refused: an HTTP status and the server's ``msg``."""

    def __init__(self, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.msg = msg
        self.status = status


class Crash(Exception):
    """Where the real server would raise an uncaught exception (a plone 500)."""


@dataclass
class Checked:
    """The normalised items of a valid request."""

    prepackaged: list[dict[str, Any]] = field(default_factory=list)
    regular: list[dict[str, Any]] = field(default_factory=list)


def b64(path: str) -> str:
    """URL-safe base64 of a path, as DatasetPath and FilePath are stored."""
    return base64.urlsafe_b64encode(path.encode("utf-8")).decode("utf-8")


def ms_to_string(value: float) -> str:
    """Epoch milliseconds to the stored UTC ``YYYY-MM-DD HH:MM:SS``."""
    moment = datetime.fromtimestamp(value / 1000, timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check(datasets: object, lookup: Callable[[str], Dataset | None]) -> Checked:
    """Validate and normalise every item, first failure wins.

    Raises:
        Refusal: a check of §4.2 failed.
        Crash: the server would fail with an uncaught exception.
    """
    if not isinstance(datasets, list):
        raise Crash("'NoneType' object is not iterable")
    checked = Checked()
    special: list[str] = []
    for index, item in enumerate(datasets):
        if not isinstance(item, dict):
            raise Crash("argument of type 'int' is not iterable")
        last = index == len(datasets) - 1
        _item(item, lookup, checked, special, last)
    return checked


def _item(item: dict[str, Any], lookup: Callable[[str], Dataset | None], checked: Checked,
          special: list[str], last: bool) -> None:
    if not item.get("DatasetID"):
        raise Refusal(M["UNDEFINED_DATASET_ID"])
    dataset = lookup(str(item["DatasetID"]))
    if dataset is None:
        raise Refusal(M["INVALID_DATASET_ID"])
    out: dict[str, Any] = {
        "DatasetID": item["DatasetID"], "DatasetTitle": dataset["title"],
        "FileStructure": dataset.get("characteristics_file_structure") or "",
    }
    if "FileID" in item:
        if item["FileID"] == "":
            return  # the server silently drops it
        checked.prepackaged.append(_file_item(item, dataset, out))
        return
    info = _restrictions(item, dataset, out)
    if info is None:
        return
    netcdf = item.get("OutputFormat") == "Netcdf"
    if item.get("DatasetID") in rules.NETCDF_FORBIDDEN_UIDS and netcdf:
        special.append(str(item["DatasetID"]))
        if not last:
            return
    if last and special:
        raise Refusal(rules.netcdf_message(special))
    _full_dataset_rules(item, info["full_source"])
    out.update({
        "DatasetFormat": _format(info), "OutputFormat": item.get("OutputFormat", ""),
        "DatasetPath": b64(info["full_path"]) if info["full_path"] else "",
        "DatasetSource": info["full_source"], "WekeoChoices": info.get("wekeo_choices", ""),
        "Metadata": _metadata(dataset),
    })
    if info["full_source"] == "CDSE":
        out["ByocCollection"] = info.get("byoc_collection", "")
        out["SpatialResolution"] = _resolution(dataset["title"])
    checked.regular.append(out)


def _resolution(title: str) -> int | None:
    """Metres per pixel from a title's ``raster <N> m|km`` (how the CDSE job tiles)."""
    match = re.search(r"raster (\d+(?:\.\d+)?) ?(m|km)\b", title)
    if match is None:
        return None
    value = float(match.group(1)) * (1000 if match.group(2) == "km" else 1)
    return int(value)


def _file_item(item: dict[str, Any], dataset: Dataset, out: dict[str, Any]) -> dict[str, Any]:
    for entry in dataset["downloadable_files"]["items"]:
        if entry.get("@id") == item["FileID"] and entry.get("path") and entry.get("source"):
            out.update({"FileID": item["FileID"], "DatasetPath": "",
                        "FilePath": b64(entry["path"]), "DatasetSource": entry["source"]})
            return out
    raise Refusal(M["INVALID_FILE_ID"])


def _restrictions(item: dict[str, Any], dataset: Dataset,
                  out: dict[str, Any]) -> dict[str, Any] | None:
    """Checks 4 to 24; the download-information item, or None to skip the item."""
    _area(item, out)
    dates = _temporal(item, dataset, out)
    _gcs(item, dataset, out)
    if "DatasetDownloadInformationID" not in item:
        raise Refusal(M["UNDEFINED_INFO_ID"])
    info = next((i for i in dataset["dataset_download_information"]["items"]
                 if i.get("@id") == item["DatasetDownloadInformationID"]), None)
    if info is None or not _format(info):
        raise Refusal(M["NOT_DOWNLOADABLE"])
    output = item.get("OutputFormat")
    if not isinstance(output, str) or output not in rules.FORMAT_CONVERSION_TABLE:
        raise Refusal(M["INVALID_OUTPUT"])
    table = rules.FORMAT_CONVERSION_TABLE.get(_format(info))
    if table is None:
        raise Crash("'NoneType' object has no attribute 'get'")
    if not table.get(output):
        raise Refusal(M["NOT_COMPATIBLE"])
    if not info.get("full_source"):
        raise Refusal(M["INVALID_SOURCE"])
    if not info.get("full_path") and info["full_source"] != "CDSE":
        raise Refusal(M["NOT_DOWNLOADABLE"])
    layers = info.get("layers") or []
    if layers and "Layer" in item:
        if item["Layer"] not in layers:
            raise Refusal(M["INVALID_LAYER"])
        out["Layer"] = item["Layer"]
    _time_series(item, dataset, dates)
    return dict(info)


def _area(item: dict[str, Any], out: dict[str, Any]) -> None:
    if item.get("NUTS"):
        if not isinstance(item["NUTS"], str):
            raise Crash("'int' object has no attribute 'isalnum'")
        if not rules.validate_nuts(item["NUTS"]):
            raise Refusal(M["NUTS_COUNTRY_ERROR"])
        out["NUTSID"] = item["NUTS"]
        out["NUTSName"] = NUTS_NAMES.get(item["NUTS"], item["NUTS"])
    if "BoundingBox" in item:
        if "NUTS" in item:
            raise Refusal(M["NUTS_ALSO_DEFINED"])
        bbox = item["BoundingBox"]
        if bbox == []:
            return
        if not rules.valid_bbox(bbox):
            raise Refusal(M["INVALID_BOUNDINGBOX"])
        if rules.bbox_area(bbox) > rules.AREA_LIMIT:
            raise Refusal(rules.too_big_message())
        out["BoundingBox"] = bbox


def _temporal(item: dict[str, Any], dataset: Dataset,
              out: dict[str, Any]) -> tuple[datetime, datetime] | None:
    window = item.get("TemporalFilter")
    if "TemporalFilter" not in item or window == {}:
        return None
    if not isinstance(window, dict):
        raise Crash("'list' object has no attribute 'keys'")
    limit = dataset.get("download_limit_temporal_extent")
    if limit is None or limit <= 0:
        raise Refusal(M["TEMP_REST_NOT_ALLOWED"])
    if len(window) > 2:
        raise Refusal(M["TEMP_TOO_MANY"])
    if "StartDate" not in window or "EndDate" not in window:
        raise Refusal(M["TEMP_MISSING_RANGE"])
    start, end = window["StartDate"], window["EndDate"]
    if not (_number(start) and _number(end)):
        raise Refusal(M["INCORRECT_DATE"])
    if start > end:
        raise Refusal(M["INCORRECT_DATE_RANGE"])
    out["TemporalFilter"] = {"StartDate": ms_to_string(start), "EndDate": ms_to_string(end)}
    parse = "%Y-%m-%d %H:%M:%S"
    return (datetime.strptime(out["TemporalFilter"]["StartDate"], parse),
            datetime.strptime(out["TemporalFilter"]["EndDate"], parse))


def _gcs(item: dict[str, Any], dataset: Dataset, out: dict[str, Any]) -> None:
    if "OutputGCS" not in item:
        raise Refusal(M["MISSING_GCS"])
    value = item["OutputGCS"]
    if value and value not in rules.allowed_gcs(dataset.get("characteristics_projection") or ""):
        raise Refusal(M["UNDEFINED_GCS"])
    if value:
        out["OutputGCS"] = value


def _time_series(item: dict[str, Any], dataset: Dataset,
                 dates: tuple[datetime, datetime] | None) -> None:
    if dataset.get("mapviewer_istimeseries") and "TemporalFilter" not in item:
        raise Refusal(M["MISSING_TEMPORAL"])
    limit = dataset.get("download_limit_temporal_extent")
    if limit is None or limit <= 0:
        return
    if dates is None:
        if dataset.get("mapviewer_istimeseries") and "TemporalFilter" in item:
            raise Refusal(M["TEMP_MISSING_RANGE"])
        return
    if dates[1] - dates[0] > timedelta(days=limit):
        raise Refusal(rules.temporal_range_message(limit))


def _full_dataset_rules(item: dict[str, Any], source: str) -> None:
    if not any(key in item for key in ("NUTS", "BoundingBox", "TemporalFilter")):
        raise Refusal(M["FULL_EEA"] if source == "EEA" else M["FULL_NOT_EEA"])
    if "NUTS" not in item and "BoundingBox" not in item and source != "EEA":
        raise Refusal(M["MUST_HAVE_AREA"])


def _format(info: dict[str, Any]) -> str:
    value = info.get("full_format")
    if isinstance(value, dict):
        return str(value.get("token") or value.get("title") or "")
    return str(value or "")


def _metadata(dataset: Dataset) -> list[str]:
    urls = []
    for meta in dataset.get("geonetwork_identifiers", {}).get("items", []):
        kind, ident = meta.get("type", ""), meta.get("id")
        urls.append(EEA_META.format(ident) if kind == "EEA"
                    else VITO_META.format(ident) if kind == "VITO" else ident)
    return urls


def finalize(checked: Checked, active: Sequence[Any]) -> None:
    """The whole-request rules: at most 5 regular items, and no duplicates (#29, #30).

    Raises:
        Refusal: too many items, or an item already requested and still active.
    """
    if len(checked.regular) > rules.MAX_ITEMS_PER_REQUEST:
        raise Refusal(M["DOWNLOAD_LIMIT"])
    hashes = [digest(item) for item in [*checked.regular, *active]]
    if len(hashes) != len(set(hashes)):
        raise Refusal(M["DUPLICATED"])
