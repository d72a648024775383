"""Fetch a 2 GiB file from the emulator's files host with fetcher and with curl.

Prints wall time, throughput and peak RSS of each client (each runs in its own
process, so the server's memory is not counted). Not part of the test run:

    PYTHONPATH=. /work/venv/bin/python bench/download_2gib.py [--size BYTES]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FETCHER_CLIENT = """
import sys
from pathlib import Path
from fetcher.transfer.download import fetch
from fetcher.transfer.http import Http
from fetcher.types import RemoteFile
url, target = sys.argv[1], Path(sys.argv[2])
http = Http()
local = fetch(http, RemoteFile(name=target.name, url=url), target)
http.close()
print(local.sha256)
"""


def measure(argv: list[str]) -> tuple[float, int, str]:
    """Run a client; return (wall seconds, its own peak RSS in KiB, its stdout)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(argv, stdout=out)
        # wait4 gives this child's own rusage, not the maximum over all children.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if child.returncode:
            raise SystemExit(f"{argv[0]} failed with exit code {child.returncode}")
        out.seek(0)
        return wall, usage.ru_maxrss, out.read().decode().strip()


def main() -> None:
    """Serve the file, fetch it twice, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2 << 30)
    size = parser.parse_args().size

    from fetcher.emulator.config import Clock
    from fetcher.emulator.faults import Faults, Recorder
    from fetcher.emulator.files import FilesApp
    from fetcher.emulator.server import HostServer

    server = HostServer("files", FilesApp(), Faults(0, {}), Recorder(), Clock(fake=False).now)
    server.start()
    url = f"{server.base_url}/random/{size}/big.bin?seed=1"
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        curl = shutil.which("curl")
        rows = []
        if curl:
            wall, rss, _ = measure([curl, "-sS", "-o", str(work / "curl.bin"), url])
            rows.append(("curl", wall, rss))
            (work / "curl.bin").unlink()
        wall, rss, sha = measure([sys.executable, "-c", FETCHER_CLIENT, url,
                                  str(work / "big.bin")])
        rows.append(("fetcher", wall, rss))
        mib = size / (1 << 20)
        print(f"file: {size} bytes ({mib:.0f} MiB) from {server.base_url}")
        for name, wall, rss in rows:
            print(f"{name:8s} wall {wall:7.2f} s  {mib / wall:7.1f} MiB/s  "
                  f"peak RSS {rss / 1024:6.1f} MiB")
        print(f"fetcher sha256 {sha} (computed while streaming; no md5 offered)")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
