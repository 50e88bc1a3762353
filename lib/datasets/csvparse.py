"""The CSV machinery every reader of :mod:`lib.datasets` shares, and the scorer's table reader with them
(``table.py``): the public API of this module is what the readers import, nothing else is.

* a file's text: :func:`read_text_bytes` (gzip decompressed, UTF-16 and byte-order mark repaired, archives and
  binary files refused: :func:`refuse_archives`, :func:`refuse_binary`, :func:`is_utf16`, :data:`GZIP_MAGIC`,
  :data:`UTF8_BOM`), :func:`head_lines` (the first lines only), :func:`text_suffix` (``.csv`` of ``x.csv.gz``);
* its layout: :func:`sniff_delimiter` and :func:`header_names` (a repeated name numbered and counted);
* a pyarrow parse whose errors name the file and line: :func:`parse_table` (``line_offset``: the lines before
  a chunk of the file, ``stream.py``), records ending at :data:`NEWLINE`;
* checked conversion to ``float32``: :func:`to_float32` (text is an error), :func:`float32_counted` (values
  beyond float32 made missing and counted) and :func:`count_infinities`.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from lib.datasets.errors import DataError, note_repair

#: The end of a record (Zeek logs and tables alike; a ``\r`` before it is the parser's to strip).
NEWLINE = b"\n"
#: The first bytes of a gzip file (whatever its name).
GZIP_MAGIC = b"\x1f\x8b"
#: A UTF-8 byte-order mark (removed from a file's first line, and counted).
UTF8_BOM = b"\xef\xbb\xbf"
_NOT_TEXT = {
    b"PK\x03\x04": "a zip archive. Fix: unzip it and point DATA_FILES at the files inside",
    b"PAR1": "a Parquet file with another name. Fix: rename it to end in .parquet",
    b"\x28\xb5\x2f\xfd": "a zstd archive. Fix: decompress it (zstd -d) first",
    b"BZh": "a bzip2 archive. Fix: decompress it (bunzip2) first",
    b"\xfd7zXZ": "an xz archive. Fix: decompress it (unxz) first",
}


def read_text_bytes(path: Path, notes: list[dict] | None = None) -> bytes:
    """The file's text as UTF-8 bytes: gzip (whatever the file's name) is decompressed, a UTF-8 byte-order
    mark is stripped and UTF-16 is re-encoded (both recorded in ``notes`` as repairs); archives and binary
    files are refused with what they are."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw.startswith(GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(f"{path}: a gzip file that does not decompress ({err}). Fix: download it again") from err
    notes = [] if notes is None else notes
    refuse_archives(raw, path)
    if is_utf16(raw):
        raw = raw.decode("utf-16").encode("utf-8")
        note_repair(notes, path.name, "", "text re-encoded from UTF-16 to UTF-8", 1)
    if raw.startswith(UTF8_BOM):
        raw = raw[3:]
        note_repair(notes, path.name, "", "UTF-8 byte-order mark removed from the first line", 1)
    refuse_binary(raw, path)
    if not raw.strip():
        raise DataError(f"{path}: the file is empty. Fix: download it again or remove it from the data folder")
    return raw


def refuse_archives(head: bytes, path: Path) -> None:
    """A :class:`DataError` naming the archive or binary format ``head`` (a file's first bytes) starts with."""
    for magic, what in _NOT_TEXT.items():
        if head.startswith(magic):
            raise DataError(f"{path}: this is {what}")


def is_utf16(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) starts with a UTF-16 byte-order mark."""
    return head.startswith((b"\xff\xfe", b"\xfe\xff"))


def refuse_binary(head: bytes, path: Path) -> None:
    """A :class:`DataError` if the text's first 4 KiB hold a NUL byte (binary content, or UTF-32)."""
    if b"\x00" in head[:4096]:
        raise DataError(
            f"{path}: binary content (NUL bytes) near the start, not a text table. Fix: check that this is the "
            f"CSV/TSV/log you meant (a UTF-32 file must be saved as UTF-8)"
        )


def head_lines(path: Path, n: int) -> list[bytes]:
    """The first ``n`` lines of ``path``'s text (gzip decompressed, ``b""`` past its end) without reading the
    rest; a binary file is a :class:`DataError` naming it."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
    with gzip.open(path, "rb") if gzipped else open(path, "rb") as handle:
        lines = [handle.readline(1 << 20) for _ in range(n)]
    if b"\0" in lines[0]:
        raise DataError(f"{path}: a binary file, not a flow table or a Zeek log. Fix: pass the text log or CSV")
    return lines


def first_line(path: Path) -> str:
    """The first line of ``path``'s text (:func:`head_lines`), decoded, a byte-order mark removed."""
    return head_lines(path, 1)[0].decode("utf-8", "replace").lstrip("\ufeff")


def text_suffix(path: Path) -> str:
    """``.csv`` for ``flows.csv.gz``: the suffix of the text inside."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


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


def header_names(header: str, sep: str, notes: list[dict] | None = None, file: object = "") -> list[str]:
    """Column names stripped of whitespace and quotes; a repeated name is numbered like pandas (``name.1``)
    and recorded in ``notes`` (the reader then drops the copy if its values are identical)."""
    names, seen = [], {}
    for raw in header.rstrip("\r\n").split(sep):
        name = raw.strip().strip('"').strip()
        if name in seen:
            seen[name] += 1
            if notes is not None:
                note_repair(notes, file, name, f"duplicate column name: the copy is named {name}.{seen[name]}", 1)
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


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
        sep_name = {"\t": "tab", ",": "comma", ";": "semicolon"}[sep]
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
    """Columns of ``df`` as float32 in place. A text value is an error naming the column and data row (``df``
    starting at data row ``first_row + 1`` of the file); a value beyond float32's range becomes NaN (later
    imputed), counted in ``notes``."""
    for col in columns:
        if df[col].dtype == np.float32:
            continue
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path}, column {col!r}: non-numeric value {df[col].iloc[row]!r} (data row {first_row + row + 1}). "
                f"Fix: correct the file, or pass the column as an identifier/categorical"
            )
        df[col] = float32_counted(values, path, col, notes)


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
