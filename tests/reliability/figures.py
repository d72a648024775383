"""The figures the reliability issue asks for: trials, faults, duplicates, leaks, samples.

A module of its own: pytest loads the suite's conftest under one name and the tests
import it under another, and both must count into one table.
"""

from __future__ import annotations

FIGURES: dict[str, int] = {"trials": 0, "faults injected": 0, "duplicate posts": 0,
                           "partial files seen": 0, "leaks found": 0, "samples": 0}


def tally(**counts: int) -> None:
    """Add to the run's figures."""
    for name, value in counts.items():
        FIGURES[name.replace("_", " ")] = FIGURES.get(name.replace("_", " "), 0) + value
