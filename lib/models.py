"""The deep models: the paper's three (CNN-LSTM hybrid, CNN-only, LSTM-only) and a plain MLP; build, train, predict.

Backs ``notebooks/03_cnn_lstm.ipynb`` and reproduces Section I.B ("Hybrid Deep Learning Framework") and the
deep rows of Table 1 of Suryawanshi & Jagtap. Each flow's preprocessed feature vector is read as a sequence
of ``n_features`` steps with one channel, shape ``(n_features, 1)``: the convolutions look at neighbouring
features ("spatial" in the paper), the LSTM reads the convolved sequence ("temporal").

The paper gives no hyperparameters (no layer sizes, optimiser, epochs or batch size). The defaults here
are the configuration most often used in published Conv1D+LSTM intrusion-detection work:
Conv1D(64, 3) x 2 -> MaxPool(2) -> LSTM(64) -> Dense(64) -> Dropout(0.3) -> output, trained with Adam
(learning rate 1e-3) and early stopping on the validation loss. The CNN-only and LSTM-only models keep the
same blocks and drop the other half, so the comparison isolates the contribution of each part. The MLP (not
in the paper) reads the flow as a flat vector through two Dense+ReLU layers: the honest answer to "does
reading a flow's features as a sequence help?".

Training (:func:`train`): Adam, early stopping on the validation loss with the best epoch restored and,
optionally, a learning-rate schedule (``ReduceLROnPlateau`` on the validation loss; ``lr_patience=0``, the
default, trains exactly as the paper-faithful runs always did).

Heads: binary = one sigmoid unit (P(attack)); multi-class = softmax over ``n_classes``. Every layer has a
readable name so that an architecture figure can be drawn from the real model.

:class:`DeepConfig` is the one configuration of the deep models: notebook 03 declares it (its parameters), the
run folder records it with the trained models, and notebooks 04 and 05 read it from there, so every deep
model of a run is built and trained the same way, unless notebook 03 chose each model's own configuration on
validation rows (``lib/tuning.py``): then its stage records one configuration per model (:func:`stage_configs`).
:func:`train_and_evaluate` is notebook 03's loop over seeds and models.

This module, ``lib/tuning.py``, ``lib/fusion/`` and ``lib/anomaly/`` are the parts of ``lib`` that import
Keras/TensorFlow.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import pandas as pd

from lib import io, metrics, progress

if TYPE_CHECKING:
    from lib.preprocess import PreparedData

MODEL_BUILDERS = ("cnn_lstm", "cnn_only", "lstm_only", "mlp")
#: Keras dtype policies a model may be built with (:class:`DeepConfig`'s ``precision``).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
PREDICT_BATCH_SIZE = 8192


@dataclass(frozen=True)
class DeepConfig:
    """How a deep model is built and trained (notebook 03's parameters; the paper states none).

    Architecture: Conv1D(``filters``, ``kernel_size``) x ``n_conv`` -> MaxPool(``pool_size``) -> LSTM(``lstm_units``)
    -> Dense(``dense_units``) -> Dropout(``dropout``) (each builder takes the parts it has; the MLP is
    Dense(``mlp_units``) -> Dropout -> Dense(``dense_units``) -> Dropout). Training: Adam at ``learning_rate``
    with gradient-norm clipping ``clipnorm``, ``batch_size``, at most ``epochs`` with early stopping after
    ``patience`` epochs without a lower validation loss; ``class_weight`` weights classes inversely to their
    training frequency. ``precision``: Keras' dtype policy of every layer but the output, which stays float32
    (``"mixed_bfloat16"`` computes in bfloat16 with float32 weights: made for recent GPUs and CPUs with AMX; on a
    CPU with AVX-512 BF16 but no AMX it was not faster, see ``benchmarks/bench_roofline.py``). Learning-rate schedule: after ``lr_patience`` epochs without a lower validation loss the
    learning rate is multiplied by ``lr_factor``, down to ``min_learning_rate``; ``lr_patience=0`` means no
    schedule (the defaults: every field's default is the configuration of the paper-faithful runs, so a record
    written before a field existed reads back as what it trained). With a schedule, ``patience`` must be larger
    than ``lr_patience``: the rate has to be able to drop before training stops. ``jit_compile``: the training
    step compiled by XLA (:func:`train`); the same losses as without it (to float32 rounding) where no dropout is
    drawn, but XLA draws the dropout masks with its own generator, so a model with dropout trains as with another
    seed (and on a GPU, Keras runs an LSTM layer with cuDNN, which it does not compile).
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
    mlp_units: int = 128
    lr_patience: int = 0
    lr_factor: float = 0.5
    min_learning_rate: float = 1e-5
    precision: str = "float32"
    jit_compile: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"PRECISION must be one of {PRECISIONS}, got {self.precision!r}")
        if self.lr_patience < 0:
            raise ValueError(f"LR_PATIENCE must be 0 (no schedule) or more, got {self.lr_patience}")
        if self.lr_patience > 0 and self.patience <= self.lr_patience:
            raise ValueError(
                f"PATIENCE={self.patience} must be larger than LR_PATIENCE={self.lr_patience}: early stopping would "
                f"end training before the learning rate could drop. Fix: raise PATIENCE (e.g. to "
                f"{2 * self.lr_patience + 1}) or lower LR_PATIENCE"
            )
        if self.lr_patience > 0 and not 0 < self.lr_factor < 1:
            raise ValueError(f"LR_FACTOR must be between 0 and 1 (exclusive), got {self.lr_factor}")

    def architecture(self) -> dict[str, Any]:
        """The layer settings, as keyword arguments of :func:`build`."""
        names = ("filters", "kernel_size", "n_conv", "pool_size", "lstm_units", "dense_units", "dropout", "mlp_units")
        names += ("precision",)
        return {name: getattr(self, name) for name in names}

    def training(self) -> dict[str, Any]:
        """The training settings, as keyword arguments of :func:`train` (``class_weight`` apart: it needs ``y``)."""
        names = ("epochs", "batch_size", "patience", "learning_rate", "clipnorm")
        names += ("lr_patience", "lr_factor", "min_learning_rate", "jit_compile")
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
    # the output in float32 whatever the policy: probabilities near 0 and 1 are what the thresholds read
    if n_classes == 2:
        return keras.layers.Dense(1, activation="sigmoid", name="attack_probability", dtype="float32")(x)
    return keras.layers.Dense(n_classes, activation="softmax", name="class_probabilities", dtype="float32")(x)


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


def mlp(
    n_features: int,
    n_classes: int,
    *,
    mlp_units: int = 128,
    dense_units: int = 64,
    dropout: float = 0.3,
    seed: int | None = None,
) -> keras.Model:
    """Plain MLP (not in the paper): the flow as a flat vector -> Dense(``mlp_units``, ReLU) -> Dropout -> the same
    Dense(``dense_units``)/Dropout head as the others (its ``fully_connected`` layer is the second hidden layer).

    It takes the same ``(n_features, 1)`` input as the other models (flattened first), so every function here
    treats it like them. It answers the question the ablations leave open: does reading the features as a
    sequence (convolutions, an LSTM) help at all over an unordered vector?
    """
    _seed(seed)
    inputs = _inputs(n_features)
    x = keras.layers.Flatten(name="flatten")(inputs)
    x = keras.layers.Dense(mlp_units, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(dropout, name="hidden_dropout")(x)
    outputs = _head(x, n_classes=n_classes, dense_units=dense_units, dropout=dropout)
    return keras.Model(inputs, outputs, name="mlp")


def build(
    name: str, n_features: int, n_classes: int, precision: str = "float32", **hyperparameters: Any
) -> keras.Model:
    """Build one of :data:`MODEL_BUILDERS` by name; hyperparameters a builder does not take are ignored.

    This lets a notebook pass one set of hyperparameters to all the models (the LSTM-only model has no
    filters, the CNN-only model no LSTM, the MLP neither). ``precision`` is the layers' dtype policy (one of
    :data:`PRECISIONS`); Keras' global policy is restored afterwards.
    """
    if name not in MODEL_BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose one of {MODEL_BUILDERS}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    builder = globals()[name]
    accepted = builder.__kwdefaults__ or {}
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        return builder(n_features, n_classes, **{k: v for k, v in hyperparameters.items() if k in accepted})
    finally:
        keras.config.set_dtype_policy(before)


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


def _stopping(
    patience: int, lr_patience: int, lr_factor: float, min_learning_rate: float
) -> tuple[keras.callbacks.Callback, list[keras.callbacks.Callback]]:
    """Early stopping on the validation loss (best weights restored) and, with ``lr_patience > 0``, the
    learning-rate schedule (:func:`train`)."""
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    if lr_patience <= 0:
        return stop, []
    schedule = keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss", factor=lr_factor, patience=lr_patience, min_lr=min_learning_rate
    )
    return stop, [schedule]


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
    lr_patience: int = 0,
    lr_factor: float = 0.5,
    min_learning_rate: float = 1e-5,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
    jit_compile: bool = False,
) -> dict[str, list[float]]:
    """Compile ``model`` with Adam and fit it; return the history (``loss``, ``accuracy``, ``val_loss``, ...).

    Early stopping watches the validation loss and restores the weights of the best epoch, so the model you
    get back is the one with the lowest ``val_loss``. With ``lr_patience > 0`` a ``ReduceLROnPlateau`` schedule
    multiplies the learning rate by ``lr_factor`` after ``lr_patience`` epochs without a lower validation loss
    (never below ``min_learning_rate``) and the history gains ``learning_rate`` (the rate of each epoch);
    ``lr_patience=0`` adds nothing, so training is exactly what it was before the schedule existed.
    ``callbacks`` are added after those (``lib/tuning.py`` passes its pruning callback). The validation rows are
    carved from the training part by notebook 01; the test set is never seen here. Keras is seeded with
    ``seed`` (Python, NumPy and TensorFlow generators, weight initialisation, dropout and shuffling). The NumPy
    arrays go straight to ``fit``, which is as fast as a hand-made ``tf.data`` pipeline on a 2-core CPU for data
    that fits in memory.

    ``jit_compile=True`` compiles the training step with XLA (:class:`DeepConfig`'s ``jit_compile``).

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
        jit_compile=jit_compile,  # Keras' "auto" never compiles on a CPU: the choice is the caller's
    )
    target_dtype = np.float32 if binary else np.int64
    stop, schedule = _stopping(patience, lr_patience, lr_factor, min_learning_rate)
    history = model.fit(
        as_sequence(X_train),
        np.asarray(y_train, dtype=target_dtype),
        validation_data=(as_sequence(X_val), np.asarray(y_val, dtype=target_dtype)),
        epochs=epochs,
        batch_size=batch_size,
        class_weight=class_weight,
        callbacks=[stop, *schedule, *callbacks],
        shuffle=True,
        verbose=verbose,
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def predict_proba(model: keras.Model, X: np.ndarray, *, batch_size: int = PREDICT_BATCH_SIZE) -> np.ndarray:
    """Class probabilities, shape ``(n, n_classes)``; for the binary head the columns are [P(benign), P(attack)]."""
    return proba_from_output(forward(model, as_sequence(X), batch_size))


def forward(model: keras.Model, X: Any, batch_size: int = PREDICT_BATCH_SIZE) -> Any:
    """``model.predict(X, batch_size=batch_size)``; an input of at most one batch goes through
    ``predict_on_batch`` instead: the same numbers without ``predict``'s set-up (about 35 ms a call, which
    dominated scoring the small batches of ``iot-botnet score --follow``)."""
    n = len(X[0]) if isinstance(X, list | tuple) else len(X)
    if 0 < n <= batch_size:
        return model.predict_on_batch(X)
    return model.predict(X, batch_size=batch_size, verbose=0)


def proba_from_output(raw: np.ndarray) -> np.ndarray:
    """A network's output as class probabilities ``(n, n_classes)`` (float64): the binary head's single
    sigmoid becomes the columns [P(benign), P(attack)]."""
    raw = np.asarray(raw).astype(np.float64)
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
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Build model ``name`` with ``config`` and seed ``seed``, train it with early stopping (and ``config``'s
    learning-rate schedule) on the validation rows; return the model (best epoch restored) and its history."""
    model = build(name, X_train.shape[1], n_classes, seed=seed, **config.architecture())
    class_weight = balanced_class_weight(y_train, n_classes) if config.class_weight else None
    history = train(
        model, X_train, y_train, X_val, y_val, seed=seed, class_weight=class_weight, callbacks=callbacks,
        **config.training(),
    )  # fmt: skip
    return model, history


class EpochPostfix(keras.callbacks.Callback):
    """Shows the epoch and validation loss of the model being trained beside a progress bar (``bar``), redrawn at
    most every ``every`` seconds."""

    def __init__(self, bar: Any, label: str, every: float = 5.0):
        super().__init__()
        self.bar, self.label, self.every, self.shown = bar, label, every, 0.0

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if time.monotonic() - self.shown < self.every:
            return
        self.shown = time.monotonic()
        loss = (logs or {}).get("val_loss")
        self.bar.set_postfix_str(
            f"{self.label}: epoch {epoch + 1}" + ("" if loss is None else f", val_loss {loss:.4f}")
        )


def per_model(config: DeepConfig | Mapping[str, DeepConfig], names: Sequence[str]) -> dict[str, DeepConfig]:
    """``{name: config}`` for ``names``: one shared :class:`DeepConfig` for all, or each model's own from a mapping
    (an error names the models it lacks)."""
    if isinstance(config, DeepConfig):
        return dict.fromkeys(names, config)
    missing = [name for name in names if name not in config]
    if missing:
        raise ValueError(
            f"no configuration for the deep model(s) {missing} (no deep-model configuration for {missing} among "
            f"those given, for {list(config)})"
        )
    return {name: config[name] for name in names}


def configs_record(configs: Mapping[str, DeepConfig]) -> dict[str, dict[str, Any]]:
    """Each model's configuration as plain values (what notebook 03's stage records; :func:`stage_configs`
    reads it back)."""
    return {name: config.as_dict() for name, config in configs.items()}


def configs_frame(configs: Mapping[str, DeepConfig], names: Sequence[str]) -> pd.DataFrame:
    """One column per model of ``names``: its configuration's settings."""
    return pd.DataFrame({name: configs[name].as_dict() for name in names})


def config_table(configs: Mapping[str, DeepConfig], n_features: int, n_classes: int) -> pd.DataFrame:
    """One row per model: its display name, its number of weights and every setting of its configuration."""
    rows = [
        {
            "model": metrics.MODEL_NAMES.get(name, name),
            "parameters": count_params(build(name, n_features, n_classes, **c.architecture())),
        }
        | c.as_dict()
        for name, c in configs.items()
    ]
    return pd.DataFrame(rows)


def train_and_evaluate(
    data: PreparedData,
    *,
    names: Sequence[str],
    config: DeepConfig | Mapping[str, DeepConfig],
    seeds: Sequence[int],
    train_split: str = "train",
    on_model: Callable[[str, int, Any], Any] | None = None,
) -> metrics.Results:
    """Notebook 03's runs: every model of ``names`` for every seed, trained on ``train_split``, scored on the
    test rows. The results hold each trained model, its history and its validation and test probabilities, for
    the notebook to save; ``on_model(name, seed, model)``, when given, receives each model as soon as it is
    scored instead (one network in memory at a time).

    ``config`` is one :class:`DeepConfig` for every model, or a mapping from model name to that model's own
    configuration (what ``lib/tuning.py`` chose on validation rows)."""
    configs = per_model(config, names)
    X_train, y_train = data.split(train_split)
    results = metrics.Results()
    runs = progress.bar(list(product(seeds, names)), desc="deep models", unit="model")
    for seed, name in runs:
        with metrics.timer() as fitting:
            model, history = fit_config(
                name, X_train, y_train, data.X_val, data.y_val, n_classes=data.n_classes, config=configs[name],
                seed=seed, callbacks=[EpochPostfix(runs, f"{name}, seed {seed}")],
            )  # fmt: skip
        proba, timing = metrics.timed_predictions(partial(predict_proba, model), data.X_test, fitting.seconds)
        epochs = {"epochs_run": len(history["loss"]), "best_epoch": int(np.argmin(history["val_loss"])) + 1}
        result = metrics.evaluate(data.y_test, proba, data.class_names)
        results.add(name, seed, result, timing, **epochs, n_train=len(y_train), n_test=len(data.y_test))
        results.histories[name, seed] = history
        results.predictions[name, seed, "test"] = proba
        results.predictions[name, seed, "val"] = predict_proba(model, data.X_val)
        results.keep_model(name, seed, model, on_model)
    return results


# ------------------------------------------------------------------------------------------------ files
def save_model(model: keras.Model, stem: Path) -> Path:
    """A trained network as ``<stem>.keras`` (Keras' own format, no pickle), written atomically."""
    return io.atomic_write(Path(f"{stem}.keras"), model.save)


def load_model(stem: Path) -> keras.Model:
    """What :func:`save_model` wrote at ``stem``, loaded in Keras' safe mode (no arbitrary code; :func:`read_keras`)."""
    return read_keras(Path(f"{stem}.keras"))


#: What a user is told about a ``.keras`` file Keras' safe loading refuses.
REFUSED_KERAS = "no code from it ran; do not load it with safe_mode=False"


def read_keras(path: Path, data: bytes | None = None) -> keras.Model:
    """The network of the ``.keras`` file ``path``, loaded in Keras' safe mode: no code from the file runs.

    ``data``: the file's bytes, already read and checked against the sha256 its folder recorded
    (:meth:`lib.io.ModelFolder.read`); those bytes are what is loaded, never the file again (Keras reads a path,
    so they go through a private temporary copy). A file Keras refuses or can not read (a crafted ``Lambda``
    layer, a layer class this code does not register, a cut or corrupted archive) is a
    :class:`lib.io.ModelFileError` naming ``path``, with the exception's type and first line, no traceback."""
    path = Path(path)
    if data is None and not path.is_file():
        raise FileNotFoundError(f"{path}: no such file. Fix: rerun the notebook that saved it")
    if not (io.is_zip(data) if data is not None else zipfile.is_zipfile(path)):
        raise io.ModelFileError(f"{path}: not a Keras file (no zip archive: cut or corrupted). Fix: {io.RESTORE}")
    copy = None
    try:
        if data is None:
            return keras.models.load_model(path, safe_mode=True)
        with tempfile.TemporaryDirectory(prefix="iot-botnet-") as private:  # readable by this user only
            copy = Path(private) / path.name
            copy.write_bytes(data)
            return keras.models.load_model(copy, safe_mode=True)
    except Exception as err:  # every failure of Keras' loader means the same: this file is no network of ours
        reason = io.short_reason(err) if copy is None else io.short_reason(err).replace(str(copy), str(path))
        raise io.ModelFileError(
            f"{path}: Keras' safe loading refused it ({reason}); {REFUSED_KERAS}. The file was not saved by this "
            f"project's code, or was changed since. Fix: {io.RESTORE}"
        ) from None
