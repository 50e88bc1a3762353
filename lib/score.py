"""Score new traffic with a trained run: ``iot-botnet score`` / ``python -m lib.score`` (notebook 07).

    iot-botnet score --model runs/iot23 --input conn.log --output alerts.csv
    iot-botnet score --model runs/iot23 --input flows.csv --output scored.parquet --fpr 0.001
    iot-botnet score --model runs/iot23 --input /var/zeek/logs/current/conn.log --output alerts.csv --follow

``--model`` is a run folder (or its ``fusion/pipeline`` folder) whose notebooks 01-05 have run: notebook 04
saved the fused pipeline (preprocessor, fold models, meta-classifier), notebook 05 the anomaly branch and the
benign validation scores its thresholds come from (:class:`Detector`). Both are loaded without pickle and
checked current (:meth:`lib.run.RunDir.open`); the manifest (data set, parameters, fingerprints, thresholds)
is printed first.

**Input**: a Zeek conn log (TSV with its ``#fields`` header, labelled or not, plain or gzip), or a flow table
(CSV/TSV/Parquet) with the columns the run was trained on (a CICFlowMeter CSV for a CICIDS2017 run). The input
must carry every feature column of the pipeline: a missing one is an error naming it, the closest column of
the input and the fix (never a whole column of medians). Values are read as training read them: unset
(``-``), empty and ``NaN`` values are imputed with the training median (counted per column in the summary);
a value that is not a number in a numeric column rejects its row (counted, with the column). A numeric feature
of the model's input far outside the training range (more than :data:`DRIFT_MARGIN` training spans beyond it)
is counted per column and reported as a drift warning; so are categories never seen in training.

**Output** (CSV or Parquet, by the suffix), one row per input flow scored: ``row`` (its 1-based number among
the input's flow records), the identifiers the input has (Zeek ``uid``, ``ts`` and 5-tuple; CICFlowMeter's
flow id, addresses, ports and time), ``p_attack`` (1 - P(benign) of the fused pipeline), ``family`` (the
pipeline's predicted class), ``anomaly_score``, ``alert`` (``fusion``, ``anomaly``, ``both`` or empty) and,
when the input is labelled, ``true_label``. Decisions: the fusion alerts on its predicted class (argmax, as
notebook 05 combines it), the anomaly branch above the threshold notebook 05 chose at ``TARGET_FPR`` of the
benign validation flows. ``--fpr F`` puts both at ``F`` of the benign validation flows instead (the fusion's
family is then the likeliest attack class of an alert). A JSON summary (flows read, scored, rejected and why,
alerts by family and branch, drift) is written beside the output and printed.

**Follow mode** (``--follow``, Zeek logs): the log is read as Zeek appends to it, micro-batches are scored and
written as they come (CSV, flushed per batch), memory bounded by the batch; when Zeek rotates the log (renames
it and starts a new file under the same name), the old file is read to its end and the new one followed from
its header. Ctrl-C (or ``--max-seconds``) stops it cleanly: everything read so far is scored and written.
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import json
import os
import signal
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from lib import registry
from lib.datasets import DataError, files, schema
from lib.datasets.csvparse import NEWLINE, _float32_counted, _header_names, _parse_table, _sniff_delimiter
from lib.datasets.stream import Chunk, header_and_chunks
from lib.datasets.table import label_values
from lib.datasets.zeek import _scenario_name, _zeek_frame, _zeek_header, zeek_conn_frames
from lib.preprocess import BENIGN

#: A model input above ``high + DRIFT_MARGIN * (high - low)`` of the training rows (or as far below) is drift.
DRIFT_MARGIN = 1.0
#: Rows scored per call of the pipeline (bounded memory for any input size).
BATCH_ROWS = 65_536
#: Follow mode reads at most this much of a log per poll (about 9,000 IoT-23 flows): memory is bounded when it
#: starts behind a long log, and Ctrl-C waits for at most one such piece to be scored.
FOLLOW_READ_BYTES = 2**20
#: Tokens that mean "no value" in a flow table (Zeek's unset ``-`` included); imputed as in training.
MISSING_TOKENS = ("", "-", "nan", "NaN", "NAN", "null", "NULL", "None", "(empty)")
ALERTS = ("fusion", "anomaly", "both")
#: The columns of an output without any flow (an input without records).
OUTPUT_COLUMNS = ["row", "p_attack", "family", "anomaly_score", "alert"]


class ScoreError(DataError):
    """An input or a model folder that cannot be scored; the message names the file, the column and the fix."""


# ------------------------------------------------------------------------------------------------ the model
@dataclass
class Thresholds:
    """The decisions of one scoring: ``fusion`` None means the predicted class (argmax), else an attack
    probability threshold; ``anomaly`` the anomaly-score threshold; ``fpr`` the benign validation rate they
    were set at (None: the run's saved decisions)."""

    fusion: float | None
    anomaly: float
    fpr: float | None
    basis: str


class Detector:
    """A trained run ready to score raw flows: the fused pipeline of notebook 04 and the anomaly branch of
    notebook 05, with the benign validation scores their thresholds are taken from and the training range of
    every model input (drift)."""

    def __init__(self, run_dir: Path, pipeline: Any, anomaly: Any, manifest: dict, arrays: dict[str, np.ndarray]):
        self.run_dir, self.pipeline, self.anomaly = run_dir, pipeline, anomaly
        self.manifest, self.arrays = manifest, arrays
        self.class_names = list(pipeline.class_names)
        self.training = manifest.get("training", {})
        self.benign_labels = self.training.get("parameters", {}).get("BENIGN_LABELS") or "benign"
        self.benign_index = self.class_names.index(BENIGN) if BENIGN in self.class_names else 0
        numeric, self.categories, self.drift_check = set(), {}, True
        for name, part, columns in pipeline.preprocessor.transformers_:
            if name.startswith("num") and name != "num_cat":
                numeric |= {str(c) for c in columns}
                self.drift_check &= "quantile" not in part.named_steps  # quantile scaling clips to [0, 1]
            elif name == "cat":  # the categories each categorical column had in training, as the encoder saw them
                encoder = part.named_steps["onehot"]
                self.categories = {str(c): set(map(str, v)) for c, v in zip(columns, encoder.categories_, strict=True)}
        self.numeric_columns = [c for c in pipeline.feature_columns if c in numeric]
        self.input_names = [str(n) for n in pipeline.preprocessor.get_feature_names_out()]
        self.numeric_inputs = [i for i, n in enumerate(self.input_names) if n in numeric]

    @classmethod
    def load(cls, model: str | os.PathLike) -> Detector:
        """The run folder ``model`` (or its ``fusion/pipeline`` folder): its pipeline and anomaly branch."""
        from lib import run

        _import_keras_quietly()
        path = Path(model)
        if path.name == "pipeline" and path.parent.name == "fusion":
            path = path.parent.parent
        if not (path / "fusion").is_dir():
            raise ScoreError(
                f"{model}: not a run folder with a trained pipeline (no fusion/ stage). Fix: pass the RUN_DIR of a "
                f"run whose notebooks 01-05 have run (e.g. runs/iot23), or its fusion/pipeline folder"
            )
        folder = run.RunDir(path)
        if not folder.has("anomaly"):
            raise ScoreError(
                f"{path}: no anomaly/ stage, which holds the thresholds and the anomaly branch the scoring uses. "
                f"Fix: {folder.fix('anomaly')}"
            )
        anomaly_stage = folder.open("anomaly")  # checks it is complete and that the fusion it read is current
        if "detector/manifest.json" not in anomaly_stage.manifest.get("files", {}):
            raise ScoreError(
                f"{path}: its anomaly/ stage has no detector/ folder (notebook 05 ran before it saved one). Fix: "
                f"{folder.fix('anomaly')}"
            )
        manifest, detector, arrays = anomaly_stage.load_detector()
        fusion_stage = folder.open("fusion")
        pipeline = fusion_stage.load_pipeline()
        if manifest.get("pipeline_fingerprint") != fusion_stage.fingerprint:
            raise ScoreError(f"{path}: the anomaly branch was saved for another pipeline. Fix: {folder.fix('anomaly')}")
        return cls(path, pipeline, detector, manifest, arrays)

    def describe(self) -> dict[str, Any]:
        """What the run was trained on and with (printed when scoring starts)."""
        m, trained = self.pipeline.manifest, self.training.get("parameters", {})
        return {
            "run": str(self.run_dir),
            "dataset": trained.get("DATASET"),
            "trained_on": {k: trained.get(k) for k in ("DATA_FILES", "SAMPLE_ROWS", "SPLIT", "LABEL_MODE", "SCALING")}
            | {"held_out_sources": self.training.get("test_sources", [])},
            "prepared_fingerprint": self.training.get("fingerprint"),
            "pipeline": m.get("contender"),
            "deep_models": m.get("deep_models"),
            "k_folds": m.get("k_folds"),
            "seed": m.get("seed"),
            "classes": self.class_names,
            "pipeline_fingerprint": self.manifest.get("pipeline_fingerprint"),
            "anomaly_branch": self.manifest.get("candidate"),
            "target_fpr": self.manifest.get("target_fpr"),
            "anomaly_threshold": self.manifest.get("threshold"),
            "feature_columns": self.pipeline.feature_columns,
        }

    def thresholds(self, fpr: float | None = None) -> Thresholds:
        """The saved decisions, or both branches at ``fpr`` of the benign validation flows."""
        from lib.anomaly import threshold_for_fpr

        if fpr is None:
            return Thresholds(
                None,
                float(self.manifest["threshold"]),
                None,
                f"fusion: predicted class; anomaly: {self.manifest['target_fpr']:.2%} FPR on benign validation flows",
            )
        if not 0 < fpr < 1:
            raise ValueError(f"--fpr must be a rate between 0 and 1 (e.g. 0.001), not {fpr}")
        return Thresholds(
            threshold_for_fpr(self.arrays["fusion_benign_val"], fpr),
            threshold_for_fpr(self.arrays["anomaly_benign_val"], fpr),
            fpr,
            f"both at {fpr:.2%} FPR on {len(self.arrays['fusion_benign_val']):,} benign validation flows",
        )

    # ------------------------------------------------------------------------------------------ checks
    def check_columns(self, columns: list[str], source: str) -> None:
        """Every feature column must be in ``columns``: else a :class:`ScoreError` naming the missing ones,
        the input's closest names (a renamed column) and the fix."""
        present = set(columns)
        missing = [c for c in self.pipeline.feature_columns if c not in present]
        if not missing:
            return
        hints = []
        for name in missing:
            others = [c for c in columns if c not in self.pipeline.feature_columns]
            key = schema._normalised(name)
            close = [c for c in others if schema._normalised(c) and key.startswith(schema._normalised(c))]
            close = close or difflib.get_close_matches(name, others, 1, 0.6)
            hints.append(f"{name!r}" + (f" (the input has {close[0]!r}: renamed?)" if close else ""))
        dataset = self.pipeline.manifest.get("parameters", {}).get("DATASET")
        raise ScoreError(
            f"{source}: {len(missing)} feature column(s) the pipeline was trained on are missing: {', '.join(hints)}. "
            f"The run ({dataset}) needs all of {self.pipeline.feature_columns}. Fix: export the flows with these "
            f"columns (the same tool and version as the training data), rename the columns, or train a run on data "
            f"of this layout. No column is filled in for you"
        )

    # ------------------------------------------------------------------------------------------ scoring
    def score(self, df: pd.DataFrame, thresholds: Thresholds, tally: Tally) -> pd.DataFrame:
        """The output rows of the flows in ``df`` (see the module docstring); counts go to ``tally``."""
        from lib.anomaly import attack_score

        features = self.pipeline.feature_columns
        for column in self.numeric_columns:  # (an unset category is a category of its own, as in training)
            n_missing = int(df[column].isna().sum())
            if n_missing:
                tally.imputed[column] += n_missing
        X = np.asarray(self.pipeline.preprocessor.transform(df[features]), dtype=np.float32)
        self._drift(X, tally)
        self._unseen(df, tally)
        proba = self.pipeline.score_features(X)
        p_attack = attack_score(proba) if len(self.class_names) > 1 else np.zeros(len(df))
        anomaly_score = self.anomaly.score(X)
        if thresholds.fusion is None:
            predicted = proba.argmax(axis=1)
            fusion_alert = predicted != self.benign_index
        else:
            fusion_alert = p_attack > thresholds.fusion
            attack_proba = proba.copy()
            attack_proba[:, self.benign_index] = -1
            predicted = np.where(fusion_alert, attack_proba.argmax(axis=1), self.benign_index)
        anomaly_alert = anomaly_score > thresholds.anomaly
        alert = np.select(
            [fusion_alert & anomaly_alert, fusion_alert, anomaly_alert], ["both", "fusion", "anomaly"], default=""
        )
        family = np.asarray(self.class_names, dtype=object)[predicted]
        out = _identifiers(df)
        out["p_attack"] = p_attack.astype(np.float32)
        out["family"] = family
        out["anomaly_score"] = anomaly_score.astype(np.float32)
        out["alert"] = alert
        if "label" in df:
            out["true_label"] = df["label"].astype(str).to_numpy()
        tally.scored += len(df)
        tally.alerts.update(Counter(alert[alert != ""].tolist()))
        tally.families.update(Counter(family[fusion_alert].tolist()))
        tally.anomaly_only += int((anomaly_alert & ~fusion_alert).sum())
        return out

    def _drift(self, X: np.ndarray, tally: Tally) -> None:
        if not self.numeric_inputs or not self.drift_check:
            tally.drift_note = (
                "inactive: SCALING='quantile' maps every value into [0, 1]" if self.numeric_inputs else ""
            )
            return
        low, high = self.arrays["input_low"], self.arrays["input_high"]
        cols = self.numeric_inputs
        span = np.maximum(high[cols] - low[cols], 1e-12)
        values = X[:, cols]
        far = (values > high[cols] + DRIFT_MARGIN * span) | (values < low[cols] - DRIFT_MARGIN * span)
        for j in np.flatnonzero(far.any(axis=0)):
            tally.drift[self.input_names[cols[j]]] += int(far[:, j].sum())

    def _unseen(self, df: pd.DataFrame, tally: Tally) -> None:
        from lib.preprocess import _as_category_strings

        for column, known in self.categories.items():
            values = _as_category_strings(df[[column]])[:, 0]
            unseen = ~np.isin(values, list(known))
            if unseen.any():
                tally.unseen[column] += int(unseen.sum())


def _import_keras_quietly() -> None:
    """Import Keras (and TensorFlow) with the process's stderr sent to /dev/null meanwhile: TensorFlow's C++
    start-up lines (absl, oneDNN) ignore ``TF_CPP_MIN_LOG_LEVEL`` and say nothing a user can act on."""
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _identifiers(df: pd.DataFrame) -> pd.DataFrame:
    """The input's row numbers and identifier columns (uid, ts, 5-tuple, flow id ...), as they were read."""
    ids = [c for c in df.columns if c in registry.IDENTIFIER_COLUMNS or c in schema.guess_identifiers([c])]
    ids = [c for c in ids if c not in ("source_file", "scenario")]
    ids += [c for c in ("proto", "Protocol") if c in df and c not in ids]
    out = pd.DataFrame({"row": df["row"].to_numpy()}) if "row" in df else pd.DataFrame(index=range(len(df)))
    for c in ids:
        values = df[c]
        if c.endswith("_p") or "port" in c.lower():  # ports as whole numbers (Zeek's port type is read as float)
            values = pd.to_numeric(values, errors="coerce").round().astype("Int64")
        out[c] = values.to_numpy()
    return out


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

    def summary(self, thresholds: Thresholds, seconds: float) -> dict[str, Any]:
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


def format_summary(summary: dict[str, Any]) -> str:
    """The summary in lines a terminal reader takes in at a glance."""
    lines = [
        f"flows read {summary['flows_read']:,}, scored {summary['flows_scored']:,}, rejected "
        f"{summary['rows_rejected']:,} in {summary['seconds']:.1f} s ({summary['flows_per_second'] or 0:,.0f} flows/s)",
        f"alerts {summary['alerts']:,} ({', '.join(f'{k} {v:,}' for k, v in summary['alerts_by_branch'].items())}); "
        f"decision: {summary['decision']}",
    ]
    if summary["fusion_alerts_by_family"]:
        lines.append(
            "fusion alerts by family: " + ", ".join(f"{k} {v:,}" for k, v in summary["fusion_alerts_by_family"].items())
        )
    for what, count in summary.get("repairs", {}).items():
        lines.append(f"repaired: {count:,} value(s): {what}")
    for why, count in summary["rejected_why"].items():
        lines.append(f"rejected: {count:,} row(s): {why}")
    if summary["drift_far_outside_training_range"]:
        lines.append(
            f"DRIFT WARNING: values more than {DRIFT_MARGIN:g} training span(s) outside the training range: "
            + ", ".join(f"{k} {v:,}" for k, v in summary["drift_far_outside_training_range"].items())
            + " (scores of such flows are extrapolations)"
        )
    if summary["unseen_categories"]:
        lines.append(
            "DRIFT WARNING: categories never seen in training: "
            + ", ".join(f"{k} {v:,}" for k, v in summary["unseen_categories"].items())
        )
    if summary.get("numeric_columns_without_any_value"):
        lines.append(
            f"WARNING: {summary['numeric_columns_without_any_value']} have no value in any flow: every flow was "
            "scored with the training median in their place (check the exporter's settings if they should have one)"
        )
    if summary["values_imputed_with_training_median"]:
        lines.append(
            "imputed with the training median (unset/empty values): "
            + ", ".join(f"{k} {v:,}" for k, v in summary["values_imputed_with_training_median"].items())
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ inputs
def read_batches(
    path: Path, tally: Tally, batch_rows: int = BATCH_ROWS, benign_labels: str = "benign",
    numeric: set[str] | frozenset[str] = frozenset(),
) -> Iterator[pd.DataFrame]:  # fmt: skip
    """The flows of ``path`` in frames of at most ``batch_rows``, with a ``row`` column (1-based number of the
    flow record in the input): a Zeek conn log (labelled or not) or a flow table, whose ``numeric`` columns are
    read as numbers (the pipeline's numeric features). A log or table without records gives no frame."""
    if not path.exists():
        raise ScoreError(f"{path}: no such file. Fix: check the --input path")
    try:
        if files.is_zeek_log(path):  # labels, if any, read as training read them, but no row is dropped
            frames = zeek_conn_frames(
                path, benign_labels=benign_labels, ignore_labels=(), labels_required=False, empty_ok=True
            )
        else:
            frames = _table_frames(path, tally, benign_labels, numeric)
        first = 1
        for frame in frames:
            tally.add_repairs(frame.attrs.get("repairs", []))
            frame = frame.reset_index(drop=True)
            if "row" not in frame:  # (a table numbers its rows itself, counting the rejected ones)
                frame["row"] = np.arange(first, first + len(frame))
            first = int(frame["row"].iloc[-1]) + 1 if len(frame) else first
            for start in range(0, len(frame), batch_rows):
                part = frame.iloc[start : start + batch_rows]
                tally.read += len(part)
                yield part
    except (EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError) as err:
        raise ScoreError(
            f"{path}: the file is cut short or corrupt ({type(err).__name__}: {err}). Fix: copy or download it again"
        ) from err


def input_columns(path: Path) -> list[str]:
    """The column names an input declares in its header (Zeek ``#fields``, a table's first row, Parquet's
    schema), whether or not records follow."""
    if files.is_zeek_log(path):
        fmt, _ = _zeek_header(b"".join(_head_lines(path, 20)), path, "label", None, (), labels_required=False)
        return list(fmt.names)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return [str(n).strip() for n in pq.ParquetFile(path).schema_arrow.names]
    header = _first_line(path)
    return _header_names(header, _sniff_delimiter(header, path))


def _head_lines(path: Path, n: int) -> list[bytes]:
    """The first ``n`` lines of ``path``'s text (gzip decompressed); a binary file is a :class:`ScoreError`."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if gzipped else open(path, "rb") as handle:
        lines = [handle.readline(1 << 20) for _ in range(n)]
    if b"\0" in lines[0]:
        raise ScoreError(f"{path}: a binary file, not a flow table or a Zeek log. Fix: pass the text log or CSV")
    return lines


def _first_line(path: Path) -> str:
    return _head_lines(path, 1)[0].decode("utf-8", "replace").lstrip("\ufeff")


def _table_frames(
    path: Path, tally: Tally, benign_labels: str = "benign", numeric: set[str] | frozenset[str] = frozenset()
) -> Iterator[pd.DataFrame]:
    """A flow table read as text and typed by the pipeline's roles (:func:`_typed_table`): CSV/TSV, plain or
    gzip, parsed in line-aligned chunks (a ragged or cut line is an error naming its line, as notebook 01's
    readers say it), or Parquet read a batch of rows at a time."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        first = 1
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
            frame = batch.to_pandas().astype("string")
            yield _typed_table(frame, path, tally, benign_labels, numeric, first)
            first += len(frame)
        return
    _first_line(path)  # a binary file is refused with its name before any parse
    header, chunks = header_and_chunks(path)
    header_text = header.decode("utf-8", "replace")
    sep = _sniff_delimiter(header_text, path)
    names = _header_names(header_text, sep)
    first = 1
    for chunk in chunks:
        skip = 1 if chunk.first_line == 1 else 0
        types = {n: pa.string() for n in names}
        text = _parse_table(chunk.data, path, names, sep, types, skip, [], line_offset=chunk.first_line - 1)
        yield _typed_table(text, path, tally, benign_labels, numeric, first)
        first += len(text)


def _typed_table(
    frame: pd.DataFrame, path: Path, tally: Tally, benign_labels: str, numeric: set[str] | frozenset[str], first: int
) -> pd.DataFrame:
    """A table's text typed by the pipeline's roles: its ``numeric`` feature columns as float32 numbers, as
    every loader reads them (empty and :data:`MISSING_TOKENS` are missing, imputed as in training; ``Infinity``
    is inf, made missing by the preprocessor as in training), every other column as text. A cell that is not a
    number in a numeric feature rejects its row (counted once, under the first such column). The label, if
    any, becomes ``label`` (the run's benign values, in any case, read as Benign). ``row`` numbers the rows
    from ``first``, rejected rows counted."""
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    label = next((c for c in frame.columns if c.lower() in ("label", "labels")), None)
    out: dict[str, Any] = {"row": np.arange(first, first + len(frame))}
    bad = np.zeros(len(frame), dtype=bool)
    for column in frame.columns:
        text = frame[column].astype("string").str.strip()
        if column == label:
            benign = label_values(benign_labels) | {"benign"}
            out["label"] = text.where(~text.str.lower().isin(benign), BENIGN)
        elif column in numeric:
            missing = (text.isna() | text.isin(MISSING_TOKENS)).to_numpy()
            numbers = pd.to_numeric(text.where(~missing), errors="coerce")
            new_bad = numbers.isna().to_numpy() & ~missing & ~bad
            if new_bad.any():
                at = int(np.flatnonzero(new_bad)[0])
                why = f"column {column!r}: not a number (first: {text.iloc[at]!r}, row {first + at})"
                tally.rejected[why] += int(new_bad.sum())
                bad |= new_bad
            notes: list[dict] = []
            out[column] = _float32_counted(numbers, path.name, column, notes)  # float32, as the loaders read
            tally.add_repairs(notes)
        else:
            out[column] = text.where(~text.isin(MISSING_TOKENS))
    return pd.DataFrame(out).loc[~bad].reset_index(drop=True)


def read_input(
    path: str | os.PathLike, numeric: set[str] | frozenset[str] = frozenset(), benign_labels: str = "benign"
) -> pd.DataFrame:
    """The whole input as one frame, read as the command reads it (for notebooks and tests; the command reads
    it in batches); a table's ``numeric`` columns as numbers."""
    frames = list(read_batches(Path(path), Tally(), BATCH_ROWS, benign_labels, numeric))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# ------------------------------------------------------------------------------------------------ outputs
class Writer:
    """Output rows appended batch by batch to CSV (header once, flushed per batch) or Parquet (row groups)."""

    def __init__(self, path: Path):
        self.path, self.rows = path, 0
        self.parquet = path.suffix.lower() == ".parquet"
        if not self.parquet and path.suffix.lower() not in (".csv", ".tsv"):
            raise ValueError(f"--output {path}: write .csv, .tsv or .parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = path.with_name(f".{path.name}.partial")
        self._writer = None
        self._handle = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.tmp, table.schema)
            self._writer.write_table(table.cast(self._writer.schema))
        else:
            if self._handle is None:
                self._handle = open(self.tmp, "w", newline="")  # noqa: SIM115 - closed in close()
            frame.to_csv(
                self._handle, index=False, header=self.rows == 0, sep="\t" if self.path.suffix == ".tsv" else ","
            )
            self._handle.flush()
        self.rows += len(frame)

    def abandon(self) -> None:
        """Close and remove what was written (an error stopped the scoring: no half output is left)."""
        if self._writer is not None:
            self._writer.close()
        if self._handle is not None:
            self._handle.close()
        self.tmp.unlink(missing_ok=True)

    def close(self, columns: list[str]) -> None:
        """Finish the file and move it into place (an empty table with the columns if nothing was scored)."""
        if self.rows == 0:
            self.write(pd.DataFrame(columns=columns))
        if self._writer is not None:
            self._writer.close()
        if self._handle is not None:
            self._handle.close()
        os.replace(self.tmp, self.path)


class FollowWriter(Writer):
    """Follow mode: CSV written in place (no rename at the end), so alerts can be read as they come."""

    def __init__(self, path: Path):
        super().__init__(path)
        if self.parquet:
            raise ValueError("--follow writes CSV (appended as alerts come); use --output alerts.csv")
        self.tmp = path

    def close(self, columns: list[str]) -> None:
        if self.rows == 0:
            self.write(pd.DataFrame(columns=columns))
        if self._handle is not None:
            self._handle.close()


# ------------------------------------------------------------------------------------------------ batch mode
def score_file(
    detector: Detector, source: str | os.PathLike, output: str | os.PathLike, fpr: float | None = None,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, Any]:  # fmt: skip
    """Score every flow of ``source`` into ``output``; returns the summary (also written to
    ``<output>.summary.json``). The header's columns are checked before any row is read; on an error no output
    file is left behind."""
    source, output = Path(source), Path(output)
    thresholds = detector.thresholds(fpr)
    if not source.exists():
        raise ScoreError(f"{source}: no such file. Fix: check the --input path")
    detector.check_columns([str(c) for c in input_columns(source)], str(source))
    tally, writer, start = Tally(files=[str(source)]), Writer(output), time.perf_counter()
    valued: Counter = Counter()
    numeric = set(detector.numeric_columns)
    try:
        for batch in read_batches(source, tally, batch_rows, detector.benign_labels, numeric):
            valued.update({c: int(batch[c].notna().sum()) for c in detector.numeric_columns})
            writer.write(detector.score(batch, thresholds, tally))
        writer.close(OUTPUT_COLUMNS)
    except BaseException:
        writer.abandon()
        raise
    tally.blank = [c for c in detector.numeric_columns if tally.read and valued[c] == 0]
    summary = tally.summary(thresholds, time.perf_counter() - start) | {"output": str(output)}
    _write_summary(output, summary)
    return summary


def _write_summary(output: Path, summary: dict[str, Any]) -> None:
    path = output.with_name(output.name + ".summary.json")
    path.write_text(json.dumps(summary, indent=2, default=str))


# ------------------------------------------------------------------------------------------------ follow mode
@dataclass
class _Followed:
    """The log being followed: its open handle, inode, header, and where its next record starts."""

    path: Path
    handle: Any
    inode: int
    fmt: Any = None
    pending: bytes = b""
    line: int = 0  # lines of the file consumed so far


class LogFollower:
    """Complete new lines of a Zeek log that is still being written (``tail -F``): :meth:`poll` returns the
    flows appended since the last call, following a rotation (the path now names a new file: the old one is
    read to its end first) and waiting for a truncated last line to be completed."""

    def __init__(self, path: str | os.PathLike, benign_labels: str = "benign"):
        self.path, self.benign_labels = Path(path), benign_labels
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
        """The flows of the next :data:`FOLLOW_READ_BYTES` (at most) appended to the log, None if none; the old
        file of a rotation is read to its end before the new one is opened."""
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
        data = followed.handle.read(FOLLOW_READ_BYTES)
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
            followed.fmt, start = _zeek_header(
                data, followed.path, "label", self.benign_labels, (), labels_required=False
            )
            followed.line = data.count(NEWLINE, 0, start)
            data = data[start:]
        first = followed.line + 1
        followed.line += data.count(NEWLINE)
        return _zeek_frame(Chunk(data, first, False), self.notes, log_format=followed.fmt, path=followed.path)

    def close(self) -> None:
        if self.current is not None:
            self.current.handle.close()


def follow(
    detector: Detector, source: str | os.PathLike, output: str | os.PathLike, fpr: float | None = None,
    interval: float = 0.1, max_seconds: float | None = None, idle_seconds: float | None = None,
    batch_rows: int = BATCH_ROWS, on_batch: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """Follow mode (module docstring): poll ``source`` every ``interval`` seconds, score and write what was
    appended, until Ctrl-C / SIGTERM, ``max_seconds`` or ``idle_seconds`` without a new flow."""
    source, output = Path(source), Path(output)
    thresholds = detector.thresholds(fpr)
    tally, writer = Tally(files=[str(source)]), FollowWriter(output)
    follower = LogFollower(source, detector.benign_labels)
    stop = {"now": False}

    def request_stop(*_: Any) -> None:
        stop["now"] = True

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    start = last_flow = time.perf_counter()
    row, failed = 1, True
    try:
        while True:
            frame = follower.poll()
            now = time.perf_counter()
            if frame is not None and len(frame):
                detector.check_columns([str(c) for c in frame.columns], str(source))  # each file of a rotation
                frame["row"] = np.arange(row, row + len(frame))
                row += len(frame)
                for begin in range(0, len(frame), batch_rows):
                    part = frame.iloc[begin : begin + batch_rows]
                    tally.read += len(part)
                    scored = detector.score(part, thresholds, tally)
                    writer.write(scored)
                    if on_batch is not None:
                        on_batch(scored)
                now = last_flow = time.perf_counter()  # idle time counts from the last flow written
            if stop["now"] or (max_seconds is not None and now - start >= max_seconds):
                break  # what was read is scored and written: a poll reads at most FOLLOW_READ_BYTES
            if idle_seconds is not None and now - last_flow >= idle_seconds:
                break
            if frame is None:
                time.sleep(interval)
        failed = False
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        follower.close()
        tally.rotations = follower.rotations
        if follower.incomplete:
            tally.rejected["incomplete last line of a rotated log"] += follower.incomplete
        tally.add_repairs(follower.notes)
        if failed and writer.rows == 0:
            writer.abandon()  # an error before any verdict (the schema check): no empty output left behind
        else:
            writer.close(OUTPUT_COLUMNS)  # everything scored so far stays written
    summary = tally.summary(thresholds, time.perf_counter() - start) | {"output": str(output)}
    _write_summary(output, summary)
    return summary


# ------------------------------------------------------------------------------------------------ notebook 07
def held_out_files(detector: Detector) -> list[Path]:
    """The capture files the run held out whole (``SPLIT="source"``): their flows reached no training or
    validation row, so scoring them is scoring traffic the detector never saw. Empty for other splits."""
    from lib import datasets

    training = detector.training
    sources = [str(s) for s in training.get("test_sources", [])]
    parameters = training.get("parameters", {})
    if not sources:
        return []
    dataset, data_files = parameters.get("DATASET"), parameters.get("DATA_FILES")
    if data_files:
        paths = files.expand_files(data_files)
    else:
        paths = datasets.locate(dataset, parameters.get("DATA_DIR") or None, download=False)

    found = [path for path in paths if {path.name, _scenario_name(path), str(path)} & set(sources)]
    if not found:
        raise ScoreError(
            f"{detector.run_dir}: the held-out sources {sources} match none of the run's files ({len(paths)} found). "
            f"Fix: pass the files to score (SCORE_FILES / --input)"
        )
    return found


def run_command(model: str | os.PathLike, source: str | os.PathLike, output: str | os.PathLike, *options: str) -> dict:
    """``python -m lib.score --model ... --input ... --output ...`` in a child process, as a user runs it;
    its summary. A failure is a ``RuntimeError`` with the command's own error message."""
    import subprocess

    command = [
        sys.executable,
        "-m",
        "lib.score",
        "--model",
        str(model),
        "--input",
        str(source),
        "--output",
        str(output),
    ]
    done = subprocess.run([*command, *options], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(Path(str(output) + ".summary.json").read_text())


def score_into(stage: Any, model: str | os.PathLike, sources: list, *options: str) -> tuple[dict, pd.DataFrame]:
    """Notebook 07: each of ``sources`` scored by the command (:func:`run_command`) into the stage's
    ``scored/flows_<i>.csv`` (:meth:`lib.run.Stage.output_file`, then counted among its results); the summaries
    by source and every output row in one frame."""
    summaries, frames = {}, []
    for i, source in enumerate(sources):
        relpath = f"scored/flows_{i}.csv"
        summaries[str(source)] = run_command(model, source, stage.output_file(relpath), *options)
        frames.append(pd.read_csv(stage.adopt(relpath), keep_default_na=False, na_values=[""]))
    return summaries, pd.concat(frames, ignore_index=True)


def outcome(scored: pd.DataFrame) -> pd.DataFrame:
    """Per decision (fusion, anomaly, either): true/false positives and negatives against the input's labels
    (``true_label``: anything but Benign is an attack), recall and false-positive rate."""
    if "true_label" not in scored:
        raise ValueError("the scored input had no labels: nothing to compare the alerts with")
    attack = scored["true_label"].astype(str).ne(BENIGN).to_numpy()
    alert = scored["alert"].fillna("").astype(str)
    decisions = {
        "fusion": alert.isin(["fusion", "both"]).to_numpy(),
        "anomaly": alert.isin(["anomaly", "both"]).to_numpy(),
        "fusion OR anomaly": alert.ne("").to_numpy(),
    }
    rows = []
    for name, flagged in decisions.items():
        tp, fp = int((flagged & attack).sum()), int((flagged & ~attack).sum())
        fn, tn = int((~flagged & attack).sum()), int((~flagged & ~attack).sum())
        rows.append(
            {"decision": name, "attack flows": tp + fn, "benign flows": fp + tn, "true positives": tp,
             "false negatives": fn, "false positives": fp, "true negatives": tn,
             "recall": tp / (tp + fn) if tp + fn else float("nan"), "fpr": fp / (fp + tn) if fp + tn else float("nan")}
        )  # fmt: skip
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ command line
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="iot-botnet score",
        description="Score flows of a Zeek conn log or a flow table with a trained run (fused pipeline + anomaly branch).",
    )
    p.add_argument("--model", required=True, help="run folder (RUN_DIR, notebooks 01-05 run) or its fusion/pipeline")
    p.add_argument("--input", required=True, help="Zeek conn log (labelled or not), CSV/TSV or Parquet flow table")
    p.add_argument("--output", required=True, help="output .csv, .tsv or .parquet (summary: <output>.summary.json)")
    p.add_argument("--fpr", type=float, default=None, help="both branches at this FPR of the benign validation flows")
    p.add_argument("--follow", action="store_true", help="follow a Zeek log still being written (Ctrl-C stops)")
    p.add_argument("--interval", type=float, default=0.1, help="follow mode: seconds between polls of the log")
    p.add_argument("--max-seconds", type=float, default=None, help="follow mode: stop after this many seconds")
    p.add_argument("--idle-seconds", type=float, default=None, help="follow mode: stop after this long with no flow")
    p.add_argument("--batch-rows", type=int, default=BATCH_ROWS, help="flows per call of the pipeline")
    p.add_argument("--quiet", action="store_true", help="print the summary only")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from lib import run

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter is nothing a user can act on
    try:
        detector = Detector.load(args.model)
        if not args.quiet:
            print("model:", json.dumps(detector.describe(), default=str), file=sys.stderr, flush=True)
        run_it = follow if args.follow else score_file
        extra = {"interval": args.interval, "max_seconds": args.max_seconds, "idle_seconds": args.idle_seconds}
        summary = run_it(
            detector,
            args.input,
            args.output,
            fpr=args.fpr,
            batch_rows=args.batch_rows,
            **(extra if args.follow else {}),
        )
    except (DataError, ValueError, FileNotFoundError, run.StaleArtefactError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_summary(summary), flush=True)
    return 0


def cli(argv: list[str] | None = None) -> int:
    """``iot-botnet score ...`` / ``iot-botnet run ...`` (the runner)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"score": main}
    if not argv or argv[0] not in ("score", "run"):
        print("usage: iot-botnet {score,run} ...  (iot-botnet score --help)", file=sys.stderr)
        return 2
    if argv[0] == "run":
        from lib import runner

        return runner.main(argv[1:])
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
