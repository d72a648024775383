"""The bad mirrors: one answers 404, one resets connections, one serves other bytes."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from fetcher.emulator import Emulator, EmulatorConfig
from fetcher.emulator.ceda import GEBCO

FILE = "/random/5000/a.bin?seed=3"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(catalogue_size=0, mirrors=True)) as emulator:
        yield emulator


def get(url: str) -> requests.Response:
    with requests.get(url, timeout=5) as answer:
        answer.content  # noqa: B018 - read before closing
        return answer


def test_mirrors_are_off_by_default() -> None:
    with Emulator(EmulatorConfig(catalogue_size=0)) as emu:
        assert (None, None, None) == (emu.urls.mirror_404, emu.urls.mirror_reset,
                                      emu.urls.mirror_other)


def test_the_404_mirror(emu: Emulator) -> None:
    assert 404 == get(f"{emu.urls.mirror_404}{FILE}").status_code


def test_the_reset_mirror_resets(emu: Emulator) -> None:
    host, port = str(emu.urls.mirror_reset).removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /random/10/a HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)
    with pytest.raises(requests.ConnectionError):
        get(f"{emu.urls.mirror_reset}{FILE}")


@pytest.mark.parametrize("path", [FILE, f"{GEBCO}/gebco_2024.zip",
                                  "/records/3939050/files/PROBAV_LC100_global_v3.0.1_2019-nrt_"
                                  "Discrete-Classification-map_EPSG-4326.tif"])
def test_the_other_mirror_serves_other_bytes_of_the_same_shape(emu: Emulator, path: str) -> None:
    original = get(f"{emu.urls.files}{path}" if path.startswith("/random") else
                   f"{emu.urls.ceda}{path}" if path.startswith(GEBCO) else
                   f"{emu.urls.zenodo}{path}")
    copy = get(f"{emu.urls.mirror_other}{path}")
    assert (200, len(original.content), original.content[:16]) == (
        copy.status_code, len(copy.content), copy.content[:16])
    assert original.content != copy.content
    assert original.headers["ETag"] != copy.headers["ETag"]
    assert 404 == get(f"{emu.urls.mirror_other}/nothing/here").status_code
