"""The deployment variant of a fusion (``PIPELINE=deploy``): one small network distilled from the full pipeline.

The full pipeline runs ``k`` folds of up to four networks, then a meta-classifier per fold: the paper's method,
and too slow to watch a busy network live on a laptop. The deployment variant keeps its preprocessor and
replaces everything after it by one small multilayer perceptron (:func:`student`) trained to give the full
pipeline's class probabilities (its *teacher*): the soft targets are the full pipeline's probabilities of the
training rows, early stopping watches the cross-entropy to its probabilities of the validation rows, and no
label and no test row is seen (:func:`distil`). What it costs is measured, never assumed: its macro-F1 beside the
full fusion's and how often its decision (the likeliest class) is the full pipeline's on the test rows
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

from lib import metrics, models

#: ``PIPELINE``: the full fusion (the paper's) or its distilled deployment variant.
PIPELINES = ("full", "deploy")
#: The student's layers and training: the features and their :class:`LogScale`, two hidden ReLU layers; Adam;
#: batches of 256; early stopping on the validation cross-entropy to the teacher (patience 10, the best weights
#: restored) ends the training; 500 epochs are a cap.
STUDENT = {"hidden": (64, 32), "epochs": 500, "batch_size": 256, "patience": 10, "learning_rate": 1e-3}
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
    :class:`lib.fusion.stacking.FusionModel` gives it (float64, ``(n, n_classes)``)."""

    network: keras.Model
    n_classes: int
    history: dict[str, list[float]] = field(default_factory=dict)
    contender: str = CONTENDER
    fold_models: list = field(default_factory=list)  # none: one network, nothing to run side by side
    meta_name: str | None = None  # no meta-classifier

    def predict_proba(self, X: np.ndarray, fold_outputs: Any = None) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        return np.asarray(models.forward(self.network, X), dtype=np.float64)


def distil(
    teacher: Any,
    X_train: np.ndarray,
    X_val: np.ndarray,
    seed: int,
    config: dict[str, Any] | None = None,
) -> DistilledModel:
    """Train :func:`student` on the teacher's class probabilities (``teacher.predict_proba``) of the training rows,
    with early stopping on the cross-entropy to its probabilities of the validation rows; seeded with ``seed``."""
    config = {**STUDENT, **(config or {})}
    soft_train = np.asarray(teacher.predict_proba(X_train), dtype=np.float32)
    soft_val = np.asarray(teacher.predict_proba(X_val), dtype=np.float32)
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


def agreement(ours: np.ndarray, theirs: np.ndarray) -> float:
    """The share of rows whose likeliest class is the same under two sets of class probabilities."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.shape != theirs.shape:
        raise ValueError(f"probabilities of shapes {ours.shape} and {theirs.shape}")
    return float(np.mean(ours.argmax(axis=1) == theirs.argmax(axis=1))) if len(ours) else float("nan")
