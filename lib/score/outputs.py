"""What a scoring writes: the output rows batch by batch (:class:`Writer`, :class:`FollowWriter`), the counts of
a scoring (:class:`Tally`) and its summary, as JSON beside the output (:func:`write_summary`) and as lines for a
terminal (:func:`format_summary`)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from lib import io
from lib.score.model import DRIFT_MARGIN

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
    blank: list[str] = field(default_factory=list)
    drift_note: str = ""

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
        """The summary of the scoring (:func:`write_summary`, :func:`format_summary`)."""
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


# ------------------------------------------------------------------------------------------------ writers
def check_output(path: Path) -> None:
    """A :class:`ValueError` unless ``path`` names an output format (:data:`OUTPUT_SUFFIXES`)."""
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"--output {path}: write .csv, .tsv or .parquet")


class Writer:
    """Output rows appended batch by batch to ``path``: CSV or TSV (header once, flushed per batch) or Parquet
    (row groups), by its suffix. Batch mode writes a temporary file put in place at the end
    (:func:`lib.io.atomic_write`)."""

    def __init__(self, path: Path):
        check_output(path)
        self.path, self.rows = path, 0
        self.parquet = path.suffix.lower() == ".parquet"
        self._writer = None
        self._handle = None

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
            if self._handle is None:
                self._handle = open(self.path, "w", newline="")  # noqa: SIM115 - closed in close()
            frame.to_csv(
                self._handle, index=False, header=self.rows == 0, sep="\t" if self.path.suffix == ".tsv" else ","
            )
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
        if self.rows == 0:
            self.write(pd.DataFrame(columns=columns))
        self._close_handles()


class FollowWriter(Writer):
    """Follow mode: CSV written in place, flushed per batch, so alerts can be read as they come."""

    def __init__(self, path: Path):
        super().__init__(path)
        if self.parquet:
            raise ValueError("--follow writes CSV (appended as alerts come); use --output alerts.csv")
        path.parent.mkdir(parents=True, exist_ok=True)
