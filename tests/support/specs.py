"""Spec text more than one suite uses: the region ``prd``, a CLMS NUTS item, GEBCO."""

from __future__ import annotations

REGIONS = """\
regions:
  prd:
    bbox: [112.0, 21.5, 115.5, 24.0]
"""
NUTS_SPEC = """\
  builtup:
    source: clms
    dataset: copernicus-global-land-service-land-cover-100m-collection-3-epoch-2019-globe
    download: {name: RASTER, collection: 100m}
    layer: "Cover Fraction: Built-up "
    format: Geotiff
    crs: EPSG:4326
    regions: [ITC11]
"""
GEBCO_SPEC = """\
  gebco:
    source: ceda
    path: /bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf
    files: ["gebco_2024*.zip"]
"""
GEBCO_EXTRACTED_SPEC = GEBCO_SPEC + "    extract: true\n"


def spec_text(*datasets: str) -> str:
    """A whole spec file holding these dataset blocks (and the named region ``prd``)."""
    return "version: 1\n" + REGIONS + "datasets:\n" + "".join(datasets)
