"""fetcher: keep a folder of geospatial data in the state that YAML specs describe.

The public library API is re-exported here lazily, so that ``import fetcher`` and
``fetcher --help`` stay fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
