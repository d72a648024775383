"""The emulator's configuration, its clock, and reading a configuration file."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fetcher.emulator import ceda, geotiff
from fetcher.emulator.bodies import check_size

HOSTS = ("clms", "fme", "ceda", "zenodo", "files", "mirror_404", "mirror_reset",
         "mirror_other")
FAULT_KINDS = (
    "error_500", "error_502", "error_503", "throttle", "drop", "truncate", "slow",
    "expire_token",
)


@dataclass
class FaultRates:
    """Probabilities (0..1, drawn from a seeded generator) of each fault on one host.

    ``throttle`` answers 429 with ``Retry-After`` (``retry_after`` seconds, or as an
    HTTP date when ``retry_after_http_date``); ``drop`` closes the connection without
    an answer; ``truncate`` sends fewer body bytes than ``Content-Length`` and closes;
    ``slow`` waits ``slow_seconds`` (real time) before answering; ``expire_token``
    answers a valid bearer token with the expired-token 401 (CLMS only).
    ``post_fault_after_create`` is the share of the 5xx and ``drop`` faults drawn for
    a CLMS ``@datarequest_post`` that strike after the request was processed (its
    tasks exist); the rest strike before, as every other fault does.
    """

    error_500: float = 0.0
    error_502: float = 0.0
    error_503: float = 0.0
    throttle: float = 0.0
    drop: float = 0.0
    truncate: float = 0.0
    slow: float = 0.0
    expire_token: float = 0.0
    retry_after: int = 1
    retry_after_http_date: bool = False
    slow_seconds: float = 0.3
    post_fault_after_create: float = 0.0

    def __post_init__(self) -> None:
        for name in (*FAULT_KINDS, "post_fault_after_create"):
            _share(name, getattr(self, name))


@dataclass
class Outcome:
    """How a task ends instead of Finished_ok: ``status`` is Finished_nok or Rejected."""

    status: Literal["Finished_nok", "Rejected"] = "Finished_nok"
    message: str = "Download process finished with errors"


RESULT_MIN_SIZE = 64 * 1024
POST_FAULT_MODES = ("before_500", "before_502", "before_503", "after_500", "after_502",
                    "after_503", "after_drop", "orphan")


@dataclass
class ResultBehaviour:
    """How the FME host serves the results of one dataset's tasks (``results``).

    ``size``: the result zip is exactly this many bytes (streamed; at least 64 KiB), or
    None for the natural small zip. ``first_byte_delay`` (at most 60) and
    ``chunk_delay`` (at most 10, between 64 KiB chunks): real seconds. For
    ``not_ready_seconds`` after FinalizationDateTime (None: ``forbid_after_finish``)
    the answer is ``not_ready_status`` (403 or 404). ``ttl`` (None: ``result_ttl``):
    seconds after FinalizationDateTime before the zip is gone (404).
    """

    size: int | None = None
    first_byte_delay: float = 0.0
    chunk_delay: float = 0.0
    not_ready_seconds: float | None = None
    not_ready_status: int = 403
    ttl: float | None = None

    def __post_init__(self) -> None:
        if self.size is not None:
            check_size("results.size", self.size, RESULT_MIN_SIZE)
        _bounded("first_byte_delay", self.first_byte_delay, 60.0)
        _bounded("chunk_delay", self.chunk_delay, 10.0)
        if self.not_ready_status not in (403, 404):
            raise ValueError(f"not_ready_status: expected 403 or 404, got "
                             f"{self.not_ready_status!r}")


@dataclass
class EmulatorConfig:
    """Everything that shapes one emulator run; every field has a faithful default."""

    seed: int = 0
    fake_clock: bool = False
    start_time: float | None = None
    token_lifetime: int = 3600
    queued_seconds: float = 30.0
    in_progress_seconds: float = 60.0
    schedule: dict[str, tuple[float, float]] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    failure_rate: float = 0.0
    rejection_rate: float = 0.0
    result_ttl: float = 72 * 3600.0
    forbid_after_finish: float = 0.0
    cdse_children: bool = False
    timestamp_style: Literal["aware", "naive"] = "aware"
    catalogue_size: int = 60
    fme_fails: bool = False
    zenodo_rate_limit: int = 133
    ceda_file_size: int = 300_000
    zenodo_file_size: int = 200_000
    faults: dict[str, FaultRates] = field(default_factory=dict)
    results: dict[str, ResultBehaviour] = field(default_factory=dict)
    post_faults: dict[str, float] = field(default_factory=dict)
    cdse_parent_delay: float = 5.0
    zenodo_many_files: int = 0
    zenodo_many_file_size: int = 2048
    files_password: str = "reader-password"  # noqa: S105 - a documented test password
    mirrors: bool = False

    def __post_init__(self) -> None:
        check_size("ceda_file_size", self.ceda_file_size, ceda.MIN_SIZE)
        check_size("zenodo_file_size", self.zenodo_file_size, geotiff.MIN_SIZE)
        check_size("zenodo_many_file_size", self.zenodo_many_file_size, geotiff.MIN_SIZE)
        if not 0 <= self.zenodo_many_files <= 10_000:
            raise ValueError(f"zenodo_many_files: expected 0 to 10000, got "
                             f"{self.zenodo_many_files!r}")
        unknown = sorted(set(self.post_faults) - set(POST_FAULT_MODES))
        if unknown:
            raise ValueError(f"post_faults: unknown mode(s) {', '.join(unknown)}; expected "
                             f"{', '.join(POST_FAULT_MODES)}")
        for mode, rate in self.post_faults.items():
            _share(f"post_faults.{mode}", rate)
        if sum(self.post_faults.values()) > 1:
            raise ValueError("post_faults: the rates add up to more than 1")
        _bounded("cdse_parent_delay", self.cdse_parent_delay, float("inf"))


def _share(name: str, value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"{name}: expected a share from 0 to 1, got {value!r}")


def _bounded(name: str, value: object, limit: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= limit:
        raise ValueError(f"{name}: expected 0 to {limit} seconds, got {value!r}")


def config_from_dict(data: dict[str, Any]) -> EmulatorConfig:
    """Build a config from plain data with the dataclass's field names.

    Raises:
        ValueError: an unknown field, or a value of the wrong shape.
    """
    known = {f.name for f in dataclasses.fields(EmulatorConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown emulator option(s): {', '.join(unknown)}")
    values = dict(data)
    try:
        if "faults" in values:
            values["faults"] = {h: FaultRates(**r) for h, r in values["faults"].items()}
        if "results" in values:
            values["results"] = {k: ResultBehaviour(**r) for k, r in values["results"].items()}
        if "outcomes" in values:
            values["outcomes"] = {k: Outcome(**o) for k, o in values["outcomes"].items()}
        if "schedule" in values:
            values["schedule"] = {k: (float(q), float(p))
                                  for k, (q, p) in values["schedule"].items()}
        return EmulatorConfig(**values)
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"bad emulator option: {exc}") from exc


def config_from_file(path: str | Path) -> EmulatorConfig:
    """Read an emulator config from a YAML or JSON file with the config's field names.

    Raises:
        ValueError: the file is not a mapping of known options.
        OSError: the file cannot be read.
    """
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".json"):
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of emulator options")
    return config_from_dict(data)


class Clock:
    """The emulator's notion of now: real time, or a fake clock tests advance."""

    def __init__(self, fake: bool, start: float | None = None) -> None:
        self.fake = fake
        self._lock = threading.Lock()
        self._offset = 0.0
        self._now = float(int(time.time())) if start is None else float(start)

    def now(self) -> float:
        """Seconds since the epoch, by this clock."""
        with self._lock:
            return (self._now if self.fake else time.time()) + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward (also works on a real clock, as an offset)."""
        with self._lock:
            if self.fake:
                self._now += seconds
            else:
                self._offset += seconds
        return self.now()
