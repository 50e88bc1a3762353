"""BoT-IoT Argus CSVs (:func:`read_botiot_csv`; in chunks, :func:`botiot_frames`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lib import registry
from lib.datasets.csvparse import NEWLINE, header_names, parse_table, table_layout, to_float32
from lib.datasets.errors import DataError
from lib.datasets.schema import ARGUS_NON_NEGATIVE
from lib.datasets.stream import Chunk, combine_frames, layout_and_chunks
from lib.datasets.values import negatives_to_missing

log = logging.getLogger(__package__)  # "lib.datasets" for every file of the package


def read_botiot_csv(path: str | os.PathLike, encoding: str = "utf-8") -> pd.DataFrame:
    """One BoT-IoT CSV: 10-best Training/Testing (comma or tab), full 35-column (with or without header),
    or an official ground-truth file (semicolon-separated, quoted), its text in ``encoding``. ``label`` is
    ``category`` (Normal -> Benign), ``label_detail`` is ``category/subcategory``, ``is_attack`` is the
    ``attack`` column. An Excel ``sep=,`` first line is skipped, numbers written with a thousands separator are
    read as numbers and negative counts, sizes and durations (:data:`lib.datasets.schema.ARGUS_NON_NEGATIVE`)
    become missing, each counted in ``attrs["repairs"]``. A file larger than
    :data:`lib.datasets.stream.STREAM_BYTES` is parsed in chunks (:func:`botiot_frames`) into the same frame.
    """
    return combine_frames(botiot_frames(path, encoding), path)


@dataclass(frozen=True)
class _BotiotTable:
    """What a BoT-IoT file's first lines say: delimiter, column names, the lines before the data (a header
    row, an Excel ``sep=`` line), Arrow types."""

    sep: str
    names: list[str]
    skip: int
    types: dict[str, pa.DataType]
    raw_columns: tuple[str, ...] = registry.BOTIOT_DROPPED  # read as bytes, then dropped


def botiot_frames(path: str | os.PathLike, encoding: str = "utf-8") -> Iterator[pd.DataFrame]:
    """:func:`read_botiot_csv` of ``path``, one frame per chunk of its text (one for a file up to
    ``STREAM_BYTES``): the layout is read once, from the first line, and every chunk's rows are parsed by
    :func:`_botiot_frame`."""
    path = Path(path)
    notes: list[dict] = []  # the file's own repairs (encoding, its header) go with the first chunk's frame
    # checked as UTF-8 but for Argus' raw `record` column, which holds bytes and is dropped
    table, chunks = layout_and_chunks(path, notes, encoding, _botiot_header)
    rows_before = 0
    for chunk in chunks:
        df = _botiot_frame(chunk, table, path, rows_before, notes)
        negatives_to_missing(df, ARGUS_NON_NEGATIVE, path.name, notes)
        df.attrs["repairs"], notes = notes, []
        rows_before += len(df)
        del chunk  # not held while the frame is used
        yield df
        del df  # not held while the next chunk is parsed


def _botiot_header(data: bytes, path: Path, notes: list[dict]) -> _BotiotTable:
    """The layout the first line of ``data`` gives (its second after an Excel ``sep=`` line): a header row, or
    the 35 fields of the full data set."""
    lines = [line.decode("utf-8", "replace") for line in data.split(NEWLINE, 2)[:2]]
    sep, first, before = table_layout(lines, path, notes, path.name)
    tokens = header_names(first, sep)
    has_header = "attack" in tokens or "category" in tokens
    if has_header:
        names, skip = header_names(first, sep, notes, path.name), before + 1
    elif len(tokens) == len(registry.BOTIOT_FULL_COLUMNS):
        names, skip = list(registry.BOTIOT_FULL_COLUMNS), before
    else:
        raise DataError(
            f"{path}, line {before + 1}: no header row and {len(tokens)} fields, not the "
            f"{len(registry.BOTIOT_FULL_COLUMNS)} of the full-dataset layout. Fix: add the header row of the file "
            f"you downloaded"
        )
    for required in ("attack", "category"):
        if required not in names:
            raise DataError(f"{path}: no {required!r} column in the header. Fix: use DATASET='csv' with LABEL_COLUMN")
    types = {n: pa.string() for n in names if n in registry.IDENTIFIER_COLUMNS or n in registry.BOTIOT_CATEGORICAL}
    types.update({n: pa.string() for n in ("category", "subcategory") if n in names})
    types.update({n: pa.binary() for n in registry.BOTIOT_DROPPED if n in names})
    return _BotiotTable(sep, names, skip, types)


def _botiot_frame(chunk: Chunk, table: _BotiotTable, path: Path, rows_before: int, notes: list[dict]) -> pd.DataFrame:
    """The flows of one chunk (the first may hold the header row), which starts at data row ``rows_before + 1``:
    errors name the data row (or its line, counted as header + data rows) as a whole-file parse does; repairs
    recorded in ``notes``."""
    names, types = table.names, table.types
    skip, offset = (table.skip, 0) if chunk.first_line == 1 else (0, chunk.first_line - 1)
    df = parse_table(chunk.data, path, names, table.sep, types, skip, ["", "NaN", "nan"], line_offset=offset)
    dropped = [c for c in registry.BOTIOT_DROPPED if c in df]
    if dropped:
        if chunk.first_line == 1:
            log.info("%s: dropped raw Argus column(s) %s", path, dropped)
        df = df.drop(columns=dropped)
    category = df.pop("category").astype("string").str.strip()
    empty = (category.isna() | category.eq("")).to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise DataError(
            f"{path}, line {rows_before + row + 1 + table.skip}, column 'category': empty ({int(empty.sum())} row(s) in all). Every "
            f"BoT-IoT flow has a category (Normal, DDoS, DoS, Reconnaissance, Theft). Fix: download the file again "
            f"or remove those rows"
        )
    category = category.astype(str)
    sub = df.pop("subcategory").astype(str).str.strip() if "subcategory" in df else category
    attack = pd.to_numeric(df.pop("attack"), errors="coerce")
    if attack.isna().any() or not attack.isin([0, 1]).all():
        raise DataError(f"{path}, column 'attack': values other than 0/1. Fix: check the delimiter and header")
    normal = category.str.lower().eq("normal")
    if (normal == attack.astype(bool)).any():
        row = int(np.flatnonzero((normal == attack.astype(bool)).to_numpy())[0])
        raise DataError(
            f"{path}, data row {rows_before + row + 1}: attack={int(attack.iloc[row])} but category={category.iloc[row]!r}"
        )
    # text categories even for a chunk without rows (its header alone), so that the chunks' categories unite
    df["label"] = pd.Categorical(pd.Series(np.where(normal, "Benign", category), dtype="str"))
    df["label_detail"] = pd.Categorical(pd.Series(np.where(normal, "Benign", category + "/" + sub), dtype="str"))
    df["is_attack"] = attack.astype(np.int8).to_numpy()
    numeric = [c for c in df.columns if c not in types and c not in registry.LABEL_COLUMNS]
    to_float32(df, numeric, path, notes, first_row=rows_before)
    for col in registry.BOTIOT_CATEGORICAL:
        if col in df:
            df[col] = df[col].astype("category")
    for col in df.columns:
        if col in registry.IDENTIFIER_COLUMNS and col not in ("stime", "ltime", "pkSeqID", "seq"):
            df[col] = df[col].astype("string")
    to_float32(df, [c for c in ("seq",) if c in df], path, notes, first_row=rows_before)
    for col in ("stime", "ltime", "pkSeqID"):
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(np.float64)
    return df


read_botiot_csv.cache_tag = "botiot"
read_botiot_csv.chunks = botiot_frames
