"""The spec layer: YAML files in, validated items with stable keys out.

    load       reading files and folders, every problem located (``file:line:col``)
    models     the schema: pydantic models of regions and of each source's datasets
    items      datasets x regions -> items, their canonical requests and keys
    yamlpos    YAML with the position of every node
    lockfile   ``fetcher.lock``: the exact ids and bytes a set of specs resolved to
"""

from __future__ import annotations

from fetcher.spec.load import Specs, load_specs, spec_files

__all__ = ["Specs", "load_specs", "spec_files"]
