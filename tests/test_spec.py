"""Specs: every mistake located and reported at once, items expanded, keys stable.

The broken-spec corpus lives in ``tests/specs_corpus/``: one small file (or one
folder, for cases across files) per mistake. ``EXPECTED`` below is its table of
the exact ``path:line:column: message`` lines each case must produce, paths
relative to the corpus.
"""

from __future__ import annotations

import copy
import random
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fetcher.errors import SpecError
from fetcher.spec import Specs, load_specs

CORPUS = Path(__file__).parent / "specs_corpus"
SPECS = Path(__file__).parent.parent / "specs"
CLMS_KEYS = ("source, uid, dataset, title, download, layer, format, crs, regions, time, file, "
             "extract, keep_archive")

EXPECTED: dict[str, list[str]] = {
    "malformed_yaml.yaml": [
        "malformed_yaml.yaml:6:10: malformed YAML: expected ',' or ']', but got ':'"],
    "date_invalid.yaml": [
        "date_invalid.yaml:7:19: malformed YAML: cannot read '2019-13-01' as a timestamp: "
        "month must be in 1..12"],
    "duplicate_yaml_key.yaml": [
        "duplicate_yaml_key.yaml:6:5: duplicate key 'record'; each key may appear once"],
    "top_level_list.yaml": [
        "top_level_list.yaml:1:1: expected a mapping with 'version' and 'datasets', "
        "found a list of 2"],
    "version_missing.yaml": ["version_missing.yaml:1:1: expected version: 1, found nothing"],
    "version_wrong.yaml": ["version_wrong.yaml:1:10: expected version: 1, found 2"],
    "unknown_top_key.yaml": [
        "unknown_top_key.yaml:1:1: expected a mapping of dataset names to datasets, "
        "found nothing",
        "unknown_top_key.yaml:2:1: unknown key 'dataset'; did you mean 'datasets'? "
        "expected one of version, regions, datasets"],
    "unknown_key.yaml": [
        f"unknown_key.yaml:6:5: unknown key 'fromat'; did you mean 'format'? "
        f"expected one of {CLMS_KEYS}"],
    "nested_unknown_key.yaml": [
        "nested_unknown_key.yaml:6:30: unknown key 'colection'; did you mean 'collection'? "
        "expected one of name, collection"],
    "wrong_type.yaml": ["wrong_type.yaml:6:12: files: expected a list, found 'gebco_2024.zip'"],
    "wrong_type_bool.yaml": [
        "wrong_type_bool.yaml:6:14: extract: expected true or false, found 'sometimes'"],
    "unknown_source.yaml": [
        "unknown_source.yaml:4:13: unknown source 'clsm'; did you mean 'clms'? "
        "expected one of clms, ceda, zenodo, http"],
    "missing_source.yaml": [
        "missing_source.yaml:4:5: missing key 'source'; expected one of clms, ceda, zenodo, http"],
    "unknown_region_code.yaml": [
        "unknown_region_code.yaml:6:19: unknown region 'ZZ9'; expected a NUTS or ISO country "
        "code, or a name under 'regions:'"],
    "unknown_region_did_you_mean.yaml": [
        "unknown_region_did_you_mean.yaml:9:15: unknown region 'pearl-river-delt'; "
        "did you mean 'pearl-river-delta'?"],
    "region_listed_twice.yaml": ["region_listed_twice.yaml:6:19: a region is listed twice"],
    "bbox_out_of_range.yaml": [
        "bbox_out_of_range.yaml:4:11: bbox: longitudes must lie in [-180, 180], "
        "found 170.0 and 190.0"],
    "bbox_lat_out_of_range.yaml": [
        "bbox_lat_out_of_range.yaml:4:11: bbox: latitudes must lie in [-90, 90], "
        "found 80.0 and 95.0"],
    "bbox_west_east.yaml": [
        "bbox_west_east.yaml:4:11: bbox: west (115.5) must be less than east (112.0); "
        "the order is [west, south, east, north]"],
    "bbox_three_numbers.yaml": [
        "bbox_three_numbers.yaml:4:11: bbox: expected exactly four numbers "
        "[west, south, east, north], found a list of 3"],
    "region_name_invalid.yaml": [
        "region_name_invalid.yaml:3:3: region name 'Pearl River' must match "
        "[a-z0-9][a-z0-9._-]*"],
    "region_too_large.yaml": [
        "region_too_large.yaml:9:15: region 'europe' is too large for the CLMS area limit: "
        "the server computes 4.3e+12 > 1600000000000; split it into smaller boxes"],
    "missing_ceda_path.yaml": ["missing_ceda_path.yaml:4:5: missing required key 'path'"],
    "missing_ceda_files.yaml": ["missing_ceda_files.yaml:4:5: missing required key 'files'"],
    "missing_zenodo_record.yaml": [
        "missing_zenodo_record.yaml:4:5: missing required key 'record'"],
    "missing_http_url.yaml": ["missing_http_url.yaml:4:5: missing required key 'url'"],
    "missing_clms_ref.yaml": [
        "missing_clms_ref.yaml:4:13: a clms dataset needs exactly one of uid, dataset or "
        "title, found none"],
    "clms_two_refs.yaml": [
        "clms_two_refs.yaml:6:14: a clms dataset needs exactly one of uid, dataset or title, "
        "found uid, dataset"],
    "clms_no_regions_nor_file.yaml": [
        "clms_no_regions_nor_file.yaml:4:13: a clms dataset needs 'regions' (NUTS codes or "
        "named boxes), or 'file' for a prepackaged file; the service does not cut whole "
        "datasets"],
    "clms_file_and_layer.yaml": [
        "clms_file_and_layer.yaml:7:12: 'file' asks for a prepackaged file; layer does not "
        "apply to it"],
    "unknown_format.yaml": [
        "unknown_format.yaml:6:13: unknown format 'jpeg'; expected one of Shapefile, GDB, GPKG, "
        "Geojson, Geotiff, Netcdf, GML, WFS"],
    "unsupported_crs.yaml": [
        "unsupported_crs.yaml:6:10: unsupported crs 'EPSG:27700'; expected one of EPSG:4326, "
        "EPSG:3035, EPSG:3857, EPSG:4258, EPSG:2740, EPSG:32620, EPSG:32622, "
        + ", ".join(f"EPSG:{c}" for c in range(32625, 32639)) + ", EPSG:32738, EPSG:32740"],
    "time_reversed.yaml": [
        "time_reversed.yaml:7:36: end: end (2019-01-01) is before start (2019-12-31)"],
    "uid_not_hex.yaml": [
        "uid_not_hex.yaml:5:10: uid: expected 32 hexadecimal digits (a catalogue UID), "
        "found 'a8d945f0-edd1-43a0'"],
    "http_no_file_name.yaml": [
        "http_no_file_name.yaml:5:10: expected a URL whose path ends in a file name, "
        "found 'https://example.org/'; give 'filename:'"],
    "sha256_not_hex.yaml": [
        "sha256_not_hex.yaml:6:13: sha256: expected 64 hexadecimal digits (a sha256), "
        "found 'not-a-hash'"],
    "zenodo_record_not_number.yaml": [
        "zenodo_record_not_number.yaml:5:13: record: expected a whole number, "
        "found 'lc100-record'"],
    "name_escapes.yaml": [
        "name_escapes.yaml:3:3: dataset name '../x' must match [a-z0-9][a-z0-9._-]* "
        "(it names a folder)"],
    "name_with_space.yaml": [
        "name_with_space.yaml:3:3: dataset name 'A b' must match [a-z0-9][a-z0-9._-]* "
        "(it names a folder)"],
    "name_read_as_number.yaml": [
        "name_read_as_number.yaml:3:3: expected a dataset name, found 2019 (YAML reads this "
        "key as a number or boolean; quote it)"],
    "duplicate_names": [
        "duplicate_names/b.yaml:7:3: duplicate dataset name 'lc100'; already defined at "
        "duplicate_names/a.yaml:3"],
    "several_errors.yaml": [
        "several_errors.yaml:4:11: bbox: west (115.5) must be less than east (112.0); "
        "the order is [west, south, east, north]",
        f"several_errors.yaml:9:5: unknown key 'fromat'; did you mean 'format'? "
        f"expected one of {CLMS_KEYS}",
        "several_errors.yaml:10:15: unknown region 'ZZ9'; expected a NUTS or ISO country "
        "code, or a name under 'regions:'",
        "several_errors.yaml:12:5: missing required key 'path'",
        "several_errors.yaml:17:13: sha256: expected 64 hexadecimal digits (a sha256), "
        "found 'not-a-hash'"],
    "two_files": [
        "two_files/a.yaml:5:13: record: expected a positive number, found 0",
        "two_files/b.yml:5:11: path: expected an absolute path starting with '/', "
        "found 'bodc/gebco'"],
}


def corpus_problems(case: str) -> list[str]:
    """The problem lines of one corpus case, with paths relative to the corpus."""
    with pytest.raises(SpecError) as info:
        load_specs([CORPUS / case])
    prefix = f"{CORPUS}/"
    return [str(p).removeprefix(prefix).replace(prefix, "") for p in info.value.problems]


# --- the broken-spec corpus ---------------------------------------------------


def test_every_corpus_case_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in CORPUS.iterdir())


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_corpus_case_is_reported_located(case: str) -> None:
    assert EXPECTED[case] == corpus_problems(case)


def test_spec_error_message_is_every_problem_line() -> None:
    with pytest.raises(SpecError) as info:
        load_specs([CORPUS / "several_errors.yaml"])
    assert [str(p) for p in info.value.problems] == info.value.message.splitlines()


def test_spec_error_exits_2() -> None:
    with pytest.raises(SpecError) as info:
        load_specs([CORPUS / "unknown_source.yaml"])
    assert 2 == info.value.exit_code


def test_every_file_of_a_folder_is_reported_together() -> None:
    with pytest.raises(SpecError) as info:
        load_specs([CORPUS / "two_files"])
    assert ["a.yaml", "b.yml"] == sorted({Path(p.path).name for p in info.value.problems})


def test_errors_of_files_named_one_by_one_are_all_reported() -> None:
    with pytest.raises(SpecError) as info:
        load_specs([CORPUS / "unknown_source.yaml", CORPUS / "version_wrong.yaml"])
    assert 2 == len(info.value.problems)


def test_missing_path_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_specs([tmp_path / "nowhere.yaml"])
    assert [f"{tmp_path}/nowhere.yaml:1:1: no such file or folder; expected a spec file or a "
            "folder of *.yaml files"] == [str(p) for p in info.value.problems]


def test_folder_without_specs_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_specs([tmp_path])
    assert [f"{tmp_path}:1:1: no *.yaml or *.yml spec files found"] == [
        str(p) for p in info.value.problems]


# --- valid specs ----------------------------------------------------------------


def test_example_specs_load() -> None:
    specs = load_specs([SPECS])
    assert ["builtup-2019", "gebco-2024", "lc100-discrete-2019"] == sorted(specs.datasets)


def test_example_specs_make_one_item_each() -> None:
    specs = load_specs([SPECS])
    assert ["builtup-2019/CN", "gebco-2024", "lc100-discrete-2019"] == [
        i.label for i in specs.items]


@pytest.mark.parametrize("name", ["clms-builtup-china.yaml", "gebco.yaml", "lc100-zenodo.yaml"])
def test_each_example_spec_loads_alone(name: str) -> None:
    assert 1 == len(load_specs([SPECS / name]).items)


UID = "a8d945f0edd143a0a5240c28bafa23da"
EXPANSION = f"""\
version: 1
regions:
  prd:
    bbox: [112.0, 21.5, 115.5, 24.0]
datasets:
  builtup:
    source: clms
    uid: {UID}
    regions: [cn, ITC11, prd]
  lc100:
    source: zenodo
    record: 3939050
"""


def load_text(tmp_path: Path, text: str, name: str = "spec.yaml") -> Specs:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_specs([path])


def test_clms_dataset_makes_one_item_per_region(tmp_path: Path) -> None:
    specs = load_text(tmp_path, EXPANSION)
    assert [("builtup", "CN"), ("builtup", "ITC11"), ("builtup", "prd"), ("lc100", None)] == [
        (i.dataset, i.region) for i in specs.items]


def test_item_labels_name_dataset_and_region(tmp_path: Path) -> None:
    specs = load_text(tmp_path, EXPANSION)
    assert ["builtup/CN", "builtup/ITC11", "builtup/prd", "lc100"] == [
        i.label for i in specs.items]


def test_item_folders_are_per_region_for_clms_only(tmp_path: Path) -> None:
    specs = load_text(tmp_path, EXPANSION)
    assert ["builtup/CN", "builtup/ITC11", "builtup/prd", "lc100"] == [
        i.folder for i in specs.items]


def test_items_of_one_dataset_have_distinct_keys(tmp_path: Path) -> None:
    specs = load_text(tmp_path, EXPANSION)
    assert 4 == len({i.key for i in specs.items})


def test_named_region_is_a_bbox_in_the_request(tmp_path: Path) -> None:
    specs = load_text(tmp_path, EXPANSION)
    assert {"bbox": [112.0, 21.5, 115.5, 24.0]} == specs.items[2].request["area"]


def test_nuts_region_is_upper_cased_in_the_request(tmp_path: Path) -> None:
    specs = load_text(tmp_path, EXPANSION)
    assert {"nuts": "CN"} == specs.items[0].request["area"]


def test_named_region_of_another_file_is_usable(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "version: 1\nregions:\n  prd:\n    bbox: [112, 21.5, 115.5, 24]\n"
        "datasets:\n  lc100:\n    source: zenodo\n    record: 1\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        f"version: 1\ndatasets:\n  builtup:\n    source: clms\n    uid: {UID}\n"
        "    regions: [prd]\n", encoding="utf-8")
    assert ["builtup/prd", "lc100"] == sorted(i.label for i in load_specs([tmp_path]).items)


# --- the key rules ----------------------------------------------------------------


def clms_doc(**changes: Any) -> dict[str, Any]:
    """A valid document with one CLMS dataset (one region) and the given fields changed."""
    dataset: dict[str, Any] = {
        "source": "clms",
        "dataset": "copernicus-global-land-service-land-cover-100m-collection-3-epoch-2019-globe",
        "download": {"name": "RASTER", "collection": "100m"},
        "layer": "Cover Fraction: Built-up ",
        "format": "Geotiff",
        "crs": "EPSG:4326",
        "regions": ["prd"],
        "time": {"start": date(2019, 1, 1), "end": date(2019, 12, 31)},
    }
    for field, value in changes.items():
        if value is None:
            dataset.pop(field, None)
        else:
            dataset[field] = value
    return {"version": 1, "regions": {"prd": {"bbox": [112.0, 21.5, 115.5, 24.0]}},
            "datasets": {"builtup": dataset}}


def keys_of(tmp_path: Path, doc: Mapping[str, Any] | str, name: str = "spec.yaml") -> list[str]:
    text = doc if isinstance(doc, str) else yaml.safe_dump(dict(doc), sort_keys=False)
    return [i.key for i in load_text(tmp_path, text, name).items]


def test_renaming_a_dataset_keeps_its_keys(tmp_path: Path) -> None:
    doc = clms_doc()
    renamed = copy.deepcopy(doc)
    renamed["datasets"] = {"builtup-renamed": renamed["datasets"].pop("builtup")}
    assert keys_of(tmp_path, doc) == keys_of(tmp_path, renamed, "renamed.yaml")


def test_renaming_a_named_region_keeps_its_keys(tmp_path: Path) -> None:
    doc = clms_doc()
    renamed = clms_doc(regions=["delta"])
    renamed["regions"] = {"delta": renamed["regions"].pop("prd")}
    assert keys_of(tmp_path, doc) == keys_of(tmp_path, renamed, "renamed.yaml")


@pytest.mark.parametrize("changes", [
    {"layer": "Cover Fraction: Crops "},
    {"format": "Netcdf"},
    {"crs": "EPSG:3035"},
    {"regions": ["CN"]},
    {"time": {"start": date(2019, 1, 1), "end": date(2019, 6, 30)}},
    {"time": None},
    {"download": {"name": "RASTER", "collection": "300m"}},
    {"download": None},
    {"dataset": None, "uid": UID},
], ids=lambda c: "+".join(c))
def test_changing_a_request_parameter_changes_the_key(tmp_path: Path,
                                                      changes: dict[str, Any]) -> None:
    assert keys_of(tmp_path, clms_doc()) != keys_of(tmp_path, clms_doc(**changes), "b.yaml")


def test_changing_the_bbox_changes_the_key(tmp_path: Path) -> None:
    moved = clms_doc()
    moved["regions"]["prd"]["bbox"] = [112.0, 21.5, 115.0, 24.0]
    assert keys_of(tmp_path, clms_doc()) != keys_of(tmp_path, moved, "b.yaml")


FILE_DOC = f"""\
version: 1
datasets:
  corine:
    source: clms
    uid: {UID}
    file: {{name}}
"""


def test_changing_the_prepackaged_file_changes_the_key(tmp_path: Path) -> None:
    assert keys_of(tmp_path, FILE_DOC.format(name="U2018_CLC2018_V2020_20u1.zip")) != keys_of(
        tmp_path, FILE_DOC.format(name="U2012_CLC2012_V2020_20u1.zip"), "b.yaml")


@pytest.mark.parametrize(("first", "second"), [
    ("{source: ceda, path: /a/b, files: [x.nc]}", "{source: ceda, path: /a/c, files: [x.nc]}"),
    ("{source: ceda, path: /a/b, files: [x.nc]}", "{source: ceda, path: /a/b, files: [y.nc]}"),
    ("{source: zenodo, record: 1}", "{source: zenodo, record: 2}"),
    ("{source: zenodo, record: 1}", "{source: zenodo, record: 1, files: [a.tif]}"),
    ("{source: http, url: 'https://e.org/a.tif'}", "{source: http, url: 'https://e.org/b.tif'}"),
    ("{source: http, url: 'https://e.org/a.tif'}",
     "{source: http, url: 'https://e.org/a.tif', sha256: " + "a" * 64 + "}"),
], ids=["ceda-path", "ceda-files", "zenodo-record", "zenodo-files", "http-url", "http-sha256"])
def test_changing_a_non_clms_parameter_changes_the_key(tmp_path: Path, first: str,
                                                       second: str) -> None:
    def doc(body: str) -> str:
        return f"version: 1\ndatasets:\n  d: {body}\n"

    assert keys_of(tmp_path, doc(first)) != keys_of(tmp_path, doc(second), "b.yaml")


@pytest.mark.parametrize(("first", "second"), [
    ({"regions": ["CN"]}, {"regions": ["cn"]}),
    ({"format": "Geotiff"}, {"format": "geotiff"}),
    ({"format": "Geotiff"}, {"format": "GeoTIFF"}),
    ({"crs": "EPSG:4326"}, {"crs": "epsg:4326"}),
    ({"crs": "EPSG:4326"}, {"crs": None}),
    ({"dataset": None, "uid": UID}, {"dataset": None, "uid": UID.upper()}),
    ({"extract": True}, {"extract": False}),
    ({"keep_archive": True}, {"keep_archive": False}),
], ids=["region-case", "format-case", "format-spelling", "crs-case", "crs-default", "uid-case",
        "extract", "keep_archive"])
def test_equivalent_spellings_keep_the_key(tmp_path: Path, first: dict[str, Any],
                                           second: dict[str, Any]) -> None:
    assert keys_of(tmp_path, clms_doc(**first)) == keys_of(tmp_path, clms_doc(**second), "b.yaml")


NUMBERS = f"""\
version: 1
regions:
  prd:
    bbox: [{{west}}, 21.5, 115.5, 24]
datasets:
  builtup:
    source: clms
    uid: {UID}
    regions: [prd]
"""


@pytest.mark.parametrize("west", ["112.0", "1.12e2", "1.12e+2", "+112", "112.000"])
def test_equal_numbers_keep_the_key(tmp_path: Path, west: str) -> None:
    assert keys_of(tmp_path, NUMBERS.format(west="112")) == keys_of(
        tmp_path, NUMBERS.format(west=west), "b.yaml")


def test_file_order_within_a_dataset_keeps_the_key(tmp_path: Path) -> None:
    def doc(files: str) -> str:
        return f"version: 1\ndatasets:\n  d: {{source: zenodo, record: 1, files: {files}}}\n"

    assert keys_of(tmp_path, doc("[a.tif, b.tif]")) == keys_of(tmp_path, doc("[b.tif, a.tif]"),
                                                               "b.yaml")


def test_http_file_name_does_not_change_the_key(tmp_path: Path) -> None:
    def doc(extra: str) -> str:
        return f"version: 1\ndatasets:\n  d: {{source: http, url: 'https://e.org/a.tif'{extra}}}\n"

    assert keys_of(tmp_path, doc("")) == keys_of(tmp_path, doc(", filename: b.tif"), "b.yaml")


# --- properties -------------------------------------------------------------------

BASE: dict[str, Any] = {
    "version": 1,
    "regions": {
        "prd": {"bbox": [112.0, 21.5, 115.5, 24.0]},
        "po-valley": {"bbox": [7.5, 44.5, 12.5, 45.75]},
    },
    "datasets": {
        "builtup-2019": {
            "source": "clms",
            "dataset": "copernicus-global-land-service-land-cover-100m-collection-3-epoch-2019",
            "download": {"name": "RASTER", "collection": "100m"},
            "layer": "Cover Fraction: Built-up ",
            "format": "Geotiff",
            "crs": "EPSG:4326",
            "regions": ["CN", "ITC11", "prd"],
            "time": {"start": date(2019, 1, 1), "end": date(2019, 12, 31)},
        },
        "corine-2018": {"source": "clms", "uid": "0407d497d3c44bcd93ce8fd5bf78596a",
                        "file": "U2018_CLC2018_V2020_20u1.zip", "keep_archive": True},
        "po-cover": {"source": "clms", "title": "Land Cover 100m: collection 3: epoch 2019: Globe",
                     "regions": ["po-valley"], "format": "Netcdf", "crs": "EPSG:3035"},
        "gebco-2024": {"source": "ceda", "extract": True,
                       "path": "/bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf",
                       "files": ["gebco_2024*.zip", "README.txt"]},
        "lc100": {"source": "zenodo", "record": 3939050,
                  "files": ["PROBAV_LC100_global_v3.0.1_2019-nrt_Discrete-Classification-map.tif"]},
        "any-file": {"source": "http", "url": "https://example.org/some/raster.tif",
                     "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
    },
}


def labelled_keys(specs: Specs) -> dict[str, str]:
    return {item.label: item.key for item in specs.items}


def keys_of_files(files: Mapping[str, str]) -> dict[str, str]:
    """Write the texts into a fresh folder and load it (hypothesis cannot share tmp_path)."""
    with tempfile.TemporaryDirectory() as folder:
        for name, text in files.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        return labelled_keys(load_specs([Path(folder)]))


BASELINE = keys_of_files({"spec.yaml": yaml.safe_dump(BASE, sort_keys=False)})


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same value with every mapping's keys in a random order (lists keep theirs)."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: shuffled(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


def dumper(quote: str | None) -> type[yaml.SafeDumper]:
    """A SafeDumper that writes every string in the given quoting style."""

    class Quoting(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=quote)

    Quoting.add_representer(str, represent_str)
    return Quoting


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.randoms(use_true_random=False))
def test_keys_do_not_change_when_mapping_keys_are_reordered(rng: random.Random) -> None:
    text = yaml.safe_dump(shuffled(BASE, rng), sort_keys=False)
    assert BASELINE == keys_of_files({"spec.yaml": text})


@SETTINGS
@given(flow=st.sampled_from([True, False, None]), indent=st.integers(2, 9),
       width=st.sampled_from([20, 80, 4096]), quote=st.sampled_from([None, "'", '"']),
       explicit=st.booleans(), canonical=st.booleans())
def test_keys_do_not_change_when_the_yaml_is_reformatted(flow: bool | None, indent: int,
                                                         width: int, quote: str | None,
                                                         explicit: bool, canonical: bool) -> None:
    text = yaml.dump(BASE, Dumper=dumper(quote), default_flow_style=flow, indent=indent,
                     width=width, explicit_start=explicit, explicit_end=explicit,
                     canonical=canonical, sort_keys=False)
    assert BASELINE == keys_of_files({"spec.yaml": text})


@SETTINGS
@given(st.randoms(use_true_random=False), st.integers(1, 4))
def test_keys_do_not_change_when_datasets_move_across_files(rng: random.Random,
                                                            count: int) -> None:
    names = list(BASE["datasets"])
    rng.shuffle(names)
    files: list[dict[str, Any]] = [{"version": 1, "datasets": {}} for _ in range(count)]
    for index, name in enumerate(names):
        target = files[index % count]
        target["datasets"][name] = BASE["datasets"][name]
    files[rng.randrange(count)]["regions"] = BASE["regions"]
    suffixes = [rng.choice([".yaml", ".yml"]) for _ in files]
    texts = {f"{rng.getrandbits(32):08x}-{i}{suffixes[i]}": yaml.safe_dump(doc, sort_keys=False)
             for i, doc in enumerate(files)}
    assert BASELINE == keys_of_files(texts)


@SETTINGS
@given(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True))
def test_keys_do_not_change_when_a_dataset_is_renamed(name: str) -> None:
    doc = copy.deepcopy(BASE)
    doc["datasets"] = {(name if k == "lc100" and name not in BASE["datasets"] else k): v
                       for k, v in doc["datasets"].items()}
    keys = keys_of_files({"spec.yaml": yaml.safe_dump(doc, sort_keys=False)})
    assert sorted(BASELINE.values()) == sorted(keys.values())
