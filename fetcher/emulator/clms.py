"""The CLMS API host (``/api``): auth, catalogue, the download-tool services (§2 to §7).

Every answer is rendered as plone.restapi renders it. Tokens are checked first on every
request, public ones included: a stored but expired token locks the answer to the 401
``invalid_token`` body, an unknown one makes the caller anonymous (§2.5).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fetcher.emulator import catalogue, datarequest, postfaults, search
from fetcher.emulator.catalogue import Dataset
from fetcher.emulator.config import Clock, EmulatorConfig
from fetcher.emulator.exchange import Request, Response, error_msg, json_response
from fetcher.emulator.faults import Recorder
from fetcher.emulator.postfaults import PostFaults
from fetcher.emulator.tasks import TaskStore
from fetcher.emulator.tokens import UNAUTHORIZED, TokenAuthority, bearer
from fetcher.sources.clms import rules

M = rules.MESSAGES
EXPIRED = {"error": "invalid_token", "error_description": "Access token expired"}
Handler = Callable[[Request, str], Response]


class ClmsApp:
    """Routes requests of the CLMS host to the services."""

    def __init__(self, config: EmulatorConfig, datasets: list[Dataset],
                 authority: TokenAuthority, tasks: TaskStore, recorder: Recorder,
                 clock: Clock | None = None) -> None:
        self.config = config
        self.catalogue = datasets
        self.by_uid = {d["UID"]: d for d in datasets if "_type" not in d}
        self.by_path = {d["_path"]: d for d in datasets}
        self.clock = clock or Clock(config.fake_clock, config.start_time)
        self.post_faults = PostFaults(config.seed, config.post_faults)
        self.authority = authority
        self.tasks = tasks
        self.recorder = recorder
        self.protected: dict[tuple[str, str], Handler] = {
            ("POST", "@datarequest_post"): self.post,
            ("GET", "@datarequest_search"): self.search_tasks,
            ("GET", "@datarequest_status_get"): self.status_get,
            ("DELETE", "@datarequest_delete"): self.delete,
            ("GET", "@format_conversion_table"): self.conversion_table,
            ("GET", "@projections"): self.projections,
            ("GET", "@nuts_name"): self.nuts_name,
        }

    def __call__(self, request: Request) -> Response:
        path = request.path
        if path in ("/@@oauth2-token", "/api/@@oauth2-token"):
            answer = self.authority.endpoint(request)
            if answer.status == 200:
                self.recorder.count("token_grants")
            return answer
        if path != "/api" and not path.startswith("/api/"):
            return _not_found(request)
        user, locked = self._user(request)
        if locked is not None:
            return locked
        name = path[len("/api/"):]
        api_base = f"{request.base_url}/api"
        handler = self.protected.get((request.method, name))
        if handler is not None:
            if user is None:
                return json_response(401, UNAUTHORIZED)
            return handler(request, user)
        if request.method == "GET" and name == "@search":
            self.recorder.count("searches")
            return search.search(request, api_base, self.catalogue)
        if request.method == "GET" and name == "@datasets_by_uid":
            self.recorder.count("searches")
            return search.datasets_by_uid(request, self.catalogue)
        item = self.by_path.get(path[len("/api"):].rstrip("/"))
        if request.method == "GET" and item is not None:
            return json_response(200, search.serialize(api_base, item))
        return _not_found(request)

    def _user(self, request: Request) -> tuple[str | None, Response | None]:
        token = bearer(request)
        stored = self.authority.lookup(token) if token else None
        if stored is None:
            return None, None
        if request.forced_expiry or self.authority.is_expired(stored):
            return None, json_response(401, EXPIRED)
        return stored.user_id, None

    def post(self, request: Request, user: str) -> Response:
        """``@datarequest_post`` (§4), meeting its route faults (``postfaults.py``)."""
        self.recorder.count("posts")
        mode = self.post_faults.draw()
        if mode is not None:
            self.recorder.count("post_faults")
        if mode in postfaults.BEFORE:
            return postfaults.before(str(mode))
        answer = self._post(request, user, orphan=mode == "orphan")
        if mode in postfaults.AFTER:
            return postfaults.after(str(mode))
        return answer

    def _post(self, request: Request, user: str, orphan: bool) -> Response:
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return _crash("DeserializationError", "No JSON object could be decoded")
        if not isinstance(body, dict):
            return _crash("DeserializationError", "Malformed body")
        try:
            checked = datarequest.check(body.get("Datasets"), self.by_uid.get)
            datarequest.finalize(checked, self.tasks.active_datasets(user))
        except datarequest.Refusal as exc:
            return error_msg(exc.status, exc.msg)
        except datarequest.Crash as exc:
            return _crash("TypeError", str(exc))
        via_cdse = [i for i in checked.regular if i.get("DatasetSource") == "CDSE"]
        regular = [i for i in checked.regular if i.get("DatasetSource") != "CDSE"]
        ok: list[dict[str, str]] = []
        failed: list[dict[str, str]] = []
        for items, prepackaged in ((checked.prepackaged, True), (regular, False)):
            if items:
                task = self.tasks.create(user, items, prepackaged)
                if orphan:
                    self.tasks.orphan(task)
                    return postfaults.orphaned()
                if self.config.fme_fails:
                    self.tasks.orphan(task)
                    failed.append({"TaskID": task.task_id})
                else:
                    ok.append({"TaskID": task.task_id})
        self.tasks.schedule_cdse(user, via_cdse)
        if failed and not ok:
            return error_msg(500, M["ALL_FAILED"])
        return json_response(201, {"ErrorTaskIds": failed, "TaskIds": ok})

    def rotate_file_ids(self, uid: str, touch: bool = True) -> dict[str, str]:
        """Give a dataset's prepackaged files new ``@id`` values; old id -> new id.

        A FileID held from before is then refused (``Error, the FileID is not valid``)
        and a fresh catalogue lookup finds the new one. ``touch`` also sets the
        dataset's ``modified`` to now, as an edit in Plone does.

        Raises:
            KeyError: no dataset with this UID.
        """
        changed = catalogue.rotate_file_ids(self._dataset(uid))
        if touch:
            self.set_modified(uid)
        return changed

    def set_modified(self, uid: str, when: float | str | None = None) -> str:
        """Set a dataset's ``modified`` (epoch seconds, ISO text, or None for now); the value.

        Raises:
            KeyError: no dataset with this UID.
        """
        dataset = self._dataset(uid)
        stamp = catalogue.plone_date(self.clock.now() if when is None else when)
        dataset["modified"] = stamp
        return stamp

    def _dataset(self, uid: str) -> Dataset:
        dataset = self.by_uid.get(uid)
        if dataset is None:
            raise KeyError(f"no dataset with UID {uid!r}")
        return dataset

    def search_tasks(self, request: Request, user: str) -> Response:
        """``@datarequest_search[?status=]`` (§5.3): every task of the caller."""
        self.recorder.count("polls")
        status = request.param("status")
        if status is not None and status not in rules.STATUS_LIST:
            return error_msg(400, M["STATUS_NOT_RECOGNIZED"])
        found = {
            t.task_id: t.record for t in self.tasks.of_user(user)
            if status is None or t.record.get("Status") == status
        }
        return json_response(200, found)

    def status_get(self, request: Request, user: str) -> Response:
        """``@datarequest_status_get?TaskID=`` (§5.4); no ownership check, as upstream."""
        self.recorder.count("polls")
        task_id = request.param("TaskID")
        if not task_id:
            return error_msg(400, M["TASKID_NOT_DEFINED"])
        task = self.tasks.get(task_id)
        if task is None:
            return error_msg(404, M["TASK_DOES_NOT_EXIST"])
        return json_response(200, task.record)

    def delete(self, request: Request, user: str) -> Response:
        """``@datarequest_delete`` (§5.5), with its swapped 403/404."""
        self.recorder.count("deletes")
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _crash("DeserializationError", "No JSON object could be decoded")
        task_id = body.get("TaskID") if isinstance(body, dict) else None
        if task_id is None or task_id == "":
            return error_msg(400, M["TASKID_NOT_DEFINED"])
        task = self.tasks.get(str(task_id))
        if task is None:
            return error_msg(403, M["TASKID_NOT_REGISTERED"])
        if user not in str(task.record.get("UserID", "")):
            return error_msg(404, M["PERMISSION_DENIED"])
        self.tasks.cancel(task)
        return Response(204, b"", {"Content-Type": "application/json"})

    def conversion_table(self, request: Request, user: str) -> Response:
        """``@format_conversion_table``."""
        return json_response(200, rules.FORMAT_CONVERSION_TABLE)

    def projections(self, request: Request, user: str) -> Response:
        """``@projections[?uid=]``."""
        uid = request.param("uid")
        if uid is None:
            return json_response(200, list(rules.BASE_GCS))
        dataset = self.by_uid.get(uid)
        if dataset is None:
            return json_response(200, [])
        return json_response(200, rules.allowed_gcs(dataset["characteristics_projection"]))

    def nuts_name(self, request: Request, user: str) -> Response:
        """``@nuts_name?nuts_ids=ITC11,ES``."""
        ids = [i for i in (request.param("nuts_ids") or "").split(",") if i]
        return json_response(200, {i: datarequest.NUTS_NAMES.get(i, i) for i in ids})


def _crash(kind: str, message: str) -> Response:
    body: dict[str, Any] = {"message": message, "type": kind}
    return json_response(500, body)


def _not_found(request: Request) -> Response:
    return json_response(404, {"message": f"Resource not found: {request.url}",
                               "type": "NotFound"})
