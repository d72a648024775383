"""fetch_many: parallel downloads, a per-host limit, results in input order."""

from __future__ import annotations

from pathlib import Path

from fetcher.download import _HostQueue, fetch_many
from fetcher.errors import FetcherError
from fetcher.net import Http
from fetcher.types import LocalFile, RemoteFile

from .conftest import FilesHost


def test_results_come_in_input_order_and_one_failure_spares_the_rest(
        http: Http, files: FilesHost, tmp_path: Path) -> None:
    jobs = [(RemoteFile(f"f{i}.bin", f"{files.url}/random/{1000 + i}/f{i}.bin"),
             tmp_path / f"f{i}.bin") for i in range(5)]
    jobs[2] = (RemoteFile("bad.tif", f"{files.url}/missing/bad.tif"), tmp_path / "bad.tif")

    results = fetch_many(http, jobs, workers=3, per_host=2)

    kinds = [type(r).__name__ for r in results]
    sizes = [r.size for r in results if isinstance(r, LocalFile)]
    assert ["LocalFile", "LocalFile", "RemoteError", "LocalFile", "LocalFile"] == kinds
    assert [1000, 1001, 1003, 1004] == sizes


def test_every_failure_is_a_fetcher_error(http: Http, files: FilesHost,
                                          tmp_path: Path) -> None:
    jobs = [(RemoteFile("bad.tif", f"{files.url}/missing/bad.tif"), tmp_path / "bad.tif")]

    [result] = fetch_many(http, jobs)

    assert (True, "RemoteError", 404) == (isinstance(result, FetcherError),
                                          type(result).__name__, getattr(result, "status", 0))


def test_host_queue_skips_a_host_at_its_limit() -> None:
    queue = _HostQueue(["a", "a", "a", "b"], per_host=2)

    taken = [queue.take(), queue.take(), queue.take()]

    assert [0, 1, 3] == taken


def test_host_queue_hands_out_a_waiting_job_after_release() -> None:
    queue = _HostQueue(["a", "a", "a"], per_host=2)
    queue.take()
    queue.take()

    queue.release(0)

    assert [2, None] == [queue.take(), queue.take()]
