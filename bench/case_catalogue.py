"""Catalogue resolution in a 200-dataset catalogue: requests per dataset.

fetcher resolves each dataset of a spec with the client the reconciler uses
(``ClmsClient.resolve``: one direct ``@search`` by UID, id or title). The baseline
walks ``@search`` page by page (Plone's default batch of 25, following
``batching.next``) until the dataset turns up, as the seed scripts do. Datasets
are spread over the whole catalogue, named by id, uid and title in turn.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import requests

from bench import baseline_script
from bench.common import WORK_ROOT, Row, emulator, median, timed, write_spec

NAME = "catalogue"
CATALOGUE_SIZE = 200


def run(quick: bool, repeats: int) -> list[Row]:
    """Resolve a spread of datasets both ways; count the catalogue requests."""
    from fetcher.sources.clms.client import ClmsClient
    from fetcher.spec import load_specs
    from fetcher.transfer.http import Http

    sample = 10 if quick else 40
    folder = Path(tempfile.mkdtemp(prefix="bench-catalogue-", dir=WORK_ROOT))
    try:
        with emulator(catalogue_size=CATALOGUE_SIZE) as emu:
            fillers = [d for d in emu.catalogue if "_type" not in d][-CATALOGUE_SIZE:]
            step = max(1, len(fillers) // sample)
            chosen = fillers[step - 1::step][:sample]
            datasets = {}
            for n, d in enumerate(chosen):
                ref = ({"dataset": d["id"]}, {"uid": d["UID"]}, {"title": d["title"]})[n % 3]
                datasets[f"d{n}"] = {"source": "clms", **ref, "format": "Geotiff",
                                     "crs": "EPSG:3035", "regions": ["DE1"]}
            items = load_specs([write_spec(folder / "specs", datasets)]).items
            http = Http()
            client = ClmsClient(http, emu.urls.clms, None, now=http.now)
            ours, our_walls = [], []
            for _ in range(repeats):
                emu.reset_stats()
                wall, found = timed(lambda: [client.resolve(i.request) for i in items])
                assert [r.uid for r in found] == [d["UID"] for d in chosen]
                our_walls.append(wall)
                ours.append(emu.stats["searches"] + _object_gets(emu))
            theirs, their_walls = [], []
            for _ in range(repeats):
                emu.reset_stats()
                session = requests.Session()
                run = baseline_script.Run()
                wall, _ = timed(lambda session=session, run=run: [baseline_script.scan_for(
                    session, emu.urls.clms, d["id"], run) for d in chosen])
                their_walls.append(wall)
                theirs.append(emu.stats["searches"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    per = median(ours) / len(chosen)
    base = median(theirs) / len(chosen)
    return [Row(NAME, f"catalogue resolution, {len(chosen)} of {CATALOGUE_SIZE}+ datasets: "
                "requests per dataset", per, "req", "1", per <= 1.0, baseline=base,
                baseline_name="page-by-page scan", ratio=per / base,
                samples=[o / len(chosen) for o in ours],
                baseline_samples=[t / len(chosen) for t in theirs],
                notes=f"wall {median(our_walls):.3f} s vs {median(their_walls):.3f} s; "
                      "the baseline stops at the page holding the dataset")]


def _object_gets(emu: object) -> int:
    """Catalogue object GETs (``/api/en/...``), which the search counter does not count."""
    return sum(1 for r in emu.requests  # type: ignore[attr-defined]
               if r.host == "clms" and r.path.startswith("/api/en/"))
