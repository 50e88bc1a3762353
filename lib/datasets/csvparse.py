"""CSV machinery the readers share: the file's bytes, its delimiter and header, a pyarrow parse whose
errors name the file and line, and checked conversion to ``float32``."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from lib.datasets.errors import DataError

NEWLINE = b"\n"


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: the file is empty. Fix: download it again or remove it from the data folder")
    return raw


def _sniff_delimiter(header: str, path: Path) -> str:
    counts = {sep: header.count(sep) for sep in (",", "\t", ";")}
    sep = max(counts, key=counts.get)
    if counts[sep] == 0:
        raise DataError(
            f"{path}: the header line has a single column ({header[:80]!r}); no comma, tab or semicolon "
            f"delimiter found. Fix: save the file as CSV/TSV with a header row"
        )
    return sep


def _header_names(header: str, sep: str) -> list[str]:
    """Column names stripped of whitespace and quotes, duplicates numbered like pandas (``name.1``)."""
    names, seen = [], {}
    for raw in header.rstrip("\r\n").split(sep):
        name = raw.strip().strip('"').strip()
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def _parse_table(
    data: bytes,
    path: Path,
    names: list[str],
    sep: str,
    types: dict[str, pa.DataType],
    skip_rows: int,
    nulls: Iterable[str],
    line_offset: int = 0,
) -> pd.DataFrame:
    """Parse delimited ``data`` with pyarrow; a ragged line becomes a :class:`DataError` with its line number."""
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip_rows, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, quote_char='"' if sep != "\t" else False),
            convert_options=pacsv.ConvertOptions(
                column_types=types, null_values=list(nulls), strings_can_be_null=True, quoted_strings_can_be_null=True
            ),
        )
    except pa.ArrowInvalid as err:
        raise _explain_parse_error(err, data, path, len(names), sep, line_offset) from err
    # One block per column, the Arrow buffers freed as they are converted: lower peak memory, and a later
    # drop of a column does not copy the whole frame.
    return table.to_pandas(types_mapper=None, split_blocks=True, self_destruct=True)


def _explain_parse_error(
    err: Exception, data: bytes, path: Path, n_columns: int, sep: str, line_offset: int
) -> DataError:
    text = str(err)
    where = ""
    m = re.search(r"Expected (\d+) columns, got (\d+): (.*)", text, re.S)
    if m:
        snippet = m.group(3).strip()[:60].encode()
        pos = data.find(snippet)
        if pos >= 0:
            where = f", line {data.count(NEWLINE, 0, pos) + 1 + line_offset}"
        sep_name = {"\t": "tab", ",": "comma", ";": "semicolon"}[sep]
        return DataError(
            f"{path}{where}: expected {n_columns} {sep_name}-separated fields as the header says, found "
            f"{m.group(2)} ({m.group(3).strip()[:80]!r}). The line is truncated or the file was cut or edited. "
            f"Fix: download the file again (or repair that line); nothing was dropped"
        )
    m = re.search(r"column '?([^']+?)'?: (.*)", text)
    column = f", column {m.group(1)!r}" if m else ""
    return DataError(f"{path}{column}: could not parse ({text.splitlines()[0][:200]}). Fix: check the file's format")


def _to_float32(df: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    for col in columns:
        if df[col].dtype == np.float32:
            continue
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path}, column {col!r}: non-numeric value {df[col].iloc[row]!r} (data row {row + 1}). "
                f"Fix: correct the file, or pass the column as an identifier/categorical"
            )
        df[col] = values.astype(np.float32)
