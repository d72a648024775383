"""Specs: load YAML files, validate them, and expand datasets x regions into items.

Every problem is located (``file:line:column``) and every problem of every file is
reported at once, as one ``SpecError``; nothing is requested or written before the
specs are valid. The schema is in ``models``, items and their keys in ``items``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from fetcher.errors import SpecError, SpecProblem
from fetcher.secrets import redact
from fetcher.sources.clms import rules as clms_rules
from fetcher.spec import yamlpos
from fetcher.spec.items import expand
from fetcher.spec.models import MODELS, NAME, SOURCES, TOP_KEYS, DatasetSpec, RegionDef
from fetcher.types import Item

__all__ = ["Specs", "load_specs", "spec_files"]

MAX_SPEC_BYTES = 16 << 20  # a registry of 10,000 items takes about 1 MiB


class Specs:
    """Validated specs: datasets by name, the named regions, and the items they make."""

    def __init__(self, datasets: dict[str, tuple[DatasetSpec, str]],
                 regions: dict[str, RegionDef], paths: list[Path]) -> None:
        self.datasets = datasets
        self.regions = regions
        self.paths = paths
        self.items: list[Item] = [
            item for name, (model, origin) in datasets.items()
            for item in expand(name, model, regions, origin)
        ]

    @property
    def folder(self) -> Path:
        """Where ``fetcher.lock`` goes: the specs folder, or a single file's folder."""
        first = self.paths[0] if self.paths else Path("specs")
        return first if first.is_dir() else first.parent


def spec_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named by ``paths`` (folders are read one level deep)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir()
                                if p.suffix in (".yaml", ".yml") and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise SpecError([SpecProblem(str(path), 1, 1,
                                         "no such file or folder; expected a spec file or a "
                                         "folder of *.yaml files")])
    return files


def load_specs(paths: Sequence[Path | str]) -> Specs:
    """Load and validate spec files or folders.

    Raises:
        SpecError: with every problem of every file, located.
    """
    roots = [Path(p) for p in paths]
    files = spec_files(roots)
    problems: list[SpecProblem] = []
    datasets: dict[str, tuple[DatasetSpec, str]] = {}
    regions: dict[str, tuple[RegionDef, str]] = {}
    pending_refs: list[tuple[str, list[str], _Located]] = []
    if not files:
        problems.append(SpecProblem(str(roots[0] if roots else "specs"), 1, 1,
                                    "no *.yaml or *.yml spec files found"))
    for path in files:
        _load_file(path, problems, datasets, regions, pending_refs)
    named = {name: region for name, (region, _) in regions.items()}
    for name, refs, where in pending_refs:
        seen: set[str] = set()
        for index, ref in enumerate(refs):
            label = ref if ref in named else ref.upper()  # as expand() labels it
            problem = ("a region is listed twice" if label in seen
                       else _region_problem(ref, named))
            seen.add(label)
            if problem:
                problems.append(where.problem(("datasets", name, "regions", index), problem))
    if problems:
        raise SpecError(problems)
    return Specs(datasets, named, roots)


class _Located:
    """One file's positions, to turn a path inside it into a SpecProblem."""

    def __init__(self, path: Path, located: yamlpos.Located) -> None:
        self.path = str(path)
        self.located = located

    def problem(self, at: yamlpos.Path, message: str, *, key: bool = False) -> SpecProblem:
        line, column = self.located.where(at, key=key)
        return SpecProblem(self.path, line, column, message)


def _load_file(path: Path, problems: list[SpecProblem],
               datasets: dict[str, tuple[DatasetSpec, str]],
               regions: dict[str, tuple[RegionDef, str]],
               pending_refs: list[tuple[str, list[str], _Located]]) -> None:
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            problems.append(SpecProblem(str(path), 1, 1, f"the file holds {size} bytes; a spec "
                                        f"may hold at most {MAX_SPEC_BYTES}: split it"))
            return
        located = yamlpos.load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = getattr(exc, "problem", None) or "not valid YAML"
        problems.append(SpecProblem(str(path), line, column, f"malformed YAML: {reason}"))
        return
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(SpecProblem(str(path), 1, 1, f"cannot read the file: {exc}"))
        return
    where = _Located(path, located)
    for at, line, column in located.duplicates:
        problems.append(SpecProblem(str(path), line, column,
                                    f"duplicate key '{at[-1]}'; each key may appear once"))
    doc = located.data
    if not isinstance(doc, dict):
        problems.append(where.problem((), "expected a mapping with 'version' and 'datasets', "
                                          f"found {_kind(doc)}"))
        return
    _check_keys(doc, TOP_KEYS, (), where, problems)
    if doc.get("version") != 1:
        found = "nothing" if "version" not in doc else repr(doc.get("version"))
        problems.append(where.problem(("version",), f"expected version: 1, found {found}"))
    _load_regions(doc.get("regions"), where, problems, regions)
    raw = doc.get("datasets")
    if not isinstance(raw, dict) or not raw:
        problems.append(where.problem(("datasets",), "expected a mapping of dataset names to "
                                                     f"datasets, found {_kind(raw)}"))
        return
    for name, body in raw.items():
        _load_dataset(name, body, where, problems, datasets, pending_refs)


def _load_regions(raw: Any, where: _Located, problems: list[SpecProblem],
                  regions: dict[str, tuple[RegionDef, str]]) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        problems.append(where.problem(("regions",), f"expected a mapping, found {_kind(raw)}"))
        return
    for name, body in raw.items():
        at = ("regions", name)
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(where.problem(at, f"region name '{name}' must match "
                                              "[a-z0-9][a-z0-9._-]*", key=True))
            continue
        region = _validate(RegionDef, body, at, where, problems)
        if region is None:
            continue
        if name in regions and regions[name][0] != region:
            problems.append(where.problem(at, f"region '{name}' is already defined differently "
                                              f"at {regions[name][1]}", key=True))
            continue
        regions[name] = (region, _origin(where, at))


def _load_dataset(name: Any, body: Any, where: _Located, problems: list[SpecProblem],
                  datasets: dict[str, tuple[DatasetSpec, str]],
                  pending_refs: list[tuple[str, list[str], _Located]]) -> None:
    at: yamlpos.Path = ("datasets", name)
    if not isinstance(name, str):
        problems.append(where.problem(at, f"expected a dataset name, found {_kind(name)} "
                                          "(YAML reads this key as a number or boolean; "
                                          "quote it)", key=True))
        return
    if not NAME.match(name) or ".." in name:
        problems.append(where.problem(at, f"dataset name '{name}' must match "
                                          "[a-z0-9][a-z0-9._-]* (it names a folder)", key=True))
        return
    if name in datasets:
        problems.append(where.problem(at, f"duplicate dataset name '{name}'; "
                                          f"already defined at {datasets[name][1]}", key=True))
        return
    if not isinstance(body, dict):
        problems.append(where.problem(at, f"expected a mapping, found {_kind(body)}"))
        return
    source = body.get("source")
    refs = body.get("regions")
    if source == "clms" and isinstance(refs, list) and all(isinstance(r, str) for r in refs):
        pending_refs.append((name, refs, where))
    if source not in MODELS:
        problems.append(_source_problem(source, at, where))
        return
    model = _validate(MODELS[source], body, at, where, problems)
    if model is None:
        return
    count = len(problems)
    _check_dataset(model, at, where, problems)
    if len(problems) > count:
        return
    datasets[name] = (model, _origin(where, at))


def _region_problem(ref: str, named: Mapping[str, RegionDef]) -> str | None:
    """Why a dataset's region reference is unusable, or None when it is fine.

    A named region wins over a code of the same letters (``PRD`` is the region
    ``prd``, not a NUTS code of Puerto Rico).
    """
    if ref.lower() in named:
        ref = ref.lower()
        west, south, east, north = named[ref].bbox
        area = clms_rules.bbox_area([west, north, east, south])
        if area > clms_rules.AREA_LIMIT:
            return (f"region '{ref}' is too large for the CLMS area limit: the server computes "
                    f"{area:.3g} > {clms_rules.AREA_LIMIT}; split it into smaller boxes")
        return None
    if clms_rules.validate_nuts(ref.upper()):
        return None
    close = difflib.get_close_matches(ref, list(named), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else (
        "; expected a NUTS or ISO country code, or a name under 'regions:'")
    return f"unknown region '{ref}'{hint}"


def _source_problem(source: Any, at: yamlpos.Path, where: _Located) -> SpecProblem:
    expected = "expected one of " + ", ".join(SOURCES)
    if source is None:
        return where.problem(at, f"missing key 'source'; {expected}")
    close = difflib.get_close_matches(str(source), SOURCES, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return where.problem((*at, "source"), f"unknown source '{source}'; {hint}{expected}")


def _check_dataset(model: DatasetSpec, at: yamlpos.Path, where: _Located,
                   problems: list[SpecProblem]) -> None:
    """Rules across fields, which pydantic's per-field checks cannot see."""
    for key, message in model.mistakes():
        problems.append(where.problem((*at, key), message))


def _validate(model: type[BaseModel], body: Any, at: yamlpos.Path, where: _Located,
              problems: list[SpecProblem]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            loc = (*at, *error["loc"])
            fields = _fields_at(model, error["loc"][:-1])
            problems.append(where.problem(loc, _explain(error, fields),
                                          key=error["type"] == "extra_forbidden"))
        return None


def _fields_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The keys allowed in the mapping at ``loc`` inside ``model`` (a nested model's own)."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        nested = [a for a in (get_args(field.annotation) or (field.annotation,))
                  if isinstance(a, type) and issubclass(a, BaseModel)] if field else []
        if not nested:
            break
        model = nested[0]
    return list(model.model_fields)


def _explain(error: Mapping[str, Any], fields: list[str]) -> str:
    """Turn one pydantic error into 'what was expected, what was found'."""
    kind, loc, found = error["type"], error["loc"], error.get("input")
    name = str(loc[-1]) if loc else "value"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"unknown key '{name}'; {hint}expected one of {', '.join(fields)}"
    if kind == "missing" and isinstance(loc[-1], int):  # a fixed-length list came short
        return f"{loc[-2]}: expected {_EXPECTED['too_long']}, found a list of {loc[-1]}"
    if kind == "missing":
        return f"missing required key '{name}'"  # the location names the dataset
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        expected = _PATTERNS.get(pattern, "a value of the right form")
        return f"{name}: expected {expected}, found {_kind(found)}"
    if kind == "value_error":
        return f"{name}: {error['msg'].removeprefix('Value error, ')}"
    expected = _EXPECTED.get(kind, error["msg"].lower())
    return f"{name}: expected {expected}, found {_kind(found)}"


_EXPECTED = {
    "string_type": "a string", "int_type": "a whole number", "int_parsing": "a whole number",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "list_type": "a list", "tuple_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)", "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "too_short": "at least one entry", "too_long": "exactly four numbers [west, south, east, "
    "north]", "string_pattern_mismatch": "a value of the right form",
    "greater_than": "a positive number", "literal_error": "the source's name",
}


_PATTERNS = {
    r"^[0-9a-fA-F]{32}$": "32 hexadecimal digits (a catalogue UID)",
    r"^[0-9a-fA-F]{64}$": "64 hexadecimal digits (a sha256)",
    r"^/": "an absolute path starting with '/'",
    r"^https?://[^/\s]+": "an https:// or http:// URL",
}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):  # a URL may carry credentials: never shown
        shown = redact(value) if "://" in value else value
        return f"'{shown}'" if len(shown) < 60 else "a long string"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    return type(value).__name__


def _check_keys(doc: dict[str, Any], allowed: Sequence[str], at: yamlpos.Path,
                where: _Located, problems: list[SpecProblem]) -> None:
    for key in doc:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(where.problem((*at, key), f"unknown key '{key}'; {hint}expected "
                                                      f"one of {', '.join(allowed)}", key=True))


def _origin(where: _Located, at: yamlpos.Path) -> str:
    line, _ = where.located.where(at, key=True)
    return f"{where.path}:{line}"
