"""YAML with positions: load a document and remember where every value and key stands.

PyYAML's composer keeps a mark (line, column) on every node; this module turns
the node tree into plain Python values plus a table from each value's path
(a tuple of keys and indexes) to its 1-based line and column, so that spec
errors can point at the character. Duplicate mapping keys, which PyYAML would
silently resolve to the last one, are reported instead.

The work a document can cause is bounded: aliases that expand into far more values
than the document holds (the "billion laughs" shape), nesting deeper than
``MAX_DEPTH`` and keys that are not plain values are refused at once, located.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]
MAX_DEPTH = 64
EXPANSION = 20  # values an alias-heavy document may reach per value it holds
EXPANSION_FLOOR = 10_000


@dataclass
class Located:
    """A loaded document and where its parts are."""

    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[Path, int, int]] = field(default_factory=list)

    def where(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """The position of ``path``, or of its nearest located ancestor."""
        table = self.keys if key else self.values
        probe = path
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps the composed node tree."""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same on libyaml, where present: 4-8x faster on large specs."""


def load(text: str) -> Located:
    """Parse one YAML document, keeping positions.

    Raises:
        yaml.YAMLError: when the text is not YAML (the error carries a mark).
    """
    try:
        return _load(_FastLoader, text)
    except RecursionError as exc:  # the composer itself recurses on nesting
        raise _refusal(f"the document nests deeper than {MAX_DEPTH} levels", None) from exc
    except yaml.YAMLError as fast_error:
        # libyaml's messages say less ("did not find expected ','"); the pure-Python
        # parser says what it found instead, so errors are parsed again with it.
        try:
            return _load(_Loader, text)
        except RecursionError:
            raise fast_error from None


def _load(kind: type[yaml.SafeLoader], text: str) -> Located:
    loader = kind(text)
    try:
        node = loader.get_single_node()
        located = Located(data=None)
        if node is not None:
            located.data = _convert(loader, node, (), located, _Budget())
        return located
    finally:
        loader.dispose()


@dataclass
class _Budget:
    """How many values the conversion has produced, against the distinct nodes seen."""

    visits: int = 0
    distinct: set[int] = field(default_factory=set)

    def spend(self, node: yaml.Node, depth: int) -> None:
        self.visits += 1
        self.distinct.add(id(node))
        if depth > MAX_DEPTH:
            raise _refusal(f"the document nests deeper than {MAX_DEPTH} levels", node)
        if self.visits > EXPANSION * len(self.distinct) + EXPANSION_FLOOR:
            raise _refusal(f"aliases expand this document to more than {self.visits} values "
                           f"from {len(self.distinct)} (nested aliases?)", node)


def _refusal(why: str, node: yaml.Node | None) -> yaml.YAMLError:
    mark = node.start_mark if node is not None else None
    return yaml.constructor.ConstructorError(None, None, f"{why}; refusing to read it", mark)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: Path, out: Located,
             budget: _Budget) -> Any:
    budget.spend(node, len(path))
    out.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _refusal("a mapping key must be a plain value, not a list or mapping",
                               key_node)
            key = _construct(loader, key_node)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            child = (*path, key)
            if key in result:
                out.duplicates.append((child, *_mark(key_node)))
            out.keys[child] = _mark(key_node)
            result[key] = _convert(loader, value_node, child, out, budget)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, i), out, budget)
                for i, item in enumerate(node.value)]
    return _construct(loader, node)


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """A node's value; a scalar PyYAML cannot build (2019-13-01) is a located YAMLError."""
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:
        kind = node.tag.rsplit(":", 1)[-1]
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot read {node.value!r} as a {kind}: {exc}", node.start_mark
        ) from exc
