"""What a scoring writes: the output rows batch by batch (:class:`Writer`, :class:`FollowWriter`), the counts of
a scoring (:class:`Tally`) and its summary, as JSON beside the output (:func:`write_summary`) and as lines for a
terminal (:func:`format_summary`).

Nothing a user has is written over by accident (:func:`check_output_place`, called before the model is
loaded): an output that is one of the inputs (through a link, a relative path or another spelling of it), or
whose summary would be, is refused; so is an existing output unless the caller asked to replace it
(``--overwrite``) or to add to it (``--append``, follow mode), and a folder that is missing or cannot be
written in."""

from __future__ import annotations

import csv
import errno
import json
import os
import stat
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from lib import io
from lib.score.model import DRIFT_MARGIN, ScoreError

if TYPE_CHECKING:
    from lib.score.model import Thresholds

ALERTS = ("fusion", "anomaly", "both")
#: The columns of an output without any flow (an input without records).
OUTPUT_COLUMNS = ["row", "p_attack", "family", "anomaly_score", "alert"]
#: The output formats, by suffix.
OUTPUT_SUFFIXES = (".csv", ".tsv", ".parquet")


# ------------------------------------------------------------------------------------------------ the tally
@dataclass
class Tally:
    """What a scoring counted: the summary (:meth:`summary`)."""

    read: int = 0
    scored: int = 0
    rejected: Counter = field(default_factory=Counter)
    alerts: Counter = field(default_factory=Counter)
    families: Counter = field(default_factory=Counter)
    anomaly_only: int = 0
    imputed: Counter = field(default_factory=Counter)
    drift: Counter = field(default_factory=Counter)
    unseen: Counter = field(default_factory=Counter)
    repairs: Counter = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)
    rotations: int = 0
    rotations_by_kind: Counter = field(default_factory=Counter)
    header_blocks: int = 0  # follow mode: '#' header blocks read after a file's first one
    left_empty: Counter = field(default_factory=Counter)  # follow mode: output cells a later header block lacked
    blank: list[str] = field(default_factory=list)
    drift_note: str = ""
    sessions: int = 1  # follow mode with --append: the sessions whose rows the output holds
    seconds_before: float = 0.0  # their seconds of scoring before this one

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> Tally:
        """The counts a summary of :meth:`summary` holds, to be added to (``--append``: the summary of the
        whole output stays the sum of its sessions)."""
        rejected = Counter(summary.get("rejected_why", {}))
        return cls(
            read=int(summary["flows_read"]) - sum(rejected.values()),
            scored=int(summary["flows_scored"]),
            rejected=rejected,
            alerts=+Counter(summary.get("alerts_by_branch", {})),
            families=Counter(summary.get("fusion_alerts_by_family", {})),
            anomaly_only=int(summary.get("anomaly_only_alerts", 0)),
            imputed=Counter(summary.get("values_imputed_with_training_median", {})),
            drift=Counter(summary.get("drift_far_outside_training_range", {})),
            unseen=Counter(summary.get("unseen_categories", {})),
            repairs=Counter(summary.get("repairs", {})),
            files=list(summary.get("inputs", [])),
            rotations=int(summary.get("log_rotations_followed", 0)),
            rotations_by_kind=+Counter(summary.get("log_rotations_by_kind", {})),
            header_blocks=int(summary.get("header_blocks_followed", 0)),
            left_empty=Counter(summary.get("output_cells_left_empty", {})),
            sessions=int(summary.get("sessions", 1)) + 1,
            seconds_before=float(summary.get("seconds", 0.0)),
        )

    def add_repairs(self, notes: list[dict]) -> None:
        """Count the readers' repair records (:func:`lib.datasets.errors.note_repair`)."""
        for note in notes:
            self.repairs[f"{note['file']}, column {note['column']!r}: {note['repair']}"] += note["count"]

    def add_frame(self, frame: pd.DataFrame) -> None:
        """Count what a reader recorded on a frame it read: its repairs and the rows it rejected (reason ->
        rows, :func:`lib.datasets.table.typed_by_role`)."""
        self.add_repairs(frame.attrs.get("repairs", []))
        self.rejected.update(frame.attrs.get("rejected", {}))

    def summary(self, thresholds: Thresholds, seconds: float) -> dict[str, Any]:
        """The summary of the scoring (:func:`write_summary`, :func:`format_summary`); ``seconds`` that this
        session took (added to those of the sessions before it)."""
        seconds += self.seconds_before
        return {
            "inputs": self.files,
            "flows_read": self.read + sum(self.rejected.values()),
            "flows_scored": self.scored,
            "rows_rejected": sum(self.rejected.values()),
            "rejected_why": dict(self.rejected),
            "alerts": sum(self.alerts.values()),
            "alerts_by_branch": {k: int(self.alerts.get(k, 0)) for k in ALERTS},
            "fusion_alerts_by_family": dict(self.families.most_common()),
            "anomaly_only_alerts": self.anomaly_only,
            "decision": thresholds.basis,
            "fusion_threshold": thresholds.fusion,
            "anomaly_threshold": thresholds.anomaly,
            "values_imputed_with_training_median": dict(self.imputed.most_common()),
            "drift_far_outside_training_range": dict(self.drift.most_common()),
            "drift_check": self.drift_note or "active",
            "unseen_categories": dict(self.unseen.most_common()),
            "repairs": dict(self.repairs),
            "log_rotations_followed": self.rotations,
            "log_rotations_by_kind": {k: int(v) for k, v in self.rotations_by_kind.items() if v},
            "header_blocks_followed": self.header_blocks,
            "output_cells_left_empty": dict(self.left_empty),
            "sessions": self.sessions,
            "numeric_columns_without_any_value": self.blank,
            "seconds": round(seconds, 3),
            "flows_per_second": round(self.scored / seconds, 1) if seconds > 0 else None,
        }


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


def format_summary(summary: dict[str, Any]) -> str:
    """The summary in lines a terminal reader takes in at a glance."""
    lines = [
        f"flows read {summary['flows_read']:,}, scored {summary['flows_scored']:,}, rejected "
        f"{summary['rows_rejected']:,} in {summary['seconds']:.1f} s ({summary['flows_per_second'] or 0:,.0f} flows/s)",
        f"alerts {summary['alerts']:,} ({_counts(summary['alerts_by_branch'])}); decision: {summary['decision']}",
    ]
    if summary["fusion_alerts_by_family"]:
        lines.append("fusion alerts by family: " + _counts(summary["fusion_alerts_by_family"]))
    for what, count in summary.get("repairs", {}).items():
        lines.append(f"repaired: {count:,} value(s): {what}")
    for why, count in summary["rejected_why"].items():
        lines.append(f"rejected: {count:,} row(s): {why}")
    if summary["drift_far_outside_training_range"]:
        lines.append(
            f"DRIFT WARNING: values more than {DRIFT_MARGIN:g} training span(s) outside the training range: "
            + _counts(summary["drift_far_outside_training_range"])
            + " (scores of such flows are extrapolations)"
        )
    if summary["unseen_categories"]:
        lines.append("DRIFT WARNING: categories never seen in training: " + _counts(summary["unseen_categories"]))
    if summary.get("numeric_columns_without_any_value"):
        lines.append(
            f"WARNING: {summary['numeric_columns_without_any_value']} have no value in any flow: every flow was "
            "scored with the training median in their place (check the exporter's settings if they should have one)"
        )
    if summary.get("log_rotations_followed"):
        by_kind = summary.get("log_rotations_by_kind") or {}
        lines.append(
            f"log rotations followed: {summary['log_rotations_followed']:,}"
            + (f" ({_counts(by_kind)})" if by_kind else "")
        )
    if summary.get("header_blocks_followed"):
        lines.append(
            f"header blocks after a file's first: {summary['header_blocks_followed']:,} (each one's fields read as "
            "it declares them)"
        )
    if summary.get("output_cells_left_empty"):
        lines.append(
            "left empty in the output (a later header block lacked the column): "
            + _counts(summary["output_cells_left_empty"])
        )
    if summary.get("sessions", 1) > 1:
        lines.append(f"follow sessions in this output: {summary['sessions']:,} (counts are of all of them)")
    if summary.get("append_resumed"):
        lines.append(f"appended: {summary['append_resumed']}")
    if summary["values_imputed_with_training_median"]:
        lines.append(
            "imputed with the training median (unset/empty values): "
            + _counts(summary["values_imputed_with_training_median"])
        )
    return "\n".join(lines)


def summary_path(output: str | Path) -> Path:
    """Where the summary of a scoring into ``output`` goes: ``<output>.summary.json``."""
    output = Path(output)
    return output.with_name(output.name + ".summary.json")


def write_summary(output: Path, summary: dict[str, Any]) -> Path:
    """The summary as JSON beside ``output`` (:func:`summary_path`), atomically."""
    return io.write_text(summary_path(output), json.dumps(summary, indent=2, default=str))


def read_summary(output: str | Path) -> dict[str, Any] | None:
    """The summary written beside ``output`` (:func:`write_summary`), None if there is none or it cannot be
    read as one."""
    try:
        summary = json.loads(summary_path(output).read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


# ------------------------------------------------------------------------------------------------ checks
def check_output(path: Path, follow: bool = False) -> None:
    """A :class:`ValueError` unless ``path`` names an output format (:data:`OUTPUT_SUFFIXES`; follow mode
    writes CSV or TSV, appended as flows come)."""
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"--output {path}: write .csv, .tsv or .parquet")
    if follow and path.suffix.lower() == ".parquet":
        raise ValueError("--follow writes CSV (appended as alerts come); use --output alerts.csv")


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: :func:`os.path.samefile` when both exist (links, hard links,
    relative paths, another case on a case-insensitive file system), else their resolved paths."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _why(err: OSError) -> str:
    if isinstance(err, PermissionError):
        return "permission denied"
    if err.errno == errno.EROFS:
        return "a read-only file system"
    return (err.strerror or type(err).__name__).lower()


def check_output_place(
    output: str | os.PathLike,
    inputs: Iterable[str | os.PathLike],
    overwrite: bool = False,
    append: bool = False,
    follow: bool = False,
) -> Path:
    """``output`` if the scoring may write it and its summary (:func:`summary_path`); else a
    :class:`ScoreError` (a :class:`ValueError` for a format it cannot write) naming the path, the reason and
    the fix, raised before anything is read or written:

    * the output, or its summary, is one of ``inputs`` or an input's summary (:func:`same_file`): refused
      whatever the options, since writing it would destroy the flows being scored;
    * the output exists: refused unless ``overwrite`` (replace it) or ``append`` (follow mode: add rows to it);
      a folder, a pipe or a device is refused even then, and so is a write-protected file; a link to a missing
      file exists too, and is replaced (the link itself) only with ``overwrite``;
    * its folder is missing, is not a folder, or cannot be written in (tried with a nameless temporary file)."""
    output = Path(output)
    check_output(output, follow)
    summary = summary_path(output)
    for source in map(Path, inputs):
        clashes = (
            (output, source, f"names the input {source} (the same file)"),
            (summary, source, f"has its summary at {summary}, which is the input {source}"),
            (output, summary_path(source), f"names {summary_path(source)}, the summary of the input {source}"),
        )
        for mine, theirs, what in clashes:
            if same_file(mine, theirs):
                suggestion = source.with_name(source.name.split(".")[0] + ".alerts.csv")
                raise ScoreError(
                    f"--output {output} {what}: writing it would destroy what is being scored. Fix: write the "
                    f"output to another file, e.g. {suggestion if not same_file(suggestion, source) else 'alerts.csv'}"
                )
    _check_existing(output, overwrite, append, follow)
    if summary.exists() and not summary.is_file():
        raise ScoreError(f"--output {output}: its summary's place {summary} is not a file. Fix: move it away")
    folder = output.parent
    if not folder.exists():
        raise ScoreError(
            f"--output {output}: the folder {folder} does not exist. Fix: create it (mkdir -p {folder}) or "
            f"choose an --output in an existing folder"
        )
    if not folder.is_dir():
        raise ScoreError(f"--output {output}: {folder} is not a folder. Fix: choose an --output in a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):  # a real write: permissions, ACLs, read-only mounts, quotas
            pass
    except OSError as err:
        raise ScoreError(
            f"--output {output}: cannot write in the folder {folder} ({_why(err)}). Fix: choose a folder this user "
            f"can write in, or make it writable (e.g. chmod u+w {folder})"
        ) from None
    return output


def _check_existing(output: Path, overwrite: bool, append: bool, follow: bool) -> None:
    """The part of :func:`check_output_place` about an output that exists already. A link to a missing file is
    an existing output: refused unless ``overwrite``, which replaces the link itself, never the file it names."""
    try:
        info = os.stat(output)
    except FileNotFoundError:
        if not os.path.lexists(output):
            return
        if not overwrite:
            raise ScoreError(
                f"--output {output}: a link to a missing file ({os.readlink(output)}), so it exists and is not "
                f"replaced. Fix: remove the link, pass --overwrite to replace the link itself with the output (its "
                f"target is not created), or choose another --output"
            ) from None
        return
    except OSError as err:
        raise ScoreError(f"--output {output}: cannot be reached ({_why(err)}). Fix: check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScoreError(f"--output {output}: a folder. Fix: name a file inside it, e.g. {output / 'alerts.csv'}")
    if not stat.S_ISREG(info.st_mode):
        raise ScoreError(f"--output {output}: not a regular file (a pipe or a device). Fix: name a file")
    if not (overwrite or append):
        fix = (
            "pass --append to add this session's rows after its own (the session that wrote it is continued), "
            "--overwrite to replace it, or choose another --output"
            if follow
            else "pass --overwrite to replace it (it is replaced only once the new output is whole), or choose "
            "another --output"
        )
        raise ScoreError(f"--output {output} already exists. Fix: {fix}")
    if not os.access(output, os.W_OK):
        raise ScoreError(
            f"--output {output}: the file is write-protected, so it is not "
            f"{'added to' if append else 'replaced'}. Fix: make it writable (chmod u+w {output}) if it may be, "
            f"or choose another --output"
        )


# ------------------------------------------------------------------------------------------------ writers


class Writer:
    """Output rows appended batch by batch to ``path``: CSV or TSV (header once, flushed per batch) or Parquet
    (row groups), by its suffix. Batch mode writes a temporary file put in place at the end: :func:`abandon`
    removes what was written when an error stops the scoring."""

    def __init__(self, path: Path):
        check_output(path)
        self.path, self.rows = path, 0
        self.parquet = path.suffix.lower() == ".parquet"
        self.sep = "\t" if path.suffix.lower() == ".tsv" else ","
        self._writer = None
        self._handle = None

    def _open_text(self) -> Any:
        return open(self.path, "w", newline="")  # noqa: SIM115 - closed in close()

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows."""
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema)
            self._writer.write_table(table.cast(self._writer.schema))
        else:
            header = self._handle is None
            if self._handle is None:
                self._handle = self._open_text()
            frame.to_csv(self._handle, index=False, header=header, sep=self.sep)
            self._handle.flush()
        self.rows += len(frame)

    def _close_handles(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._handle is not None:
            self._handle.close()

    def abandon(self) -> None:
        """Close and remove what was written (an error stopped the scoring: no half output is left)."""
        self._close_handles()
        self.path.unlink(missing_ok=True)

    def close(self, columns: list[str]) -> None:
        """Finish the file (an empty table with ``columns`` if nothing was scored)."""
        if self.rows == 0 and self._handle is None and self._writer is None:
            self.write(pd.DataFrame(columns=columns))
        self._close_handles()


#: How :class:`FollowWriter` treats an existing output: refuse it, replace it, or add rows after its own.
FOLLOW_MODES = ("new", "overwrite", "append")


class FollowWriter(Writer):
    """Follow mode: CSV or TSV written in place, flushed per batch, so alerts can be read as they come. The file
    is opened at the first rows: ``mode`` ``"new"`` creates it (an output that appeared meanwhile is refused,
    never written over), ``"overwrite"`` replaces it then, ``"append"`` adds rows after those of an existing
    output, under its header. The columns are those of the header (the existing one, else the first rows'):
    later rows are put in that order; a column they lack is left empty (counted in :attr:`left_empty`), one
    the header lacks is an error."""

    def __init__(self, path: Path, mode: str = "new"):
        super().__init__(path)
        check_output(path, follow=True)
        if mode not in FOLLOW_MODES:
            raise ValueError(f"mode must be one of {FOLLOW_MODES}, not {mode!r}")
        self.mode, self.created = mode, False
        self.left_empty: Counter = Counter()
        self.columns: list[str] | None = None
        if mode == "append":
            self.columns, has_rows = existing_header(path, self.sep)
            if not has_rows:  # missing, or a header and no row (a quiet session): the first rows bring theirs
                self.columns, self.mode = None, "overwrite" if os.path.lexists(path) else "new"

    def _open_text(self) -> Any:
        mode = {"new": "x", "overwrite": "w", "append": "a"}[self.mode]
        if self.mode == "overwrite" and os.path.islink(self.path):
            self.path.unlink()  # the link itself is replaced (as batch mode's rename does), never the file it names
            mode = "x"
        existed = os.path.lexists(self.path)
        try:
            handle = open(self.path, mode, newline="")  # noqa: SIM115 - closed in close()
        except FileExistsError:
            raise ScoreError(
                f"--output {self.path}: the file appeared after the scoring started (another process?); it is not "
                f"written over. Fix: choose another --output"
            ) from None
        self.created = not existed
        return handle

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows under the output's header."""
        if self.columns is None:
            self.columns = [str(c) for c in frame.columns]
            header = True
        else:
            frame = self._conform(frame)
            header = False
        if self._handle is None:
            self._handle = self._open_text()
        frame.to_csv(self._handle, index=False, header=header, sep=self.sep)
        self._handle.flush()
        self.rows += len(frame)

    def _conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the output's columns, in their order."""
        extra = [str(c) for c in frame.columns if c not in self.columns]
        if extra:
            raise ScoreError(
                f"--output {self.path}: these rows have the column(s) {extra}, which the output's header "
                f"{self.columns} lacks (a later header block of the log declares other fields, or --append to an "
                f"output of another log). Fix: score into a new --output"
            )
        frame = frame.copy()
        for column in self.columns:
            if column not in frame:
                frame[column] = pd.NA
                self.left_empty[column] += len(frame)
        return frame[self.columns]

    def size(self) -> int:
        """The output's size in bytes now (0 before anything was written)."""
        if self._handle is not None and not self._handle.closed:
            return os.fstat(self._handle.fileno()).st_size
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def abandon(self) -> None:
        """Close the file; remove it only if this writer created it (an existing output is left as it is)."""
        self._close_handles()
        if self.created:
            self.path.unlink(missing_ok=True)

    def close(self, columns: list[str]) -> None:
        """Finish the file: an output with nothing in it gets the header ``columns``."""
        if self.rows == 0 and self._handle is None and self.columns is None:
            self.write(pd.DataFrame(columns=columns))
        self._close_handles()


def existing_header(path: Path, sep: str) -> tuple[list[str] | None, bool]:
    """The column names on the first line of an existing CSV/TSV ``path`` (None when it is missing or empty)
    and whether a row follows them."""
    try:
        with open(path, newline="") as fh:
            line, more = fh.readline(), fh.read(1)
    except FileNotFoundError:
        return None, False
    if not line.strip():
        return None, False
    return next(csv.reader([line], delimiter=sep)), bool(more)
