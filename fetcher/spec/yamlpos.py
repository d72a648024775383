"""YAML with positions: load a document and remember where every value and key stands.

PyYAML's composer keeps a mark (line, column) on every node; this module turns
the node tree into plain Python values plus a table from each value's path
(a tuple of keys and indexes) to its 1-based line and column, so that spec
errors can point at the character. Duplicate mapping keys, which PyYAML would
silently resolve to the last one, are reported instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


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
    except yaml.YAMLError:
        # libyaml's messages say less ("did not find expected ','"); the pure-Python
        # parser says what it found instead, so errors are parsed again with it.
        return _load(_Loader, text)


def _load(kind: type[yaml.SafeLoader], text: str) -> Located:
    loader = kind(text)
    try:
        node = loader.get_single_node()
        located = Located(data=None)
        if node is not None:
            located.data = _convert(loader, node, (), located)
        return located
    finally:
        loader.dispose()


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: Path, out: Located) -> Any:
    out.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(loader, key_node)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            child = (*path, key)
            if key in result:
                out.duplicates.append((child, *_mark(key_node)))
            out.keys[child] = _mark(key_node)
            result[key] = _convert(loader, value_node, child, out)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, i), out) for i, item in enumerate(node.value)]
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
