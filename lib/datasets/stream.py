"""A file's text, whole or in line-aligned chunks, and the frames a reader makes of them (notebook
``01_data_preparation.ipynb``).

A file whose text is at most :data:`STREAM_BYTES` is read whole, as one chunk (:func:`read_text_bytes`); a larger
one (plain or gzip, whose text is counted as it is decompressed) is read :data:`CHUNK_BYTES` at a time, each chunk
ending at a line end, and never held whole (:func:`text_chunks`). Either way the file is read from disk (and
decompressed) a block at a time (``textio.py``): a small gzip file that expands to gigabytes is never expanded
whole, text in another ``encoding`` is re-encoded to UTF-8 as it streams, CR-only line ends are read as LF, and a
line longer than :data:`MAX_LINE_BYTES` is an error naming the file and the line, before more of it is read, so
that memory is bounded by the data kept, never by the file's expanded size. Text read as UTF-8 is checked
(:func:`lib.datasets.textio.refuse_non_utf8`): a byte that is not UTF-8 is an error naming its line and column.

A reader parses its file's header once and applies one body parse to every chunk (:func:`parse_chunks`), each
chunk knowing the number of its first line, so that an error in a later chunk names its line in the file. The
frames of the chunks either go to the Parquet cache one by one (``cache.py``) or are put together with
:func:`combine_frames`; their repairs are summed by :func:`merge_repairs`. Limits: a quoted CSV field must not
span lines, and a CSV header row must lie in the first chunk (a Zeek log's header blocks may lie anywhere: the
Zeek reader carries its header from chunk to chunk, ``zeek.py``).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api.types import union_categoricals

from lib.datasets.errors import DataError, log_repairs, repairs_unlogged
from lib.datasets.textio import (
    DEFAULT_ENCODING,
    GZIP_MAGIC,
    NEWLINE,
    READ_BYTES,
    LineSplitter,
    refuse_non_utf8,
    starts_with,
    text_blocks,
)

STREAM_BYTES = 256 * 2**20  # a file whose text is larger is read in chunks (tests lower it with monkeypatch)
CHUNK_BYTES = 64 * 2**20  # the size of a chunk of a file read in chunks (a chunk ends at the next line end)
MAX_LINE_BYTES = 4 * 2**20  # a longer line is an error naming it, never gathered (tests lower it with monkeypatch)


@dataclass(frozen=True)
class Chunk:
    """Whole lines of a file's text: ``first_line`` is the 1-based number of the first in the file; ``whole``
    says whether they are the file's whole text (a file at most :data:`STREAM_BYTES` long)."""

    data: bytes
    first_line: int
    whole: bool


def line_splitter(path: object, first_line: int = 1) -> LineSplitter:
    """A :class:`lib.datasets.textio.LineSplitter` that refuses a line longer than :data:`MAX_LINE_BYTES`: its
    ``feed(block)`` returns the whole lines a block of text ends and holds the rest (at most the limit), for a
    reader with its own reading loop (the scorer's follow mode)."""
    return LineSplitter(path, MAX_LINE_BYTES, first_line)


def read_text_bytes(
    path: Path, notes: list[dict] | None = None, encoding: str = DEFAULT_ENCODING, check_utf8: bool = True
) -> bytes:
    """The file's text as UTF-8 bytes, read (and decompressed) a block at a time
    (:func:`lib.datasets.textio.text_blocks`: gzip whatever the file's name, UTF-16 or ``encoding`` re-encoded,
    a UTF-8 byte-order mark removed, CR-only line ends read as LF, each recorded in ``notes`` as a repair;
    archives and binary files refused with what they are). A line longer than :data:`MAX_LINE_BYTES` is an
    error naming it, raised before more of the file is read; so is a byte that is not UTF-8 (``check_utf8``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    lines = line_splitter(path)
    parts = []
    for block in text_blocks(path, notes, READ_BYTES, encoding):
        first = lines.line
        whole = lines.feed(block)
        if whole:
            if check_utf8:
                refuse_non_utf8(whole, path, first)
            parts.append(whole)
    rest = lines.finish()
    if check_utf8:
        refuse_non_utf8(rest, path, lines.line)
    parts.append(rest)
    raw = b"".join(parts)
    del parts
    if not raw or raw.isspace():
        raise DataError(f"{path}: the file is empty. Fix: download it again or remove it from the data folder")
    return raw


def head_lines(path: Path, n: int, encoding: str = DEFAULT_ENCODING) -> list[bytes]:
    """The first ``n`` lines of ``path``'s text (with their line ends; ``b""`` past its end), read as
    :func:`read_text_bytes` reads it (gzip, encodings, CR-only line ends) without reading the rest; a binary
    file is a :class:`DataError` naming it, and so is a line longer than :data:`MAX_LINE_BYTES`."""
    path = Path(path)
    lines: list[bytes] = []
    splitter = line_splitter(path)
    for block in text_blocks(path, None, 64 * 2**10, encoding):
        lines += [line + NEWLINE for line in splitter.feed(block).split(NEWLINE)[:-1]]
        if len(lines) >= n:
            break
    else:
        lines.append(splitter.finish())
    lines = [line for line in lines if line][:n]
    return lines + [b""] * (n - len(lines))


def first_line(path: Path, encoding: str = DEFAULT_ENCODING) -> str:
    """The first line of ``path``'s text (:func:`head_lines`), decoded, a byte-order mark removed."""
    return head_lines(path, 1, encoding)[0].decode("utf-8", "replace").lstrip("\ufeff")


def header_and_chunks(
    path: Path, notes: list[dict] | None = None, encoding: str = DEFAULT_ENCODING, check_utf8: bool = True
) -> tuple[bytes, Iterator[Chunk]]:
    """The first line of ``path``'s text and all of its chunks (:func:`text_chunks`, repairs of the file in
    ``notes``): a reader takes its layout from the line and parses every chunk by it. The chunks are read as they
    are asked for; the first is held until then. With ``check_utf8`` a byte that is not UTF-8 is an error naming
    its line and column: the column by the name the first line gives it when that line reads as a header row of
    comma-, tab- or semicolon-separated names (a reader that reads some column as raw bytes on purpose passes
    ``check_utf8=False``)."""
    chunks = text_chunks(path, notes, encoding, check_utf8=False)
    first = next(chunks)
    header = first.data.split(NEWLINE, 1)[0]
    if not check_utf8:
        return header, chain([first], chunks)
    names, sep = _header_fields(header)

    def checked(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        for chunk in chunks:
            refuse_non_utf8(chunk.data, path, chunk.first_line, names, sep)
            yield chunk

    return header, checked(chain([first], chunks))


def layout_and_chunks(
    path: Path, notes: list[dict], encoding: str, read_layout: Callable[[bytes, Path, list[dict]], Any]
) -> tuple[Any, Iterator[Chunk]]:
    """The layout of a data set's CSV that ``read_layout(data, path, notes)`` reads from the first chunk of its
    text (its ``names``, its delimiter ``sep`` and its ``raw_columns``, those the reader parses as bytes itself,
    among what it says), and all of its chunks (:func:`text_chunks`, repairs of the file in ``notes``), the first
    held until it is asked for. Each chunk is checked as UTF-8 but in the raw columns
    (:func:`lib.datasets.textio.refuse_non_utf8`: a byte that is not is an error naming its line and column)."""
    _, chunks = header_and_chunks(path, notes, encoding=encoding, check_utf8=False)
    first = next(chunks)
    layout = read_layout(first.data, path, notes)
    names, sep, raw = list(layout.names), layout.sep.encode(), frozenset(layout.raw_columns)

    def checked(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        for chunk in chunks:
            refuse_non_utf8(chunk.data, path, chunk.first_line, names, sep, raw)
            yield chunk

    return layout, checked(chain([first], chunks))


def _header_fields(header: bytes) -> tuple[list[str] | None, bytes | None]:
    """The names a first line gives its columns, cut at its most frequent delimiter (comma, tab, semicolon), and
    that delimiter; ``(None, None)`` when the line does not read as names (a field is a number, or there is no
    delimiter)."""
    counts = {sep: header.count(sep) for sep in (b",", b"\t", b";")}
    sep = max(counts, key=counts.get)
    if not counts[sep] or b'"' in header:
        return None, None
    names = [field.decode("utf-8", "replace").strip() for field in header.rstrip(b"\r").split(sep)]
    for name in names:
        try:
            float(name)
        except ValueError:
            continue
        return None, None
    return names, sep


def text_chunks(
    path: Path, notes: list[dict] | None = None, encoding: str = DEFAULT_ENCODING, check_utf8: bool = True
) -> Iterator[Chunk]:
    """The text of ``path`` (read as :func:`read_text_bytes` reads it, repairs in ``notes``): one whole chunk when
    it is at most :data:`STREAM_BYTES`, else line-aligned chunks of about :data:`CHUNK_BYTES`, read from disk
    (gzip decompressed) as they are asked for. A line longer than :data:`MAX_LINE_BYTES` is an error naming
    it; so is a byte that is not UTF-8 (``check_utf8``; its column named by its place in the line)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not text_is_larger(path, STREAM_BYTES):
        yield Chunk(read_text_bytes(path, notes, encoding, check_utf8), 1, whole=True)
        return
    for chunk in _line_aligned(_text_blocks(path, [] if notes is None else notes, CHUNK_BYTES, encoding), path):
        if check_utf8:
            refuse_non_utf8(chunk.data, path, chunk.first_line)
        yield chunk


def text_is_larger(path: Path, limit: int) -> bool:
    """Whether the text of ``path`` is over ``limit`` bytes: its size, or for gzip the size of what it
    decompresses to, counted block by block (never held) up to ``limit``."""
    size = path.stat().st_size
    if size > limit or not starts_with(path, GZIP_MAGIC):
        return size > limit
    seen = 0
    try:
        with gzip.open(path, "rb") as fh:
            while seen <= limit and (block := fh.read(min(1 << 20, limit + 1 - seen))):
                seen += len(block)
    except (OSError, EOFError, zlib.error):
        return False  # read whole, where read_text_bytes says what is wrong with it
    return seen > limit


def _text_blocks(path: Path, notes: list[dict], size: int, encoding: str = DEFAULT_ENCODING) -> Iterator[bytes]:
    """The text of ``path`` in blocks of about ``size`` bytes, as UTF-8 (:func:`lib.datasets.textio.text_blocks`)."""
    return text_blocks(path, notes, size, encoding)


def _line_aligned(blocks: Iterable[bytes], path: object = "") -> Iterator[Chunk]:
    """``blocks`` of text regrouped into chunks of whole lines (a block's last partial line goes to the next
    chunk), each with the number of its first line; a line longer than :data:`MAX_LINE_BYTES` is an error
    naming ``path`` and the line (:func:`line_splitter`), so that a block without a line end is never gathered
    past the limit."""
    lines = line_splitter(path)
    for block in blocks:
        first = lines.line
        chunk = lines.feed(block)
        if chunk:
            yield Chunk(chunk, first, whole=False)
    first = lines.line
    rest = lines.finish()
    if rest:
        yield Chunk(rest, first, whole=False)


def parse_chunks(
    chunks: Iterable[Chunk],
    parse: Callable[[Chunk, list[dict]], pd.DataFrame | None],
    file_notes: Iterable[dict] = (),
) -> Iterator[pd.DataFrame]:
    """``parse(chunk, notes)`` of each chunk (None: a chunk without records, skipped). ``notes`` is the list the
    parse records its repairs in: for the first frame it starts with ``file_notes`` (the file's own repairs:
    gzip, encoding), so that a whole file's repairs are what they were. The repairs of a file read in chunks
    are logged once, summed, when the last chunk is done, instead of once per chunk."""
    pending = list(file_notes)
    streamed: list[list[dict]] = []
    for chunk in chunks:
        notes, start = pending, len(pending)
        if chunk.whole:
            frame = parse(chunk, notes)
        else:
            with repairs_unlogged():
                frame = parse(chunk, notes)
            streamed.append(notes[start:])
        del chunk  # not held while the frame is used
        if frame is not None:
            pending = []
            yield frame
            del frame  # not held while the next chunk is parsed
    log_repairs(merge_repairs(streamed))


def merge_repairs(lists: Iterable[Iterable[dict]]) -> list[dict]:
    """Repair records of several chunks as one list: records of the same file, column and repair summed, in
    the order in which they first appear."""
    merged: dict[tuple, dict] = {}
    for notes in lists:
        for note in notes:
            key = (note["file"], note["column"], note["repair"])
            if key in merged:
                merged[key]["count"] += int(note["count"])
            else:
                merged[key] = {**note, "count": int(note["count"])}
    return list(merged.values())


def combine_frames(frames: Iterable[pd.DataFrame], source: object = "") -> pd.DataFrame:
    """The frames of the chunks of ``source`` as one frame: a single frame as it is; several joined column by
    column, categoricals with the union of their categories, sorted (as a whole-file parse has them), repairs
    summed (:func:`merge_repairs`) and the other ``attrs`` of the first frame. A column that holds numbers in
    one chunk and text in another is a :class:`DataError`, as it is when the chunks go to the cache."""
    frames = list(frames)
    if len(frames) == 1:
        return frames[0]
    if not frames:
        raise DataError(f"{source}: no chunk of the file had records")
    _check_same_columns(frames, source)
    columns = {}
    for col in frames[0].columns:
        parts = [frame[col] for frame in frames]
        if isinstance(parts[0].dtype, pd.CategoricalDtype):
            columns[col] = pd.Series(union_categoricals(parts, sort_categories=True), name=col)
        else:
            _check_same_kind(parts, col, source)
            columns[col] = pd.concat(parts, ignore_index=True)
    out = pd.DataFrame(columns)
    out.attrs = dict(frames[0].attrs)
    if "repairs" in out.attrs:
        out.attrs["repairs"] = merge_repairs(frame.attrs.get("repairs", []) for frame in frames)
    return out


def _check_same_columns(frames: list[pd.DataFrame], source: object) -> None:
    first = list(frames[0].columns)
    rows = 0
    for frame in frames:
        if list(frame.columns) != first:
            raise DataError(
                f"{source}: rows {rows + 1:,}-{rows + len(frame):,} have the columns {list(frame.columns)}, not "
                f"those of the file's first rows {first}. Fix: read the file whole (raise "
                f"lib.datasets.stream.STREAM_BYTES above its size)"
            )
        rows += len(frame)


def _check_same_kind(parts: list[pd.Series], column: str, source: object) -> None:
    """A :class:`DataError` if ``column`` holds numbers in one chunk and anything else in another (chunks
    without a value in it aside)."""
    first, rows = None, 0
    for part in parts:
        is_number = pd.api.types.is_numeric_dtype(part)
        if not part.isna().all():
            first = is_number if first is None else first
            if is_number != first:
                raise DataError(
                    f"{source}: column {column!r} holds {'numbers' if is_number else 'text'} in rows {rows + 1:,}-"
                    f"{rows + len(part):,} but {'numbers' if first else 'text'} in the file's first rows. A column "
                    f"changes type within the file. Fix: correct the file, or read it whole (raise "
                    f"lib.datasets.stream.STREAM_BYTES above its size)"
                )
        rows += len(part)
