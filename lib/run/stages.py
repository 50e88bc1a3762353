"""What a run folder holds: its stages and the notebooks that make them, their names, the code fingerprint."""

from __future__ import annotations

import ast
import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lib import paths, registry
from lib.preprocess import SPLIT_NAMES
from lib.run import code

#: The runner's record of each executed notebook's wall time, in the run's ``notebooks/`` folder.
WALL_TIMES = "wall_times.csv"
SPLITS = SPLIT_NAMES  # the prepared data's row splits

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


class StaleArtefactError(RuntimeError):
    """An artefact of ``RUN_DIR`` is missing, incomplete or made from other data than the current run's."""


def code_fingerprint(notebook: str) -> str:
    """A hash of the code that makes a stage of ``notebook``: the notebook's file, the pinned requirements and
    every module of ``lib`` its cells import (:func:`lib.run.code.code_files`). An edit to any of them gives
    another hash, so a stage is only reused by the code that made it; an edit elsewhere leaves it reusable."""
    return code.fingerprint(code.file_ids(notebook))


def notebook_parameters(notebook: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The names a notebook's ``parameters`` cell declares, as papermill reads them (name -> its type, default
    and comment): the one reader of a parameters cell (``notebook`` is a path or a name in ``notebooks/``)."""
    import papermill

    path = Path(notebook)
    if not path.is_absolute() and not path.exists():
        path = paths.NOTEBOOK_DIR / path
    return papermill.inspect_notebook(str(path))


@functools.cache
def notebook_defaults(notebook: str) -> dict[str, Any]:
    """The values a notebook's ``parameters`` cell assigns (literal values only), read from the file."""
    if not (paths.NOTEBOOK_DIR / notebook).exists():
        return {}
    defaults = {}
    for name, spec in notebook_parameters(paths.NOTEBOOK_DIR / notebook).items():  # never a file of the cwd's
        try:
            defaults[name] = ast.literal_eval(spec["default"])
        except (ValueError, SyntaxError):
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
