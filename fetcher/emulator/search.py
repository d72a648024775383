"""``@search``, object GETs and ``@datasets_by_uid``: the catalogue as plone.restapi serves it.

Batching follows ``plone.restapi``'s ``batching.py`` (§3.2): ``b_size`` 25 by default,
``batching`` only when ``items_total > b_size``, links with ``b_start`` moved to the front,
and ``@id`` without the batching and sorting parameters.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fetcher.emulator.catalogue import Dataset
from fetcher.emulator.exchange import Request, Response, json_response

SUMMARY_FIELDS = ("@id", "@type", "description", "review_state", "title", "type_title")
_DROPPED = ("b_size", "b_start", "sort_on", "sort_order", "sort_limit")
_TYPE_TITLES = {"DataSet": "Dataset", "Product": "Product"}


class BadRequest(Exception):
    """A query plone.restapi refuses with 400 ``BadRequest``."""


def portal_type(item: Dataset) -> str:
    """The item's ``@type``."""
    return str(item.get("_type", "DataSet"))


def object_url(api_base: str, item: Dataset) -> str:
    """The item's ``@id``: its path under the API base."""
    return f"{api_base}{item['_path']}"


def serialize(api_base: str, item: Dataset) -> dict[str, Any]:
    """The full content serialisation of one item (object GET and ``fullobjects``)."""
    full = {k: v for k, v in item.items() if not k.startswith("_")}
    parent_path = item["_path"].rsplit("/", 1)[0]
    full.update({
        "@id": object_url(api_base, item), "@type": portal_type(item),
        "type_title": _TYPE_TITLES.get(portal_type(item), portal_type(item)),
        "language": "en", "is_folderish": portal_type(item) == "Product",
        "parent": {"@id": f"{api_base}{parent_path}", "@type": "Product",
                   "title": parent_path.rsplit("/", 1)[1].replace("-", " ").capitalize()},
    })
    return full


def summary(api_base: str, item: Dataset, fields: list[str]) -> dict[str, Any]:
    """The summary of one item: default fields plus the requested metadata fields."""
    full = serialize(api_base, item)
    if "_all" in fields:
        fields = [k for k in full if k not in ("parent", "language", "is_folderish")]
    out = {name: full.get(name) for name in SUMMARY_FIELDS}
    for name in fields:
        out[name] = full.get(name)
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _matches_text(item: Dataset, query: str) -> bool:
    haystack = _words(f"{item.get('title', '')} {item.get('description', '')} {item['id']}")
    return all(any(w.startswith(q) for w in haystack) for q in _words(query))


def find(catalogue: list[Dataset], query: dict[str, list[str]]) -> list[Dataset]:
    """The items matching a catalog query (portal_type, UID, getId, path, SearchableText).

    Raises:
        BadRequest: a malformed parameter.
    """
    results = list(catalogue)
    types = query.get("portal_type")
    if types:
        results = [i for i in results if portal_type(i) in types]
    uids = [u for v in query.get("UID", []) + query.get("UID:list", []) for u in v.split(",")]
    if uids:
        results = [i for i in results if i["UID"] in uids]
    ids = query.get("getId")
    if ids:
        results = [i for i in results if i["id"] in ids]
    paths = query.get("path") or query.get("path.query")
    if paths:
        roots = [p.rstrip("/") for p in paths]
        results = [i for i in results
                   if any(i["_path"] == r or i["_path"].startswith(r + "/") for r in roots)]
    if "SearchableText" in query:
        text = re.sub(r"[()]", " ", query["SearchableText"][0]).strip()
        if text in ("", "*"):
            return []
        results = [i for i in results if _matches_text(i, text)]
    return _sorted(results, query)


def _sorted(results: list[Dataset], query: dict[str, list[str]]) -> list[Dataset]:
    keys = query.get("sort_on")
    if not keys:
        return results
    key = keys[0]
    field = {"sortable_title": "title", "getId": "id"}.get(key, key)
    order = (query.get("sort_order") or ["ascending"])[0]
    reverse = order in ("descending", "reverse")
    return sorted(results, key=lambda i: str(i.get(field, "")).lower(), reverse=reverse)


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.param(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid {name}: Not an integer") from None


def batched(request: Request, items: list[Any]) -> dict[str, Any]:
    """``@id``, ``items_total``, ``batching`` (when needed) and one page of ``items``."""
    size = _int_param(request, "b_size", 25)
    start = _int_param(request, "b_start", 0)
    actual = f"{request.base_url}{request.path}"
    params = parse_qsl(request.raw_query, keep_blank_values=True)
    kept = [p for p in params if p[0].lower() not in _DROPPED]
    result: dict[str, Any] = {
        "@id": actual + (f"?{urlencode(kept)}" if kept else ""),
        "items_total": len(items),
        "items": items[max(0, start):max(0, start) + size] if size > 0 else [],
    }
    if size > 0 and len(items) > size:
        result["batching"] = _links(actual, params, start, size, len(items))
    return result


def _links(actual: str, params: list[tuple[str, str]], start: int, size: int,
           total: int) -> dict[str, str]:
    def link(b_start: int) -> str:
        rest = [p for p in params if p[0] != "b_start"]
        return f"{actual}?{urlencode([('b_start', str(b_start)), *rest])}"

    current = actual + (f"?{urlencode(params)}" if params else "")
    links = {"@id": current, "first": link(0), "last": link(((total - 1) // size) * size)}
    if start + size < total:
        links["next"] = link(start + size)
    if start > 0:
        links["prev"] = link(max(0, start - size))
    return links


def search(request: Request, api_base: str, catalogue: list[Dataset]) -> Response:
    """Answer ``GET @search``."""
    query = request.query
    try:
        found = find(catalogue, query)
        fields = query.get("metadata_fields", [])
        full = "fullobjects" in query
        items = [serialize(api_base, i) for i in found] if full else found
        page = batched(request, items)
    except BadRequest as exc:
        return json_response(400, {"message": str(exc), "type": "BadRequest"})
    if "fullobjects" not in query:
        page["items"] = [summary(api_base, i, fields) for i in page["items"]]
    return json_response(200, page)


def datasets_by_uid(request: Request, catalogue: list[Dataset]) -> Response:
    """Answer ``GET @datasets_by_uid?UID=a,b`` (§3.4)."""
    uids = [u for v in request.query.get("UID", []) for u in v.split(",") if u]
    found = [i for i in catalogue if portal_type(i) == "DataSet" and i["UID"] in uids]
    items = [{
        "title": i["title"], "UID": i["UID"],
        "dataset_download_information": i["dataset_download_information"],
        "downloadable_files": i["downloadable_files"],
        "original_projection": i["characteristics_projection"],
        "download_show_auxiliary_calendar": i["download_show_auxiliary_calendar"],
    } for i in found]
    try:
        return json_response(200, batched(request, items))
    except BadRequest as exc:
        return json_response(400, {"message": str(exc), "type": "BadRequest"})
