"""A run folder (:class:`RunDir`): opens stages for reading, checked, and begins them for writing."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from lib import paths
from lib.io import MANIFEST
from lib.preprocess import PreparedData
from lib.run import code
from lib.run.stage import Stage
from lib.run.stages import (
    DATA_PARAMETERS,
    LOCATION_PARAMETERS,
    STAGES,
    WALL_TIMES,
    StaleArtefactError,
    _notebook_of,
    code_fingerprint,
    notebook_defaults,
)


class RunDir:
    """A run folder (``RUN_DIR``): opens stages for reading (checked) and begins them for writing."""

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        self.path = path if path.is_absolute() else paths.REPO_ROOT / path
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
            "code_files": code.file_ids(notebook),
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
        manifest = self._read_manifest(manifest_path, stage)
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

    def _read_manifest(self, path: Path, stage: str) -> dict[str, Any]:
        """The stage manifest at ``path``, or a :class:`StaleArtefactError` naming the file when it is not a
        JSON object (cut short by a full disk, edited by hand), with the command that remakes the stage."""
        try:
            manifest = json.loads(path.read_bytes())
        except ValueError as err:  # (json.JSONDecodeError and UnicodeDecodeError are ValueErrors)
            raise StaleArtefactError(
                f"{path}: not readable as a stage manifest ({type(err).__name__}: {err}): the file was cut short or "
                f"edited, so {_notebook_of(stage)}'s output can not be checked. Fix: {self.fix(stage)}"
            ) from None
        if not isinstance(manifest, dict):
            raise StaleArtefactError(
                f"{path}: a JSON {type(manifest).__name__}, not the object a stage manifest is: the file was edited. "
                f"Fix: {self.fix(stage)}"
            )
        return manifest

    def reusable(self, stage: str, parameters: Mapping[str, Any]) -> str | None:
        """The fingerprint of ``stage`` if running its notebook again with ``parameters`` (every parameter of its
        cell, as the notebook would record them) would only redo it: the stage is complete and current
        (:meth:`open`), was made by the same code (:meth:`same_code`) and with the same parameters, places
        (:data:`LOCATION_PARAMETERS`) apart. Else ``None``. Training is deterministic for a seed on a CPU, so the
        redone stage would hold the same results (``lib.runner``'s ``--resume`` relies on this)."""
        try:
            found = self.open(stage)
        except StaleArtefactError:
            return None
        if not self.same_code(found):
            return None
        recorded = {k: v for k, v in found.parameters.items() if k not in LOCATION_PARAMETERS}
        wanted = {k: v for k, v in parameters.items() if k not in LOCATION_PARAMETERS}
        return found.fingerprint if recorded == wanted else None

    @staticmethod
    def same_code(stage: Stage) -> bool:
        """Whether the code that makes ``stage`` now (:func:`code_fingerprint`) is the code that made it. A stage
        made before manifests listed their files recorded a hash of all of ``lib``: it counts as made by the same
        code when the commit that gives that hash is found and every file its notebook reaches now is that
        commit's (:func:`lib.run.code.commit_of`, :func:`lib.run.code.unchanged_since`)."""
        notebook, recorded = stage.manifest["notebook"], stage.manifest.get("code")
        if recorded == code_fingerprint(notebook):
            return True
        if "code_files" in stage.manifest or not recorded:
            return False
        commit = code.commit_of(recorded, notebook)
        return commit is not None and code.unchanged_since(commit, notebook)

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
        """The parameters ``stage`` recorded; none when its manifest is missing or is not a JSON object."""
        try:
            manifest = json.loads((self.path / stage / MANIFEST).read_bytes())
        except (OSError, ValueError):
            return {}
        parameters = manifest.get("parameters") if isinstance(manifest, dict) else None
        return parameters if isinstance(parameters, dict) else {}

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
