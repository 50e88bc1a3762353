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

**No model knowledge.** A stage hands out checked places and records fingerprints; what goes into them is
the learners' business. Learners return their results (:class:`lib.metrics.Results`) and the notebook hands
them to :meth:`Stage.save_results`; each learner saves and loads its own objects (``lib.models``: ``.keras``,
``lib.baselines``: XGBoost's UBJSON or skops, ``lib.fusion``: the scoring pipeline folder, ``lib.anomaly``: the
detector folder) at the places :meth:`Stage.model_stem` and :meth:`Stage.save_folder` give. Nothing is
unpickled anywhere (:mod:`lib.io`). No TensorFlow here.
"""

from __future__ import annotations

from lib.io import MANIFEST
from lib.run.folder import RunDir
from lib.run.stage import Stage, manifest_fingerprint
from lib.run.stages import (
    DATA_PARAMETERS,
    LOCATION_PARAMETERS,
    SPLITS,
    STAGES,
    WALL_TIMES,
    StaleArtefactError,
    code_fingerprint,
    default_name,
    notebook_defaults,
    notebook_parameters,
    run_names,
    safe_name,
    variant,
)

__all__ = [
    "DATA_PARAMETERS",
    "LOCATION_PARAMETERS",
    "MANIFEST",
    "SPLITS",
    "STAGES",
    "WALL_TIMES",
    "RunDir",
    "Stage",
    "StaleArtefactError",
    "code_fingerprint",
    "default_name",
    "manifest_fingerprint",
    "notebook_defaults",
    "notebook_parameters",
    "run_names",
    "safe_name",
    "variant",
]
