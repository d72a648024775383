"""The CLMS download server's rules, as pure functions and tables.

Everything here mirrors ``eea/clms.downloadtool`` as ``clms-api.md`` describes it, so
that a client can pre-check a request and the emulator can judge one the same way:
the country table behind NUTS validation, the area limit and the (odd) way the area is
computed, the format conversion table, the projection lists, the status list, the exact
error messages of ``@datarequest_post`` and the timestamp forms of stored tasks.

This module imports nothing of fetcher's and nothing outside the standard library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Final

# ISO-3166 alpha-2 -> alpha-3, plus the NUTS/legacy codes the server also accepts
# (EL for Greece, UK, XK, AN, KS). Only the keys matter for validation.
COUNTRIES: Final[dict[str, str]] = {
    "AD": "AND", "AE": "ARE", "AF": "AFG", "AG": "ATG", "AI": "AIA", "AL": "ALB", "AM": "ARM",
    "AN": "ANT", "AO": "AGO", "AQ": "ATA", "AR": "ARG", "AS": "ASM", "AT": "AUT", "AU": "AUS",
    "AW": "ABW", "AX": "ALA", "AZ": "AZE", "BA": "BIH", "BB": "BRB", "BD": "BGD", "BE": "BEL",
    "BF": "BFA", "BG": "BGR", "BH": "BHR", "BI": "BDI", "BJ": "BEN", "BL": "BLM", "BM": "BMU",
    "BN": "BRN", "BO": "BOL", "BQ": "BES", "BR": "BRA", "BS": "BHS", "BT": "BTN", "BV": "BVT",
    "BW": "BWA", "BY": "BLR", "BZ": "BLZ", "CA": "CAN", "CC": "CCK", "CD": "COD", "CF": "CAF",
    "CG": "COG", "CH": "CHE", "CI": "CIV", "CK": "COK", "CL": "CHL", "CM": "CMR", "CN": "CHN",
    "CO": "COL", "CR": "CRI", "CU": "CUB", "CV": "CPV", "CW": "CUW", "CX": "CXR", "CY": "CYP",
    "CZ": "CZE", "DE": "DEU", "DJ": "DJI", "DK": "DNK", "DM": "DMA", "DO": "DOM", "DZ": "DZA",
    "EC": "ECU", "EE": "EST", "EG": "EGY", "EH": "ESH", "EL": "GRE", "ER": "ERI", "ES": "ESP",
    "ET": "ETH", "FI": "FIN", "FJ": "FJI", "FK": "FLK", "FM": "FSM", "FO": "FRO", "FR": "FRA",
    "GA": "GAB", "GB": "GBR", "GD": "GRD", "GE": "GEO", "GF": "GUF", "GG": "GGY", "GH": "GHA",
    "GI": "GIB", "GL": "GRL", "GM": "GMB", "GN": "GIN", "GP": "GLP", "GQ": "GNQ", "GR": "GRC",
    "GS": "SGS", "GT": "GTM", "GU": "GUM", "GW": "GNB", "GY": "GUY", "HK": "HKG", "HM": "HMD",
    "HN": "HND", "HR": "HRV", "HT": "HTI", "HU": "HUN", "ID": "IDN", "IE": "IRL", "IL": "ISR",
    "IM": "IMN", "IN": "IND", "IO": "IOT", "IQ": "IRQ", "IR": "IRN", "IS": "ISL", "IT": "ITA",
    "JE": "JEY", "JM": "JAM", "JO": "JOR", "JP": "JPN", "KE": "KEN", "KG": "KGZ", "KH": "KHM",
    "KI": "KIR", "KM": "COM", "KN": "KNA", "KP": "PRK", "KR": "KOR", "KS": "UNK", "KW": "KWT",
    "KY": "CYM", "KZ": "KAZ", "LA": "LAO", "LB": "LBN", "LC": "LCA", "LI": "LIE", "LK": "LKA",
    "LR": "LBR", "LS": "LSO", "LT": "LTU", "LU": "LUX", "LV": "LVA", "LY": "LBY", "MA": "MAR",
    "MC": "MCO", "MD": "MDA", "ME": "MNE", "MF": "MAF", "MG": "MDG", "MH": "MHL", "MK": "MKD",
    "ML": "MLI", "MM": "MMR", "MN": "MNG", "MO": "MAC", "MP": "MNP", "MQ": "MTQ", "MR": "MRT",
    "MS": "MSR", "MT": "MLT", "MU": "MUS", "MV": "MDV", "MW": "MWI", "MX": "MEX", "MY": "MYS",
    "MZ": "MOZ", "NA": "NAM", "NC": "NCL", "NE": "NER", "NF": "NFK", "NG": "NGA", "NI": "NIC",
    "NL": "NLD", "NO": "NOR", "NP": "NPL", "NR": "NRU", "NU": "NIU", "NZ": "NZL", "OM": "OMN",
    "PA": "PAN", "PE": "PER", "PF": "PYF", "PG": "PNG", "PH": "PHL", "PK": "PAK", "PL": "POL",
    "PM": "SPM", "PN": "PCN", "PR": "PRI", "PS": "PSE", "PT": "PRT", "PW": "PLW", "PY": "PRY",
    "QA": "QAT", "RE": "REU", "RO": "ROU", "RS": "SRB", "RU": "RUS", "RW": "RWA", "SA": "SAU",
    "SB": "SLB", "SC": "SYC", "SD": "SDN", "SE": "SWE", "SG": "SGP", "SH": "SHN", "SI": "SVN",
    "SJ": "SJM", "SK": "SVK", "SL": "SLE", "SM": "SMR", "SN": "SEN", "SO": "SOM", "SR": "SUR",
    "SS": "SSD", "ST": "STP", "SV": "SLV", "SX": "SXM", "SY": "SYR", "SZ": "SWZ", "TC": "TCA",
    "TD": "TCD", "TF": "ATF", "TG": "TGO", "TH": "THA", "TJ": "TJK", "TK": "TKL", "TL": "TLS",
    "TM": "TKM", "TN": "TUN", "TO": "TON", "TR": "TUR", "TT": "TTO", "TV": "TUV", "TW": "TWN",
    "TZ": "TZA", "UA": "UKR", "UG": "UGA", "UK": "GBR", "UM": "UMI", "US": "USA", "UY": "URY",
    "UZ": "UZB", "VA": "VAT", "VC": "VCT", "VE": "VEN", "VG": "VGB", "VI": "VIR", "VN": "VNM",
    "VU": "VUT", "WF": "WLF", "WS": "WSM", "XK": "XKX", "YE": "YEM", "YT": "MYT", "ZA": "ZAF",
    "ZM": "ZMB", "ZW": "ZWE",
}

AREA_LIMIT: Final = 1600000000000
"""Registry record ``clms.types.download_limits.area_extent``: the largest bbox area."""

RESULT_TTL_SECONDS: Final = 72 * 3600
"""How long a result stays downloadable after ``FinalizationDateTime`` (the docs)."""

FORMATS: Final[tuple[str, ...]] = (
    "Shapefile", "GDB", "GPKG", "Geojson", "Geotiff", "Netcdf", "GML", "WFS",
)

_VECTOR: Final = frozenset({"Shapefile", "GDB", "GPKG", "Geojson", "GML"})
_TARGETS: Final[dict[str, frozenset[str]]] = {
    "Shapefile": _VECTOR,
    "GDB": _VECTOR,
    "GPKG": _VECTOR,
    "Geojson": _VECTOR,
    "Geotiff": frozenset({"Geotiff"}),
    "Netcdf": frozenset({"Geotiff", "Netcdf"}),
    "WFS": _VECTOR | {"WFS"},
    "GML": frozenset({"GML"}),
}
FORMAT_CONVERSION_TABLE: Final[dict[str, dict[str, bool]]] = {
    source: {target: target in targets for target in FORMATS}
    for source, targets in _TARGETS.items()
}
"""``{full_format: {OutputFormat: allowed}}``, as ``@format_conversion_table`` returns it."""

BASE_GCS: Final[tuple[str, ...]] = ("EPSG:4326", "EPSG:3035", "EPSG:3857", "EPSG:4258")
OTHER_AVAILABLE_GCS: Final[tuple[str, ...]] = (
    "EPSG:2740", "EPSG:32620", "EPSG:32622",
    *(f"EPSG:{code}" for code in range(32625, 32639)),
    "EPSG:32738", "EPSG:32740",
)

STATUS_LIST: Final[tuple[str, ...]] = (
    "Rejected", "Queued", "In_progress", "Finished_ok", "Finished_nok", "Cancelled",
)

MESSAGES: Final[dict[str, str]] = {
    "NOT_LOGGED_IN": "You need to be logged in to use this service",
    "UNDEFINED_DATASET_ID": "Error, DatasetID is not defined",
    "INVALID_DATASET_ID": "Error, the DatasetID is not valid",
    "INVALID_FILE_ID": "Error, the FileID is not valid",
    "NUTS_COUNTRY_ERROR": "NUTS country error",
    "NUTS_ALSO_DEFINED": "Error, NUTS is also defined",
    "INVALID_BOUNDINGBOX": "Error, BoundingBox is not valid",
    "TEMP_REST_NOT_ALLOWED": (
        "Error, temporal restriction is not allowed in not time-series enabled datasets"
    ),
    "TEMP_TOO_MANY": "Error, TemporalFilter has too many fields",
    "TEMP_MISSING_RANGE": "Error, TemporalFilter does not have StartDate or EndDate",
    "INCORRECT_DATE": "Error, date format is not correct",
    "INCORRECT_DATE_RANGE": "Error, difference between StartDate and EndDate is not coherent",
    "UNDEFINED_GCS": "Error, defined GCS not in the list",
    "MISSING_GCS": "The OutputGCS parameter is mandatory.",
    "UNDEFINED_INFO_ID": "Error, DatasetDownloadInformationID is not defined.",
    "NOT_DOWNLOADABLE": "Error, this dataset is not downloadable",
    "INVALID_OUTPUT": "Error, the specified output format is not valid",
    "NOT_COMPATIBLE": "Error, specified formats are not compatible",
    "INVALID_SOURCE": "Error, the dataset source is not valid",
    "INVALID_LAYER": "Error, the requested band/layer is not valid",
    "MISSING_TEMPORAL": (
        "You are requesting to download a time series enabled dataset and you are "
        "required to request the download of an specific date range. Please check the "
        "download documentation to get more information"
    ),
    "FULL_NOT_EEA": (
        "You are requesting to download the full dataset but this dataset is not an EEA "
        "dataset and thus you need to query an specific endpoint to request its download. "
        "Please check the API documentation to get more information about this specific "
        "endpoint."
    ),
    "FULL_EEA": (
        "To download the full dataset, please download it through the corresponding "
        "pre-packaged data collection"
    ),
    "MUST_HAVE_AREA": (
        "You have to select a specific area of interest. In case you want to download the "
        "full dataset, please use the Auxiliary API."
    ),
    "DOWNLOAD_LIMIT": (
        "The download queue can only process 5 items at a time. "
        "Please try again with fewer items."
    ),
    "DUPLICATED": (
        "You have requested to download the same thing at least twice. "
        "Please check your download cart and remove any duplicates."
    ),
    "ALL_FAILED": "Error, all requests failed",
    "STATUS_NOT_RECOGNIZED": "Error, status not recognized",
    "TASKID_NOT_DEFINED": "Error, TaskID not defined",
    "TASK_DOES_NOT_EXIST": "Error, the task does not exist",
    "TASKID_NOT_REGISTERED": "Error, TaskID not registered",
    "PERMISSION_DENIED": "Error, permission denied",
}
"""Every fixed ``msg`` of the download services, keyed by the server's own names."""

MAX_ITEMS_PER_REQUEST: Final = 5
"""Non-FileID items one ``@datarequest_post`` may carry."""

NETCDF_FORBIDDEN_UIDS: Final[tuple[str, ...]] = (
    "7df9bdf94fe94cb5919c11c9ef5cac65", "0517fd1b7d944d8197a2eb5c13470db8",
)
"""The two Water Bodies datasets that refuse NetCDF output (check #25)."""


def too_big_message(limit: int = AREA_LIMIT) -> str:
    """The inline message for a bounding box over the area limit (check #7)."""
    return f"Error, the requested BoundingBox is too big. The limit is {limit}."


def temporal_range_message(days: int) -> str:
    """The inline message for a date range longer than the dataset allows (check #24)."""
    return (
        "You are requesting to download a time series enabled dataset and the requested "
        f"date range is bigger than the allowed range of {days} days. Please check the "
        "download documentation to get more information"
    )


def netcdf_message(uids: Sequence[str]) -> str:
    """The inline message for NetCDF asked of a Water Bodies dataset (check #25)."""
    return (
        "Please choose the Geotiff format as the NetCDF format is not allowed "
        f"for the dataset(s) {', '.join(uids)}"
    )


def validate_nuts(code: str) -> bool:
    """Whether the server accepts ``code`` as a NUTS or country code.

    Alphanumeric, and its leading letters start with a ``COUNTRIES`` key
    (case-sensitive, as on the server: ``it`` is refused).
    """
    if not code.isalnum():
        return False
    match = re.match(r"([A-Z]+)([0-9]*)", code, re.IGNORECASE)
    return bool(match) and match is not None and match.group(1)[:2] in COUNTRIES


def valid_bbox(bbox: object) -> bool:
    """Whether ``bbox`` is exactly four ints or floats (check #6)."""
    return (
        isinstance(bbox, list)
        and len(bbox) == 4
        and all(isinstance(v, int | float) for v in bbox)
    )


# EPSG:3587, NAD83(NSRS2007) / Michigan Central: Lambert Conic Conformal (2SP) on GRS80.
_A: Final = 6378137.0
_F: Final = 1 / 298.257222101
_E: Final = math.sqrt(_F * (2 - _F))
_LAT0: Final = math.radians(43 + 19 / 60)
_LON0: Final = math.radians(-(84 + 22 / 60))
_LAT1: Final = math.radians(45 + 42 / 60)
_LAT2: Final = math.radians(44 + 11 / 60)
_FALSE_EASTING: Final = 6000000.0
_FALSE_NORTHING: Final = 0.0


def _m(phi: float) -> float:
    return math.cos(phi) / math.sqrt(1 - (_E * math.sin(phi)) ** 2)


def _t(phi: float) -> float:
    sin = _E * math.sin(phi)
    return math.tan(math.pi / 4 - phi / 2) / math.pow((1 - sin) / (1 + sin), _E / 2)


_N: Final = (math.log(_m(_LAT1)) - math.log(_m(_LAT2))) / (
    math.log(_t(_LAT1)) - math.log(_t(_LAT2))
)
_BIG_F: Final = _m(_LAT1) / (_N * math.pow(_t(_LAT1), _N))
_RHO0: Final = _A * _BIG_F * math.pow(_t(_LAT0), _N)


def project_3587(lon: float, lat: float) -> tuple[float, float]:
    """Project degrees to EPSG:3587 metres, as ``pyproj.Proj(3587)(lon, lat)`` does.

    Longitudes are wrapped to within 180 degrees of the central meridian, as PROJ
    does. The south pole and latitudes beyond the poles give ``inf``, as PROJ does.
    """
    if lat > 90 or lat <= -90:
        return math.inf, math.inf
    phi = math.radians(lat)
    dlon = math.radians(lon) - _LON0
    dlon = (dlon + math.pi) % (2 * math.pi) - math.pi
    rho = 0.0 if lat == 90 else _A * _BIG_F * math.pow(_t(phi), _N)
    theta = _N * dlon
    return _FALSE_EASTING + rho * math.sin(theta), _FALSE_NORTHING + _RHO0 - rho * math.cos(theta)


def bbox_area(bbox: Sequence[float]) -> float:
    """The area the server computes for a BoundingBox, in square metres.

    Each coordinate is truncated with ``int()``, the corners ``(bbox[0], bbox[1])`` and
    ``(bbox[2], bbox[3])`` are projected to EPSG:3587 and the result is ``|dx * dy|``.
    The order of the four values therefore hardly matters, and a box whose corners
    truncate to the same degree has area 0.
    """
    if len(bbox) != 4:
        return 0.0
    x1, y1 = project_3587(int(bbox[0]), int(bbox[1]))
    x2, y2 = project_3587(int(bbox[2]), int(bbox[3]))
    return abs((x1 - x2) * (y1 - y2))


def allowed_gcs(characteristics_projection: str) -> list[str]:
    """The OutputGCS values a dataset accepts, from its ``characteristics_projection``.

    One entry gives the four base systems; several ("/"-separated) add those of the
    listed ones that are in ``OTHER_AVAILABLE_GCS``.
    """
    projections = characteristics_projection.split("/")
    if len(projections) == 1:
        return list(BASE_GCS)
    cleaned = (_clean_epsg(p) for p in projections)
    return [*BASE_GCS, *(p for p in cleaned if p in OTHER_AVAILABLE_GCS)]


def _clean_epsg(value: str) -> str:
    value = value.strip()
    return value if value.startswith("EPSG") else f"EPSG:{value}"


def parse_timestamp(value: str) -> datetime:
    """Parse a task timestamp, naive (pre-2025-10, UTC) or with an offset, to aware UTC.

    Raises:
        ValueError: ``value`` is not an ISO-8601 timestamp.
    """
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
