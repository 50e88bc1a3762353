"""A file's bytes as the text every reader of :mod:`lib.datasets` parses: the layer under ``stream.py`` (whole
text and chunks, the limits) and ``csvparse.py`` (tables).

* :func:`text_blocks`: the text of a file, block by block, never held whole: gzip (whatever the name)
  decompressed as it is read, UTF-16 (by its byte-order mark) or the ``encoding`` a user names re-encoded to
  UTF-8, a UTF-8 byte-order mark removed, CR-only line ends (old Mac and Excel exports) read as LF, each counted
  once per file with :func:`lib.datasets.errors.note_repair`; archives and binary files refused
  (:func:`refuse_archives`, :func:`refuse_binary`).
* :class:`LineSplitter`: whole lines out of such blocks, a line longer than its limit (``stream.MAX_LINE_BYTES``)
  a :class:`~lib.datasets.errors.DataError` naming the file and the line, so that memory is bounded whatever
  the input (a gzip file whose text has no line end at all is refused after the limit, not gathered).
* :func:`refuse_non_utf8`: a byte that is not UTF-8 is an error naming the file, the line and the column (the
  field's name where the caller knows the fields, else the byte's place in the line) and the fix
  (``ENCODING='latin-1'``).
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from lib.datasets.errors import DataError, EncodingError, note_repair

#: The end of a record (Zeek logs and tables alike; a ``\r`` before it is the parser's to strip).
NEWLINE = b"\n"
#: The first bytes of a gzip file (whatever its name).
GZIP_MAGIC = b"\x1f\x8b"
#: A UTF-8 byte-order mark (removed from a file's first line, and counted).
UTF8_BOM = b"\xef\xbb\xbf"
#: The text encoding a file is read in unless a reader is told another (``ENCODING``).
DEFAULT_ENCODING = "utf-8"
#: Bytes of a file read (and decompressed) at a time when its text is gathered whole.
READ_BYTES = 2**20
_NOT_TEXT = {
    b"PK\x03\x04": "a zip archive. Fix: unzip it and point DATA_FILES at the files inside",
    b"PAR1": "a Parquet file with another name. Fix: rename it to end in .parquet",
    b"\x28\xb5\x2f\xfd": "a zstd archive. Fix: decompress it (zstd -d) first",
    b"BZh": "a bzip2 archive. Fix: decompress it (bunzip2) first",
    b"\xfd7zXZ": "an xz archive. Fix: decompress it (unxz) first",
}
_UTF8_NAMES = {"utf-8", "utf-8-sig"}  # read as they are (a byte-order mark is removed in any case)
CR_REPAIR = "line ends written as CR alone (old Mac/Excel export) read as LF"
_CHECK_STEP = 2**20  # bytes decoded at a time when checking that text is UTF-8 (never a whole chunk as one str)


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


def text_suffix(path: Path) -> str:
    """``.csv`` for ``flows.csv.gz``: the suffix of the text inside."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def starts_with(path: Path, magic: bytes) -> bool:
    """Whether the file's first bytes are ``magic``."""
    with open(path, "rb") as fh:
        return fh.read(len(magic)) == magic


def codec_name(encoding: str) -> str:
    """The codec Python knows ``encoding`` by (``"latin-1"`` -> ``"iso8859-1"``); a :class:`DataError` naming
    the parameter for a name it does not know."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise DataError(
            f"ENCODING={encoding!r} is not a text encoding Python knows. Fix: name the file's encoding, e.g. "
            f"'utf-8' (the default), 'latin-1', 'cp1252' or 'utf-16'"
        ) from None


# ------------------------------------------------------------------------------------------------ the text
def text_blocks(
    path: Path, notes: list[dict] | None = None, size: int = READ_BYTES, encoding: str = DEFAULT_ENCODING
) -> Iterator[bytes]:
    """The text of ``path`` as UTF-8 in blocks of about ``size`` bytes (any cut: a block may end inside a line),
    read from disk as they are asked for: gzip decompressed as it is read, UTF-16 (its byte-order mark) or
    ``encoding`` re-encoded to UTF-8, a UTF-8 byte-order mark removed, CR-only line ends read as LF (each
    recorded once in ``notes``); archives and binary files refused. Text said to be UTF-8 is passed on as it
    is: :func:`refuse_non_utf8` checks it, line by line, where the lines are known."""
    notes = [] if notes is None else notes
    codec = codec_name(encoding)
    is_gzip = starts_with(path, GZIP_MAGIC)
    try:
        with gzip.open(path, "rb") if is_gzip else open(path, "rb") as fh:  # noqa: SIM115 - closed by the with
            yield from _decoded(fh, path, notes, size, codec, encoding)
    except (OSError, EOFError, zlib.error) as err:
        if not is_gzip:
            raise
        raise DataError(f"{path}: a gzip file that does not decompress ({err}). Fix: download it again") from err


def _decoded(fh: BinaryIO, path: Path, notes: list[dict], size: int, codec: str, encoding: str) -> Iterator[bytes]:
    block = fh.read(size)
    refuse_archives(block, path)
    decode: Callable[..., str] | None = None
    if is_utf16(block):
        decode, codec = codecs.getincrementaldecoder("utf-16")().decode, "utf-16"
        note_repair(notes, path.name, "", "text re-encoded from UTF-16 to UTF-8", 1)
    elif codec not in _UTF8_NAMES:
        decode = codecs.getincrementaldecoder(codec)().decode
        note_repair(notes, path.name, "", f"text read as {encoding} (ENCODING) and re-encoded to UTF-8", 1)
    line_ends = _LineEnds(path, notes)
    first, lines = True, 1  # lines: the number of the line the next block starts in
    while True:
        final = not block
        if decode is None:
            text = block
        else:
            try:
                text = decode(block, final).encode("utf-8")
            except UnicodeDecodeError as err:
                raise _not_in_encoding(err, block, path, lines, codec) from None
        if first and text:
            first = False
            if text.startswith(UTF8_BOM):
                text = text[len(UTF8_BOM) :]
                note_repair(notes, path.name, "", "UTF-8 byte-order mark removed from the first line", 1)
            refuse_binary(text, path)
        text = line_ends.convert(text, final)
        if text:
            lines += text.count(NEWLINE)
            yield text
        if final:
            return
        block = fh.read(size)


def _not_in_encoding(err: UnicodeDecodeError, block: bytes, path: Path, lines: int, codec: str) -> EncodingError:
    line = lines + block.count(NEWLINE, 0, max(err.start, 0))
    return EncodingError(
        f"{path}, line {line}: byte 0x{block[err.start]:02x} is not {codec} text ({err.reason})",
        codec,
        "set ENCODING to the file's encoding ('latin-1' reads any byte)",
    )


class _LineEnds:
    """CR-only line ends read as LF. A file is taken to end its lines with CR alone when its first line end is a
    CR not followed by LF; then every CR, and every CRLF, is a line end (LF), recorded once."""

    def __init__(self, path: Path, notes: list[dict]):
        self.path, self.notes = path, notes
        self.cr_only: bool | None = None  # None: no line end seen yet
        self.carry = b""  # a CR at the end of the last block, decided with the next one

    def convert(self, text: bytes, final: bool) -> bytes:
        if self.cr_only is False:
            return text
        text, self.carry = self.carry + text, b""
        if self.cr_only is None:
            cr, lf = text.find(b"\r"), text.find(NEWLINE)
            if cr < 0 or 0 <= lf < cr:
                self.cr_only = None if lf < 0 else False
                return text
            if cr + 1 == len(text) and not final:
                self.carry = b"\r"  # CR LF or CR alone: the next block says
                return text[:-1]
            self.cr_only = text[cr + 1 : cr + 2] != NEWLINE
            if not self.cr_only:
                return text
            note_repair(self.notes, self.path.name, "", CR_REPAIR, 1)
        if text.endswith(b"\r") and not final:
            text, self.carry = text[:-1], b"\r"
        return text.replace(b"\r\n", NEWLINE).replace(b"\r", NEWLINE)


# ------------------------------------------------------------------------------------------------- the lines
class LineSplitter:
    """Whole lines out of blocks of text (:meth:`feed`), the start of a line whose end has not come yet held
    (``pending``) until it does, and every line checked against ``limit`` bytes: a longer one is a
    :class:`DataError` naming ``path`` and the line's number, so that what is held never grows past the limit
    whatever the input. ``line`` is the number of the next line :meth:`feed` returns (``first_line`` at the
    start); :meth:`finish` returns a last line without a line end."""

    def __init__(self, path: object, limit: int, first_line: int = 1):
        self.path, self.limit, self.line = path, int(limit), first_line
        self.pending = b""

    def feed(self, block: bytes) -> bytes:
        """The whole lines that ``block`` ends (with what was pending before it), ``b""`` if none."""
        data = self.pending + block if self.pending else block
        cut = data.rfind(NEWLINE) + 1
        if cut == 0:
            self.pending = data
            if len(data) > self.limit:
                raise line_too_long(self.path, self.line, self.limit)
            return b""
        _check_line_lengths(data, cut, self.limit, self.path, self.line)
        if len(data) - cut > self.limit:  # (before the rest is copied)
            raise line_too_long(self.path, self.line + data.count(NEWLINE, 0, cut), self.limit)
        whole, self.pending = data[:cut], data[cut:]
        self.line += whole.count(NEWLINE)
        return whole

    def finish(self) -> bytes:
        """The last line, when the text does not end with a line end (``b""`` otherwise)."""
        rest, self.pending = self.pending, b""
        return rest


def _check_line_lengths(data: bytes, end: int, limit: int, path: object, first_line: int) -> None:
    """A :class:`DataError` if a line of ``data[:end]`` (whole lines) is longer than ``limit`` bytes. From the
    start of a line, the last line end within ``limit + 1`` bytes is found (or there is none: that line is too
    long), so that a block of short lines is checked in ``len / limit`` steps, not one per line."""
    pos = 0
    while end - pos > limit:
        nl = data.rfind(NEWLINE, pos, pos + limit + 1)
        if nl < 0:
            raise line_too_long(path, first_line + data.count(NEWLINE, 0, pos), limit)
        pos = nl + 1


def line_too_long(path: object, line: int, limit: int) -> DataError:
    """The error for a line of more than ``limit`` bytes."""
    return DataError(
        f"{path}, line {line:,}: a line longer than {limit:,} bytes without a line end, so not a flow record "
        f"(a Zeek log line or a table row is at most a few KiB); it was not read further. The file is not text "
        f"written line by line, or its line ends were lost (a binary file, one JSON document on a single line, a "
        f"file whose LF line ends were removed). Fix: check the file (head -c 2000 on its text); if its lines "
        f"really are that long, raise lib.datasets.stream.MAX_LINE_BYTES above {limit:,}"
    )


# ------------------------------------------------------------------------------------------------ UTF-8
def refuse_non_utf8(
    data: bytes,
    path: object,
    first_line: int,
    names: Sequence[str] | None = None,
    sep: bytes | None = None,
    raw_columns: Collection[str] = (),
) -> None:
    """A :class:`DataError` if ``data`` (whole lines, the first numbered ``first_line`` in the file) holds a byte
    that is not UTF-8: it names the file, the line and the column (``names[i]`` for the field the byte is in,
    fields cut at ``sep``, when both are given and the line holds no quote before the byte; else the byte's place
    in the line) and the fix. Text that is all ASCII is passed at once; other text is decoded 1 MiB at a time.
    ``raw_columns``: columns whose bytes the caller reads itself (the CICIDS2017 reader its labels, counting what it
    replaces; the BoT-IoT reader Argus' raw ``record``, dropped): a byte in such a field, told by ``names`` and
    ``sep``, is passed over."""
    if data.isascii():
        return
    search = 0
    while (pos := _first_non_utf8(data, search)) is not None:
        start = data.rfind(NEWLINE, 0, pos) + 1
        prefix = data[start:pos]
        field = prefix.count(sep) if names and sep and b'"' not in prefix else None
        column = names[field] if field is not None and field < len(names) else None
        if column is None or column not in raw_columns:
            raise _not_utf8(data, path, first_line, pos, start, column)
        end = data.find(NEWLINE, pos)
        field_end = data.find(sep, pos, len(data) if end < 0 else end)  # the next field is checked again
        if field_end < 0 and end < 0:
            return
        search = field_end if field_end >= 0 else end + 1


def _not_utf8(data: bytes, path: object, first_line: int, pos: int, start: int, column: str | None) -> EncodingError:
    """The error for the byte at ``pos`` (in the line that starts at ``start``) of :func:`refuse_non_utf8`."""
    line = first_line + data.count(NEWLINE, 0, start)
    where = f"byte {pos - start + 1} of the line"
    if column is not None:
        where = f"column {column!r} ({where})"
    end = data.find(NEWLINE, pos)
    shown = data[max(start, pos - 24) : min(pos + 16, len(data) if end < 0 else end)]
    return EncodingError(
        f"{path}, line {line:,}, {where}: byte 0x{data[pos]:02x} is not UTF-8 (near {shown!r}), so the file is "
        f"not UTF-8 text",
        "utf-8",
        "set ENCODING='latin-1' (or the file's encoding, e.g. 'cp1252'), and the text is re-encoded as it is read",
    )


def _first_non_utf8(data: bytes, start: int = 0) -> int | None:
    """The offset of the first byte of ``data`` from ``start`` on (the start of a character) that is not UTF-8 (a
    truncated sequence at the end included), or None."""
    view, n = memoryview(data), len(data)
    while start < n:
        end = min(n, start + _CHECK_STEP)
        while end < n and end - start < _CHECK_STEP + 3 and data[end] & 0xC0 == 0x80:
            end += 1  # never cut a character in two
        try:
            codecs.utf_8_decode(view[start:end], "strict", True)
        except UnicodeDecodeError as err:
            return start + err.start
        start = end
    return None
