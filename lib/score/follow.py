"""Follow mode (``--follow``): a Zeek log read as Zeek appends to it, its new flows scored and written as they
come (CSV, flushed per batch), memory bounded by :data:`FOLLOW_READ_BYTES` per poll and a line by
:func:`max_line_bytes`. Ctrl-C / SIGTERM (or ``--max-seconds``, ``--idle-seconds``) stops it cleanly: everything
read so far is scored and written.

**Rotations** (:class:`LogFollower`), each counted in the summary by kind: the log renamed and a new file
started under its name, or another file put in its place (``mv new conn.log``: the path names another
device/inode): the old file is read to its end, then the new one from its header; the log cut short in place
(``copytruncate``: smaller than what was read) or rewritten in place (the first bytes of the file or the last
ones read have changed, e.g. truncated and written again longer): the file is read again from its beginning.

**Header blocks**: a ``#`` header block in the appended text (a log written again after a restart, logs
concatenated) switches the format to the fields it declares, read by
:func:`~lib.datasets.zeek.zeek_header`; its lines are never parsed as records. As in batch mode, a later block
of a file must have every field of the file's first block (else an error naming the line of its ``#fields``
line: the rows before it stay scored and written), and a field only a later block has is dropped, counted.
``#close`` footers are skipped, other ``#`` lines amid the records are skipped and counted.

**Appending** (``--append``): the output's summary records where its session stopped (the log's device, inode
and byte offset, the header block in force, the next row number, the output's size); a new session adds its
rows after those, numbered on, from that place in the log when it is still the same file (else from the start
of the file now under the name, and the summary says so), and the summary counts all the sessions. The summary
is rewritten after every poll that wrote rows, so that it describes the output while it grows.

**Zeek JSON logs** (``LogAscii::use_json=T``) are followed too: a file whose first line is a Zeek JSON record
takes its columns from that record (:func:`~lib.datasets.zeek.json_format`), each file of a rotation its own.

The records are parsed by the Zeek reader of :mod:`lib.datasets.zeek` (:func:`~lib.datasets.zeek.zeek_header`,
:func:`~lib.datasets.zeek.zeek_frame`) and their values read as in batch mode and in training
(:func:`lib.score.inputs.zeek_values`: negative counts, sizes and durations missing, counted); text in the run's
``ENCODING`` other than UTF-8 is re-encoded line by line (counted once per file)."""

from __future__ import annotations

import copy
import os
import re
import signal
import stat
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from lib.datasets import stream
from lib.datasets.csvparse import NEWLINE
from lib.datasets.errors import DataError, note_repair
from lib.datasets.stream import Chunk, merge_repairs
from lib.datasets.textio import DEFAULT_ENCODING, codec_name
from lib.datasets.zeek import ZeekFormat, first_record, json_format, zeek_frame, zeek_header
from lib.datasets.zeek_json import looks_like_zeek_json
from lib.score.inputs import BATCH_ROWS, check_input, zeek_values
from lib.score.model import Detector, ScoreError, Thresholds
from lib.score.outputs import (
    OUTPUT_COLUMNS,
    FollowWriter,
    Tally,
    check_output_place,
    read_summary,
    same_file,
    summary_path,
    write_summary,
)

#: Follow mode reads at most this much of a log per poll (about 9,000 IoT-23 flows): memory is bounded when it
#: starts behind a long log, and Ctrl-C waits for at most one such piece to be scored.
FOLLOW_READ_BYTES = 2**20
#: The longest line accepted when :data:`lib.datasets.stream.MAX_LINE_BYTES` is not defined.
DEFAULT_MAX_LINE_BYTES = 4 * 2**20
#: Bytes of a file's start and of the end of what was read that are compared at each poll (a rewrite in place).
CHECK_BYTES = 256
#: The kinds of rotation, as the summary counts them.
ROTATION_KINDS = {
    "renamed": "renamed or replaced (a new file under the name)",
    "cut": "cut short in place (copytruncate)",
    "rewritten": "rewritten in place",
    "between": "replaced between two sessions (--append)",
}


def max_line_bytes() -> int:
    """The longest line a followed log may have: :data:`lib.datasets.stream.MAX_LINE_BYTES` when the reader
    defines it, else :data:`DEFAULT_MAX_LINE_BYTES`."""
    return int(getattr(stream, "MAX_LINE_BYTES", DEFAULT_MAX_LINE_BYTES))


@dataclass
class _Followed:
    """The log being followed: its open handle and identity, the header block in force, and what was read of
    it but not parsed yet (``backlog``: whole lines; ``pending``: the start of a line not ended yet)."""

    path: Path
    handle: BinaryIO
    device: int
    inode: int
    fmt: ZeekFormat | None = None
    header: bytes = b""  # the header block in force
    inherited: tuple[ZeekFormat, bytes, Any] | None = None  # format, header, first block before a rotation
    backlog: bytes = b""
    pending: bytes = b""
    line: int = 0  # lines of the file parsed so far
    head: bytes = b""  # the file's first bytes (at most CHECK_BYTES), as read
    recent: bytes = b""  # the last bytes read (at most CHECK_BYTES)
    reencoded: bool = False  # whether its text was re-encoded to UTF-8 (ENCODING), counted once per file
    first: tuple[list[str], int] | None = None  # the fields of the file's first header block, its #fields line

    def offset(self) -> int:
        """Where the first line not parsed yet starts."""
        return self.handle.tell() - len(self.backlog) - len(self.pending)


def _shifted(err: DataError, path: Path, lines: int) -> DataError:
    """``err`` of a header block parsed on its own, its line number made the line of the file (``lines`` lines
    before the block)."""
    if not lines:
        return err
    prefix = re.escape(f"{path}, line ")
    message = re.sub(rf"^{prefix}(\d+)", lambda m: f"{path}, line {int(m.group(1)) + lines}", str(err), count=1)
    return type(err)(message)


class LogFollower:
    """Complete new lines of a Zeek log that is still being written (``tail -F``): :meth:`poll` returns the
    flows appended since the last call, at most ``read_bytes`` of the log at a time, following rotations and
    header blocks (module docstring) and waiting for a half-written last line to be completed; a line longer
    than :func:`max_line_bytes` is an error naming its line. ``resume`` (a :meth:`position`) starts at the place
    a previous follower stopped when the log is still the same file; ``avoid`` lists files that must never be
    read as the log (the output); ``encoding`` is the log's text encoding (the run's ``ENCODING``)."""

    def __init__(
        self,
        path: str | os.PathLike,
        benign_labels: str = "benign",
        read_bytes: int = FOLLOW_READ_BYTES,
        resume: dict[str, Any] | None = None,
        avoid: tuple[str | os.PathLike, ...] | list[str | os.PathLike] = (),
        encoding: str = DEFAULT_ENCODING,
    ):
        if read_bytes < 1:
            raise ValueError(f"read_bytes must be 1 or more, not {read_bytes}")
        self.path, self.benign_labels, self.read_bytes = Path(path), benign_labels, read_bytes
        self.encoding, self.codec = encoding, codec_name(encoding)
        self.reencode = self.codec not in ("utf-8", "utf-8-sig")  # (text said to be UTF-8 is checked as it is)
        if self.reencode and "\n".encode(self.codec) != NEWLINE:
            raise ScoreError(
                f"ENCODING={encoding!r}: follow mode reads a log line by line, and {self.codec} does not end its "
                f"lines with the byte 0x0a. Fix: score the log without --follow (batch mode reads it), or have Zeek "
                f"write UTF-8"
            )
        self.max_line = max_line_bytes()
        self.notes: list[dict] = []  # the parser's repairs (note_repair records)
        self.incomplete = 0  # half-written last records of rotated files
        self.rotations = 0
        self.rotations_by_kind: Counter = Counter()
        self.header_blocks = 0  # header blocks after a file's first one
        self.resume, self.resumed = resume, ""
        self.avoid = [Path(p) for p in avoid]
        self.current: _Followed | None = None

    # ---------------------------------------------------------------------------------------- the file
    def _open(self) -> _Followed | None:
        try:
            if not stat.S_ISREG(os.stat(self.path).st_mode):  # (opening a named pipe would wait for a writer)
                raise ScoreError(f"{self.path} now names a pipe, a device or a folder, not a log. Fix: check the path")
            handle = open(self.path, "rb", buffering=0)  # noqa: SIM115 - closed on rotation and in close()
        except FileNotFoundError:
            return None  # between a rename and the new file
        except OSError as err:
            reason = "permission denied" if isinstance(err, PermissionError) else (err.strerror or str(err)).lower()
            raise ScoreError(
                f"{self.path}: the log now under this name cannot be read ({reason}). Fix: make the new file "
                f"readable (the log writer's permissions) and start follow mode again with --append"
            ) from None
        info = os.fstat(handle.fileno())
        problem = "" if stat.S_ISREG(info.st_mode) else "not a regular file"
        for other in self.avoid:
            try:
                if os.path.samestat(info, os.stat(other)):
                    problem = f"the output {other}"
            except OSError:
                continue
        if problem:
            handle.close()
            raise ScoreError(f"{self.path} now names {problem}, which follow mode does not read. Fix: check the path")
        followed = _Followed(self.path, handle, info.st_dev, info.st_ino)
        if self.resume is not None:
            self._resume(followed, info, self.resume)
            self.resume = None
        return followed

    def _resume(self, followed: _Followed, info: os.stat_result, state: dict[str, Any]) -> None:
        """Start ``followed`` where a previous follower stopped (``state``, :meth:`position`) if it is the same
        file with the same bytes up to there; say in :attr:`resumed` what was done."""
        offset, fd = int(state.get("offset", 0)), followed.handle.fileno()
        head, recent = bytes.fromhex(state.get("head", "")), bytes.fromhex(state.get("recent", ""))
        same = (info.st_dev, info.st_ino) == (state.get("device"), state.get("inode")) and info.st_size >= offset
        same = same and os.pread(fd, len(head), 0) == head
        same = same and os.pread(fd, len(recent), offset - len(recent)) == recent
        if not same or not state.get("header"):
            self.rotations += 1
            self.rotations_by_kind[ROTATION_KINDS["between"]] += 1
            self.resumed = (
                f"{self.path} is not the file the previous session read (rotated or replaced since): read from its "
                f"start; what the previous file got after that session stopped was not read"
            )
            return
        header = state["header"].encode()
        followed.fmt, followed.header = self._read_header(header, followed, 0), header
        followed.handle.seek(offset)
        followed.line = int(state.get("line", 0))
        first = state.get("first_fields")
        followed.first = (list(first), int(state.get("first_fields_line", 0))) if first else (followed.fmt.names, 0)
        followed.head, followed.recent = os.pread(fd, min(CHECK_BYTES, offset), 0), recent
        self.resumed = f"continued at line {followed.line + 1:,} of {self.path}, where the previous session stopped"

    def _changed(self, followed: _Followed) -> str | None:
        """How the log changed under its name (a key of :data:`ROTATION_KINDS`), None if it did not; not while
        the path is missing between a rename and the new file."""
        try:
            now = os.stat(self.path)
        except OSError:
            return None
        if (now.st_dev, now.st_ino) != (followed.device, followed.inode):
            return "renamed"
        position, fd = followed.handle.tell(), followed.handle.fileno()
        if now.st_size < position:
            return "cut"
        if followed.head and os.pread(fd, len(followed.head), 0) != followed.head:
            return "rewritten"
        if followed.recent and os.pread(fd, len(followed.recent), position - len(followed.recent)) != followed.recent:
            return "rewritten"
        return None

    def _switch(self, kind: str) -> None:
        """Leave the file read so far for the one now under the name (a rotation of ``kind``)."""
        old = self.current
        if old.pending or old.backlog:
            self.incomplete += 1
        old.handle.close()
        self.rotations += 1
        self.rotations_by_kind[ROTATION_KINDS[kind]] += 1
        self.current = self._open()
        if self.current is not None and kind != "renamed" and old.fmt is not None:
            self.current.inherited = (old.fmt, old.header, old.first)

    # ---------------------------------------------------------------------------------------- polling
    def poll(self) -> pd.DataFrame | None:
        """The flows of the next lines appended to the log (those of one read of at most ``read_bytes``, and of
        a line begun in the read before), None when the log has none now; the old file of a rotation is read to
        its end before the new one is opened. Reads that give no record (a header block, a line not ended yet)
        are followed by the next read in the same call."""
        while True:
            if self.current is None:
                self.current = self._open()
                if self.current is None:
                    return None
            followed = self.current
            if followed.backlog:
                progressed, frame = self._parse_next(followed)
                if len(self.notes) > 64:  # one record per poll and repair: summed, so that memory stays bounded
                    self.notes[:] = merge_repairs([self.notes])
                if frame is not None:
                    return frame
                if progressed:
                    continue
            change = self._changed(followed)
            if change in ("cut", "rewritten"):
                self._switch(change)
                continue
            data = followed.handle.read(self.read_bytes)
            if data:
                self._take(followed, data)
                continue
            if change == "renamed":
                self._switch(change)
                continue
            return None

    def _take(self, followed: _Followed, data: bytes) -> None:
        """``data`` just read: its whole lines to the backlog, the rest kept until its line ends; a line longer
        than :attr:`max_line` is an error."""
        if len(followed.head) < CHECK_BYTES:
            followed.head = (followed.head + data)[:CHECK_BYTES]
        followed.recent = (followed.recent + data[-CHECK_BYTES:])[-CHECK_BYTES:]
        first_end = data.find(NEWLINE)
        if first_end < 0:
            followed.pending += data
            if len(followed.pending) > self.max_line:
                raise self._too_long(followed, followed.backlog.count(NEWLINE) + 1)
            return
        if len(followed.pending) + first_end > self.max_line:
            raise self._too_long(followed, followed.backlog.count(NEWLINE) + 1)
        if len(data) > self.max_line:  # (a read larger than the limit may hold a long line of its own)
            self._check_lines(followed, data, first_end)
        cut = data.rfind(NEWLINE) + 1
        followed.backlog += followed.pending + data[:cut]
        followed.pending = data[cut:]
        if len(followed.pending) > self.max_line:
            raise self._too_long(followed, followed.backlog.count(NEWLINE) + 1)

    def _check_lines(self, followed: _Followed, data: bytes, first_end: int) -> None:
        start, number = first_end + 1, followed.backlog.count(NEWLINE) + 2
        while (end := data.find(NEWLINE, start)) >= 0:
            if end - start > self.max_line:
                raise self._too_long(followed, number)
            start, number = end + 1, number + 1

    def _too_long(self, followed: _Followed, backlog_line: int) -> ScoreError:
        number = followed.line + backlog_line
        return ScoreError(
            f"{followed.path}, line {number:,}: a line longer than {self.max_line:,} bytes (the longest a line may "
            f"be, lib.datasets.stream.MAX_LINE_BYTES), so not a Zeek conn log record; it was not read further. Fix: "
            f"check that the file is a Zeek TSV log written line by line (head -c 2000 {followed.path}); a longer "
            f"line is accepted only by raising MAX_LINE_BYTES"
        )

    def _parse_next(self, followed: _Followed) -> tuple[bool, pd.DataFrame | None]:
        """Parse the backlog's first run of lines: a header block (the format switches to it), a footer, or
        records up to the next ``#`` line (their flows). ``(False, None)``: the run is a header block whose
        end is not read yet."""
        data = followed.backlog
        if data.startswith(b"#"):
            return self._header_run(followed), None
        if followed.fmt is None and looks_like_zeek_json(data[: 2 * self.max_line]):
            record, line = first_record(data, followed.line + 1)  # a JSON log: its first record gives the columns
            followed.header = self._utf8(record + NEWLINE, followed, line)
            followed.fmt = self._read_header(followed.header, followed, line - 1)
            followed.first = followed.first or (list(followed.fmt.names), line)
        elif followed.fmt is None:
            if followed.inherited is None:
                raise ScoreError(
                    f"{followed.path}, line {followed.line + 1:,}: a followed log must start with Zeek's '#' header "
                    f"lines or be a Zeek JSON log. Fix: follow a Zeek conn log (score a table without --follow)"
                )
            followed.fmt, followed.header, followed.first = followed.inherited
            note_repair(
                self.notes,
                followed.path.name,
                "",
                "records after the log was cut short or rewritten in place read by the header block before that "
                "(no header block came with them)",
                1,
            )
        nxt = data.find(b"\n#")
        end = len(data) if nxt < 0 else nxt + 1
        body, followed.backlog = data[:end], data[end:]
        first = followed.line + 1
        followed.line += body.count(NEWLINE)
        chunk = Chunk(self._utf8(body, followed, first), first, False)
        del body
        frame = zeek_frame(chunk, self.notes, log_format=followed.fmt, path=followed.path)
        if frame is None:
            return True, None
        return True, zeek_values(self._first_fields(frame, followed), followed.path, self.notes)

    def _first_fields(self, frame: pd.DataFrame, followed: _Followed) -> pd.DataFrame:
        """``frame`` without the fields of the block in force that the file's first block lacks (dropped and
        counted, as :func:`lib.datasets.zeek.zeek_conn_frames` does)."""
        if followed.first is None:
            return frame
        names, fields_line = followed.first
        added = [name for name in followed.fmt.names if name not in names and name in frame]
        for name in added:
            note_repair(
                self.notes,
                followed.path.name,
                name,
                f"field that the log's first header block (#fields on line {fields_line}) lacks dropped (a later "
                f"header block has it)",
                int(frame[name].notna().sum()),
            )
        return frame.drop(columns=added) if added else frame

    def _utf8(self, data: bytes, followed: _Followed, first_line: int) -> bytes:
        """``data`` (whole lines of the log, the first numbered ``first_line``) as UTF-8: as it is, or re-encoded
        from the run's ``ENCODING`` (counted once per file); a byte the encoding does not read is an error naming
        its line."""
        if not self.reencode or data.isascii():
            return data
        try:
            text = data.decode(self.codec).encode("utf-8")
        except UnicodeDecodeError as err:
            line = first_line + data.count(NEWLINE, 0, err.start)
            raise ScoreError(
                f"{followed.path}, line {line:,}: byte 0x{data[err.start]:02x} is not {self.codec} text (the run's "
                f"ENCODING={self.encoding!r}, which its training data was read in). Fix: score logs written in that "
                f"encoding, or train a run on data in this log's encoding"
            ) from None
        if not followed.reencoded:
            followed.reencoded = True
            repair = f"text read as {self.encoding} (the run's ENCODING) and re-encoded to UTF-8"
            note_repair(self.notes, followed.path.name, "", repair, 1)
        return text

    def _header_run(self, followed: _Followed) -> bool:
        """Consume the ``#`` lines at the start of the backlog: a header block switches the format, a footer
        (``#close``) is skipped, other ``#`` lines are skipped and counted. False (nothing consumed) while a
        header block is not whole: its ``#types`` line not read and no record after it yet."""
        data, end = followed.backlog, 0
        while end < len(data) and data.startswith(b"#", end):
            end = data.index(NEWLINE, end) + 1
        lines = data[:end].split(NEWLINE)[:-1]
        fields = [i for i, line in enumerate(lines) if line.startswith(b"#fields")]
        footer = all(line.startswith(b"#close") for line in lines)
        if not footer and end == len(data) and not any(line.startswith(b"#types") for line in lines):
            if end > self.max_line:
                raise self._too_long(followed, 1)
            return False  # the rest of the block is still to come
        if not fields and not footer and followed.fmt is None:
            self._read_header(data[:end], followed, followed.line)  # no '#fields': zeek_header says what is wrong
            raise ScoreError(f"{followed.path}, line {followed.line + 1:,}: no '#fields' header line")
        if not fields and not footer:
            stray = [line for line in lines if not line.startswith(b"#close")]
            note_repair(
                self.notes,
                followed.path.name,
                "",
                "'#' lines amid the records skipped (no '#fields' line: not a header block)",
                len(stray),
            )
        elif fields:
            start = self._block_start(lines, fields[-1])
            block = b"".join(line + NEWLINE for line in lines[start:])
            block = self._utf8(block, followed, followed.line + start + 1)
            fmt = self._read_header(block, followed, followed.line + start)
            self._check_block(followed, fmt, followed.line + fields[-1] + 1)
            if followed.fmt is not None or followed.inherited is not None:
                self.header_blocks += 1
            followed.fmt, followed.header = fmt, block
        followed.backlog = data[end:]
        followed.line += len(lines)
        return True

    @staticmethod
    def _check_block(followed: _Followed, fmt: ZeekFormat, fields_line: int) -> None:
        """The file's first block is remembered; a later one must have all of its fields (a
        :class:`DataError` naming the line of its ``#fields`` line, in the words of batch mode's reader)."""
        if followed.first is None:
            followed.first = (list(fmt.names), fields_line)
            return
        names, first_line = followed.first
        missing = [name for name in names if name not in fmt.names]
        if missing:
            raise DataError(
                f"{followed.path}, line {fields_line:,}: this header block's #fields line has no {missing[0]!r} "
                f"column (missing: {', '.join(missing)}), which the log's first header block (#fields on line "
                f"{first_line:,}) has; every block of a log must have the first block's fields (a field a later "
                f"block adds is dropped and counted). Fix: read the logs the file joins as separate files "
                f"(DATA_FILES=a.log,b.log), or put the one with the fewest fields first"
            )

    @staticmethod
    def _block_start(lines: list[bytes], fields: int) -> int:
        """Where the header block whose ``#fields`` line is ``lines[fields]`` starts: its ``#separator`` line,
        else the line after the footer or block before it."""
        separators = [i for i in range(fields + 1) if lines[i].startswith(b"#separator")]
        if separators:
            return separators[-1]
        ends = [i + 1 for i in range(fields) if lines[i].startswith((b"#close", b"#types"))]
        return ends[-1] if ends else 0

    def _read_header(self, block: bytes, followed: _Followed, lines_before: int) -> ZeekFormat:
        """The format a header block declares (:func:`lib.datasets.zeek.zeek_header`), or a JSON log's first
        record (:func:`lib.datasets.zeek.json_format`); its errors name the line of the file."""
        try:
            if block.lstrip().startswith(b"{"):
                return json_format(block.rstrip(b"\r\n"), followed.path, 1, "label", self.benign_labels, (), False)
            fmt, _ = zeek_header(block, followed.path, "label", self.benign_labels, (), labels_required=False)
        except DataError as err:
            raise _shifted(err, followed.path, lines_before) from None
        return fmt

    # ---------------------------------------------------------------------------------------- state
    def position(self) -> dict[str, Any] | None:
        """Where the next record of the file being read starts, with what identifies that file and the header
        block in force (``resume`` of a later follower); None before a header was read."""
        followed = self.current
        if followed is None or followed.fmt is None:
            return None
        offset, fd = followed.offset(), followed.handle.fileno()
        recent = os.pread(fd, min(CHECK_BYTES, offset), offset - min(CHECK_BYTES, offset))
        return {
            "file": os.path.abspath(followed.path),
            "device": followed.device,
            "inode": followed.inode,
            "offset": offset,
            "line": followed.line,
            "header": followed.header.decode("utf-8", "replace"),
            "first_fields": followed.first[0] if followed.first else None,
            "first_fields_line": followed.first[1] if followed.first else 0,
            "head": followed.head[: min(len(followed.head), offset)].hex(),
            "recent": recent.hex(),
        }

    def close(self) -> None:
        """Close the log being read."""
        if self.current is not None:
            self.current.handle.close()


# -------------------------------------------------------------------------------------------- appending
def continued_session(output: str | os.PathLike, source: str | os.PathLike) -> dict[str, Any] | None:
    """``--append``: the summary of the follow session that wrote ``output`` (:func:`follow`), to be continued;
    None when the output is missing or empty (nothing to continue). A :class:`ScoreError` when it cannot be
    continued: no summary of a follow session beside it, a size other than the summary records (a session that
    was killed, or an edit), or the scores of another log."""
    output, source = Path(output), Path(source)
    try:
        size = output.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    summary = read_summary(output)
    state = summary.get("follow_state") if summary else None
    if not isinstance(state, dict):
        why = "is missing or unreadable" if summary is None else "is not that of a follow session"
        raise ScoreError(
            f"--output {output}: --append continues a follow-mode output where its session stopped, and its summary "
            f"{summary_path(output)} {why}. Fix: score into a new --output, or pass --overwrite to replace this one"
        )
    if state.get("output_bytes") != size:
        raise ScoreError(
            f"--output {output}: the file has {size:,} bytes, its summary records {state.get('output_bytes')} (the "
            f"session that wrote it was killed, or the file was changed since), so it is not known where to "
            f"continue. Fix: score into a new --output (this one is left as it is)"
        )
    log = state.get("log") or {}
    previous = log.get("file")
    if previous and os.path.abspath(previous) != os.path.abspath(source) and not same_file(Path(previous), source):
        raise ScoreError(
            f"--output {output} holds the scores of {previous}, not of {source}. Fix: --input {previous} to "
            f"continue it, or a new --output"
        )
    return summary


def _check_same_decision(previous: dict[str, Any], thresholds: Thresholds, fingerprint: Any, output: Path) -> None:
    """``--append``: the output's rows and this session's must be decided by the same model and thresholds."""
    if previous.get("pipeline_fingerprint") != fingerprint:
        raise ScoreError(
            f"--output {output}: its rows were scored by another model (pipeline "
            f"{previous.get('pipeline_fingerprint')}, not {fingerprint}). Fix: the same --model as before, or a "
            f"new --output"
        )
    if (previous.get("fusion_threshold"), previous.get("anomaly_threshold")) != (thresholds.fusion, thresholds.anomaly):
        raise ScoreError(
            f"--output {output}: its rows were decided with {previous.get('decision')!r}; this session would decide "
            f"with {thresholds.basis!r}. Fix: the same --fpr as before, or a new --output"
        )


# -------------------------------------------------------------------------------------------- scoring
@dataclass
class _Scoring:
    """What one follow-mode run scores with and writes to."""

    detector: Detector
    thresholds: Thresholds
    tally: Tally
    writer: FollowWriter
    batch_rows: int
    on_batch: Callable[[pd.DataFrame], Any] | None
    row: int = 1  # the number of the next flow read

    def score(self, frame: pd.DataFrame, source: Path) -> None:
        """Score and write the flows of one poll, in batches of at most ``batch_rows``."""
        self.detector.check_columns([str(c) for c in frame.columns], str(source))  # each header block
        frame["row"] = np.arange(self.row, self.row + len(frame))
        self.row += len(frame)
        for begin in range(0, len(frame), self.batch_rows):
            part = frame.iloc[begin : begin + self.batch_rows]
            self.tally.read += len(part)
            scored = self.detector.score(part, self.thresholds, self.tally)
            self.writer.write(scored)
            if self.on_batch is not None:
                self.on_batch(scored)


def check_follow_options(
    interval: float, max_seconds: float | None, idle_seconds: float | None, batch_rows: int
) -> None:
    """A :class:`ValueError` for a poll interval that is not a positive number of seconds, a negative time
    limit or fewer than one flow per batch (the command's parser says the same)."""
    if not (interval > 0 and np.isfinite(interval)):
        raise ValueError(f"interval must be a number of seconds above 0, not {interval}")
    for name, value in (("max_seconds", max_seconds), ("idle_seconds", idle_seconds)):
        if value is not None and not (value >= 0 and np.isfinite(value)):
            raise ValueError(f"{name} must be a number of seconds, 0 or more, not {value}")
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be 1 or more, not {batch_rows}")


def follow(
    detector: Detector,
    source: str | os.PathLike,
    output: str | os.PathLike,
    fpr: float | None = None,
    interval: float = 0.1,
    max_seconds: float | None = None,
    idle_seconds: float | None = None,
    batch_rows: int = BATCH_ROWS,
    on_batch: Callable[[pd.DataFrame], Any] | None = None,
    append: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Follow mode (module docstring): poll ``source`` every ``interval`` seconds, score and write what was
    appended, until Ctrl-C / SIGTERM, ``max_seconds`` or ``idle_seconds`` without a new flow; the summary. An
    existing ``output`` is refused unless ``append`` (continue it) or ``overwrite`` (replace it when the first
    rows are written); the input and the output's place are checked before anything is read or written."""
    source, output = Path(source), Path(output)
    check_follow_options(interval, max_seconds, idle_seconds, batch_rows)
    if append and overwrite:
        raise ValueError("append and overwrite exclude each other")
    check_input(source, follow=True)
    check_output_place(output, [source], overwrite=overwrite, append=append, follow=True)
    previous = continued_session(output, source) if append else None
    thresholds = detector.thresholds(fpr)
    fingerprint = detector.manifest.get("pipeline_fingerprint")
    if previous is not None:
        _check_same_decision(previous, thresholds, fingerprint, output)
    state = previous.get("follow_state", {}) if previous else {}
    tally = Tally.from_summary(previous) if previous else Tally(files=[str(source)])
    writer = FollowWriter(output, "append" if append else "overwrite" if overwrite else "new")
    scoring = _Scoring(detector, thresholds, tally, writer, batch_rows, on_batch, row=int(state.get("next_row", 1)))
    resume = state.get("log") if previous else None
    follower = LogFollower(
        source, detector.benign_labels, resume=resume, avoid=[output, summary_path(output)], encoding=detector.encoding
    )
    start = time.perf_counter()
    extra = {"output": str(output), "pipeline_fingerprint": fingerprint}

    def checkpoint() -> None:
        write_summary(output, _summary(scoring, follower, time.perf_counter() - start, extra))

    stop = {"now": False}

    def request_stop(*_: Any) -> None:
        stop["now"] = True

    previous_handlers = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    failed = True
    try:
        try:
            _poll_until_stopped(follower, scoring, source, stop, interval, start, max_seconds, idle_seconds, checkpoint)
            failed = False
        finally:
            for s, handler in previous_handlers.items():
                signal.signal(s, handler)
            _finish(scoring, failed)
        summary = _summary(scoring, follower, time.perf_counter() - start, extra)
        write_summary(output, summary)
    finally:
        follower.close()
    return summary


def _poll_until_stopped(
    follower: LogFollower,
    scoring: _Scoring,
    source: Path,
    stop: dict[str, bool],
    interval: float,
    start: float,
    max_seconds: float | None,
    idle_seconds: float | None,
    checkpoint: Callable[[], None] = lambda: None,
) -> None:
    """Poll the log, scoring what each poll reads, until a stop is requested or a time limit is reached; the
    summary is rewritten (``checkpoint``) after each poll that wrote rows."""
    last_flow = start
    while True:
        frame = follower.poll()
        now = time.perf_counter()
        if frame is not None and len(frame):
            scoring.score(frame, source)
            checkpoint()
            now = last_flow = time.perf_counter()  # idle time counts from the last flow written
        if stop["now"] or (max_seconds is not None and now - start >= max_seconds):
            return  # what was read is scored and written: a poll reads at most FOLLOW_READ_BYTES
        if idle_seconds is not None and now - last_flow >= idle_seconds:
            return
        if frame is None:
            time.sleep(interval)


def _summary(scoring: _Scoring, follower: LogFollower, seconds: float, extra: dict[str, Any]) -> dict[str, Any]:
    """The summary of the output so far: the scoring's counts with what the follower and the writer saw, and
    where to continue (``follow_state``: :func:`continued_session`)."""
    tally = copy.deepcopy(scoring.tally)
    tally.rotations += follower.rotations
    tally.rotations_by_kind.update(follower.rotations_by_kind)
    tally.header_blocks += follower.header_blocks
    tally.left_empty.update(scoring.writer.left_empty)
    if follower.incomplete:
        tally.rejected["incomplete last line of a rotated log"] += follower.incomplete
    tally.add_repairs(follower.notes)
    summary = tally.summary(scoring.thresholds, seconds) | extra
    if follower.resumed:
        summary["append_resumed"] = follower.resumed
    position = follower.position() if follower.current is not None and not follower.current.handle.closed else None
    summary["follow_state"] = {"log": position, "next_row": scoring.row, "output_bytes": scoring.writer.size()}
    return summary


def _finish(scoring: _Scoring, failed: bool) -> None:
    """Finish the output: kept with everything scored so far, removed when an error came before any verdict
    and this session created it (an existing output is left as it was)."""
    writer = scoring.writer
    if failed and writer.rows == 0:
        writer.abandon()  # no empty output left behind
    else:
        writer.close(OUTPUT_COLUMNS)  # everything scored so far stays written
