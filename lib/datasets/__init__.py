"""Getting the data and reading it in its original formats (notebook ``01_data_preparation.ipynb``).

Every loader returns one tidy DataFrame, one row per flow:

* numeric features as ``float32``, categorical features (protocol, Zeek service/conn_state, Argus flags
  and state) as ``category``;
* ``label`` (attack family, ``"Benign"`` for normal traffic), ``label_detail`` (the finest label the
  source has) and ``is_attack`` (0/1);
* identifier columns (addresses, ports, timestamps, flow ids, Zeek uid, ``source_file``, IoT-23
  ``scenario``) kept for analysis but listed by :func:`identifier_columns`, so that they are never used
  as features unless asked for; columns that carry the label (an attack category, a detailed label) are
  listed by :func:`label_columns` and never used as features;
* ``attrs["repairs"]``: every repair the readers made, one record per file, column and kind, with its count.

Formats, one file each: IoT-23 and any other labelled Zeek conn log (:func:`read_zeek_conn`, ``zeek.py``;
``DATASET="zeek"`` for a user's logs), CICIDS2017 CICFlowMeter CSVs (:func:`read_cicids_csv`, ``cicids.py``),
BoT-IoT Argus CSVs (:func:`read_botiot_csv`, ``botiot.py``) and any labelled flow table (:func:`read_flow_table`,
``table.py``; ``DATASET="csv"``); the CSV machinery they share is in ``csvparse.py``, and the rules for values
they share (thousands separators, negative counts, sizes and durations, label spellings) in ``values.py``. A
reader refuses a file it cannot read as it is with a :class:`DataError`, or repairs it and counts the repair
(``errors.py``). :func:`load` (this file) reads a whole data set from ``DATA_DIR`` (a mirror folder with the
layout of ``shared/data``), downloading files that have an official address and checking
their sha256 (``files.py``). Parsed files are cached as Parquet keyed by the source file's sha256
(``cache.py``); a file larger than ``stream.STREAM_BYTES`` (256 MiB) is parsed in line-aligned chunks by the
same reader code and written to its cache entry chunk by chunk, in bounded memory (``stream.py``,
:func:`cache_entry`). :func:`harmonise` puts the files into one schema and :func:`identifier_columns` /
:func:`feature_columns` tell identifiers from features (``schema.py``); bad input raises :class:`DataError`
(``errors.py``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pandas.api.types import union_categoricals

from lib import progress, registry
from lib.datasets.botiot import read_botiot_csv
from lib.datasets.cache import (
    PARSER_VERSION,
    cache_entry,
    display_name,
    entry_column,
    read_cached,
    read_entry_rows,
)
from lib.datasets.cicids import read_cicids_csv
from lib.datasets.errors import DataError, log_repairs, repairs_frame, repairs_unlogged
from lib.datasets.files import (
    CACHE_DIR_ENV,
    DATA_DIR_ENV,
    REPO_DATA_DIR,
    cache_dir,
    expand_files,
    expected_sha256,
    fetch,
    file_sha256,
    is_table,
    is_zeek_log,
    locate,
    resolve_data_dir,
    verify_checksum,
)
from lib.datasets.sampling import stratified_positions
from lib.datasets.schema import (
    ZEEK_CONN_NON_NEGATIVE,
    constant_categorical,
    feature_columns,
    guess_identifiers,
    harmonise,
    identifier_columns,
    label_columns,
    label_like_columns,
    non_negative_columns,
    source_file_name,
)
from lib.datasets.stream import merge_repairs
from lib.datasets.table import column_names_from, flow_table_reader, label_values, read_flow_table
from lib.datasets.values import (
    LabelSpellings,
    apply_label_spellings,
    apply_non_negative,
    label_spellings,
    negatives_to_missing,
    spelling_counts,
)
from lib.datasets.zeek import read_zeek_conn, zeek_conn_frames
from lib.io import sha256_file  # datasets.sha256_file is lib.io.sha256_file (kept for callers)

__all__ = [
    # reading a whole data set
    "load",
    "load_for",
    "USER_FORMATS",
    # readers, one per format
    "read_zeek_conn",
    "read_cicids_csv",
    "read_botiot_csv",
    "read_flow_table",
    # where the data is
    "resolve_data_dir",
    "cache_dir",
    "cache_entry",
    "fetch",
    "locate",
    "verify_checksum",
    "sha256_file",
    "file_sha256",
    "expected_sha256",
    "expand_files",
    "DATA_DIR_ENV",
    "CACHE_DIR_ENV",
    "REPO_DATA_DIR",
    "PARSER_VERSION",
    # schema
    "harmonise",
    "identifier_columns",
    "feature_columns",
    "guess_identifiers",
    "label_columns",
    "label_like_columns",
    "column_names_from",
    "label_values",
    "non_negative_columns",
    "apply_non_negative",
    "is_table",
    "is_zeek_log",
    # errors
    "DataError",
    "repairs_frame",
]

USER_FORMATS = ("zeek", "csv")  # data sets a user brings: any labelled Zeek conn log, any labelled flow table


def load(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    files: str | Iterable[str] | None = None,
    label_column: str | None = None,
    benign_labels: str | Iterable[str] | None = None,
    use_cache: bool = True,
    *,
    column_names: str | Iterable[str] | None = None,
    ignore_labels: str | Iterable[str] | None = None,
    missing_values: str | Iterable[str] | None = None,
    sample_rows: int = 0,
    seed: int = 0,
    encoding: str = "utf-8",
    category_columns: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read every file of ``dataset`` into one frame: a registered data set (``iot23``, ``cicids2017``,
    ``botiot``) from ``data_dir``, or a user's ``zeek`` logs or ``csv`` tables from ``files``.

    ``files`` overrides the file list (comma-separated paths, globs or folders). ``zeek``: any labelled Zeek
    conn logs (``label_column`` default ``label``; ``benign_labels`` default ``Benign``; ``ignore_labels``
    default ``Background``). ``csv``: ``label_column`` and ``benign_labels`` are required; ``column_names``
    names the columns of headerless files (see :func:`lib.datasets.table.column_names_from`);
    ``missing_values`` are extra tokens meaning "no value" (``-`` for tables exported from Zeek). ``encoding``
    is the text encoding of the files (notebook 01's ``ENCODING``); ``category_columns`` (``CATEGORY_COLUMNS``)
    are read as text by ``csv`` whatever their values look like. Every repair a reader made is in
    ``frame.attrs["repairs"]`` (see :func:`repairs_frame`).

    Two rules apply to every data set, here or in its readers: negative values of the columns its schema
    declares counts, sizes or durations become missing (:func:`lib.datasets.schema.non_negative_columns`,
    :func:`lib.datasets.values.negatives_to_missing`; none for ``csv``), and attack labels that differ only by
    case or surrounding space are read as one, the most frequent spelling (ties: the first seen) winning
    (:mod:`lib.datasets.values`), both counted per file and column.

    ``sample_rows > 0`` returns a stratified sample of about that many rows drawn with ``seed``
    (:func:`lib.datasets.sampling.stratified_positions`, notebook 01's ``SAMPLE_ROWS``): through the cache it
    reads the files' label columns, draws the rows and reads only those, so memory is that of the labels (a
    code and, for the class drawn, a position per row) and of the sample, never that of the data set's
    columns. ``attrs["sample"]`` records the draw and how many rows there were in all.
    """
    reader, paths = _reader_and_paths(
        dataset,
        data_dir,
        files,
        label_column,
        benign_labels,
        column_names,
        ignore_labels,
        missing_values,
        encoding,
        category_columns,
    )
    root = resolve_data_dir(data_dir) / dataset if dataset in registry.DATASETS else Path(".").resolve()
    if sample_rows > 0 and use_cache:
        out = _load_sample(dataset, paths, reader, root, sample_rows, seed)
        if out is not None:
            return out
    frames = []
    for path in progress.bar(paths, desc=f"load {dataset}", unit="file", disable=len(paths) < 2):
        display = display_name(path, root)
        expected = expected_sha256(dataset, path, root)  # registry files: checked against the published sha256
        frames.append(read_cached(path, reader, use_cache=use_cache, display=display, expected_sha256=expected))
    out = _combine(dataset, frames)
    if sample_rows > 0:  # no cache: the same rows, drawn from the frame in memory
        positions = stratified_positions(out["label"], sample_rows, seed)
        if positions is not None:
            out = _sampled(out, positions, sample_rows, seed, list(out.attrs["files"]))
    return out


def _reader_and_paths(
    dataset: str,
    data_dir: str | os.PathLike | None,
    files: str | Iterable[str] | None,
    label_column: str | None,
    benign_labels: str | Iterable[str] | None,
    column_names: str | Iterable[str] | None,
    ignore_labels: str | Iterable[str] | None,
    missing_values: str | Iterable[str] | None,
    encoding: str = "utf-8",
    category_columns: str | Iterable[str] | None = None,
) -> tuple[Callable[[Path], pd.DataFrame], list[Path]]:
    """The reader of one file of ``dataset`` (with :func:`load`'s options) and the files to read."""
    missing = missing_values.split(",") if isinstance(missing_values, str) else list(missing_values or [])
    if dataset == "csv":
        if not files or not label_column or not label_values(benign_labels):
            raise ValueError(
                "DATASET='csv' needs DATA_FILES (paths), LABEL_COLUMN (name of the label column) and "
                "BENIGN_LABELS (comma-separated values that mean normal traffic)"
            )
        names = column_names_from(column_names)
        text = category_columns.split(",") if isinstance(category_columns, str) else list(category_columns or [])
        text = [name.strip() for name in text if name.strip()]
        reader = flow_table_reader(label_column, benign_labels, names, ignore_labels, missing, encoding, text)
        paths = expand_files(files)
    elif dataset == "zeek":
        if not files:
            raise ValueError("DATASET='zeek' needs DATA_FILES: the labelled conn logs (files, folders or globs)")
        ignore = "Background" if ignore_labels is None else ignore_labels
        reader = _zeek_reader(label_column, benign_labels, ignore, encoding)
        paths = expand_files(files, accept=is_zeek_log)
    elif dataset in registry.DATASETS:
        reader = _registered_reader(dataset, encoding)
        paths = expand_files(files, registry.DATASETS[dataset].file_glob) if files else locate(dataset, data_dir)
    else:
        raise ValueError(
            f"unknown DATASET {dataset!r}: choose one of {sorted(registry.DATASETS)}, 'zeek' (your labelled Zeek "
            f"conn logs) or 'csv' (your labelled flow table)"
        )
    return reader, paths


def _registered_reader(dataset: str, encoding: str = "utf-8") -> Callable[[Path], pd.DataFrame]:
    """The reader of a registered data set's files, their text in ``encoding``; its ``cache_tag`` names both."""
    if registry.DATASETS[dataset].format.startswith("zeek"):  # IoT-23: CTU's labelled conn logs
        return _zeek_reader(None, None, "Background", encoding)
    read = {"cicids2017": read_cicids_csv, "botiot": read_botiot_csv}[dataset]

    def reader(path: Path) -> pd.DataFrame:
        return read(path, encoding=encoding)

    def chunks(path: Path) -> Iterator[pd.DataFrame]:
        return read.chunks(path, encoding=encoding)

    reader.cache_tag, reader.chunks = f"{read.cache_tag}-{encoding}", chunks
    return reader


def _combine(dataset: str, frames: list[pd.DataFrame], spellings: LabelSpellings | None = None) -> pd.DataFrame:
    """The files' frames (each with its ``source_file``) as one, with their repairs, label and identifier
    columns in ``attrs``; label spellings that differ only by case or surrounding space read as one
    (``spellings``, or those of the frame's own labels: :func:`lib.datasets.values.label_spellings`)."""
    for frame in frames:
        display = source_file_name(frame)
        frame.attrs["repairs"] = [note | {"file": display} for note in frame.attrs.get("repairs", [])]
    out = harmonise(frames)
    out.attrs["repairs"] = [note for frame in frames for note in frame.attrs.get("repairs", [])]
    out.attrs["label_columns"] = sorted({c for frame in frames for c in frame.attrs.get("label_columns", ())})
    if dataset in USER_FORMATS:
        ids = {c for frame in frames for c in frame.attrs.get("identifier_columns", ())}
        out.attrs["identifier_columns"] = sorted((guess_identifiers(out.columns) | ids) - {"source_file"})
    if spellings is None:
        files = out["source_file"] if "source_file" in out else None
        spellings = label_spellings({c: spelling_counts(out[c], files) for c in _SPELT if c in out})
    apply_label_spellings(out, spellings)
    out.attrs["repairs"] += spellings.notes
    return out


#: The label columns whose spellings are read as one (:func:`lib.datasets.values.label_spellings`).
_SPELT = ("label", "label_detail")


def _load_sample(
    dataset: str, paths: list[Path], reader: Callable, root: Path, n: int, seed: int
) -> pd.DataFrame | None:
    """``SAMPLE_ROWS`` through the cache: every file's entry (parsed first if needed, in bounded memory), its
    label column, the positions drawn from all labels in file order (as the in-memory path draws them), then
    only those rows of each entry. None when the sample would be every row. Label spellings are decided on all
    rows (each file's counts of its labels and detailed labels), as the in-memory path decides them, before the
    draw."""
    entries, labels = [], []
    counts: dict[str, list[pd.DataFrame]] = {c: [] for c in _SPELT}
    offset = 0
    for path in progress.bar(paths, desc=f"labels {dataset}", unit="file", disable=len(paths) < 2):
        entry = cache_entry(path, reader, expected_sha256(dataset, path, root))
        display = display_name(path, root)
        entries.append((display, entry))
        labels.append(entry_column(entry, "label"))
        counts["label"].append(spelling_counts(labels[-1], offset=offset).assign(file=display))
        if "label_detail" in pq.ParquetFile(entry).schema_arrow.names:
            detail = entry_column(entry, "label_detail")  # counted, then freed
            counts["label_detail"].append(spelling_counts(detail, offset=offset).assign(file=display))
            del detail
        offset += len(labels[-1])
    spellings = label_spellings({c: pd.concat(parts, ignore_index=True) for c, parts in counts.items() if parts})
    sizes = [len(part) for part in labels]
    # the labels as text categories (codes per row, not strings); files without a row add nothing
    parts = [_text_categories(part) for part in labels if len(part)]
    del labels
    if not parts:
        return None
    all_labels = apply_label_spellings(pd.DataFrame({"label": union_categoricals(parts)}), spellings)["label"]
    del parts
    positions = stratified_positions(all_labels, n, seed)
    if positions is None:
        return None
    frames, offset = [], 0
    for (display, entry), size in progress.bar(
        list(zip(entries, sizes, strict=True)), desc=f"sample {dataset}", unit="file", disable=len(entries) < 2
    ):
        lo, hi = np.searchsorted(positions, [offset, offset + size])
        frame = read_entry_rows(entry, positions[lo:hi] - offset)
        frame["source_file"] = constant_categorical(display, len(frame))
        frames.append(frame)
        offset += size
    files = [display for (display, _), size in zip(entries, sizes, strict=True) if size]
    out = _combine(dataset, frames, spellings)
    return _sampled(out, None, n, seed, files, rows_read=offset)


def _text_categories(labels: pd.Series) -> pd.Categorical:
    """``labels`` as a categorical of text categories: a categorical keeps its codes (only its categories are
    converted, never a string per row)."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(labels.cat.codes, categories=labels.cat.categories.astype(str))
    return pd.Categorical(labels.astype(str))


def _sampled(
    df: pd.DataFrame, positions: np.ndarray | None, n: int, seed: int, files: list[str], rows_read: int | None = None
) -> pd.DataFrame:
    """``df`` cut to ``positions`` (None: already cut) and marked as the sample ``(n, seed)`` of ``rows_read`` rows."""
    rows_read = len(df) if rows_read is None else rows_read
    if positions is not None:
        attrs = df.attrs
        df = df.iloc[positions].reset_index(drop=True)
        df.attrs = attrs
    df.attrs["files"] = files
    df.attrs["sample"] = {"sample_rows": n, "seed": seed, "rows_read": rows_read, "rows_kept": len(df)}
    return df


def load_for(parameters: dict) -> pd.DataFrame:
    """:func:`load` with notebook 01's parameters (``DATASET``, ``DATA_DIR``, ``DATA_FILES``, ``LABEL_COLUMN``,
    ``BENIGN_LABELS``, ``COLUMN_NAMES``, ``IGNORE_LABELS``, ``MISSING_VALUES``, ``ENCODING``, ``CATEGORY_COLUMNS``): how 01 reads the
    data, and how a later notebook reads it again exactly as 01 did (from the parameters 01 recorded)."""
    get = lambda name: parameters.get(name) or None  # noqa: E731 - empty parameters mean "the default"
    return load(
        parameters["DATASET"], get("DATA_DIR"), files=get("DATA_FILES"), label_column=get("LABEL_COLUMN"),
        benign_labels=get("BENIGN_LABELS"), column_names=get("COLUMN_NAMES"), ignore_labels=get("IGNORE_LABELS"),
        missing_values=get("MISSING_VALUES"), sample_rows=int(parameters.get("SAMPLE_ROWS") or 0),
        seed=int(parameters.get("SEED") or 0), encoding=get("ENCODING") or "utf-8",
        category_columns=get("CATEGORY_COLUMNS"),
    )  # fmt: skip


#: Part of the Zeek readers' cache tag: raised when their output changes (2: negative counts made missing; 3: attack
#: labels kept as spelt, for the spelling rule of :func:`load`), so that the cache entries of the earlier readers are
#: not read.
ZEEK_READER_VERSION = 3


def _zeek_reader(
    label_column: str | None,
    benign_labels: str | Iterable[str] | None,
    ignore_labels: str | Iterable[str] | None,
    encoding: str = "utf-8",
) -> Callable[[Path], pd.DataFrame]:
    """:func:`read_zeek_conn` with these options as a reader of one path, whose negative counts, sizes and
    durations (:data:`lib.datasets.schema.ZEEK_CONN_NON_NEGATIVE`) become missing, counted."""
    label = label_column or "label"
    benign = sorted(label_values(benign_labels)) or None
    ignore = sorted(label_values(ignore_labels))
    options = {"benign_labels": benign, "ignore_labels": ignore, "label_column": label, "encoding": encoding}

    def reader(path: Path) -> pd.DataFrame:
        return apply_non_negative(read_zeek_conn(path, **options), ZEEK_CONN_NON_NEGATIVE, path.name)

    def chunks(path: Path) -> Iterator[pd.DataFrame]:
        notes: list[list[dict]] = []
        for frame in zeek_conn_frames(path, **options):
            with repairs_unlogged():  # logged once for the whole file, below
                start = len(frame.attrs.setdefault("repairs", []))
                negatives_to_missing(frame, ZEEK_CONN_NON_NEGATIVE, path.name, frame.attrs["repairs"])
            notes.append(frame.attrs["repairs"][start:])
            yield frame
        log_repairs(merge_repairs(notes))

    tag = f"{ZEEK_READER_VERSION}|{label}|{benign}|{ignore}|{encoding}"
    reader.cache_tag = "zeek-" + hashlib.sha256(tag.encode()).hexdigest()[:8]
    reader.chunks = chunks
    return reader
