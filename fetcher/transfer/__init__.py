"""Moving bytes: the HTTP client, the resumable download, files on disk, archives.

The layer every source stands on, and the only place that imports ``requests``:

    urls       which URLs may be called; URLs made fit for messages
    retry      one retry policy: attempts, back-off with jitter, deadlines
    http       ``Http``: sessions, timeouts, retries, rate limits, ``--offline``; JSON bodies
    magic      what a file's first bytes must be
    files      hashes, ``.part`` files, atomic placement with fsync, what is on disk
    archives   safe extraction of zip and tar archives, nested zips included
    download   one file: stream, resume, verify, place
    gates      how many downloads may run against one host at once

Nothing here knows of sources, specs or the ledger.
"""
