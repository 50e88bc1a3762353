"""One stage folder of a run (:class:`Stage`): typed writers when begun, readers when opened."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lib import io, preprocess
from lib.io import MANIFEST, dumps, sha256_bytes, sha256_file
from lib.metrics import Results, Trained
from lib.preprocess import PreparedData
from lib.run.stages import LOCATION_PARAMETERS, SPLITS, StaleArtefactError

if TYPE_CHECKING:
    from lib.run.folder import RunDir


def manifest_fingerprint(manifest: Mapping[str, Any]) -> str:
    """The fingerprint of a stage manifest: the sha256 of its parameters (:data:`LOCATION_PARAMETERS` aside: a
    run moved elsewhere is the same run), the fingerprints of its inputs and its file records, as
    :meth:`Stage.finish` records it; whether a stage is reused depends on it, so its value never changes. A
    manifest whose parts are missing or of the wrong kind gives a fingerprint no finished stage has."""
    parameters = manifest.get("parameters")
    parameters = parameters if isinstance(parameters, Mapping) else {}
    content = {
        "parameters": {k: v for k, v in parameters.items() if k not in LOCATION_PARAMETERS},
        "inputs": manifest.get("inputs", {}),
        "files": manifest.get("files", {}),
    }
    return sha256_bytes(dumps(content).encode())


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

    def input_fingerprint(self, stage: str) -> str | None:
        """The fingerprint this stage recorded for the input stage ``stage`` (None if it did not read it)."""
        return self.manifest.get("inputs", {}).get(stage)

    @property
    def models(self) -> list[str]:
        """The models a training stage recorded on :meth:`finish` (``models=...``), in their order."""
        return list(self.info.get("models", []))

    @property
    def seeds(self) -> list[int]:
        """The seeds a training stage recorded on :meth:`finish` (``seeds=...``)."""
        return [int(seed) for seed in self.info.get("seeds", [])]

    # -------------------------------------------------------------------------------- files
    def file(self, relpath: str) -> Path:
        """The path of a file or folder of this stage; a :class:`StaleArtefactError` naming what the stage ran
        with, and the command that remakes it, when a stage opened for reading does not have it."""
        path = self.path / relpath
        if not self.writable and not path.exists():
            ran = f"models {self.models}, seeds {self.seeds}" if self.models and self.seeds else "other output"
            raise StaleArtefactError(
                f"{path} not found: {self.manifest['notebook']} did not write it (it ran {ran}). "
                f"Fix: {self.run.fix(self.name)}, with the models and seeds you need"
            )
        return path

    def _writable(self) -> None:
        if not self.writable:
            raise RuntimeError(f"stage {self.name!r} was opened for reading: use RunDir.begin to write it")

    def save_file(self, relpath: str, write: Callable[[Path], Any], result: bool = True) -> Path:
        """Write one file atomically with ``write(tmp)``; ``result`` files count towards the stage's fingerprint
        (timings, model files and figures do not: they differ from run to run or say nothing about results)."""
        self._writable()
        path = io.atomic_write(self.path / relpath, write)
        if result:
            self._files[relpath] = sha256_file(path)
        return path

    def _save_text(self, relpath: str, text: str, result: bool = True) -> Path:
        return self.save_file(relpath, lambda tmp: tmp.write_text(text), result)

    def save_folder(self, relpath: str, write: Callable[[Path], Any]) -> Path:
        """A folder of this stage written whole by ``write(folder)`` (a model folder: the scoring pipeline, the
        anomaly branch) and put in place at once (:func:`lib.io.atomic_folder`). Its ``manifest.json`` counts
        towards the stage's fingerprint."""
        self._writable()

        def write_checked(tmp: Path) -> None:
            write(tmp)
            if not (tmp / MANIFEST).is_file():
                raise ValueError(f"{self.path / relpath}: the folder's writer made no {MANIFEST}; nothing was saved")

        folder = io.atomic_folder(self.path / relpath, write_checked)
        self._files[f"{relpath}/{MANIFEST}"] = sha256_file(folder / MANIFEST)
        return folder

    def folder(self, relpath: str) -> Path:
        """A sub-folder of this stage for files that are not results (figures of the run: ``figures``)."""
        self._writable()
        path = self.path / relpath
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _write_manifest(self) -> None:
        self.manifest["files"] = dict(sorted(self._files.items()))
        io.atomic_write(self.path / MANIFEST, lambda tmp: tmp.write_text(dumps(self.manifest)))

    def finish(self, **info: Any) -> str:
        """Mark the stage complete (recording ``info``); return its fingerprint."""
        self.manifest["files"] = dict(sorted(self._files.items()))
        self.manifest.update(status="complete", fingerprint=manifest_fingerprint(self.manifest), info=info)
        self._write_manifest()
        self.writable = False
        return self.fingerprint

    # -------------------------------------------------------------------------------- JSON and tables
    def save_json(self, name: str, obj: Any) -> Path:
        return self._save_text(f"{name}.json", dumps(obj))

    def json(self, name: str) -> Any:
        return json.loads(self.file(f"{name}.json").read_text())

    def save_table(self, name: str, df: pd.DataFrame, result: bool = True) -> Path:
        """A result table as ``tables/<name>.csv`` (``result=False`` for timings: not part of the fingerprint)."""
        return self.save_file(f"tables/{name}.csv", lambda tmp: df.to_csv(tmp, index=False), result)

    def save_tables(self, tables: Mapping[str, pd.DataFrame], result: bool = True) -> None:
        """Several tables at once (:meth:`save_table` each)."""
        for name, df in tables.items():
            self.save_table(name, df, result)

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.file(f"tables/{name}.csv"))

    # -------------------------------------------------------------------------------- results
    def save_results(self, results: Results) -> None:
        """What a learner returned (:class:`lib.metrics.Results`): ``scores.csv`` and ``details.json`` (same seed,
        same bytes) and ``timings.csv`` (wall-clock times, which differ from run to run) when it scored models;
        its predictions, training histories, result tables and records; its timing tables apart."""
        if results.scores or results.details:
            self.save_file("scores.csv", lambda tmp: results.scores_frame().to_csv(tmp, index=False))
            self._save_text("details.json", dumps(results.details))
            self.save_file("timings.csv", lambda tmp: results.timings_frame().to_csv(tmp, index=False), result=False)
        for (model, seed, split), proba in results.predictions.items():
            self.save_predictions(model, seed, split, proba)
        for (model, seed), history in results.histories.items():
            self._save_text(f"histories/{model}_seed{seed}.json", dumps(dict(history)), result=False)
        self.save_tables(results.tables)
        self.save_tables(results.timing_tables, result=False)
        for name, record in results.records.items():
            self.save_json(name, record)

    def scores(self) -> pd.DataFrame:
        """One row per (model, seed): the scores of :func:`lib.metrics.evaluate` and row counts."""
        return pd.read_csv(self.file("scores.csv"))

    def timings(self) -> pd.DataFrame:
        return pd.read_csv(self.file("timings.csv"))

    def details(self) -> dict[str, Any]:
        """Full evaluations (confusion matrices, per-class scores, notes) by ``<model>_seed<seed>``."""
        return json.loads(self.file("details.json").read_text())

    def history(self, name: str, seed: int) -> dict[str, list[float]]:
        return json.loads(self.file(f"histories/{name}_seed{seed}.json").read_text())

    def histories(self, seed: int, names: Iterable[str] | None = None) -> dict[str, dict[str, list[float]]]:
        """The training histories of ``names`` (default: every model of the stage) for ``seed``."""
        return {name: self.history(name, seed) for name in (self.models if names is None else names)}

    # -------------------------------------------------------------------------------- predictions
    def save_predictions(self, model: str, seed: int, split: str, proba: np.ndarray) -> Path:
        proba = np.asarray(proba, dtype=np.float32)
        return self.save_file(f"predictions/{model}_seed{seed}_{split}.npy", lambda tmp: np.save(tmp, proba))

    def prediction(self, model: str, seed: int, split: str = "test") -> np.ndarray:
        return np.load(self.file(f"predictions/{model}_seed{seed}_{split}.npy"))

    def predictions(self, seed: int, split: str = "test") -> dict[str, np.ndarray]:
        """Every model's probabilities on ``split`` for ``seed``, in the order the models were saved."""
        return {model: self.prediction(model, seed, split) for model in self.models}

    def trained(self) -> Trained:
        """This training stage read back for the learners that build on it (:class:`lib.metrics.Trained`): its
        models, seeds, recorded info and a reader of its predictions."""
        return Trained(tuple(self.models), tuple(self.seeds), dict(self.info), self.prediction)

    # -------------------------------------------------------------------------------- models
    def save_models(self, trained: Mapping[tuple[str, int], Any], save: Callable[[Any, Path], Any]) -> None:
        """Each trained model ``{(name, seed): model}`` saved by its learner's ``save(model, stem)`` (the learner
        chooses the format and suffix: ``.keras``, XGBoost's UBJSON, skops; never pickle) at :meth:`model_stem`.
        Model files are not results: the fingerprint holds their predictions instead."""
        self._writable()
        for (name, seed), model in trained.items():
            save(model, self.model_stem(name, seed))

    def model_saver(self, save: Callable[[Any, Path], Any]) -> Callable[[str, int, Any], None]:
        """``on_model(name, seed, model)`` for a learner's loop: each model saved by ``save(model, stem)`` at
        :meth:`model_stem` as soon as it is trained (:meth:`save_models` one at a time)."""
        self._writable()

        def on_model(name: str, seed: int, model: Any) -> None:
            self.save_models({(name, seed): model}, save)

        return on_model

    def model_stem(self, name: str, seed: int) -> Path:
        """``models/<name>_seed<seed>`` (no suffix) of this stage: where a learner saves or loads one model. For a
        stage opened for reading, an error naming what the stage ran with when no such model was saved."""
        stem = self.path / "models" / f"{name}_seed{seed}"
        if self.writable:
            stem.parent.mkdir(parents=True, exist_ok=True)
        elif not any(stem.parent.glob(f"{stem.name}.*")):
            self.file(f"models/{stem.name}.*")  # the error: names the model and what the stage ran with
        return stem

    # -------------------------------------------------------------------------------- prepared data
    def save_prepared(self, data: PreparedData, preprocessor: Any) -> None:
        """The prepared arrays, their row tables and the fitted preprocessor (stage ``prepared``)."""
        arrays = {f"{a}_{s}": getattr(data, f"{a}_{s}") for s in SPLITS for a in ("X", "y")}
        if data.X_train_smote is not None:
            arrays |= {"X_train_smote": data.X_train_smote, "y_train_smote": data.y_train_smote}
        for name, values in arrays.items():
            dtype = np.float32 if name.startswith("X") else np.int64
            if _is_file(values, self.path / f"{name}.npy", dtype):  # written there as it was made
                self.adopt(f"{name}.npy")
                continue
            values = np.ascontiguousarray(values, dtype=dtype)
            self.save_file(f"{name}.npy", lambda tmp, v=values: np.save(tmp, v))
        for split, rows in data.rows.items():
            self.save_file(f"rows_{split}.parquet", lambda tmp, r=rows: r.to_parquet(tmp, index=False))
        self._writable()
        preprocess.save_preprocessor(preprocessor, self.path / "preprocessor.skops")
        meta = dict(data.meta) | {
            "feature_names": list(data.feature_names),
            "class_names": list(data.class_names),
            "label_mode": data.label_mode,
            "shapes": {name: list(values.shape) for name, values in arrays.items()},
        }
        self.save_json("meta", meta)

    def array_file(self, name: str) -> Path:
        """Where :func:`lib.preprocess.prepare` writes the prepared array ``name`` (``X_train``, ...) as it makes
        it (its ``out``): :meth:`save_prepared` then counts the file as it is, instead of writing it again."""
        return self.output_file(f"{name}.npy")

    def load_prepared(self) -> PreparedData:
        meta = self.json("meta")
        arrays = {name: np.load(self.file(f"{name}.npy")) for name in meta["shapes"]}
        for name, shape in meta["shapes"].items():
            if list(arrays[name].shape) != shape:
                raise StaleArtefactError(
                    f"{self.path / name}.npy has shape {arrays[name].shape}, the manifest says {tuple(shape)}: the "
                    f"folder mixes two runs. Fix: {self.run.fix('prepared')}"
                )
        rows = {
            s: pd.read_parquet(self.file(f"rows_{s}.parquet"))
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
        """The fitted scikit-learn preprocessor of notebook 01 (skops, the preprocessor's trusted types only)."""
        return preprocess.load_preprocessor(self.file("preprocessor.skops"))

    # -------------------------------------------------------------------------------- outputs of a command
    def output_file(self, relpath: str) -> Path:
        """Where a command this stage runs (``iot-botnet score``) writes its output ``relpath``: an empty place
        inside the stage; call :meth:`adopt` once the command has written it."""
        self._writable()
        path = self.path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        return path

    def adopt(self, relpath: str) -> Path:
        """Count a file a command wrote at :meth:`output_file` among the stage's results (its fingerprint)."""
        path = self.file(relpath)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the command did not write it")
        self._files[relpath] = sha256_file(path)
        return path


def _is_file(values: Any, path: Path, dtype: Any) -> bool:
    """Whether ``values`` is the ``.npy`` file at ``path`` itself, read as a memory map, of ``dtype``."""
    filename = getattr(values, "filename", None)
    return (
        isinstance(values, np.memmap)
        and filename is not None
        and Path(filename).resolve() == path.resolve()
        and values.dtype == dtype
    )
