"""What users' one-off CLMS scripts do today, as the benchmarks' baseline.

It follows the pattern of the seed scripts energy modellers keep beside their
workflows: mint a token from the service key, scan the catalogue page by page
(following ``batching.next``) until the wanted dataset turns up, POST one data
request per region, poll every task with its own ``@datarequest_status_get``,
and download whatever has finished. Nothing is remembered between runs, so
every run searches, posts and downloads everything again.

It talks only to the emulator here; the emulator's counters (``emu.stats``) and
request log (``emu.requests``) say what it cost. Plain ``requests`` and PyJWT,
as such scripts use; none of fetcher's code.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Wanted:
    """One region of one dataset, as a script's config lists it."""

    dataset_id: str          # the catalogue short id (``getId``)
    nuts: str
    layer: str | None = None
    output_format: str = "Geotiff"
    crs: str = "EPSG:4326"


@dataclass
class Run:
    """What one run of the script did."""

    pages: int = 0
    posts: int = 0
    status_calls: int = 0
    rounds: int = 0
    downloads: int = 0
    bytes: int = 0
    task_ids: list[str] = field(default_factory=list)


def token(session: requests.Session, key: dict[str, Any]) -> str:
    """Exchange a freshly signed grant for a bearer token (§2 of the CLMS docs)."""
    now = int(time.time())
    grant = jwt.encode({"iss": key["client_id"], "sub": key["user_id"], "aud": key["token_uri"],
                        "iat": now, "exp": now + 3600}, key["private_key"], algorithm="RS256")
    answer = session.post(key["token_uri"], data={"grant_type": GRANT_TYPE, "assertion": grant},
                          headers={"Accept": "application/json"}, timeout=60)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def scan_for(session: requests.Session, api: str, dataset_id: str, run: Run) -> dict[str, Any]:
    """Walk ``@search`` page by page (the default batch of 25) until ``dataset_id`` appears."""
    url: str | None = f"{api}/@search"
    params: list[tuple[str, str]] | None = [
        ("portal_type", "DataSet"), ("metadata_fields", "UID"), ("metadata_fields", "id"),
        ("metadata_fields", "dataset_download_information")]
    while url:
        answer = session.get(url, params=params, headers={"Accept": "application/json"},
                             timeout=60)
        answer.raise_for_status()
        run.pages += 1
        body = answer.json()
        for item in body.get("items", []):
            if item.get("id") == dataset_id or item.get("@id", "").endswith("/" + dataset_id):
                return dict(item)
        url = (body.get("batching") or {}).get("next")
        params = None  # the next link carries the query
    raise SystemExit(f"dataset {dataset_id} not found in the catalogue")


def entry_for(dataset: dict[str, Any], wanted: Wanted) -> dict[str, Any]:
    """The ``Datasets[]`` entry, as the CLMS API documentation shows it."""
    info = dataset["dataset_download_information"]["items"][0]
    entry: dict[str, Any] = {
        "DatasetID": dataset["UID"], "DatasetDownloadInformationID": info["@id"],
        "OutputFormat": wanted.output_format, "OutputGCS": wanted.crs, "NUTS": wanted.nuts}
    if wanted.layer is not None:
        entry["Layer"] = wanted.layer
    return entry


def run(key: dict[str, Any], api: str, wanted: list[Wanted], out: Path, *,
        poll_interval: float = 5.0, sleep: Callable[[float], None] = time.sleep,
        timeout: float = 3600.0, now: Callable[[], float] = time.monotonic) -> Run:
    """One run of the script: token, scan, post, poll per task, download."""
    result = Run()
    session = requests.Session()
    bearer = {"Authorization": f"Bearer {token(session, key)}",
              "Accept": "application/json"}
    datasets: dict[str, dict[str, Any]] = {}
    for w in wanted:
        if w.dataset_id not in datasets:
            datasets[w.dataset_id] = scan_for(session, api, w.dataset_id, result)
    pending: dict[str, Wanted] = {}
    for w in wanted:
        answer = session.post(f"{api}/@datarequest_post", headers=bearer, timeout=60,
                              json={"Datasets": [entry_for(datasets[w.dataset_id], w)]})
        result.posts += 1
        answer.raise_for_status()
        task_id = str(answer.json()["TaskIds"][0]["TaskID"])
        pending[task_id] = w
        result.task_ids.append(task_id)
    started = now()
    while pending:
        if now() - started > timeout:
            raise SystemExit(f"{len(pending)} task(s) still not finished after {timeout} s")
        sleep(poll_interval)
        result.rounds += 1
        for task_id in list(pending):
            answer = session.get(f"{api}/@datarequest_status_get", params={"TaskID": task_id},
                                 headers=bearer, timeout=60)
            result.status_calls += 1
            answer.raise_for_status()
            task = answer.json()
            if task.get("Status") == "Finished_ok":
                _download(session, task["DownloadURL"], out / pending.pop(task_id).nuts, result)
            elif task.get("Status") in ("Finished_nok", "Rejected", "Cancelled"):
                raise SystemExit(f"task {task_id}: {task.get('Status')}")
    session.close()
    return result


def _download(session: requests.Session, url: str, folder: Path, result: Run) -> None:
    answer = session.get(url, timeout=300)
    answer.raise_for_status()
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        archive.extractall(folder)
    result.downloads += 1
    result.bytes += len(answer.content)
