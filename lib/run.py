"""The one owner of ``RUN_DIR``: where every artefact of a run lives, who made it, and whether it is current.

Every notebook writes and reads its artefacts through :class:`RunDir` and :class:`Stage`; no notebook and no
other module builds a path inside ``RUN_DIR``. A run folder holds one sub-folder per *stage*, the output of
one notebook::

    RUN_DIR/
      prepared/          01_data_preparation   arrays, row tables, preprocessor.skops
      baselines/         02_baselines          models/, predictions/, scores.csv, timings.csv, details.json
      baselines_smote/   02 with TRAIN_SPLIT="train_smote" (paper 2's D2)
      deep/              03_cnn_lstm           models/ (.keras), histories/, predictions/, scores, timings
      deep_smote/        03 with TRAIN_SPLIT="train_smote"
      fusion/            04_decision_fusion    pipeline/, tables/, scores, timings
      anomaly/           05_anomaly_detection  tables/, figures/, details, detector/ (for lib.score)
      detect/            07_detect_new_traffic scored/ (the output of iot-botnet score), tables/, figures/
      notebooks/         the executed notebooks (lib.runner)

**Provenance.** Each stage folder has a ``manifest.json``: the notebook that made it, the parameters it ran
with, its status (``running`` until the notebook's last cell, then ``complete``), the fingerprints of the
stages it read (``inputs``) and its own ``fingerprint``: a hash of its parameters, its inputs and the bytes of
its result files (arrays, predictions, scores; not timings, model files or figures). The prepared data's
fingerprint is therefore the hash of the prepared arrays and the parameters that made them. Opening a stage
(:meth:`RunDir.open`) checks that it is complete and that every stage it read still has the fingerprint it
read; otherwise the error names the stale stage, the notebook that makes it and the command that fixes it.
Two runs that give the same bytes give the same fingerprint, so an identical rerun upstream leaves the stages
downstream valid.

**Writes.** :meth:`RunDir.begin` removes the stage's previous outputs before anything is written (a rerun with
fewer models leaves no file of the old run behind); every file is written to a temporary name and renamed, so
a killed run leaves a whole file or none; the manifest says ``complete`` only after :meth:`Stage.finish`.

**Safe loading.** Nothing is unpickled. Keras models are ``.keras`` files, XGBoost models XGBoost's own UBJSON,
scikit-learn objects ``skops`` files loaded with an explicit list of trusted types (:func:`load_skops`).

No TensorFlow here: Keras is imported only when a Keras model is saved or loaded.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import re
import shlex
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib import registry, session
from lib.preprocess import PreparedData

MANIFEST = "manifest.json"
#: The runner's record of each executed notebook's wall time, in the run's ``notebooks/`` folder.
WALL_TIMES = "wall_times.csv"
SPLITS = ("train", "val", "test")

#: stage -> the notebook that writes it (and the extra runner parameters its variant needs).
STAGES: dict[str, tuple[str, str]] = {
    "prepared": ("01_data_preparation.ipynb", ""),
    "baselines": ("02_baselines.ipynb", ""),
    "baselines_smote": ("02_baselines.ipynb", " -p TRAIN_SPLIT train_smote"),
    "deep": ("03_cnn_lstm.ipynb", ""),
    "deep_smote": ("03_cnn_lstm.ipynb", " -p TRAIN_SPLIT train_smote"),
    "fusion": ("04_decision_fusion.ipynb", ""),
    "anomaly": ("05_anomaly_detection.ipynb", ""),
    "detect": ("07_detect_new_traffic.ipynb", ""),
}
#: Parameters that say which data a run is about: a later notebook given other values than notebook 01 used
#: would silently describe data it does not read, so :meth:`RunDir.begin` refuses them.
DATA_PARAMETERS = ("DATASET", "SAMPLE_ROWS", "DATA_FILES", "LABEL_COLUMN", "BENIGN_LABELS")
#: Parameters that do not change a stage's results (where things are), left out of its fingerprint.
LOCATION_PARAMETERS = ("RUN_DIR", "DATA_DIR", "FIGURES_DIR", "NAME")

# Types a skops file of this project may contain beyond skops' own defaults: the preprocessor's functions,
# forest trees and the SVM's calibration. Anything else in a file is refused (see load_skops).
TRUSTED_SKOPS_TYPES = frozenset(
    {
        "lib.preprocess._as_category_strings",
        "lib.preprocess._inf_to_nan",
        "lib.preprocess._signed_log1p",
        "lib.preprocess._to_float32",
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
    }
)


class StaleArtefactError(RuntimeError):
    """An artefact of ``RUN_DIR`` is missing, incomplete or made from other data than the current run's."""


# ------------------------------------------------------------------------------------------------ files
def _atomic(path: Path, write) -> Path:
    """Call ``write(tmp)`` then rename ``tmp`` to ``path``: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")  # keeps the suffix: Keras insists on .keras
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(obj: Any) -> str:
    """Stable JSON: sorted keys, numpy values converted, so equal content gives equal bytes."""
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def load_skops(path: str | os.PathLike) -> Any:
    """Load a scikit-learn object written by this project, refusing any type it does not write.

    ``skops`` lists the types a file would instantiate that it does not trust by default; every one of them
    must be in :data:`TRUSTED_SKOPS_TYPES`, so a file crafted to run other code is an error, not a load.
    """
    import skops.io

    path = Path(path)
    untrusted = skops.io.get_untrusted_types(file=path)
    refused = sorted(set(untrusted) - TRUSTED_SKOPS_TYPES)
    if refused:
        raise ValueError(
            f"{path}: refusing to load types this project never writes: {refused}. The file was not made by "
            f"this project's code (or by a newer version). Fix: recreate it by rerunning the notebook that made it"
        )
    return skops.io.load(path, trusted=untrusted)


def dump_skops(obj: Any, path: Path) -> Path:
    """Write a scikit-learn object with skops (what :func:`load_skops` reads back)."""
    import skops.io

    skops.io.dump(obj, path)
    return Path(path)


# ------------------------------------------------------------------------------------------------ the run
class RunDir:
    """A run folder (``RUN_DIR``): opens stages for reading (checked) and begins them for writing."""

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        self.path = path if path.is_absolute() else session.REPO_ROOT / path
        self.path.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -------------------------------------------------------------------------------- stage lifecycle
    def begin(self, stage: str, parameters: Mapping[str, Any], inputs: Iterable[str] = ()) -> Stage:
        """Start writing ``stage``: check its inputs, remove its previous outputs, record the parameters.

        ``inputs`` are the stages it reads (each opened and checked now; their fingerprints are recorded).
        The data parameters (:data:`DATA_PARAMETERS`) must equal the prepared data's.
        """
        notebook = _notebook_of(stage)
        inputs = list(inputs)
        if "prepared" in inputs:
            self.check_data_parameters(notebook, parameters)
        if stage == "prepared":
            self._check_same_source(parameters)
        fingerprints = {name: self.open(name).fingerprint for name in inputs}
        folder = self.path / stage
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        manifest = {
            "stage": stage,
            "notebook": notebook,
            "status": "running",
            "parameters": dict(parameters),
            "inputs": fingerprints,
            "code": code_fingerprint(notebook),
        }
        writer = Stage(self, stage, manifest, writable=True)
        writer._write_manifest()
        return writer

    def open(self, stage: str) -> Stage:
        """A complete, current stage for reading, or a :class:`StaleArtefactError` saying what to rerun."""
        return self._open(stage, checked={})

    def _open(self, stage: str, checked: dict[str, str]) -> Stage:
        notebook = _notebook_of(stage)
        manifest_path = self.path / stage / MANIFEST
        if not manifest_path.exists():
            raise StaleArtefactError(
                f"{self.path / stage} not found: {notebook} has not run for this RUN_DIR. Fix: {self.fix(stage)}"
            )
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("status") != "complete":
            raise StaleArtefactError(
                f"{self.path / stage} is incomplete: {notebook} started writing it but did not finish (killed or "
                f"failed), so its files may mix two runs. Fix: {self.fix(stage)}"
            )
        for upstream, recorded in manifest.get("inputs", {}).items():
            if upstream not in checked:  # each upstream stage is opened (and checked) once per call of open()
                checked[upstream] = self._open(upstream, checked).fingerprint
            current = checked[upstream]
            if current != recorded:
                raise StaleArtefactError(
                    f"{self.path / stage} (made by {notebook}) is stale: it was made from {upstream} {recorded[:12]}, "
                    f"but {self.path / upstream} is now {current[:12]} ({_notebook_of(upstream)} ran again since). "
                    f"Fix: {self.fix(stage)}"
                )
        return Stage(self, stage, manifest, writable=False)

    def reusable(self, stage: str, parameters: Mapping[str, Any]) -> str | None:
        """The fingerprint of ``stage`` if running its notebook again with ``parameters`` (every parameter of its
        cell, as the notebook would record them) would only redo it: the stage is complete and current
        (:meth:`open`), was made by the same code (:func:`code_fingerprint`) and with the same parameters, places
        (:data:`LOCATION_PARAMETERS`) apart. Else ``None``. Training is deterministic for a seed on a CPU, so the
        redone stage would hold the same results (``lib.runner``'s ``--resume`` relies on this)."""
        try:
            found = self.open(stage)
        except StaleArtefactError:
            return None
        if found.manifest.get("code") != code_fingerprint(found.manifest["notebook"]):
            return None
        recorded = {k: v for k, v in found.parameters.items() if k not in LOCATION_PARAMETERS}
        wanted = {k: v for k, v in parameters.items() if k not in LOCATION_PARAMETERS}
        return found.fingerprint if recorded == wanted else None

    def has(self, stage: str) -> bool:
        """True if the notebook of ``stage`` has run for this folder (complete or not: :meth:`open` checks)."""
        return (self.path / stage).is_dir()

    def fix(self, stage: str) -> str:
        """The command that remakes ``stage`` for this run folder: the data set (from the prepared data if the
        stage has no manifest) and the parameters the stage ran with where they differ from the notebook's."""
        notebook, extra = _notebook_of(stage), STAGES[stage][1]
        recorded = self._recorded_parameters(stage)
        dataset = recorded.get("DATASET") or self._recorded_parameters("prepared").get("DATASET") or "iot23"
        defaults = notebook_defaults(notebook)
        changed = {
            name: value
            for name, value in recorded.items()
            if name in defaults and name not in ("DATASET", "RUN_DIR") and value != defaults[name]
        }
        options = "".join(f" -p {name} {shlex.quote(str(value))}" for name, value in changed.items())
        if "TRAIN_SPLIT" in changed:
            extra = ""
        return (
            f"rerun notebooks/{notebook} (python -m lib.runner --dataset {dataset} --only {notebook[:2]} "
            f"-p RUN_DIR {shlex.quote(str(self.path))}{options}{extra})"
        )

    def _recorded_parameters(self, stage: str) -> dict[str, Any]:
        try:
            return json.loads((self.path / stage / MANIFEST).read_text()).get("parameters", {})
        except (OSError, ValueError):
            return {}

    def check_data_parameters(self, notebook: str, parameters: Mapping[str, Any]) -> None:
        """Refuse data parameters (:data:`DATA_PARAMETERS`) of ``notebook`` that differ from notebook 01's."""
        prepared = self.open("prepared").parameters
        differ = {
            name: (parameters[name], prepared[name])
            for name in DATA_PARAMETERS
            if name in parameters and name in prepared and parameters[name] != prepared[name]
        }
        if differ:
            said = ", ".join(f"{k}={given!r} (prepared with {made!r})" for k, (given, made) in differ.items())
            raise StaleArtefactError(
                f"{notebook} was given {said}, but {self.path / 'prepared'} was made with the other "
                f"value(s): its results would describe data it never read. Fix: {self.fix('prepared')} with these "
                f"values first, or pass the values notebook 01 used"
            )

    def _check_same_source(self, parameters: Mapping[str, Any]) -> None:
        """Refuse to prepare other data (``DATASET``, ``DATA_FILES``) into a folder that holds a run: two data sets
        never overwrite each other, even where their default names collide."""
        recorded = self._recorded_parameters("prepared")
        differ = [k for k in ("DATASET", "DATA_FILES") if recorded and recorded.get(k, "") != parameters.get(k, "")]
        if differ:
            said = ", ".join(f"{k}={recorded.get(k, '')!r}" for k in differ)
            new = parameters.get("DATA_FILES") or parameters.get("DATASET")
            raise ValueError(
                f"{self.path} holds the run of other data ({said}); preparing {new!r} there would replace it. "
                f"Fix: give this run its own NAME (-p NAME ...), or remove {self.path} first if the old run is no "
                f"longer needed"
            )

    @property
    def name(self) -> str:
        """The run's name (notebook 01's ``NAME``): names its figure folder and every title. Runs prepared
        before names existed fall back to their ``DATASET``, then to the folder's name."""
        prepared = self._recorded_parameters("prepared")
        return prepared.get("NAME") or prepared.get("DATASET") or self.path.name

    # -------------------------------------------------------------------------------- other locations
    def notebook_path(self, notebook: str) -> Path:
        """Where the runner writes the executed copy of ``notebook``."""
        path = self.path / "notebooks" / notebook
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def record_wall_time(self, notebook: str, seconds: float, started: str, status: str) -> Path:
        """Append one executed notebook's wall time to ``notebooks/wall_times.csv`` (one row per execution: a
        run folder executed twice keeps both)."""
        path = self.notebook_path(WALL_TIMES)
        row = pd.DataFrame(
            [{"notebook": notebook, "started_utc": started, "seconds": round(seconds, 1), "status": status}]
        )
        row.to_csv(path, mode="a", header=not path.exists(), index=False)
        return path

    def wall_times(self) -> pd.DataFrame:
        """The executions :meth:`record_wall_time` recorded (empty where the runner has not run here)."""
        path = self.path / "notebooks" / WALL_TIMES
        return (
            pd.read_csv(path)
            if path.exists()
            else pd.DataFrame(columns=["notebook", "started_utc", "seconds", "status"])
        )

    # -------------------------------------------------------------------------------- shortcuts
    def load_prepared(self) -> PreparedData:
        return self.open("prepared").load_prepared()


@functools.cache
def code_fingerprint(notebook: str) -> str:
    """A hash of the code that makes a stage: the notebook's file, every module of ``lib`` and the pinned
    requirements. Any edit gives another hash, so a stage is only reused by the code that made it."""
    root = session.REPO_ROOT
    paths = [root / "notebooks" / notebook, root / "requirements.txt", *sorted((root / "lib").rglob("*.py"))]
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


@functools.cache
def notebook_defaults(notebook: str) -> dict[str, Any]:
    """The values a notebook's ``parameters`` cell assigns (literal values only), read from the file."""
    path = session.REPO_ROOT / "notebooks" / notebook
    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError):
        return {}
    source = next(("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), "")
    defaults = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            try:
                defaults[node.target.id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return defaults


def default_name(dataset: str, data_files: str = "") -> str:
    """The name of a run when ``NAME`` is not given: the registered data set, else the stem of the user's
    first data file, folder or glob (``runs/<name>``, ``figures/<name>``), so two data sets never share a folder."""
    first = next((item.strip() for item in str(data_files or "").split(",") if item.strip()), "")
    if dataset in registry.DATASETS or not first:
        return dataset
    path = Path(first.rstrip("/")).expanduser().absolute()
    stem = re.split(r"[*?\[]", path.name)[0] or path.parent.name
    stem = re.sub(r"(\.(csv|tsv|txt|log|labeled|parquet|gz))+$", "", stem, flags=re.I)
    if stem.lower() in _GENERIC_STEMS:  # CTU captures: <capture>/bro/conn.log.labeled -> the capture's name
        stem = next((p.name for p in path.parents if p.name.lower() not in _GENERIC_STEMS | {"bro", "zeek"}), stem)
    return safe_name(stem) or dataset


_GENERIC_STEMS = {"", "conn", "data", "flows", "logs", "csv"}


def safe_name(name: str) -> str:
    """``name`` with only letters, digits, ``.``, ``_`` and ``-``: one folder under ``runs/`` and ``figures/``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._-")


def run_names(parameters: Mapping[str, Any]) -> dict[str, str]:
    """``NAME`` and ``RUN_DIR`` of notebook 01, defaults filled in: the name from :func:`default_name`, the
    folder ``runs/<NAME>``."""
    name = safe_name(parameters.get("NAME") or "") or default_name(parameters["DATASET"], parameters.get("DATA_FILES"))
    return {"NAME": name, "RUN_DIR": parameters.get("RUN_DIR") or f"runs/{name}"}


def variant(stage: str, train_split: str) -> str:
    """The stage of notebooks 02 and 03 for a training split: ``deep`` or, on paper 2's SMOTE set, ``deep_smote``."""
    if train_split not in ("train", "train_smote"):
        raise ValueError(f"TRAIN_SPLIT must be 'train' or 'train_smote', got {train_split!r}")
    return stage if train_split == "train" else f"{stage}_smote"


def _notebook_of(stage: str) -> str:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; the stages are {sorted(STAGES)}")
    return STAGES[stage][0]


# ------------------------------------------------------------------------------------------------ one stage
class Stage:
    """One stage folder of a run: typed writers (when begun) and readers (when opened or begun)."""

    def __init__(self, run: RunDir, name: str, manifest: dict[str, Any], writable: bool):
        self.run, self.name, self.manifest, self.writable = run, name, manifest, writable
        self.path = run.path / name
        self._files: dict[str, str] = dict(manifest.get("files", {}))

    def __repr__(self) -> str:
        return f"Stage({self.name!r}, {self.manifest['status']}, {str(self.path)!r})"

    @property
    def fingerprint(self) -> str:
        return self.manifest["fingerprint"]

    @property
    def parameters(self) -> dict[str, Any]:
        return self.manifest["parameters"]

    @property
    def info(self) -> dict[str, Any]:
        """What the notebook recorded on :meth:`finish` (seeds, models, configurations)."""
        return self.manifest.get("info", {})

    def provenance(self) -> dict[str, Any]:
        """Which notebook made this stage, with which parameters, from which inputs (for a pipeline's manifest)."""
        keys = ("stage", "notebook", "parameters", "inputs") + (
            ("fingerprint",) if "fingerprint" in self.manifest else ()
        )
        return {key: self.manifest[key] for key in keys}

    def files(self, folder: str = "") -> list[str]:
        """The files of this stage (below ``folder``), as paths relative to the stage."""
        return sorted(str(p.relative_to(self.path)) for p in (self.path / folder).rglob("*") if p.is_file())

    # -------------------------------------------------------------------------------- bookkeeping
    def _file(self, relpath: str) -> Path:
        path = self.path / relpath
        if not self.writable and not path.exists():
            ran = (
                f"models {self.info['models']}, seeds {self.info['seeds']}"
                if "seeds" in self.info and "models" in self.info
                else "other output"
            )
            raise StaleArtefactError(
                f"{path} not found: {self.manifest['notebook']} did not write it (it ran {ran}). "
                f"Fix: {self.run.fix(self.name)}, with the models and seeds you need"
            )
        return path

    def _write(self, relpath: str, write, result: bool = True) -> Path:
        """Write one file atomically; ``result`` files count towards the stage's fingerprint."""
        if not self.writable:
            raise RuntimeError(f"stage {self.name!r} was opened for reading: use RunDir.begin to write it")
        path = _atomic(self.path / relpath, write)
        if result:
            self._files[relpath] = _sha256_file(path)
        return path

    def _write_text(self, relpath: str, text: str, result: bool = True) -> Path:
        return self._write(relpath, lambda tmp: tmp.write_text(text), result)

    def _write_manifest(self) -> None:
        self.manifest["files"] = dict(sorted(self._files.items()))
        _atomic(self.path / MANIFEST, lambda tmp: tmp.write_text(dumps(self.manifest)))

    def finish(self, **info: Any) -> str:
        """Mark the stage complete (recording ``info``); return its fingerprint."""
        location_free = {k: v for k, v in self.manifest["parameters"].items() if k not in LOCATION_PARAMETERS}
        content = {"parameters": location_free, "inputs": self.manifest["inputs"], "files": self._files}
        self.manifest.update(status="complete", fingerprint=sha256_bytes(dumps(content).encode()), info=info)
        self._write_manifest()
        self.writable = False
        return self.fingerprint

    # -------------------------------------------------------------------------------- JSON and tables
    def save_json(self, name: str, obj: Any) -> Path:
        return self._write_text(f"{name}.json", dumps(obj))

    def json(self, name: str) -> Any:
        return json.loads(self._file(f"{name}.json").read_text())

    def save_table(self, name: str, df: pd.DataFrame, result: bool = True) -> Path:
        """A result table as ``tables/<name>.csv`` (``result=False`` for timings: not part of the fingerprint)."""
        return self._write(f"tables/{name}.csv", lambda tmp: df.to_csv(tmp, index=False), result)

    def save_tables(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Several result tables at once (:meth:`save_table` each)."""
        for name, df in tables.items():
            self.save_table(name, df)

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self._file(f"tables/{name}.csv"))

    # -------------------------------------------------------------------------------- scores and timings
    def save_results(self, results: Any) -> None:
        """A :class:`lib.metrics.Results`: ``scores.csv`` and ``details.json`` (same seed, same bytes) and
        ``timings.csv`` (wall-clock times, which differ from run to run)."""
        self._write("scores.csv", lambda tmp: results.scores_frame().to_csv(tmp, index=False))
        self._write_text("details.json", dumps(results.details))
        self._write("timings.csv", lambda tmp: results.timings_frame().to_csv(tmp, index=False), result=False)

    def scores(self) -> pd.DataFrame:
        """One row per (model, seed): the scores of :func:`lib.metrics.evaluate` and row counts."""
        return pd.read_csv(self._file("scores.csv"))

    def timings(self) -> pd.DataFrame:
        return pd.read_csv(self._file("timings.csv"))

    def details(self) -> dict[str, Any]:
        """Full evaluations (confusion matrices, per-class scores, notes) by ``<model>_seed<seed>``."""
        return json.loads(self._file("details.json").read_text())

    # -------------------------------------------------------------------------------- predictions
    def save_predictions(self, model: str, seed: int, split: str, proba: np.ndarray) -> Path:
        proba = np.asarray(proba, dtype=np.float32)
        return self._write(f"predictions/{model}_seed{seed}_{split}.npy", lambda tmp: np.save(tmp, proba))

    def prediction(self, model: str, seed: int, split: str = "test") -> np.ndarray:
        return np.load(self._file(f"predictions/{model}_seed{seed}_{split}.npy"))

    def predictions(self, seed: int, split: str = "test") -> dict[str, np.ndarray]:
        """Every model's probabilities on ``split`` for ``seed``, in the order the models were saved."""
        return {model: self.prediction(model, seed, split) for model in self.info.get("models", [])}

    # -------------------------------------------------------------------------------- models
    def save_model(self, name: str, seed: int, model: Any) -> Path:
        """A trained model: Keras as ``.keras``, XGBoost as UBJSON, scikit-learn with skops (never pickle)."""
        stem = f"models/{name}_seed{seed}"
        if _is_keras(model):
            return self._write(f"{stem}.keras", model.save, result=False)
        class_ids = [int(c) for c in getattr(model, "class_ids_", [])]
        self._write_text(f"{stem}.json", dumps({"class_ids": class_ids}), result=False)
        return self._write(stem + _classifier_suffix(model), lambda tmp: _write_classifier(model, tmp), result=False)

    def model(self, name: str, seed: int) -> Any:
        """A model saved by :meth:`save_model` (the format is known from the file)."""
        stem = self.path / "models" / f"{name}_seed{seed}"
        if stem.with_suffix(".keras").exists():
            import keras

            return keras.models.load_model(stem.with_suffix(".keras"), safe_mode=True)
        if not stem.with_suffix(".json").exists():
            self._file(f"models/{name}_seed{seed}.*")  # the error: names the model and what the stage ran with
        sidecar = json.loads(stem.with_suffix(".json").read_text())
        found = stem.with_suffix(".ubj") if stem.with_suffix(".ubj").exists() else stem.with_suffix(".skops")
        return _read_classifier(self._file(str(found.relative_to(self.path))), sidecar["class_ids"])

    def save_history(self, name: str, seed: int, history: Mapping[str, list[float]]) -> Path:
        return self._write_text(f"histories/{name}_seed{seed}.json", dumps(dict(history)), result=False)

    def history(self, name: str, seed: int) -> dict[str, list[float]]:
        return json.loads(self._file(f"histories/{name}_seed{seed}.json").read_text())

    # -------------------------------------------------------------------------------- prepared data
    def save_prepared(self, data: PreparedData, preprocessor: Any) -> None:
        """The prepared arrays, their row tables and the fitted preprocessor (stage ``prepared``)."""
        arrays = {f"{a}_{s}": getattr(data, f"{a}_{s}") for s in SPLITS for a in ("X", "y")}
        if data.X_train_smote is not None:
            arrays |= {"X_train_smote": data.X_train_smote, "y_train_smote": data.y_train_smote}
        for name, values in arrays.items():
            dtype = np.float32 if name.startswith("X") else np.int64
            values = np.ascontiguousarray(values, dtype=dtype)
            self._write(f"{name}.npy", lambda tmp, v=values: np.save(tmp, v))
        for split, rows in data.rows.items():
            self._write(f"rows_{split}.parquet", lambda tmp, r=rows: r.to_parquet(tmp, index=False))
        self._write("preprocessor.skops", lambda tmp: dump_skops(preprocessor, tmp), result=False)
        meta = dict(data.meta) | {
            "feature_names": list(data.feature_names),
            "class_names": list(data.class_names),
            "label_mode": data.label_mode,
            "shapes": {name: list(values.shape) for name, values in arrays.items()},
        }
        self.save_json("meta", meta)

    def load_prepared(self) -> PreparedData:
        meta = self.json("meta")
        arrays = {name: np.load(self._file(f"{name}.npy")) for name in meta["shapes"]}
        for name, shape in meta["shapes"].items():
            if list(arrays[name].shape) != shape:
                raise StaleArtefactError(
                    f"{self.path / name}.npy has shape {arrays[name].shape}, the manifest says {tuple(shape)}: the "
                    f"folder mixes two runs. Fix: {self.run.fix('prepared')}"
                )
        rows = {
            s: pd.read_parquet(self._file(f"rows_{s}.parquet"))
            for s in SPLITS
            if (self.path / f"rows_{s}.parquet").exists()
        }
        return PreparedData(
            **arrays,
            feature_names=meta["feature_names"],
            class_names=meta["class_names"],
            label_mode=meta["label_mode"],
            rows=rows,
            meta=meta,
        )

    def load_preprocessor(self) -> Any:
        """The fitted scikit-learn preprocessor of notebook 01 (skops, trusted types only)."""
        return load_skops(self._file("preprocessor.skops"))

    # -------------------------------------------------------------------------------- the scoring pipeline
    def save_pipeline(self, pipeline: Any) -> Path:
        """The fitted :class:`lib.fusion.FusionPipeline` into ``pipeline/`` (see :func:`save_pipeline`)."""
        if not self.writable:
            raise RuntimeError(f"stage {self.name!r} was opened for reading")
        folder = save_pipeline(pipeline, self.path / "pipeline")
        self._files["pipeline/manifest.json"] = _sha256_file(folder / MANIFEST)
        return folder

    def load_pipeline(self) -> Any:
        return load_pipeline(self._file("pipeline"))

    def save_detector(self, detector: Any, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Path:
        """The anomaly branch and the scoring thresholds into ``detector/`` (see :func:`save_detector`)."""
        if not self.writable:
            raise RuntimeError(f"stage {self.name!r} was opened for reading")
        folder = save_detector(detector, manifest, arrays, self.path / "detector")
        self._files["detector/manifest.json"] = _sha256_file(folder / MANIFEST)
        return folder

    def load_detector(self) -> tuple[dict[str, Any], Any, dict[str, np.ndarray]]:
        return load_detector(self._file("detector"))

    # -------------------------------------------------------------------------------- figures
    def output_file(self, relpath: str) -> Path:
        """Where a command this stage runs (``iot-botnet score``) writes its output ``relpath``: an empty place
        inside the stage; call :meth:`adopt` once the command has written it."""
        if not self.writable:
            raise RuntimeError(f"stage {self.name!r} was opened for reading")
        path = self.path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        return path

    def adopt(self, relpath: str) -> Path:
        """Count a file a command wrote at :meth:`output_file` among the stage's results (its fingerprint)."""
        path = self._file(relpath)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the command did not write it")
        self._files[relpath] = _sha256_file(path)
        return path

    def save_fig(self, fig: Any, name: str) -> Path:
        """A figure of this run (not a paper figure) as ``figures/<name>.png``."""
        from lib import figures

        return self._write(f"figures/{name}.png", lambda tmp: figures.write_png(fig, tmp), result=False)


def _is_keras(model: Any) -> bool:
    return any(cls.__module__.startswith("keras") for cls in type(model).__mro__)


def _classifier_suffix(model: Any) -> str:
    return ".ubj" if type(model).__name__ == "XGBClassifier" else ".skops"


def _write_classifier(model: Any, path: Path) -> None:
    """An XGBoost model in its own UBJSON format, any other scikit-learn classifier with skops."""
    if path.suffix == ".ubj":
        model.save_model(str(path))
    else:
        dump_skops(model, path)


def _read_classifier(path: Path, class_ids: list[int]) -> Any:
    """What :func:`_write_classifier` wrote, with the class ids it was fitted on (``lib.baselines.fit``)."""
    if path.suffix == ".ubj":
        from xgboost import XGBClassifier

        model = XGBClassifier()
        model.load_model(path)
    else:
        model = load_skops(path)
    model.class_ids_ = np.asarray(class_ids, dtype=np.int64)
    return model


# ------------------------------------------------------------------------------------------------ pipeline
PIPELINE_FORMAT = 3  # 3: the fold models of a cross-fitted fusion (2: one set of deep models)


def _deep_file(name: str, fold: int) -> str:
    """The file of deep model ``name`` of fold ``fold`` inside a pipeline folder."""
    return f"deep_{name}_fold{fold}.keras"


def _pipeline_file(
    folder: Path,
    key: str,
    name: Any,
    value: Any = None,
    suffixes: tuple[str, ...] | None = None,
    maker: str = "save the pipeline again (notebooks/04_decision_fusion.ipynb), or restore the folder as "
    "lib.run.save_pipeline wrote it",
) -> Path:
    """``folder / name`` for a file of a pipeline folder; a :class:`ValueError` unless ``name`` is a plain file
    name (no separator, no ``..``, so never absolute) of an existing file inside ``folder`` (a link pointing out
    of the folder is refused too). ``key`` is the manifest key that named it ("" for the fixed names) and
    ``value`` what the manifest holds there, when ``name`` is built from it (``deep_<value>.keras``)."""
    value = name if value is None else value
    if not isinstance(name, str) or not name:
        problem = "it is not a file name"
    elif "/" in name or "\\" in name or "\0" in name or name in (".", ".."):
        problem = "not a plain file name: a pipeline folder refers only to files inside itself"
    elif suffixes and not name.endswith(suffixes):
        problem = f"the file name must end with one of {list(suffixes)}"
    elif (folder / name).resolve().parent != folder.resolve():
        problem = "it is a link to a file outside the folder"
    elif not (folder / name).is_file():
        problem = "no such file in the folder"
    else:
        return folder / name
    what = f"{key} names {value!r}" if key else repr(value)
    raise ValueError(f"{folder / MANIFEST}: {what}, which is refused ({problem}). Fix: {maker}")


def save_pipeline(pipeline: Any, folder: str | os.PathLike) -> Path:
    """Write a :class:`lib.fusion.FusionPipeline` into ``folder``: ``manifest.json``, ``preprocessor.skops``,
    the deep models of every fold, ``deep_<name>_fold<k>.keras``, and the meta-classifier (``meta_xgboost.ubj``
    or ``meta_<name>.skops``). The manifest says how many folds (``k_folds``), which deep models
    (``deep_models``), their ``inputs``, whether the features follow the deep outputs (``with_features``)
    and the fusion contender it is.

    The folder is written beside its final place and renamed into it, so a reader never sees half of it.
    """
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model = pipeline.model
    dump_skops(pipeline.preprocessor, tmp / "preprocessor.skops")
    for fold, deep_models in enumerate(model.fold_models):
        for name, deep_model in deep_models.items():
            deep_model.save(tmp / _deep_file(name, fold))
    meta_file = f"meta_{model.meta_name}{_classifier_suffix(model.meta)}"
    _write_classifier(model.meta, tmp / meta_file)
    manifest = {
        **pipeline.manifest,
        "format": PIPELINE_FORMAT,
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
    }
    (tmp / MANIFEST).write_text(dumps(manifest))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


def load_pipeline(folder: str | os.PathLike) -> Any:
    """Read a folder written by :func:`save_pipeline` (no pickle: skops with trusted types, .keras with Keras'
    ``safe_mode``, UBJSON).

    The folder refers only to files inside itself: every file its manifest names must be a plain file name
    (no folder, no ``..``, no link out of the folder) of a file that exists there. All of them are checked
    before any is opened, so a crafted manifest is a :class:`ValueError` and nothing outside is read.
    """
    from lib import fusion

    folder = Path(folder)
    if not (folder / MANIFEST).exists():
        raise FileNotFoundError(
            f"{folder / MANIFEST} not found: run notebooks/04_decision_fusion.ipynb for this RUN_DIR first"
        )
    manifest = json.loads(_pipeline_file(folder, "", MANIFEST).read_text())
    if manifest.get("format") != PIPELINE_FORMAT:
        raise ValueError(
            f"{folder}: pipeline format {manifest.get('format')!r}, this code reads {PIPELINE_FORMAT}. Fix: save the "
            f"pipeline again (notebooks/04_decision_fusion.ipynb)"
        )
    names, k_folds = manifest.get("deep_models"), manifest.get("k_folds")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError(
            f"{folder / MANIFEST}: 'deep_models' must be a list of model names, not {names!r}. Fix: save the "
            f"pipeline again (notebooks/04_decision_fusion.ipynb)"
        )
    if type(k_folds) is not int or k_folds < 1 or not isinstance(manifest.get("with_features"), bool):
        raise ValueError(
            f"{folder / MANIFEST}: 'k_folds' must be a whole number of folds of at least 1 (not {k_folds!r}) and "
            f"'with_features' true or false (not {manifest.get('with_features')!r}). Fix: save the pipeline again "
            f"(notebooks/04_decision_fusion.ipynb)"
        )
    deep_files = [
        {name: _pipeline_file(folder, "deep_models", _deep_file(name, fold), name) for name in names}
        for fold in range(k_folds)
    ]
    meta_file = _pipeline_file(folder, "meta_file", manifest.get("meta_file"), suffixes=(".ubj", ".skops"))
    preprocessor_file = _pipeline_file(folder, "", "preprocessor.skops")
    import keras

    fold_models = [
        {name: keras.models.load_model(path, safe_mode=True) for name, path in files.items()} for files in deep_files
    ]
    meta = _read_classifier(meta_file, manifest["meta_class_ids"])
    model = fusion.FusionModel(
        fold_models,
        meta,
        manifest["meta_name"],
        manifest["inputs"],
        len(manifest["class_names"]),
        with_features=manifest["with_features"],
    )
    preprocessor = load_skops(preprocessor_file)
    return fusion.FusionPipeline(preprocessor, model, manifest["class_names"], manifest["ignored_columns"], manifest)


# ------------------------------------------------------------------------------------------------ detector
DETECTOR_FORMAT = 1
#: The files of a saved anomaly detector, by detector (:func:`save_detector`).
DETECTOR_FILES = {
    "knn": ("reference.npy",),
    "autoencoder": ("autoencoder.keras",),
    "isolation_forest": ("isolation_forest.skops",),
    "kitnet": ("kitnet_ensemble.keras", "kitnet_output.keras", "kitnet.npz"),
}


def save_detector(
    detector: Any, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray], folder: str | os.PathLike
) -> Path:
    """Write a fitted :class:`lib.anomaly.Detector` (the anomaly branch) and what scoring needs beside the
    pipeline into ``folder``: ``manifest.json`` (``manifest`` plus the detector's name, configuration and
    threshold), ``arrays.npz`` (``arrays``: the benign validation scores and the training range of the model
    inputs) and the detector's own files (:data:`DETECTOR_FILES`: the kNN reference rows as ``.npy``,
    autoencoders as ``.keras``, the Isolation Forest as skops). No pickle anywhere.
    """
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    name, scorer = detector.name, detector.scorer
    extra: dict[str, Any] = {}
    if name == "knn":
        np.save(tmp / "reference.npy", np.asarray(scorer.index._fit_X, dtype=np.float32))
    elif name == "autoencoder":
        scorer.save(tmp / "autoencoder.keras")
    elif name == "isolation_forest":
        dump_skops(scorer, tmp / "isolation_forest.skops")
    elif name == "kitnet":
        scorer.ensemble.save(tmp / "kitnet_ensemble.keras")
        scorer.output.save(tmp / "kitnet_output.keras")
        parts = {k: getattr(scorer, k) for k in ("low", "span", "error_low", "error_span")}
        np.savez(tmp / "kitnet.npz", **parts)
        extra["groups"] = [[int(i) for i in group] for group in scorer.groups]
    else:
        raise ValueError(f"cannot save a detector {name!r}: one of {sorted(DETECTOR_FILES)}")
    np.savez(tmp / "arrays.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    record = {
        **manifest,
        **extra,
        "format": DETECTOR_FORMAT,
        "detector": name,
        "config": detector.config,
        "threshold": float(detector.threshold),
        "n_fit_rows": int(detector.n_fit_rows),
    }
    (tmp / MANIFEST).write_text(dumps(record))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


def load_detector(folder: str | os.PathLike) -> tuple[dict[str, Any], Any, dict[str, np.ndarray]]:
    """What :func:`save_detector` wrote: its manifest, the :class:`lib.anomaly.Detector` and the arrays (no
    pickle: ``.npy``/``.npz`` with ``allow_pickle=False``, ``.keras`` in safe mode, skops with trusted types)."""
    from lib import anomaly

    folder = Path(folder)
    maker = "rerun notebooks/05_anomaly_detection.ipynb, which writes the folder"
    manifest = json.loads(_pipeline_file(folder, "", MANIFEST, maker=maker).read_text())
    name = manifest.get("detector")
    if manifest.get("format") != DETECTOR_FORMAT or name not in DETECTOR_FILES:
        raise ValueError(
            f"{folder / MANIFEST}: detector format {manifest.get('format')!r} of {name!r}; this code reads format "
            f"{DETECTOR_FORMAT} of {sorted(DETECTOR_FILES)}. Fix: rerun notebooks/05_anomaly_detection.ipynb"
        )
    paths = {f: _pipeline_file(folder, "", f, maker=maker) for f in (*DETECTOR_FILES[name], "arrays.npz")}
    with np.load(paths["arrays.npz"], allow_pickle=False) as stored:
        arrays = {k: stored[k] for k in stored.files}
    if name == "knn":
        scorer = anomaly.NearestBenign(np.load(paths["reference.npy"], allow_pickle=False), manifest["config"]["k"])
    elif name == "isolation_forest":
        scorer = load_skops(paths["isolation_forest.skops"])
    else:
        import keras

        if name == "autoencoder":
            scorer = keras.models.load_model(paths["autoencoder.keras"], safe_mode=True)
        else:
            with np.load(paths["kitnet.npz"], allow_pickle=False) as parts:
                values = {k: parts[k] for k in parts.files}
            scorer = anomaly.KitNET(
                manifest["groups"], values["low"], values["span"],
                keras.models.load_model(paths["kitnet_ensemble.keras"], safe_mode=True),
            )  # fmt: skip
            scorer.error_low, scorer.error_span = values["error_low"], values["error_span"]
            scorer.output = keras.models.load_model(paths["kitnet_output.keras"], safe_mode=True)
    detector = anomaly.Detector(
        name, scorer, threshold=float(manifest["threshold"]), n_fit_rows=int(manifest["n_fit_rows"]),
        config=dict(manifest["config"]),
    )  # fmt: skip
    return manifest, detector, arrays
