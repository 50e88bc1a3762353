"""The CSV machinery every reader of :mod:`lib.datasets` shares, and the scorer's table reader with them
(``table.py``): the public API of this module is what the readers import, nothing else is.

* a file's text (re-exported from the byte layer, ``textio.py`` and ``stream.py``): :func:`read_text_bytes`
  (gzip decompressed as it is read, UTF-16, ``encoding`` and byte-order mark repaired, CR-only line ends read
  as LF, archives, binary files, over-long lines and bytes that are not UTF-8 refused: :func:`refuse_archives`,
  :func:`refuse_binary`, :func:`is_utf16`, :data:`GZIP_MAGIC`, :data:`UTF8_BOM`), :func:`head_lines` and
  :func:`first_line` (the first lines only), :func:`text_suffix` (``.csv`` of ``x.csv.gz``);
* its layout: :func:`sniff_delimiter` and :func:`header_names` (a repeated name numbered and counted);
* a pyarrow parse whose errors name the file and line: :func:`parse_table` (``line_offset``: the lines before
  a chunk of the file, ``stream.py``), records ending at :data:`NEWLINE`;
* checked conversion to ``float32``: :func:`to_float32` (text is an error), :func:`float32_counted` (values
  beyond float32 made missing and counted) and :func:`count_infinities`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from lib.datasets.errors import DataError, note_repair

# the byte layer (a file's text), re-exported: the readers import these names from this module
from lib.datasets.stream import first_line as first_line
from lib.datasets.stream import head_lines as head_lines
from lib.datasets.stream import read_text_bytes as read_text_bytes
from lib.datasets.textio import GZIP_MAGIC as GZIP_MAGIC
from lib.datasets.textio import NEWLINE as NEWLINE
from lib.datasets.textio import UTF8_BOM as UTF8_BOM
from lib.datasets.textio import is_utf16 as is_utf16
from lib.datasets.textio import refuse_archives as refuse_archives
from lib.datasets.textio import refuse_binary as refuse_binary
from lib.datasets.textio import text_suffix as text_suffix


def sniff_delimiter(header: str, path: Path) -> str:
    """The delimiter of a header line (comma, tab or semicolon: the most frequent); a :class:`DataError` for a
    line with none of them."""
    counts = {sep: header.count(sep) for sep in (",", "\t", ";")}
    sep = max(counts, key=counts.get)
    if counts[sep] == 0:
        raise DataError(
            f"{path}: the header line has a single column ({header[:80]!r}); no comma, tab or semicolon "
            f"delimiter found. Fix: save the file as CSV/TSV with a header row"
        )
    return sep


#: The delimiters a file may declare on an Excel ``sep=`` first line, and their names in messages.
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_EXCEL_SEP = re.compile(r'"?sep=([,;\t|])"?(?:[,;\t|])*')
EXCEL_SEP_REPAIR = "Excel 'sep=' first line read as the delimiter declaration and skipped"


def declared_delimiter(line: str) -> str | None:
    """The delimiter an Excel ``sep=,`` (``sep=;``, ``sep=<tab>``, ``sep=|``; quoted or not, the delimiters Excel
    appends when it saves again allowed) first line declares; None for any other line."""
    match = _EXCEL_SEP.fullmatch(line.lstrip("\ufeff").rstrip("\r\n").strip(" "))
    return match.group(1) if match else None


def table_layout(
    lines: list[str], path: Path, notes: list[dict] | None = None, file: object = ""
) -> tuple[str, str, int]:
    """``(delimiter, header line, lines before it)`` from a table's first two lines: an Excel ``sep=`` line is the
    delimiter declaration, skipped (counted in ``notes``), and the header is the line after it; otherwise the
    first line is the header and its delimiter is sniffed (:func:`sniff_delimiter`)."""
    declared = declared_delimiter(lines[0]) if lines else None
    if declared is None:
        return sniff_delimiter(lines[0] if lines else "", path), lines[0] if lines else "", 0
    if notes is not None:
        note_repair(notes, file, "", EXCEL_SEP_REPAIR, 1)
    header = lines[1] if len(lines) > 1 else ""
    if not header.strip():
        raise DataError(
            f"{path}, line 2: the 'sep=' line declares the delimiter, but no header row follows. Fix: put the "
            f"column names on line 2"
        )
    return declared, header, 1


def header_names(header: str, sep: str, notes: list[dict] | None = None, file: object = "") -> list[str]:
    """Column names stripped of whitespace and quotes and in Unicode NFC (a name written with decomposed
    characters, ``e`` + U+0301, is the name written with ``é``: renamed and recorded in ``notes``); a repeated
    name is numbered like pandas (``name.1``) and recorded in ``notes`` (the reader then drops the copy if its
    values are identical)."""
    import unicodedata

    names, seen = [], {}
    for raw in header.rstrip("\r\n").split(sep):
        written = raw.strip().strip('"').strip()
        name = unicodedata.normalize("NFC", written)
        if name != written and notes is not None:
            note_repair(notes, file, name, "column name written in decomposed Unicode read in NFC", 1)
        if name in seen:
            seen[name] += 1
            if notes is not None:
                note_repair(notes, file, name, f"duplicate column name: the copy is named {name}.{seen[name]}", 1)
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def nfc_names(names: Iterable[object]) -> list[str]:
    """``names`` (a parameter's column names) as text in Unicode NFC, as :func:`header_names` reads a header."""
    import unicodedata

    return [unicodedata.normalize("NFC", str(n)) for n in names]


def parse_table(
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
        raise _explain_parse_error(err, data, path, names, sep, skip_rows, line_offset) from err
    # One block per column, the Arrow buffers freed as they are converted: lower peak memory, and a later
    # drop of a column does not copy the whole frame.
    return table.to_pandas(types_mapper=None, split_blocks=True, self_destruct=True)


def _explain_parse_error(
    err: Exception, data: bytes, path: Path, names: list[str], sep: str, skip_rows: int, line_offset: int
) -> DataError:
    text = str(err)
    where = ""
    m = re.search(r"Expected (\d+) columns, got (\d+): (.*)", text, re.S)
    if m:
        snippet = m.group(3).strip()[:60].encode()
        pos = data.find(snippet)
        if pos >= 0:
            where = f", line {data.count(NEWLINE, 0, pos) + 1 + line_offset}"
        sep_name = DELIMITER_NAMES.get(sep, repr(sep))
        return DataError(
            f"{path}{where}: expected {len(names)} {sep_name}-separated fields as the header says, found "
            f"{m.group(2)} ({m.group(3).strip()[:80]!r}). The line is truncated or the file was cut or edited. "
            f"Fix: download the file again (or repair that line); nothing was dropped"
        )
    m = re.search(r"column #(\d+): .*?invalid value '(.*)'", text)
    if m and int(m.group(1)) < len(names):
        column, value = names[int(m.group(1))], m.group(2)
        line = _line_of_value(data, names, sep, skip_rows, column, value)
        where = f", line {line + line_offset}" if line else ""
        return DataError(
            f"{path}{where}, column {column!r}: {value!r} is not a number, but the header declares the column "
            f"numeric. Fix: correct that value (or the file's #types line), or treat it as missing with "
            f"MISSING_VALUES={value!r} if it means 'no value'"
        )
    m = re.search(r"column '?([^']+?)'?: (.*)", text)
    column = f", column {m.group(1)!r}" if m else ""
    return DataError(f"{path}{column}: could not parse ({text.splitlines()[0][:200]}). Fix: check the file's format")


def _line_of_value(data: bytes, names: list[str], sep: str, skip_rows: int, column: str, value: str) -> int | None:
    """1-based line of ``data`` where ``column`` first holds ``value`` (parsed again as text), or None."""
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip_rows),
            parse_options=pacsv.ParseOptions(delimiter=sep, quote_char='"' if sep != "\t" else False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, include_columns=[column]
            ),
        )
    except pa.ArrowInvalid:
        return None
    hits = np.flatnonzero(table.column(0).to_pandas().to_numpy() == value)
    return int(hits[0]) + skip_rows + 1 if len(hits) else None


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def to_float32(
    df: pd.DataFrame, columns: Iterable[str], path: Path, notes: list[dict] | None = None, first_row: int = 0
) -> None:
    """Columns of ``df`` as float32 in place. Numbers written with a thousands separator are read as numbers when
    the whole column is written so (:func:`lib.datasets.values.thousands_numbers`, counted in ``notes``); any
    other text value is an error naming the column and data row (``df`` starting at data row ``first_row + 1``
    of the file); a value beyond float32's range becomes NaN (later imputed), counted in ``notes``."""
    from lib.datasets import values as written  # (values imports nothing of this module)

    for col in columns:
        if df[col].dtype == np.float32:
            continue
        numbers = pd.to_numeric(df[col], errors="coerce")
        bad = numbers.isna() & df[col].notna()
        if bad.any():
            text = df[col].astype("string").str.strip()
            reading = written.thousands_numbers(text)
            if reading is None:
                conflict = written.thousands_conflict(text)
                row = int(np.flatnonzero(bad.to_numpy())[0]) if conflict is None else conflict[0]
                raise DataError(
                    f"{path}, column {col!r}: non-numeric value {df[col].iloc[row]!r} (data row {first_row + row + 1})"
                    f"{_thousands_hint(conflict)}. Fix: correct the file, or pass the column as an "
                    f"identifier/categorical"
                )
            if notes is not None:
                note_repair(notes, Path(path).name, col, reading.repair, reading.count)
            numbers = reading.numbers
        df[col] = float32_counted(numbers, path, col, notes)


def _thousands_hint(conflict: tuple[int, str] | None) -> str:
    if conflict is None:
        return ""
    return (
        f", where the column's other numbers are written with a thousands separator (such as {conflict[1]!r}): "
        f"every value must be written one way (the same separator and decimal mark, or none)"
    )


def float32_counted(values: pd.Series, file: object, column: str, notes: list[dict] | None) -> pd.Series:
    """``values`` (numeric) as float32; finite values beyond float32's range become NaN, counted in ``notes``."""
    as64 = values.to_numpy(dtype=np.float64, na_value=np.nan)
    over = np.isfinite(as64) & (np.abs(as64) > _FLOAT32_MAX)
    if over.any():
        as64 = np.where(over, np.nan, as64)
        if notes is not None:
            note_repair(
                notes, file, column, "value beyond float32 range (|x| > 3.4e38) set to missing (imputed)", over.sum()
            )
    return pd.Series(as64.astype(np.float32), index=values.index, name=values.name)


def count_infinities(df: pd.DataFrame, columns: Iterable[str], file: object, notes: list[dict]) -> None:
    """Record, per float column, how many values are +/-inf (``Infinity`` in the file, or beyond float32):
    preprocessing turns them into NaN and imputes them."""
    for col in columns:
        if col in df and pd.api.types.is_float_dtype(df[col]):
            n = int(np.isinf(df[col].to_numpy()).sum())
            note_repair(notes, file, col, "infinite value (Infinity, or beyond float32) set to missing (imputed)", n)
