"""check() refuses what the emulated server refuses, with the server's own words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fetcher.emulator import Emulator, EmulatorConfig
from fetcher.emulator.catalogue import CORINE_UID, LC100_UID, WATER_BODIES_UID
from fetcher.errors import ApiError
from fetcher.sources.clms.auth import load_service_key
from fetcher.sources.clms.client import ClmsClient, RequestRejected
from fetcher.transfer.http import Http

from .conftest import clms_request

SOIL_MOISTURE = {"dataset": "daily-surface-soil-moisture-v1.0"}
JANUARY = {"start": "2020-01-01", "end": "2020-01-31"}
CORINE_RASTER = {"name": "RASTER", "collection": "100m"}

REFUSED = [
    clms_request({"uid": LC100_UID}, area={"nuts": "it"}),
    clms_request({"uid": LC100_UID}, area={"bbox": [-10, 35, 30, 70]}),
    clms_request({"uid": LC100_UID}, crs="EPSG:32632"),
    clms_request({"uid": LC100_UID}, format="GPKG"),
    clms_request({"uid": LC100_UID}, layer="Cover Fraction: Built-up"),
    clms_request({"uid": LC100_UID}, time=JANUARY),
    clms_request(SOIL_MOISTURE),
    clms_request(SOIL_MOISTURE, time={"start": "2020-01-01", "end": "2020-02-01"}),
    clms_request(SOIL_MOISTURE, area=None, time=JANUARY),
    clms_request({"uid": WATER_BODIES_UID}, format="Netcdf", time=JANUARY),
    clms_request({"uid": CORINE_UID}, download=CORINE_RASTER, area=None),
    clms_request({"uid": LC100_UID}, area=None),
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClmsClient]:
    """One emulator for every refusal: a refused POST leaves no state behind."""
    with Emulator(EmulatorConfig(seed=0, fake_clock=True)) as emu:
        path: Path = tmp_path_factory.mktemp("key") / "key.json"
        path.write_text(json.dumps(emu.service_key()))
        path.chmod(0o600)
        key = load_service_key(path)
        yield ClmsClient(Http(sleep=lambda _: None), emu.urls.clms, key, now=emu.clock.now)


def server_refusal(client: ClmsClient, request: dict[str, Any]) -> str:
    """What the emulated server answers when the request is really posted."""
    resolution = client.resolve(request)
    with pytest.raises(ApiError) as caught:
        client.submit(client.post_item(request, resolution))
    return caught.value.server_message


@pytest.mark.parametrize("request_", REFUSED)
def test_check_refuses_with_the_servers_message(shared: ClmsClient,
                                                request_: dict[str, Any]) -> None:
    resolution = shared.resolve(request_)
    with pytest.raises(RequestRejected) as caught:
        shared.check(request_, resolution)

    assert server_refusal(shared, request_) == caught.value.server_message


@pytest.mark.parametrize("request_", [
    clms_request({"uid": LC100_UID}, layer="Cover Fraction: Built-up ",
                 area={"bbox": [112.0, 21.5, 115.5, 24.0]}),
    clms_request(SOIL_MOISTURE, time=JANUARY),
    clms_request({"uid": CORINE_UID}, download=CORINE_RASTER, crs="EPSG:3035",
                 area={"nuts": "ES51"}),
])
def test_what_check_accepts_the_server_accepts(client: ClmsClient,
                                               request_: dict[str, Any]) -> None:
    resolution = client.resolve(request_)
    client.check(request_, resolution)

    assert client.submit(client.post_item(request_, resolution)).isdigit()
