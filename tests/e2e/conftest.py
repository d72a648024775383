"""End-to-end fixtures: the CLMS item kinds, and what the tests look at.

The workspace, the emulators and the checker are ``tests/support``'s: in-process syncs
run against an emulator with a fake clock and an ``Http`` whose sleep advances that
clock, so nothing really sleeps; subprocess syncs (the kill -9 tests) run
``python -m fetcher sync`` against an emulator with a real clock and a schedule of
fractions of a second.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.fixtures import emu, live_emu, live_ws, make_emulator, ws
from tests.support.specs import NUTS_SPEC, spec_text
from tests.support.workspace import Workspace

__all__ = ["emu", "live_emu", "live_ws", "make_emulator", "ws"]

# One spec per kind of CLMS item (clms-api.md §4.1, §6.1; the emulator's catalogue).
BBOX_SPEC = """\
  builtup-prd:
    source: clms
    uid: a8d945f0edd143a0a5240c28bafa23da
    layer: "Cover Fraction: Built-up "
    format: Geotiff
    regions: [prd]
"""
PREPACKAGED_SPEC = """\
  corine:
    source: clms
    uid: 0407d497d3c44bcd93ce8fd5bf78596a
    file: U2018_CLC2018_V2020_20u1.zip
"""
TIMESERIES_SPEC = """\
  water:
    source: clms
    uid: 7df9bdf94fe94cb5919c11c9ef5cac65
    format: Geotiff
    regions: [ITC11]
    time: {start: 2021-01-01, end: 2021-01-20}
"""
KINDS = {"nuts": NUTS_SPEC, "bbox": BBOX_SPEC, "prepackaged": PREPACKAGED_SPEC,
         "timeseries": TIMESERIES_SPEC}
LC100_UID = "a8d945f0edd143a0a5240c28bafa23da"


def kinds(*names: str) -> str:
    """A spec with one dataset of each named kind (nuts, bbox, prepackaged, timeseries)."""
    return spec_text(*(KINDS[k] for k in names))


def write_kinds(ws: Workspace, *names: str) -> Path:
    """Write a spec with one dataset of each named kind into the workspace."""
    return ws.write_spec(kinds(*names))

