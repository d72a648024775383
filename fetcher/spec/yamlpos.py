"""YAML with positions: load a document and remember where every value and key stands.

PyYAML's composer keeps a mark (line, column) on every node; this module turns
the node tree into plain Python values plus a table from each value's path
(a tuple of keys and indexes) to its 1-based line and column, so that spec
errors can point at the character. Duplicate mapping keys, which PyYAML would
silently resolve to the last one, are reported instead.

The work a document can cause is bounded: aliases that expand into far more values
than the document holds (the "billion laughs" shape), nesting deeper than
``MAX_DEPTH`` and keys that are not plain values are refused at once, located. The
expansion is counted on the composed node tree, where an alias is the node it names,
before anything is built: refusing costs no more than composing the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]
MAX_DEPTH = 64
EXPANSION = 20  # values aliases may add per value the document holds
EXPANSION_FLOOR = 10_000
EXPANSION_CEILING = 1_000_000  # values aliases may add to any document (about 2 s to build)


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
        yaml.YAMLError: when the text is not YAML (the error carries a mark), or is
            refused for the work it would cause.
    """
    try:
        return _load(_FastLoader, text)
    except RecursionError as exc:  # the composer itself recurses on nesting
        raise _refusal(f"the document nests deeper than {MAX_DEPTH} levels", None) from exc
    except Refused:
        raise  # the fast parser read it fine: parsing it again would only cost twice
    except yaml.YAMLError as fast_error:
        if "nesting depth" in str(getattr(fast_error, "problem", "")):  # libyaml's own bound
            raise Refused(None, None, f"the document nests deeper than {MAX_DEPTH} levels; "
                          "refusing to read it", getattr(fast_error, "problem_mark", None)
                          ) from None
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
            _check_expansion(node)
            located.data = _convert(loader, node, (), located)
        return located
    finally:
        loader.dispose()


class Refused(yaml.constructor.ConstructorError):
    """A document refused for the work it would cause, not for its syntax."""


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand it far beyond the values it holds.

    Each distinct node's expanded size (itself and everything under it, aliases
    followed) is counted once, so the count costs one pass over the composed tree.
    """
    sizes: dict[int, int] = {}  # by id(node), in the order the nodes were finished
    nodes: dict[int, yaml.Node] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if depth > MAX_DEPTH:
            raise _refusal(f"the document nests deeper than {MAX_DEPTH} levels", node)
        if id(node) in open_nodes:
            raise _refusal("an alias refers to a value that holds it", node)
        open_nodes.add(id(node))
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        open_nodes.discard(id(node))
        sizes[id(node)], nodes[id(node)] = total, node
        return total

    expanded = size(root, 0)
    limit = len(sizes) + min(EXPANSION * len(sizes) + EXPANSION_FLOOR, EXPANSION_CEILING)
    if expanded > limit:
        culprit = next(nodes[i] for i, n in sizes.items() if n > limit)
        raise _refusal(f"aliases expand this document to {expanded:.3g} values from "
                       f"{len(sizes)} (nested aliases?)", culprit)


def _refusal(why: str, node: yaml.Node | None) -> yaml.YAMLError:
    mark = node.start_mark if node is not None else None
    return Refused(None, None, f"{why}; refusing to read it", mark)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: Path, out: Located) -> Any:
    if len(path) > MAX_DEPTH:  # an alias can nest what it names deeper than it stands
        raise _refusal(f"the document nests deeper than {MAX_DEPTH} levels", node)
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
            result[key] = _convert(loader, value_node, child, out)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, i), out)
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
