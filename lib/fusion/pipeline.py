"""The scoring pipeline of :mod:`lib.fusion` (preprocessor + fold models + meta-classifier) and its folder.

The folder is tamper-evident (:mod:`lib.io`): its manifest records the sha256 of every other file and, when
the folder is read with the sha256 its run recorded for the manifest (``iot-botnet score`` does), an edit of any
one file is an error naming it before anything is used."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib import baselines, io, models, preprocess, registry
from lib.fusion.deploy import PIPELINES, DistilledModel, load_student
from lib.fusion.stacked import NotStackable
from lib.fusion.stacking import FusionModel

# ------------------------------------------------------------------------------------------------- pipeline
#: The runtime of :meth:`FusionPipeline.use_runtime` that runs each network's own ``predict``, one at a time.
PREDICT = "predict"


def known_unused_columns(meta: dict[str, Any]) -> list[str]:
    """Columns a raw frame of this run may hold that are not model inputs: labels, identifiers, dropped ones.

    ``meta`` is the prepared data's ``meta.json`` (``PreparedData.meta``); its report lists every column
    notebook 01 dropped and why.
    """
    dropped = meta.get("report", {}).get("dropped_columns", {})
    return sorted({*registry.LABEL_COLUMNS, "source_file", *(c for cols in dropped.values() for c in cols)})


class FusionPipeline:
    """Preprocessor + :class:`FusionModel` (the fold models and one meta-classifier): :meth:`score` turns raw
    flows into class probabilities, exactly as the fitted fusion scores their preprocessed rows.

    Columns: every column the preprocessor was fitted on is required (a missing one is a ``ValueError``
    naming it). Columns that are known but unused (labels, identifiers, columns dropped in notebook 01) are
    ignored. Any other column is a ``ValueError`` naming it, because a column the pipeline has never seen
    usually means a different data set or a renamed feature; pass ``extra_columns="ignore"`` to drop them.
    """

    def __init__(
        self,
        preprocessor: Any,
        model: FusionModel,
        class_names: Sequence[str],
        ignored_columns: Sequence[str] = (),
        manifest: dict[str, Any] | None = None,
    ):
        self.preprocessor = preprocessor
        self.model = model
        self.class_names = list(class_names)
        self.feature_columns = [str(c) for c in preprocessor.feature_names_in_]
        self.ignored_columns = sorted(set(ignored_columns) - set(self.feature_columns))
        self.manifest = manifest or {}
        self.runtime = PREDICT  # how the fold models run: set by use_runtime
        self._side_by_side: Any = None

    def use_runtime(self, runtime: str = "auto", X: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Run the fold models with ``runtime``: ``predict`` (each network's own ``predict``, one at a time), one
        of :data:`lib.fusion.runtime.RUNTIMES` (every network in one graph), or ``auto``: the fastest on the
        preprocessed rows ``X`` whose networks' outputs, and the final scores made from them, agree with
        ``predict``'s within 1e-5 (:func:`lib.fusion.runtime.choose_runtime`; its measurements are returned, each
        with ``score_max_difference``: the largest difference of the final scores on ``X``). Sets
        :attr:`runtime`. The deployment variant has one network and always runs it with its own ``predict``."""
        from lib.fusion import runtime as runtimes

        records: list[dict[str, Any]] = []
        if runtime not in ("auto", PREDICT, *runtimes.RUNTIMES):
            raise ValueError(
                f"runtime must be auto, {PREDICT} or one of {', '.join(runtimes.RUNTIMES)}, not {runtime!r}"
            )
        if not getattr(self.model, "fold_models", None):  # the deployment variant: one network, its own predict
            self._side_by_side, self.runtime = None, PREDICT
            return records
        if runtime == "auto":
            if X is None:
                raise ValueError("runtime='auto' measures each runtime on rows: pass X")
            # the final scores through the meta-classifier too: its trees can turn a difference in the last
            # bits of a network's output into another branch, and so another score
            self._side_by_side, records = runtimes.choose_runtime(
                self.model.fold_models, X, self.model.inputs, final=lambda outputs: self.model.predict_proba(X, outputs)
            )
        elif runtime == PREDICT:
            self._side_by_side = None
        else:
            try:
                self._side_by_side = runtimes.SideBySide(self.model.fold_models, self.model.inputs, runtime)
            except NotStackable as err:
                raise ValueError(f"runtime {runtime!r}: {err}. Fix: use runtime auto, {PREDICT} or tensorflow") from err
        self.runtime = PREDICT if self._side_by_side is None else self._side_by_side.runtime
        return records

    def check_columns(self, df: pd.DataFrame, extra_columns: str = "error") -> None:
        """Raise a ``ValueError`` naming missing feature columns (and unknown extra ones unless ignored)."""
        if extra_columns not in ("error", "ignore"):
            raise ValueError(f"extra_columns must be 'error' or 'ignore', got {extra_columns!r}")
        present = {str(c) for c in df.columns}
        missing = [c for c in self.feature_columns if c not in present]
        if missing:
            raise ValueError(
                f"the DataFrame lacks {len(missing)} column(s) the pipeline needs: {missing}. "
                f"It needs all of {self.feature_columns}"
            )
        extra = sorted(present - set(self.feature_columns) - set(self.ignored_columns))
        if extra and extra_columns == "error":
            raise ValueError(
                f"the DataFrame has {len(extra)} column(s) the pipeline was not fitted with: {extra}. "
                f"Drop them, or call score(df, extra_columns='ignore') to leave them out"
            )

    def transform(self, df: pd.DataFrame, extra_columns: str = "error") -> np.ndarray:
        """The model inputs of raw flows (after the column checks)."""
        self.check_columns(df, extra_columns)
        return np.asarray(self.preprocessor.transform(df[self.feature_columns]), dtype=np.float32)

    def score(self, df: pd.DataFrame, extra_columns: str = "error") -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` of the raw flows in ``df`` (columns in ``class_names`` order)."""
        return self.score_features(self.transform(df, extra_columns))

    def score_features(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of already preprocessed rows (the arrays of ``RUN_DIR/prepared``), the fold models
        run by :attr:`runtime`."""
        return self.model.predict_proba(X, self.fold_outputs(X))

    def fold_outputs(self, X: np.ndarray) -> list[np.ndarray] | None:
        """Each fold's deep outputs of the preprocessed rows ``X``, run by :attr:`runtime` (what the
        meta-classifier reads); None for the deployment variant, which has no fold models."""
        if not getattr(self.model, "fold_models", None):
            return None
        return self.model.fold_outputs(X) if self._side_by_side is None else self._side_by_side.fold_outputs(X)


# ------------------------------------------------------------------------------------------------- its folder
PIPELINE_FORMAT = 3  # 3: the fold models of a cross-fitted fusion (2: one set of deep models)
#: What remakes a pipeline folder (the end of every error about one).
REMAKE = "save the pipeline again (notebooks/04_decision_fusion.ipynb)"


def _deep_file(name: str, fold: int) -> str:
    """The file of deep model ``name`` of fold ``fold`` inside a pipeline folder."""
    return f"deep_{name}_fold{fold}.keras"


def save_pipeline(pipeline: FusionPipeline, folder: str | os.PathLike) -> Path:
    """Write ``pipeline`` into ``folder``, new or empty (the run folder hands out an empty one and puts it in place
    whole; a folder holding files is refused, so no file of an earlier save survives beside this one):
    ``manifest.json``, ``preprocessor.skops``, the deep models of every fold,
    ``deep_<name>_fold<k>.keras``, and the meta-classifier (``meta_xgboost.ubj`` or ``meta_<name>.skops``). The
    manifest says how many folds (``k_folds``), which deep models (``deep_models``), their ``inputs``, whether
    the features follow the deep outputs (``with_features``) and the fusion contender it is, and records the
    sha256 of every other file of the folder (``files``, :func:`lib.io.file_hashes`), written last. The
    deployment variant (``variant``: ``deploy``, :mod:`lib.fusion.deploy`) holds the preprocessor and its one
    student, ``student.keras`` or ``student.ubj`` (the manifest's ``student``: ``mlp`` or ``trees``), instead of
    the fold models and the meta-classifier."""
    folder = io.empty_folder(folder)
    model = pipeline.model
    preprocess.save_preprocessor(pipeline.preprocessor, folder / "preprocessor.skops")
    if isinstance(model, DistilledModel):
        return _save_deploy(pipeline, folder)
    for fold, deep_models in enumerate(model.fold_models):
        for name, deep_model in deep_models.items():
            deep_model.save(folder / _deep_file(name, fold))
    meta_file = f"meta_{model.meta_name}{baselines.model_suffix(model.meta)}"
    baselines.write_classifier(model.meta, folder / meta_file)
    manifest = {
        **pipeline.manifest,
        "format": PIPELINE_FORMAT,
        "variant": "full",
        "class_names": pipeline.class_names,
        "contender": model.contender,
        "inputs": model.inputs,
        "with_features": bool(model.with_features),
        "k_folds": len(model.fold_models),
        "deep_models": model.names,
        "meta_name": model.meta_name,
        "meta_file": meta_file,
        "meta_class_ids": [int(c) for c in model.meta.class_ids_],
        "feature_columns": pipeline.feature_columns,
        "ignored_columns": pipeline.ignored_columns,
        io.FILE_HASHES: io.file_hashes(folder),
    }
    io.write_json(folder / io.MANIFEST, manifest)
    return folder


def _save_deploy(pipeline: FusionPipeline, folder: Path) -> Path:
    """The deployment variant's folder (:mod:`lib.fusion.deploy`): the preprocessor (already written), its student
    (:meth:`lib.fusion.deploy.DistilledModel.save`) and the manifest (``variant``: ``deploy``)."""
    network_file = pipeline.model.save(folder)
    manifest = {
        **pipeline.manifest,
        "format": PIPELINE_FORMAT,
        "variant": "deploy",
        "class_names": pipeline.class_names,
        "contender": pipeline.model.contender,
        "student": pipeline.model.kind,
        "network_file": network_file,
        "feature_columns": pipeline.feature_columns,
        "ignored_columns": pipeline.ignored_columns,
        io.FILE_HASHES: io.file_hashes(folder),
    }
    io.write_json(folder / io.MANIFEST, manifest)
    return folder


def _checked_manifest(files: io.ModelFolder) -> dict[str, Any]:
    """The manifest of a pipeline folder, its format and the types of the keys that name files checked."""
    folder, manifest = files.path, files.manifest
    if not isinstance(manifest, dict) or manifest.get("format") != PIPELINE_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ValueError(f"{folder}: pipeline format {found!r}, this code reads {PIPELINE_FORMAT}. Fix: {REMAKE}")
    if manifest.get("variant", "full") not in PIPELINES:
        raise ValueError(
            f"{folder / io.MANIFEST}: 'variant' must be one of {', '.join(PIPELINES)}, not "
            f"{manifest.get('variant')!r}. Fix: {REMAKE}"
        )
    if manifest.get("variant") == "deploy":
        return manifest
    names, k_folds = manifest.get("deep_models"), manifest.get("k_folds")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError(
            f"{folder / io.MANIFEST}: 'deep_models' must be a list of model names, not {names!r}. Fix: {REMAKE}"
        )
    if type(k_folds) is not int or k_folds < 1 or not isinstance(manifest.get("with_features"), bool):
        raise ValueError(
            f"{folder / io.MANIFEST}: 'k_folds' must be a whole number of folds of at least 1 (not {k_folds!r}) and "
            f"'with_features' true or false (not {manifest.get('with_features')!r}). Fix: {REMAKE}"
        )
    return manifest


def load_pipeline(folder: str | os.PathLike, manifest_sha256: str | None = None) -> FusionPipeline:
    """Read a folder written by :func:`save_pipeline` (no pickle: skops with trusted types, .keras with Keras'
    ``safe_mode``, UBJSON).

    The folder refers only to files inside itself: every file its manifest names must be a plain file name
    (no folder, no ``..``, no link out of the folder) of a file that exists there. All of them are checked
    before any is opened, so a crafted manifest is a :class:`ValueError` and nothing outside is read.

    Every file is read once, its bytes checked against the sha256 the manifest records and loaded from those
    bytes (:class:`lib.io.ModelFolder`); ``manifest_sha256`` is the sha256 the run recorded for the manifest
    itself (its stage manifest's entry ``pipeline/manifest.json``; ``iot-botnet score`` passes it). A file
    that is not as saved is a :class:`lib.io.ModelFileError` naming it; a folder saved before files were hashed
    (no ``files`` in its manifest) is refused with the fix: save it again, i.e. retrain the run's notebook 04.
    """
    folder = Path(folder)
    if not (folder / io.MANIFEST).exists():
        raise FileNotFoundError(
            f"{folder / io.MANIFEST} not found: run notebooks/04_decision_fusion.ipynb for this RUN_DIR first"
        )
    files = io.ModelFolder(folder, fix=REMAKE, manifest_sha256=manifest_sha256)
    manifest = _checked_manifest(files)
    if manifest.get("variant") == "deploy":
        network_file = files.file(manifest.get("network_file"), key="network_file", suffixes=(".keras", ".ubj"))
        files.file("preprocessor.skops")
        model: Any = load_student(network_file, files.read(network_file.name), len(manifest["class_names"]))
        preprocessor = preprocess.load_preprocessor(
            folder / "preprocessor.skops", data=files.read("preprocessor.skops", suffixes=(".skops",))
        )
        return FusionPipeline(preprocessor, model, manifest["class_names"], manifest["ignored_columns"], manifest)
    names = manifest["deep_models"]
    deep_files = [
        {name: files.file(_deep_file(name, fold), key="deep_models", value=name).name for name in names}
        for fold in range(manifest["k_folds"])
    ]
    meta_file = files.file(manifest.get("meta_file"), key="meta_file", suffixes=(".ubj", ".skops"))
    files.file("preprocessor.skops")
    fold_models = [
        {name: models.read_keras(folder / file, files.read(file)) for name, file in fold.items()} for fold in deep_files
    ]
    meta = baselines.read_classifier(meta_file, manifest["meta_class_ids"], files.read(meta_file.name))
    model = FusionModel(
        fold_models,
        meta,
        manifest["meta_name"],
        manifest["inputs"],
        len(manifest["class_names"]),
        with_features=manifest["with_features"],
    )
    preprocessor = preprocess.load_preprocessor(
        folder / "preprocessor.skops", data=files.read("preprocessor.skops", suffixes=(".skops",))
    )
    return FusionPipeline(preprocessor, model, manifest["class_names"], manifest["ignored_columns"], manifest)
