"""Zeek logs written as JSON (``LogAscii::use_json=T``: one object per line, its keys the field names), parsed into
the columns and types the TSV reader gives the same flows; ``zeek.py`` then labels and types both alike, so that a
conn log read from JSON is the frame read from its TSV.

* Recognised by content, whatever the file's name, plain or gzip: :func:`looks_like_zeek_json` (a text's first
  bytes), :func:`is_zeek_json` (a file).
* The log's columns (:class:`JsonColumns`, from its first record): the keys of the first record, a nested object
  flattened with ``.`` (``{"id": {"orig_h": ...}}`` is ``id.orig_h``, on every line: a log that writes a field
  nested on some lines and flat on others reads both as the one field), and the fields every Zeek conn log has
  (:data:`CONN_FIELDS`) where the first record leaves them out (Zeek omits unset fields), so that every chunk of
  the file has the same columns. A key no column has (first seen in a later record) is dropped and counted.
  The Zeek type of a conn log field is Zeek's (:data:`CONN_TYPES`); another field's is that of its value in the
  first record.
* Values as the TSV reader reads Zeek's text: ``ts`` a number or an ISO 8601 string, as seconds (float64); other
  numbers as float32; ``true``/``false`` as ``T``/``F``; an array (a set) joined with ``,``, an empty one
  unset (as TSV's ``(empty)``, which the reader takes for unset), ``""`` unset likewise; a key absent or
  ``null``: unset.

A line that is not a JSON object, or a value of the wrong kind, is an error naming the file, the line and the
column. The text has been checked by the byte layer (``textio.py``: gzip, encodings, line length).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from lib.datasets import stream
from lib.datasets.errors import DataError, note_repair
from lib.datasets.textio import NEWLINE, UTF8_BOM, text_blocks

#: The fields of a Zeek conn log every Zeek version writes, in Zeek's order (IoT-23's ``#fields``).
CONN_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes",
    "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
    "resp_pkts", "resp_ip_bytes", "tunnel_parents",
)  # fmt: skip
_CONN_FIELD_TYPES = (
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string",
    "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]",
)  # fmt: skip
#: The Zeek type of each conn log field (``#types``), those of newer versions and common scripts included.
CONN_TYPES = dict(zip(CONN_FIELDS, _CONN_FIELD_TYPES, strict=True)) | {
    "orig_l2_addr": "string",
    "resp_l2_addr": "string",
    "vlan": "int",
    "inner_vlan": "int",
    "community_id": "string",
    "ip_proto": "count",
}
_NUMBER_TYPES = {"interval", "double", "count", "int", "port"}
_SET_SEPARATOR = ","  # what Zeek's TSV writer puts between the items of a set
_FIRST_KEY = re.compile(rb'\{\s*"(ts|_path|_write_ts|uid)"\s*:')


def looks_like_zeek_json(head: bytes) -> bool:
    """Whether ``head`` (a text's first bytes, decompressed) starts like a Zeek JSON log: its first line a JSON
    object with a ``ts`` key and a Zeek key (``uid``, ``id.orig_h``, ``id``, ``_path``); a first line longer than
    ``head`` is judged by its first key."""
    text = head[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else head
    text = text.lstrip()
    if not text.startswith(b"{"):
        return False
    end = text.find(NEWLINE)
    try:
        record = json.loads((text if end < 0 else text[:end]).decode("utf-8", "replace"))
    except ValueError:
        return end < 0 and _FIRST_KEY.match(text) is not None
    return isinstance(record, dict) and "ts" in record and bool({"uid", "id.orig_h", "id", "_path"} & set(record))


def is_zeek_json(path: str | Path, head_bytes: int = 65536) -> bool:
    """Whether the file's text (plain or gzip, any name) starts like a Zeek JSON log (:func:`looks_like_zeek_json`);
    False for a file that cannot be read."""
    try:
        head = next(text_blocks(Path(path), None, head_bytes), b"")
    except (OSError, EOFError, DataError):
        return False
    return looks_like_zeek_json(head)


@dataclass(frozen=True)
class JsonColumns:
    """The columns of a Zeek JSON log (module docstring), in order, and the Zeek type of each."""

    names: list[str]
    zeek_types: dict[str, str]


def json_columns(first_record: bytes, path: Path, line: int) -> JsonColumns:
    """The columns of a log whose first record is the line ``first_record`` (line ``line`` of the file)."""
    record = _record(first_record, path, line)
    flat = _flattened(record)
    names = list(flat)
    for i, field in enumerate(CONN_FIELDS):  # each where Zeek puts it: after the conn field before it
        if field not in flat:
            before = [names.index(f) for f in CONN_FIELDS[:i] if f in names]
            names.insert(before[-1] + 1 if before else 0, field)
    types = {name: CONN_TYPES.get(name) or _type_of(flat.get(name)) for name in names}
    return JsonColumns(names, types)


def _record(line: bytes, path: Path, number: int) -> dict:
    try:
        record = json.loads(line)
    except ValueError as err:
        raise DataError(
            f"{path}, line {number:,}: not a JSON object ({err}), where a Zeek JSON log has one object per line. "
            f"The line was cut or edited. Fix: download or copy the log again (or repair that line)"
        ) from None
    if not isinstance(record, dict):
        raise DataError(
            f"{path}, line {number:,}: a JSON {type(record).__name__}, not an object, where a Zeek JSON log has one "
            f"object per line. Fix: pass the log as Zeek writes it (one flow per line)"
        )
    return record


def _flattened(record: dict, prefix: str = "") -> dict:
    """``record`` with nested objects' keys joined with ``.``."""
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out |= _flattened(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _type_of(value: object) -> str:
    """The Zeek type a JSON value stands for (a field no conn log type is known for)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "double"
    if isinstance(value, list):
        return "set[string]"
    return "string"


def json_records(data: bytes, path: Path, first_line: int, columns: JsonColumns, notes: list[dict]) -> pd.DataFrame:
    """The records of ``data`` (whole lines of a Zeek JSON log, the first numbered ``first_line``) as a frame of
    ``columns``: ``ts`` (``time``) float64 seconds, numbers float32, everything else text (None for unset), as
    the TSV reader's parse gives them. Keys no column has are dropped, counted in ``notes``."""
    block = max(1 << 24, 2 * stream.MAX_LINE_BYTES)
    try:
        table = pajson.read_json(
            io.BytesIO(data),
            read_options=pajson.ReadOptions(block_size=block),
            parse_options=pajson.ParseOptions(newlines_in_values=False),
        )
    except pa.ArrowInvalid as err:
        raise _explain(err, data, path, first_line) from None
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    table = _one_column_per_name(table, data, path, first_line)
    present = set(table.column_names)
    rows = table.num_rows
    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in columns.names:
        kind = columns.zeek_types[name]
        if name in present:
            out[name] = _values(table.column(name), kind, name, data, path, first_line)
        else:
            out[name] = pa.nulls(rows, _arrow_type(kind))
    for name in table.column_names:
        if name not in columns.names:
            count = rows - table.column(name).null_count
            note_repair(notes, path.name, name, "JSON key that the log's first record lacks dropped", count)
    del table
    # converted as the TSV reader's parse is (csvparse.parse_table): the same dtypes
    return pa.table(out).to_pandas(types_mapper=None, split_blocks=True, self_destruct=True)


def _one_column_per_name(table: pa.Table, data: bytes, path: Path, first_line: int) -> pa.Table:
    """``table`` with the columns of one dotted name made one: a log that writes a field flat (``"id.orig_h"``) on
    some lines and nested (``{"id": {"orig_h": ...}}``) on others (logs of both configurations joined) has it
    twice once flattened, each column set where the other is not. A line that sets both is an error naming it."""
    names = table.column_names
    if len(set(names)) == len(names):
        return table
    columns: dict[str, pa.ChunkedArray] = {}
    for i, name in enumerate(names):
        column = table.column(i)
        if name not in columns or pa.types.is_null(columns[name].type):
            columns[name] = column
            continue
        if pa.types.is_null(column.type):
            continue
        both = pc.and_(pc.is_valid(columns[name]), pc.is_valid(column)).to_numpy(zero_copy_only=False)
        if both.any():
            raise DataError(
                f"{path}, line {_line_of_row(data, int(np.flatnonzero(both)[0]), first_line):,}, column {name!r}: "
                f"the field is given twice, as the key {name!r} and nested in an object. Fix: keep one of the two "
                f"on that line (Zeek writes a field once)"
            )
        try:
            columns[name] = pc.coalesce(columns[name], column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad = _first_valid(column)
            raise DataError(
                f"{path}, line {_line_of_row(data, bad, first_line):,}, column {name!r}: {column[bad].as_py()!r} is a "
                f"value of another kind than the field's values on the lines before. Fix: correct that value (Zeek "
                f"writes each field with one type)"
            ) from None
    return pa.table(columns)


def _arrow_type(kind: str) -> pa.DataType:
    return pa.float64() if kind == "time" else pa.float32() if kind in _NUMBER_TYPES else pa.string()


def _values(
    column: pa.ChunkedArray, kind: str, name: str, data: bytes, path: Path, first_line: int
) -> pa.Array | pa.ChunkedArray:
    """One column of the parse as the TSV reader's parse has it (module docstring)."""
    arrow, wanted = column.type, _arrow_type(kind)
    if pa.types.is_null(arrow):
        return pa.nulls(len(column), wanted)
    if wanted != pa.string():
        if pa.types.is_integer(arrow) or pa.types.is_floating(arrow):
            numbers = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
            return pa.array(numbers.astype(np.float64 if kind == "time" else np.float32), from_pandas=True)
        if kind == "time" and pa.types.is_string(arrow):
            return pa.array(_seconds(column, name, data, path, first_line), from_pandas=True)
        bad = _first_valid(column)
        raise DataError(
            f"{path}, line {_line_of_row(data, bad, first_line):,}, column {name!r}: {column[bad].as_py()!r} is not a "
            f"number, but the field is a Zeek {kind}. Fix: correct that value, or regenerate the log"
        )
    if pa.types.is_boolean(arrow):
        return pc.if_else(column, "T", "F")
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        items = [
            _SET_SEPARATOR.join(_item_text(item) for item in value) if value else None for value in column.to_pylist()
        ]
        return pa.array(items, pa.string())
    if not pa.types.is_string(arrow):
        column = pc.cast(column, pa.string())
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def _item_text(item: object) -> str:
    if isinstance(item, bool):
        return "T" if item else "F"
    return str(item)


def _seconds(column: pa.ChunkedArray, name: str, data: bytes, path: Path, first_line: int) -> np.ndarray:
    """ISO 8601 times (or numbers written as text) as seconds since the epoch (float64; unset: NaN)."""
    text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
    numbers = pd.to_numeric(text, errors="coerce")
    iso = numbers.isna() & text.notna()
    if iso.any():
        stamps = pd.to_datetime(text[iso], utc=True, format="ISO8601", errors="coerce")
        if stamps.isna().any():
            bad = int(np.flatnonzero(iso.to_numpy())[np.flatnonzero(stamps.isna().to_numpy())[0]])
            raise DataError(
                f"{path}, line {_line_of_row(data, bad, first_line):,}, column {name!r}: {text.iloc[bad]!r} is neither "
                f"a number of seconds nor an ISO 8601 time. Fix: correct that value, or regenerate the log"
            )
        ns = stamps.dt.as_unit("ns").astype("int64").to_numpy()
        numbers[iso] = ns // 10**9 + (ns % 10**9) / 1e9
    return numbers.to_numpy(dtype=np.float64)


def _first_valid(column: pa.ChunkedArray) -> int:
    return int(np.flatnonzero(pc.is_valid(column).to_numpy(zero_copy_only=False))[0])


def _line_of_row(data: bytes, row: int, first_line: int) -> int:
    """The line of ``data`` that holds record ``row`` (0-based; blank lines hold none)."""
    for number, line in enumerate(data.split(NEWLINE)):
        if line.strip():
            if row == 0:
                return first_line + number
            row -= 1
    return first_line


def _explain(err: pa.ArrowInvalid, data: bytes, path: Path, first_line: int) -> DataError:
    """A parse error of pyarrow's as an error naming the line: a line that is not a JSON object, or a key whose
    values change kind (number, text, object ...)."""
    kinds: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(data.split(NEWLINE), first_line):
        if not line.strip():
            continue
        record = _flattened(_record(line, path, number))
        for key, value in record.items():
            kind = _kind(value)
            if kind == "null":
                continue
            seen = kinds.setdefault(key, (kind, number))
            if seen[0] != kind and not {seen[0], kind} <= {"integer", "number"}:
                return DataError(
                    f"{path}, line {number:,}, column {key!r}: {value!r} is a JSON {kind}, where the field is a JSON "
                    f"{seen[0]} on line {seen[1]:,}. Fix: correct that value (Zeek writes each field with one type)"
                )
    return DataError(f"{path}: could not parse the JSON log ({str(err).splitlines()[0][:200]}). Fix: check the file")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, Sequence) else "object"
