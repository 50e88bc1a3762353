"""Tests of lib/models.py: shapes, exact parameter counts, learning, early stopping, saving and seeding."""

from __future__ import annotations

import numpy as np
import pytest

from lib import metrics, models

TINY = {"filters": 8, "kernel_size": 3, "lstm_units": 8, "dense_units": 8, "dropout": 0.1}


def separable(n: int, n_classes: int, seed: int, n_features: int = 8):
    """Rows in [0, 1] whose class shifts the mean of every feature."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    X = rng.normal(size=(n, n_features)) * 0.05 + (y[:, None] + 1) / (n_classes + 1)
    return np.clip(X, 0, 1).astype(np.float32), y.astype(np.int64)


def conv1d(k: int, c_in: int, filters: int) -> int:
    return k * c_in * filters + filters


def lstm(c_in: int, units: int) -> int:
    return 4 * (c_in * units + units * units + units)  # input, recurrent and bias weights of 4 gates


def dense(c_in: int, units: int) -> int:
    return c_in * units + units


@pytest.mark.parametrize(("n_classes", "out_units"), [(2, 1), (5, 5)])
def test_default_parameter_counts_match_hand_computation(n_classes, out_units):
    convs = conv1d(3, 1, 64) + conv1d(3, 64, 64)  # 256 + 12 352
    head = dense(64, 64) + dense(64, out_units)
    assert models.cnn_lstm(20, n_classes).count_params() == convs + lstm(64, 64) + head
    # CNN-only: 20 steps, "same" padding, MaxPool(2) -> 10 steps x 64 filters flattened
    cnn_head = dense(10 * 64, 64) + dense(64, out_units)
    assert models.cnn_only(20, n_classes).count_params() == convs + cnn_head
    assert models.lstm_only(20, n_classes).count_params() == lstm(1, 64) + head
    if n_classes == 2:  # the same numbers written out once, as a check of the helpers above
        assert models.cnn_lstm(20, 2).count_params() == 49_857
        assert models.lstm_only(20, 2).count_params() == 21_121


def test_odd_feature_count_keeps_the_last_step_when_pooling():
    # 21 steps -> ceil(21 / 2) = 11 after MaxPool with "same" padding
    model = models.cnn_only(21, 2, **{k: v for k, v in TINY.items() if k != "lstm_units"})
    expected = conv1d(3, 1, 8) + conv1d(3, 8, 8) + dense(11 * 8, 8) + dense(8, 1)
    assert model.count_params() == expected


@pytest.mark.parametrize("name", models.MODEL_BUILDERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_output_shapes_and_probabilities(name, n_classes):
    model = models.build(name, 8, n_classes, seed=0, **TINY)
    assert model.input_shape == (None, 8, 1)
    assert model.output_shape == (None, 1 if n_classes == 2 else n_classes)
    assert models.is_binary(model) == (n_classes == 2)
    X, _ = separable(17, n_classes, seed=0)
    proba = models.predict_proba(model, X)
    assert proba.shape == (17, n_classes)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_layers_have_readable_names():
    names = [layer.name for layer in models.cnn_lstm(8, 2).layers]
    assert names == ["flow_features", "conv1d_1", "conv1d_2", "max_pool", "lstm", "fully_connected", "dropout"] + [
        "attack_probability"
    ]
    assert models.lstm_only(8, 4).layers[-1].name == "class_probabilities"


def test_build_rejects_unknown_names_and_ignores_foreign_hyperparameters():
    with pytest.raises(ValueError, match="unknown model"):
        models.build("transformer", 8, 2)
    assert models.build("lstm_only", 8, 2, filters=999, lstm_units=4, dense_units=4).count_params() == (
        lstm(1, 4) + dense(4, 4) + dense(4, 1)
    )
    with pytest.raises(ValueError, match="n_classes"):
        models.cnn_lstm(8, 1)


@pytest.mark.parametrize(("name", "n_classes"), [("cnn_lstm", 2), ("cnn_lstm", 3), ("lstm_only", 2)])
def test_short_training_learns_a_separable_problem(name, n_classes):
    X, y = separable(600, n_classes, seed=0)
    X_val, y_val = separable(200, n_classes, seed=1)
    X_test, y_test = separable(300, n_classes, seed=2)
    model = models.build(name, 8, n_classes, seed=0, **TINY)
    history = models.train(model, X, y, X_val, y_val, epochs=8, batch_size=32, seed=0, learning_rate=0.01)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history)
    accuracy = np.mean(models.predict_proba(model, X_test).argmax(1) == y_test)
    assert accuracy > 1 / n_classes + 0.3


def test_early_stopping_keeps_the_best_validation_epoch():
    X, y = separable(300, 2, seed=0)
    X_val, y_val = separable(100, 2, seed=1)
    model = models.build("cnn_only", 8, 2, seed=0, **TINY)
    history = models.train(model, X, y, X_val, y_val, epochs=6, batch_size=32, seed=0, patience=1, learning_rate=0.3)
    assert 1 <= len(history["val_loss"]) <= 6
    val_loss = model.evaluate(models.as_sequence(X_val), y_val.astype(np.float32), verbose=0, return_dict=True)["loss"]
    assert val_loss == pytest.approx(min(history["val_loss"]), rel=1e-4)


def test_same_seed_gives_the_same_metrics_twice_on_cpu():
    X, y = separable(300, 2, seed=0)
    X_val, y_val = separable(100, 2, seed=1)

    def run(seed):
        model = models.build("cnn_lstm", 8, 2, seed=seed, **TINY)
        history = models.train(model, X, y, X_val, y_val, epochs=3, batch_size=32, seed=seed, learning_rate=0.01)
        return history, metrics.evaluate(y_val, models.predict_proba(model, X_val), ["benign", "attack"])

    (h1, m1), (h2, m2) = run(3), run(3)
    assert h1 == h2
    assert m1 == m2
    assert m1["accuracy"] > 0.8  # a run that learned something, not two identical constant predictors
    h3, _ = run(4)
    assert h3["loss"] != h1["loss"]


def test_balanced_class_weight():
    weights = models.balanced_class_weight(np.array([0, 0, 0, 0, 0, 0, 1, 1]), n_classes=3)
    assert weights == {0: pytest.approx(8 / (2 * 6)), 1: pytest.approx(8 / (2 * 2))}


def test_one_configuration_from_notebook_03s_parameters():
    params = {"FILTERS": 8, "LSTM_UNITS": 4, "EPOCHS": 2, "CLASS_WEIGHT": True, "RUN_DIR": "x", "SEED": 1}
    config = models.DeepConfig.from_parameters(params)
    assert config.filters == 8 and config.lstm_units == 4 and config.epochs == 2 and config.class_weight
    assert config.dense_units == models.DeepConfig().dense_units  # not given: the default
    assert models.DeepConfig.from_dict(config.as_dict()) == config
    assert set(config.architecture()) <= set(models.cnn_lstm.__kwdefaults__)
    with pytest.raises(ValueError, match=r"unknown deep-model setting\(s\) \['filterz'\]"):
        models.DeepConfig.from_dict({"filterz": 3})
