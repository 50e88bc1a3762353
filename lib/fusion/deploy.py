"""The deployment variant of a fusion (``PIPELINE=deploy``): one small network distilled from the full pipeline.

The full pipeline runs ``k`` folds of up to four networks, then a meta-classifier per fold: the paper's method,
and too slow to watch a busy network live on a laptop. The deployment variant keeps its preprocessor and
replaces everything after it by one small model trained to give the full pipeline's class probabilities (its
*teacher*): the soft targets are the full pipeline's probabilities of the training rows, early stopping watches
the cross-entropy to its probabilities of the validation rows, and no label and no test row is seen
(:func:`distil`). Two students are trained, a small multilayer perceptron (:func:`student`) and a small ensemble
of boosted trees (:func:`distil_trees`), and the one whose cross-entropy to the teacher on the validation rows is
lower is kept (both are recorded). What it costs is measured, never assumed: its macro-F1 beside the full
fusion's and how often its decision (the likeliest class) is the full pipeline's on the test rows
(:func:`agreement`).

The soft targets are what the saved pipeline itself answers on the training rows: each fold's networks saw
``(k-1)/k`` of those rows, so the answers are surer there than on new rows. The other choice, the training rows'
out-of-fold outputs through the meta-classifier, has the meta-classifier answer on the rows it was fitted on; no
target of a training row is free of one of the two. Early stopping watches rows neither saw (the validation
rows), and the agreement is measured on the test rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import xgboost as xgb

from lib import baselines, io, metrics, models

#: ``PIPELINE``: the full fusion (the paper's) or its distilled deployment variant.
PIPELINES = ("full", "deploy")
#: The student's layers and training: the features and their :class:`LogScale`, two hidden ReLU layers; Adam;
#: batches of 256; early stopping on the validation cross-entropy to the teacher (patience 10, the best weights
#: restored) ends the training; 500 epochs are a cap.
STUDENT = {"hidden": (64, 32), "epochs": 500, "batch_size": 256, "patience": 10, "learning_rate": 1e-3}
#: The boosted-tree student: at most 100 rounds (one tree per class each) of depth 8 at a learning rate of 0.5,
#: early stopping on the validation cross-entropy to the teacher (patience 10); a few hundred trees in all, so it
#: stays fast. A training row enters once per class the teacher gives at least ``min_probability``, weighted by
#: that probability: the trees' loss is the cross-entropy to the teacher's probabilities, up to those dropped.
TREE_STUDENT = {"rounds": 100, "max_depth": 8, "learning_rate": 0.5, "patience": 10, "min_probability": 1e-3}
#: The students :func:`distil` trains: ``mlp`` (:func:`student`) and ``trees`` (:func:`distil_trees`).
KINDS = ("mlp", "trees")
#: The file of each kind of student in a pipeline folder.
STUDENT_FILES = {"mlp": "student.keras", "trees": "student.ubj"}
#: The contender name the deployment variant is reported under.
CONTENDER = metrics.DEPLOY_CONTENDER
#: :class:`LogScale`'s stretch: a scaled feature of 1e-5 (a byte count of 1 on a scale to 1e5) maps to 0.06.
LOG_STRETCH = 1e5


@keras.saving.register_keras_serializable(package="iot_botnet")
class LogScale(keras.layers.Layer):
    """``sign(x) * log1p(stretch * |x|) / log1p(stretch)``: a fixed increasing map, fitted on nothing, that takes
    ``[0, 1]`` onto itself and keeps the sign of a value below a scaler's training minimum (or of a standard-scaled
    one). Min-max scaled flow features are heavy-tailed (a duration or byte count of most flows is a small fraction
    of the largest), so most rows sit within a few thousandths of zero, where a small network resolves them
    poorly; the logarithm spreads them out. The student reads both, so a feature whose scale is already even
    loses nothing. Registered, so Keras' safe loading reads it back."""

    def __init__(self, stretch: float = LOG_STRETCH, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stretch = float(stretch)

    def call(self, x):
        return keras.ops.sign(x) * keras.ops.log1p(keras.ops.abs(x) * self.stretch) / float(np.log1p(self.stretch))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stretch": self.stretch}


def student(n_features: int, n_classes: int, hidden: tuple[int, ...] = STUDENT["hidden"]) -> keras.Model:
    """A multilayer perceptron over the preprocessed features (a flat row, not a sequence) and their
    :class:`LogScale`, side by side, with a softmax over the ``n_classes`` classes (two for a binary run: its
    probabilities are the teacher's two columns)."""
    inputs = keras.Input(shape=(n_features,), name="flow_features")
    x = keras.layers.Concatenate(name="features_and_logs")([inputs, LogScale(name="log_scale")(inputs)])
    for i, units in enumerate(hidden, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="class_probabilities")(x)
    return keras.Model(inputs, outputs, name="deploy_student")


@dataclass
class DistilledModel:
    """The deployment variant's model: :meth:`predict_proba` of preprocessed rows, as a
    :class:`lib.fusion.stacking.FusionModel` gives it (float64, ``(n, n_classes)``). ``network`` is the student:
    a Keras network (``kind="mlp"``) or an XGBoost booster (``kind="trees"``); ``tried``: the validation
    cross-entropy to the teacher of every student :func:`distil` trained, this one's included."""

    network: keras.Model | xgb.Booster
    n_classes: int
    history: dict[str, list[float]] = field(default_factory=dict)
    kind: str = "mlp"
    tried: dict[str, float] = field(default_factory=dict)
    contender: str = CONTENDER
    fold_models: list = field(default_factory=list)  # none: one model, nothing to run side by side
    meta_name: str | None = None  # no meta-classifier

    def predict_proba(self, X: np.ndarray, fold_outputs: Any = None) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if self.kind == "trees":
            proba = self.network.inplace_predict(X) if len(X) else np.empty((0, self.n_classes))
            return np.asarray(proba, dtype=np.float64).reshape(len(X), self.n_classes)
        return np.asarray(models.forward(self.network, X), dtype=np.float64)

    def describe(self) -> str:
        """The student in a few words: its layers and weights, or its trees."""
        if self.kind == "trees":
            return f"boosted trees, {self.network.num_boosted_rounds()} rounds of {self.n_classes} trees"
        hidden = [layer.units for layer in self.network.layers if layer.name.startswith("hidden_")]
        return f"one network, hidden layers {hidden}, {self.network.count_params():,} weights"

    def save(self, folder: Any) -> str:
        """Write the student into the pipeline folder ``folder``; returns its file name (:data:`STUDENT_FILES`)."""
        name = STUDENT_FILES[self.kind]
        if self.kind == "trees":
            io.atomic_write(folder / name, lambda tmp: self.network.save_model(str(tmp)))
        else:
            models.save_model(self.network, folder / name.removesuffix(".keras"))
        return name


def load_student(path: Any, data: bytes, n_classes: int) -> DistilledModel:
    """The student saved by :meth:`DistilledModel.save` at ``path``, loaded from ``data`` (its bytes, already checked
    against the hash its folder recorded): a ``.keras`` file in Keras' safe mode, a ``.ubj`` file with XGBoost (no
    pickle either way). A file neither can read is a :class:`lib.io.ModelFileError` naming it."""
    if str(path).endswith(".ubj"):
        return DistilledModel(baselines.read_xgboost(xgb.Booster(), path, data), n_classes, kind="trees")
    return DistilledModel(models.read_keras(path, data), n_classes)


def cross_entropy(teacher: np.ndarray, student: np.ndarray) -> float:
    """Mean over rows of ``-sum(p * log q)``: the student's probabilities ``q`` against the teacher's ``p``
    (``q`` clipped at 1e-7)."""
    q = np.clip(np.asarray(student, dtype=np.float64), 1e-7, 1.0)
    return float(-(np.asarray(teacher, dtype=np.float64) * np.log(q)).sum(axis=1).mean())


def distil(
    teacher: Any,
    X_train: np.ndarray,
    X_val: np.ndarray,
    seed: int,
    config: dict[str, Any] | None = None,
) -> DistilledModel:
    """Train each student of ``config["kinds"]`` (default :data:`KINDS`) on the teacher's class probabilities
    (``teacher.predict_proba``) of the training rows, with early stopping on the cross-entropy to its probabilities
    of the validation rows, seeded with ``seed``, and keep the one whose cross-entropy to the teacher on the
    validation rows is lowest (every student's in ``tried``). ``config``: :data:`STUDENT`'s keys for the network,
    ``trees`` (a dict) for :data:`TREE_STUDENT`'s."""
    config = {**STUDENT, "kinds": KINDS, **(config or {})}
    unknown = sorted(set(config["kinds"]) - set(KINDS))
    if unknown or not config["kinds"]:
        raise ValueError(f"students must be some of {', '.join(KINDS)}, not {list(config['kinds'])}")
    soft_train = np.asarray(teacher.predict_proba(X_train), dtype=np.float32)
    soft_val = np.asarray(teacher.predict_proba(X_val), dtype=np.float32)
    trained = {}
    if "mlp" in config["kinds"]:
        trained["mlp"] = distil_network(soft_train, soft_val, X_train, X_val, seed, config)
    if "trees" in config["kinds"]:
        trained["trees"] = distil_trees(soft_train, soft_val, X_train, X_val, seed, config.get("trees"))
    tried = {kind: cross_entropy(soft_val, model.predict_proba(X_val)) for kind, model in trained.items()}
    kept = trained[min(tried, key=tried.get)]
    kept.tried = tried
    return kept


def distil_network(
    soft_train: np.ndarray, soft_val: np.ndarray, X_train: np.ndarray, X_val: np.ndarray, seed: int, config: dict
) -> DistilledModel:
    """:func:`student` trained on the teacher's probabilities ``soft_train`` with early stopping on the cross-entropy
    to ``soft_val`` (:data:`STUDENT`'s settings from ``config``)."""
    n_classes = soft_train.shape[1]
    keras.utils.set_random_seed(seed)
    network = student(np.asarray(X_train).shape[1], n_classes, tuple(config["hidden"]))
    network.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config["learning_rate"]), loss="categorical_crossentropy"
    )
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config["patience"], restore_best_weights=True)
    fitted = network.fit(
        np.asarray(X_train, dtype=np.float32),
        soft_train,
        validation_data=(np.asarray(X_val, dtype=np.float32), soft_val),
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        callbacks=[stop],
        shuffle=True,
        verbose=0,
    )
    history = {key: [float(v) for v in values] for key, values in fitted.history.items()}
    return DistilledModel(network, n_classes, history)


def _soft_rows(X: np.ndarray, soft: np.ndarray, min_probability: float) -> xgb.DMatrix:
    """Each row once per class the teacher gives at least ``min_probability`` (and always for its likeliest class),
    labelled with that class and weighted by its probability: a copy of the rows, a little more than one per row
    where the teacher is sure."""
    keep = (soft >= min_probability) | (np.arange(soft.shape[1]) == soft.argmax(axis=1)[:, None])
    rows, classes = np.nonzero(keep)
    return xgb.DMatrix(np.asarray(X, dtype=np.float32)[rows], label=classes, weight=soft[rows, classes])


def distil_trees(
    soft_train: np.ndarray, soft_val: np.ndarray, X_train: np.ndarray, X_val: np.ndarray, seed: int,
    config: dict | None = None,
) -> DistilledModel:  # fmt: skip
    """Boosted trees (XGBoost, ``multi:softprob``) trained on the teacher's probabilities ``soft_train``, early
    stopping on the cross-entropy to ``soft_val`` (:data:`TREE_STUDENT`, updated by ``config``); the trees after the
    best round are dropped."""
    config = {**TREE_STUDENT, **(config or {})}
    n_classes = soft_train.shape[1]
    train = _soft_rows(X_train, soft_train, config["min_probability"])
    val = _soft_rows(X_val, soft_val, config["min_probability"])
    params = {
        "objective": "multi:softprob", "num_class": n_classes, "eval_metric": "mlogloss", "tree_method": "hist",
        "max_depth": config["max_depth"], "learning_rate": config["learning_rate"], "seed": seed,
    }  # fmt: skip
    found: dict[str, dict[str, list[float]]] = {}
    booster = xgb.train(
        params, train, num_boost_round=config["rounds"], evals=[(train, "train"), (val, "val")],
        early_stopping_rounds=config["patience"], evals_result=found, verbose_eval=False,
    )  # fmt: skip
    best = booster.best_iteration + 1 if hasattr(booster, "best_iteration") else booster.num_boosted_rounds()
    history = {"loss": found["train"]["mlogloss"][:best], "val_loss": found["val"]["mlogloss"][:best]}
    return DistilledModel(booster[:best], n_classes, history, kind="trees")


def agreement(ours: np.ndarray, theirs: np.ndarray) -> float:
    """The share of rows whose likeliest class is the same under two sets of class probabilities."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.shape != theirs.shape:
        raise ValueError(f"probabilities of shapes {ours.shape} and {theirs.shape}")
    return float(np.mean(ours.argmax(axis=1) == theirs.argmax(axis=1))) if len(ours) else float("nan")
