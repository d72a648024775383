"""The ``@datarequest_post`` item for a canonical request, and the server's rules for it.

``post_item`` turns fetcher's canonical CLMS request into the one ``Datasets[]``
entry the server expects; ``check`` applies the server's own validation to that
entry, in the server's order (clms-api.md §4.2), so that a spec the server would
refuse fails at plan time with the server's own words. Both are pure.

Dates: a spec's ``time: {start, end}`` is a closed range of whole days, so the
start is sent as 00:00:00 UTC and the end as 23:59:59 UTC of the end day. Whole
seconds (not ...59.999) because the server stores "YYYY-MM-DD HH:MM:SS" strings:
whole seconds round-trip exactly, which task matching relies on (§4.4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timezone
from typing import Any

from fetcher.errors import ApiError
from fetcher.sources.clms import rules as clms_rules
from fetcher.sources.clms.catalogue import Resolution

DAY_MS = 86_400_000
DEFAULT_CRS = "EPSG:4326"
"""OutputGCS when a request names none: the server requires one (§4.2 #14)."""

_RULE_HINTS = {
    "NUTS_COUNTRY_ERROR": "use a NUTS code or an ISO-3166 alpha-2 country code, upper case",
    "UNDEFINED_GCS": "choose a crs the dataset offers",
    "NOT_COMPATIBLE": "choose a format the dataset's native format converts to",
    "INVALID_OUTPUT": "choose a format among " + ", ".join(clms_rules.FORMATS),
    "INVALID_LAYER": "choose a layer the download item lists",
    "TEMP_REST_NOT_ALLOWED": "remove `time`: this dataset is not a time series",
    "MISSING_TEMPORAL": "add time: {start, end} within the dataset's limit",
    "FULL_EEA": "request a prepackaged file with `file:` instead",
    "FULL_NOT_EEA": "add a region (NUTS code or bbox)",
    "MUST_HAVE_AREA": "add a region (NUTS code or bbox)",
}


class RequestRejected(ApiError):
    """The CLMS server would refuse this request; found before sending it.

    ``server_message`` is the server's exact ``msg``; ``rule`` its MESSAGES key
    (or "TOO_BIG", "TEMPORAL_RANGE", "NETCDF" for the inline ones).
    """

    exit_code = 2

    def __init__(self, rule: str, server_message: str, *, what: str) -> None:
        super().__init__(
            f"{what}: the CLMS server would refuse this request: {server_message!r}",
            status=400, server_message=server_message, hint=_RULE_HINTS.get(rule),
        )
        self.rule = rule


def post_item(request: Mapping[str, Any], resolution: Resolution) -> dict[str, Any]:
    """The ``Datasets[]`` entry to POST for one canonical request.

    Args:
        request: The canonical request (``format``, ``crs``, ``area``, ``time``,
            ``layer``, ``file``).
        resolution: Its resolved catalogue ids.

    Returns:
        The entry: ``{DatasetID, FileID}`` for a prepackaged file, otherwise
        DatasetID, DatasetDownloadInformationID, OutputFormat (default: the
        item's native format), OutputGCS (default EPSG:4326), NUTS or
        BoundingBox ([W, N, E, S], the server's order), TemporalFilter
        (epoch milliseconds) and Layer, each when given.
    """
    if resolution.is_file:
        return {"DatasetID": resolution.uid, "FileID": resolution.file_id}
    entry: dict[str, Any] = {
        "DatasetID": resolution.uid,
        "DatasetDownloadInformationID": resolution.info_id,
        "OutputFormat": request.get("format") or resolution.full_format,
        "OutputGCS": request.get("crs") or DEFAULT_CRS,
    }
    area = request.get("area") or {}
    if area.get("nuts"):
        entry["NUTS"] = str(area["nuts"])
    elif area.get("bbox"):
        entry["BoundingBox"] = bbox_wnes(area["bbox"])
    span = request.get("time")
    if span:
        entry["TemporalFilter"] = {"StartDate": epoch_ms(span["start"], end=False),
                                   "EndDate": epoch_ms(span["end"], end=True)}
    if request.get("layer") is not None:
        entry["Layer"] = request["layer"]
    return entry


def epoch_ms(value: Any, *, end: bool) -> int:
    """Epoch milliseconds of a spec date (a day: 00:00:00, or 23:59:59 when ``end``).

    A full ISO timestamp is taken as given (UTC when naive).
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(23, 59, 59) if end else time(0, 0, 0))
    elif len(str(value)) == 10:
        return epoch_ms(date.fromisoformat(str(value)), end=end)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1000


def check(request: Mapping[str, Any], resolution: Resolution, *, what: str = "") -> None:
    """Apply the server's validation to the entry ``post_item`` builds, in its order.

    Args:
        request: The canonical request.
        resolution: Its resolution.
        what: How messages name the item (e.g. its label).

    Raises:
        RequestRejected: the first rule the server would fail, with its message.
    """
    failure = first_failure(post_item(request, resolution), resolution)
    if failure is not None:
        rule, message = failure
        raise RequestRejected(rule, message, what=what or resolution.title or resolution.uid)


def first_failure(entry: Mapping[str, Any], res: Resolution) -> tuple[str, str] | None:
    """The (rule, message) of the first check an entry fails on the server, or None."""
    if res.is_file:
        ok = bool(res.file_id and res.file_path and res.file_source)
        return None if ok else _fail("INVALID_FILE_ID")
    return (_area_failure(entry) or _time_failure(entry, res) or _output_failure(entry, res)
            or _series_failure(entry, res) or _netcdf_failure(entry, res)
            or _full_dataset_failure(entry, res))


def _fail(rule: str) -> tuple[str, str]:
    return rule, clms_rules.MESSAGES[rule]


def _area_failure(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    nuts = entry.get("NUTS")
    if nuts and not clms_rules.validate_nuts(str(nuts)):
        return _fail("NUTS_COUNTRY_ERROR")
    bbox = entry.get("BoundingBox")
    if bbox is not None and "NUTS" in entry:
        return _fail("NUTS_ALSO_DEFINED")
    if bbox:
        if not clms_rules.valid_bbox(list(bbox)):
            return _fail("INVALID_BOUNDINGBOX")
        if clms_rules.bbox_area(bbox) > clms_rules.AREA_LIMIT:
            return "TOO_BIG", clms_rules.too_big_message()
    return None


def _time_failure(entry: Mapping[str, Any], res: Resolution) -> tuple[str, str] | None:
    span = entry.get("TemporalFilter")
    if span is None:
        return None
    if not res.download_limit_temporal_extent or res.download_limit_temporal_extent <= 0:
        return _fail("TEMP_REST_NOT_ALLOWED")
    if span and span["StartDate"] > span["EndDate"]:
        return _fail("INCORRECT_DATE_RANGE")
    return None


def _output_failure(entry: Mapping[str, Any], res: Resolution) -> tuple[str, str] | None:
    gcs = entry.get("OutputGCS")
    if gcs and gcs not in clms_rules.allowed_gcs(res.projections):
        return _fail("UNDEFINED_GCS")
    if not res.info_id or not res.full_format:
        return _fail("NOT_DOWNLOADABLE")
    output = entry.get("OutputFormat")
    if output not in clms_rules.FORMATS:
        return _fail("INVALID_OUTPUT")
    table = clms_rules.FORMAT_CONVERSION_TABLE.get(res.full_format)
    if table is None:  # the server crashes on this (a 500); say why instead
        return "UNKNOWN_NATIVE_FORMAT", (f"the dataset's native format {res.full_format!r} "
                                         "is not in the server's conversion table")
    if not table.get(str(output)):
        return _fail("NOT_COMPATIBLE")
    if not res.full_source:
        return _fail("INVALID_SOURCE")
    if not res.full_path and res.full_source != "CDSE":
        return _fail("NOT_DOWNLOADABLE")
    layer = entry.get("Layer")
    if res.layers and layer is not None and layer not in res.layers:
        return _fail("INVALID_LAYER")
    return None


def _series_failure(entry: Mapping[str, Any], res: Resolution) -> tuple[str, str] | None:
    span = entry.get("TemporalFilter")
    if res.mapviewer_istimeseries and span is None:
        return _fail("MISSING_TEMPORAL")
    limit = res.download_limit_temporal_extent
    # The whole span counts, seconds included (timedelta > N days), and for any dataset
    # with a limit: so a closed range of N whole days is the most a limit of N allows.
    if span and limit and limit > 0 and span["EndDate"] - span["StartDate"] > limit * DAY_MS:
        return "TEMPORAL_RANGE", clms_rules.temporal_range_message(limit)
    return None


def _netcdf_failure(entry: Mapping[str, Any], res: Resolution) -> tuple[str, str] | None:
    if entry.get("OutputFormat") == "Netcdf" and res.uid in clms_rules.NETCDF_FORBIDDEN_UIDS:
        return "NETCDF", clms_rules.netcdf_message([res.uid])
    return None


def _full_dataset_failure(entry: Mapping[str, Any], res: Resolution) -> tuple[str, str] | None:
    has_area = "NUTS" in entry or "BoundingBox" in entry
    if not has_area and "TemporalFilter" not in entry:
        return _fail("FULL_EEA" if res.full_source == "EEA" else "FULL_NOT_EEA")
    if not has_area and res.full_source != "EEA":
        return _fail("MUST_HAVE_AREA")
    return None


def bbox_wnes(bbox: Sequence[float]) -> list[float]:
    """A spec bbox [W, S, E, N] in the server's BoundingBox order [W, N, E, S]."""
    west, south, east, north = bbox
    return [west, north, east, south]
