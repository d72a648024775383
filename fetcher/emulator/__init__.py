"""A faithful local CLMS, CEDA archive, Zenodo and file server, with faults.

Every test, benchmark and ``fetcher demo`` runs against this emulator on 127.0.0.1 over
real sockets. It follows the real services as ``clms-api.md`` describes them, not the
client's convenience. Five hosts (eight with ``mirrors``), each on its own port:

- **clms**: ``/api`` with ``@@oauth2-token`` (also at ``/@@oauth2-token``), ``@search``,
  object GETs under ``/api/en/products/...``, ``@datasets_by_uid``, ``@datarequest_post``,
  ``@datarequest_search``, ``@datarequest_status_get``, ``@datarequest_delete``,
  ``@format_conversion_table``, ``@projections``, ``@nuts_name``; control endpoints under
  ``/_emulator/`` (``control.py``: stats, requests, tasks, clock/advance, faults,
  service-key, tasks/by-item, requests/by-path, call/<handle>/<method>).
- **fme**: ``/clmsdatadownload/results/<FMETaskId>.zip``, the results of finished tasks.
- **ceda**: ``/bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf?json`` and files.
- **zenodo**: ``/api/records/3939050`` (current shape), ``/api/records/1000001`` (legacy
  shape), ``/api/records/2000002`` (``zenodo_many_files``), files at
  ``/records/<id>/files/<name>``.
- **files**: ``/random/<size>/<name>?seed=N``, any size, streamed without disk; the
  redirect paths and Basic-auth ``/private/`` paths of ``redirects.py``.
- **mirror_404**, **mirror_reset**, **mirror_other** (``mirrors.py``): bad mirrors.

All file hosts support HEAD, ``Range`` (206, 416 with ``bytes */size``), strong ETags and
``If-Range`` with an ETag or a date. Every file streams from a generator (``bodies.py``)
at any size up to 2**53 bytes, deterministic for the seed: GeoTIFFs start ``II*\0``,
zips ``PK`` (ZIP64 past 4 GiB), with correct CRCs; past 4 MiB the bytes repeat with a
period of 4 MiB - 3. An md5 in a listing or record is computed on first use (about
2.5 s per GiB).

Usage::

    with Emulator(EmulatorConfig(seed=0, fake_clock=True)) as emu:
        key = emu.service_key(user_id="n00015mf")
        emu.clock.advance(120)
        assert emu.stats["posts"] == 0

Configuration (``EmulatorConfig`` fields; also the keys of a YAML/JSON file for
``fetcher emulator --config``; a bad value is a ValueError when the config is built):

- ``seed`` (0): drives task ids, outcomes, result bytes and faults.
- ``fake_clock`` (false), ``start_time`` (epoch seconds; default now): a fake clock that
  only ``clock.advance`` moves drives token expiry, the task schedule and result expiry.
- ``token_lifetime`` (3600): ``expires_in`` of new tokens.
- ``queued_seconds`` (30), ``in_progress_seconds`` (60): the task schedule;
  ``schedule``: per-DatasetID ``[queued, in_progress]`` overrides (huge = stuck).
- ``outcomes``: per-DatasetID ``{status: Finished_nok|Rejected, message}``;
  ``failure_rate`` / ``rejection_rate`` (0): seeded share of tasks that fail / are rejected.
- ``result_ttl`` (259200): seconds after FinalizationDateTime before the zip answers 404.
- ``forbid_after_finish`` (0): seconds of 403 from the download host after Finished_ok.
- ``results``: per-DatasetID ``ResultBehaviour`` of the FME host (``fme.py``): ``size``
  (exact streamed zip size, >= 65536; None: the natural small zip), ``first_byte_delay``
  (<= 60 real s before the status line), ``chunk_delay`` (<= 10 real s between 64 KiB
  chunks), ``not_ready_seconds`` (None: ``forbid_after_finish``) of ``not_ready_status``
  (403 or 404) after FinalizationDateTime, ``ttl`` (None: ``result_ttl``).
- ``cdse_children`` (false): add CDSE child tasks (``QUEUED``, object ``Datasets``) that
  leak into the unfiltered ``@datarequest_search``, for regular tasks and CDSE parents.
- ``cdse_parent_delay`` (5): seconds (emulator clock) after a POST before the parent
  task of its CDSE items appears (0: at once); never, for an item without TemporalFilter.
- ``timestamp_style`` (aware): ``aware`` (``+00:00``, since 2025-10) or ``naive``.
- ``catalogue_size`` (60): filler datasets beyond the real ones (benchmarks use 200).
- ``fme_fails`` (false): FME refuses every task (``ErrorTaskIds``; all failed gives 500).
- ``zenodo_rate_limit`` (133): API requests per minute before Zenodo answers 429.
- ``ceda_file_size`` (300000): exact size of each GEBCO zip (>= 154);
  ``zenodo_file_size`` (200000): exact size of the LC100 GeoTIFF (>= 287).
- ``zenodo_many_files`` (0, <= 10000), ``zenodo_many_file_size`` (2048): record 2000002
  with that many files, ``tile_NNN.tif`` of that size and every tenth ``notes_NNN.txt``.
- ``files_password`` (``reader-password``): password of user ``reader`` on ``/private/``.
- ``mirrors`` (false): start the three mirror hosts (``urls.mirror_*``, else None).
- ``faults``: per host (clms, fme, ceda, zenodo, files, mirror_*) rates 0..1 of
  ``error_500``, ``error_502``, ``error_503``, ``throttle`` (429 with ``Retry-After``:
  ``retry_after`` seconds, or an HTTP date when ``retry_after_http_date``), ``drop``
  (connection closed with no answer), ``truncate`` (fewer bytes than Content-Length),
  ``slow`` (``slow_seconds`` delay), ``expire_token`` (a valid token answered as
  expired). They strike every route of the host (on clms the token endpoint too)
  before it processes anything, except ``post_fault_after_create`` (0): the share of
  the 5xx/drop faults of ``@datarequest_post`` that strike after its tasks were created
  (logged as ``error_503+processed``). "20 % 5xx everywhere" is
  ``faults: {clms: {error_503: 0.2}}``. At runtime: ``emu.faults.set(host, **rates)``,
  ``emu.faults.script(host, *kinds)`` (the next requests meet these faults in order),
  ``emu.faults.clear()``.
- ``post_faults``: rates per mode of ``@datarequest_post`` route faults (``postfaults.py``:
  ``before_500|502|503``, ``after_500|502|503``, ``after_drop``, ``orphan``).

Runtime controls (also ``POST /_emulator/call/<handle>/<method>`` with JSON kwargs):

- ``emu.post_faults.script(*modes)``, ``.set(**rates)``, ``.clear()``; ``.met`` lists
  the modes applied.
- ``emu.fme.configure(task_id, **settings)`` (``ResultBehaviour`` fields but ``size``),
  ``emu.fme.expire(task_id)`` (404 from now on).
- ``emu.clms.rotate_file_ids(uid, touch=True)`` -> {old @id: new @id} (old FileIDs get
  ``Error, the FileID is not valid``; ``touch`` sets ``modified`` to now),
  ``emu.clms.set_modified(uid, when=None)`` (epoch, ISO text or now) -> the Plone date.
- ``emu.ceda.bump(path_or_name, size=None, listing=True)`` -> new version,
  ``emu.ceda.publish(path_or_name)``; ``emu.zenodo.bump(record, name, size=None,
  listing=True)``, ``emu.zenodo.publish(record, name)``; ``emu.files.bump(path,
  size=None)`` for ``/random/<size>/<name>``. A bump changes the bytes, ETag and
  Last-Modified (now); ``listing=False`` keeps the old size/md5 listed until publish.

Counters (``emu.stats``): token_grants, searches, posts, polls, deletes, downloads,
bytes, requests, post_faults (POSTs that met a route fault), and tasks (the tasks that
exist now, CDSE children aside; not reset). ``emu.requests`` is the request log (no
header values are kept; ``fault`` labels what struck; ``at`` is the emulator clock's time
of the answer); ``emu.requests_by_path(host)`` counts it per path;
``emu.tasks.count_by_item(statuses=None, user_id=None)`` maps each normalised item
(sorted-key JSON) to the number of tasks holding it.

Not reproduced yet from clms-api.md: ``@get-download-file-urls`` (§6.2),
``@get-time-series-metadata``, ``@get_catalogapi_dates``, the manager-only services
(``@datarequest_status_patch``, ``@datarequest_inspect``, ``@delete_data``),
``@service-keys``, the ``/++api++/`` alias, service-key ``ip_range`` and impersonation,
CDSE batches and their monitor (parents run the ordinary schedule), the CDSE_CSV
ISO-8601 TemporalFilter form, the ``/fmedatadownload/`` URL variant in task records
(the host serves it), and real NUTS names beyond a small table.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fetcher.emulator import catalogue, mirrors
from fetcher.emulator.ceda import CedaApp, CedaArchive
from fetcher.emulator.clms import ClmsApp
from fetcher.emulator.config import (
    Clock,
    EmulatorConfig,
    FaultRates,
    Outcome,
    ResultBehaviour,
    config_from_dict,
    config_from_file,
)
from fetcher.emulator.control import control
from fetcher.emulator.faults import Faults, Recorder, RequestRecord
from fetcher.emulator.files import FilesApp
from fetcher.emulator.fme import FmeApp
from fetcher.emulator.postfaults import PostFaults
from fetcher.emulator.server import App, HostServer
from fetcher.emulator.tasks import TaskStore
from fetcher.emulator.tokens import TokenAuthority
from fetcher.emulator.zenodo import ZenodoApp

__all__ = [
    "Emulator", "EmulatorConfig", "FaultRates", "Outcome", "ResultBehaviour", "Urls",
    "config_from_dict", "config_from_file", "serve",
]


@dataclass(frozen=True)
class Urls:
    """Where each emulated service answers."""

    clms: str
    token_uri: str
    fme: str
    ceda: str
    zenodo: str
    files: str
    mirror_404: str | None = None
    mirror_reset: str | None = None
    mirror_other: str | None = None


class Emulator:
    """The five emulated hosts, their shared state, and the handles tests use."""

    def __init__(self, config: EmulatorConfig | None = None, host: str = "127.0.0.1",
                 ports: dict[str, int] | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock = Clock(self.config.fake_clock, self.config.start_time)
        self.recorder = Recorder()
        self.faults = Faults(self.config.seed, self.config.faults)
        self._host = host
        self._ports = ports or {}
        self._servers: dict[str, HostServer] = {}
        self.catalogue = catalogue.build(self.config.catalogue_size)
        self.authority = TokenAuthority(self.clock, self.config.token_lifetime)
        self.tasks: TaskStore
        self.fme: FmeApp
        self.clms: ClmsApp
        self.post_faults: PostFaults
        self.ceda = CedaArchive(self.config.seed, self.config.ceda_file_size, self.clock.now)
        self.zenodo = ZenodoApp(self.config.seed, self.config.zenodo_file_size,
                                self.config.zenodo_rate_limit, self.clock.now,
                                self.config.zenodo_many_files,
                                self.config.zenodo_many_file_size)
        self.files = FilesApp(self.clock.now, self.config.files_password)
        self.urls: Urls

    def start(self) -> Emulator:
        """Bind every host and start serving."""
        fme = self._server("fme", lambda r: self.fme(r))
        self.tasks = TaskStore(self.config, self.clock, fme.base_url)
        self.fme = FmeApp(self.config, self.clock, self.tasks)
        self.clms = ClmsApp(self.config, self.catalogue, self.authority, self.tasks,
                            self.recorder, self.clock)
        self.post_faults = self.clms.post_faults
        clms = self._server("clms", self.clms, lambda r: control(self, r))
        ceda_app = CedaApp(self.ceda)
        hosts = {"ceda": self._server("ceda", ceda_app),
                 "zenodo": self._server("zenodo", self.zenodo),
                 "files": self._server("files", self.files)}
        extra: dict[str, str] = {}
        if self.config.mirrors:
            other = mirrors.OtherBytes([self.files, ceda_app, self.zenodo.route])
            apps: dict[str, App] = {"mirror_404": mirrors.not_found,
                                    "mirror_reset": mirrors.reset, "mirror_other": other}
            extra = {name: self._server(name, app).base_url for name, app in apps.items()}
        self.urls = Urls(
            clms=f"{clms.base_url}/api", token_uri=f"{clms.base_url}/api/@@oauth2-token",
            fme=fme.base_url, **{name: server.base_url for name, server in hosts.items()},
            **extra,
        )
        for server in self._servers.values():
            server.start()
        return self

    def _server(self, name: str, app: App, ctl: Any = None) -> HostServer:
        server = HostServer(name, app, self.faults, self.recorder, self.clock.now,
                            self._host, self._ports.get(name, 0), ctl)
        self._servers[name] = server
        return server

    def stop(self) -> None:
        """Stop every host (in parallel: each waits out one poll interval)."""
        stoppers = [threading.Thread(target=s.stop) for s in self._servers.values()]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        self._servers.clear()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def service_key(self, user_id: str = "n00015mf",
                    private_key: str | None = None) -> dict[str, Any]:
        """A new service key (§2.1) with a fresh 2048-bit RSA key, registered.

        ``private_key`` (PEM) reuses an existing RSA key instead of generating one.
        """
        return self.authority.create_key(user_id, self.urls.token_uri, private_pem=private_key)

    def revoke(self, client_id: str) -> None:
        """Revoke a service key and delete its tokens."""
        self.authority.revoke(client_id)

    @property
    def stats(self) -> dict[str, int]:
        """A copy of the counters, plus ``tasks``: the tasks that exist (children aside)."""
        with self.recorder.lock:
            counters = dict(self.recorder.counters)
        if hasattr(self, "tasks"):
            counters["tasks"] = sum(1 for t in self.tasks.all() if not t.child)
        return counters

    def requests_by_path(self, host: str | None = None) -> dict[str, int]:
        """How many logged requests each path got (on one host, or all)."""
        with self.recorder.lock:
            return dict(Counter(r.path for r in self.recorder.log
                                if host is None or r.host == host))

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log."""
        with self.recorder.lock:
            return list(self.recorder.log)

    def reset_stats(self) -> None:
        """Zero the counters and empty the request log."""
        self.recorder.reset()


def serve(config: EmulatorConfig, host: str = "127.0.0.1", ports: dict[str, int] | None = None,
          announce: Callable[[str], None] = print, key_path: str | Path | None = None,
          stop: threading.Event | None = None) -> None:
    """Run the emulator until SIGINT/SIGTERM (or ``stop`` is set), announcing its URLs.

    Args:
        config: the emulator's configuration.
        host: the address to bind (loopback by default).
        ports: fixed ports per host name (clms, fme, ceda, zenodo, files); 0 or absent
            for an ephemeral port.
        announce: where to print the URLs and notices.
        key_path: when given, a ready service key is written there (mode 0600).
        stop: an event that ends the run when set (for embedding and tests).
    """
    done = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
    with Emulator(config, host, ports) as emu:
        for name in ("clms", "token_uri", "fme", "ceda", "zenodo", "files", *mirrors.MIRRORS):
            if getattr(emu.urls, name) is not None:
                announce(f"{name}: {getattr(emu.urls, name)}")
        if key_path is not None:
            path = Path(key_path)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(emu.service_key(), handle, indent=2)
            announce(f"service key: {path}")
        announce("ready; Ctrl-C to stop")
        while not done.wait(0.2):
            time.sleep(0)
