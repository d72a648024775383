"""Shared pieces of the benchmark cases: results, timing, emulator and spec set-up."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
WORK_ROOT = Path(os.environ.get("FETCHER_BENCH_TMP", "/work"))

LC100_ID = "copernicus-global-land-service-land-cover-100m-collection-3-epoch-2019-globe"
LC100_LAYER = "Cover Fraction: Built-up "
# Two-letter prefixes the server's NUTS check accepts; codes are prefix + digits.
COUNTRIES = ("DE", "FR", "IT", "ES", "PL", "NL", "BE", "AT", "CZ", "SE", "DK", "FI", "PT",
             "IE", "HU", "RO", "BG", "EL", "HR", "SK", "SI", "LT", "LV", "EE", "CN")


@dataclass
class Row:
    """One figure of one case: fetcher's value, the baseline's, their ratio, the target."""

    case: str
    figure: str
    value: float
    unit: str
    target: str
    passed: bool
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)
    notes: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain data for the results file."""
        return dict(self.__dict__)


def median(values: list[float]) -> float:
    """The median (of one value: that value)."""
    return float(statistics.median(values))


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call (perf_counter) and its result."""
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def nuts_codes(count: int) -> list[str]:
    """``count`` distinct codes the NUTS rule accepts: DE1, FR1, ..., DE2, ..."""
    return [f"{COUNTRIES[i % len(COUNTRIES)]}{i // len(COUNTRIES) + 1}" for i in range(count)]


def clms_spec(name: str, regions: list[str]) -> dict[str, Any]:
    """One LC100 dataset over ``regions``, as the example spec requests it."""
    return {"source": "clms", "dataset": LC100_ID,
            "download": {"name": "RASTER", "collection": "100m"}, "layer": LC100_LAYER,
            "format": "Geotiff", "crs": "EPSG:4326", "regions": regions}


def write_spec(folder: Path, datasets: dict[str, Any], name: str = "bench.yaml") -> Path:
    """Write one spec file into ``folder``, in block style as people write specs."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump({"version": 1, "datasets": datasets}, sort_keys=False,
                                   allow_unicode=True), encoding="utf-8")
    return folder


def fix_emulator_nagle() -> None:
    """Set TCP_NODELAY on the emulator's sockets, as production HTTP servers do.

    The emulator's handler writes the headers and the body of an answer in two
    sends; with Nagle's algorithm on, the body waits for the client's delayed ACK
    of the headers, about 40 ms per request on Linux. That is the emulator's
    latency, not the client's, and it would swamp every request-bound figure
    (reported to the emulator's owners). ``FETCHER_BENCH_NAGLE=1`` keeps the
    emulator as shipped, to measure the difference.
    """
    if os.environ.get("FETCHER_BENCH_NAGLE") == "1":
        return
    from fetcher.emulator import server

    server._Handler.disable_nagle_algorithm = True


@contextmanager
def emulator(**config: Any) -> Iterator[Any]:
    """A running emulator (seed 0 unless given) with these ``EmulatorConfig`` fields."""
    from fetcher.emulator import Emulator, EmulatorConfig

    fix_emulator_nagle()
    with Emulator(EmulatorConfig(**{"seed": 0, **config})) as emu:
        yield emu


def service_key(emu: Any, folder: Path) -> tuple[Path, dict[str, Any]]:
    """Register a service key with the emulator and write it as a 0600 file."""
    key = emu.service_key()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "clms-service-key.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(key, handle)
    return path, key


def settings_for(emu: Any, folder: Path, key_path: Path | None = None, **overrides: Any) -> Any:
    """Settings pointing every service at the emulator, ledger and data under ``folder``."""
    from fetcher.config import Settings

    return Settings.from_env(
        {}, db=str(folder / "ledger.db"), data_dir=folder / "data",
        clms_key=key_path or folder / "clms-service-key.json", clms_url=emu.urls.clms,
        ceda_url=emu.urls.ceda, zenodo_url=emu.urls.zenodo, **overrides)


def fake_time_http(emu: Any) -> Any:
    """An Http whose sleep advances the emulator's fake clock instead of waiting."""
    from fetcher.transfer.http import Http

    return Http(sleep=emu.clock.advance, now=emu.clock.now)


def clms_requests(emu: Any, since: int = 0) -> list[Any]:
    """The CLMS host's logged requests after the first ``since``."""
    return [r for r in emu.requests[since:] if r.host == "clms"]


def fmt(value: float | None, unit: str = "") -> str:
    """A figure for the table: 3 significant digits, with its unit."""
    if value is None:
        return "-"
    if value == int(value) and abs(value) >= 1:
        text = f"{int(value)}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()
