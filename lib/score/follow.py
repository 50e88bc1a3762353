"""Follow mode (``--follow``): a Zeek log read as Zeek appends to it, its new flows scored and written as they
come (CSV, flushed per batch), memory bounded by :data:`FOLLOW_READ_BYTES` per poll. A rotation (the log
renamed and a new file started under its name, or cut short in place) is followed: the old file is read to its
end and the new one from its header. Ctrl-C / SIGTERM (or ``--max-seconds``, ``--idle-seconds``) stops it
cleanly: everything read so far is scored and written. The records are parsed by the Zeek reader of
:mod:`lib.datasets.zeek` (:func:`~lib.datasets.zeek.zeek_header`, :func:`~lib.datasets.zeek.zeek_frame`)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib.datasets.csvparse import NEWLINE
from lib.datasets.stream import Chunk
from lib.datasets.zeek import ZeekFormat, zeek_frame, zeek_header
from lib.score.inputs import BATCH_ROWS
from lib.score.model import Detector, ScoreError, Thresholds
from lib.score.outputs import OUTPUT_COLUMNS, FollowWriter, Tally, write_summary

#: Follow mode reads at most this much of a log per poll (about 9,000 IoT-23 flows): memory is bounded when it
#: starts behind a long log, and Ctrl-C waits for at most one such piece to be scored.
FOLLOW_READ_BYTES = 2**20


@dataclass
class _Followed:
    """The log being followed: its open handle, inode, header, and where its next record starts."""

    path: Path
    handle: Any
    inode: int
    fmt: ZeekFormat | None = None
    pending: bytes = b""
    line: int = 0  # lines of the file consumed so far


class LogFollower:
    """Complete new lines of a Zeek log that is still being written (``tail -F``): :meth:`poll` returns the
    flows appended since the last call, at most ``read_bytes`` of the log at a time, following a rotation (the
    path now names a new file: the old one is read to its end first) and waiting for a truncated last line to
    be completed."""

    def __init__(self, path: str | os.PathLike, benign_labels: str = "benign", read_bytes: int = FOLLOW_READ_BYTES):
        self.path, self.benign_labels, self.read_bytes = Path(path), benign_labels, read_bytes
        self.notes: list[dict] = []  # the parser's repairs (note_repair records)
        self.incomplete = 0  # half-written last records of rotated files
        self.rotations = 0
        self.current: _Followed | None = None

    def _open(self) -> _Followed | None:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed on rotation and in close()
        except FileNotFoundError:
            return None
        return _Followed(self.path, handle, os.fstat(handle.fileno()).st_ino)

    def _rotated(self) -> bool:
        """Whether the path now names another file (renamed and recreated) or the file was cut short in place
        (``copytruncate``); not while the path is missing between a rename and the new file."""
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return False
        return now.st_ino != self.current.inode or now.st_size < self.current.handle.tell()

    def poll(self) -> pd.DataFrame | None:
        """The flows of the next ``read_bytes`` (at most) appended to the log, None if none; the old file of a
        rotation is read to its end before the new one is opened."""
        if self.current is None:
            self.current = self._open()
            if self.current is None:
                return None
        frame = self._read(self.current)
        if frame is not None or not self._rotated():
            return frame
        frame = self._read(self.current)  # what was appended between the read above and the rotation
        if frame is not None:
            return frame
        if self.current.pending:
            self.incomplete += 1
        self.current.handle.close()
        self.current = self._open()
        self.rotations += 1
        return self._read(self.current) if self.current is not None else None

    def _read(self, followed: _Followed) -> pd.DataFrame | None:
        data = followed.handle.read(self.read_bytes)
        if not data:
            return None
        data = followed.pending + data
        end = data.rfind(NEWLINE) + 1
        followed.pending, data = data[end:], data[:end]
        if not data:
            return None
        if followed.fmt is None:
            if not data.startswith(b"#"):
                raise ScoreError(f"{followed.path}: a followed log must start with Zeek's '#' header lines")
            if b"\n#types" not in data and not data.startswith(b"#types"):
                followed.pending = data + followed.pending  # the header is not whole yet
                return None
            followed.fmt, start = zeek_header(
                data, followed.path, "label", self.benign_labels, (), labels_required=False
            )
            followed.line = data.count(NEWLINE, 0, start)
            data = data[start:]
        first = followed.line + 1
        followed.line += data.count(NEWLINE)
        return zeek_frame(Chunk(data, first, False), self.notes, log_format=followed.fmt, path=followed.path)

    def close(self) -> None:
        """Close the log being read."""
        if self.current is not None:
            self.current.handle.close()


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
        self.detector.check_columns([str(c) for c in frame.columns], str(source))  # each file of a rotation
        frame["row"] = np.arange(self.row, self.row + len(frame))
        self.row += len(frame)
        for begin in range(0, len(frame), self.batch_rows):
            part = frame.iloc[begin : begin + self.batch_rows]
            self.tally.read += len(part)
            scored = self.detector.score(part, self.thresholds, self.tally)
            self.writer.write(scored)
            if self.on_batch is not None:
                self.on_batch(scored)


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
) -> dict[str, Any]:
    """Follow mode (module docstring): poll ``source`` every ``interval`` seconds, score and write what was
    appended, until Ctrl-C / SIGTERM, ``max_seconds`` or ``idle_seconds`` without a new flow; the summary."""
    source, output = Path(source), Path(output)
    thresholds = detector.thresholds(fpr)
    scoring = _Scoring(detector, thresholds, Tally(files=[str(source)]), FollowWriter(output), batch_rows, on_batch)
    follower = LogFollower(source, detector.benign_labels)
    stop = {"now": False}

    def request_stop(*_: Any) -> None:
        stop["now"] = True

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    start, failed = time.perf_counter(), True
    try:
        _poll_until_stopped(follower, scoring, source, stop, interval, start, max_seconds, idle_seconds)
        failed = False
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _finish(follower, scoring, failed)
    summary = scoring.tally.summary(thresholds, time.perf_counter() - start) | {"output": str(output)}
    write_summary(output, summary)
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
) -> None:
    """Poll the log, scoring what each poll reads, until a stop is requested or a time limit is reached."""
    last_flow = start
    while True:
        frame = follower.poll()
        now = time.perf_counter()
        if frame is not None and len(frame):
            scoring.score(frame, source)
            now = last_flow = time.perf_counter()  # idle time counts from the last flow written
        if stop["now"] or (max_seconds is not None and now - start >= max_seconds):
            return  # what was read is scored and written: a poll reads at most FOLLOW_READ_BYTES
        if idle_seconds is not None and now - last_flow >= idle_seconds:
            return
        if frame is None:
            time.sleep(interval)


def _finish(follower: LogFollower, scoring: _Scoring, failed: bool) -> None:
    """Close the log, count what the follower saw, and finish the output: kept with everything scored so far,
    removed when an error came before any verdict (the schema check)."""
    tally, writer = scoring.tally, scoring.writer
    follower.close()
    tally.rotations = follower.rotations
    if follower.incomplete:
        tally.rejected["incomplete last line of a rotated log"] += follower.incomplete
    tally.add_repairs(follower.notes)
    if failed and writer.rows == 0:
        writer.abandon()  # no empty output left behind
    else:
        writer.close(OUTPUT_COLUMNS)  # everything scored so far stays written
