"""Reading the flows to score, through :mod:`lib.datasets`' own readers: a Zeek conn log (labelled or not) by
:func:`lib.datasets.zeek.zeek_conn_frames`, a flow table (CSV/TSV, plain or gzip, or Parquet) by
:func:`lib.datasets.table.frames_by_role`, whose numeric columns are those of the model. The header's columns
are known before any row is read (:func:`input_columns`), so that a missing feature is an error before any
output is written; the rows come in bounded frames numbered in the input (:func:`read_batches`). An input is
checked before the model is loaded (:func:`check_input`): a missing path, a folder, a file that cannot be read
or is not a regular file is an error naming the path, the reason and the fix."""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from lib.datasets import files, table, zeek
from lib.datasets.csvparse import GZIP_MAGIC
from lib.datasets.errors import EncodingError
from lib.datasets.schema import ZEEK_CONN_NON_NEGATIVE
from lib.datasets.textio import DEFAULT_ENCODING
from lib.datasets.values import apply_non_negative, negatives_to_missing
from lib.datasets.zeek_json import looks_like_zeek_json
from lib.score.model import ScoreError
from lib.score.outputs import Tally

#: Rows scored per call of the pipeline (bounded memory for any input size).
BATCH_ROWS = 65_536


def _reason(err: OSError) -> str:
    """An operating system error in a few words (``permission denied``)."""
    if isinstance(err, PermissionError):
        return "permission denied"
    return (err.strerror or type(err).__name__).lower()


def check_input(path: str | os.PathLike, follow: bool = False) -> Path:
    """``path`` if it names a regular file this process can read; else a :class:`ScoreError` naming the path,
    the reason and the fix (no such file, a link to a missing file, a folder, a pipe or a device, permission
    denied). In ``follow`` mode the file must also be a plain-text Zeek log (empty while Zeek has written
    nothing yet), not a gzip file or a table. Nothing is read beyond a few first bytes."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise ScoreError(
                f"--input {path}: a link to {os.readlink(path)}, which does not exist. Fix: point it at the log or "
                f"table to score, or pass that file's path"
            ) from None
        raise ScoreError(
            f"--input {path}: no such file. Fix: check the path"
            + (" (follow mode starts on a log that exists: start Zeek first)" if follow else "")
        ) from None
    except OSError as err:  # a component of the path is a file, a loop of links, a folder that cannot be searched
        raise ScoreError(f"--input {path}: cannot be reached ({_reason(err)}). Fix: check the path") from None
    if stat.S_ISDIR(info.st_mode):
        names = sorted(p.name for p in path.iterdir() if p.is_file())[:3] if os.access(path, os.R_OK | os.X_OK) else []
        holds = f" (it holds {', '.join(names)}{', ...' if len(names) == 3 else ''})" if names else ""
        raise ScoreError(
            f"--input {path}: a folder, not a file{holds}. Fix: name one log or table inside it, e.g. "
            f"{path / (names[0] if names else 'conn.log')}"
        )
    if not stat.S_ISREG(info.st_mode):
        raise ScoreError(
            f"--input {path}: not a regular file (a pipe, a socket or a device). Fix: write the flows to a file "
            f"first and score that file"
        )
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as err:
        raise ScoreError(
            f"--input {path}: cannot be read ({_reason(err)}). Fix: make it readable by this user (e.g. chmod u+r "
            f"{path}, or a group that may read Zeek's logs), or score a copy"
        ) from None
    try:
        head = os.read(fd, files.ZEEK_HEAD_BYTES if follow else 2)
    except OSError as err:
        raise ScoreError(f"--input {path}: cannot be read ({_reason(err)}). Fix: check the file") from None
    finally:
        os.close(fd)
    if follow and head.startswith(GZIP_MAGIC):
        raise ScoreError(
            f"--input {path}: a gzip file, which Zeek does not append to. Fix: score it without --follow "
            f"(follow mode reads the plain-text log Zeek is writing, e.g. logs/current/conn.log)"
        )
    if follow and head.strip() and not (head.lstrip().startswith(b"#") or looks_like_zeek_json(head)):
        raise ScoreError(
            f"--input {path}: not a Zeek log (its first line is neither a '#' header line nor a JSON record). Fix: "
            f"follow mode reads a Zeek conn log as Zeek writes it (TSV or JSON); score a flow table without --follow"
        )
    return path


def input_columns(path: Path, encoding: str = DEFAULT_ENCODING) -> list[str]:
    """The column names an input declares in its header (Zeek ``#fields`` or a JSON log's first record, a
    table's first row, Parquet's schema), whether or not records follow; its text in ``encoding``."""
    if files.is_zeek_log(path):
        return zeek.log_columns(path, encoding)
    return table.table_columns(path, encoding)


def zeek_values(frame: pd.DataFrame, path: Path, notes: list[dict] | None = None) -> pd.DataFrame:
    """A Zeek frame's values read as training read them (``lib.datasets.load``'s Zeek readers): its negative
    counts, sizes and durations (:data:`lib.datasets.schema.ZEEK_CONN_NON_NEGATIVE`) missing, counted in
    ``notes`` (by default ``frame.attrs["repairs"]``, where the reader put its own repairs)."""
    if notes is None:
        return apply_non_negative(frame, ZEEK_CONN_NON_NEGATIVE, path.name)
    return negatives_to_missing(frame, ZEEK_CONN_NON_NEGATIVE, path.name, notes)


def _frames(
    path: Path,
    benign_labels: str,
    numeric: set[str] | frozenset[str],
    encoding: str = DEFAULT_ENCODING,
    non_negative: Iterable[str] = (),
) -> Iterator[pd.DataFrame]:
    """The input's frames as its reader gives them and as training read its values: a Zeek log (TSV or JSON,
    told by its content) its labels, if any, read as training read them, but no row dropped, and its negative
    counts missing (:func:`zeek_values`); a table typed by the model's roles, the negative values of the
    training data's ``non_negative`` columns missing."""
    if files.is_zeek_log(path):
        frames = zeek.zeek_conn_frames(
            path, benign_labels=benign_labels, ignore_labels=(), labels_required=False, empty_ok=True, encoding=encoding
        )
        return (zeek_values(frame, path) for frame in frames)
    return table.frames_by_role(
        path, numeric, benign_labels, batch_rows=BATCH_ROWS, non_negative=non_negative, encoding=encoding
    )


def read_batches(
    path: Path,
    tally: Tally,
    batch_rows: int = BATCH_ROWS,
    benign_labels: str = "benign",
    numeric: set[str] | frozenset[str] = frozenset(),
    encoding: str = DEFAULT_ENCODING,
    non_negative: Iterable[str] = (),
) -> Iterator[pd.DataFrame]:
    """The flows of ``path`` in frames of at most ``batch_rows``, with a ``row`` column (1-based number of the
    flow record in the input): a Zeek conn log (labelled or not) or a flow table, whose ``numeric`` columns are
    read as numbers (the pipeline's numeric features), its text in ``encoding`` (the run's ``ENCODING``); the
    values as training read them (:func:`_frames`; ``non_negative``: the training data set's columns whose
    negative values are missing, :func:`lib.datasets.schema.non_negative_columns`). A log or table without
    records gives no frame. The readers' repairs and rejected rows are counted in ``tally``."""
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be 1 or more, not {batch_rows}")
    check_input(path)
    try:
        first = 1
        for frame in _frames(path, benign_labels, numeric, encoding, non_negative):
            tally.add_frame(frame)
            frame = frame.reset_index(drop=True)
            if "row" not in frame:  # (a table numbers its rows itself, counting the rejected ones)
                frame["row"] = np.arange(first, first + len(frame))
            first = int(frame["row"].iloc[-1]) + 1 if len(frame) else first
            for start in range(0, len(frame), batch_rows):
                part = frame.iloc[start : start + batch_rows]
                tally.read += len(part)
                yield part
    except EncodingError as err:  # the encoding is the run's: the fix is the input's, not a parameter's
        raise ScoreError(
            f"{err.where}. Fix: this run reads its inputs as {encoding} (notebook 01's ENCODING when it was trained): "
            f"convert the file, e.g. iconv -f <its encoding> -t {encoding}, or train a run with its ENCODING"
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError) as err:
        raise ScoreError(
            f"{path}: the file is cut short or corrupt ({type(err).__name__}: {err}). Fix: copy or download it again"
        ) from err


def read_input(
    path: str | os.PathLike,
    numeric: set[str] | frozenset[str] = frozenset(),
    benign_labels: str = "benign",
    encoding: str = DEFAULT_ENCODING,
    non_negative: Iterable[str] = (),
) -> pd.DataFrame:
    """The whole input as one frame, read as the command reads it (for notebooks and tests; the command reads
    it in batches); a table's ``numeric`` columns as numbers (:func:`read_batches`)."""
    frames = list(read_batches(Path(path), Tally(), BATCH_ROWS, benign_labels, numeric, encoding, non_negative))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
