"""CLMS catalogue resolution: from a spec's dataset reference to the ids a request needs.

``resolve(request, fetch)`` finds the DataSet with one direct query (by UID, short
id, path or title) instead of walking every page of ``@search``, then picks the
``dataset_download_information`` item (or the prepackaged file) the request names.
The result, a ``Resolution``, is plain data the ledger stores as JSON, so that a
later run (and ``--offline``/``--frozen``) can skip the catalogue entirely.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit

from fetcher.errors import FetcherError

Params = Sequence[tuple[str, str]]
Fetch = Callable[[str, Params], Any]
"""``fetch(path, params)``: GET ``<base>/<path>`` anonymously and return its JSON."""
Warn = Callable[[str], None]

METADATA_FIELDS = (
    "UID", "getId", "dataset_download_information", "downloadable_files",
    "characteristics_projection", "characteristics_file_structure",
    "mapviewer_istimeseries", "download_limit_temporal_extent",
)
SEARCH_PAGE = 50
SCAN_PAGE = 100
# ZCTextIndex treats these words as operators; CLMS ANDs every other word anyway.
_QUERY_OPERATORS = frozenset({"and", "or", "not"})


class ResolveError(FetcherError):
    """The catalogue has no dataset, download item or file matching the spec."""


@dataclass(frozen=True)
class Resolution:
    """Everything about one item's dataset that requests, checks and matching need.

    ``info_id`` and the ``full_*``/``layers`` fields describe the chosen
    ``dataset_download_information`` item; the ``file_*`` fields the chosen
    prepackaged file (FileID route); one group or the other is None/empty.
    ``projections`` is ``characteristics_projection`` verbatim ("/"-separated).
    """

    uid: str
    title: str
    url: str = ""
    info_id: str | None = None
    download_name: str | None = None
    download_collection: str | None = None
    full_format: str | None = None
    full_source: str | None = None
    full_path: str | None = None
    layers: tuple[str, ...] = ()
    projections: str = ""
    file_structure: str = ""
    mapviewer_istimeseries: bool = False
    download_limit_temporal_extent: int | None = None
    file_id: str | None = None
    file_name: str | None = None
    file_path: str | None = None
    file_source: str | None = None

    @property
    def is_file(self) -> bool:
        """Whether this resolves a prepackaged file (the FileID route)."""
        return self.file_id is not None

    def to_json(self) -> str:
        """This resolution as a JSON document (sorted keys, stable across runs)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any]) -> Resolution:
        """Rebuild a resolution from ``to_json()`` output; unknown keys are ignored.

        Raises:
            ValueError: the document is not a resolution.
        """
        raw = json.loads(data) if isinstance(data, str) else dict(data)
        if not isinstance(raw, dict) or "uid" not in raw:
            raise ValueError("not a CLMS resolution")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["layers"] = tuple(values.get("layers") or ())
        return cls(**values)


def resolve(request: Mapping[str, Any], fetch: Fetch, *, warn: Warn | None = None) -> Resolution:
    """Find the dataset and the download item a canonical request names.

    Args:
        request: The canonical CLMS request (``ref``, ``download``, ``file``...).
        fetch: Anonymous JSON GET relative to the API base.
        warn: Told when resolution had to fall back to scanning the catalogue.

    Returns:
        The resolution.

    Raises:
        ResolveError: no such dataset, several match, or no such download item/file.
    """
    dataset = find_dataset(request.get("ref") or {}, fetch, warn=warn)
    return resolution_for(dataset, request)


def find_dataset(ref: Mapping[str, Any], fetch: Fetch, *, warn: Warn | None = None
                 ) -> Mapping[str, Any]:
    """The catalogue entry of the DataSet ``ref`` names ({uid}, {dataset} or {title})."""
    if ref.get("uid"):
        uid = str(ref["uid"])
        return _only(_search(fetch, [("UID", uid)]), f"UID {uid}")
    if ref.get("dataset"):
        name = str(ref["dataset"])
        if "/" in name:
            return _by_path(name, fetch)
        return _only(_search(fetch, [("getId", name)]), f"id {name!r}")
    if ref.get("title"):
        return _by_title(str(ref["title"]), fetch, warn)
    raise ResolveError("the CLMS request names no dataset (expected uid, dataset or title)")


def _search(fetch: Fetch, query: Params, *, page: int = SEARCH_PAGE
            ) -> Iterator[Mapping[str, Any]]:
    """DataSets matching ``query``, page by page; stops as soon as the caller does."""
    start = 0
    while True:
        params = [("portal_type", "DataSet"), *query,
                  *(("metadata_fields", f) for f in METADATA_FIELDS),
                  ("b_size", str(page)), ("b_start", str(start))]
        body = fetch("@search", params)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ResolveError("the CLMS catalogue answered @search without an item list")
        yield from (i for i in items if isinstance(i, dict))
        start += len(items)
        # Offsets rather than batching.next: next links carry the server's own host name.
        if not items or start >= int(body.get("items_total") or 0):
            return


def _only(found: Iterator[Mapping[str, Any]], what: str) -> Mapping[str, Any]:
    matches = list(found)
    if not matches:
        raise ResolveError(f"the CLMS catalogue has no dataset with {what}",
                           hint="check the spec's uid/dataset/title against land.copernicus.eu")
    if len(matches) > 1:
        raise ResolveError(f"the CLMS catalogue has {len(matches)} datasets with {what}: "
                           f"{_describe(matches)}", hint="name the dataset by uid instead")
    return matches[0]


def _describe(datasets: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{d.get('UID')} ({d.get('title')!r})" for d in datasets[:10])


def _by_path(name: str, fetch: Fetch) -> Mapping[str, Any]:
    path = urlsplit(name).path if "://" in name else name
    path = path.strip("/")
    if path.startswith("api/"):
        path = path[len("api/"):]
    body = fetch(path, [])
    if not isinstance(body, dict) or not body.get("UID"):
        raise ResolveError(f"the CLMS catalogue has no dataset at {name!r}")
    if body.get("@type") not in (None, "DataSet"):
        raise ResolveError(f"{name!r} is a {body.get('@type')}, not a DataSet")
    return body


def _by_title(title: str, fetch: Fetch, warn: Warn | None) -> Mapping[str, Any]:
    words = [w for w in re.findall(r"\w+", title) if w.lower() not in _QUERY_OPERATORS]
    if words:
        found = _exact_title(_search(fetch, [("SearchableText", " ".join(words))]), title)
        if found:
            return _only(iter(found), f"title {title!r}")
    if warn is not None:
        warn(f"CLMS text search found no dataset titled {title!r}; "
             "scanning the whole catalogue (slow; name the dataset by uid to avoid this)")
    found = _exact_title(_search(fetch, [], page=SCAN_PAGE), title)
    return _only(iter(found), f"title {title!r}")


def _exact_title(items: Iterator[Mapping[str, Any]], title: str) -> list[Mapping[str, Any]]:
    wanted = " ".join(title.split()).casefold()
    found = [i for i in items if " ".join(str(i.get("title", "")).split()).casefold() == wanted]
    exact = [i for i in found if i.get("title") == title]
    return exact or found


def resolution_for(dataset: Mapping[str, Any], request: Mapping[str, Any]) -> Resolution:
    """Pick the download item or file ``request`` names from a catalogue entry.

    Raises:
        ResolveError: the item or file is not there; the message lists what is.
    """
    limit = dataset.get("download_limit_temporal_extent")
    base = Resolution(
        uid=str(dataset.get("UID") or ""),
        title=str(dataset.get("title") or ""),
        url=str(dataset.get("@id") or ""),
        projections=str(dataset.get("characteristics_projection") or ""),
        file_structure=str(dataset.get("characteristics_file_structure") or ""),
        mapviewer_istimeseries=bool(dataset.get("mapviewer_istimeseries")),
        download_limit_temporal_extent=int(limit) if isinstance(limit, int | float) else None,
    )
    if request.get("file"):
        return _with_file(base, _items(dataset, "downloadable_files"), str(request["file"]))
    return _with_download(base, _items(dataset, "dataset_download_information"),
                          request.get("download"))


def _items(dataset: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    block = dataset.get(name)
    items = block.get("items") if isinstance(block, dict) else block
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _label(item: Mapping[str, Any]) -> str:
    return f"{str(item.get('name') or '').strip()}/{str(item.get('collection') or '').strip()}"


def _with_download(base: Resolution, items: list[Mapping[str, Any]],
                   wanted: Mapping[str, Any] | None) -> Resolution:
    offers = ", ".join(_label(i) for i in items) or "nothing (no download items)"
    if wanted:
        name = str(wanted.get("name") or "").strip()
        collection = wanted.get("collection")
        label = f"{name}/{str(collection).strip()}" if collection is not None else name

        def same(item: Mapping[str, Any], fold: bool) -> bool:
            # Names carry stray spaces in the catalogue ("RASTER "): compare stripped;
            # without a collection, the name alone chooses.
            have = _label(item) if collection is not None else _label(item).split("/")[0]
            return have.casefold() == label.casefold() if fold else have == label

        matches = [i for i in items if same(i, False)] or [i for i in items if same(i, True)]
        if len(matches) != 1:
            raise ResolveError(f"{base.title!r} ({base.uid}): no download item {label}; "
                               f"the dataset offers: {offers}")
    elif len(items) == 1:
        matches = items
    else:
        raise ResolveError(f"{base.title!r} ({base.uid}) offers {len(items)} download items; "
                           f"choose one with download: {{name, collection}}: {offers}")
    item = matches[0]
    layers = item.get("layers")
    return replace(base, info_id=str(item.get("@id") or ""),
                    download_name=str(item.get("name") or "").strip(),
                    download_collection=str(item.get("collection") or "").strip(),
                    full_format=format_name(item.get("full_format")),
                    full_source=str(item.get("full_source") or ""),
                    full_path=str(item.get("full_path") or ""),
                    layers=tuple(str(x) for x in layers) if isinstance(layers, list) else ())


def _with_file(base: Resolution, items: list[Mapping[str, Any]], name: str) -> Resolution:
    matches = [i for i in items if name in (i.get("file"), i.get("@id"))]
    if len(matches) != 1:
        names = ", ".join(str(i.get("file") or i.get("@id")) for i in items) or "no files"
        raise ResolveError(f"{base.title!r} ({base.uid}): no prepackaged file {name!r}; "
                           f"the dataset offers: {names}")
    item = matches[0]
    return replace(base, file_id=str(item.get("@id") or ""),
                    file_name=str(item.get("file") or item.get("title") or ""),
                    file_path=str(item.get("path") or ""),
                    file_source=str(item.get("source") or ""))


def format_name(value: Any) -> str | None:
    """``full_format`` as a string: the server accepts a string or ``{title, token}``."""
    if isinstance(value, dict):
        value = value.get("token") or value.get("title")
    return str(value) if value else None
