"""The anomaly branch on disk, for ``iot-botnet score``: :func:`save_detector` and :func:`load_detector`.

A detector folder holds ``manifest.json`` (what the scorer reads: ``threshold``, ``detector``, ``config``,
``n_fit_rows``, ``target_fpr``, ``format``; KitNET adds its ``groups``), ``arrays.npz`` (the benign validation
scores of both branches and the training range of the model inputs) and the scorer's own files
(:data:`DETECTOR_FILES`), each written and read by its scorer class (:data:`lib.anomaly.detectors.SCORERS`).
No pickle anywhere: ``.npy``/``.npz`` read with ``allow_pickle=False``, ``.keras`` in Keras' safe mode, skops
with the types the scorer names. Writing the folder atomically is the caller's job (:func:`lib.io.atomic_folder`).

**Tamper-evident.** The manifest records the sha256 of every other file of the folder (``files``), and the run
records the sha256 of the manifest (the anomaly stage's entry ``detector/manifest.json``), which
:func:`load_detector` checks when given (``iot-botnet score`` gives it): the threshold and every decision value
in the manifest, the scorer's files and the arrays are used only when their bytes are the ones saved. An edit
of any one file is a :class:`lib.io.ModelFileError` naming it. Someone who edits a file AND the records that
vouch for it consistently (e.g. the threshold in ``manifest.json`` and its sha256 in the anomaly stage's
``manifest.json``) is not caught here: hashes are no signatures (:mod:`lib.io`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lib import io, metrics
from lib.anomaly.choice import describe
from lib.anomaly.detectors import FIX, SCORERS, Detector, benign_rows

DETECTOR_FORMAT = 1
#: The files of a saved anomaly detector beside ``manifest.json`` and ``arrays.npz``, by detector.
DETECTOR_FILES = {name: scorer.FILES for name, scorer in SCORERS.items()}


def save_detector(
    detector: Detector, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray], folder: str | os.PathLike
) -> Path:
    """Write a fitted :class:`lib.anomaly.Detector` (the anomaly branch) and what scoring needs beside the
    pipeline into ``folder``, new or empty (an earlier save's files never survive beside these; the run folder
    hands out an empty one and puts it in place whole): ``manifest.json`` (``manifest`` plus the detector's name,
    configuration and threshold, what its scorer adds, and the sha256 of every other file of the folder:
    ``files``), ``arrays.npz`` (``arrays``) and the scorer's own files (:data:`DETECTOR_FILES`). Returns
    ``folder``."""
    scorer_class = SCORERS.get(detector.name)
    if scorer_class is None or type(detector.scorer) is not scorer_class:
        raise ValueError(
            f"cannot save a detector {detector.name!r} scored by {type(detector.scorer).__name__}: one of "
            f"{sorted(SCORERS)} with its own scorer class"
        )
    folder = io.empty_folder(folder)
    extra = detector.scorer.save(folder)
    np.savez(folder / "arrays.npz", **{key: np.asarray(value) for key, value in arrays.items()})
    record = {
        **manifest,
        **extra,
        "format": DETECTOR_FORMAT,
        "detector": detector.name,
        "config": detector.config,
        "threshold": float(detector.threshold),
        "n_fit_rows": int(detector.n_fit_rows),
        io.FILE_HASHES: io.file_hashes(folder),
    }
    io.write_json(folder / io.MANIFEST, record)
    return folder


def load_detector(
    folder: str | os.PathLike, manifest_sha256: str | None = None
) -> tuple[dict[str, Any], Detector, dict[str, np.ndarray]]:
    """What :func:`save_detector` wrote: its manifest, the :class:`lib.anomaly.Detector` and the arrays.

    The folder refers only to files inside itself, and every file the detector needs is checked
    (:func:`lib.io.folder_file`) before any is opened: a tampered folder is a :class:`ValueError`. Every file is
    read once, its bytes checked against the sha256 the manifest records and parsed from those bytes;
    ``manifest_sha256`` is the sha256 the run recorded for the manifest itself (module docstring). A file that
    is not as saved is a :class:`lib.io.ModelFileError` naming it. A folder saved before files were hashed (no
    ``files`` in its manifest) is refused, with the fix: rerun notebook 05 (its files can not be checked, and a
    run's folders are remade by training).
    """
    folder = Path(folder)
    files = io.ModelFolder(folder, fix=FIX, manifest_sha256=manifest_sha256)
    manifest = files.manifest
    name = manifest.get("detector") if isinstance(manifest, dict) else None
    if name not in SCORERS or manifest.get("format") != DETECTOR_FORMAT:
        found = (manifest.get("format"), name) if isinstance(manifest, dict) else (None, None)
        raise ValueError(
            f"{folder / io.MANIFEST}: detector format {found[0]!r} of {found[1]!r}; this code reads format "
            f"{DETECTOR_FORMAT} of {sorted(SCORERS)}. Fix: {FIX}"
        )
    if not isinstance(manifest.get("config"), dict):
        raise ValueError(
            f"{folder / io.MANIFEST}: 'config' must be a mapping, not {manifest.get('config')!r}. Fix: {FIX}"
        )
    for file in (*DETECTOR_FILES[name], "arrays.npz"):
        files.file(file)
    arrays = files.arrays("arrays.npz")
    detector = Detector(
        name,
        SCORERS[name].load(files),
        threshold=float(manifest["threshold"]),
        n_fit_rows=int(manifest["n_fit_rows"]),
        config=dict(manifest["config"]),
    )
    return manifest, detector, arrays


def scoring_bundle(
    pipeline: Any,
    detector: Detector,
    X: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    target_fpr: float,
    training: dict[str, Any],
    pipeline_fingerprint: str,
) -> tuple[Detector, dict[str, Any], dict[str, np.ndarray]]:
    """What :mod:`lib.score` needs beside the pipeline, for :func:`save_detector`: the anomaly branch
    ``detector``; a manifest (the target FPR, the data the run was trained on, the pipeline it goes with); and
    arrays: the fusion's attack score (1 - P(benign)) and the detector's score of every BENIGN VALIDATION row
    (thresholds at any other FPR come from these, never from test rows), and the lowest and highest value of
    every model input over the training rows (the drift check)."""
    benign_val = benign_rows(X["val"], y["val"])
    arrays = {
        "fusion_benign_val": np.sort(metrics.attack_score(pipeline.score_features(benign_val))),
        "anomaly_benign_val": np.sort(detector.score(benign_val)),
        "input_low": X["train"].min(axis=0),
        "input_high": X["train"].max(axis=0),
    }
    manifest = {
        "target_fpr": float(target_fpr),
        "candidate": detector.label,
        "description": describe(detector),
        "training": training,
        "pipeline_fingerprint": pipeline_fingerprint,
        "pipeline_seed": pipeline.manifest.get("seed"),
        "n_benign_val": int(len(benign_val)),
    }
    return detector, manifest, arrays
