"""Bad input: the one exception type of :mod:`lib.datasets`, and the record of every repair a loader makes.

A loader either refuses a file with a :class:`DataError` (the message names the file, the line or column,
and the fix) or repairs it and says so: :func:`note_repair` logs a warning and appends the repair to
``frame.attrs["repairs"]``, which :func:`lib.datasets.load` gathers over all files and notebook 01 stores in
the run's ``meta.json``. Nothing is dropped or changed without a count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import pandas as pd

log = logging.getLogger(__package__)
_UNLOGGED: ContextVar[bool] = ContextVar("repairs_unlogged", default=False)


class DataError(ValueError):
    """Bad input data. The message names the file, the line or column, and how to fix it."""


class EncodingError(DataError):
    """A byte that is not text in the encoding a file is read in: ``where`` names the file, line, column and
    byte (the message without its fix), ``encoding`` the encoding it was read in."""

    def __init__(self, where: str, encoding: str, fix: str) -> None:
        super().__init__(f"{where}. Fix: {fix}")
        self.where = where
        self.encoding = encoding


def note_repair(notes: list[dict], file: object, column: str, repair: str, count: int) -> None:
    """Record (and log) one repair of ``count`` values or rows of ``column`` ("" for whole rows/the file)."""
    if count <= 0:
        return
    note = {"file": str(file), "column": column, "repair": repair, "count": int(count)}
    if not _UNLOGGED.get():
        log_repairs([note])
    notes.append(note)


def log_repairs(notes: Iterable[dict]) -> None:
    """One warning per repair record: ``file, column 'c': repair (count)``."""
    for note in notes:
        where = f", column {note['column']!r}" if note["column"] else ""
        log.warning("%s%s: %s (%d)", note["file"], where, note["repair"], note["count"])


@contextmanager
def repairs_unlogged() -> Iterator[None]:
    """Within it, :func:`note_repair` records without logging: a file read in chunks logs its repairs once,
    summed over its chunks (:func:`lib.datasets.stream.parse_chunks`)."""
    token = _UNLOGGED.set(True)
    try:
        yield
    finally:
        _UNLOGGED.reset(token)


def repairs_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The repairs recorded on a loaded frame, one row each (empty table if none)."""
    return pd.DataFrame(frame.attrs.get("repairs", []), columns=["file", "column", "repair", "count"])
