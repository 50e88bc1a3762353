"""IoT-23 and other labelled Zeek conn logs (:func:`read_zeek_conn`; in chunks, :func:`zeek_conn_frames`).

The steps are public for the scorer's follow mode (:mod:`lib.score`), which reads a log as Zeek writes it with
the same code: :func:`zeek_header` reads the ``#`` header lines into a :class:`ZeekFormat`, :func:`zeek_frame`
parses a chunk of records by it, :func:`log_columns` gives a log's fields before any record and
:func:`scenario_name` the IoT-23 scenario a log belongs to.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lib import registry
from lib.datasets.csvparse import NEWLINE, count_infinities, head_lines, parse_table
from lib.datasets.errors import DataError, note_repair
from lib.datasets.schema import constant_categorical
from lib.datasets.stream import Chunk, combine_frames, parse_chunks, text_chunks
from lib.datasets.table import label_values

log = logging.getLogger(__package__)  # "lib.datasets" for every file of the package

_ZEEK_FLOAT = {"interval", "double", "count", "int", "port"}
_ZEEK_CATEGORICAL = ("proto", "service", "conn_state", "history")


_DETAILED_NAMES = ("detailed-label", "detailedlabel", "detailed_label", "det_label")


def read_zeek_conn(
    path: str | os.PathLike,
    benign_labels: str | Iterable[str] | None = None,
    ignore_labels: str | Iterable[str] | None = ("Background",),
    label_column: str = "label",
    labels_required: bool = True,
) -> pd.DataFrame:
    """One labelled Zeek ``conn.log``: IoT-23 ``conn.log.labeled`` or any other CTU-style capture, any file
    name, plain or gzip.

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
    return combine_frames(zeek_conn_frames(path, benign_labels, ignore_labels, label_column, labels_required), path)


def zeek_conn_frames(
    path: str | os.PathLike,
    benign_labels: str | Iterable[str] | None = None,
    ignore_labels: str | Iterable[str] | None = ("Background",),
    label_column: str = "label",
    labels_required: bool = True,
    empty_ok: bool = False,
) -> Iterator[pd.DataFrame]:
    """:func:`read_zeek_conn` of ``path``, one frame per chunk of its text (:func:`lib.datasets.stream.text_chunks`:
    one frame for a log up to ``STREAM_BYTES``): the header is read once, from the first chunk, and every chunk's
    records are parsed by :func:`zeek_frame`."""
    path = Path(path)
    notes: list[dict] = []
    chunks = text_chunks(path, notes)
    first = next(chunks)
    log_format, body_start = zeek_header(first.data, path, label_column, benign_labels, ignore_labels, labels_required)
    header_lines = first.data.count(NEWLINE, 0, body_start)
    chunks = chain([Chunk(first.data[body_start:], first.first_line + header_lines, first.whole)], chunks)
    del first  # each chunk's bytes are held only while it is parsed
    has_records = False
    for frame in parse_chunks(chunks, partial(zeek_frame, log_format=log_format, path=path), notes):
        has_records = True
        yield frame
        del frame  # not held while the next chunk is parsed
    if not has_records and not empty_ok:  # (scoring: a quiet hour of traffic is a log without records)
        raise DataError(f"{path}: the log has a header but no flow records. Fix: download the file again")


read_zeek_conn.cache_tag = "zeek"
read_zeek_conn.chunks = zeek_conn_frames


@dataclass(frozen=True)
class ZeekFormat:
    """What a log's header says (fields, their Zeek and Arrow types, the unset token, the label columns) and
    how its labels are read."""

    names: list[str]
    zeek_types: dict[str, str]
    arrow_types: dict[str, pa.DataType]
    unset: str
    label_column: str | None  # None: a log without labels (read with labels_required=False)
    detail_column: str | None
    benign_labels: str | Iterable[str] | None
    ignore_labels: str | Iterable[str] | None


def zeek_header(
    raw: bytes,
    path: Path,
    label_column: str,
    benign_labels: str | Iterable[str] | None,
    ignore_labels: str | Iterable[str] | None,
    labels_required: bool = True,
) -> tuple[ZeekFormat, int]:
    """The format the ``#`` header lines at the start of ``raw`` declare, and where the records start."""
    header: dict[str, list[str]] = {}
    body_start, fields_line = 0, 1
    for number, line in enumerate(raw.split(b"\n", 20), 1):
        if not line.startswith(b"#"):
            break
        body_start += len(line) + 1
        fields_line = number if line.startswith(b"#fields") else fields_line
        key, _, value = line.decode("utf-8", "replace").rstrip("\r").partition("\t")
        if key == "#separator":
            key, value = "#separator", line.split(b" ", 1)[-1].decode().strip()
        header[key] = [part for field in value.split("\t") for part in field.split("   ")]
    if "#fields" not in header:
        raise DataError(
            f"{path}, line 1: no '#fields' header line, so this is not a Zeek TSV log (a Zeek JSON log, or a "
            f"table exported from one?). Fix: use DATASET='csv' with LABEL_COLUMN, BENIGN_LABELS and "
            f"MISSING_VALUES='-'"
        )
    names = [n.strip() for n in header["#fields"]]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(
            f"{path}, line {fields_line}: the #fields line names {repeated} more than once. Fix: repair the "
            f"header (each field once), or regenerate the log"
        )
    detail_column = next((n for n in names if n.lower() in _DETAILED_NAMES and n != label_column), None)
    zeek_types = dict(zip(names, header.get("#types", []), strict=False))
    unset = (header.get("#unset_field") or ["-"])[0]
    if label_column not in names and not labels_required:
        label_column = None
    elif label_column not in names:
        raise DataError(
            f"{path}, line {fields_line}: the #fields line has no {label_column!r} column (fields: "
            f"{', '.join(names[-4:])}). Fix: a plain conn.log has no labels; label it first, or set LABEL_COLUMN to "
            f"the field that holds the label"
        )
    types = {
        n: pa.float64() if t == "time" else pa.float32() if t in _ZEEK_FLOAT else pa.string()
        for n, t in zeek_types.items()
    }
    if label_column is not None:
        types[label_column] = pa.string()
    log_format = ZeekFormat(names, zeek_types, types, unset, label_column, detail_column, benign_labels, ignore_labels)
    return log_format, body_start


def log_columns(path: Path) -> list[str]:
    """The fields a Zeek log's ``#fields`` line declares (in its first 20 lines), whether or not records follow;
    labelled or not."""
    fmt, _ = zeek_header(b"".join(head_lines(path, 20)), path, "label", None, (), labels_required=False)
    return list(fmt.names)


def zeek_frame(chunk: Chunk, notes: list[dict], log_format: ZeekFormat, path: Path) -> pd.DataFrame | None:
    """The flows of one chunk of a log's records (None if it holds none), repairs recorded in ``notes``."""
    fmt = log_format
    body = _cut_footer(chunk.data)  # '#close' footer: sliced off, without splitting the log into lines
    if b"\n#" in body or body.startswith(b"#"):  # logs concatenated with their headers
        body = b"\n".join(line for line in body.split(b"\n") if not line.startswith(b"#"))
    body = body.replace(b"   ", b"\t")
    if not body.strip():
        return None
    df = parse_table(
        body, path, fmt.names, "\t", fmt.arrow_types, 0, [fmt.unset, "(empty)"], line_offset=chunk.first_line - 1
    )
    del body
    label_column, zeek_types = fmt.label_column, fmt.zeek_types
    if label_column is not None:
        df = _labelled(df, fmt, notes, path)
    df["scenario"] = constant_categorical(scenario_name(path), len(df))
    for col in _ZEEK_CATEGORICAL:
        if col in df:
            df[col] = df[col].astype("category")
    for col, t in zeek_types.items():
        if col in df and t in ("string", "addr", "bool", "set[string]", "enum") and col not in _ZEEK_CATEGORICAL:
            df[col] = df[col].astype("string")
    count_infinities(df, [c for c, t in zeek_types.items() if t in _ZEEK_FLOAT], path.name, notes)
    df.attrs["repairs"] = notes
    return df


def _labelled(df: pd.DataFrame, fmt: ZeekFormat, notes: list[dict], path: Path) -> pd.DataFrame:
    """``df`` with its label columns read into ``label``, ``label_detail`` and ``is_attack`` (rows of
    ``fmt.ignore_labels`` dropped and counted in ``notes``)."""
    label_column, unset = fmt.label_column, fmt.unset
    raw_label = df.pop(label_column).fillna(unset).astype(str).str.strip()
    no_detail = pd.Series(unset, index=raw_label.index, dtype=object)
    detailed = df.pop(fmt.detail_column).fillna(unset).astype(str) if fmt.detail_column else no_detail
    lowered = raw_label.str.lower()
    benign = label_values(fmt.benign_labels) or {"benign"}
    ignore = label_values(fmt.ignore_labels)
    unknown = sorted(set(raw_label[~lowered.isin(benign | ignore | {"malicious"})]))
    if unknown and fmt.benign_labels is None:
        raise DataError(
            f"{path}, column {label_column!r}: unexpected value(s) {unknown[:5]}; expected Benign/Malicious "
            f"(Background is ignored). Fix: list the normal values in BENIGN_LABELS (every other value is then an "
            f"attack family) and unlabelled ones in IGNORE_LABELS"
        )
    ignored = lowered.isin(ignore).to_numpy()
    for value, count in raw_label[ignored].value_counts().items():
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
    df["label"] = _families(lowered, raw_label, detailed, is_benign)
    df["label_detail"] = pd.Categorical(
        np.where(detailed.isin([unset, ""]).to_numpy(), df["label"].astype(str), detailed.to_numpy())
    )
    df["is_attack"] = (~is_benign).astype(np.int8)
    return df


def _cut_footer(body: bytes) -> bytes:
    """``body`` without its trailing ``#`` lines (the Zeek ``#close`` footer)."""
    while True:
        end = len(body.rstrip(b"\r\n"))
        start = body.rfind(NEWLINE, 0, end) + 1
        if start >= end or not body.startswith(b"#", start):
            return body
        body = body[:start]


def _families(lowered: pd.Series, raw_label: pd.Series, detailed: pd.Series, is_benign: np.ndarray) -> pd.Categorical:
    """The family of every flow: ``Benign``, the IoT-23 family of a ``Malicious`` flow's detailed label
    (:func:`registry.iot23_family`), or another label's own value; computed once per distinct (label,
    detailed-label) pair instead of once per row."""
    keys = pd.Series(np.where(is_benign, "benign", lowered.to_numpy()), dtype=object)
    lab_codes, lab_values = pd.factorize(keys, use_na_sentinel=False)
    det_codes, det_values = pd.factorize(detailed, use_na_sentinel=False)
    originals = dict(zip(keys, raw_label, strict=True))
    pair_codes, pairs = pd.factorize(lab_codes.astype(np.int64) * len(det_values) + det_codes)
    families = []
    for p in pairs:
        label, detail = lab_values[p // len(det_values)], det_values[p % len(det_values)]
        if label in ("benign", "malicious"):
            families.append(registry.iot23_family(label, detail))
        else:
            families.append(originals[label])
    categories = sorted(set(families))
    codes = np.array([categories.index(f) for f in families], dtype=np.int32)[pair_codes]
    return pd.Categorical.from_codes(codes, categories=categories)


def scenario_name(path: Path) -> str:
    """The IoT-23 scenario of a log: the folder above ``bro/`` (``CTU-IoT-Malware-Capture-44-1``), else the
    log's own folder."""
    parts = path.resolve().parts
    return parts[-3] if len(parts) >= 3 and parts[-2] == "bro" else path.parent.name
