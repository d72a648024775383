"""``--offline``: sync, plan, status and verify touch no network; the refusal happens at
the HTTP seam before any socket is opened, and a sync that needs the network exits 1
naming the items."""

from __future__ import annotations

import pytest

from tests.ops.conftest import MIXED, ZENODO_FILE, fetcher
from tests.support.workspace import Workspace


def test_offline_sync_of_unsynced_specs_exits_1(ws: Workspace, no_connect, inproc) -> None:
    ws.write_spec(MIXED)
    assert 1 == inproc(ws, "sync", "--offline", str(ws.specs)).code


def test_offline_sync_names_the_items_that_need_the_network(ws: Workspace, no_connect,
                                                            inproc) -> None:
    ws.write_spec(MIXED)
    done = inproc(ws, "sync", "--offline", str(ws.specs))
    assert ["error: --offline: 3 item(s) need the network: builtup/ITC11 (resolve), "
            "lc100 (resolve), gebco (resolve)",
            "hint: run the sync without --offline"] == done.err.splitlines()


def test_offline_sync_opens_no_socket(ws: Workspace, no_connect, inproc) -> None:
    ws.write_spec(MIXED)
    inproc(ws, "sync", "--offline", str(ws.specs))
    assert ([], []) == (no_connect, ws.emu.requests)


def test_offline_sync_of_complete_data_exits_0(synced: Workspace, no_connect,
                                               inproc) -> None:
    done = inproc(synced, "sync", "--offline", "--json", str(synced.specs))
    assert (0, []) == (done.code, no_connect)


def test_offline_sync_names_only_the_item_whose_file_is_gone(synced: Workspace, no_connect,
                                                            inproc) -> None:
    (synced.data / ZENODO_FILE).unlink()
    done = inproc(synced, "sync", "--offline", str(synced.specs))
    assert (1, "error: --offline: 1 item(s) need the network: lc100 (download)", []) == (
        done.code, done.err.splitlines()[0], no_connect)


@pytest.mark.parametrize("command", ["plan", "status", "verify"])
def test_offline_read_commands_open_no_socket(synced: Workspace, no_connect, inproc,
                                              command: str) -> None:
    done = inproc(synced, command, "--offline", str(synced.specs))
    assert (0, []) == (done.code, no_connect)


def test_offline_sync_in_a_real_process_sends_no_request(ws: Workspace) -> None:
    ws.write_spec(MIXED)
    done = fetcher(ws, "sync", "--offline", str(ws.specs))
    assert (1, "error: --offline: 3 item(s) need the network", []) == (
        done.code, done.err.splitlines()[0].split(": builtup")[0], ws.emu.requests)
