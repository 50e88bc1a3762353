"""A trained run ready to score raw flows (:class:`Detector`): notebook 04's fused pipeline and notebook 05's
anomaly branch, loaded without pickle and checked current, and the decisions taken on their scores.

The pipeline is read by :func:`lib.fusion.load_pipeline` from the run's ``fusion/pipeline`` folder and the
anomaly branch by :func:`lib.anomaly.load_detector` from ``anomaly/detector``; :class:`lib.run.RunDir` only
hands out the checked folders. Thresholds follow the project's one rule (:func:`lib.metrics.threshold_at_fpr`)
and the fusion's attack score is :func:`lib.metrics.attack_score`.

**What is checked before anything is scored** (:meth:`Detector.load`), as a chain of sha256 records that starts
at the anomaly stage's ``manifest.json``:

* ``anomaly/manifest.json`` and ``fusion/manifest.json``: complete, their upstream stages current
  (:meth:`lib.run.RunDir.open`), and each one's ``fingerprint`` the hash of its parameters, inputs and file
  records (:func:`check_stage_record`), so an edit of those parts of a stage manifest is caught;
* ``anomaly/detector/manifest.json`` (threshold, target FPR, configuration) has the sha256 the anomaly stage
  recorded, and ``fusion/pipeline/manifest.json`` the sha256 the fusion stage recorded; the fusion stage's
  fingerprint is the one the anomaly stage and the detector's manifest recorded;
* every other file of both folders (``.keras``, skops, UBJSON, ``.npy``/``.npz``) has the sha256 its folder's
  manifest records, checked on the very bytes then loaded (:class:`lib.io.ModelFolder`).

So an edit of any ONE file the scorer reads is an error naming that file (exit 2). Not caught: someone who
rewrites a file together with every record above it, consistently: e.g. a threshold edited in the detector's
manifest with its new sha256 written into ``anomaly/manifest.json`` and that stage's fingerprint recomputed
(two files); changing the pipeline that way takes four (its manifest, both stage manifests and the detector's
manifest). Hashes are no signatures: ``anomaly/manifest.json`` is the root and nothing in the folder vouches for
it. :meth:`Detector.describe` prints its fingerprint (``anomaly_fingerprint``), which covers everything above:
keep a copy of it where the folder's writers can not reach, and compare.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lib import io, metrics, preprocess, registry
from lib.datasets import DataError, schema
from lib.datasets.textio import DEFAULT_ENCODING

if TYPE_CHECKING:
    from lib.score.outputs import Tally

#: A model input above ``high + DRIFT_MARGIN * (high - low)`` of the training rows (or as far below) is drift.
DRIFT_MARGIN = 1.0
#: Rows of the run's own validation split on which ``--runtime auto`` measures each runtime (:meth:`Detector.use_runtime`).
CALIBRATION_ROWS = 4096  # one whole batch of lib.fusion.runtime.BATCH_SIZES: timed without padding
#: ``--runtime``: ``auto`` measures; the others name one (:meth:`lib.fusion.FusionPipeline.use_runtime`).
RUNTIME_CHOICES = ("auto", "predict", "tensorflow", "xla", "stacked", "stacked_xla")  # = auto, predict, RUNTIMES


class ScoreError(DataError):
    """An input or a model folder that cannot be scored; the message names the file, the column and the fix."""


@dataclass
class Thresholds:
    """The decisions of one scoring: ``fusion`` None means the predicted class (argmax), else an attack
    probability threshold; ``anomaly`` the anomaly-score threshold; ``fpr`` the benign validation rate they
    were set at (None: the run's saved decisions)."""

    fusion: float | None
    anomaly: float
    fpr: float | None
    basis: str


def import_keras_quietly() -> None:
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


def run_folder_of(model: str | os.PathLike) -> Path:
    """The run folder ``model`` names (itself, or the run of a ``fusion/pipeline`` folder); a
    :class:`ScoreError` when it has no ``fusion/`` stage."""
    path = Path(model)
    if path.name == "pipeline" and path.parent.name == "fusion":
        path = path.parent.parent
    if not (path / "fusion").is_dir():
        raise ScoreError(
            f"{model}: not a run folder with a trained pipeline (no fusion/ stage). Fix: pass the RUN_DIR of a "
            f"run whose notebooks 01-05 have run (e.g. runs/iot23), or its fusion/pipeline folder"
        )
    return path


def check_stage_record(stage: Any) -> None:
    """A :class:`lib.io.ModelFileError` naming the stage's ``manifest.json`` unless its ``fingerprint`` is the
    hash of its parameters (places aside), inputs and file records (:func:`lib.run.manifest_fingerprint`, as
    :meth:`lib.run.Stage.finish` made it): an edit of a recorded sha256, input or parameter after the stage
    finished is caught (the module docstring)."""
    from lib import run

    recorded = stage.manifest
    if run.manifest_fingerprint(recorded) != recorded.get("fingerprint"):
        raise io.ModelFileError(
            f"{stage.path / run.MANIFEST}: its fingerprint is not the hash of the parameters, inputs and file "
            f"records it holds: the file was edited after {recorded.get('notebook')} finished it, so the run is not "
            f"loaded. Fix: {io.RESTORE} (to retrain: {stage.run.fix(stage.name)})"
        )


def identifiers(df: pd.DataFrame) -> pd.DataFrame:
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


class Detector:
    """A trained run ready to score raw flows: the fused pipeline of notebook 04 and the anomaly branch of
    notebook 05, with the benign validation scores their thresholds are taken from and the training range of
    every model input (drift). ``benign_labels``, ``encoding`` and ``non_negative`` say how notebook 01 read the
    training data (its ``BENIGN_LABELS`` and ``ENCODING``, and the columns of its ``DATASET``'s schema whose
    negative values are missing): the inputs to score are read the same way."""

    def __init__(
        self,
        run_dir: Path,
        pipeline: Any,
        anomaly: Any,
        manifest: dict,
        arrays: dict[str, np.ndarray],
        fingerprint: str | None = None,
    ):
        self.run_dir, self.pipeline, self.anomaly = run_dir, pipeline, anomaly
        self.manifest, self.arrays, self.fingerprint = manifest, arrays, fingerprint
        self.class_names = list(pipeline.class_names)
        self.training = manifest.get("training", {})
        trained = self.training.get("parameters", {})  # notebook 01's: how the training data was read
        self.benign_labels = trained.get("BENIGN_LABELS") or "benign"
        self.encoding = trained.get("ENCODING") or DEFAULT_ENCODING
        self.non_negative = schema.non_negative_columns(str(trained.get("DATASET") or ""))
        self.benign_index = self.class_names.index(preprocess.BENIGN) if preprocess.BENIGN in self.class_names else 0
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
        """The run folder ``model`` (or its ``fusion/pipeline`` folder): its pipeline and anomaly branch, both
        checked current (:meth:`lib.run.RunDir.open`) and made for each other. A relative ``model`` is taken from
        the current folder (not from the repository, as a notebook's ``RUN_DIR`` is); loading creates nothing."""
        path = run_folder_of(Path(model).absolute())  # before anything is imported or opened
        import_keras_quietly()  # before lib.fusion and lib.anomaly import Keras
        from lib import anomaly, fusion, run

        folder = run.RunDir(path)  # (an absolute folder that exists: RunDir neither moves nor creates it)
        if not folder.has("anomaly"):
            raise ScoreError(
                f"{path}: no anomaly/ stage, which holds the thresholds and the anomaly branch the scoring uses. "
                f"Fix: {folder.fix('anomaly')}"
            )
        anomaly_stage = folder.open("anomaly")  # checks it is complete and that the fusion it read is current
        check_stage_record(anomaly_stage)
        if "detector/manifest.json" not in anomaly_stage.manifest.get("files", {}):
            raise ScoreError(
                f"{path}: its anomaly/ stage has no detector/ folder (notebook 05 ran before it saved one). Fix: "
                f"{folder.fix('anomaly')}"
            )
        fusion_stage = folder.open("fusion")
        check_stage_record(fusion_stage)
        if "pipeline/manifest.json" not in fusion_stage.manifest.get("files", {}):
            raise io.ModelFileError(
                f"{fusion_stage.path / run.MANIFEST}: records no sha256 for pipeline/manifest.json, so the pipeline "
                f"can not be checked. Fix: {io.RESTORE} (to retrain: {folder.fix('fusion')})"
            )
        # the pipeline first: a run saved before files were hashed is then told to retrain from notebook 04 on
        pipeline = fusion.load_pipeline(
            fusion_stage.file("pipeline"), manifest_sha256=fusion_stage.manifest["files"]["pipeline/manifest.json"]
        )
        manifest, detector, arrays = anomaly.load_detector(
            anomaly_stage.file("detector"), manifest_sha256=anomaly_stage.manifest["files"]["detector/manifest.json"]
        )
        if manifest.get("pipeline_fingerprint") != fusion_stage.fingerprint:
            raise ScoreError(f"{path}: the anomaly branch was saved for another pipeline. Fix: {folder.fix('anomaly')}")
        return cls(path, pipeline, detector, manifest, arrays, anomaly_stage.fingerprint)

    def use_runtime(self, runtime: str = "auto") -> list[dict[str, Any]]:
        """Run the fusion's fold models with ``runtime`` (:data:`RUNTIME_CHOICES`); ``auto`` measures each on the
        first :data:`CALIBRATION_ROWS` preprocessed rows of the run's validation split (repeated up to that many if
        it holds fewer; seeded uniform rows if the run folder has none), keeps the fastest whose outputs and final
        scores agree with ``predict``'s, and returns what it measured. The rows only time the runtimes and compare
        their outputs: no score depends on them."""
        from lib import run

        rows = None
        if runtime == "auto":
            width = len(self.input_names)
            try:  # the prepared stage, read through the run folder (checked current)
                path = run.RunDir(self.run_dir).open("prepared").file("X_val.npy")
                rows = np.asarray(np.load(path, mmap_mode="r")[:CALIBRATION_ROWS], dtype=np.float32)
            except (run.StaleArtefactError, OSError, ValueError):
                rows = None
            if rows is None or rows.ndim != 2 or rows.shape[1] != width or not len(rows):
                rows = np.random.default_rng(0).random((CALIBRATION_ROWS, width), dtype=np.float32)
            elif len(rows) < CALIBRATION_ROWS:  # fewer validation rows: repeated to one whole batch, so that each
                rows = np.resize(rows, (CALIBRATION_ROWS, width))  # runtime is timed on the batches scoring runs
        return self.pipeline.use_runtime(runtime, rows)

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
            "variant": m.get("variant", "full"),
            "student": m.get("student", "mlp") if m.get("variant") == "deploy" else None,
            "runtime": self.pipeline.runtime,
            "deep_models": m.get("deep_models"),
            "k_folds": m.get("k_folds"),
            "seed": m.get("seed"),
            "classes": self.class_names,
            "pipeline_fingerprint": self.manifest.get("pipeline_fingerprint"),
            "anomaly_fingerprint": self.fingerprint,
            "anomaly_branch": self.manifest.get("candidate"),
            "target_fpr": self.manifest.get("target_fpr"),
            "anomaly_threshold": self.manifest.get("threshold"),
            "feature_columns": self.pipeline.feature_columns,
        }

    def thresholds(self, fpr: float | None = None) -> Thresholds:
        """The saved decisions, or both branches at ``fpr`` of the benign validation flows
        (:func:`lib.metrics.threshold_at_fpr`)."""
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
            metrics.threshold_at_fpr(self.arrays["fusion_benign_val"], fpr),
            metrics.threshold_at_fpr(self.arrays["anomaly_benign_val"], fpr),
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
            key = schema.normalised_name(name)
            close = [c for c in others if schema.normalised_name(c) and key.startswith(schema.normalised_name(c))]
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
        """The output rows of the flows in ``df`` (see :mod:`lib.score`); counts go to ``tally``."""
        for column in self.numeric_columns:  # (an unset category is a category of its own, as in training)
            n_missing = int(df[column].isna().sum())
            if n_missing:
                tally.imputed[column] += n_missing
        X = np.asarray(self.pipeline.preprocessor.transform(df[self.pipeline.feature_columns]), dtype=np.float32)
        self._drift(X, tally)
        self._unseen(df, tally)
        proba = self.pipeline.score_features(X)
        p_attack = metrics.attack_score(proba) if len(self.class_names) > 1 else np.zeros(len(df))
        anomaly_score = self.anomaly.score(X)
        fusion_alert, predicted = self._fusion_decision(proba, p_attack, thresholds)
        anomaly_alert = anomaly_score > thresholds.anomaly
        alert = np.select(
            [fusion_alert & anomaly_alert, fusion_alert, anomaly_alert], ["both", "fusion", "anomaly"], default=""
        )
        family = np.asarray(self.class_names, dtype=object)[predicted]
        out = identifiers(df)
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

    def _fusion_decision(
        self, proba: np.ndarray, p_attack: np.ndarray, thresholds: Thresholds
    ) -> tuple[np.ndarray, np.ndarray]:
        """Whether the fusion alerts on each flow, and the class it names: the predicted class (argmax), or,
        with a threshold, an alert above it named by its likeliest attack class."""
        if thresholds.fusion is None:
            predicted = proba.argmax(axis=1)
            return predicted != self.benign_index, predicted
        fusion_alert = p_attack > thresholds.fusion
        attack_proba = proba.copy()
        attack_proba[:, self.benign_index] = -1
        return fusion_alert, np.where(fusion_alert, attack_proba.argmax(axis=1), self.benign_index)

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
        for column, known in self.categories.items():
            values = preprocess.as_category_strings(df[[column]])[:, 0]
            unseen = ~np.isin(values, list(known))
            if unseen.any():
                tally.unseen[column] += int(unseen.sum())
