"""The CLMS download API client: resolve, check, submit one item, list, cancel, download.

``ClmsClient`` is the only part that talks to the network, always through
``fetcher.transfer.http.Http``. The decisions live in pure modules beside it:

- ``clms_catalogue``: which dataset and download item a spec names (``Resolution``);
- ``clms_check``: the ``Datasets[]`` entry to POST and the server's rules for it;
- ``clms_tasks``: ``Task``, expiry, and matching an entry to a stored task.

Every authenticated call that answers 401 (expired-token body or plone's
Unauthorized) invalidates the token, mints a fresh one and is sent again, as the
CLMS docs tell clients to do; a fresh token refused again (a flaky token store)
is minted anew, up to ``FRESH_TOKENS`` times. The catalogue is read anonymously.

Errors: ``AuthError`` (key refused), ``RequestRejected`` (a rule the server
applies, found before sending), ``DuplicateRequest`` (the server holds an
identical live task: adopt it), ``SubmitFailed`` (a task was stored but not
handed to FME), ``ApiError``/``RemoteError`` for the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fetcher.errors import ApiError, AuthError, RemoteError
from fetcher.sources.clms import catalogue as clms_catalogue
from fetcher.sources.clms import check as clms_check
from fetcher.sources.clms import rules as clms_rules
from fetcher.sources.clms import tasks as clms_tasks
from fetcher.sources.clms.auth import ServiceKey, TokenCache
from fetcher.sources.clms.catalogue import Params, Resolution, ResolveError
from fetcher.sources.clms.check import RequestRejected
from fetcher.sources.clms.tasks import Task
from fetcher.transfer.http import Http, describe, json_body
from fetcher.types import RemoteFile

if TYPE_CHECKING:
    from fetcher.transfer.http import Response

__all__ = [
    "ClmsClient", "DuplicateRequest", "RequestRejected", "Resolution", "ResolveError",
    "SubmitFailed", "Task",
]

JSON_HEADERS = {"Accept": "application/json"}
FRESH_TOKENS = 5
"""Tokens minted for one call before a run of 401s counts as a refused key."""


class DuplicateRequest(ApiError):
    """The server already holds this item in a Queued or In_progress task: adopt it."""


class SubmitFailed(RemoteError):
    """A POST did not yield a usable TaskID.

    ``task_id`` names the task the server stored anyway (ErrorTaskIds: it stays
    Queued and blocks identical requests, so cancel or adopt it), or is None.
    """

    def __init__(self, message: str, *, task_id: str | None = None, url: str | None = None,
                 status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, url=url, status=status, hint=hint)
        self.task_id = task_id


class ClmsClient:
    """One CLMS API (``base_url``, e.g. ``https://land.copernicus.eu/api``) for one key."""

    def __init__(self, http: Http, base_url: str, key: ServiceKey | None, *,
                 now: Callable[[], float], warn: Callable[[str], None] | None = None) -> None:
        """Args:
            http: The network seam.
            base_url: The API base; ``@search`` etc. are appended.
            key: The service key, or None for catalogue-only use.
            now: Clock (epoch seconds) for grants, token expiry and task expiry.
            warn: Told about slow fallbacks (a catalogue scan).
        """
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.now = now
        self.warn = warn
        self.tokens = TokenCache(key, now=now) if key is not None else None

    def __repr__(self) -> str:
        client = self.key.client_id if self.key else None
        return f"ClmsClient({self.base_url!r}, client_id={client!r})"

    # -- catalogue ---------------------------------------------------------------

    def resolve(self, request: Mapping[str, Any]) -> Resolution:
        """Find a request's dataset and download item with one or two direct queries.

        Args:
            request: The canonical CLMS request.

        Returns:
            The resolution (store it: later runs need no catalogue call).

        Raises:
            ResolveError: no such dataset/item/file; the message lists what exists.
            RemoteError: the catalogue failed.
        """
        return clms_catalogue.resolve(request, self._get_anonymous, warn=self.warn)

    def _get_anonymous(self, path: str, params: Params) -> Any:
        response = self.http.request("GET", self._url(path), headers=JSON_HEADERS,
                                     params=list(params))
        if response.status_code == 404:
            response.close()
            raise ResolveError(f"the CLMS catalogue has nothing at {self._url(path)}")
        return json_body(response, expect=(200,))

    # -- the request --------------------------------------------------------------

    def check(self, request: Mapping[str, Any], resolution: Resolution) -> None:
        """Apply the server's rules to the request before it is sent (§4.2).

        Raises:
            RequestRejected: with the server's exact message.
        """
        clms_check.check(request, resolution)

    def post_item(self, request: Mapping[str, Any], resolution: Resolution) -> dict[str, Any]:
        """The ``Datasets[]`` entry for one item (see ``clms_check.post_item``)."""
        return clms_check.post_item(request, resolution)

    def submit(self, entry: Mapping[str, Any]) -> str:
        """POST one item as its own data request; return its TaskID.

        Not retried after it may have reached the server: a crash or an unknown
        outcome is repaired by ``find_task`` on the next run.

        Raises:
            DuplicateRequest: the server holds the same item in a live task.
            ApiError: any other refusal, quoting the server's message.
            SubmitFailed: a task was stored but FME refused it (``task_id`` set),
                or the answer held no single TaskID.
            RemoteError: the server failed ("all requests failed", 5xx).
        """
        url = self._url("@datarequest_post")
        response = self._authed("POST", "@datarequest_post", idempotent=False,
                                json={"Datasets": [dict(entry)]})
        if response.status_code == 201:
            return _task_id_from(json_body(response, expect=(201,)), url)
        message = _server_message(response)
        if response.status_code == 400:
            if message == clms_rules.MESSAGES["DUPLICATED"]:
                raise DuplicateRequest(
                    "the CLMS server already has this item in a Queued or In_progress task",
                    url=url, status=400, server_message=message,
                    hint="adopt the live task (find_task) instead of posting again")
            raise ApiError(f"the CLMS server refused the data request: {message!r}",
                           url=url, status=400, server_message=message)
        hint = "the server may be having trouble; the next sync retries"
        if message == clms_rules.MESSAGES["ALL_FAILED"]:
            # The server stored the task before FME refused it; it stays Queued, without
            # an FMETaskId, and blocks an identical request until cancelled.
            hint = ("FME refused the task; the server keeps it Queued without an FME id, "
                    "which blocks an identical request: cancel it, then sync again")
        raise RemoteError(f"the CLMS data request failed: HTTP {response.status_code} "
                          f"{message!r}", url=url, status=response.status_code, hint=hint)

    # -- tasks -----------------------------------------------------------------------

    def tasks(self) -> dict[str, Task]:
        """All of this user's tasks, from ONE unfiltered ``@datarequest_search``.

        CDSE children (object ``Datasets``, upper-case statuses) are kept and
        marked ``is_cdse_child``; unknown statuses are kept as given.
        """
        response = self._authed("GET", "@datarequest_search")
        body = json_body(response, expect=(200,))
        if not isinstance(body, dict):
            raise RemoteError("@datarequest_search answered something other than an object",
                              url=self._url("@datarequest_search"))
        return {str(tid): clms_tasks.parse_task(str(tid), raw)
                for tid, raw in body.items() if isinstance(raw, dict)}

    def find_task(self, entry: Mapping[str, Any], resolution: Resolution,
                  tasks: Mapping[str, Task], *, stale_after: float = float("inf"),
                  exclude: Collection[str] = ()) -> Task | None:
        """The usable stored task holding exactly ``entry`` (``clms_tasks.find_task``)."""
        return clms_tasks.find_task(entry, resolution, tasks, self.now(), stale_after, exclude)

    def matching(self, entry: Mapping[str, Any], resolution: Resolution,
                 tasks: Mapping[str, Task]) -> list[Task]:
        """Every stored task holding exactly ``entry``, usable or not."""
        return clms_tasks.matching(entry, resolution, tasks)

    def stale_matches(self, entry: Mapping[str, Any], resolution: Resolution,
                      tasks: Mapping[str, Task], *, stale_after: float) -> list[Task]:
        """The stale unfinished tasks holding exactly ``entry`` (to cancel before posting)."""
        return clms_tasks.stale_matches(entry, resolution, tasks, self.now(), stale_after)

    def status(self, task_id: str) -> Task:
        """One task by id (``@datarequest_status_get``).

        Raises:
            ApiError: the task does not exist (404) or the id was refused.
        """
        response = self._authed("GET", "@datarequest_status_get",
                                params={"TaskID": str(task_id)})
        if response.status_code == 200:
            body = json_body(response, expect=(200,))
            return clms_tasks.parse_task(str(task_id), body if isinstance(body, dict) else {})
        message = _server_message(response)
        raise ApiError(f"CLMS task {task_id}: {message!r}"
                       + (" (the server does not know it)" if response.status_code == 404
                          else ""),
                       url=self._url("@datarequest_status_get"),
                       status=response.status_code, server_message=message)

    def cancel(self, task_id: str) -> None:
        """Cancel a task (any status: the server has no guard).

        Raises:
            ApiError: 403 means the id is not registered, 404 that the task
                belongs to another user (the server swaps the usual codes).
        """
        response = self._authed("DELETE", "@datarequest_delete",
                                json={"TaskID": str(task_id)})
        if response.status_code == 204:
            response.close()
            return
        message = _server_message(response)
        meaning = {403: "the server has no task with this id",
                   404: "the task belongs to another CLMS user"}.get(response.status_code)
        raise ApiError(f"cannot cancel CLMS task {task_id}: "
                       + (f"{meaning} ({message!r})" if meaning else repr(message)),
                       url=self._url("@datarequest_delete"), status=response.status_code,
                       server_message=message)

    def is_expired(self, task: Task, now: float | None = None) -> bool:
        """Whether a finished task's download has passed its 72 h (now: the client clock)."""
        return clms_tasks.is_expired(task, self.now() if now is None else now)

    def download_remote(self, task: Task, resolution: Resolution) -> RemoteFile:
        """The result zip of a Finished_ok task, for the store to download.

        The FME host needs no bearer token (and must not get one).

        Raises:
            RemoteError: the task has no DownloadURL yet.
        """
        if not task.download_url:
            raise RemoteError(f"CLMS task {task.task_id} ({task.status}) has no DownloadURL",
                              hint="wait until it is Finished_ok")
        name = urlsplit(task.download_url).path.rsplit("/", 1)[-1] or f"{task.task_id}.zip"
        return RemoteFile(name=name, url=task.download_url, size=task.file_size, kind="zip")

    # -- plumbing --------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _authed(self, method: str, path: str, *, idempotent: bool | None = None,
                **kwargs: Any) -> Response:
        """Send with a bearer token; on a 401, mint a fresh token and send again."""
        tokens = self.tokens
        if tokens is None:
            raise AuthError("no CLMS service key: this call needs one",
                            hint="set FETCHER_CLMS_KEY to your service key JSON file")

        def bearer() -> str:
            return tokens.token(self.http)

        for attempt in range(1, FRESH_TOKENS + 1):
            bearer()  # exchange here, not in the middle of the request
            response = self.http.request(method, self._url(path), idempotent=idempotent,
                                         headers=JSON_HEADERS, bearer=bearer, **kwargs)
            if response.status_code != 401:
                return response
            # A 401 means the request was not processed, so even a POST is safe to resend.
            text = describe(response)
            response.close()
            tokens.invalidate()
            if attempt == FRESH_TOKENS:
                raise AuthError(
                    f"the CLMS API refused {FRESH_TOKENS} freshly issued tokens in a row "
                    f"for {path} ({text})",
                    hint="the key may lack download rights, or its ip_range excludes "
                         "this machine; create a new key if it persists")
        raise AssertionError("unreachable")


def _task_id_from(body: Any, url: str) -> str:
    if not isinstance(body, dict):
        raise SubmitFailed("the CLMS data request answer is not an object", url=url)
    errors = [str(t.get("TaskID")) for t in body.get("ErrorTaskIds") or [] if isinstance(t, dict)]
    if errors:
        raise SubmitFailed(
            f"the CLMS server stored task {errors[0]} but could not hand it to FME",
            task_id=errors[0], url=url, status=201,
            hint="cancel the orphan task (it stays Queued and blocks an identical request)")
    ids = [t.get("TaskID") for t in body.get("TaskIds") or [] if isinstance(t, dict)]
    if len(ids) != 1 or not isinstance(ids[0], str | int):
        raise SubmitFailed(
            f"the CLMS data request answer holds {len(ids)} TaskIDs, expected exactly one",
            url=url, status=201,
            hint="CDSE requests get their task later; the next sync finds it in the task list")
    return str(ids[0])


def _server_message(response: Response) -> str:
    """The ``msg`` (or ``message``) of an error body, else a short description."""
    try:
        body = json_body(response, expect=(response.status_code,))
    except RemoteError:
        return describe(response)
    if isinstance(body, dict):
        for key in ("msg", "message", "error_description"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return str(body)[:200]
