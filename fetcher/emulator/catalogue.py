"""The emulated CLMS catalogue: the real datasets the examples use, edge cases, fillers.

Each dataset is a plain dict of its content fields (``eea/clms.types`` DataSet schema)
plus ``_path`` (its path under the portal, ``/en/products/<product>/<id>``). Filler
datasets are generated deterministically so that ``@search`` needs several pages.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

Dataset = dict[str, Any]

LC100_UID = "a8d945f0edd143a0a5240c28bafa23da"
LC100_INFO_ID = "f328dbcc-9069-4240-b8bb-6d5df918671a"
CORINE_UID = "0407d497d3c44bcd93ce8fd5bf78596a"
CORINE_FILE_ID = "3d9e2413-46ca-4f6e-abf8-b6eb429a4e48"
CORINE_FILE = "U2018_CLC2018_V2020_20u1.zip"
WATER_BODIES_UID = "7df9bdf94fe94cb5919c11c9ef5cac65"
CDSE_PATH = ("/en/products/vegetation-phenology-and-productivity/"
             "seasonal-trajectories-2017-present-raster-10-m-europe-10-daily")
CDSE_UID = hashlib.md5(CDSE_PATH.encode(), usedforsecurity=False).hexdigest()
CDSE_INFO_ID = "5b1c9e7a-3f0d-4c2e-9a41-cd5e0a7b2f10"
CDSE_BYOC = "8e3a1f62-5d4b-4c7e-b0a9-2f6d1c3e4b57"

LC100_LAYERS = [
    "Bare / Sparse Vegetation Cover Fraction",
    "Change Confidence",
    "Cover Fraction: Built-up ",
    "Cover Fraction: Cropland",
    "Cover Fraction: Herbaceous Vegetation",
    "Cover Fraction: Moss & Lichen",
    "Cover Fraction: Permanent Water",
    "Cover Fraction: Seasonal Water",
    "Cover Fraction: Shrubland",
    "Cover Fraction: Snow & Ice",
    "Cover Fraction: Tree",
    "Data Density Indicator",
    "Discrete Classification",
    "Discrete Classification Probability",
    "Forest Type",
]


def uid(name: str) -> str:
    """A stable 32-hex UID for a made-up dataset."""
    return hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()


def uuid_of(name: str) -> str:
    """A stable UUID-shaped id for a download-information or file item."""
    h = uid(name)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def info(name: str, collection: str, full_format: Any, path: str, source: str,
         layers: list[str] | None = None, wekeo: str = "") -> dict[str, Any]:
    """One ``dataset_download_information`` item."""
    return {
        "@id": uuid_of(f"info:{name}:{collection}:{path}"), "byoc_collection": "",
        "collection": collection, "full_format": full_format, "full_path": path,
        "full_source": source, "layers": layers or [], "name": name,
        "wekeo_choices": wekeo,
    }


def dataset(path: str, title: str, *, uid_: str | None = None, items: list[dict[str, Any]],
            files: list[dict[str, Any]] | None = None, projection: str = "EPSG:3035",
            temporal_limit: int | None = None, timeseries: bool = False,
            structure: str = "Full dataset", geonetwork: tuple[str, str] | None = None,
            description: str = "", created: str = "2021-06-01T10:00:00+00:00") -> Dataset:
    """One DataSet with its download fields and sensible defaults."""
    return {
        "_path": path, "UID": uid_ or uid(path), "id": path.rsplit("/", 1)[1],
        "title": title, "description": description, "created": created,
        "modified": created, "review_state": "published",
        "dataset_download_information": {"items": items},
        "downloadable_files": {"items": files or []},
        "download_limit_temporal_extent": temporal_limit,
        "mapviewer_istimeseries": timeseries,
        "download_show_auxiliary_calendar": timeseries,
        "characteristics_projection": projection,
        "characteristics_file_structure": structure,
        "geonetwork_identifiers": {"items": [
            {"type": geonetwork[0], "id": geonetwork[1]}] if geonetwork else []},
        "downloadable_dataset": bool(items or files),
        "downloadable_full_dataset": bool(files),
        "mapviewer_service_id": None,
        "dataset_full_format": None,
    }


def prepackaged(file: str, path: str, source: str, fmt: str, *, item_id: str | None = None,
                **extra: str) -> dict[str, Any]:
    """One ``downloadable_files`` item."""
    base = {"area": "", "format": fmt, "path": path, "resolution": "", "size": "",
            "source": source, "title": "", "type": "", "version": "", "year": "",
            "file": file}
    base.update(extra)
    base["@id"] = item_id or uuid_of(f"file:{file}:{path}")
    return base


def core_datasets() -> list[Dataset]:
    """The datasets examples, docs and edge-case tests name."""
    corine_path = "H:\\Corine_Land_Cover\\CLC2018\\"
    return [
        dataset(
            "/en/products/global-dynamic-land-cover/"
            "copernicus-global-land-service-land-cover-100m-collection-3-epoch-2019-globe",
            "Land Cover 100m: collection 3: epoch 2019: Globe", uid_=LC100_UID,
            projection="EPSG:4326", geonetwork=("VITO", "urn:cgls:global:lcc100_v3_100m"),
            structure="Tiled dataset", created="2021-03-10T09:00:00+00:00",
            items=[{**info("RASTER", "100m", "Geotiff", "v3.0.1/2019", "LANDCOVER",
                           LC100_LAYERS), "@id": LC100_INFO_ID}],
        ),
        dataset(
            "/en/products/corine-land-cover/clc2018",
            "CORINE Land Cover 2018 (vector/raster 100 m), Europe, 6-yearly", uid_=CORINE_UID,
            geonetwork=("EEA", "71c95a07-e296-44fc-b22b-415f42acfdf0"),
            created="2021-02-01T09:00:00+00:00",
            items=[
                info("RASTER", "100m", "Geotiff",
                     corine_path + "U2018_CLC2018_V2020_20u1.tif", "EEA"),
                info("VECTOR", "", {"title": "GPKG", "token": "GPKG"},
                     corine_path + "U2018_CLC2018_V2020_20u1.gpkg", "EEA"),
            ],
            files=[
                prepackaged(CORINE_FILE, corine_path + CORINE_FILE, "EEA", "Geotiff",
                            item_id=CORINE_FILE_ID, area="Europe", resolution="100 m",
                            size="238 MB", type="Raster", version="V2020_20u1", year="2018"),
                prepackaged("U2018_CLC2018_V2020_20u1.gpkg.zip",
                            corine_path + "U2018_CLC2018_V2020_20u1.gpkg.zip", "EEA", "GPKG",
                            area="Europe", size="1.9 GB", type="Vector", year="2018"),
                prepackaged("", "", "", "", item_id="27e4e333-149c-49c4-a11e-96a1d0d1b6ff"),
            ],
        ),
        dataset(
            "/en/products/soil-moisture/daily-surface-soil-moisture-v1.0",
            "Surface Soil Moisture 2014-present (raster 1 km), Europe, daily - version 1",
            projection="EPSG:4326", temporal_limit=31, timeseries=True,
            geonetwork=("VITO", "urn:cgls:europe:ssm_v1_1km"),
            items=[info("RASTER", "1km", "Netcdf",
                        "EO:CLMS:DAT:CLMS_GLOBAL_SSM_1KM_V1_DAILY_NETCDF", "WEKEO",
                        wekeo='{"datasetId": "EO:CLMS:DAT:CLMS_GLOBAL_SSM_1KM_V1_DAILY_NETCDF"}')],
        ),
        dataset(
            "/en/products/water-bodies/water-bodies-global-v1-0-100m",
            "Water Bodies 2020-present (raster 100 m), global, monthly - version 1",
            uid_=WATER_BODIES_UID, projection="EPSG:4326", temporal_limit=31, timeseries=True,
            items=[info("RASTER", "100m", "Netcdf", "water_bodies/v1/100m", "VITO_geotiff")],
        ),
        dataset(
            "/en/products/high-resolution-layer-imperviousness/imperviousness-density-2018",
            "Imperviousness Density 2018 (raster 10 m and 100 m), Europe, 3-yearly",
            structure="Tiled dataset", geonetwork=("EEA", "3bf542bd-eebd-4d73-b53c-a0243f2ed862"),
            items=[info("RASTER ", "20m", "Geotiff",
                        "H:\\High_Resolution_Layers\\Imperviousness\\2018\\"
                        "IMD_2018_020m_eu_03035_V2_0.tif", "EEA")],
        ),
        dataset(
            "/en/products/urban-atlas/urban-atlas-2018",
            "Urban Atlas Land Cover/Land Use 2018 (vector), Europe, 6-yearly",
            items=[info("VECTOR", "", "GPKG", "H:\\Urban_Atlas\\UA2018\\UA_2018_3035.gpkg",
                        "EEA")],
        ),
        dataset(
            "/en/products/coastal-zones/coastal-zones-2018-outermost-regions",
            "Coastal Zones 2018 (vector), Outermost Regions, 6-yearly",
            projection="EPSG:3035/EPSG:32620/EPSG:32622/EPSG:32740/EPSG:2975",
            items=[info("VECTOR", "", "Shapefile", "H:\\Coastal_Zones\\CZ2018_OR.shp", "EEA")],
        ),
        dataset(
            CDSE_PATH,
            "Seasonal Trajectories 2017-present (raster 10 m), Europe, 10-daily",
            uid_=CDSE_UID, temporal_limit=366,
            geonetwork=("EEA", "2d8c5a4e-0f1b-4e6a-9c3d-7b5e1f0a2c48"),
            items=[{**info("RASTER", "10m", "Geotiff", "", "CDSE"), "@id": CDSE_INFO_ID,
                    "byoc_collection": CDSE_BYOC}],
        ),
        dataset(
            "/en/products/european-ground-motion-service/egms-basic",
            "European Ground Motion Service: Basic 2019-2023 (vector), Europe, yearly",
            items=[],
        ),
    ]


_FAMILIES = [
    ("high-resolution-layer-grassland", "Grassland {y} (raster 10 m), Europe, yearly"),
    ("high-resolution-layer-tree-cover-density", "Tree Cover Density {y} (raster 10 m), Europe"),
    ("high-resolution-layer-water-and-wetness", "Water and Wetness {y} (raster 10 m), Europe"),
    ("high-resolution-layer-small-woody-features", "Small Woody Features {y} (vector), Europe"),
    ("riparian-zones", "Riparian Zones Land Cover/Land Use {y} (vector), Europe"),
    ("natura-2000", "Natura 2000 Land Cover/Land Use {y} (vector), Europe"),
    ("street-tree-layer", "Street Tree Layer {y} (vector), Europe"),
    ("normalised-difference-vegetation-index", "NDVI {y} (raster 300 m), global, 10-daily"),
]


def filler_datasets(count: int) -> list[Dataset]:
    """``count`` further datasets, EEA rasters and vectors, distinct and stable."""
    fillers: list[Dataset] = []
    for n in range(count):
        product, pattern = _FAMILIES[n % len(_FAMILIES)]
        year = 2006 + (n // len(_FAMILIES)) * 3 + n % 3
        title = pattern.format(y=year) + (f" - version {n // 24 + 1}" if n >= 24 else "")
        vector = "vector" in title
        short = f"{product.split('-', 3)[-1]}-{year}-v{n // 24 + 1}-{n}"
        path = f"/en/products/{product}/{short}"
        fillers.append(dataset(
            path, title, created=f"20{10 + n % 14:02d}-0{1 + n % 9}-15T08:00:00+00:00",
            items=[info("VECTOR" if vector else "RASTER", "" if vector else "10m",
                        "GPKG" if vector else "Geotiff",
                        f"H:\\{product}\\{year}\\{short}." + ("gpkg" if vector else "tif"),
                        "EEA")],
            files=[prepackaged(f"{short}.zip", f"H:\\{product}\\{short}.zip", "EEA",
                               "GPKG" if vector else "Geotiff", year=str(year))],
        ))
    return fillers


def products(datasets: list[Dataset]) -> list[Dataset]:
    """The Product folders above the datasets (``@type`` Product), for unfiltered search."""
    seen: dict[str, Dataset] = {}
    for ds in datasets:
        folder = ds["_path"].rsplit("/", 1)[0]
        if folder not in seen:
            name = folder.rsplit("/", 1)[1]
            seen[folder] = {
                "_path": folder, "_type": "Product", "UID": uid(folder), "id": name,
                "title": name.replace("-", " ").capitalize(), "description": "",
                "created": "2021-01-01T00:00:00+00:00",
                "modified": "2021-01-01T00:00:00+00:00", "review_state": "published",
            }
    return list(seen.values())


def build(filler_count: int) -> list[Dataset]:
    """The whole catalogue: core datasets, fillers, and their Product folders."""
    datasets = core_datasets() + filler_datasets(filler_count)
    return datasets + products(datasets)


def plone_date(when: float | str) -> str:
    """A date as plone.restapi serialises ``created``/``modified``: ISO with ``+00:00``."""
    if isinstance(when, str):
        return when
    return datetime.fromtimestamp(when, timezone.utc).isoformat(timespec="seconds")


def rotate_file_ids(dataset: Dataset) -> dict[str, str]:
    """Replace every ``downloadable_files`` ``@id`` of a dataset by a new stable one."""
    rotations = int(dataset.get("_rotations", 0)) + 1
    items = []
    changed: dict[str, str] = {}
    for item in dataset["downloadable_files"]["items"]:
        new_id = uuid_of(f"{item['@id']}:rotation:{rotations}")
        changed[item["@id"]] = new_id
        items.append({**item, "@id": new_id})
    dataset["_rotations"] = rotations
    dataset["downloadable_files"] = {"items": items}
    return changed
