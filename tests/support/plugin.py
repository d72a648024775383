"""The pytest side of tests/support: ``--ledger-on-postgres``, and the ledgers' teardown.

With ``--ledger-on-postgres`` every ledger a test makes through ``tests.support.ledgers``
(the workspaces', ``Settings(db=...)``, ``Ledger.open``, the CLI children's
``FETCHER_DB``) is a schema of its own on the server ``FETCHER_TEST_PG``; fetcher sees
nothing but a PostgreSQL URL. Tests marked ``sqlite_only`` are skipped on that pass.
The schemas a test made are dropped when it ends; those of longer-lived fixtures, at
the end of the run. The reliability figures are summed over pytest-xdist's workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import ledgers

SQLITE_ONLY = "inspects the SQLite file itself; this pass runs on PostgreSQL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--ledger-on-postgres", action="store_true",
        help="run every test's ledger on the PostgreSQL server of FETCHER_TEST_PG (default "
             f"{ledgers.DEFAULT_SERVER}), one schema per ledger")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--ledger-on-postgres"):
        return
    made = ledgers.use_postgres(ledgers.server())
    try:
        made.check()
    except Exception as exc:  # any reason the server is unusable ends the run here
        raise pytest.UsageError(
            f"--ledger-on-postgres: no usable PostgreSQL at {ledgers.server()} "
            f"(set FETCHER_TEST_PG): {exc}") from exc


def pytest_unconfigure(config: pytest.Config) -> None:
    ledgers.current().close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, skip what only an SQLite ledger has (the marker's reason)."""
    if not config.getoption("--ledger-on-postgres"):
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker:
            item.add_marker(pytest.mark.skip(reason=marker.kwargs.get("reason", SQLITE_ONLY)))


@pytest.fixture(autouse=True)
def _drop_the_tests_ledgers() -> Iterator[None]:
    """Drop the schemas made while the test ran (wider fixtures made theirs before)."""
    mark = ledgers.current().mark()
    yield
    ledgers.current().drop_since(mark)


# --- the reliability figures, printed at the end of the run -------------------------
# Under pytest-xdist each worker counts its own; the workers hand theirs to the
# controller, which prints the sum.


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand this worker's figures to the controller."""
    from tests.reliability.figures import FIGURES

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["reliability_figures"] = dict(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: add a finished worker's figures to the run's."""
    from tests.reliability.figures import tally

    figures = getattr(node, "workeroutput", {}).get("reliability_figures", {})
    tally(**{name.replace(" ", "_"): value for name, value in figures.items()})


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the reliability figures when any reliability test ran."""
    from tests.reliability.figures import FIGURES

    if any(FIGURES.values()):
        line = ", ".join(f"{name}: {value}" for name, value in FIGURES.items())
        terminalreporter.write_line(f"reliability figures: {line}")
