"""The three deep models of the paper (CNN-LSTM hybrid, CNN-only, LSTM-only): build, train, save, predict.

Backs ``notebooks/03_cnn_lstm.ipynb`` and reproduces Section I.B ("Hybrid Deep Learning Framework") and the
deep rows of Table 1 of Suryawanshi & Jagtap. Each flow's preprocessed feature vector is read as a sequence
of ``n_features`` steps with one channel, shape ``(n_features, 1)``: the convolutions look at neighbouring
features ("spatial" in the paper), the LSTM reads the convolved sequence ("temporal").

The paper gives no hyperparameters (no layer sizes, optimiser, epochs or batch size). The defaults here
are the configuration most often used in published Conv1D+LSTM intrusion-detection work:
Conv1D(64, 3) x 2 -> MaxPool(2) -> LSTM(64) -> Dense(64) -> Dropout(0.3) -> output, trained with Adam
(learning rate 1e-3) and early stopping on the validation loss. The CNN-only and LSTM-only models keep the
same blocks and drop the other half, so the comparison isolates the contribution of each part.

Heads: binary = one sigmoid unit (P(attack)); multi-class = softmax over ``n_classes``. Every layer has a
readable name so that an architecture figure can be drawn from the real model.

:class:`DeepConfig` is the one configuration of the deep models: notebook 03 declares it (its parameters), the
run folder records it with the trained models, and notebooks 04 and 05 read it from there, so every deep
model of a run is built and trained the same way. :func:`train_and_evaluate` is notebook 03's loop over
seeds and models.

This module, ``lib/fusion.py`` and ``lib/anomaly.py`` are the modules of ``lib`` that import Keras/TensorFlow.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import product
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from tqdm.auto import tqdm

from lib import metrics

if TYPE_CHECKING:
    from lib.preprocess import PreparedData
    from lib.run import Stage

MODEL_BUILDERS = ("cnn_lstm", "cnn_only", "lstm_only")
PREDICT_BATCH_SIZE = 8192


@dataclass(frozen=True)
class DeepConfig:
    """How every deep model of a run is built and trained (notebook 03's parameters; the paper states none).

    Architecture: Conv1D(``filters``, ``kernel_size``) x ``n_conv`` -> MaxPool(``pool_size``) -> LSTM(``lstm_units``)
    -> Dense(``dense_units``) -> Dropout(``dropout``) (each builder takes the parts it has). Training: Adam at
    ``learning_rate`` with gradient-norm clipping ``clipnorm``, ``batch_size``, at most ``epochs`` with early
    stopping after ``patience`` epochs without a lower validation loss; ``class_weight`` weights classes
    inversely to their training frequency.
    """

    filters: int = 64
    kernel_size: int = 3
    n_conv: int = 2
    pool_size: int = 2
    lstm_units: int = 64
    dense_units: int = 64
    dropout: float = 0.3
    epochs: int = 80
    batch_size: int = 256
    patience: int = 10
    learning_rate: float = 1e-3
    clipnorm: float | None = 1.0
    class_weight: bool = False

    def architecture(self) -> dict[str, Any]:
        """The layer settings, as keyword arguments of :func:`build`."""
        names = ("filters", "kernel_size", "n_conv", "pool_size", "lstm_units", "dense_units", "dropout")
        return {name: getattr(self, name) for name in names}

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> DeepConfig:
        """From notebook 03's parameters: each field is the parameter of the same name in upper case."""
        return cls(
            **{f.name: parameters[f.name.upper()] for f in dataclasses.fields(cls) if f.name.upper() in parameters}
        )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DeepConfig:
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown deep-model setting(s) {unknown}")
        return cls(**values)


def stage_configs(info: dict[str, Any]) -> dict[str, DeepConfig]:
    """The configuration of each deep model notebook 03 trained, from its stage's ``info``.

    ``info["configs"]`` maps each model name to its own configuration (after a hyperparameter search the models
    differ); a run that recorded one shared ``info["config"]`` gives every model that one.
    """
    if "configs" in info:
        return {name: DeepConfig.from_dict(values) for name, values in info["configs"].items()}
    shared = DeepConfig.from_dict(info["config"])
    return {name: shared for name in info["models"]}


class _DropRetracingWarnings(logging.Filter):
    # Building one model per (architecture, seed) in a loop makes TensorFlow warn that predict functions are
    # "retraced": expected here (every model has its own graph) and harmless, so kept out of the notebooks.
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_DropRetracingWarnings())


def _seed(seed: int | None) -> None:
    # Weights are drawn when the layers are built, so the seed has to be set before, not only in train().
    if seed is not None:
        keras.utils.set_random_seed(seed)


def _inputs(n_features: int) -> keras.KerasTensor:
    if n_features < 1:
        raise ValueError(f"n_features must be at least 1, got {n_features}")
    return keras.Input(shape=(n_features, 1), name="flow_features")


def _conv_blocks(x: keras.KerasTensor, *, filters: int, kernel_size: int, n_conv: int, pool_size: int):
    # "same" padding keeps the sequence length, so a data set with few features never shrinks to nothing.
    for i in range(1, n_conv + 1):
        x = keras.layers.Conv1D(filters, kernel_size, padding="same", activation="relu", name=f"conv1d_{i}")(x)
    if pool_size > 1:
        x = keras.layers.MaxPooling1D(pool_size, padding="same", name="max_pool")(x)
    return x


def _head(x: keras.KerasTensor, *, n_classes: int, dense_units: int, dropout: float) -> keras.KerasTensor:
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    x = keras.layers.Dense(dense_units, activation="relu", name="fully_connected")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    if n_classes == 2:
        return keras.layers.Dense(1, activation="sigmoid", name="attack_probability")(x)
    return keras.layers.Dense(n_classes, activation="softmax", name="class_probabilities")(x)


def cnn_lstm(
    n_features: int,
    n_classes: int,
    *,
    filters: int = 64,
    kernel_size: int = 3,
    n_conv: int = 2,
    pool_size: int = 2,
    lstm_units: int = 64,
    dense_units: int = 64,
    dropout: float = 0.3,
    seed: int | None = None,
) -> keras.Model:
    """CNN-LSTM hybrid: ``n_conv`` x Conv1D -> MaxPool -> LSTM over the convolved sequence -> Dense -> Dropout.

    Defaults: the paper states none; Conv1D(64, 3) x 2, MaxPool(2), LSTM(64), Dense(64), Dropout(0.3) is the
    configuration of widely used published CNN-LSTM IDS work (see the module docstring).
    ``n_classes == 2`` gives one sigmoid unit, more gives a softmax. ``seed`` seeds Keras before the weights
    are drawn (pass the same seed to :func:`train`). The model is returned uncompiled: :func:`train` compiles it.
    """
    _seed(seed)
    inputs = _inputs(n_features)
    x = _conv_blocks(inputs, filters=filters, kernel_size=kernel_size, n_conv=n_conv, pool_size=pool_size)
    x = keras.layers.LSTM(lstm_units, name="lstm")(x)
    outputs = _head(x, n_classes=n_classes, dense_units=dense_units, dropout=dropout)
    return keras.Model(inputs, outputs, name="cnn_lstm")


def cnn_only(
    n_features: int,
    n_classes: int,
    *,
    filters: int = 64,
    kernel_size: int = 3,
    n_conv: int = 2,
    pool_size: int = 2,
    dense_units: int = 64,
    dropout: float = 0.3,
    seed: int | None = None,
) -> keras.Model:
    """CNN-only ablation: the hybrid's convolution blocks, flattened, then the same Dense/Dropout head."""
    _seed(seed)
    inputs = _inputs(n_features)
    x = _conv_blocks(inputs, filters=filters, kernel_size=kernel_size, n_conv=n_conv, pool_size=pool_size)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = _head(x, n_classes=n_classes, dense_units=dense_units, dropout=dropout)
    return keras.Model(inputs, outputs, name="cnn_only")


def lstm_only(
    n_features: int,
    n_classes: int,
    *,
    lstm_units: int = 64,
    dense_units: int = 64,
    dropout: float = 0.3,
    seed: int | None = None,
) -> keras.Model:
    """LSTM-only ablation: the LSTM reads the raw feature sequence, then the same Dense/Dropout head."""
    _seed(seed)
    inputs = _inputs(n_features)
    x = keras.layers.LSTM(lstm_units, name="lstm")(inputs)
    outputs = _head(x, n_classes=n_classes, dense_units=dense_units, dropout=dropout)
    return keras.Model(inputs, outputs, name="lstm_only")


def build(name: str, n_features: int, n_classes: int, **hyperparameters: Any) -> keras.Model:
    """Build one of :data:`MODEL_BUILDERS` by name; hyperparameters a builder does not take are ignored.

    This lets a notebook pass one set of hyperparameters to all three models (the LSTM-only model has no
    filters, the CNN-only model no LSTM).
    """
    if name not in MODEL_BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose one of {MODEL_BUILDERS}")
    builder = globals()[name]
    accepted = builder.__kwdefaults__ or {}
    return builder(n_features, n_classes, **{k: v for k, v in hyperparameters.items() if k in accepted})


def as_sequence(X: np.ndarray) -> np.ndarray:
    """``(n, n_features)`` -> ``(n, n_features, 1)`` float32, the input shape of every model here."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim != 3 or X.shape[2] != 1:
        raise ValueError(f"expected X of shape (n, n_features) or (n, n_features, 1), got {X.shape}")
    return X


def is_binary(model: keras.Model) -> bool:
    """True if ``model`` has the one-unit sigmoid head."""
    return model.outputs[0].shape[-1] == 1


def balanced_class_weight(y: np.ndarray, n_classes: int) -> dict[int, float]:
    """Keras ``class_weight`` that makes every present class weigh the same in total: n / (k * count)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return {int(c): float(weights[c]) for c in range(n_classes) if present[c]}


def train(
    model: keras.Model,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    class_weight: dict[int, float] | None = None,
    patience: int = 10,
    learning_rate: float = 1e-3,
    clipnorm: float | None = 1.0,
    verbose: int = 0,
) -> dict[str, list[float]]:
    """Compile ``model`` with Adam and fit it; return the history (``loss``, ``accuracy``, ``val_loss``, ...).

    Early stopping watches the validation loss and restores the weights of the best epoch, so the model you
    get back is the one with the lowest ``val_loss``. The validation rows are carved from the training part
    by notebook 01; the test set is never seen here. Keras is seeded with ``seed`` (Python, NumPy and
    TensorFlow generators, weight initialisation, dropout and shuffling). The NumPy arrays go straight to
    ``fit``, which is as fast as a hand-made ``tf.data`` pipeline on a 2-core CPU for data that fits in memory.

    Gradient-norm clipping (``clipnorm=1.0``) and ``patience=10`` were chosen on *validation* loss only: on
    the IoT-23 mirror, with no clipping and a patience of 3, the recurrent models stalled or diverged early
    for some seeds (best validation loss 0.28-0.43 against 0.15); with both, all three seeds converged.
    """
    keras.utils.set_random_seed(seed)
    binary = is_binary(model)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    target_dtype = np.float32 if binary else np.int64
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(
        as_sequence(X_train),
        np.asarray(y_train, dtype=target_dtype),
        validation_data=(as_sequence(X_val), np.asarray(y_val, dtype=target_dtype)),
        epochs=epochs,
        batch_size=batch_size,
        class_weight=class_weight,
        callbacks=[stop],
        shuffle=True,
        verbose=verbose,
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def predict_proba(model: keras.Model, X: np.ndarray, *, batch_size: int = PREDICT_BATCH_SIZE) -> np.ndarray:
    """Class probabilities, shape ``(n, n_classes)``; for the binary head the columns are [P(benign), P(attack)]."""
    raw = model.predict(as_sequence(X), batch_size=batch_size, verbose=0).astype(np.float64)
    if raw.shape[1] == 1:
        p_attack = raw[:, 0]
        return np.column_stack([1.0 - p_attack, p_attack])
    return raw


def count_params(model: keras.Model) -> int:
    """Number of weights of ``model`` (all of them are trainable here)."""
    return int(model.count_params())


def fit_config(
    name: str,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    n_classes: int,
    config: DeepConfig,
    seed: int,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Build model ``name`` with ``config`` and seed ``seed``, train it with early stopping on the validation
    rows; return the model (best epoch restored) and its history."""
    model = build(name, X_train.shape[1], n_classes, seed=seed, **config.architecture())
    class_weight = balanced_class_weight(y_train, n_classes) if config.class_weight else None
    history = train(
        model,
        X_train,
        y_train,
        X_val,
        y_val,
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=seed,
        class_weight=class_weight,
        patience=config.patience,
        learning_rate=config.learning_rate,
        clipnorm=config.clipnorm,
    )
    return model, history


def train_and_evaluate(
    data: PreparedData,
    *,
    names: Sequence[str],
    config: DeepConfig,
    seeds: Sequence[int],
    train_split: str = "train",
    stage: Stage | None = None,
) -> metrics.Results:
    """Notebook 03's runs: every model of ``names`` for every seed, trained on ``train_split``, scored on the
    test rows; with a ``stage``, each model, its history and its validation and test probabilities are saved."""
    X_train, y_train = data.split(train_split)
    results = metrics.Results()
    for seed, name in tqdm(list(product(seeds, names)), desc="deep models", unit="model"):
        with metrics.timer() as fitting:
            model, history = fit_config(
                name, X_train, y_train, data.X_val, data.y_val, n_classes=data.n_classes, config=config, seed=seed
            )
        proba, timing = metrics.timed_predictions(partial(predict_proba, model), data.X_test, fitting.seconds)
        epochs = {"epochs_run": len(history["loss"]), "best_epoch": int(np.argmin(history["val_loss"])) + 1}
        result = metrics.evaluate(data.y_test, proba, data.class_names)
        results.add(name, seed, result, timing, **epochs, n_train=len(y_train), n_test=len(data.y_test))
        if stage is not None:
            stage.save_model(name, seed, model)
            stage.save_history(name, seed, history)
            stage.save_predictions(name, seed, "test", proba)
            stage.save_predictions(name, seed, "val", predict_proba(model, data.X_val))
    return results
