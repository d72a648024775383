"""Settings: where the ledger, the data and the services are.

Each setting comes from a command-line option, else from its environment
variable, else from its default (DESIGN.md, "Environment").
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULTS = {
    "FETCHER_DB": ".fetcher/ledger.db",
    "FETCHER_DATA_DIR": "data",
    "FETCHER_CLMS_KEY": "~/.config/fetcher/clms-service-key.json",
    "FETCHER_CLMS_URL": "https://land.copernicus.eu/api",
    "FETCHER_CEDA_URL": "https://dap.ceda.ac.uk",
    "FETCHER_ZENODO_URL": "https://zenodo.org",
    "FETCHER_POLL_INTERVAL": "5",
    "FETCHER_LEASE_SECONDS": "60",
    "FETCHER_CLMS_STALE_AFTER": "24",
}


@dataclass(frozen=True)
class Settings:
    """Where things are; built once per command."""

    db: str
    data_dir: Path
    clms_key: Path
    clms_url: str
    ceda_url: str
    zenodo_url: str
    poll_interval: float = 5.0
    location: str | None = None
    lease_seconds: float = 60.0
    clms_stale_after: float = 24 * 3600.0
    """Seconds (``FETCHER_CLMS_STALE_AFTER`` is in hours) before an unfinished task is stale."""

    def site(self, shared: bool) -> str:
        """The name under which this data folder's files are recorded in the ledger.

        ``FETCHER_LOCATION`` when set (give machines that mount one shared data folder
        the same name, so it is downloaded once); for a ledger shared between machines,
        the host name and the data folder's absolute path; for a ledger of one machine,
        "" (one data folder per ledger, as before locations existed).
        """
        if self.location:
            return self.location
        if not shared:
            return ""
        return f"{socket.gethostname()}:{self.data_dir.expanduser().resolve()}"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from the environment, with non-None ``overrides`` winning."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str:
            return env.get(name) or DEFAULTS[name]

        settings = cls(
            db=get("FETCHER_DB"),
            data_dir=Path(get("FETCHER_DATA_DIR")),
            clms_key=Path(get("FETCHER_CLMS_KEY")).expanduser(),
            clms_url=get("FETCHER_CLMS_URL").rstrip("/"),
            ceda_url=get("FETCHER_CEDA_URL").rstrip("/"),
            zenodo_url=get("FETCHER_ZENODO_URL").rstrip("/"),
            poll_interval=_seconds(get("FETCHER_POLL_INTERVAL"), "FETCHER_POLL_INTERVAL"),
            location=env.get("FETCHER_LOCATION") or None,
            lease_seconds=_seconds(get("FETCHER_LEASE_SECONDS"), "FETCHER_LEASE_SECONDS"),
            clms_stale_after=3600 * _number(get("FETCHER_CLMS_STALE_AFTER"),
                                            "FETCHER_CLMS_STALE_AFTER", "hours", 24 * 365),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        if "data_dir" in given:
            given["data_dir"] = Path(str(given["data_dir"]))
        return replace(settings, **given)  # type: ignore[arg-type]


def _seconds(value: str, name: str) -> float:
    return _number(value, name, "seconds", 3600)


def _number(value: str, name: str, unit: str, most: float) -> float:
    from fetcher.errors import UsageError

    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number <= most:
        raise UsageError(f"{name}={value!r}: expected {unit} between 0 and {most:g}")
    return number
