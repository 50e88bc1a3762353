"""Opening what notebook 06 reads: a run's stages (checked current), its scores, predictions and fitted models,
and the other runs of its study.

Every read goes through :class:`lib.run.RunDir`, so an artefact made from other prepared data, or by a
notebook that did not finish, is an error naming what to rerun, never a silent mix.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib import baselines, metrics, paths, session
from lib.run import RunDir, StaleArtefactError

log = logging.getLogger(__name__)

#: The stages whose scores make Table 1: notebook 02's baselines and notebook 03's deep models.
TABLE1_STAGES = ("baselines", "deep")
#: The score every study table compares: macro-F1 (binary: mean of benign and attack F1; multiclass: over classes).
STUDY_METRIC = "f1_macro"
#: The split protocols of a study (notebook 01's ``SPLIT``), as the tables name them.
SPLIT_NAMES = {
    "stratified": "stratified 80/20 (paper 1)",
    "group": "host pairs kept apart",
    "time": "earlier → later",
    "source": "captures / days held out",
}


def open_run(run: RunDir, parameters: dict[str, Any], main_model: str) -> dict[str, Any]:
    """Every stage notebook 06 reads, opened (and so checked) before it writes a single figure or table.

    ``prepared``, ``baselines`` and ``deep`` are required; ``fusion`` and ``anomaly`` are read when their
    notebooks have run (a stale or unfinished one is an error, never silently left out).
    """
    run.check_data_parameters("06_results_and_figures.ipynb", parameters)
    stages = {name: run.open(name) for name in ("prepared", "baselines", "deep")}
    stages |= {name: run.open(name) for name in ("fusion", "anomaly") if run.has(name)}
    trained = stages["deep"].info["models"]
    if main_model not in trained:
        raise ValueError(f"MAIN_MODEL={main_model!r} was not trained by notebook 03 (it trained {trained})")
    return stages


def load_runs(run: RunDir) -> pd.DataFrame:
    """One row per (model, seed) from notebooks 02 and 03 (their ``scores.csv``), both checked current."""
    return pd.concat([run.open(stage).scores() for stage in TABLE1_STAGES], ignore_index=True)


def _smote_stage(run: RunDir, stage: str, seed: int) -> Any:
    """The ``<stage>_smote`` stage if it ran, is current and has ``seed``; else None, the reason logged."""
    if not run.has(f"{stage}_smote"):
        return None
    try:
        opened = run.open(f"{stage}_smote")
    except StaleArtefactError as err:
        log.warning("SMOTE runs left out: %s", err)
        return None
    if seed not in opened.info.get("seeds", []):
        log.warning("SMOTE runs of %s left out: they have seeds %s, not %d", stage, opened.info.get("seeds"), seed)
        return None
    return opened


def load_predictions(run: RunDir, seed: int, smote: bool = False) -> dict[str, np.ndarray]:
    """Test-set probabilities of every model of notebooks 02 and 03 for one seed, in Table 1's order.

    ``smote=True``: the models trained on paper 2's SMOTE set D2 (stages ``*_smote``), an optional extra: a
    SMOTE stage that never ran, did not finish, is stale or lacks ``seed`` is left out with a logged reason.
    """
    found = {}
    for stage in TABLE1_STAGES:
        opened = _smote_stage(run, stage, seed) if smote else run.open(stage)
        if opened is not None:
            found |= opened.predictions(seed)
    order = list(metrics.MODEL_NAMES)
    return dict(sorted(found.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def smote_pairs(probas: dict[str, np.ndarray], smote_probas: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each model trained on SMOTE (paper 2's D2) beside the same model trained on the unbalanced rows."""
    paired = {}
    for name, proba in smote_probas.items():
        if name not in probas:
            log.warning("%s was trained on SMOTE only: no unbalanced run to compare it with", name)
            continue
        label = metrics.MODEL_NAMES.get(name, name)
        paired |= {f"{label}, unbalanced": probas[name], f"{label}, SMOTE (D2)": proba}
    return paired


def forests(baseline_stage: Any, seed: int) -> dict[str, Any]:
    """Notebook 02's fitted Random Forest and XGBoost for ``seed`` (those it fitted), labelled for Fig. 7."""
    labels = {"random_forest": "Random Forest (impurity)", "xgboost": "XGBoost (gain)"}
    fitted = baseline_stage.models
    return {
        label: baselines.load_model(baseline_stage.model_stem(name, seed))
        for name, label in labels.items()
        if name in fitted
    }


def deep_model(deep_stage: Any, name: str, seed: int) -> Any:
    """Notebook 03's trained network ``name`` of ``seed`` (Keras, safe mode)."""
    from lib import models  # Keras: only where a network is read

    return models.load_model(deep_stage.model_stem(name, seed))


def describe_stages(stages: dict[str, Any]) -> dict[str, str]:
    """One-line descriptions of the fusion and anomaly stages a run has fitted (for Fig. 2)."""
    out = {"fusion": "RF / XGBoost (notebook 04 not run)", "anomaly": "autoencoder (notebook 05 not run)"}
    if "fusion" in stages:
        parameters = stages["fusion"].parameters
        features = " (+ features)" if parameters.get("FUSION_WITH_FEATURES") else ""
        out["fusion"] = (
            f"RF / XGBoost over {parameters['FUSION_INPUTS']} of "
            f"{', '.join(session.split_list(parameters['FUSION_DEEP_MODELS']))}{features}, "
            f"averaged over {parameters.get('K_FOLDS', '?')} fold models"
        )
        if stages["fusion"].info.get("variant") == "deploy":  # PIPELINE=deploy: the saved pipeline is distilled
            out["fusion"] += "; scored by one network distilled from it"
    if "anomaly" in stages:
        fpr = stages["anomaly"].parameters["TARGET_FPR"]
        branch = stages["anomaly"].info.get("anomaly_branch", {}).get("description")  # the validation-chosen one
        out["anomaly"] = (
            branch or f"autoencoder reconstruction error, threshold at {fpr:.1%} FPR on benign validation flows"
        )
    return out


# ------------------------------------------------------------------------------------ the study
def _study_folder(item: str) -> Path:
    """The run folder a ``STUDY_RUNS`` item names: a path, or a name under ``runs/`` (relative: the repository)."""
    path = Path(item) if len(Path(item).parts) > 1 else Path("runs") / item
    return path if path.is_absolute() else paths.REPO_ROOT / path


def study_runs(run: RunDir, others: str) -> dict[str, RunDir]:
    """This run and the runs named in ``others`` (comma-separated run folders, or names under ``runs/``), by name.

    Every one must have been prepared from the same data set as ``run`` (checked), and must have finished
    notebooks 02 and 03 (opening their stages checks they are current)."""
    found = {run.name: run}
    dataset = run.open("prepared").parameters.get("DATASET")
    for item in session.split_list(others):
        path = _study_folder(item)
        if not (path / "prepared").is_dir():  # checked first: RunDir would create the folder
            raise FileNotFoundError(f"STUDY_RUNS names {item!r}, but {path} holds no prepared run")
        folder = RunDir(path)
        theirs = folder.open("prepared").parameters.get("DATASET")
        if theirs != dataset:
            raise ValueError(f"STUDY_RUNS: {item!r} was prepared from {theirs!r}, this run from {dataset!r}")
        for stage in TABLE1_STAGES:
            folder.open(stage)
        if folder.name in found:
            raise ValueError(f"STUDY_RUNS: {item!r} has the name {folder.name!r} of another run of the study")
        found[folder.name] = folder
    return found


def configuration(run: RunDir) -> dict[str, Any]:
    """What makes a run of a study differ: its split protocol, scaling, feature engineering and deep tuning."""
    prepared = run.open("prepared").parameters
    deep = run.open("deep").parameters
    tune = str(deep.get("TUNE", "off"))
    tuned = tune != "off" or prepared.get("SCALING", "minmax") != "minmax" or bool(prepared.get("CATEGORY_COLUMNS"))
    return {
        "run": run.name,
        "split": prepared.get("SPLIT", "stratified"),
        "scaling": prepared.get("SCALING", "minmax"),
        "category_columns": prepared.get("CATEGORY_COLUMNS", ""),
        "tune": "search" if tune not in ("off", "search") else tune,  # a reused record is a search made earlier
        "configuration": "tuned" if tuned else "paper-faithful",
        "seeds": len(run.open("deep").info["seeds"]),
    }


def study_overview(runs: dict[str, RunDir]) -> pd.DataFrame:
    """One row per run of a study: :func:`configuration`."""
    return pd.DataFrame([configuration(folder) for folder in runs.values()])


def with_runs(runs: dict[str, RunDir]) -> pd.DataFrame:
    """Every run's Table 1 scores (:func:`load_runs`), each row with its run's name, split and configuration."""
    frames = []
    for folder in runs.values():
        described = configuration(folder)
        frames.append(load_runs(folder).assign(**{k: described[k] for k in ("run", "split", "configuration")}))
    return pd.concat(frames, ignore_index=True)


def study_wall_times(runs: dict[str, RunDir]) -> dict[str, pd.DataFrame]:
    """Each run's record of its notebooks' wall times (``notebooks/wall_times.csv``, written by the runner), for
    the runs that have one."""
    return {name: table for name, folder in runs.items() if len(table := folder.wall_times())}
