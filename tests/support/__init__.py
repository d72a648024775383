"""One set of test fixtures for every suite that touches the ledger.

- ``library``: the few fetcher names these modules use (one place to follow a rename).
- ``ledgers``: where a test's ledger lives: an SQLite file, or with
  ``--ledger-on-postgres`` a PostgreSQL schema of its own; made, copied, emptied, dropped.
- ``keys``: the session's one RSA key, written as a service key an emulator knows.
- ``emulators``: emulators with a fake or a real clock and the suites' defaults.
- ``workspace``: a temporary project (specs, data, ledger, key), synced in-process or
  through the CLI as a child process.
- ``consistency``: do the ledger and the data folder agree, file for file and byte for byte?
- ``specs``: spec text the suites share.
- ``fixtures``: pytest fixtures built from the above, for a suite's conftest to import.
- ``plugin``: the ``--ledger-on-postgres`` option and the ledgers' teardown (tests/conftest.py).
"""
