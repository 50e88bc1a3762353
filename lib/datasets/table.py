"""Any labelled flow table a user brings: CSV, TSV or Parquet, plain or gzip (:func:`read_flow_table`), and a
table of new flows read by the columns' roles in a trained model (:func:`frames_by_role`, ``iot-botnet score``).

Every column is read as what it is, or the file is refused: a numeric column with a stray text cell is an
error naming the column and the line (never a silent categorical); blank cells, the tokens of
``MISSING_VALUES`` (e.g. Zeek's ``-``), decimal commas, repeated header rows, duplicate column names and
values beyond float32, numbers written with a thousands separator (:func:`lib.datasets.values.thousands_numbers`),
an Excel ``sep=,`` first line, space around a label and column names written in decomposed Unicode are repaired
and counted (``frame.attrs["repairs"]``); column names and the parameters that name columns are compared in
Unicode NFC (a parameter's names stripped of surrounding space, as the header's are). Columns that carry the label (``attack_cat``, ``type``, ``Cat`` ... see
:data:`lib.registry.LABEL_LIKE_NAMES`) are listed in ``frame.attrs["label_columns"]`` and never become features.

New flows to score (:mod:`lib.score`) are read with the same machinery (``csvparse.py``: delimiter, header,
line-numbered parse errors, float32 conversion counted as a repair), but typed by what the model needs rather
than inferred: :func:`table_columns` gives the header's columns before any row is read (the schema check),
:func:`frames_by_role` the rows in bounded frames, the model's numeric columns as float32 and a row with text
in one of them rejected and counted (``frame.attrs["rejected"]``), never an error for the whole file.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.types import union_categoricals

from lib import registry
from lib.datasets.csvparse import (
    DELIMITER_NAMES,
    NEWLINE,
    float32_counted,
    head_lines,
    header_names,
    nfc_names,
    parse_table,
    table_layout,
    text_suffix,
)
from lib.datasets.errors import DataError, note_repair
from lib.datasets.schema import guess_identifiers, label_like_columns
from lib.datasets.stream import Chunk, header_and_chunks
from lib.datasets.values import negatives_to_missing, thousands_ambiguous, thousands_conflict, thousands_numbers
from lib.datasets.zeek_json import looks_like_zeek_json

log = logging.getLogger(__package__)  # "lib.datasets" for every file of the package

_NULLS = ["", "NaN", "nan", "NA", "N/A", "null", "NULL"]
_JSON_HEAD_BYTES = 65536  # the text's start that tells a Zeek JSON log (its first record) from a table
EMPTY_LABEL = "(empty)"  # in BENIGN_LABELS or IGNORE_LABELS: what an empty label cell means


def label_values(values: str | int | float | Iterable | None) -> set[str]:
    """Label values as lower-case strings, whichever way they were passed: ``"a, b"``, ``0`` (papermill's
    ``-p BENIGN_LABELS 0``), ``(0, 1)``, ``["Normal"]``. ``none`` is the empty set (``IGNORE_LABELS=none``
    keeps every label)."""
    if values is None or values == "" or (isinstance(values, str) and values.strip().lower() == "none"):
        return set()
    if isinstance(values, str):
        items = values.split(",")
    elif isinstance(values, Iterable):
        items = [str(v) for v in values]
    else:
        items = [str(values)]
    return {_canonical_label(item).lower() for item in items if str(item).strip()}


def _canonical_label(value: object) -> str:
    """``"1.0"`` -> ``"1"`` (a label column stored as floats), other values stripped."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def column_names_from(spec: str | Iterable[str] | None) -> list[str] | None:
    """``COLUMN_NAMES``: a known layout (``unsw-nb15``, see :data:`lib.registry.COLUMN_LAYOUTS`), a file of
    names (one per line or comma-separated), or a comma-separated list. Empty: the file has a header row."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return None
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key in registry.COLUMN_LAYOUTS:
            return list(registry.COLUMN_LAYOUTS[key])
        path = Path(spec.strip()).expanduser()
        text = path.read_text(encoding="utf-8-sig") if "," not in spec and path.is_file() else spec
        items = [part for line in text.splitlines() for part in line.split(",")]
    else:
        items = list(spec)
    names = [str(n).strip() for n in items if str(n).strip()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if len(names) < 2 or repeated:
        raise DataError(
            f"COLUMN_NAMES={str(spec)[:80]!r}: {'repeats ' + str(repeated) if repeated else 'fewer than 2 names'}. "
            f"Fix: give one distinct name per column (comma-separated, a file of names, or one of "
            f"{sorted(registry.COLUMN_LAYOUTS)})"
        )
    return names


def read_flow_table(
    path: str | os.PathLike,
    label_column: str,
    benign_labels: str | Iterable[str],
    id_columns: Iterable[str] | None = None,
    *,
    column_names: Iterable[str] | None = None,
    ignore_labels: str | Iterable[str] | None = None,
    missing_values: Iterable[str] = (),
    encoding: str = "utf-8",
    text_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """A labelled flow table a user brings (a CSV/TSV's text in ``encoding``). ``label_column`` holds the label;
    the values in ``benign_labels`` (comma-separated, case-insensitive) mean normal traffic, those in
    ``ignore_labels`` mean "unlabelled" (rows dropped, counted). ``column_names`` names the columns of a file
    without a header row. ``missing_values`` are extra tokens meaning "no value" (e.g. ``-``). Identifier columns
    are those named in ``id_columns`` plus the known spellings (:func:`lib.datasets.guess_identifiers`); text
    columns other than identifiers become categorical features. No column is taken for a count: negative values
    stay as they are (a data set's schema declares its counts, :func:`lib.datasets.schema.non_negative_columns`).
    ``text_columns`` (notebook 02's ``CATEGORY_COLUMNS``) are columns the user knows are text: one whose values
    are all like ``1,024`` (thousands, or a list?) is read as text there, and is an error anywhere else.

    A CSV/TSV's text is parsed in line-aligned chunks (``stream.py``: one chunk up to ``STREAM_BYTES``), each
    chunk's text columns kept as categories, so that memory is bounded by the data kept, never by the text; each
    column is then typed once over the whole file, so that a file read in chunks gives the frame of a whole read.
    """
    path = Path(path)
    notes: list[dict] = []
    benign, ignore = label_values(benign_labels), label_values(ignore_labels)
    names = nfc_names(column_names) if column_names else None
    (label_column,) = _param_names([label_column])  # compared with the header's names: stripped, in NFC
    text_names = set(_param_names(text_columns))
    if text_suffix(path) == ".parquet":
        df, decimal_comma = _read_parquet(path, names, notes), False
        where = lambda position: f"row {position + 1}"  # noqa: E731
    else:
        df, where, decimal_comma = _read_text_table(path, label_column, names, notes, encoding)
    if label_column not in df:
        raise DataError(
            f"{path}: no column {label_column!r} (LABEL_COLUMN). Columns: {', '.join(map(str, df.columns[:20]))}. "
            f"Fix: set LABEL_COLUMN to one of them"
        )
    df, labels, is_benign, lines = _read_labels(df, path, label_column, benign, ignore, where, notes)
    if not is_benign.any():
        seen = ", ".join(sorted(map(str, labels.categories[:10])))
        log.warning("%s: no row has a BENIGN_LABELS value %s (labels seen: %s)", path, sorted(benign), seen)
    ids = guess_identifiers(df.columns, _param_names(id_columns or ()))
    leaks = set(label_like_columns(df.columns)) - ids
    for col in df.columns:
        if col in ids:
            if df[col].dtype == object or isinstance(df[col].dtype, pd.CategoricalDtype):
                df[col] = df[col].astype("string")
            continue
        df[col] = _typed_column(
            df[col], path, where, lines, notes, missing_values, col in leaks, decimal_comma, col in text_names
        )
    df = _drop_identical_copies(df, path, notes)
    df["label"] = _final_labels(labels, is_benign)
    df["label_detail"] = df["label"]
    df["is_attack"] = (~is_benign).astype(np.int8)
    df.attrs["identifier_columns"] = sorted(ids & set(df.columns))
    df.attrs["label_columns"] = sorted(leaks & set(df.columns))
    df.attrs["repairs"] = notes
    return df


def _param_names(names: Iterable[object]) -> list[str]:
    """Column names a parameter gives, as the header's are read: stripped of surrounding space, in Unicode NFC
    (``LABEL_COLUMN=' Label'``, CICIDS2017's own spelling, names the header's ``Label``)."""
    return nfc_names(str(n).strip() for n in names)


def _text_codes(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """A text column as category codes (-1: missing) and its distinct values as text."""
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    written = pd.Series(np.asarray(cat.cat.categories.astype(str), dtype=object), dtype="string")
    return cat.cat.codes.to_numpy().astype(np.int64), written


def _rows_and_first(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per category of ``codes``, its rows and the position of its first row (``len(codes)`` if none)."""
    counts = np.bincount(codes[codes >= 0], minlength=k)
    first = np.full(k, len(codes), dtype=np.int64)
    seen, at = np.unique(codes, return_index=True)
    first[seen[seen >= 0]] = at[seen >= 0]
    return counts, first


def _read_labels(
    df: pd.DataFrame,
    path: Path,
    label_column: str,
    benign: set[str],
    ignore: set[str],
    where: Callable[[int], str],
    notes: list[dict],
) -> tuple[pd.DataFrame, pd.Categorical, np.ndarray, np.ndarray]:
    """The table without its label column, and per kept row its label (canonical: ``"1.0"`` -> ``"1"``), whether
    it is a ``benign`` value and its position in the file. Repeated header rows and rows labelled with an
    ``ignore`` value are dropped and counted; an empty label is an error unless :data:`EMPTY_LABEL` is a
    ``benign`` or an ``ignore`` value. Worked on the column's distinct values, never a string per row."""
    lines = np.arange(len(df))  # each row's position in the file, for error messages (where(position))
    codes, written = _text_codes(df[label_column])
    labels = written.str.strip()
    counts, _ = _rows_and_first(codes, len(labels))
    spaced = int(counts[labels.ne(written).to_numpy(dtype=bool)].sum())
    header_copies = np.append(labels.eq(label_column).to_numpy(dtype=bool), False)[codes]
    if header_copies.any():  # CSE-CIC-IDS2018's files repeat their header inside the data
        note_repair(notes, path.name, "", "repeated header row removed", int(header_copies.sum()))
        df, codes, lines = df[~header_copies].reset_index(drop=True), codes[~header_copies], lines[~header_copies]
    note_repair(notes, path.name, label_column, "space around the label removed", spaced)
    labels = pd.concat([labels, pd.Series([EMPTY_LABEL], dtype="string")], ignore_index=True)
    empty = np.append(
        labels.iloc[:-1].eq("").to_numpy(dtype=bool), True
    )  # the last category: a missing label (code -1)
    if EMPTY_LABEL.lower() in benign | ignore:  # UNSW-NB15's attack_cat is empty for normal rows
        codes = np.where(empty[codes], len(labels) - 1, codes)
    elif empty[codes].any():
        row = int(np.flatnonzero(empty[codes])[0])
        raise DataError(
            f"{path}, {where(lines[row])}, column {label_column!r}: empty label. Fix: label or remove the row, check "
            f"COLUMN_NAMES/LABEL_COLUMN, or, if an empty label means normal traffic, add {EMPTY_LABEL} to BENIGN_LABELS"
        )
    canonical = labels.map(_canonical_label).astype(str)
    lowered = canonical.str.lower()
    counts, first = _rows_and_first(codes, len(labels))
    ignored_values = lowered.isin(ignore).to_numpy(dtype=bool) & (counts > 0)
    if ignored_values.any():
        by_value = pd.DataFrame({"value": canonical[ignored_values], "rows": counts[ignored_values]})
        totals = by_value.groupby("value", sort=False)["rows"].sum().sort_values(ascending=False, kind="stable")
        for value, count in totals.items():
            note_repair(notes, path.name, label_column, f"rows labelled {value!r} dropped (IGNORE_LABELS)", count)
        kept = ~ignored_values[codes]
        df, codes, lines = df[kept].reset_index(drop=True), codes[kept], lines[kept]
    names = pd.Index(sorted(set(canonical[np.bincount(codes, minlength=len(labels)) > 0])))
    kept_labels = pd.Categorical.from_codes(names.get_indexer(canonical)[codes], categories=names)
    is_benign = lowered.isin(benign).to_numpy(dtype=bool)[codes]
    return df.drop(columns=label_column), kept_labels, is_benign, lines


def _final_labels(labels: pd.Categorical, is_benign: np.ndarray) -> pd.Categorical:
    """The ``label`` column: each row's label, ``Benign`` for a benign value."""
    benign_codes = np.unique(labels.codes[is_benign])
    names = [BENIGN_LABEL if i in set(benign_codes) else str(c) for i, c in enumerate(labels.categories)]
    kept = np.bincount(labels.codes, minlength=len(names)) > 0
    final = pd.Index(sorted({n for n, k in zip(names, kept, strict=True) if k}))  # str, as pandas infers it
    return pd.Categorical.from_codes(final.get_indexer(names)[labels.codes], categories=final)


def _read_parquet(path: Path, names: list[str] | None, notes: list[dict]) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as err:
        raise DataError(f"{path}: not a readable Parquet file ({err}). Fix: write it again, or use CSV") from err
    if df.empty:
        raise DataError(f"{path}: the file has no rows. Fix: remove it from DATA_FILES")
    if names:
        if len(names) != df.shape[1]:
            raise DataError(f"{path}: {df.shape[1]} columns but COLUMN_NAMES has {len(names)} names")
        df.columns = names
    else:  # the schema's names in NFC, as a text table's header is read
        written = [str(c) for c in df.columns]
        df.columns = nfc_names(written)
        for name, was in zip(df.columns, written, strict=True):
            if name != was:
                note_repair(notes, path.name, name, "column name written in decomposed Unicode read in NFC", 1)
    return df


def _read_text_table(
    path: Path, label_column: str, names: list[str] | None, notes: list[dict], encoding: str = "utf-8"
) -> tuple[pd.DataFrame, Callable[[int], str], bool]:
    """The table (numbers as parsed, text as categories), a function from a row's position to its place in the
    file ("line 9"), and whether decimal commas are possible (a ``;``-separated file). The text is parsed a chunk
    at a time (:func:`lib.datasets.stream.header_and_chunks`), each chunk's rows numbered by their lines in the
    file, and the chunks' columns put together (:func:`_combined_column`)."""
    _, chunks = header_and_chunks(path, notes, encoding=encoding)
    head = next(chunks)
    lines = [line.decode("utf-8", "replace").rstrip("\r") for line in head.data.split(NEWLINE, 2)[:2]]
    if lines[0].startswith(("#separator", "#fields")):
        raise DataError(f"{path}, line 1: this is a Zeek log, not a table. Fix: read it with DATASET='zeek'")
    if looks_like_zeek_json(head.data[:_JSON_HEAD_BYTES]):
        raise DataError(f"{path}, line 1: this is a Zeek JSON log, not a table. Fix: read it with DATASET='zeek'")
    sep, first, before = table_layout(lines, path, notes, path.name)
    fields = header_names(first, sep)
    if names:
        if len(fields) != len(names):
            raise DataError(
                f"{path}, line {before + 1}: {len(fields)} {_sep_name(sep)}-separated fields, but COLUMN_NAMES "
                f"has {len(names)} names. Fix: give one name per field (or the right layout)"
            )
        has_header = [f.lower() for f in fields] == [n.lower() for n in names]
        if has_header:
            log.info("%s: the first line repeats COLUMN_NAMES; read as the header", path)
    else:
        if _looks_like_data(fields):
            raise DataError(
                f"{path}, line {before + 1}: looks like data, not column names ({', '.join(fields[:6])}, ...): the "
                f"file has no header row. Fix: name its {len(fields)} columns with COLUMN_NAMES (a comma-separated "
                f"list, a file of names, or a known layout: {', '.join(sorted(registry.COLUMN_LAYOUTS))})"
            )
        names, has_header = header_names(first, sep, notes, path.name), True
        if label_column not in names:
            raise DataError(
                f"{path}: no column {label_column!r} (LABEL_COLUMN). Columns: {', '.join(names[:20])}. "
                f"Fix: set LABEL_COLUMN to one of them"
            )
    skip = before + int(has_header)
    chunks = chain([head], chunks)
    del head  # each chunk is held only while it is parsed
    parts: list[pd.DataFrame] = []
    file_lines: list[np.ndarray] = []
    for chunk in chunks:
        df, data_lines = _parse_chunk(chunk, path, names, sep, label_column, skip)
        del chunk
        if len(df):
            parts.append(df)
            file_lines.append(data_lines[: len(df)])
    if not parts:
        raise DataError(f"{path}: a header line but no data rows. Fix: remove the file from DATA_FILES")
    row_lines = np.concatenate(file_lines)
    mixed = [n for n in names if len({_kind(part[n]) for part in parts} - {"null"}) > 1]
    if mixed:  # numbers in one chunk, text in another: those columns parsed again as written, as text
        again = _text_parse(path, names, sep, label_column, skip, mixed, encoding)
        for part, text in zip(parts, again, strict=True):
            for n in mixed:
                part[n] = pd.Series(text[n].array, index=part.index)
    df = pd.DataFrame(index=pd.RangeIndex(len(row_lines)))
    for n in names:  # a block per column, never consolidated into a copy of the whole table
        df[n] = _combined_column([part.pop(n) for part in parts])
    del parts

    def where(position: int) -> str:
        line = row_lines[position] if position < len(row_lines) else position + skip + 1
        return f"line {int(line)}"

    return df, where, sep == ";"


def _parse_chunk(
    chunk: Chunk,
    path: Path,
    names: list[str],
    sep: str,
    label_column: str,
    skip: int,
    types: dict[str, pa.DataType] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """One chunk's rows (Arrow infers each column's type; text kept as categories) and the line in the file of
    each (the header lines skipped in the file's first chunk)."""
    skip_here = skip if chunk.first_line == 1 else 0
    data_lines = _data_lines(chunk.data, skip_here) + chunk.first_line
    types = types if types is not None else {label_column: pa.dictionary(pa.int32(), pa.string())}
    df = parse_table(chunk.data, path, names, sep, types, skip_here, _NULLS, line_offset=chunk.first_line - 1)
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].astype("category")
        elif pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            df[col] = _float32_marked(df[col])  # what the column becomes: half an int64's memory
    return df, data_lines


#: A number beyond float32's range, read per chunk: kept as this NaN payload until the typing counts it.
_BEYOND = np.array([0x7FC0_BEEF], dtype=np.uint32).view(np.float32)[0]


def _float32_marked(values: pd.Series) -> pd.Series:
    """A chunk's numbers as float32; a finite value beyond float32's range becomes a NaN marked
    :data:`_BEYOND` (:func:`_beyond_float32` counts and clears it once the rows kept are known)."""
    as64 = values.to_numpy(dtype=np.float64, na_value=np.nan)
    over = np.isfinite(as64) & (np.abs(as64) > np.finfo(np.float32).max)
    out = np.where(over, np.nan, as64).astype(np.float32)
    out[over] = _BEYOND
    return pd.Series(out, index=values.index, name=values.name)


def _beyond_float32(values: pd.Series, file: object, notes: list[dict]) -> pd.Series:
    """``values`` (float32 from :func:`_float32_marked`) with its marked values counted as
    :func:`lib.datasets.csvparse.float32_counted` counts them, and made a plain NaN."""
    bits = values.to_numpy().view(np.uint32)
    marked = bits == np.array([_BEYOND], dtype=np.float32).view(np.uint32)[0]
    if not marked.any():
        return values
    note_repair(notes, file, str(values.name), "value beyond float32 range (|x| > 3.4e38) set to missing (imputed)",
                int(marked.sum()))  # fmt: skip
    return values.mask(pd.Series(marked, index=values.index))


def _text_parse(
    path: Path, names: list[str], sep: str, label_column: str, skip: int, columns: list[str], encoding: str
) -> Iterator[pd.DataFrame]:
    """``columns`` of each chunk with rows, parsed again as text (as written), as categories."""
    types = {n: pa.dictionary(pa.int32(), pa.string()) for n in [*columns, label_column]}
    _, chunks = header_and_chunks(path, None, encoding=encoding)
    for chunk in chunks:
        df, _ = _parse_chunk(chunk, path, names, sep, label_column, skip, types)
        del chunk
        if len(df):
            yield df[columns]


def _kind(values: pd.Series) -> str:
    """What a chunk's column holds: ``null`` (no value), ``bool``, ``number`` or ``text``."""
    if values.isna().all():
        return "null"
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    return "number" if pd.api.types.is_numeric_dtype(values) else "text"


def _combined_column(parts: list[pd.Series]) -> pd.Series:
    """A column's chunks as one column: text (categories, their union) if a chunk holds text, else numbers."""
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    if any(isinstance(p.dtype, pd.CategoricalDtype) and _kind(p) != "null" for p in parts):
        text = [p if isinstance(p.dtype, pd.CategoricalDtype) else p.astype(object).astype("category") for p in parts]
        text = [p.cat.set_categories(p.cat.categories.astype(object)) for p in text]
        return pd.Series(union_categoricals(text))
    numbers = [p.astype(np.float32) if _kind(p) == "null" else p for p in parts]  # numbers are float32 by now
    return pd.concat(numbers, ignore_index=True)


def _data_lines(data: bytes, skip: int) -> np.ndarray:
    """The 0-based lines of ``data`` that hold data rows (after ``skip`` header lines), counting the empty lines
    the parser passes over (a quoted field spanning lines is not accounted for)."""
    if not data:
        return np.zeros(0, dtype=np.int64)
    text = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(text == ord("\n"))
    starts = np.concatenate([[0], ends + 1])
    lengths = np.concatenate([ends, [len(data)]]) - starts
    first = text[np.minimum(starts, len(data) - 1)]
    empty = (lengths == 0) | ((lengths == 1) & (first == ord("\r")))
    return np.flatnonzero(~empty)[skip:].astype(np.int64)


def _sep_name(sep: str) -> str:
    return DELIMITER_NAMES.get(sep, repr(sep))


def _looks_like_data(fields: list[str]) -> bool:
    """True when most header fields are numbers or IP addresses: a headerless file's first data row."""

    def is_value(text: str) -> bool:
        try:
            float(text)
            return True
        except ValueError:
            pass
        try:
            ipaddress.ip_address(text)
            return True
        except ValueError:
            return False

    return sum(map(is_value, fields)) >= max(2, len(fields) / 2)


def _typed_column(
    values: pd.Series,
    path: Path,
    where: Callable[[int], str],
    lines: np.ndarray,
    notes: list[dict],
    missing_values: Iterable[str],
    leak: bool,
    decimal_comma: bool,
    text_column: bool = False,
) -> pd.Series:
    """A feature column as float32 (numbers) or category (text); a numeric column with stray text is an error,
    and so is a column whose values all read as numbers with one thousands group each (``1,024``), unless the
    user named it as text (``text_column``). A text column is typed on its distinct values, each weighted by its
    rows, never a string per row."""
    col = str(values.name)
    if values.dtype == np.float32:  # a table's numbers, read per chunk
        return _beyond_float32(values, path.name, notes)
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return float32_counted(pd.to_numeric(values), path.name, col, notes)
    codes, written = _text_codes(values)
    rows, first = _rows_and_first(codes, len(written))
    text = written.str.strip()
    used = rows > 0
    blank = text.eq("").to_numpy(dtype=bool) & used
    if blank.any():
        note_repair(notes, path.name, col, "blank cell read as missing", int(rows[blank].sum()))
    tokens = {str(v).strip() for v in missing_values if str(v).strip()}
    token = text.isin(tokens).to_numpy(dtype=bool) & used if tokens else blank & False
    if token.any():
        note_repair(
            notes, path.name, col, f"{'/'.join(sorted(tokens))} read as missing (MISSING_VALUES)", rows[token].sum()
        )
    present = used & ~blank & ~token

    def per_row(numbers: pd.Series) -> pd.Series:  # a number per distinct value -> a number per row
        return pd.Series(
            np.append(numbers.to_numpy(dtype=np.float64, na_value=np.nan), np.nan)[codes], index=values.index, name=col
        )

    if leak or not present.any():
        return (
            _categories(text, present, codes, values.index, col)
            if present.any()
            else pd.Series(np.nan, index=values.index, dtype=np.float32)
        )
    numbers = pd.to_numeric(text.where(present), errors="coerce")
    numeric = numbers.notna().to_numpy(dtype=bool)
    if numeric[present].all():
        return float32_counted(per_row(numbers), path.name, col, notes)
    comma = text.str.fullmatch(r"[+-]?\d*,\d+").to_numpy(dtype=bool) & present if decimal_comma else numeric & False
    if comma.any():
        with_point = pd.to_numeric(text.where(present).str.replace(",", ".", regex=False), errors="coerce")
        if with_point.notna().to_numpy(dtype=bool)[present].all():
            note_repair(notes, path.name, col, "decimal comma read as a decimal point", int(rows[comma].sum()))
            return float32_counted(per_row(with_point), path.name, col, notes)
    # the distinct values in the order of their first rows, weighted by their rows
    order = np.flatnonzero(present)[np.argsort(first[present], kind="stable")]
    ordered = text.iloc[order].reset_index(drop=True)
    reading = thousands_numbers(ordered, rows[order])
    if reading is not None:
        note_repair(notes, path.name, col, reading.repair, reading.count)
        full = pd.Series(np.nan, index=text.index)
        full.iloc[order] = reading.numbers.to_numpy()
        return float32_counted(per_row(full), path.name, col, notes)
    conflict = thousands_conflict(ordered, rows[order])
    if conflict is not None:
        at, example = conflict
        raise DataError(
            f"{path}, {where(lines[first[order[at]]])}, column {col!r}: {ordered.iloc[at]!r} is not written as the "
            f"column's other numbers, which use a thousands separator (such as {example!r}), so the column "
            f"cannot be read as numbers. Fix: write every number of the column one way (the same separator and "
            f"decimal mark, or none); or, if the value means 'no value', pass it in MISSING_VALUES"
        )
    ambiguous = thousands_ambiguous(ordered)
    if ambiguous is not None and not text_column:
        value = ordered.iloc[ambiguous]
        raise DataError(
            f"{path}, {where(lines[first[order[ambiguous]]])}, column {col!r}: every value is written like "
            f"{value!r}, a number with a thousands separator or a list of numbers (such as ports 80,443): the "
            f"column is ambiguous, so it is not read. Fix: rewrite the numbers without the separator "
            f"({value.replace(',', '').replace('.', '')}), or, if the column is text, name it in CATEGORY_COLUMNS"
        )
    stray = present & ~numeric
    tokens_only = numeric.any() and text[stray].unique().size <= 2  # numbers and a placeholder such as "-"
    if ambiguous is None and (rows[numeric & present].sum() >= rows[present].sum() / 2 or tokens_only):
        strays = np.flatnonzero(stray)[np.argsort(first[stray], kind="stable")]
        examples = ", ".join(repr(v) for v in pd.unique(text.iloc[strays])[:3])
        raise DataError(
            f"{path}, {where(lines[first[strays[0]]])}, column {col!r}: text value {text.iloc[strays[0]]!r} in a "
            f"numeric column ({int(rows[numeric & present].sum()):,} numbers, {int(rows[stray].sum()):,} text values "
            f"such as {examples}). Fix: correct the file; or, if the value means 'no value', pass it in "
            f"MISSING_VALUES; or leave the column out with DROP_COLUMNS={col!r}"
        )
    return _categories(text, present, codes, values.index, col)


def _categories(text: pd.Series, present: np.ndarray, codes: np.ndarray, index: pd.Index, name: str) -> pd.Series:
    """A column as categories: the text of each row's distinct value, missing where it is not ``present``."""
    kept = text[present]
    categories = pd.Index(sorted(set(kept)))  # str, as pandas infers it (and the cache reads it back)
    new = np.full(len(text) + 1, -1, dtype=np.int64)  # the last: a missing value (code -1)
    new[np.flatnonzero(present)] = categories.get_indexer(kept)
    return pd.Series(pd.Categorical.from_codes(new[codes], categories=categories), index=index, name=name)


def _drop_identical_copies(df: pd.DataFrame, path: Path, notes: list[dict]) -> pd.DataFrame:
    """A column renamed ``name.1`` because the header repeats ``name``: dropped if it equals ``name``."""
    identical = []
    for note in [n for n in notes if n["repair"].startswith("duplicate column name")]:
        original = note["column"]
        copies = [c for c in df.columns if c.startswith(f"{original}.") and c[len(original) + 1 :].isdigit()]
        for copy in copies:
            if original in df and df[copy].equals(df[original]):
                identical.append(copy)
                note_repair(notes, path.name, copy, f"identical copy of {original!r} dropped", 1)
    return df.drop(columns=identical)


#: Part of :func:`flow_table_reader`'s cache tag: raised when the reader's output changes, so that the cache
#: entries of the earlier reader are not read.
TABLE_READER_VERSION = 3


def flow_table_reader(
    label_column: str,
    benign_labels: str | Iterable[str],
    column_names: Iterable[str] | None = None,
    ignore_labels: str | Iterable[str] | None = None,
    missing_values: Iterable[str] = (),
    encoding: str = "utf-8",
    text_columns: Iterable[str] = (),
) -> Callable[[Path], pd.DataFrame]:
    """:func:`read_flow_table` with these options as a reader of one path (``DATASET="csv"`` in
    :func:`lib.datasets.load`), its ``cache_tag`` naming the options so that the cache keeps one entry each."""
    names, missing, text = list(column_names or []), list(missing_values), sorted(_param_names(text_columns))
    benign, ignore = sorted(label_values(benign_labels)), sorted(label_values(ignore_labels))

    def reader(path: Path) -> pd.DataFrame:
        return read_flow_table(
            path, label_column, benign, column_names=names, ignore_labels=ignore, missing_values=missing,
            encoding=encoding, text_columns=text,
        )  # fmt: skip

    # TABLE_READER_VERSION: the reader's output changed (ambiguous thousands refused, names stripped)
    options = f"{TABLE_READER_VERSION}|{label_column}|{benign}|{names}|{ignore}|{missing}|{encoding}|{text}"
    reader.cache_tag = "table-" + hashlib.sha256(options.encode()).hexdigest()[:8]
    return reader


# ------------------------------------------------------------------------------ new flows, typed by role
#: Tokens that mean "no value" in a table read by role (Zeek's unset ``-`` included): missing, then imputed
#: as in training.
MISSING_TOKENS = ("", "-", "nan", "NaN", "NAN", "null", "NULL", "None", "(empty)")
#: Rows of a Parquet table read at a time by :func:`frames_by_role`.
PARQUET_BATCH_ROWS = 65_536
#: What a label read by :func:`typed_by_role` becomes when it is one of the benign values.
BENIGN_LABEL = "Benign"


def table_columns(path: Path, encoding: str = "utf-8") -> list[str]:
    """The column names a CSV/TSV table (plain or gzip: its header line, the second after an Excel ``sep=`` line)
    or a Parquet table (its schema) declares, in Unicode NFC, whether or not rows follow, read before any row; a
    binary file is a :class:`DataError`."""
    if path.suffix.lower() == ".parquet":
        return nfc_names(str(n).strip() for n in pq.ParquetFile(path).schema_arrow.names)
    lines = [line.decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n") for line in head_lines(path, 2, encoding)]
    sep, header, _ = table_layout(lines, path)
    return header_names(header, sep)


def frames_by_role(
    path: Path,
    numeric: set[str] | frozenset[str] = frozenset(),
    benign_labels: str | Iterable[str] = "benign",
    batch_rows: int = PARQUET_BATCH_ROWS,
    non_negative: Iterable[str] = (),
    encoding: str = "utf-8",
) -> Iterator[pd.DataFrame]:
    """The rows of a flow table typed by their roles (:func:`typed_by_role`), a frame at a time: CSV/TSV, plain
    or gzip, its text in ``encoding``, parsed as text in line-aligned chunks (``stream.py``; a ragged or cut line is
    an error naming its line, as every reader says it; an Excel ``sep=`` first line skipped), or Parquet read
    ``batch_rows`` rows at a time. Each frame numbers its rows in the file (``row``, rejected rows counted) and
    carries ``attrs["repairs"]`` and ``attrs["rejected"]``. ``non_negative``: the columns of the training data's
    schema that are counts, sizes or durations (:func:`lib.datasets.schema.non_negative_columns`), whose negative
    values become missing as the training data's did."""
    if path.suffix.lower() == ".parquet":
        first = 1
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
            frame = batch.to_pandas().astype("string")
            frame.columns = nfc_names(frame.columns)
            yield typed_by_role(frame, path, numeric, benign_labels, first, non_negative)
            first += len(frame)
        return
    head_lines(path, 1, encoding)  # a binary file is refused with its name before any parse
    notes: list[dict] = []  # the file's own repairs (encoding, its header) go with the first frame
    _, chunks = header_and_chunks(path, notes, encoding=encoding)
    head = next(chunks)
    lines = [line.decode("utf-8", "replace").rstrip("\r") for line in head.data.split(NEWLINE, 2)[:2]]
    sep, header, before = table_layout(lines, path, notes, path.name)
    names = header_names(header, sep)
    types = {n: pa.string() for n in names}
    first = 1
    for chunk in chain([head], chunks):
        skip = before + 1 if chunk.first_line == 1 else 0
        text = parse_table(chunk.data, path, names, sep, types, skip, [], line_offset=chunk.first_line - 1)
        typed = typed_by_role(text, path, numeric, benign_labels, first, non_negative)
        typed.attrs["repairs"], notes = notes + typed.attrs["repairs"], []
        yield typed
        first += len(text)


def typed_by_role(
    frame: pd.DataFrame,
    path: Path,
    numeric: set[str] | frozenset[str],
    benign_labels: str | Iterable[str],
    first: int,
    non_negative: Iterable[str] = (),
) -> pd.DataFrame:
    """A table's text typed by the model's roles: its ``numeric`` columns as float32 numbers, as every loader
    reads them (empty and :data:`MISSING_TOKENS` are missing; ``Infinity`` is inf; beyond float32 is missing;
    a column of this frame whose every number is written with a thousands separator is read as numbers; a
    negative value of a ``non_negative`` column is missing; each counted in ``attrs["repairs"]``), every other
    column as text. A cell that is not a number in a numeric
    column rejects its row, counted once, under the first such column, in ``attrs["rejected"]`` (reason ->
    rows). The label, if any (``label``/``labels``, any case), becomes ``label``, its ``benign_labels`` values
    (any case) read as :data:`BENIGN_LABEL`. ``row`` numbers the rows from ``first``, rejected rows counted."""
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    label = next((c for c in frame.columns if c.lower() in ("label", "labels")), None)
    out: dict[str, object] = {"row": np.arange(first, first + len(frame))}
    bad = np.zeros(len(frame), dtype=bool)
    notes: list[dict] = []
    rejected: dict[str, int] = {}
    for column in frame.columns:
        text = frame[column].astype("string").str.strip()
        if column == label:
            benign = label_values(benign_labels) | {"benign"}
            out["label"] = text.where(~text.str.lower().isin(benign), BENIGN_LABEL)
        elif column in numeric:
            out[column], new_bad = _numbers(text, path, column, bad, first, notes, rejected)
            bad |= new_bad
        else:
            out[column] = text.where(~text.isin(MISSING_TOKENS))
    typed = pd.DataFrame(out).loc[~bad].reset_index(drop=True)
    negatives_to_missing(typed, [c for c in non_negative if c in numeric], path.name, notes)
    typed.attrs["repairs"], typed.attrs["rejected"] = notes, rejected
    return typed


def _numbers(
    text: pd.Series, path: Path, column: str, bad: np.ndarray, first: int, notes: list[dict], rejected: dict[str, int]
) -> tuple[pd.Series, np.ndarray]:
    """One numeric column of :func:`typed_by_role` as float32 (:func:`lib.datasets.csvparse.float32_counted`)
    and the rows it rejects that no earlier column rejected (their count in ``rejected``)."""
    missing = (text.isna() | text.isin(MISSING_TOKENS)).to_numpy()
    numbers = pd.to_numeric(text.where(~missing), errors="coerce")
    if (numbers.isna().to_numpy() & ~missing).any():
        reading = thousands_numbers(text.where(~missing))
        if reading is not None:
            note_repair(notes, path.name, column, reading.repair, reading.count)
            numbers = reading.numbers
    new_bad = numbers.isna().to_numpy() & ~missing & ~bad
    if new_bad.any():
        at = int(np.flatnonzero(new_bad)[0])
        why = f"column {column!r}: not a number (first: {text.iloc[at]!r}, row {first + at})"
        rejected[why] = rejected.get(why, 0) + int(new_bad.sum())
    return float32_counted(numbers, path.name, column, notes), new_bad
