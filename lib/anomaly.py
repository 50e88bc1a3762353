"""Anomaly detection trained on benign traffic only, the OR with the supervised fusion, and a zero-day test.

Backs ``notebooks/05_anomaly_detection.ipynb``. The paper's title promises "anomaly detection" and its
introduction a method that detects "existing and emerging botnet threats", but it describes no anomaly
detector. We add the two usual ones:

* a dense **autoencoder** (Keras, Functional API) fitted to reconstruct BENIGN training flows only; a flow's
  score is its reconstruction error (mean squared error over the features): traffic unlike the benign
  training traffic reconstructs badly;
* an **Isolation Forest** (scikit-learn) fitted on the same benign rows, as the classical reference; its
  score is minus ``score_samples`` (higher = more anomalous).

**Thresholds at a target false-positive rate.** A detector flags a flow when its score is above a threshold
chosen on the BENIGN validation rows so that at most ``target_fpr`` of them are flagged
(:func:`threshold_for_fpr`). The supervised fusion's attack score (1 - P(benign)) is thresholded the same
way when the detectors are compared at equal false-alarm rates. The realised rate on benign *test* rows is
always reported: it is the honest number.

**Combined decision:** attack if the supervised path says attack OR the anomaly score is above its threshold.
An OR can only add false alarms (up to the sum of the two rates); :func:`detection_rates` measures the cost.

**Zero-day test** (:func:`leave_one_family_out`): for each attack family, its rows are removed from the
training and validation splits, the supervised path is retrained without them, and the recall on that
family's test flows is measured for the supervised path, the anomaly detector and the OR. The anomaly
detectors are fitted on benign rows only, so they never see any family and need no retraining.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from tqdm.auto import tqdm

from lib import baselines, fusion, models

PREDICT_BATCH_SIZE = models.PREDICT_BATCH_SIZE


# ------------------------------------------------------------------------------------------------ thresholds
def threshold_for_fpr(benign_scores: np.ndarray, target_fpr: float) -> float:
    """The lowest threshold that flags (``score > threshold``) at most ``target_fpr`` of ``benign_scores``.

    With ``n`` benign scores, ``k = floor(target_fpr * n)`` of them may lie above the threshold, which is the
    ``(k + 1)``-th largest score: the realised rate is ``k / n`` (less if scores tie), never above the target.
    """
    scores = np.sort(np.asarray(benign_scores, dtype=np.float64))[::-1]
    if scores.size == 0:
        raise ValueError("no benign validation rows to choose a threshold on")
    if not 0 <= target_fpr < 1:
        raise ValueError(f"TARGET_FPR must lie in [0, 1), got {target_fpr}")
    k = int(np.floor(target_fpr * scores.size + 1e-9))
    return float(scores[k])


def flag_rate(scores: np.ndarray, threshold: float) -> float:
    """Share of ``scores`` above ``threshold`` (nan for no rows)."""
    scores = np.asarray(scores)
    return float((scores > threshold).mean()) if scores.size else float("nan")


def attack_score(proba: np.ndarray) -> np.ndarray:
    """A classifier's attack score from its class probabilities: 1 - P(benign) (class 0), binary or not."""
    return 1.0 - np.asarray(proba, dtype=np.float64)[:, 0]


def benign_rows(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The rows of ``X`` whose class id is 0 (benign)."""
    return np.asarray(X)[np.asarray(y) == 0]


# ------------------------------------------------------------------------------------------------ detectors
def autoencoder(
    n_features: int, *, hidden_units: int = 32, code_units: int = 8, seed: int | None = None
) -> keras.Model:
    """Dense autoencoder: n_features -> hidden -> code -> hidden -> n_features (ReLU inside, linear output).

    The paper gives no anomaly detector; 32/8 units is a small default for a few dozen min-max scaled inputs.
    The output is linear because test rows may fall outside the [0, 1] range the scaler learnt on training rows.
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(n_features,), name="flow_features")
    x = keras.layers.Dense(hidden_units, activation="relu", name="encoder_dense")(inputs)
    code = keras.layers.Dense(code_units, activation="relu", name="code")(x)
    x = keras.layers.Dense(hidden_units, activation="relu", name="decoder_dense")(code)
    outputs = keras.layers.Dense(n_features, activation="linear", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="autoencoder")


def reconstruction_error(model: keras.Model, X: np.ndarray) -> np.ndarray:
    """Mean squared reconstruction error of every row of ``X``."""
    X = np.asarray(X, dtype=np.float32)
    reconstructed = model.predict(X, batch_size=PREDICT_BATCH_SIZE, verbose=0)
    return np.mean((reconstructed.astype(np.float64) - X) ** 2, axis=1)


@dataclass
class Detector:
    """A fitted anomaly scorer and its threshold: ``score(X)`` (higher = more anomalous), ``predict(X)`` -> bool."""

    name: str
    scorer: Any
    threshold: float = float("nan")
    history: dict[str, list[float]] | None = None
    n_fit_rows: int = 0

    def score(self, X: np.ndarray) -> np.ndarray:
        if isinstance(self.scorer, keras.Model):
            return reconstruction_error(self.scorer, X)
        return -self.scorer.score_samples(np.asarray(X, dtype=np.float32))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.score(X) > self.threshold


def fit_autoencoder(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    target_fpr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    hidden_units: int = 32,
    code_units: int = 8,
    patience: int = 3,
    learning_rate: float = 1e-3,
) -> Detector:
    """Fit the :func:`autoencoder` on benign training rows (early stopping on benign validation rows) and
    threshold its reconstruction error at ``target_fpr`` of the benign validation rows.

    Only rows with class id 0 are passed to Keras: no attack row is ever seen.
    """
    benign_train, benign_val = benign_rows(X_train, y_train), benign_rows(X_val, y_val)
    if len(benign_train) == 0 or len(benign_val) == 0:
        raise ValueError("the autoencoder needs benign rows in both the training and the validation split")
    model = autoencoder(benign_train.shape[1], hidden_units=hidden_units, code_units=code_units, seed=seed)
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(
        benign_train,
        benign_train,
        validation_data=(benign_val, benign_val),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=[stop],
        shuffle=True,
        verbose=0,
    )
    detector = Detector("autoencoder", model, history={k: [float(v) for v in vs] for k, vs in history.history.items()})
    detector.n_fit_rows = len(benign_train)
    detector.threshold = threshold_for_fpr(detector.score(benign_val), target_fpr)
    return detector


def fit_isolation_forest(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    target_fpr: float,
    seed: int,
    n_estimators: int = 100,
) -> Detector:
    """Isolation Forest on benign training rows, thresholded at ``target_fpr`` of the benign validation rows."""
    benign_train, benign_val = benign_rows(X_train, y_train), benign_rows(X_val, y_val)
    if len(benign_train) == 0 or len(benign_val) == 0:
        raise ValueError("the Isolation Forest needs benign rows in both the training and the validation split")
    forest = IsolationForest(n_estimators=n_estimators, random_state=seed, n_jobs=-1)
    forest.fit(np.asarray(benign_train, dtype=np.float32))
    detector = Detector("isolation_forest", forest, n_fit_rows=len(benign_train))
    detector.threshold = threshold_for_fpr(detector.score(benign_val), target_fpr)
    return detector


# ------------------------------------------------------------------------------------------------ decisions
def detection_rates(flags: dict[str, np.ndarray], y: np.ndarray) -> pd.DataFrame:
    """Recall on attack rows and false-positive rate on benign rows of each boolean decision in ``flags``."""
    y = np.asarray(y)
    attack, benign = y != 0, y == 0
    rows = []
    for name, flagged in flags.items():
        flagged = np.asarray(flagged, dtype=bool)
        rows.append(
            {
                "decision": name,
                "recall": float(flagged[attack].mean()) if attack.any() else float("nan"),
                "fpr": float(flagged[benign].mean()) if benign.any() else float("nan"),
                "n_attack": int(attack.sum()),
                "n_benign": int(benign.sum()),
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------- zero-day
def eligible_families(
    rows: dict[str, pd.DataFrame], y: dict[str, np.ndarray], min_family_rows: int
) -> tuple[list[str], pd.DataFrame]:
    """Attack families (``rows[split]["label"]`` of non-benign rows) that can be held out, and why others cannot.

    A family qualifies with at least ``min_family_rows`` test rows, at least one training row (otherwise it
    is unseen anyway) and at least one attack training row of another family (so a supervised model can
    still be trained without it).
    """
    labels = {split: rows[split]["label"].astype(str).to_numpy() for split in ("train", "test")}
    attack = {split: np.asarray(y[split]) != 0 for split in ("train", "test")}
    families = sorted(set(labels["train"][attack["train"]]) | set(labels["test"][attack["test"]]))
    table, keep = [], []
    for family in families:
        n_test = int((attack["test"] & (labels["test"] == family)).sum())
        n_train = int((attack["train"] & (labels["train"] == family)).sum())
        n_other = int((attack["train"] & (labels["train"] != family)).sum())
        if n_test < min_family_rows:
            reason = f"fewer than {min_family_rows} test rows"
        elif n_train == 0:
            reason = "no training rows (unseen already)"
        elif n_other == 0:
            reason = "the only attack family in training"
        else:
            reason = ""
            keep.append(family)
        table.append({"family": family, "n_train": n_train, "n_test": n_test, "held_out": not reason, "reason": reason})
    return keep, pd.DataFrame(table, columns=["family", "n_train", "n_test", "held_out", "reason"])


SupervisedFit = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], Callable[[np.ndarray], np.ndarray]]


def leave_one_family_out(
    X: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    rows: dict[str, pd.DataFrame],
    families: Sequence[str],
    *,
    fit_supervised: SupervisedFit,
    detectors: dict[str, Detector],
    target_fpr: float,
    seed: int,
) -> pd.DataFrame:
    """Recall on each held-out family's test flows and FPR on benign test flows, one row per family.

    ``X``, ``y`` and ``rows`` map ``"train"``, ``"val"``, ``"test"`` to the prepared arrays and row tables.
    For each family, ``fit_supervised(X_tr, y_tr, X_val, y_val, seed)`` gets the training and validation rows
    WITHOUT that family and returns a function giving the attack score of rows; its threshold is chosen on
    the benign validation rows at ``target_fpr``. ``detectors`` are already fitted (on benign rows) and
    thresholded. Columns: ``recall_supervised``, ``fpr_supervised`` and, per detector ``d``, ``recall_d``,
    ``fpr_d``, ``recall_or_d`` and ``fpr_or_d`` (supervised OR ``d``).
    """
    label = {split: rows[split]["label"].astype(str).to_numpy() for split in ("train", "val", "test")}
    benign_val = benign_rows(X["val"], y["val"])
    benign = np.asarray(y["test"]) == 0
    if not benign.any():
        raise ValueError("the test split holds no benign rows: the false-positive rate cannot be measured")
    detector_flags = {name: d.predict(X["test"]) for name, d in detectors.items()}
    out = []
    for family in families:
        keep_train, keep_val = label["train"] != family, label["val"] != family
        score = fit_supervised(
            X["train"][keep_train], y["train"][keep_train], X["val"][keep_val], y["val"][keep_val], seed
        )
        threshold = threshold_for_fpr(score(benign_val), target_fpr)
        held_out = (label["test"] == family) & (np.asarray(y["test"]) != 0)
        supervised_test = score(X["test"]) > threshold
        row = {
            "family": family,
            "seed": seed,
            "n_test_family": int(held_out.sum()),
            "n_test_benign": int(benign.sum()),
            "n_train_without": int(keep_train.sum()),
            "threshold_supervised": threshold,
            "recall_supervised": float(supervised_test[held_out].mean()),
            "fpr_supervised": float(supervised_test[benign].mean()),
        }
        for name, flagged in detector_flags.items():
            either = supervised_test | flagged
            row |= {
                f"recall_{name}": float(flagged[held_out].mean()),
                f"fpr_{name}": float(flagged[benign].mean()),
                f"recall_or_{name}": float(either[held_out].mean()),
                f"fpr_or_{name}": float(either[benign].mean()),
            }
        out.append(row)
    return pd.DataFrame(out)


def fusion_attack_scorer(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    seed: int,
    *,
    n_classes: int,
    names: Sequence[str],
    deep: models.DeepConfig,
    inputs: str,
    k_folds: int,
    grid: Sequence[tuple[str, dict[str, Any]]],
    meta: str = "xgboost",
    max_train_rows: int = 0,
) -> Callable[[np.ndarray], np.ndarray]:
    """The supervised path of the zero-day test: :func:`lib.fusion.fit_fusion`, returned as an attack scorer.

    Use it through ``functools.partial`` as ``fit_supervised`` of :func:`leave_one_family_out`. A cheaper
    configuration than notebook 04's is fine here (e.g. the CNN-LSTM alone, an XGBoost meta-classifier and
    ``k_folds=3``), with notebook 03's :class:`lib.models.DeepConfig`; ``max_train_rows > 0`` fits on a
    stratified subsample of the training rows.
    """
    X_fit, y_fit = baselines.stratified_subsample(X_train, y_train, max_train_rows, seed)
    fitted = fusion.fit_fusion(
        X_fit, y_fit, X_val, y_val, n_classes=n_classes, names=names, deep=deep, inputs=inputs, k_folds=k_folds,
        grid=grid, seed=seed,
    )  # fmt: skip
    model = fitted.model(meta)
    return lambda X: attack_score(model.predict_proba(X))


# ------------------------------------------------------------------------------------------- notebook 05's runs
def fit_detectors(
    X: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    seeds: Sequence[int],
    *,
    target_fpr: float,
    epochs: int,
    batch_size: int,
    patience: int,
    hidden_units: int,
    code_units: int,
    iforest_trees: int,
) -> dict[int, dict[str, Detector]]:
    """The autoencoder and the Isolation Forest for every seed, fitted on benign training rows and thresholded
    at ``target_fpr`` of the benign validation rows."""
    fitted = {}
    for seed in tqdm(seeds, desc="anomaly detectors", unit="seed"):
        fitted[seed] = {
            "autoencoder": fit_autoencoder(
                X["train"], y["train"], X["val"], y["val"], target_fpr=target_fpr, epochs=epochs,
                batch_size=batch_size, seed=seed, hidden_units=hidden_units, code_units=code_units, patience=patience,
            ),
            "isolation_forest": fit_isolation_forest(
                X["train"], y["train"], X["val"], y["val"], target_fpr=target_fpr, seed=seed, n_estimators=iforest_trees
            ),
        }  # fmt: skip
    return fitted


def detector_table(
    detectors: dict[int, dict[str, Detector]], X: dict[str, np.ndarray], y: dict[str, np.ndarray]
) -> pd.DataFrame:
    """One row per detector and seed: threshold, realised FPR on benign validation and test rows, test recall
    and ROC-AUC on all test rows."""
    benign_val = benign_rows(X["val"], y["val"])
    rows = []
    for seed, fitted in detectors.items():
        for name, detector in fitted.items():
            scores = detector.score(X["test"])
            rates = detection_rates({name: scores > detector.threshold}, y["test"]).iloc[0]
            rows.append(
                {
                    "model": name,
                    "seed": seed,
                    "n_fit_rows": detector.n_fit_rows,
                    "threshold": detector.threshold,
                    "val_fpr": flag_rate(detector.score(benign_val), detector.threshold),
                    "test_fpr": rates["fpr"],
                    "test_recall": rates["recall"],
                    "roc_auc": roc_auc_score(np.asarray(y["test"]) != 0, scores),
                }
            )
    return pd.DataFrame(rows)


def or_with_supervised(
    supervised_flags: np.ndarray, detectors: dict[int, dict[str, Detector]], X_test: np.ndarray, y_test: np.ndarray
) -> pd.DataFrame:
    """Recall and FPR on the test rows of the supervised decision alone, each detector alone and their OR."""
    tables = []
    for seed, fitted in detectors.items():
        flags = {"fusion alone": supervised_flags}
        for name, detector in fitted.items():
            flags[f"{name} alone"] = detector.predict(X_test)
            flags[f"fusion OR {name}"] = supervised_flags | flags[f"{name} alone"]
        tables.append(detection_rates(flags, y_test).assign(seed=seed))
    return pd.concat(tables, ignore_index=True)


def zero_day(
    X: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    rows: dict[str, pd.DataFrame],
    families: Sequence[str],
    detectors: dict[int, dict[str, Detector]],
    *,
    fit_supervised: SupervisedFit,
    target_fpr: float,
) -> pd.DataFrame:
    """:func:`leave_one_family_out` for every seed of ``detectors``, one table (empty when no family qualifies)."""
    tables = [
        leave_one_family_out(
            X, y, rows, families, fit_supervised=fit_supervised, detectors=fitted, target_fpr=target_fpr, seed=seed
        )
        for seed, fitted in tqdm(detectors.items(), desc="zero-day seeds", unit="seed")
        if families
    ]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["family", "seed"])
