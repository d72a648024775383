"""``fetcher doctor``: is everything in place to sync, without requesting any data?

Each check gives one line: ok or the problem and what to do. The CLMS checks run
only when the key file exists or a spec asks for CLMS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fetcher.config import Settings
from fetcher.errors import FetcherError
from fetcher.transfer.http import Http


@dataclass(frozen=True)
class Check:
    """One check's verdict."""

    name: str
    ok: bool
    detail: str


def doctor(settings: Settings | None = None, *, http: Http | None = None,
           clms: bool = True) -> list[Check]:
    """Run every check; never raises for a failed check."""
    settings = settings or Settings.from_env()
    http = http or Http()
    checks: list[Check] = [_run("ledger", lambda: _ledger(settings))]
    if clms:
        checks.append(_run("clms key", lambda: _key(settings)))
        if checks[-1].ok:
            checks.append(_run("clms token", lambda: _token(settings, http)))
        checks.append(_run("clms api", lambda: _reach(
            http, f"{settings.clms_url}/@search?portal_type=DataSet&b_size=1")))
    checks.append(_run("ceda", lambda: _reach(http, f"{settings.ceda_url}/")))
    checks.append(_run("zenodo", lambda: _reach(http, f"{settings.zenodo_url}/api/records/")))
    return checks


def _run(name: str, check: Callable[[], str]) -> Check:
    try:
        return Check(name, True, check())
    except FetcherError as exc:
        return Check(name, False, exc.message + (f" ({exc.hint})" if exc.hint else ""))


def _ledger(settings: Settings) -> str:
    from fetcher.ledger import Ledger
    from fetcher.ledger.db import current_revision, redact

    with Ledger.open(settings.db) as ledger:
        return f"{redact(ledger.url)} at schema {current_revision(ledger.engine)}"


def _key(settings: Settings) -> str:
    from fetcher.sources.clms.auth import load_service_key

    warnings: list[str] = []
    key = load_service_key(settings.clms_key, warn=warnings.append)
    return f"{settings.clms_key}: client {key.client_id}" + (
        f"; warning: {warnings[0]}" if warnings else "")


def _token(settings: Settings, http: Http) -> str:
    from fetcher.sources.clms.auth import TokenCache, load_service_key

    key = load_service_key(settings.clms_key)
    TokenCache(key, now=http.now).token(http)
    return f"token issued by {key.token_uri}"


def _reach(http: Http, url: str) -> str:
    response = http.request("GET", url, headers={"Accept": "application/json"}, stream=True)
    status = response.status_code
    response.close()
    if status >= 500:
        from fetcher.errors import RemoteError

        raise RemoteError(f"{url} answered HTTP {status}", url=url, status=status)
    return f"reachable (HTTP {status})"
