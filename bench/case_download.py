"""2 GiB download on loopback: fetcher wall / curl wall, peak RSS, and pooch.retrieve.

Each client runs in its own process (its peak RSS from ``wait4``, so the server's
memory is not counted) against the emulator's files host, in turn, each repeat.
fetcher hashes (sha256) while streaming; pooch hashes after; curl does not hash.
pooch runs once per run (it is context, and slow); curl and fetcher ``repeats`` times.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from bench.common import WORK_ROOT, Row, fix_emulator_nagle, median
from bench.download_2gib import FETCHER_CLIENT
from bench.download_2gib import measure as measure_wait4

NAME = "download"
TIME = shutil.which("time", path="/usr/bin:/bin")


def measure(argv: list[str], work: Path) -> tuple[float, int, str]:
    """(wall, peak RSS in KiB, stdout) of a client.

    ``wait4`` alone over-reports: a child forked from this (large) process counts
    its pre-exec copy of our pages. ``/usr/bin/time`` forks the client from a
    small process, so its ``%M`` is the client's own peak.
    """
    if TIME is None:
        return measure_wait4(argv)
    report = work / "rss.txt"
    wall, _, out = measure_wait4([TIME, "-f", "%M", "-o", str(report), *argv])
    return wall, int(report.read_text().split()[-1]), out
POOCH_CLIENT = """
import sys
from pathlib import Path
import pooch
pooch.get_logger().setLevel("WARNING")
url, target = sys.argv[1], Path(sys.argv[2])
print(pooch.retrieve(url, known_hash=None, fname=target.name, path=target.parent,
                     progressbar=False))
"""


def run(quick: bool, repeats: int) -> list[Row]:
    """Fetch the same file with curl, fetcher and pooch, ``repeats`` times each."""
    from fetcher.emulator.config import Clock
    from fetcher.emulator.faults import Faults, Recorder
    from fetcher.emulator.files import FilesApp
    from fetcher.emulator.server import HostServer

    size = (256 if quick else 2048) << 20
    curl = shutil.which("curl")
    if curl is None:
        raise SystemExit("download: curl is not installed (apt-get install curl)")
    try:
        import pooch  # noqa: F401
        has_pooch = True
    except ImportError:
        has_pooch = False
    fix_emulator_nagle()
    server = HostServer("files", FilesApp(), Faults(0, {}), Recorder(), Clock(fake=False).now)
    server.start()
    url = f"{server.base_url}/random/{size}/big.bin?seed=1"
    work = Path(tempfile.mkdtemp(prefix="bench-download-", dir=WORK_ROOT))
    clients = {
        "curl": [curl, "-sS", "-o", str(work / "curl" / "big.bin"), "--create-dirs", url],
        "fetcher": [sys.executable, "-c", FETCHER_CLIENT, url, str(work / "fetcher" / "big.bin")],
    }
    if has_pooch:
        clients["pooch"] = [sys.executable, "-c", POOCH_CLIENT, url,
                            str(work / "pooch" / "big.bin")]
    walls: dict[str, list[float]] = {name: [] for name in clients}
    rss: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for n in range(repeats):
            for name, argv in clients.items():
                if name == "pooch" and n:
                    continue  # context only, and slow: once is enough
                (work / name).mkdir(exist_ok=True)
                wall, peak_kib, _ = measure(argv, work)
                walls[name].append(wall)
                rss[name].append(peak_kib / 1024)
                shutil.rmtree(work / name)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    mib = size >> 20
    ours, base = median(walls["fetcher"]), median(walls["curl"])
    speed = f"fetcher {mib / ours:.0f} MiB/s, curl {mib / base:.0f} MiB/s"
    rows = [
        Row(NAME, f"{mib} MiB download: wall vs curl", ours, "s", "ratio <= 1.15",
            ours / base <= 1.15, baseline=base, baseline_name="curl", ratio=ours / base,
            samples=walls["fetcher"], baseline_samples=walls["curl"], notes=speed),
        Row(NAME, f"{mib} MiB download: peak RSS", median(rss["fetcher"]), "MiB", "< 100 MB",
            median(rss["fetcher"]) * 1.048576 < 100, baseline=median(rss["curl"]),
            baseline_name="curl", ratio=median(rss["fetcher"]) / median(rss["curl"]),
            samples=rss["fetcher"], baseline_samples=rss["curl"]),
    ]
    if has_pooch:
        theirs = median(walls["pooch"])
        rows.append(Row(
            NAME, f"{mib} MiB download: wall vs pooch.retrieve", ours, "s", "(context)",
            True, baseline=theirs, baseline_name="pooch", ratio=ours / theirs,
            samples=walls["fetcher"], baseline_samples=walls["pooch"],
            notes=f"pooch peak RSS {median(rss['pooch']):.0f} MiB, "
                  f"{mib / theirs:.0f} MiB/s"))
    return rows
