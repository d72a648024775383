"""kill -9 at every phase of a sync, then a rerun: never a second POST, never a partial file.

Each test runs ``python -m fetcher sync`` with FETCHER_FAILPOINT set, so the process
SIGKILLs itself at that place, then runs it again without; the emulator has a real
clock and a schedule of a few tenths of a second.
"""

from __future__ import annotations

import signal

import pytest

from tests.e2e.conftest import Workspace, disk_problems, posts

KILLED = -signal.SIGKILL


def kill_then_rerun(ws: Workspace, failpoint: str) -> tuple[int, int]:
    first = ws.cli("--quiet", failpoint=failpoint)
    second = ws.cli("--quiet")
    assert "" == second.stderr.strip() or second.returncode == 0, second.stderr
    return first.returncode, second.returncode


@pytest.mark.parametrize("failpoint", ["after-intent", "after-post", "after-download",
                                       "after-extract"])
def test_kill_at_a_phase_then_rerun_posts_once_and_leaves_only_recorded_files(
        live_ws: Workspace, failpoint: str) -> None:
    live_ws.write_kinds("nuts", "prepackaged")
    codes = kill_then_rerun(live_ws, failpoint)
    assert ((KILLED, 0), 2, []) == (codes, posts(live_ws.emu), disk_problems(live_ws))


def test_kill_mid_download_leaves_only_a_part_file(live_ws: Workspace) -> None:
    url = f"{live_ws.emu.urls.files}/random/3000000/big.bin?seed=7"
    live_ws.write_spec(f"version: 1\ndatasets:\n  big:\n    source: http\n    url: {url}\n")
    first = live_ws.cli("--quiet", failpoint="mid-download")
    files = sorted(p.name for p in live_ws.data.rglob("*") if p.is_file())
    assert (KILLED, True, []) == (first.returncode, "big.bin.part" in files,
                                  [f for f in files if ".part" not in f])


def test_kill_mid_download_of_a_large_file_then_rerun_resumes(live_ws: Workspace) -> None:
    url = f"{live_ws.emu.urls.files}/random/3000000/big.bin?seed=7"
    live_ws.write_spec(f"version: 1\ndatasets:\n  big:\n    source: http\n    url: {url}\n")
    codes = kill_then_rerun(live_ws, "mid-download")
    ranges = [r.range for r in live_ws.emu.requests if r.host == "files" and r.method == "GET"]
    assert ((KILLED, 0), [], 2, True) == (codes, disk_problems(live_ws), len(ranges),
                                          ranges[-1] is not None)


def test_kill_mid_download_of_a_ceda_file_then_rerun_verifies_it(
        tmp_path, make_emulator) -> None:
    from tests.e2e.conftest import make_workspace

    emu = make_emulator(fake_clock=False, ceda_file_size=3_000_000)
    ws = make_workspace(tmp_path, emu)
    ws.write_spec("""\
        version: 1
        datasets:
          gebco:
            source: ceda
            path: /bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf
            files: ["gebco_2024*.zip"]
        """)
    codes = kill_then_rerun(ws, "mid-download")
    assert ((KILLED, 0), []) == (codes, disk_problems(ws))
