"""CICIDS2017 CICFlowMeter CSVs (:func:`read_cicids_csv`; in chunks, :func:`cicids_frames`)."""

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
from lib.datasets.errors import DataError, note_repair
from lib.datasets.schema import CICFLOWMETER_NON_NEGATIVE
from lib.datasets.stream import Chunk, combine_frames, layout_and_chunks
from lib.datasets.textio import refuse_non_utf8
from lib.datasets.values import negatives_to_missing

log = logging.getLogger(__package__)  # "lib.datasets" for every file of the package


def read_cicids_csv(path: str | os.PathLike, encoding: str = "utf-8") -> pd.DataFrame:
    """One CICIDS2017 CSV, MachineLearningCVE (79 columns) or TrafficLabelling (85) or a derived sample, its text
    in ``encoding``.

    Header whitespace is stripped, the duplicated ``Fwd Header Length`` is checked and dropped, ``Infinity``/``NaN``
    strings become ``inf``/NaN (preprocessing turns ``inf`` into NaN), the web-attack dash is normalised (written as
    the cp1252 byte 0x96, which is not UTF-8, it is read as the dash and counted; such a byte anywhere else is an
    error naming its line and column, unless ``encoding`` reads it), the label column may be `` Label``, ``Label``
    or ``labels``. An Excel ``sep=,`` first line is skipped, numbers written with a thousands separator are read as
    numbers (:func:`lib.datasets.csvparse.to_float32`) and negative counts, sizes and durations
    (:data:`lib.datasets.schema.CICFLOWMETER_NON_NEGATIVE`) become missing, each counted in ``attrs["repairs"]``.
    ``label_detail`` keeps the fine label; ``label`` is its family from :data:`lib.registry.CICIDS_FAMILIES`. A file
    larger than :data:`lib.datasets.stream.STREAM_BYTES` is parsed in chunks (:func:`cicids_frames`) into the same
    frame.
    """
    return combine_frames(cicids_frames(path, encoding), path)


def cicids_frames(path: str | os.PathLike, encoding: str = "utf-8") -> Iterator[pd.DataFrame]:
    """:func:`read_cicids_csv` of ``path``, one frame per chunk of its text (one for a file up to
    ``STREAM_BYTES``): the header row is read once, from the first chunk, and every chunk's rows are parsed by
    :func:`_cicids_frame`. Whether the ``Fwd Header Length`` copy is dropped is decided on the first chunk."""
    path = Path(path)
    notes: list[dict] = []  # the file's own repairs (encoding, its header) go with the first chunk's frame
    # checked as UTF-8, the label column aside: it is read as bytes, since some copies write the web-attack dash as
    # the byte 0x96 (cp1252); each label with such a byte is counted when it is decoded (_labels)
    table, chunks = layout_and_chunks(path, notes, encoding, _cicids_header)
    rows_before, drop_copy = 0, None
    for chunk in chunks:
        df = _cicids_frame(chunk, table, path, rows_before, notes)
        df, drop_copy = _header_length_copy(df, path, drop_copy, rows_before)
        negatives_to_missing(df, CICFLOWMETER_NON_NEGATIVE, path.name, notes)  # after the copy's check
        df.attrs["repairs"], notes = notes, []
        rows_before += len(df)
        del chunk  # not held while the frame is used
        yield df
        del df  # not held while the next chunk is parsed


read_cicids_csv.cache_tag = "cicids"
read_cicids_csv.chunks = cicids_frames


@dataclass(frozen=True)
class _CicidsTable:
    """What a CICFlowMeter file's header row says: delimiter, column names, the label column, identifiers,
    the Arrow type of each column, the lines before the data."""

    sep: str
    names: list[str]
    label_column: str
    ids: list[str]
    types: dict[str, pa.DataType]
    skip: int  # the lines before the first data row: the header row, and an Excel ``sep=`` line before it

    @property
    def raw_columns(self) -> tuple[str, ...]:
        """The columns read as bytes (:func:`lib.datasets.stream.layout_and_chunks`): the label (:func:`_labels`)."""
        return (self.label_column,)


def _cicids_header(data: bytes, path: Path, notes: list[dict]) -> _CicidsTable:
    """The columns the header row names (the first line of ``data``, the text's first chunk, or its second after
    an Excel ``sep=`` line); a :class:`DataError` without a label."""
    lines = [line.decode("utf-8", "replace") for line in data.split(NEWLINE, 2)[:2]]
    sep, header, before = table_layout(lines, path, notes, path.name)
    refuse_non_utf8(NEWLINE.join(data.split(NEWLINE, before + 1)[: before + 1]), path, 1)  # the header, strictly
    named: list[dict] = []
    names = header_names(header, sep, named, path.name)
    # the repeated 'Fwd Header Length' is CICFlowMeter's own, checked and dropped by _header_length_copy
    notes += [note for note in named if not note["repair"].startswith("duplicate column name")]
    label_col = next((n for n in names if n.lower() in {c.lower() for c in registry.CICIDS_LABEL_COLUMNS}), None)
    if label_col is None:
        raise DataError(
            f"{path}: no label column (looked for {', '.join(registry.CICIDS_LABEL_COLUMNS)} in the header: "
            f"{', '.join(names[:6])}, ...). Fix: this is not a labelled CICFlowMeter file; use DATASET='csv' "
            f"with LABEL_COLUMN"
        )
    ids = [n for n in names if n in registry.CICIDS_IDENTIFIERS]
    types = {n: pa.float32() for n in names if n not in ids and n != label_col}
    types[label_col] = pa.binary()  # decoded below: some copies carry latin-1 bytes in web-attack labels
    for n in ("Flow ID", "Source IP", "Destination IP", "Timestamp"):
        if n in names:
            types[n] = pa.string()
    return _CicidsTable(sep, names, label_col, ids, types, before + 1)


def _cicids_frame(chunk: Chunk, table: _CicidsTable, path: Path, rows_before: int, notes: list[dict]) -> pd.DataFrame:
    """The flows of one chunk (the first holds the header row), which starts at data row ``rows_before + 1``;
    repairs recorded in ``notes``."""
    names, sep, label_col, ids = table.names, table.sep, table.label_column, table.ids
    skip, offset = (table.skip, 0) if chunk.first_line == 1 else (0, chunk.first_line - 1)
    nulls = ["NaN", "nan", ""]
    try:
        df = parse_table(chunk.data, path, names, sep, table.types, skip, nulls, line_offset=offset)
    except DataError as err:
        if "could not parse" not in str(err) and "is not a number" not in str(err):
            raise
        # a value Arrow does not read as a number (a thousands separator, stray text): the numeric columns as
        # text, then each read or refused by to_float32
        numeric = [n for n in names if n not in ids and n != label_col]
        types = table.types | {n: pa.string() for n in numeric}
        df = parse_table(chunk.data, path, names, sep, types, skip, nulls, offset)
        try:
            to_float32(df, numeric, path, notes, first_row=rows_before)
        except DataError as refused:
            if "is not a number" in str(err) and "thousands separator" not in str(refused):
                raise err from None  # Arrow's own message names the value's line in the file
            raise

    fine = _labels(df.pop(label_col), path, notes)
    if fine.isna().any():
        row = int(np.flatnonzero(fine.isna().to_numpy())[0])
        raise DataError(
            f"{path}, column {label_col!r}: empty label in data row {rows_before + row + 1}. Fix: label or remove "
            f"the row"
        )
    fine = fine.map(registry.normalise_cic_label)
    unknown = sorted(set(fine) - set(registry.CICIDS_FAMILIES))
    if unknown:
        raise DataError(
            f"{path}, column {label_col!r}: unknown CICIDS2017 label(s) {unknown[:5]}. Fix: add them to "
            f"CICIDS_FAMILIES in lib/registry.py, or use DATASET='csv' with LABEL_COLUMN/BENIGN_LABELS"
        )
    df["label"] = pd.Categorical(fine.map(registry.CICIDS_FAMILIES))
    df["label_detail"] = pd.Categorical(fine)
    df["is_attack"] = (df["label"] != "Benign").astype(np.int8).to_numpy()
    return df


#: The repair of a label holding a byte that is not UTF-8 (:func:`_labels`).
NON_UTF8_LABEL_REPAIR = (
    "byte that is not UTF-8 in the label (the web-attack dash 0x96 of cp1252) read as a dash; ENCODING='cp1252' "
    "reads such a file as text"
)


def _labels(raw: pd.Series, path: Path, notes: list[dict]) -> pd.Series:
    """The label column read as bytes, as text: each distinct value decoded once. A byte that is not UTF-8
    becomes U+FFFD (which :func:`lib.registry.normalise_cic_label` reads as the web-attack dash), counted in
    ``notes`` with the rows that hold one."""
    replaced, text = 0, {}
    for value, rows in raw.value_counts(dropna=True).items():
        try:
            text[value] = value.decode("utf-8") if isinstance(value, bytes) else value
        except UnicodeDecodeError:
            text[value] = value.decode("utf-8", "replace")
            replaced += int(rows)
    note_repair(notes, path.name, str(raw.name), NON_UTF8_LABEL_REPAIR, replaced)
    return raw.map(text)


def _header_length_copy(
    df: pd.DataFrame, path: Path, drop: bool | None, rows_before: int
) -> tuple[pd.DataFrame, bool | None]:
    """``df`` without ``Fwd Header Length.1`` when CICFlowMeter wrote the same column twice, and whether the
    copy is dropped. ``drop`` is the first chunk's decision (None for the first chunk): a later chunk of a file
    read in chunks follows it, and is a :class:`DataError` if its copy differs from a copy already dropped."""
    if "Fwd Header Length.1" not in df:
        return df, drop
    both = df["Fwd Header Length"].notna() & df["Fwd Header Length.1"].notna()
    same = (df.loc[both, "Fwd Header Length"] == df.loc[both, "Fwd Header Length.1"]).all()
    if drop is None and not same:
        log.warning("%s: 'Fwd Header Length.1' differs from 'Fwd Header Length'; both kept", path)
    elif drop and not same:
        differ = both & (df["Fwd Header Length"] != df["Fwd Header Length.1"])
        row = int(np.flatnonzero(differ.to_numpy())[0])
        raise DataError(
            f"{path}, data row {rows_before + row + 1}: 'Fwd Header Length.1' differs from 'Fwd Header Length', "
            f"where the first chunk of this file (read in chunks) had them equal and the copy was dropped. Fix: read the file whole (raise lib.datasets.stream.STREAM_BYTES above its size), or "
            f"remove the 'Fwd Header Length.1' column from the file"
        )
    drop = same if drop is None else drop
    return (df.drop(columns="Fwd Header Length.1") if drop else df), drop
