"""Bad input: the one exception type of :mod:`lib.datasets`, and the record of every repair a loader makes.

A loader either refuses a file with a :class:`DataError` (the message names the file, the line or column,
and the fix) or repairs it and says so: :func:`note_repair` logs a warning and appends the repair to
``frame.attrs["repairs"]``, which :func:`lib.datasets.load` gathers over all files and notebook 01 stores in
the run's ``meta.json``. Nothing is dropped or changed without a count.
"""

from __future__ import annotations

import logging

import pandas as pd

log = logging.getLogger(__package__)


class DataError(ValueError):
    """Bad input data. The message names the file, the line or column, and how to fix it."""


def note_repair(notes: list[dict], file: object, column: str, repair: str, count: int) -> None:
    """Record (and log) one repair of ``count`` values or rows of ``column`` ("" for whole rows/the file)."""
    if count <= 0:
        return
    where = f", column {column!r}" if column else ""
    log.warning("%s%s: %s (%d)", file, where, repair, count)
    notes.append({"file": str(file), "column": column, "repair": repair, "count": int(count)})


def repairs_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The repairs recorded on a loaded frame, one row each (empty table if none)."""
    return pd.DataFrame(frame.attrs.get("repairs", []), columns=["file", "column", "repair", "count"])
