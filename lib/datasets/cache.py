"""The Parquet cache of parsed files: an entry per source file, reader and :data:`PARSER_VERSION`, keyed by the
source file's sha256 (:func:`lib.datasets.files.file_sha256`) and the reader's ``cache_tag``.

Nothing here is trusted blindly:

* **Cache entries** carry a record of their source's sha256, their row count and their own sha256; an entry
  that does not match its record is logged, parsed again and rewritten (:func:`read_cached`). The check streams
  the entry through sha256 and counts its rows from the Parquet footer, without loading it.
* **Registry files** are checked against the registry's sha256 each time they are read (``expected_sha256``
  of :func:`read_cached`, :func:`lib.datasets.files.expected_sha256`), with or without the cache.
* **Large files** (over ``stream.STREAM_BYTES``) go into their entry chunk by chunk, as row groups of one
  schema written by ``pyarrow.parquet.ParquetWriter``, in bounded memory (:func:`cache_entry`); their record
  also says how many chunks (the entries of smaller files are written whole, exactly as before).

:func:`read_entry` reads an entry back, :func:`read_entry_rows` only some of its rows (``SAMPLE_ROWS``), and
:func:`entry_column` one column (the labels a sample is drawn from).
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lib.datasets.errors import DataError
from lib.datasets.files import cache_dir, file_sha256, read_json_record
from lib.datasets.schema import constant_categorical
from lib.datasets.stream import combine_frames, merge_repairs
from lib.io import atomic_write, sha256_bytes, sha256_file, write_bytes

log = logging.getLogger(__package__)

PARSER_VERSION = "2"  # bump when a reader's output changes, so cached Parquet files are rebuilt


def display_name(path: Path, root: Path) -> str:
    """How a data file is named in a frame's ``source_file``: its path under ``root`` (a registry data set's
    folder), else its file name."""
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return path.name


def read_cached(
    path: Path,
    reader: Callable[[Path], pd.DataFrame],
    use_cache: bool,
    display: str,
    expected_sha256: str | None = None,
) -> pd.DataFrame:
    """``reader(path)`` with a ``source_file`` column, through the Parquet cache when ``use_cache``.

    ``expected_sha256`` (the registry's hash, :func:`lib.datasets.files.expected_sha256`) is checked first, with or without the
    cache: a mismatch is a :class:`DataError`. A cache entry is ``<reader>-<sha256 of the source>-v<version>``:
    the Parquet file and a JSON record written after it (the source's path, sha256 and row count, and the
    sha256 of the Parquet bytes). An entry whose record is missing or does not match, or whose file is
    unreadable, is logged as a warning, parsed again from the source and rewritten: an edited or truncated
    cache never reaches a notebook. (The record guards against accidents, not against someone who rewrites
    both files.) A file the reader parses in chunks (``reader.chunks``, a file larger than
    :data:`lib.datasets.stream.STREAM_BYTES`) is written to its entry chunk by chunk (:func:`cache_entry`) and
    read back from it.
    """
    path = Path(path)
    digest = _source_sha256(path, use_cache, expected_sha256)
    if not use_cache:
        frame = reader(path)
    else:
        entry = _entry_path(reader, digest)
        frame = _cache_get(entry, path, digest)
        if frame is None:
            frame = _cache_build(entry, reader, path, digest)
        if frame is None:  # written chunk by chunk: read back from the entry
            frame = read_entry(entry)
    frame["source_file"] = constant_categorical(display, len(frame))
    return frame


def cache_entry(
    path: str | os.PathLike, reader: Callable[[Path], pd.DataFrame], expected_sha256: str | None = None
) -> Path:
    """The Parquet cache entry of ``path`` as ``reader`` parses it, written first if it is missing or does not
    match its record (see :func:`read_cached`), without loading it: a file that ``reader`` parses in chunks
    (``reader.chunks``, larger than :data:`lib.datasets.stream.STREAM_BYTES`) is streamed into the entry chunk
    by chunk in bounded memory. For tools that read the entries themselves (benchmarks, queries over Parquet)."""
    path = Path(path)
    digest = _source_sha256(path, True, expected_sha256)
    entry = _entry_path(reader, digest)
    problem = _entry_problem(entry, digest)
    if problem:
        if entry.exists():
            log.warning("%s: the cached parse %s %s; parsing the source again", path, entry, problem)
        _cache_build(entry, reader, path, digest)
    return entry


def _source_sha256(path: Path, use_cache: bool, expected_sha256: str | None) -> str | None:
    """The source's sha256 (remembered when ``use_cache``; None when neither the cache nor a check needs it);
    a :class:`DataError` if it is not ``expected_sha256``."""
    digest = file_sha256(path, remember=use_cache) if use_cache or expected_sha256 else None
    if expected_sha256 and digest != expected_sha256:
        raise DataError(
            f"{path}: sha256 {digest} does not match the registry's {expected_sha256} for this file. It is "
            f"corrupted, truncated or was modified (line endings?). Fix: delete it and download it again "
            f"(`make data`); to read a modified copy on purpose, move it out of the data folder and name it in "
            f"DATA_FILES"
        )
    return digest


def _entry_path(reader: Callable, source_sha256: str) -> Path:
    return (
        cache_dir() / f"{getattr(reader, 'cache_tag', reader.__name__)}-{source_sha256[:24]}-v{PARSER_VERSION}.parquet"
    )


def _cache_build(entry: Path, reader: Callable, source: Path, source_sha256: str) -> pd.DataFrame | None:
    """Parse ``source`` into ``entry``. Returns the frame when it was parsed whole (the reader has no
    ``chunks``, or the file is one chunk: written as before, :func:`_cache_put`); None when it was written
    chunk by chunk (:func:`_cache_put_chunks`) and is only on disk."""
    chunks = getattr(reader, "chunks", None)
    if chunks is None:
        frame = reader(source)
        _cache_put(entry, frame, source, source_sha256)
        return frame
    frames = iter(chunks(source))
    head = list(itertools.islice(frames, 2))
    if len(head) < 2:
        frame = combine_frames(head, source)
        _cache_put(entry, frame, source, source_sha256)
        return frame
    frames = itertools.chain(head, frames)
    del head  # each frame is held only until it is written
    _cache_put_chunks(entry, frames, source, source_sha256)
    return None


def _cache_get(entry: Path, source: Path, source_sha256: str) -> pd.DataFrame | None:
    """The frame cached in ``entry`` if its record vouches for it; None (with a warning saying why) if not."""
    if not entry.exists():
        return None
    problem = _entry_problem(entry, source_sha256)
    if not problem:
        try:
            return read_entry(entry)
        except Exception as err:  # any failure to read a cache file means: parse the source again
            problem = f"is unreadable ({type(err).__name__}: {err})"
    log.warning("%s: the cached parse %s %s; parsing the source again", source, entry, problem)
    return None


def _entry_problem(entry: Path, source_sha256: str) -> str:
    """What is wrong with the cache entry (its record, its sha256, its row count), or "" if nothing; the
    Parquet file is hashed as a stream and its rows counted from its footer, not loaded."""
    if not entry.exists():
        return "does not exist"
    record_file = entry.with_suffix(".json")
    record = read_json_record(record_file)
    if record is None:
        return f"has no readable record {record_file.name}"
    if record.get("source_sha256") != source_sha256:
        return "was made from other bytes than this source file"
    if sha256_file(entry) != record.get("parquet_sha256"):
        return "does not match the sha256 in its record (edited or corrupted)"
    with open(entry, "rb") as fh:
        try:
            rows = pq.ParquetFile(fh).metadata.num_rows
        except Exception as err:  # any failure to read a cache file means: parse the source again
            return f"is unreadable ({type(err).__name__}: {err})"
    if rows != record.get("rows"):
        return f"has {rows} rows where its record says {record.get('rows')}"
    return ""


def read_entry(entry: Path) -> pd.DataFrame:
    """The frame in a cache entry, with the ``attrs`` stored in its footer (:func:`_as_cached`)."""
    parquet = pq.ParquetFile(entry)
    stored = parquet.metadata.metadata or {}  # attrs: pandas' key, or the chunk writer's footer
    names = parquet.schema_arrow.names
    if not names or parquet.metadata.num_rows == 0:
        return _as_cached(parquet.read().to_pandas(), entry, stored)
    # One column at a time, each converted (a float column without a copy) before the next is read, and what
    # Arrow's memory pool keeps of the decoding returned after each: the whole table and the frame never
    # coexist (2.8 M CICIDS2017 rows: a peak of the frame plus one column, not of two frames).
    pool = pa.default_memory_pool()
    columns = {}
    for name in names:
        columns[name] = parquet.read(columns=[name]).to_pandas(self_destruct=True)[name]
        pool.release_unused()
    frame = pd.DataFrame(columns, copy=False)
    return _as_cached(frame, entry, stored)


def _as_cached(frame: pd.DataFrame, entry: Path, stored: dict) -> pd.DataFrame:
    """``frame`` read from ``entry``, given the ``attrs`` of the entry's footer metadata ``stored``; for an entry
    written in chunks (its record says how many), its categories sorted, as a whole-file parse has them (each
    chunk brought its own)."""
    frame.attrs = json.loads(stored[_ATTRS_KEY]) if _ATTRS_KEY in stored else {}
    if (read_json_record(entry.with_suffix(".json")) or {}).get("chunks"):
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = frame[col].cat.reorder_categories(frame[col].cat.categories.sort_values())
    return frame


def entry_column(entry: Path, column: str) -> pd.Series:
    """One column of a cache entry as a categorical (read dictionary-encoded: codes, not a string per row, even
    for a column stored as plain text, such as a Zeek log's labels)."""
    table = pq.read_table(entry, columns=[column], read_dictionary=[column])
    return table.column(0).to_pandas() if table.num_rows else pd.Series([], dtype=object, name=column)


def read_entry_rows(entry: Path, positions: np.ndarray) -> pd.DataFrame:
    """``read_entry(entry).iloc[positions]`` (sorted positions) without loading the entry: each row group is
    read, cut to the positions it holds and dropped before the next, so memory is one row group plus the rows
    kept."""
    parquet = pq.ParquetFile(entry)
    metadata = parquet.metadata
    starts = np.cumsum([0] + [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)])
    tables = []
    for group in range(metadata.num_row_groups):
        lo, hi = np.searchsorted(positions, starts[group : group + 2])
        if hi > lo:
            tables.append(parquet.read_row_group(group).take(pa.array(positions[lo:hi] - starts[group])))
    schema = parquet.schema_arrow
    if not tables:  # no row: the first group's, cut to none (its dictionaries give the categories)
        tables = [parquet.read_row_group(0).slice(0, 0) if metadata.num_row_groups else schema.empty_table()]
    table = pa.concat_tables(tables)
    frame = table.replace_schema_metadata(schema.metadata).to_pandas()
    return _as_cached(frame, entry, metadata.metadata or {})


def _cache_put(entry: Path, frame: pd.DataFrame, source: Path, source_sha256: str) -> None:
    """Write ``frame`` to ``entry``, then its record (each atomically): a reader sees a whole entry or none."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)  # keeps frame.attrs (repairs, identifier columns)
    data = buffer.getvalue()
    record = {
        "source": str(source),
        "source_sha256": source_sha256,
        "rows": len(frame),
        "parquet_sha256": sha256_bytes(data),
        "parser_version": PARSER_VERSION,
    }
    write_bytes(entry, data)
    write_bytes(entry.with_suffix(".json"), json.dumps(record, indent=1, sort_keys=True).encode())


_ATTRS_KEY = b"PANDAS_ATTRS"  # where pandas keeps a frame's attrs in a Parquet file's key-value metadata


def _cache_put_chunks(entry: Path, frames: Iterable[pd.DataFrame], source: Path, source_sha256: str) -> None:
    """Write the frames of a file's chunks to ``entry`` as row groups of one Parquet file, one frame at a time
    (:func:`_write_chunks`), then its record, which says how many chunks there were. Atomic like
    :func:`_cache_put` (:func:`lib.io.atomic_write`)."""
    written: dict[str, Any] = {}
    atomic_write(entry, lambda tmp: written.update(_write_chunks(tmp, frames, source)))
    record = {
        "source": str(source),
        "source_sha256": source_sha256,
        "rows": written["rows"],
        "parquet_sha256": written["sha256"],
        "parser_version": PARSER_VERSION,
        "chunks": written["chunks"],
    }
    write_bytes(entry.with_suffix(".json"), json.dumps(record, indent=1, sort_keys=True).encode())


def _write_chunks(path: Path, frames: Iterable[pd.DataFrame], source: Path) -> dict[str, Any]:
    """The frames as row groups of the Parquet file ``path`` (:class:`pyarrow.parquet.ParquetWriter`): the
    schema is the first frame's (:func:`_chunk_schema`), the ``attrs`` (repairs summed over the chunks) go in
    the footer. Returns the rows, the chunks and the file's sha256."""
    rows, chunks, attrs, writer = 0, 0, {}, None
    try:
        for frame in frames:
            if writer is None:
                schema = _chunk_schema(frame)
                writer = pq.ParquetWriter(path, schema)
                attrs = dict(frame.attrs)
            elif "repairs" in attrs:
                attrs["repairs"] = merge_repairs([attrs["repairs"], frame.attrs.get("repairs", [])])
            writer.write_table(_chunk_table(frame, schema, source, rows))
            rows, chunks = rows + len(frame), chunks + 1
            del frame  # not held while the next chunk is parsed
        if writer is None:
            raise DataError(f"{source}: no chunk of the file had records")
        if attrs:
            writer.add_key_value_metadata({_ATTRS_KEY.decode(): json.dumps(attrs)})
    finally:
        if writer is not None:
            writer.close()
    return {"rows": rows, "chunks": chunks, "sha256": sha256_file(path)}


def _chunk_schema(frame: pd.DataFrame) -> pa.Schema:
    """The Arrow schema of every chunk of a file, from its first chunk: categoricals as dictionary<int32,
    string> (each chunk has its own categories), text as string (a column with no value in the first chunk
    too), numbers as their dtypes; the pandas metadata without ``attrs`` (they go in the footer at the end)."""
    plain = frame.iloc[:0].copy()
    plain.attrs = {}
    schema = pa.Schema.from_pandas(plain, preserve_index=False)
    return pa.schema([_chunk_field(field) for field in schema], metadata=schema.metadata)


def _chunk_field(field: pa.Field) -> pa.Field:
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
    if pa.types.is_dictionary(field.type):
        values = pa.string() if any(is_text(field.type.value_type) for is_text in text) else field.type.value_type
        return field.with_type(pa.dictionary(pa.int32(), values))
    if any(is_text(field.type) for is_text in text):
        return field.with_type(pa.string())
    return field


def _chunk_table(frame: pd.DataFrame, schema: pa.Schema, source: Path, rows_before: int) -> pa.Table:
    """One chunk's frame as a table of ``schema``; a :class:`DataError` if a column does not fit it (a
    column whose type the parser infers, numbers in one chunk and text in another)."""
    if list(frame.columns) != schema.names:
        raise DataError(
            f"{source}: rows {rows_before + 1:,}-{rows_before + len(frame):,} have the columns "
            f"{list(frame.columns)}, not those of the file's first rows {schema.names}. Fix: read the file whole "
            f"(raise lib.datasets.stream.STREAM_BYTES above its size)"
        )
    try:
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as err:
        raise DataError(
            f"{source}: rows {rows_before + 1:,}-{rows_before + len(frame):,} do not fit the column types of the "
            f"file's first rows ({err}). A column changes type within the file (numbers, then text?). Fix: correct "
            f"the file, or read it whole (raise lib.datasets.stream.STREAM_BYTES above its size)"
        ) from err
