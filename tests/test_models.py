"""Tests of lib/models.py: shapes, exact parameter counts, learning, early stopping, the learning-rate schedule,
per-model configurations, saving and seeding."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lib import metrics, models, preprocess

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
    assert models.mlp(20, n_classes).count_params() == dense(20, 128) + dense(128, 64) + dense(64, out_units)
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
    names = [layer.name for layer in models.mlp(8, 2).layers]
    assert names == ["flow_features", "flatten", "hidden", "hidden_dropout", "fully_connected", "dropout"] + [
        "attack_probability"
    ]


def test_build_rejects_unknown_names_and_ignores_foreign_hyperparameters():
    with pytest.raises(ValueError, match="unknown model"):
        models.build("transformer", 8, 2)
    assert models.build("lstm_only", 8, 2, filters=999, lstm_units=4, dense_units=4).count_params() == (
        lstm(1, 4) + dense(4, 4) + dense(4, 1)
    )
    assert models.build("mlp", 8, 2, filters=999, lstm_units=999, mlp_units=5, dense_units=4).count_params() == (
        dense(8, 5) + dense(5, 4) + dense(4, 1)
    )
    with pytest.raises(ValueError, match="n_classes"):
        models.cnn_lstm(8, 1)


def test_mixed_bfloat16_computes_in_bfloat16_outputs_float32_and_leaves_the_global_policy_alone():
    model = models.build("cnn_lstm", 8, 3, seed=0, precision="mixed_bfloat16", **TINY)
    assert model.get_layer("lstm").compute_dtype == "bfloat16" and model.get_layer("lstm").variable_dtype == "float32"
    assert model.get_layer("class_probabilities").compute_dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"
    X, y = separable(400, 3, seed=0)
    X_val, y_val = separable(100, 3, seed=1)
    models.train(model, X, y, X_val, y_val, epochs=4, batch_size=32, seed=0, learning_rate=0.01)
    proba = models.predict_proba(model, X_val)
    assert proba.dtype == np.float64 and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert np.mean(proba.argmax(1) == y_val) > 0.6
    with pytest.raises(ValueError, match="PRECISION must be one of"):
        models.DeepConfig(precision="float8")
    with pytest.raises(ValueError, match="unknown precision"):
        models.build("mlp", 8, 2, precision="half")


@pytest.mark.parametrize(("name", "n_classes"), [("cnn_lstm", 2), ("cnn_lstm", 3), ("lstm_only", 2), ("mlp", 3)])
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


def test_an_xla_compiled_training_step_gives_the_same_losses_where_no_dropout_is_drawn():
    n_classes = 2  # the paper's binary head (sigmoid, binary cross-entropy)
    X, y = separable(300, n_classes, seed=0)
    X_val, y_val = separable(100, n_classes, seed=1)
    config = models.DeepConfig(**(TINY | {"dropout": 0.0}), epochs=2, batch_size=64, learning_rate=0.01)

    def run(jit_compile):
        settings = config.training() | {"jit_compile": jit_compile}
        model = models.build("cnn_lstm", 8, n_classes, seed=5, **config.architecture())
        return models.train(model, X, y, X_val, y_val, seed=5, **settings), model

    (plain, a), (compiled, b) = run(False), run(True)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(compiled[key], plain[key], rtol=0, atol=1e-5)
    assert plain["loss"][0] != plain["loss"][1]  # it trained: the losses moved
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, atol=1e-4)
    assert models.DeepConfig.from_parameters({"JIT_COMPILE": True}).training()["jit_compile"] is True


def test_balanced_class_weight():
    weights = models.balanced_class_weight(np.array([0, 0, 0, 0, 0, 0, 1, 1]), n_classes=3)
    assert weights == {0: pytest.approx(8 / (2 * 6)), 1: pytest.approx(8 / (2 * 2))}


def test_one_configuration_from_notebook_03s_parameters():
    params = {"FILTERS": 8, "LSTM_UNITS": 4, "EPOCHS": 2, "CLASS_WEIGHT": True, "RUN_DIR": "x", "SEED": 1}
    config = models.DeepConfig.from_parameters(params)
    assert config.filters == 8 and config.lstm_units == 4 and config.epochs == 2 and config.class_weight
    assert config.dense_units == models.DeepConfig().dense_units  # not given: the default
    assert models.DeepConfig.from_dict(config.as_dict()) == config
    accepted = set().union(*(getattr(models, name).__kwdefaults__ for name in models.MODEL_BUILDERS))
    assert set(config.architecture()) == accepted - {"seed"} | {"precision"}  # each reaches a builder, or build()
    with pytest.raises(ValueError, match=r"unknown deep-model setting\(s\) \['filterz'\]"):
        models.DeepConfig.from_dict({"filterz": 3})


def test_a_schedule_needs_an_early_stopping_patience_above_its_own():
    assert models.DeepConfig().lr_patience == 0  # the default: no schedule, the paper-faithful training
    models.DeepConfig(lr_patience=3, patience=4)
    with pytest.raises(ValueError, match=r"PATIENCE=3 must be larger than LR_PATIENCE=3"):
        models.DeepConfig(lr_patience=3, patience=3)
    with pytest.raises(ValueError, match="LR_FACTOR"):
        models.DeepConfig(lr_patience=2, lr_factor=1.0)
    with pytest.raises(ValueError, match="LR_PATIENCE"):
        models.DeepConfig(lr_patience=-1)
    models.DeepConfig(lr_patience=0, patience=1, lr_factor=7.0)  # no schedule: its settings are not used


def train_before_the_schedule(model, X_train, y_train, X_val, y_val, *, epochs, batch_size, seed, patience,
                              learning_rate, clipnorm):  # fmt: skip
    """models.train as it was before the learning-rate schedule existed (the paper-faithful training)."""
    keras.utils.set_random_seed(seed)
    binary = models.is_binary(model)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    dtype = np.float32 if binary else np.int64
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(
        models.as_sequence(X_train), np.asarray(y_train, dtype=dtype),
        validation_data=(models.as_sequence(X_val), np.asarray(y_val, dtype=dtype)),
        epochs=epochs, batch_size=batch_size, callbacks=[stop], shuffle=True, verbose=0,
    )  # fmt: skip
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def test_lr_patience_0_trains_exactly_as_before_the_schedule():
    X, y = separable(200, 3, seed=0)
    X_val, y_val = separable(60, 3, seed=1)
    config = models.DeepConfig(**TINY, epochs=3, batch_size=32, patience=1, learning_rate=0.3)  # stops early
    model, history = models.fit_config("cnn_lstm", X, y, X_val, y_val, n_classes=3, config=config, seed=7)
    old = models.build("cnn_lstm", 8, 3, seed=7, **config.architecture())
    old_history = train_before_the_schedule(
        old, X, y, X_val, y_val, epochs=3, batch_size=32, seed=7, patience=1, learning_rate=0.3, clipnorm=1.0
    )
    assert history == old_history and "learning_rate" not in history
    for a, b in zip(model.get_weights(), old.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside Keras' schedule
def test_the_schedule_lowers_the_learning_rate_when_validation_loss_plateaus():
    rng = np.random.default_rng(0)
    X, y = separable(200, 2, seed=0)
    X_val, y_val = rng.random((60, 8)).astype(np.float32), rng.integers(0, 2, 60)  # nothing to learn: a plateau
    config = models.DeepConfig(
        mlp_units=8, dense_units=8, epochs=8, batch_size=32, patience=7, learning_rate=0.05,
        lr_patience=1, lr_factor=0.1, min_learning_rate=0.001,
    )  # fmt: skip
    _, history = models.fit_config("mlp", X, y, X_val, y_val, n_classes=2, config=config, seed=0)
    rates, losses = np.array(history["learning_rate"]), np.array(history["val_loss"])
    assert rates[0] == pytest.approx(0.05) and rates.min() == pytest.approx(0.001)  # lowered, down to the floor
    for epoch in range(1, len(rates)):  # each drop follows an epoch whose validation loss set no new low
        if rates[epoch] < rates[epoch - 1]:
            assert losses[epoch - 1] > losses[: epoch - 1].min() - 1e-4


def tiny_data(n_classes: int = 3) -> preprocess.PreparedData:
    X, y = separable(120, n_classes, seed=0)
    X_val, y_val = separable(60, n_classes, seed=1)
    X_test, y_test = separable(60, n_classes, seed=2)
    return preprocess.PreparedData(
        X, y, X_val, y_val, X_test, y_test, feature_names=[f"f{i}" for i in range(8)],
        class_names=["Benign", "A", "B"][:n_classes], label_mode="multiclass",
    )  # fmt: skip


@pytest.mark.filterwarnings("ignore::lib.metrics.MetricWarning")  # one epoch on tiny data: poor models
def test_train_and_evaluate_takes_each_models_own_configuration():
    data = tiny_data()
    shared = models.DeepConfig(**TINY, epochs=1, batch_size=64, patience=1)
    own = {
        "mlp": models.DeepConfig(mlp_units=4, dense_units=4, epochs=2, batch_size=64, patience=1),
        "cnn_only": shared,
    }
    results = models.train_and_evaluate(data, names=["mlp", "cnn_only"], config=own, seeds=[0])
    scores = results.scores_frame().set_index("model")
    assert scores.loc["mlp", "epochs_run"] == 2 and scores.loc["cnn_only", "epochs_run"] == 1
    assert set(results.models) == set(results.histories) == {("mlp", 0), ("cnn_only", 0)}
    assert set(results.predictions) == {(name, 0, split) for name in ("mlp", "cnn_only") for split in ("test", "val")}
    for (name, seed), model in results.models.items():
        assert model.get_layer("fully_connected").units == own[name].dense_units  # the model its own config built
        np.testing.assert_array_equal(results.predictions[name, seed, "test"], models.predict_proba(model, data.X_test))
        np.testing.assert_array_equal(results.predictions[name, seed, "val"], models.predict_proba(model, data.X_val))
        assert len(results.histories[name, seed]["loss"]) == scores.loc[name, "epochs_run"]
    assert results.histories_of(0) == {"mlp": results.histories["mlp", 0], "cnn_only": results.histories["cnn_only", 0]}
    assert results.histories_of(1) == {}
    with pytest.raises(ValueError, match=r"no configuration for the deep model\(s\) \['lstm_only'\]"):
        models.train_and_evaluate(data, names=["mlp", "lstm_only"], config=own, seeds=[0])
    table = models.config_table(own, n_features=8, n_classes=3)
    assert list(table["model"]) == ["MLP", "CNN-Only"]
    assert table.loc[0, "parameters"] == dense(8, 4) + dense(4, 4) + dense(4, 3)


def test_configs_record_and_frame():
    shared, tuned = models.DeepConfig(epochs=3), models.DeepConfig(lr_patience=2, learning_rate=0.003)
    configs = {"mlp": tuned, "cnn_lstm": shared}
    record = models.configs_record(configs)
    assert record == {"mlp": tuned.as_dict(), "cnn_lstm": shared.as_dict()}
    info = {"models": ["mlp", "cnn_lstm"], "config": shared.as_dict(), "configs": record}
    assert models.stage_configs(info) == configs  # what notebook 03 records, read back by notebook 04
    frame = models.configs_frame(configs, ["cnn_lstm", "mlp"])
    assert list(frame.columns) == ["cnn_lstm", "mlp"] and list(frame.index) == list(shared.as_dict())
    assert frame.loc["learning_rate", "mlp"] == 0.003 and frame.loc["epochs", "cnn_lstm"] == 3
    assert list(models.configs_frame(configs, ["mlp"]).columns) == ["mlp"]


def test_a_saved_model_is_a_keras_file_loaded_in_safe_mode(tmp_path, monkeypatch):
    model = models.build("cnn_lstm", 8, 3, seed=0, **TINY)
    path = models.save_model(model, tmp_path / "cnn_lstm_seed0")
    assert path == tmp_path / "cnn_lstm_seed0.keras" and [p.name for p in tmp_path.iterdir()] == [path.name]
    X, _ = separable(20, 3, seed=0)
    loaded = models.load_model(tmp_path / "cnn_lstm_seed0")
    np.testing.assert_array_equal(models.predict_proba(loaded, X), models.predict_proba(model, X))
    seen = []
    monkeypatch.setattr(keras.models, "load_model", lambda path, **kwargs: seen.append((path, kwargs)))
    models.load_model(tmp_path / "cnn_lstm_seed0")
    assert seen == [(path, {"safe_mode": True})]


def test_stage_configs_reads_one_shared_or_per_model_configurations():
    shared = models.DeepConfig(epochs=3)
    info = {"models": ["mlp", "cnn_lstm"], "config": shared.as_dict()}
    assert models.stage_configs(info) == {"mlp": shared, "cnn_lstm": shared}
    tuned = models.DeepConfig(lr_patience=2, learning_rate=0.003)
    info["configs"] = {"mlp": tuned.as_dict(), "cnn_lstm": shared.as_dict()}
    assert models.stage_configs(info) == {"mlp": tuned, "cnn_lstm": shared}
    old_record = {k: v for k, v in shared.as_dict().items() if k not in ("lr_patience", "mlp_units")}
    assert models.DeepConfig.from_dict(old_record) == shared  # a record from before the new fields: same training
