"""Reading the flows to score, through :mod:`lib.datasets`' own readers: a Zeek conn log (labelled or not) by
:func:`lib.datasets.zeek.zeek_conn_frames`, a flow table (CSV/TSV, plain or gzip, or Parquet) by
:func:`lib.datasets.table.frames_by_role`, whose numeric columns are those of the model. The header's columns
are known before any row is read (:func:`input_columns`), so that a missing feature is an error before any
output is written; the rows come in bounded frames numbered in the input (:func:`read_batches`)."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from lib.datasets import files, table, zeek
from lib.score.model import ScoreError
from lib.score.outputs import Tally

#: Rows scored per call of the pipeline (bounded memory for any input size).
BATCH_ROWS = 65_536


def input_columns(path: Path) -> list[str]:
    """The column names an input declares in its header (Zeek ``#fields``, a table's first row, Parquet's
    schema), whether or not records follow."""
    if files.is_zeek_log(path):
        return zeek.log_columns(path)
    return table.table_columns(path)


def _frames(path: Path, benign_labels: str, numeric: set[str] | frozenset[str]) -> Iterator[pd.DataFrame]:
    """The input's frames as its reader gives them: a Zeek log's labels, if any, read as training read them,
    but no row dropped; a table typed by the model's roles."""
    if files.is_zeek_log(path):
        return zeek.zeek_conn_frames(
            path, benign_labels=benign_labels, ignore_labels=(), labels_required=False, empty_ok=True
        )
    return table.frames_by_role(path, numeric, benign_labels, batch_rows=BATCH_ROWS)


def read_batches(
    path: Path,
    tally: Tally,
    batch_rows: int = BATCH_ROWS,
    benign_labels: str = "benign",
    numeric: set[str] | frozenset[str] = frozenset(),
) -> Iterator[pd.DataFrame]:
    """The flows of ``path`` in frames of at most ``batch_rows``, with a ``row`` column (1-based number of the
    flow record in the input): a Zeek conn log (labelled or not) or a flow table, whose ``numeric`` columns are
    read as numbers (the pipeline's numeric features). A log or table without records gives no frame. The
    readers' repairs and rejected rows are counted in ``tally``."""
    if not path.exists():
        raise ScoreError(f"{path}: no such file. Fix: check the --input path")
    try:
        first = 1
        for frame in _frames(path, benign_labels, numeric):
            tally.add_frame(frame)
            frame = frame.reset_index(drop=True)
            if "row" not in frame:  # (a table numbers its rows itself, counting the rejected ones)
                frame["row"] = np.arange(first, first + len(frame))
            first = int(frame["row"].iloc[-1]) + 1 if len(frame) else first
            for start in range(0, len(frame), batch_rows):
                part = frame.iloc[start : start + batch_rows]
                tally.read += len(part)
                yield part
    except (EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError) as err:
        raise ScoreError(
            f"{path}: the file is cut short or corrupt ({type(err).__name__}: {err}). Fix: copy or download it again"
        ) from err


def read_input(
    path: str | os.PathLike, numeric: set[str] | frozenset[str] = frozenset(), benign_labels: str = "benign"
) -> pd.DataFrame:
    """The whole input as one frame, read as the command reads it (for notebooks and tests; the command reads
    it in batches); a table's ``numeric`` columns as numbers."""
    frames = list(read_batches(Path(path), Tally(), BATCH_ROWS, benign_labels, numeric))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
