"""IoT-23 and other Zeek conn logs, labelled or not, as Zeek writes them (:func:`read_zeek_conn`; in chunks,
:func:`zeek_conn_frames`): plain or gzip, any file name, in either of Zeek's layouts, told apart by content.

* **TSV** (Zeek's ASCII writer): ``#`` header lines, then the records. A log may hold several **header blocks**
  (rotated logs joined with ``cat``, a log written again after a restart), each of ``#separator``,
  ``#set_separator``, ``#empty_field``, ``#unset_field``, ``#path``, ``#open``, ``#fields`` and ``#types`` lines
  (a later block may repeat only what changes) followed by its records, ``#close`` footers between them. Every
  block's records are parsed with its own header: its separator (``#separator \x09``, ``,`` or any escaped byte),
  its unset and empty tokens, and its fields matched BY NAME to the log's columns, which are the fields of its
  first block. A later block that lacks one of them is an error naming the file, the block's ``#fields`` line and
  the column; a field that only a later block has (newer Zeek adds e.g. ``ip_proto``) is dropped, counted in
  ``attrs["repairs"]``, since the rows before that block have no value for it. Header lines are never parsed as
  records, and a message names a line by its number in the file (every header line of every block counted).
* **JSON** (``LogAscii::use_json=T``, one object per line; ``zeek_json.py``): read into the frame the TSV reader
  gives for the same flows.

The header is carried from chunk to chunk (:class:`ZeekRecords`), so that a log read in chunks
(``stream.py``) gives the frame of the log read whole, wherever its header blocks lie. The steps are public for
the scorer (:mod:`lib.score`), which reads logs with the same code: :class:`ZeekRecords` parses a log's text
chunk by chunk, :func:`zeek_header` reads the ``#`` header lines at the start of a text into a
:class:`ZeekFormat` (:func:`json_format` that of a JSON log, from its :func:`first_record`), :func:`zeek_frame`
parses a chunk of records by one, :func:`log_columns` gives a log's columns before any record and
:func:`scenario_name` the IoT-23 scenario a log belongs to.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lib import registry
from lib.datasets.csvparse import count_infinities, parse_table
from lib.datasets.errors import DataError, note_repair
from lib.datasets.schema import constant_categorical
from lib.datasets.stream import Chunk, combine_frames, head_lines, merge_repairs, parse_chunks, text_chunks
from lib.datasets.table import label_values
from lib.datasets.textio import DEFAULT_ENCODING, NEWLINE, refuse_non_utf8
from lib.datasets.zeek_json import JsonColumns, json_columns, json_records, looks_like_zeek_json

log = logging.getLogger(__package__)  # "lib.datasets" for every file of the package

_ZEEK_FLOAT = {"interval", "double", "count", "int", "port"}
_ZEEK_CATEGORICAL = ("proto", "service", "conn_state", "history")
_ZEEK_TEXT = ("string", "addr", "bool", "set[string]", "enum")
_DETAILED_NAMES = ("detailed-label", "detailedlabel", "detailed_label", "det_label")
#: The header lines that define how a block's records are read (``#path``, ``#open``, ``#close`` only inform).
_FORMAT_KEYS = {"#separator", "#set_separator", "#empty_field", "#unset_field", "#fields", "#types"}
_INFO_KEYS = {"#path", "#open", "#close"}
_ESCAPED = re.compile(rb"\\x([0-9a-fA-F]{2})")


def read_zeek_conn(
    path: str | os.PathLike,
    benign_labels: str | Iterable[str] | None = None,
    ignore_labels: str | Iterable[str] | None = ("Background",),
    label_column: str = "label",
    labels_required: bool = True,
    encoding: str = DEFAULT_ENCODING,
) -> pd.DataFrame:
    """One labelled Zeek ``conn.log``: IoT-23 ``conn.log.labeled`` or any other CTU-style capture, any file
    name, plain or gzip, TSV (with any number of header blocks) or JSON (module docstring), its text in
    ``encoding`` (re-encoded to UTF-8 as it is read, counted).

    Handles IoT-23's two layouts of the last fields (``tunnel_parents   label   detailed-label`` inside one
    tab field, or real tab fields), the detailed column under any of its names (``detailed-label``,
    ``detailedlabel``, ``det_label``) or none at all, ``#`` header and ``#close`` footer lines (with trailing
    junk), ``-`` for unset and label case. Labels: ``Malicious`` is an attack (its family from the detailed
    label, :func:`lib.registry.iot23_family`), ``benign_labels`` (default ``Benign``) normal, and
    ``ignore_labels`` (default ``Background``, CTU's unlabelled traffic) are dropped and counted in
    ``attrs["repairs"]``. Other values are an error unless ``benign_labels`` was given: then every value
    not benign or ignored is an attack family of its own. A log larger than
    :data:`lib.datasets.stream.STREAM_BYTES` is parsed in chunks (:func:`zeek_conn_frames`) into the same frame.

    ``labels_required=False`` (scoring new traffic, :mod:`lib.score`) also reads a plain ``conn.log``: without
    the label column the frame has no ``label``, ``label_detail`` or ``is_attack`` column.
    """
    frames = zeek_conn_frames(path, benign_labels, ignore_labels, label_column, labels_required, encoding=encoding)
    return combine_frames(frames, path)


def zeek_conn_frames(
    path: str | os.PathLike,
    benign_labels: str | Iterable[str] | None = None,
    ignore_labels: str | Iterable[str] | None = ("Background",),
    label_column: str = "label",
    labels_required: bool = True,
    empty_ok: bool = False,
    encoding: str = DEFAULT_ENCODING,
) -> Iterator[pd.DataFrame]:
    """:func:`read_zeek_conn` of ``path``, one frame per chunk of its text that holds records
    (:func:`lib.datasets.stream.text_chunks`: one frame for a log up to ``STREAM_BYTES``), parsed by one
    :class:`ZeekRecords`, which carries the header from chunk to chunk."""
    path = Path(path)
    notes: list[dict] = []
    chunks = text_chunks(path, notes, encoding, check_utf8=False)  # checked record by record, columns named
    first = next(chunks)  # read now: the file's own repairs (gzip, encoding) are in notes before any parse
    records = ZeekRecords(path, label_column, benign_labels, ignore_labels, labels_required)
    chunks = chain([first], chunks)
    del first  # each chunk's bytes are held only while it is parsed
    has_records = False
    for frame in parse_chunks(chunks, records.frame, notes):
        has_records = True
        yield frame
        del frame  # not held while the next chunk is parsed
    if not has_records and not empty_ok:  # (scoring: a quiet hour of traffic is a log without records)
        raise DataError(f"{path}: the log has a header but no flow records. Fix: download the file again")


read_zeek_conn.cache_tag = "zeek"
read_zeek_conn.chunks = zeek_conn_frames


@dataclass(frozen=True)
class ZeekFormat:
    """What a header block says (fields, their Zeek and Arrow types, the unset and empty tokens, the separator,
    the label columns, the line of its ``#fields`` line) and how its labels are read; ``json``: the columns of a
    JSON log (its first record's keys and the conn log's fields, ``zeek_json.py``)."""

    names: list[str]
    zeek_types: dict[str, str]
    arrow_types: dict[str, pa.DataType]
    unset: str
    label_column: str | None  # None: a log without labels (read with labels_required=False)
    detail_column: str | None
    benign_labels: str | Iterable[str] | None
    ignore_labels: str | Iterable[str] | None
    separator: bytes = b"\t"
    empty: str = "(empty)"
    fields_line: int = 0  # the number of the block's '#fields' line in the file (0: not known)
    json: bool = False


class _Header:
    """The header lines of a log read so far: each directive's value and line, the separator in force, those
    given in the block being read, and whether any changed since the block in force was built."""

    def __init__(self, path: Path):
        self.path = path
        self.values: dict[str, list[bytes]] = {}
        self.lines: dict[str, int] = {}
        self.block: set[str] = set()  # the directives of the block being read
        self.separator = b"\t"
        self.changed = False

    def begin_block(self) -> None:
        """A ``#`` line after records: a new block (or a footer) starts."""
        self.block = set()

    def add(self, line: bytes, number: int) -> bool:
        """One ``#`` line (without its line end), line ``number`` of the file; False for a line that is not one
        of Zeek's header lines (a comment)."""
        refuse_non_utf8(line, self.path, number)
        if line.startswith(b"#separator") and line[10:11] in (b" ", b"\t"):
            separator = _unescape(line[11:].rstrip(b"\r"))
            if not separator:
                raise DataError(
                    f"{self.path}, line {number:,}: the #separator line names no separator. Fix: write it as Zeek "
                    f"does ('#separator \\x09' for a tab)"
                )
            key, values, self.separator = "#separator", [separator], separator
        else:
            key_bytes, found, rest = line.rstrip(b"\r").partition(self.separator)
            key = key_bytes.decode("utf-8").strip()
            values = rest.split(self.separator) if found else []
            if self.separator == b"\t":  # IoT-23: the last fields inside one tab field, three spaces apart
                values = [part for value in values for part in value.split(b"   ")]
        if key in _FORMAT_KEYS:
            self.values[key], self.lines[key] = values, number
            self.block.add(key)
            self.changed = True
        return key in _FORMAT_KEYS or key in _INFO_KEYS

    def text(self, key: str, default: str) -> str:
        """A one-value directive (``#unset_field``, ``#empty_field``), its ``\\xHH`` escapes read."""
        values = self.values.get(key)
        return _unescape(values[0]).decode("utf-8") if values else default

    def fields(self, first_line: int) -> tuple[list[str], dict[str, str], int]:
        """The block's field names, their Zeek types (``#types``: given with these fields, or with the same
        fields before) and the line of its ``#fields`` line."""
        if "#fields" not in self.values:
            raise DataError(
                f"{self.path}, line {first_line:,}: no '#fields' header line before the records, so this is not a "
                f"Zeek TSV log (or its header was cut off). Fix: pass the conn log as Zeek writes it; a table "
                f"exported from one is read with DATASET='csv' (LABEL_COLUMN, BENIGN_LABELS, MISSING_VALUES='-')"
            )
        names = [value.decode("utf-8").strip() for value in self.values["#fields"]]
        line = self.lines["#fields"]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise DataError(
                f"{self.path}, line {line}: the #fields line names {repeated} more than once. Fix: repair the "
                f"header (each field once), or regenerate the log"
            )
        types = self.values.get("#types", [])
        if "#fields" in self.block and "#types" not in self.block:
            types = []  # fields given without their types: not those of the fields before
        zeek_types = dict(zip(names, (t.decode("utf-8").strip() for t in types), strict=False))
        return names, zeek_types, line


def _unescape(value: bytes) -> bytes:
    """Zeek's ``\\xHH`` escapes as the bytes they stand for."""
    return _ESCAPED.sub(lambda m: bytes([int(m.group(1), 16)]), value)


def _unescape_separator(df: pd.DataFrame, separator: bytes) -> None:
    """Text values of ``df`` with Zeek's escape of the separator (``\\x2c`` in a log whose separator is ``,``)
    read as the separator, in place."""
    text = separator.decode("latin-1")
    for escaped in {"".join(f"\\x{b:02x}" for b in separator), "".join(f"\\x{b:02X}" for b in separator)}:
        for col in df.columns:
            if pd.api.types.is_string_dtype(df[col]):
                values = df[col]
                hit = values.str.contains(escaped, regex=False, na=False).to_numpy()
                if hit.any():
                    df.loc[hit, col] = values[hit].str.replace(escaped, text, regex=False)


def _first_format(
    header: _Header,
    first_line: int,
    label_column: str,
    benign_labels: str | Iterable[str] | None,
    ignore_labels: str | Iterable[str] | None,
    labels_required: bool,
) -> ZeekFormat:
    """The format of a log's first header block: its columns are the log's."""
    names, zeek_types, fields_line = header.fields(first_line)
    label, detail = _label_columns(names, header.path, fields_line, "the #fields line", label_column, labels_required)
    types = {
        n: pa.float64() if t == "time" else pa.float32() if t in _ZEEK_FLOAT else pa.string()
        for n, t in zeek_types.items()
    }
    if label is not None:
        types[label] = pa.string()
    return ZeekFormat(
        names,
        zeek_types,
        types,
        header.text("#unset_field", "-"),
        label,
        detail,
        benign_labels,
        ignore_labels,
        separator=header.separator,
        empty=header.text("#empty_field", "(empty)"),
        fields_line=fields_line,
    )


def _label_columns(
    names: list[str], path: Path, line: int, where: str, label_column: str, labels_required: bool
) -> tuple[str | None, str | None]:
    """The label column (None for a log without one, read with ``labels_required=False``) and the detailed one."""
    detail = next((n for n in names if n.lower() in _DETAILED_NAMES and n != label_column), None)
    if label_column in names:
        return label_column, detail
    if not labels_required:
        return None, detail
    raise DataError(
        f"{path}, line {line}: {where} has no {label_column!r} column (fields: {', '.join(names[-4:])}). Fix: a "
        f"plain conn.log has no labels; label it first, or set LABEL_COLUMN to the field that holds the label"
    )


def zeek_header(
    raw: bytes,
    path: Path,
    label_column: str,
    benign_labels: str | Iterable[str] | None,
    ignore_labels: str | Iterable[str] | None,
    labels_required: bool = True,
) -> tuple[ZeekFormat, int]:
    """The format the ``#`` header lines at the start of ``raw`` declare (lines numbered from 1; its separator,
    unset and empty tokens honoured), and where the records start."""
    header, start, number = _Header(Path(path)), 0, 1
    while raw.startswith(b"#", start):
        end = raw.find(NEWLINE, start)
        end = len(raw) if end < 0 else end + 1
        header.add(raw[start:end].rstrip(b"\n"), number)
        start, number = end, number + 1
    if "#fields" not in header.values:
        raise DataError(
            f"{path}, line 1: no '#fields' header line, so this is not a Zeek TSV log (a table exported from one?). "
            f"Fix: pass the conn log as Zeek writes it (TSV or JSON), or read a table with DATASET='csv' "
            f"(LABEL_COLUMN, BENIGN_LABELS, MISSING_VALUES='-')"
        )
    return _first_format(header, 1, label_column, benign_labels, ignore_labels, labels_required), start


def first_record(data: bytes, first_line: int) -> tuple[bytes, int]:
    """The first line of ``data`` (lines, the first numbered ``first_line``) that is not blank, without its line
    end, and its number: a JSON log's first record."""
    pos, line = 0, first_line
    while True:
        end = data.find(NEWLINE, pos)
        record = data[pos:] if end < 0 else data[pos:end]
        if (record and not record.isspace()) or end < 0:
            return record, line
        pos, line = end + 1, line + 1


def json_format(
    first_record: bytes,
    path: Path,
    line: int,
    label_column: str = "label",
    benign_labels: str | Iterable[str] | None = None,
    ignore_labels: str | Iterable[str] | None = ("Background",),
    labels_required: bool = True,
) -> ZeekFormat:
    """The format of a Zeek JSON log whose first record is ``first_record`` (line ``line`` of the file): its
    columns (:func:`lib.datasets.zeek_json.json_columns`) and label columns, as :class:`ZeekRecords` reads it; the
    scorer's follow mode reads a JSON log that grows by it (:func:`zeek_frame`)."""
    columns = json_columns(first_record, Path(path), line)
    where = "the log's first record"
    label, detail = _label_columns(columns.names, Path(path), line, where, label_column, labels_required)
    return ZeekFormat(
        columns.names, columns.zeek_types, {}, "-", label, detail, benign_labels, ignore_labels, fields_line=line,
        json=True,
    )  # fmt: skip


def log_columns(path: Path, encoding: str = DEFAULT_ENCODING) -> list[str]:
    """A log's columns, whether or not records follow, labelled or not: the fields of its first header block's
    ``#fields`` line (in its first 20 lines), or a JSON log's columns (its first record's keys and the conn
    log's fields)."""
    lines = head_lines(path, 20, encoding)
    first = next((n for n, line in enumerate(lines) if line.strip()), 0)
    if looks_like_zeek_json(lines[first]):
        return json_columns(lines[first], Path(path), first + 1).names
    fmt, _ = zeek_header(b"".join(lines), path, "label", None, (), labels_required=False)
    return list(fmt.names)


class ZeekRecords:
    """A Zeek log's records as frames, its text given chunk by chunk in the file's order (:meth:`frame`): TSV,
    with its header blocks wherever they lie (a block's header lines may even be cut between two chunks), or
    JSON; which it is, the first chunk says. ``format`` is the log's columns (its first header block, or its
    JSON columns) once read; a ``log_format`` given is taken as the log's first block (:func:`zeek_frame`)."""

    def __init__(
        self,
        path: str | os.PathLike,
        label_column: str = "label",
        benign_labels: str | Iterable[str] | None = None,
        ignore_labels: str | Iterable[str] | None = ("Background",),
        labels_required: bool = True,
        log_format: ZeekFormat | None = None,
    ):
        self.path = Path(path)
        self.options = (label_column, benign_labels, ignore_labels, labels_required)
        self.format = self.block = log_format
        self.json: JsonColumns | None = None
        if log_format is not None and log_format.json:
            self.json = JsonColumns(list(log_format.names), dict(log_format.zeek_types))
        self.layout = None if log_format is None else "json" if log_format.json else "tsv"
        self.header = _Header(self.path)
        self.after_records = False

    def frame(self, chunk: Chunk, notes: list[dict]) -> pd.DataFrame | None:
        """The flows of ``chunk`` (whole lines of the log, the next after those given before), None if it holds
        none; repairs recorded in ``notes``."""
        if self.layout is None:
            self.layout = self._layout(chunk)
        own: list[dict] = []
        parts = self._json(chunk, own) if self.layout == "json" else self._tsv(chunk, own)
        notes += merge_repairs([own])
        if not parts:
            return None
        df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        del parts
        return self._finish(df, notes)

    def _layout(self, chunk: Chunk) -> str:
        start = chunk.data[:65536].lstrip()
        if start.startswith(b"#"):
            return "tsv"
        if looks_like_zeek_json(start):
            return "json"
        raise DataError(
            f"{self.path}, line {chunk.first_line}: no '#fields' header line, so this is not a Zeek TSV log, nor a "
            f"Zeek JSON log (one JSON object per line, with a 'ts' key). Fix: pass the conn log as Zeek writes it; a "
            f"table exported from one is read with DATASET='csv' (LABEL_COLUMN, BENIGN_LABELS, MISSING_VALUES='-')"
        )

    # ------------------------------------------------------------------------------------------------ TSV
    def _tsv(self, chunk: Chunk, notes: list[dict]) -> list[pd.DataFrame]:
        """The chunk's runs of records, each parsed by the header block in force; its ``#`` lines read into the
        header."""
        data, line, parts = chunk.data, chunk.first_line, []
        pos, n, comments = 0, len(data), 0
        while pos < n:
            if data.startswith(b"#", pos):
                end = data.find(NEWLINE, pos)
                end = n if end < 0 else end + 1
                if self.after_records:
                    self.header.begin_block()
                    self.after_records = False
                if not self.header.add(data[pos:end].rstrip(b"\n"), line):
                    comments += 1
                pos, line = end, line + 1
                continue
            nxt = data.find(b"\n#", pos)
            end = n if nxt < 0 else nxt + 1
            body = data if (pos, end) == (0, n) else data[pos:end]
            if not body.isspace():
                self.after_records = True
                part = self._records(body, line, notes)
                if part is not None:
                    parts.append(part)
            if end < n:
                line += body.count(NEWLINE)
            del body
            pos = end
        note_repair(notes, self.path.name, "", "'#' lines that are not Zeek header lines skipped", comments)
        return parts

    def _records(self, body: bytes, first_line: int, notes: list[dict]) -> pd.DataFrame | None:
        """One run of records (no ``#`` line among them), starting on line ``first_line``, as the log's columns."""
        if self.block is None or self.header.changed:
            self._new_block(first_line)
        block, fmt = self.block, self.format
        sep = block.separator
        if sep == b"\t":
            body = body.replace(b"   ", b"\t")  # IoT-23's last fields, three spaces apart
        refuse_non_utf8(body, self.path, first_line, block.names, sep)
        if len(sep) > 1 or not sep.isascii() or sep in b'"\r\n':  # the parser's delimiter is one ASCII byte
            body, sep = body.replace(sep, b"\t"), b"\t"  # (Zeek escapes a tab inside a value: \x09)
        df = parse_table(
            body,
            self.path,
            block.names,
            sep.decode("latin-1"),
            block.arrow_types,
            0,
            [block.unset, block.empty],
            line_offset=first_line - 1,
        )
        if b"\\x" in body:
            _unescape_separator(df, block.separator)
        del body
        if block is not fmt:
            for name in block.names:
                if name not in fmt.names:
                    note_repair(
                        notes,
                        self.path.name,
                        name,
                        f"field that the log's first header block (#fields on line {fmt.fields_line}) lacks dropped "
                        f"(a later header block has it)",
                        int(df[name].notna().sum()),
                    )
            df = df[fmt.names]
        return df if len(df) else None

    def _new_block(self, first_line: int) -> None:
        """The header block in force from line ``first_line`` on: the log's first (its columns), or a later one
        matched to them by name."""
        label_column, benign, ignore, required = self.options
        header = self.header
        header.changed = False
        if self.format is None:
            self.format = self.block = _first_format(header, first_line, label_column, benign, ignore, required)
            return
        fmt = self.format
        names, zeek_types, fields_line = header.fields(first_line)
        missing = [name for name in fmt.names if name not in names]
        if missing:
            raise DataError(
                f"{self.path}, line {fields_line:,}: this header block's #fields line has no {missing[0]!r} column "
                f"(missing: {', '.join(missing)}), which the log's first header block (#fields on line "
                f"{fmt.fields_line:,}) has; every block of a log must have the first block's fields (a field a later "
                f"block adds is dropped and counted). Fix: read the logs the file joins as separate files "
                f"(DATA_FILES=a.log,b.log), or put the one with the fewest fields first"
            )
        types = {name: fmt.arrow_types[name] for name in names if name in fmt.arrow_types}
        types |= {name: pa.string() for name in names if name not in fmt.names}  # dropped after the parse
        self.block = dataclasses.replace(
            fmt,
            names=names,
            zeek_types={**zeek_types, **fmt.zeek_types},
            arrow_types=types,
            unset=header.text("#unset_field", "-"),
            separator=header.separator,
            empty=header.text("#empty_field", "(empty)"),
            fields_line=fields_line,
        )

    # ----------------------------------------------------------------------------------------------- JSON
    def _json(self, chunk: Chunk, notes: list[dict]) -> list[pd.DataFrame]:
        data = chunk.data
        if not data or data.isspace():
            return []
        refuse_non_utf8(data, self.path, chunk.first_line)
        if self.json is None:
            self.json = self._json_columns(chunk)
        df = json_records(data, self.path, chunk.first_line, self.json, notes)
        return [df] if len(df) else []

    def _json_columns(self, chunk: Chunk) -> JsonColumns:
        """The log's columns, from its first record (the first line of ``chunk`` that is not blank)."""
        record, line = first_record(chunk.data, chunk.first_line)
        self.format = self.block = json_format(record, self.path, line, *self.options)
        return JsonColumns(list(self.format.names), dict(self.format.zeek_types))

    # ------------------------------------------------------------------------------------------ the frame
    def _finish(self, df: pd.DataFrame, notes: list[dict]) -> pd.DataFrame:
        """Parsed records (the log's columns) as the reader's frame: labels read, categoricals and text typed,
        infinities counted."""
        fmt, path = self.format, self.path
        if fmt.label_column is not None:
            df = _labelled(df, fmt, notes, path)
        df["scenario"] = constant_categorical(scenario_name(path), len(df))
        for col in _ZEEK_CATEGORICAL:
            if col in df:
                df[col] = df[col].astype("category")
        for col, t in fmt.zeek_types.items():
            if col in df and t in _ZEEK_TEXT and col not in _ZEEK_CATEGORICAL:
                df[col] = df[col].astype("string")
        count_infinities(df, [c for c, t in fmt.zeek_types.items() if t in _ZEEK_FLOAT], path.name, notes)
        df.attrs["repairs"] = notes
        return df


def zeek_frame(chunk: Chunk, notes: list[dict], log_format: ZeekFormat, path: Path) -> pd.DataFrame | None:
    """The flows of one chunk of a log's records parsed by ``log_format`` (None if it holds none), repairs
    recorded in ``notes``; a header block among them is read as :class:`ZeekRecords` reads it (a reader of
    consecutive chunks keeps one :class:`ZeekRecords`, so that a header block may be cut between chunks)."""
    return ZeekRecords(path, log_format=log_format).frame(chunk, notes)


def _labelled(df: pd.DataFrame, fmt: ZeekFormat, notes: list[dict], path: Path) -> pd.DataFrame:
    """``df`` with its label columns read into ``label``, ``label_detail`` and ``is_attack`` (rows of
    ``fmt.ignore_labels`` dropped and counted in ``notes``). Benign and ``Malicious`` labels are matched whatever
    their case and surrounding space (surrounding space stripped, counted); another label (an attack family) is
    kept as it is spelt, so that the rule of :func:`lib.datasets.load` for spellings that differ only by case or
    surrounding space decides which spelling wins and counts the others."""
    label_column, unset = fmt.label_column, fmt.unset
    raw_label = df.pop(label_column).fillna(unset).astype(str)
    no_detail = pd.Series(unset, index=raw_label.index, dtype=object)
    detailed = df.pop(fmt.detail_column).fillna(unset).astype(str) if fmt.detail_column else no_detail
    stripped = raw_label.str.strip()
    lowered = stripped.str.lower()
    benign = label_values(fmt.benign_labels) or {"benign"}
    ignore = label_values(fmt.ignore_labels)
    unknown = sorted(set(stripped[~lowered.isin(benign | ignore | {"malicious"})]))
    if unknown and fmt.benign_labels is None:
        raise DataError(
            f"{path}, column {label_column!r}: unexpected value(s) {unknown[:5]}; expected Benign/Malicious "
            f"(Background is ignored). Fix: list the normal values in BENIGN_LABELS (every other value is then an "
            f"attack family) and unlabelled ones in IGNORE_LABELS"
        )
    ignored = lowered.isin(ignore).to_numpy()
    for value, count in stripped[ignored].value_counts().items():
        note_repair(notes, path.name, label_column, f"flows labelled {value!r} dropped (IGNORE_LABELS)", count)
    if ignored.any():
        keep = ~ignored
        df, raw_label, lowered, detailed = (
            df[keep].reset_index(drop=True),
            raw_label[keep],
            lowered[keep],
            detailed[keep],
        )
    is_benign = lowered.isin(benign).to_numpy()
    keyword = is_benign | (lowered == "malicious").to_numpy()
    spaced = keyword & (raw_label != raw_label.str.strip()).to_numpy()
    for value, count in raw_label[spaced].value_counts().items():
        note_repair(notes, path.name, label_column, f"surrounding space of label {value!r} stripped", count)
    df["label"] = _families(lowered, raw_label, detailed, is_benign)
    df["label_detail"] = pd.Categorical(
        np.where(detailed.isin([unset, ""]).to_numpy(), df["label"].astype(str), detailed.to_numpy())
    )
    df["is_attack"] = (~is_benign).astype(np.int8)
    return df


def _families(lowered: pd.Series, raw_label: pd.Series, detailed: pd.Series, is_benign: np.ndarray) -> pd.Categorical:
    """The family of every flow: ``Benign``, the IoT-23 family of a ``Malicious`` flow's detailed label
    (:func:`registry.iot23_family`), or another label as it is spelt; computed once per distinct (label,
    detailed-label) pair instead of once per row."""
    kinds = np.where(is_benign, 0, np.where((lowered == "malicious").to_numpy(), 1, 2))  # benign, Malicious, other
    keys = pd.Series(np.where(kinds == 2, raw_label.to_numpy(), ""), dtype=object)
    lab_codes, lab_values = pd.factorize(keys, use_na_sentinel=False)
    det_codes, det_values = pd.factorize(detailed, use_na_sentinel=False)
    lab_kinds = lab_codes.astype(np.int64) * 3 + kinds
    pair_codes, pairs = pd.factorize(lab_kinds * len(det_values) + det_codes)
    families = []
    for p in pairs:
        (code, kind), detail = divmod(p // len(det_values), 3), det_values[p % len(det_values)]
        if kind == 0:
            families.append("Benign")
        elif kind == 1:
            families.append(registry.iot23_family("malicious", detail))
        else:
            families.append(lab_values[code])
    categories = sorted(set(families))
    codes = np.array([categories.index(f) for f in families], dtype=np.int32)[pair_codes]
    return pd.Categorical.from_codes(codes, categories=categories)


def scenario_name(path: Path) -> str:
    """The IoT-23 scenario of a log: the folder above ``bro/`` (``CTU-IoT-Malware-Capture-44-1``), else the
    log's own folder."""
    parts = path.resolve().parts
    return parts[-3] if len(parts) >= 3 and parts[-2] == "bro" else path.parent.name
