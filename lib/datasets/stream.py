"""A file's text in line-aligned chunks, and the frames a reader makes of them (notebook ``01_data_preparation.ipynb``).

A file whose text is at most :data:`STREAM_BYTES` is read whole, as one chunk, exactly as before; a larger one
(plain or gzip, whose text is counted as it is decompressed) is read :data:`CHUNK_BYTES` at a time, each chunk
ending at a line end, and never held whole (:func:`text_chunks`). A reader parses its file's header once and
applies one body parse to every chunk (:func:`parse_chunks`), each chunk knowing the number of its first line, so
that an error in a later chunk names its line in the file. The frames of the chunks either go to the Parquet cache
one by one (``cache.py``) or are put together with :func:`combine_frames`; their repairs are summed by
:func:`merge_repairs`. Limits: a line must fit in memory, a quoted CSV field must not span lines, and a header
(Zeek ``#`` lines, a CSV header row) must lie in the first chunk.
"""

from __future__ import annotations

import codecs
import gzip
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import pandas as pd
from pandas.api.types import union_categoricals

from lib.datasets.csvparse import (
    GZIP_MAGIC,
    NEWLINE,
    UTF8_BOM,
    is_utf16,
    read_text_bytes,
    refuse_archives,
    refuse_binary,
)
from lib.datasets.errors import DataError, log_repairs, note_repair, repairs_unlogged

STREAM_BYTES = 256 * 2**20  # a file whose text is larger is read in chunks (tests lower it with monkeypatch)
CHUNK_BYTES = 64 * 2**20  # the size of a chunk of a file read in chunks (a chunk ends at the next line end)


@dataclass(frozen=True)
class Chunk:
    """Whole lines of a file's text: ``first_line`` is the 1-based number of the first in the file; ``whole``
    says whether they are the file's whole text (a file at most :data:`STREAM_BYTES` long)."""

    data: bytes
    first_line: int
    whole: bool


def header_and_chunks(path: Path) -> tuple[bytes, Iterator[Chunk]]:
    """The first line of ``path``'s text and all of its chunks (:func:`text_chunks`), a UTF-8 byte-order mark
    removed from both: a reader takes its layout from the line and parses every chunk by it. The chunks are read
    as they are asked for; the first is held until then."""
    chunks = text_chunks(path)
    first = next(chunks)
    if first.data.startswith(UTF8_BOM):
        first = Chunk(first.data[len(UTF8_BOM) :], first.first_line, first.whole)
    return first.data.split(NEWLINE, 1)[0], chain([first], chunks)


def text_chunks(path: Path, notes: list[dict] | None = None) -> Iterator[Chunk]:
    """The text of ``path`` (checked and decoded as :func:`lib.datasets.csvparse.read_text_bytes` does, repairs in
    ``notes``): one whole chunk when it is at most :data:`STREAM_BYTES`, else line-aligned chunks of about
    :data:`CHUNK_BYTES`, read from disk (gzip decompressed) as they are asked for."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not text_is_larger(path, STREAM_BYTES):
        yield Chunk(read_text_bytes(path, notes), 1, whole=True)
        return
    yield from _line_aligned(_text_blocks(path, [] if notes is None else notes, CHUNK_BYTES))


def text_is_larger(path: Path, limit: int) -> bool:
    """Whether the text of ``path`` is over ``limit`` bytes: its size, or for gzip the size of what it
    decompresses to, counted block by block (never held) up to ``limit``."""
    size = path.stat().st_size
    if size > limit or not _starts_with(path, GZIP_MAGIC):
        return size > limit
    seen = 0
    try:
        with gzip.open(path, "rb") as fh:
            while seen <= limit and (block := fh.read(min(1 << 20, limit + 1 - seen))):
                seen += len(block)
    except (OSError, EOFError):
        return False  # read whole, where read_text_bytes says what is wrong with it
    return seen > limit


def _starts_with(path: Path, magic: bytes) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(magic)) == magic


def _text_blocks(path: Path, notes: list[dict], size: int) -> Iterator[bytes]:
    """The text of ``path`` in blocks of about ``size`` bytes, as UTF-8: gzip decompressed as it is read, UTF-16
    decoded incrementally, a UTF-8 byte-order mark removed (both counted in ``notes``); archives and binary
    files refused, as :func:`lib.datasets.csvparse.read_text_bytes` does for a whole file."""
    is_gzip = _starts_with(path, GZIP_MAGIC)
    try:
        with gzip.open(path, "rb") if is_gzip else open(path, "rb") as fh:
            block = fh.read(size)
            refuse_archives(block, path)
            decode = None
            if is_utf16(block):
                decode = codecs.getincrementaldecoder("utf-16")().decode
                note_repair(notes, path.name, "", "text re-encoded from UTF-16 to UTF-8", 1)
            text = decode(block).encode("utf-8") if decode else block
            if text.startswith(UTF8_BOM):
                text = text[len(UTF8_BOM) :]
                note_repair(notes, path.name, "", "UTF-8 byte-order mark removed from the first line", 1)
            refuse_binary(text, path)
            while block:
                yield text
                block = fh.read(size)
                text = decode(block, final=not block).encode("utf-8") if decode else block
            if text:
                yield text  # what the UTF-16 decoder held back at the end
    except (OSError, EOFError) as err:
        if not is_gzip:
            raise
        raise DataError(f"{path}: a gzip file that does not decompress ({err}). Fix: download it again") from err


def _line_aligned(blocks: Iterable[bytes]) -> Iterator[Chunk]:
    """``blocks`` of text regrouped into chunks of whole lines (a block's last partial line goes to the next
    chunk), each with the number of its first line."""
    line, carry = 1, b""
    for block in blocks:
        data = carry + block if carry else block
        cut = data.rfind(NEWLINE) + 1
        if cut == 0:  # a line longer than a block: gather more
            carry = data
            continue
        chunk, carry = data[:cut], data[cut:]
        yield Chunk(chunk, line, whole=False)
        line += chunk.count(NEWLINE)
    if carry:
        yield Chunk(carry, line, whole=False)


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
