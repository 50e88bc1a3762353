"""A small, budgeted hyperparameter search for each deep model, on validation rows only (Optuna).

Backs section 3 of ``notebooks/03_cnn_lstm.ipynb`` (its ``TUNE`` parameter: the deep models' fair chance). The
paper states no hyperparameter, and the paper-faithful configuration (notebook 03's parameters cell) is one
guess shared by every model; a tree model, by contrast, is cheap to fit well. This module gives each deep
model the same chance: a search of ``trials`` trials per model, each trained for at most ``epochs`` epochs.

**What is searched** (:func:`suggest`; only the settings a model has): the learning rate (log-uniform
3e-4 to 1e-2), the batch size (64 to 512), the dropout rate (0 to 0.5), the widths (``dense_units``;
``filters`` and the depth ``n_conv`` of the convolutional models, ``lstm_units``, the MLP's ``mlp_units``)
and the learning-rate schedule (``lr_patience`` 2, 3 or 5 epochs, ``lr_factor`` 0.2 or 0.5). A trial always
has a schedule: a per-trial budget of a few tens of epochs is too short to show what a schedule gives a long
final training, and ``ReduceLROnPlateau`` only acts once the validation loss stops falling. Early stopping's
patience becomes ``max(PATIENCE, 2 * lr_patience + 1)`` so that the rate can drop twice before training stops.

**The objective is the macro-F1 on the validation rows** of the model a trial's training returns (the epoch
with the lowest validation loss, restored), not the validation log loss: macro-F1 is the score Table 1 and
the study compare models on, and it weighs every class equally, whereas the log loss is dominated by the
large classes, so a configuration that never predicts a rare family (LSTM-only and PortScan on CICIDS2017)
can still have the lowest loss. The log loss still chooses the epoch (early stopping), as in every training.

**Sampler and pruner.** Optuna's TPE sampler seeded with ``seed`` (the same seed and data give the same
trials and the same best trial: training is deterministic on CPU), and a median pruner on the epoch-wise
validation score: after each epoch a trial reports the macro-F1 of its best epoch so far (what it would
return if it stopped there) and is stopped when that is below the median of earlier trials at the same epoch
(never in the first 5 epochs, nor before 5 trials have completed). Optionally the trials train on a stratified
subsample of the training rows (``max_rows``); the validation rows are always all of them.

**Validation rows only.** :func:`search` receives training and validation arrays and nothing else;
:func:`choose_configs` reads only ``train_split`` and the validation rows of the prepared data. The test rows
are never read here.

**Recorded, re-usable.** :func:`search` returns a *tuning record* (JSON): every trial, each model's best trial
and its chosen :class:`lib.models.DeepConfig` (the best trial's settings, the parameters cell's for the rest,
``final_epochs`` epochs), the settings of the search and the fingerprint of the prepared data. Notebook 03 saves
it as ``tuning.json`` (the trials also as ``tables/tuning.csv``, the search time per model as
``tables/tuning_timings.csv``) in its stage; ``TUNE=<path of that file>`` in a
later run reuses the configurations without searching again (:func:`read_record`, :func:`check_record`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import optuna
import pandas as pd

from lib import metrics, models, paths, progress
from lib.datasets import sampling

if TYPE_CHECKING:
    from lib.preprocess import PreparedData

log = logging.getLogger(__name__)

MODES = ("off", "search")
RECORD_FORMAT = 1
RECORD_NAME = "tuning"  # tuning.json and tables/tuning.csv in notebook 03's stage
OBJECTIVE = "macro-F1 on the validation rows (model restored at its lowest validation loss)"
PRUNER_STARTUP_TRIALS = 5
PRUNER_WARMUP_EPOCHS = 5

#: The search space: setting -> its choices (a tuple) or (low, high) bounds, see :func:`suggest`.
LEARNING_RATE = (3e-4, 1e-2)
BATCH_SIZES = (64, 128, 256, 512)
DROPOUT = (0.0, 0.5)
WIDTHS = {
    "filters": (32, 64, 128),
    "lstm_units": (32, 64, 128),
    "dense_units": (32, 64, 128, 256),
    "mlp_units": (64, 128, 256, 512),
}
N_CONV = (1, 3)
LR_PATIENCES = (2, 3, 5)
LR_FACTORS = (0.2, 0.5)


# ------------------------------------------------------------------------------------------------ the space
def suggest(trial: optuna.Trial, name: str) -> dict[str, Any]:
    """One trial's settings for model ``name`` (only the layer settings its builder takes; see the module)."""
    takes = set(getattr(models, name).__kwdefaults__ or {})
    params: dict[str, Any] = {
        "learning_rate": trial.suggest_float("learning_rate", *LEARNING_RATE, log=True),
        "batch_size": trial.suggest_categorical("batch_size", BATCH_SIZES),
        "dropout": trial.suggest_float("dropout", *DROPOUT, step=0.1),
    }
    for setting, choices in WIDTHS.items():
        if setting in takes:
            params[setting] = trial.suggest_categorical(setting, choices)
    if "n_conv" in takes:
        params["n_conv"] = trial.suggest_int("n_conv", *N_CONV)
    params["lr_patience"] = trial.suggest_categorical("lr_patience", LR_PATIENCES)
    params["lr_factor"] = trial.suggest_categorical("lr_factor", LR_FACTORS)
    return params


def configure(base: models.DeepConfig, params: Mapping[str, Any], epochs: int) -> models.DeepConfig:
    """``base`` with the searched settings ``params``, at most ``epochs`` epochs, and an early-stopping patience
    of at least ``2 * lr_patience + 1`` (the learning rate can drop twice before training stops)."""
    settings = {**params, "epochs": epochs}
    lr_patience = settings.get("lr_patience", base.lr_patience)
    if lr_patience > 0:
        settings["patience"] = max(settings.get("patience", base.patience), 2 * lr_patience + 1)
    return dataclasses.replace(base, **settings)


def stratified_subsample(y: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """Sorted row indices of about ``max_rows`` rows of ``y`` with the class proportions kept (each class keeps
    ``ceil(count * max_rows / n)`` rows, so every class keeps at least one; the total can exceed ``max_rows`` by
    fewer rows than there are classes). ``max_rows <= 0`` or ``>= len(y)``: every row."""
    y = np.asarray(y)
    if max_rows <= 0 or max_rows >= len(y):
        return np.arange(len(y))
    return sampling.stratified_rows(y, max_rows, seed, floor=0, rounding="ceil", order="value")


# ------------------------------------------------------------------------------------------------ one trial
class EpochScore(keras.callbacks.Callback):
    """After each epoch: the validation macro-F1 of the best epoch so far (lowest ``val_loss``), reported to the
    trial; stops training when the pruner says so (:attr:`pruned`). Predicts only when ``val_loss`` improves."""

    def __init__(self, trial: optuna.Trial, X_val: np.ndarray, y_val: np.ndarray):
        super().__init__()
        self.trial, self.X_val, self.y_val = trial, X_val, np.asarray(y_val)
        self.best_loss, self.best_score, self.best_epoch, self.pruned = np.inf, 0.0, 0, False

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        loss = (logs or {}).get("val_loss", np.nan)
        if loss < self.best_loss:  # as early stopping decides (NaN never improves)
            self.best_loss, self.best_epoch = loss, epoch + 1
            predicted = models.predict_proba(self.model, self.X_val).argmax(axis=1)
            self.best_score = metrics.macro_f1(self.y_val, predicted)
        self.trial.report(self.best_score, epoch)
        if self.trial.should_prune():
            self.pruned = True
            self.model.stop_training = True


def _objective(
    name: str,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    n_classes: int,
    base: models.DeepConfig,
    epochs: int,
    seed: int,
):
    X_fit, y_fit, X_val, y_val = data

    def objective(trial: optuna.Trial) -> float:
        config = configure(base, suggest(trial, name), epochs)
        score = EpochScore(trial, X_val, y_val)
        _, history = models.fit_config(
            name, X_fit, y_fit, X_val, y_val, n_classes=n_classes, config=config, seed=seed, callbacks=[score]
        )
        trial.set_user_attr("epochs_run", len(history["loss"]))
        trial.set_user_attr("best_epoch", score.best_epoch)  # 0: no finite validation loss
        if score.pruned:
            raise optuna.TrialPruned(f"validation macro-F1 {score.best_score:.4f} below the median")
        return score.best_score

    return objective


# ------------------------------------------------------------------------------------------------ the search
def _study(name: str, trials: int, seed: int) -> optuna.Study:
    """One model's Optuna study: TPE seeded with ``seed`` after half the trials (at most 10) at random, and the
    median pruner."""
    return optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(1, trials // 2))),
        pruner=optuna.pruners.MedianPruner(PRUNER_STARTUP_TRIALS, PRUNER_WARMUP_EPOCHS),
        study_name=name,
    )


def search(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    names: Sequence[str],
    n_classes: int,
    base: models.DeepConfig,
    trials: int,
    epochs: int,
    max_rows: int = 0,
    final_epochs: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Search each model of ``names`` (``trials`` trials of at most ``epochs`` epochs, trained on at most
    ``max_rows`` stratified training rows with seed ``seed``, scored on all validation rows); return the tuning
    record (module docstring) whose ``configs`` train each model for ``final_epochs`` epochs (default
    ``base.epochs``). Nothing but these four arrays is read: no test row can reach the search. The record's
    ``seconds`` (search time per model) is the one part that differs between two identical searches."""
    if trials < 1 or epochs < 1:
        raise ValueError(f"TUNE_TRIALS and TUNE_EPOCHS must be at least 1, got {trials} and {epochs}")
    rows = stratified_subsample(y_train, max_rows, seed)
    data = (np.asarray(X_train)[rows], np.asarray(y_train)[rows], np.asarray(X_val), np.asarray(y_val))
    final_epochs = base.epochs if final_epochs is None else final_epochs
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial would bury the progress bar
    table, best, configs, seconds = [], {}, {}, {}
    try:
        with progress.bar(total=len(names) * trials, desc="tuning", unit="trial") as bar:
            for name in names:
                bar.set_postfix(model=name)
                study = _study(name, trials, seed)
                objective = _objective(name, data, n_classes=n_classes, base=base, epochs=epochs, seed=seed)
                study.optimize(objective, n_trials=trials, callbacks=[lambda *_: bar.update()])
                table += [_trial_row(name, t) for t in study.trials]
                chosen = study.best_trial
                best[name] = {"trial": chosen.number, "value": chosen.value, "params": chosen.params}
                configs[name] = configure(base, chosen.params, final_epochs).as_dict()
                seconds[name] = sum((t.duration.total_seconds() for t in study.trials if t.duration), 0.0)
    finally:
        optuna.logging.set_verbosity(verbosity)
    log.info("tuning time per model (s): %s", {name: round(s, 1) for name, s in seconds.items()})
    settings = {"trials": trials, "epochs": epochs, "max_rows": max_rows, "final_epochs": final_epochs, "seed": seed}
    found = {"configs": configs, "best": best, "trials": table, "seconds": seconds}
    return _record(names, base, settings | {"n_train_rows": len(rows), "n_val_rows": len(y_val)}, found)


def _record(names: Sequence[str], base: models.DeepConfig, settings: dict, found: dict) -> dict[str, Any]:
    """A tuning record (module docstring), its keys in the order every record has them."""
    return {
        "format": RECORD_FORMAT,
        "objective": OBJECTIVE,
        "models": list(names),
        "configs": found["configs"],
        "best": found["best"],
        "trials": found["trials"],
        "base": base.as_dict(),
        "settings": settings,
        "seconds": found["seconds"],
    }


def _trial_row(name: str, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    return {
        "model": name,
        "trial": trial.number,
        "state": trial.state.name,
        "value": trial.value,
        "epochs_run": trial.user_attrs.get("epochs_run"),
        "best_epoch": trial.user_attrs.get("best_epoch"),
        **trial.params,
    }


# ------------------------------------------------------------------------------------------------ notebook 03
def read_record(tune: str) -> dict[str, Any] | None:
    """Notebook 03's ``TUNE``: None for ``"off"`` and ``"search"``, else the tuning record at that path (a
    ``tuning.json``, or a stage folder holding one; relative paths start at the repository root).

    Call it before notebook 03 begins its stage: beginning a stage empties its folder, which may hold the record."""
    if tune in MODES:
        return None
    path = Path(tune).expanduser()
    path = path if path.is_absolute() else paths.REPO_ROOT / path
    if path.is_dir():
        path = path / f"{RECORD_NAME}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"TUNE={tune!r} is neither {' nor '.join(repr(m) for m in MODES)} nor an existing tuning record ({path} "
            f"not found). Fix: TUNE='search', or the tuning.json of an earlier notebook 03 run that searched"
        )
    record = json.loads(path.read_text())
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT or "configs" not in record:
        raise ValueError(
            f"{path} is not a tuning record of notebook 03 (format {RECORD_FORMAT}): TUNE takes the tuning.json "
            f"that notebook 03 writes"
        )
    return record | {"reused_from": os.fspath(path)}


def check_record(
    record: Mapping[str, Any], names: Sequence[str], fingerprint: str | None = None, train_split: str | None = None
) -> None:
    """Refuse a record that has no configuration for some model of ``names``; warn when it was made on other
    data (another ``fingerprint`` of the prepared data) or another training split."""
    where = record.get("reused_from", "the tuning record")
    missing = [name for name in names if name not in record["configs"]]
    if missing:
        raise ValueError(
            f"{where} was made for the models {sorted(record['configs'])}, not for {missing}: its configurations "
            f"cannot be reused for them. Fix: TUNE='search', or DEEP_MODELS within {sorted(record['configs'])}"
        )
    made_on = record.get("data_fingerprint")
    if fingerprint and made_on and made_on != fingerprint:
        warnings.warn(
            f"{where} was searched on other prepared data (fingerprint {made_on[:12]}, this run's is "
            f"{fingerprint[:12]}): its configurations are reused, but they were not chosen on this run's "
            f"validation rows",
            stacklevel=2,
        )
    split = record.get("settings", {}).get("train_split")
    if train_split and split and split != train_split:
        warnings.warn(
            f"{where} was searched on TRAIN_SPLIT={split!r}, this run trains on {train_split!r}", stacklevel=2
        )


def configs_of(record: Mapping[str, Any], names: Sequence[str]) -> dict[str, models.DeepConfig]:
    """Each model's chosen configuration from a tuning record."""
    return {name: models.DeepConfig.from_dict(record["configs"][name]) for name in names}


def settings_from(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`choose_configs`' settings from notebook 03's parameters (``TUNE``, ``TUNE_TRIALS``, ``TUNE_EPOCHS``,
    ``TUNE_MAX_ROWS``, ``TUNED_EPOCHS``, ``SEED``, ``TRAIN_SPLIT``)."""
    return {
        "tune": parameters["TUNE"],
        "trials": parameters["TUNE_TRIALS"],
        "epochs": parameters["TUNE_EPOCHS"],
        "max_rows": parameters["TUNE_MAX_ROWS"],
        "final_epochs": parameters["TUNED_EPOCHS"],
        "seed": parameters["SEED"],
        "train_split": parameters["TRAIN_SPLIT"],
    }


def choose_configs(
    data: PreparedData,
    *,
    tune: str,
    names: Sequence[str],
    base: models.DeepConfig,
    reused: Mapping[str, Any] | None = None,
    trials: int = 20,
    epochs: int = 30,
    max_rows: int = 0,
    final_epochs: int | None = None,
    seed: int = 0,
    train_split: str = "train",
    prepared_fingerprint: str | None = None,
) -> tuple[dict[str, models.DeepConfig], dict[str, Any] | None, metrics.Results]:
    """Notebook 03's ``TUNE``: each model's configuration, the tuning record (None when ``tune="off"``) and what
    the stage keeps of it (``tuning.json``, the trials as ``tables/tuning.csv``, the search's wall times apart).

    ``"off"``: ``base`` (the parameters cell) for every model. ``"search"``: :func:`search` on ``train_split``
    and the validation rows of ``data`` (never its test rows). A path: the record ``reused`` (what
    :func:`read_record` read from that path before the stage began), checked by :func:`check_record` against
    ``prepared_fingerprint`` (the prepared data this run reads)."""
    if tune == "off":
        return dict.fromkeys(names, base), None, metrics.Results()
    fingerprint = prepared_fingerprint
    if tune == "search":
        X_train, y_train = data.split(train_split)
        record = search(
            X_train, y_train, data.X_val, data.y_val, names=names, n_classes=data.n_classes, base=base,
            trials=trials, epochs=epochs, max_rows=max_rows, final_epochs=final_epochs, seed=seed,
        )  # fmt: skip
        record["settings"]["train_split"] = train_split
        record["data_fingerprint"] = fingerprint
        seconds = record.pop("seconds")
    else:
        if reused is None:
            raise ValueError(f"TUNE={tune!r} names a tuning record: pass what tuning.read_record(TUNE) read as reused")
        check_record(reused, names, fingerprint, train_split)
        record, seconds = dict(reused), {}
    kept = metrics.Results(tables={RECORD_NAME: trials_frame(record)}, records={RECORD_NAME: record})
    if seconds:  # wall-clock: kept out of the stage's fingerprint, like every timing
        timings = pd.DataFrame({"model": list(seconds), "tuning_seconds": list(seconds.values())})
        kept.timing_tables[f"{RECORD_NAME}_timings"] = timings
    return configs_of(record, names), record, kept


def trials_frame(record: Mapping[str, Any] | None) -> pd.DataFrame:
    """Every trial of a tuning record, one row each (model, trial number, state, validation macro-F1, epochs,
    settings); empty without a record."""
    return pd.DataFrame(list((record or {}).get("trials", [])))


def best_frame(record: Mapping[str, Any] | None) -> pd.DataFrame:
    """Each model's best trial: its validation macro-F1, how many trials completed or were pruned, its settings."""
    if not record:
        return pd.DataFrame()
    trials = trials_frame(record)
    rows = []
    for name, best in record["best"].items():
        states = trials.loc[trials["model"] == name, "state"].value_counts() if len(trials) else pd.Series()
        rows.append(
            {"model": name, "best_trial": best["trial"], "val_f1_macro": best["value"]}
            | {"complete": int(states.get("COMPLETE", 0)), "pruned": int(states.get("PRUNED", 0))}
            | best["params"]
        )
    return pd.DataFrame(rows)
