"""Anomaly detection trained on benign traffic only, the OR with the supervised fusion, and a zero-day test.

Backs ``notebooks/05_anomaly_detection.ipynb``. The paper's title promises "anomaly detection" and its
introduction a method that detects "existing and emerging botnet threats", but it describes no anomaly
detector. We compare four, each fitted on BENIGN training rows only (a flow's score is higher the less it
looks like benign training traffic), and none assuming min-max [0, 1] inputs (they read whatever notebook 01's
``SCALING`` made):

* ``autoencoder``: a dense **autoencoder** (Keras, Functional API); score = mean squared reconstruction error;
* ``kitnet``: an **ensemble of small autoencoders over feature groups** in the style of Kitsune's KitNET
  (Mirsky et al., NDSS 2018; our own code). The features are clustered by correlation distance ``1 - |r|``
  on benign training rows into groups of at most ``max_group_size`` (:func:`feature_groups`); each group's
  features are min-max normalised on benign training rows and reconstructed by a one-hidden-layer sigmoid
  autoencoder (3/4 as many hidden units as features); the groups' RMSEs, normalised the same way, feed an
  output autoencoder whose RMSE is the score. A value outside the benign training range cannot be
  reproduced by a sigmoid output, which is what flags it;
* ``knn``: the mean Euclidean **distance to the k nearest benign training flows** (scikit-learn
  ``NearestNeighbors`` over a seeded subsample of at most ``max_rows`` benign training rows: bounded cost);
* ``isolation_forest``: an **Isolation Forest**, the classical reference; score = minus ``score_samples``.

**Hyperparameters and the anomaly branch are chosen on validation rows only** (:func:`choose`). Each
detector has a small grid (:func:`candidate_grid`). Every candidate is thresholded at ``target_fpr`` of the
BENIGN validation rows; its recall on each attack family's VALIDATION rows is averaged over the families
(macro recall, so a large family does not outvote a small one; ties broken by the macro ROC-AUC of benign
against family validation rows, then by grid order); a family with fewer than ``min_rows`` validation rows
does not count. The best candidate of each detector is that detector's
configuration; the best of those is the **anomaly branch**, recorded by notebook 05 for the fused detector
(:meth:`Comparison.branch_record`). In the zero-day test the choice made for a held-out family sees only the
validation rows of the other families: no test row and no row of the held-out family reaches it. Where no
validation attack row is left, every detector keeps the first setting of its grid and the branch is the first
detector, and the choice table says so.

**Thresholds at a target false-positive rate.** A detector flags a flow when its score is above a threshold
chosen on the BENIGN validation rows so that at most ``target_fpr`` of them are flagged
(:func:`threshold_for_fpr`). The supervised fusion's attack score (1 - P(benign)) is thresholded the same
way when the detectors are compared at equal false-alarm rates. The realised rate on benign *test* rows is
always reported: it is the honest number.

**Combined decision:** attack if the supervised path says attack OR the anomaly score is above its threshold.
An OR can only add false alarms (up to the sum of the two rates); :func:`detection_rates` measures the cost.

**Zero-day test** (:func:`leave_one_family_out`): for each attack family, its rows are removed from the
training and validation splits, the supervised path is retrained without them, and the recall on that
family's test flows is measured for the supervised path, every detector, the anomaly branch and the OR. The
detectors are fitted on benign rows only, so they never see any family and need no refitting; only their
choice is redone without the family. :func:`zero_day_levels` gives every detector's recall at several
false-positive rates (e.g. 0.1 % and 1 %), :func:`zero_day_by_detector` one line per family and detector and an
overall line per detector.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import keras
import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from lib import baselines, fusion, models, progress

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


# ------------------------------------------------------------------------------------------------ candidates
DETECTORS = ("autoencoder", "kitnet", "knn", "isolation_forest")


@dataclass(frozen=True)
class Candidate:
    """One detector at one point of its grid; ``label`` names it in tables, e.g. ``knn(k=5)``."""

    detector: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def label(self) -> str:
        inner = ", ".join(f"{key}={value}" for key, value in self.params)
        return f"{self.detector}({inner})" if inner else self.detector


def candidate_grid(
    detectors: Sequence[str],
    *,
    ae_code_units: Sequence[int],
    kitnet_max_groups: Sequence[int],
    knn_ks: Sequence[int],
    iforest_trees: int,
) -> list[Candidate]:
    """Every detector of ``detectors`` at every point of its (small) grid, in that order.

    The autoencoder's bottleneck width, KitNET's largest feature group and the kNN's ``k`` are chosen on
    validation rows (:func:`choose`); the Isolation Forest has one setting.
    """
    unknown = sorted(set(detectors) - set(DETECTORS))
    if unknown or not detectors:
        raise ValueError(f"unknown or no detector(s) {unknown or list(detectors)}: choose from {list(DETECTORS)}")
    grids = {
        "autoencoder": [(("code_units", int(units)),) for units in ae_code_units],
        "kitnet": [(("max_group_size", int(size)),) for size in kitnet_max_groups],
        "knn": [(("k", int(k)),) for k in knn_ks],
        "isolation_forest": [(("n_estimators", int(iforest_trees)),)],
    }
    empty = [name for name in detectors if not grids[name]]
    if empty:
        raise ValueError(f"empty grid for detector(s) {empty}")
    return [Candidate(name, params) for name in dict.fromkeys(detectors) for params in grids[name]]


@dataclass(frozen=True)
class Training:
    """How the autoencoders (the dense one and KitNET's) are trained: Adam, early stopping on benign validation loss.

    ``learning_rate`` is the dense autoencoder's; KitNET's small sigmoid autoencoders learn at :func:`fit_kitnet`'s
    own, larger rate (1e-2; not tuned).
    """

    epochs: int
    batch_size: int
    patience: int
    learning_rate: float = 1e-3


# ------------------------------------------------------------------------------------------------ detectors
def autoencoder(
    n_features: int, *, hidden_units: int = 32, code_units: int = 8, seed: int | None = None
) -> keras.Model:
    """Dense autoencoder: n_features -> hidden -> code -> hidden -> n_features (ReLU inside, linear output).

    The paper gives no anomaly detector; 32/8 units is a small default for a few dozen scaled inputs. The output
    is linear: inputs need not lie in [0, 1], and test rows may fall outside the range of the training rows.
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
    reconstructed = models.forward(model, X, PREDICT_BATCH_SIZE)
    return np.mean((reconstructed.astype(np.float64) - X) ** 2, axis=1)


def _fit_reconstruction(
    model: keras.Model, x: Any, x_val: Any, training: Training, seed: int
) -> dict[str, list[float]]:
    """Train ``model`` to reproduce ``x`` (an array or a list of arrays), early stopping on ``x_val``."""
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=training.learning_rate), loss="mse")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=training.patience, restore_best_weights=True)
    history = model.fit(
        x,
        x,
        validation_data=(x_val, x_val),
        epochs=training.epochs,
        batch_size=training.batch_size,
        callbacks=[stop],
        shuffle=True,
        verbose=0,
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def feature_groups(
    X_benign: np.ndarray, max_group_size: int, *, max_rows: int = 100_000, seed: int = 0
) -> list[list[int]]:
    """KitNET's feature map: the columns clustered by correlation on benign rows, every group at most
    ``max_group_size`` columns, every column in exactly one group.

    Average-linkage hierarchical clustering on the distance ``1 - |r|`` (a constant column is at distance 1
    from every other); the tree is cut top-down, each node small enough becoming a group. At most ``max_rows``
    rows (a seeded subsample) are read.
    """
    from scipy.cluster.hierarchy import linkage, to_tree
    from scipy.spatial.distance import squareform

    if max_group_size < 1:
        raise ValueError(f"max_group_size must be at least 1, got {max_group_size}")
    X = np.asarray(X_benign, dtype=np.float64)
    if len(X) > max_rows:
        X = X[np.sort(np.random.default_rng(seed).choice(len(X), max_rows, replace=False))]
    n_features = X.shape[1]
    if n_features <= max_group_size:
        return [list(range(n_features))]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(X, rowvar=False)
    distance = np.clip(1.0 - np.abs(np.nan_to_num(corr, nan=0.0)), 0.0, 1.0)
    distance = (distance + distance.T) / 2
    np.fill_diagonal(distance, 0.0)
    tree = to_tree(linkage(squareform(distance, checks=False), method="average"))
    groups, stack = [], [tree]
    while stack:
        node = stack.pop()
        if node.get_count() <= max_group_size:
            groups.append(sorted(node.pre_order()))
        else:
            stack += [node.get_right(), node.get_left()]
    return sorted(groups)


def _min_max(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column minimum and range of ``X`` (a range of 0 becomes 1)."""
    low = X.min(axis=0)
    span = X.max(axis=0) - low
    return low, np.where(span > 0, span, 1.0)


def _sigmoid_autoencoder(inputs: Any, n: int, hidden_ratio: float, prefix: str) -> Any:
    hidden = keras.layers.Dense(max(1, int(np.ceil(hidden_ratio * n))), activation="sigmoid", name=f"{prefix}_hidden")
    return keras.layers.Dense(n, activation="sigmoid", name=f"{prefix}_output")(hidden(inputs))


def _rmse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean((np.asarray(a, dtype=np.float64) - b) ** 2, axis=1))


class KitNET:
    """A fitted KitNET-style ensemble (see the module docstring): ``score(X)`` is the output autoencoder's RMSE."""

    def __init__(self, groups: list[list[int]], low: np.ndarray, span: np.ndarray, ensemble: keras.Model):
        self.groups, self.low, self.span, self.ensemble = groups, low, span, ensemble
        self.error_low = self.error_span = None
        self.output: keras.Model | None = None

    def _parts(self, X: np.ndarray) -> list[np.ndarray]:
        Z = ((np.asarray(X, dtype=np.float64) - self.low) / self.span).astype(np.float32)
        return [Z[:, group] for group in self.groups]

    def group_errors(self, X: np.ndarray) -> np.ndarray:
        """RMSE of every row within every feature group, shape ``(n_rows, n_groups)``."""
        parts = self._parts(X)
        reconstructed = models.forward(self.ensemble, parts, PREDICT_BATCH_SIZE)
        reconstructed = reconstructed if isinstance(reconstructed, list | tuple) else [reconstructed]
        return np.column_stack([_rmse(r, p) for r, p in zip(reconstructed, parts, strict=True)])

    def normalised_errors(self, X: np.ndarray) -> np.ndarray:
        return ((self.group_errors(X) - self.error_low) / self.error_span).astype(np.float32)

    def score(self, X: np.ndarray) -> np.ndarray:
        E = self.normalised_errors(X)
        return _rmse(models.forward(self.output, E, PREDICT_BATCH_SIZE), E)


class NearestBenign:
    """Mean Euclidean distance from a flow to its ``k`` nearest reference (benign training) flows."""

    def __init__(self, reference: np.ndarray, k: int):
        from sklearn.neighbors import NearestNeighbors

        reference = np.asarray(reference, dtype=np.float32)
        self.k = int(min(k, len(reference)))
        self.n_reference = len(reference)
        self.index = NearestNeighbors(n_neighbors=self.k).fit(reference)

    def score(self, X: np.ndarray) -> np.ndarray:
        distances, _ = self.index.kneighbors(np.asarray(X, dtype=np.float32), n_neighbors=self.k)
        return distances.astype(np.float64).mean(axis=1)


@dataclass
class Detector:
    """A fitted anomaly scorer and its threshold: ``score(X)`` (higher = more anomalous), ``predict(X)`` -> bool.

    ``config`` holds the grid values it was fitted with. The scores of the last few arrays are kept (by
    identity), so that scoring the same validation or test array again costs nothing: arrays are not modified
    after they were scored.
    """

    name: str
    scorer: Any
    threshold: float = float("nan")
    history: dict[str, list[float]] | None = None
    n_fit_rows: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    _scored: list[tuple[Any, np.ndarray]] = field(default_factory=list, repr=False, compare=False)

    @property
    def label(self) -> str:
        return Candidate(self.name, tuple(self.config.items())).label

    def _score(self, X: np.ndarray) -> np.ndarray:
        if isinstance(self.scorer, keras.Model):
            return reconstruction_error(self.scorer, X)
        if isinstance(self.scorer, IsolationForest):
            return -self.scorer.score_samples(np.asarray(X, dtype=np.float32))
        return self.scorer.score(X)

    def score(self, X: np.ndarray) -> np.ndarray:
        for seen, scores in self._scored:
            if seen is X:
                return scores
        scores = self._score(X)
        self._scored = [(X, scores), *self._scored[:3]]
        return scores

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.score(X) > self.threshold


def _benign_pair(X_train, y_train, X_val, y_val, what: str) -> tuple[np.ndarray, np.ndarray]:
    benign_train, benign_val = benign_rows(X_train, y_train), benign_rows(X_val, y_val)
    if len(benign_train) == 0 or len(benign_val) == 0:
        raise ValueError(f"the {what} needs benign rows in both the training and the validation split")
    return benign_train, benign_val


def _thresholded(detector: Detector, benign_val: np.ndarray, target_fpr: float) -> Detector:
    detector.threshold = threshold_for_fpr(detector.score(benign_val), target_fpr)
    return detector


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
    benign_train, benign_val = _benign_pair(X_train, y_train, X_val, y_val, "autoencoder")
    model = autoencoder(benign_train.shape[1], hidden_units=hidden_units, code_units=code_units, seed=seed)
    history = _fit_reconstruction(
        model, benign_train, benign_val, Training(epochs, batch_size, patience, learning_rate), seed
    )
    detector = Detector(
        "autoencoder", model, history=history, n_fit_rows=len(benign_train), config={"code_units": code_units}
    )
    return _thresholded(detector, benign_val, target_fpr)


def fit_kitnet(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    target_fpr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    max_group_size: int = 10,
    patience: int = 3,
    learning_rate: float = 1e-2,
    hidden_ratio: float = 0.75,
) -> Detector:
    """The KitNET-style ensemble (module docstring) on benign training rows, thresholded at ``target_fpr`` of the
    benign validation rows.

    The group autoencoders are independent branches of one Keras model, trained together (their losses add
    up; no weight is shared, and Adam scales each weight's step on its own); then the output autoencoder is
    trained on the benign training rows' normalised group errors. Both stop early on benign validation rows.
    """
    benign_train, benign_val = _benign_pair(X_train, y_train, X_val, y_val, "KitNET ensemble")
    groups = feature_groups(benign_train, max_group_size, seed=seed)
    low, span = _min_max(np.asarray(benign_train, dtype=np.float64))
    keras.utils.set_random_seed(seed)
    inputs = [keras.Input(shape=(len(group),), name=f"group{i}") for i, group in enumerate(groups)]
    outputs = [
        _sigmoid_autoencoder(x, len(g), hidden_ratio, f"group{i}")
        for i, (x, g) in enumerate(zip(inputs, groups, strict=True))
    ]
    kitnet = KitNET(groups, low, span, keras.Model(inputs, outputs, name="kitnet_ensemble"))
    training = Training(epochs, batch_size, patience, learning_rate)
    history = _fit_reconstruction(
        kitnet.ensemble, kitnet._parts(benign_train), kitnet._parts(benign_val), training, seed
    )
    kitnet.error_low, kitnet.error_span = _min_max(kitnet.group_errors(benign_train))
    keras.utils.set_random_seed(seed)
    code = keras.Input(shape=(len(groups),), name="group_errors")
    kitnet.output = keras.Model(
        code, _sigmoid_autoencoder(code, len(groups), hidden_ratio, "output"), name="kitnet_output"
    )
    _fit_reconstruction(
        kitnet.output, kitnet.normalised_errors(benign_train), kitnet.normalised_errors(benign_val), training, seed
    )
    detector = Detector(
        "kitnet", kitnet, history=history, n_fit_rows=len(benign_train), config={"max_group_size": max_group_size}
    )
    return _thresholded(detector, benign_val, target_fpr)


def fit_knn(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    target_fpr: float,
    seed: int,
    k: int = 5,
    max_rows: int = 20_000,
) -> Detector:
    """Mean distance to the ``k`` nearest of at most ``max_rows`` benign training rows (a seeded subsample),
    thresholded at ``target_fpr`` of the benign validation rows."""
    benign_train, benign_val = _benign_pair(X_train, y_train, X_val, y_val, "nearest-neighbour detector")
    if 0 < max_rows < len(benign_train):
        benign_train = benign_train[
            np.sort(np.random.default_rng(seed).choice(len(benign_train), max_rows, replace=False))
        ]
    detector = Detector("knn", NearestBenign(benign_train, k), n_fit_rows=len(benign_train), config={"k": k})
    return _thresholded(detector, benign_val, target_fpr)


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
    benign_train, benign_val = _benign_pair(X_train, y_train, X_val, y_val, "Isolation Forest")
    forest = IsolationForest(n_estimators=n_estimators, random_state=seed, n_jobs=-1)
    forest.fit(np.asarray(benign_train, dtype=np.float32))
    detector = Detector("isolation_forest", forest, n_fit_rows=len(benign_train), config={"n_estimators": n_estimators})
    return _thresholded(detector, benign_val, target_fpr)


def fit_candidate(
    candidate: Candidate,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    target_fpr: float,
    seed: int,
    training: Training,
    ae_hidden_units: int = 32,
    knn_max_rows: int = 20_000,
) -> Detector:
    """Fit one :class:`Candidate` on the benign training rows (thresholded on the benign validation rows)."""
    split = (X_train, y_train, X_val, y_val)
    config, common = candidate.config, {"target_fpr": target_fpr, "seed": seed}
    keras_training = {"epochs": training.epochs, "batch_size": training.batch_size, "patience": training.patience}
    if candidate.detector == "autoencoder":
        return fit_autoencoder(*split, **common, **keras_training, hidden_units=ae_hidden_units,
                               learning_rate=training.learning_rate, **config)  # fmt: skip
    if candidate.detector == "kitnet":
        return fit_kitnet(*split, **common, **keras_training, **config)
    if candidate.detector == "knn":
        return fit_knn(*split, **common, max_rows=knn_max_rows, **config)
    if candidate.detector == "isolation_forest":
        return fit_isolation_forest(*split, **common, **config)
    raise ValueError(f"unknown detector {candidate.detector!r}: choose from {list(DETECTORS)}")


def scoring_bundle(
    pipeline: Any, detector: Detector, X: dict[str, np.ndarray], y: dict[str, np.ndarray], target_fpr: float,
    training: dict[str, Any], pipeline_fingerprint: str,
) -> tuple[Detector, dict[str, Any], dict[str, np.ndarray]]:  # fmt: skip
    """What :mod:`lib.score` needs beside the pipeline, for :meth:`lib.run.Stage.save_detector`: the anomaly
    branch ``detector``; a manifest (the target FPR, the data the run was trained on, the pipeline it goes
    with); and arrays: the fusion's attack score (1 - P(benign)) and the detector's score of every BENIGN
    VALIDATION row (thresholds at any other FPR come from these, never from test rows), and the lowest and
    highest value of every model input over the training rows (the drift check)."""
    benign_val = benign_rows(X["val"], y["val"])
    arrays = {
        "fusion_benign_val": np.sort(attack_score(pipeline.score_features(benign_val))),
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
    detectors: dict[str, Detector] | Callable[[str], dict[str, Detector]],
    target_fpr: float,
    seed: int,
) -> pd.DataFrame:
    """Recall on each held-out family's test flows and FPR on benign test flows, one row per family.

    ``X``, ``y`` and ``rows`` map ``"train"``, ``"val"``, ``"test"`` to the prepared arrays and row tables.
    For each family, ``fit_supervised(X_tr, y_tr, X_val, y_val, seed)`` gets the training and validation rows
    WITHOUT that family and returns a function giving the attack score of rows; its threshold is chosen on
    the benign validation rows at ``target_fpr``. ``detectors`` are already fitted (on benign rows) and
    thresholded: a dict, or a function of the held-out family giving the dict chosen without that family
    (:meth:`Comparison.detectors_without`). Columns: ``recall_supervised``, ``fpr_supervised`` and, per detector
    ``d``, ``recall_d``, ``fpr_d``, ``recall_or_d`` and ``fpr_or_d`` (supervised OR ``d``); where a detector is
    named ``branch`` (the anomaly branch), the column ``branch`` says which candidate it was.
    """
    label = {split: rows[split]["label"].astype(str).to_numpy() for split in ("train", "val", "test")}
    benign_val = benign_rows(X["val"], y["val"])
    benign = np.asarray(y["test"]) == 0
    if not benign.any():
        raise ValueError("the test split holds no benign rows: the false-positive rate cannot be measured")
    out = []
    for family in families:
        chosen = detectors(family) if callable(detectors) else detectors
        detector_flags = {name: d.predict(X["test"]) for name, d in chosen.items()}
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
        } | ({"branch": chosen["branch"].label} if "branch" in chosen else {})
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


# ------------------------------------------------------------------------------------------- the choice
VALIDATION_COLUMNS = ["seed", "detector", "candidate", "family", "n_val", "recall", "auc", "val_fpr", "threshold"]


def validation_table(
    fitted: dict[int, dict[str, Detector]], X_val: np.ndarray, y_val: np.ndarray, val_labels: Sequence[str]
) -> pd.DataFrame:
    """What the choice reads: per seed, candidate and attack family of the VALIDATION rows, the recall at the
    candidate's threshold and the ROC-AUC of benign against that family's validation rows (``val_labels``:
    the family of each validation row)."""
    y_val, labels = np.asarray(y_val), np.asarray(val_labels).astype(str)
    benign = y_val == 0
    families = sorted(set(labels[~benign]))
    rows = []
    for seed, candidates in fitted.items():
        for label, detector in candidates.items():
            scores = detector.score(X_val)
            flagged = scores > detector.threshold
            for family in families:
                member = ~benign & (labels == family)
                truth = np.r_[np.zeros(benign.sum()), np.ones(member.sum())]
                rows.append(
                    {
                        "seed": seed,
                        "detector": detector.name,
                        "candidate": label,
                        "family": family,
                        "n_val": int(member.sum()),
                        "recall": float(flagged[member].mean()),
                        "auc": float(roc_auc_score(truth, np.r_[scores[benign], scores[member]])),
                        "val_fpr": float(flagged[benign].mean()),
                        "threshold": detector.threshold,
                    }
                )
    return pd.DataFrame(rows, columns=VALIDATION_COLUMNS)


@dataclass
class Choice:
    """Each detector's configuration and the anomaly branch, chosen on validation rows (:func:`choose`).

    ``table``: one row per candidate (grid order) with its validation macro recall and AUC, ``chosen`` (best of
    its detector) and ``branch`` (best of all); ``per_detector``: detector -> chosen candidate label;
    ``branch``: the branch's candidate label; ``basis``: on which rows it was chosen, in words.
    """

    table: pd.DataFrame
    per_detector: dict[str, str]
    branch: str
    basis: str

    @property
    def branch_detector(self) -> str:
        return self.table.set_index("candidate").loc[self.branch, "detector"]


def choose(
    validation: pd.DataFrame, grid: Sequence[Candidate], exclude: str | None = None, min_rows: int = 1
) -> Choice:
    """The best candidate per detector and overall, from :func:`validation_table` rows (all seeds in it), the
    rows of family ``exclude`` left out, and families with fewer than ``min_rows`` validation rows too (two
    flows of a family would otherwise weigh as much as hundreds of another's).

    Criterion: recall at the target FPR averaged over the validation families, then over seeds; ties go to the
    higher macro ROC-AUC, then to the earlier grid entry. Without any such family, each detector keeps its
    first grid entry and the branch is the first detector of the grid.
    """
    rows = validation if exclude is None else validation[validation["family"] != exclude]
    rows = rows[rows["n_val"] >= min_rows]
    macro = rows.groupby(["candidate", "seed"])[["recall", "auc"]].mean().groupby("candidate").mean()
    table = pd.DataFrame(
        {"detector": [c.detector for c in grid], "candidate": [c.label for c in grid], "order": range(len(grid))}
    )
    table["n_families"] = table["candidate"].map(rows.groupby("candidate")["family"].nunique()).fillna(0).astype(int)
    table["val_macro_recall"] = table["candidate"].map(macro["recall"])
    table["val_macro_auc"] = table["candidate"].map(macro["auc"])
    ranked = table.assign(
        r=table["val_macro_recall"].fillna(-1), a=table["val_macro_auc"].fillna(-1)
    ).sort_values(["r", "a", "order"], ascending=[False, False, True])  # fmt: skip
    best = ranked.drop_duplicates("detector").set_index("detector")["candidate"]
    per_detector = {name: best[name] for name in dict.fromkeys(c.detector for c in grid)}
    branch = str(ranked["candidate"].iloc[0])
    table["chosen"] = table["candidate"].isin(per_detector.values())
    table["branch"] = table["candidate"] == branch
    families = sorted(rows["family"].unique())
    without = f", {exclude} left out" if exclude is not None else ""
    basis = (
        f"macro recall at the target FPR over the validation rows of {len(families)} attack famil"
        f"{'y' if len(families) == 1 else 'ies'} ({', '.join(families)}; {int(rows.groupby('family')['n_val'].first().sum())} "
        f"rows{without}; families with fewer than {min_rows} validation rows do not count)"
        if len(rows)
        else f"no attack family with at least {min_rows} validation rows{without}: every detector keeps its first "
        "grid setting, the branch is the first detector"
    )  # fmt: skip
    return Choice(table.drop(columns="order"), per_detector, branch, basis)


def describe(candidate: Candidate | Detector) -> str:
    """A detector configuration in words (for the stage record and Fig. 2)."""
    name = candidate.detector if isinstance(candidate, Candidate) else candidate.name
    config = candidate.config
    return {
        "autoencoder": f"dense autoencoder, reconstruction error (bottleneck of {config.get('code_units')} units)",
        "kitnet": "KitNET-style ensemble of small autoencoders over correlated feature groups (at most "
        f"{config.get('max_group_size')} features each), output autoencoder's RMSE",
        "knn": f"mean distance to the {config.get('k')} nearest benign training flows",
        "isolation_forest": f"Isolation Forest ({config.get('n_estimators')} trees)",
    }.get(name, name)


@dataclass
class Comparison:
    """Every candidate of ``grid`` fitted per seed (``fitted[seed][candidate label]``), the validation rows'
    table the choices read (:func:`validation_table`) and the fewest validation rows with which a family counts."""

    grid: list[Candidate]
    fitted: dict[int, dict[str, Detector]]
    validation: pd.DataFrame
    min_rows: int = 1

    def choose(self, exclude: str | None = None, seed: int | None = None) -> Choice:
        """:func:`choose` over every seed, or over ``seed`` alone (families with at least ``min_rows`` rows)."""
        rows = self.validation if seed is None else self.validation[self.validation["seed"] == seed]
        return choose(rows, self.grid, exclude, self.min_rows)

    def chosen(self, choice: Choice) -> dict[int, dict[str, Detector]]:
        """Per seed, each detector at the configuration ``choice`` gives it."""
        return {
            seed: {name: fitted[label] for name, label in choice.per_detector.items()}
            for seed, fitted in self.fitted.items()
        }

    def detectors_without(self, family: str, seed: int) -> dict[str, Detector]:
        """For the zero-day test: each detector and (key ``"branch"``) the branch, chosen on ``seed``'s validation
        rows without ``family``'s."""
        choice = self.choose(exclude=family, seed=seed)
        chosen = {name: self.fitted[seed][label] for name, label in choice.per_detector.items()}
        return chosen | {"branch": self.fitted[seed][choice.branch]}

    def branch_of_seed(self, choice: Choice, seed: int) -> Detector:
        """The anomaly branch fitted with ``seed`` (the seed of notebook 04's saved pipeline, for scoring)."""
        if seed not in self.fitted:
            raise ValueError(
                f"the saved pipeline is notebook 04's seed {seed}, and this notebook fitted seeds {sorted(self.fitted)}: "
                f"run it with SEED={seed} (or notebook 04 with one of these)"
            )
        return self.fitted[seed][choice.branch]

    def branch_record(self, choice: Choice, target_fpr: float) -> dict[str, Any]:
        """What notebook 05 records about the anomaly branch (stage info and ``anomaly_branch.json``)."""
        candidate = next(c for c in self.grid if c.label == choice.branch)
        row = choice.table.set_index("candidate").loc[choice.branch]
        return {
            "detector": candidate.detector,
            "candidate": candidate.label,
            "config": candidate.config,
            "target_fpr": target_fpr,
            "thresholds": {str(seed): fitted[candidate.label].threshold for seed, fitted in self.fitted.items()},
            "chosen_on": choice.basis,
            "validation_macro_recall": float(row["val_macro_recall"]),
            "validation_macro_auc": float(row["val_macro_auc"]),
            "per_detector": choice.per_detector,
            "description": f"{describe(candidate)}, threshold at {target_fpr:.1%} FPR on benign validation flows "
            "(chosen on validation rows)",
        }


def compare(
    X: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    val_labels: Sequence[str],
    seeds: Sequence[int],
    grid: Sequence[Candidate],
    *,
    target_fpr: float,
    training: Training,
    ae_hidden_units: int = 32,
    knn_max_rows: int = 20_000,
    min_choice_rows: int = 1,
) -> Comparison:
    """Fit every candidate of ``grid`` for every seed on the benign training rows (thresholds on the benign
    validation rows) and score the validation rows for the choice (families with at least ``min_choice_rows``
    validation rows count). No test row is read."""
    fitted: dict[int, dict[str, Detector]] = {seed: {} for seed in seeds}
    fits = progress.bar(list(product(seeds, grid)), desc="benign-only detectors", unit="fit")
    for seed, candidate in fits:
        fits.set_postfix_str(f"seed {seed}, {candidate.label}")
        fitted[seed][candidate.label] = fit_candidate(
            candidate, X["train"], y["train"], X["val"], y["val"], target_fpr=target_fpr, seed=seed,
            training=training, ae_hidden_units=ae_hidden_units, knn_max_rows=knn_max_rows,
        )  # fmt: skip
    return Comparison(list(grid), fitted, validation_table(fitted, X["val"], y["val"], val_labels), min_choice_rows)


# ------------------------------------------------------------------------------------------- notebook 05's runs
def histories(detectors: dict[str, Detector]) -> dict[str, dict[str, list[float]]]:
    """The training histories of the detectors that have one (the autoencoders), by detector name."""
    return {f"{d.label}": d.history for d in detectors.values() if d.history}


def detector_table(
    detectors: dict[int, dict[str, Detector]], X: dict[str, np.ndarray], y: dict[str, np.ndarray]
) -> pd.DataFrame:
    """One row per detector and seed: its chosen candidate, threshold, realised FPR on benign validation and
    test rows, test recall and ROC-AUC on all test rows."""
    benign_val = benign_rows(X["val"], y["val"])
    rows = []
    for seed, fitted in detectors.items():
        for name, detector in fitted.items():
            scores = detector.score(X["test"])
            rates = detection_rates({name: scores > detector.threshold}, y["test"]).iloc[0]
            rows.append(
                {
                    "model": name,
                    "candidate": detector.label,
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
    comparison: Comparison,
    *,
    fit_supervised: SupervisedFit,
    target_fpr: float,
) -> pd.DataFrame:
    """:func:`leave_one_family_out` for every seed of ``comparison``, the detectors and the branch chosen without
    the held-out family (:meth:`Comparison.detectors_without`); one table, empty when no family qualifies."""
    tables = [
        leave_one_family_out(
            X, y, rows, families, fit_supervised=fit_supervised, target_fpr=target_fpr, seed=seed,
            detectors=functools.partial(comparison.detectors_without, seed=seed),
        )
        for seed in progress.bar(list(comparison.fitted), desc="zero-day seeds", unit="seed")
        if families
    ]  # fmt: skip
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["family", "seed"])


LEVEL_COLUMNS = ["family", "seed", "detector", "candidate", "fpr_target", "threshold", "val_fpr", "recall",
                 "test_fpr", "n_test_family"]  # fmt: skip


def zero_day_levels(
    X: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    rows: dict[str, pd.DataFrame],
    families: Sequence[str],
    comparison: Comparison,
    fpr_levels: Sequence[float],
) -> pd.DataFrame:
    """Every detector's (and the branch's) recall on each held-out family's test flows at each false-positive
    rate of ``fpr_levels``, thresholds on the benign validation rows, configurations chosen without the family.
    One row per family, seed, detector and level (no supervised retraining: the detectors never saw a family)."""
    label = rows["test"]["label"].astype(str).to_numpy()
    attack = np.asarray(y["test"]) != 0
    benign_val, out = benign_rows(X["val"], y["val"]), []
    for family, seed in progress.bar(
        list(product(families, comparison.fitted)), desc="zero-day detectors", unit="family"
    ):
        held_out = attack & (label == family)
        for name, detector in comparison.detectors_without(family, seed).items():
            val_scores, test_scores = detector.score(benign_val), detector.score(X["test"])
            for level in fpr_levels:
                threshold = threshold_for_fpr(val_scores, level)
                flagged = test_scores > threshold
                out.append(
                    {
                        "family": family,
                        "seed": seed,
                        "detector": name,
                        "candidate": detector.label,
                        "fpr_target": float(level),
                        "threshold": threshold,
                        "val_fpr": flag_rate(val_scores, threshold),
                        "recall": float(flagged[held_out].mean()),
                        "test_fpr": float(flagged[~attack].mean()),
                        "n_test_family": int(held_out.sum()),
                    }
                )
    return pd.DataFrame(out, columns=LEVEL_COLUMNS)


OVERALL = "overall (mean of families)"


def _percent(level: float) -> str:
    return f"{level * 100:g} %"


def zero_day_by_detector(levels: pd.DataFrame) -> pd.DataFrame:
    """:func:`zero_day_levels` as one line per held-out family and detector (means over seeds): recall and test FPR
    at each level and the ``setting`` (the candidates chosen on validation rows without the family, or the grid
    default where no validation family counted: :func:`choose`); then per detector an overall line, the mean over
    the families."""
    if not len(levels):
        return pd.DataFrame(columns=["family", "detector"])
    means = levels.groupby(["family", "detector", "fpr_target"], sort=False)[["recall", "test_fpr"]].mean()
    wide = means.unstack("fpr_target")
    wide.columns = [
        f"{'recall' if what == 'recall' else 'test FPR'} at {_percent(level)} FPR" for what, level in wide.columns
    ]
    ordered = [
        f"{what} at {_percent(level)} FPR"
        for what in ("recall", "test FPR")
        for level in sorted(levels["fpr_target"].unique())
    ]
    wide = wide[ordered]
    candidates = levels.groupby(["family", "detector"], sort=False)["candidate"].agg(
        lambda c: ", ".join(dict.fromkeys(c))
    )
    wide = wide.join(candidates.rename("setting")).reset_index()
    overall = wide.groupby("detector", sort=False)[ordered].mean().reset_index().assign(family=OVERALL)
    overall["setting"] = ""
    return pd.concat([wide, overall[wide.columns]], ignore_index=True)
