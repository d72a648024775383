"""The library's operations, as functions returning plain data: the layer under the CLI.

    sync         load the specs, reconcile them against the ledger
    status       plan, status, verify, lock, the files of an item; no network
    maintenance  gc and cancel
    doctor       is everything in place to sync
    demo         the whole job against the bundled emulator
    common       opening the ledger the settings name

A Snakemake rule or a notebook calls them through ``import fetcher``.
"""
