"""``python -m fetcher``."""

from fetcher.cli import main

main()
