"""Disk full mid-download: a clear error, the ledger unchanged, and a resume once space is free.

The data folder is a 2 MiB tmpfs (mounting needs root; skipped otherwise), the file
3 MB; after the failure the tmpfs is grown and the next sync resumes with Range.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import HTTP_SPEC, spec_text
from tests.reliability.figures import tally
from tests.support import consistency
from tests.support.workspace import Workspace

MOUNT = shutil.which("mount") or "/bin/mount"
UMOUNT = shutil.which("umount") or "/bin/umount"


@pytest.fixture
def small_data(ws: Workspace) -> Iterator[Path]:
    ws.data.mkdir()
    mounted = subprocess.run([MOUNT, "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(ws.data)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield ws.data
    finally:
        subprocess.run([UMOUNT, "-l", str(ws.data)], capture_output=True, check=False)


def grow(data: Path) -> None:
    subprocess.run([MOUNT, "-o", "remount,size=16m", str(data)], check=True)


def test_a_full_disk_gives_a_clear_error_and_records_nothing(
        ws: Workspace, small_data: Path) -> None:
    ws.write_spec(spec_text(ws.emu, HTTP_SPEC))
    run = ws.cli()
    tally(trials=1, faults_injected=1)
    assert (True, False, {}) == ("No space left on device" in run.stderr,
                                 "Traceback" in run.stderr, consistency.recorded_files(ws))


def test_a_full_disk_exits_1_not_2(ws: Workspace, small_data: Path) -> None:
    ws.write_spec(spec_text(ws.emu, HTTP_SPEC))
    assert 1 == ws.cli().code


def test_a_sync_after_space_is_freed_resumes_and_completes(
        ws: Workspace, small_data: Path) -> None:
    ws.write_spec(spec_text(ws.emu, HTTP_SPEC))
    ws.cli()
    grow(small_data)
    ws.emu.reset_stats()
    run = ws.cli()
    ranged = [r.range for r in ws.emu.requests if r.host == "files" and r.method == "GET"]
    tally(trials=1)
    assert (0, [], True) == (run.code, consistency.check(ws).problems,
                             bool(ranged) and all(r is not None for r in ranged))
