"""Tests of lib/baselines.py: the classical models learn, give aligned probabilities and repeat with a seed."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_circles
from sklearn.svm import LinearSVC

from lib import baselines, metrics, preprocess, tuning
from lib.datasets import sampling

SMALL = {
    "random_forest": {"n_estimators": 20},
    "svm": {"n_components": 50},
    "xgboost": {"n_estimators": 20},
}


def separable(n: int, n_classes: int, seed: int, n_features: int = 6):
    """Rows in [0, 1] whose class shifts the mean of every feature: easy for any model."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    X = (rng.normal(size=(n, n_features)) * 0.05 + (y[:, None] + 1) / (n_classes + 1)).astype(np.float32)
    return np.clip(X, 0, 1), y


@pytest.mark.parametrize("name", baselines.BASELINE_BUILDERS)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_baseline_learns_and_returns_aligned_probabilities(name, n_classes):
    X, y = separable(600, n_classes, seed=0)
    X_test, y_test = separable(200, n_classes, seed=1)
    model = baselines.fit(baselines.build(name, seed=0, **SMALL[name]), X, y)
    proba = baselines.predict_proba(model, X_test, n_classes)
    assert proba.shape == (200, n_classes)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert np.mean(proba.argmax(1) == y_test) > 0.9


@pytest.mark.parametrize("name", baselines.BASELINE_BUILDERS)
def test_same_seed_gives_the_same_probabilities(name):
    X, y = separable(400, 2, seed=0)
    runs = [
        baselines.predict_proba(baselines.fit(baselines.build(name, seed=7, **SMALL[name]), X, y), X, 2)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])


def test_svm_approximates_an_rbf_kernel_where_a_linear_svm_fails():
    X, y = make_circles(n_samples=600, factor=0.4, noise=0.05, random_state=0)
    X = (X + 1.5) / 3  # into [0, 1] like the prepared features
    X_train, y_train, X_test, y_test = X[:400], y[:400], X[400:], y[400:]
    linear = LinearSVC().fit(X_train, y_train).score(X_test, y_test)
    model = baselines.fit(baselines.svm(seed=0, n_components=100, gamma=10.0), X_train, y_train)
    approx = np.mean(baselines.predict_proba(model, X_test, 2).argmax(1) == y_test)
    assert linear < 0.75
    assert approx > 0.95
    result = metrics.evaluate(y_test, baselines.predict_proba(model, X_test, 2), ["benign", "attack"])
    assert result["roc_auc"] > 0.95  # calibrated scores rank the rows, usable for ROC/PR curves


@pytest.mark.parametrize("name", baselines.BASELINE_BUILDERS)
def test_class_missing_from_training_gets_a_zero_column(name):
    X, y = separable(600, 4, seed=0)
    keep = y != 2  # class 2 never seen in training (a small sample of a multi-class data set)
    model = baselines.fit(baselines.build(name, seed=0, **SMALL[name]), X[keep], y[keep])
    X_test, y_test = separable(200, 4, seed=1)
    proba = baselines.predict_proba(model, X_test, 4)
    assert proba.shape == (200, 4)
    assert np.all(proba[:, 2] == 0)
    seen = y_test != 2
    assert np.mean(proba[seen].argmax(1) == y_test[seen]) > 0.9  # columns stay aligned with the class ids


def test_stratified_subsample_keeps_class_shares_and_rare_classes():
    y = np.array([0] * 900 + [1] * 95 + [2] * 5)
    X = np.arange(len(y), dtype=np.float32)[:, None]
    X_sub, y_sub = baselines.stratified_subsample(X, y, max_rows=100, seed=0)
    counts = np.bincount(y_sub, minlength=3)
    assert counts.tolist() == [90, 9, 3]  # shares kept, the rare class keeps min_per_class rows
    assert np.all(np.diff(X_sub[:, 0]) > 0)  # original order, no duplicates
    np.testing.assert_array_equal(y[X_sub[:, 0].astype(int)], y_sub)  # rows stay paired with their labels
    again = baselines.stratified_subsample(X, y, max_rows=100, seed=0)[0]
    np.testing.assert_array_equal(X_sub, again)
    assert baselines.stratified_subsample(X, y, max_rows=0, seed=0)[0] is X


def test_the_subsamplers_are_the_one_stratified_sampler_with_their_settings():
    """baselines.stratified_subsample (SVM_MAX_ROWS) and tuning.stratified_subsample (TUNE_MAX_ROWS) are
    lib.datasets.sampling.stratified_rows with their own quota rule: the same rows for a seed."""
    y = np.random.default_rng(3).choice(4, size=1000, p=[0.6, 0.25, 0.13, 0.02])
    X = np.arange(len(y), dtype=np.float32)[:, None]
    for seed in (0, 7):
        for max_rows in (50, 333):
            direct = sampling.stratified_rows(y, max_rows, seed, floor=3, rounding="floor", order="value")
            X_sub, y_sub = baselines.stratified_subsample(X, y, max_rows, seed)
            np.testing.assert_array_equal(X_sub[:, 0].astype(int), direct)
            np.testing.assert_array_equal(y_sub, y[direct])
            direct = sampling.stratified_rows(y, max_rows, seed, floor=5, rounding="floor", order="value")
            np.testing.assert_array_equal(baselines.stratified_subsample(X, y, max_rows, seed, 5)[1], y[direct])
            direct = sampling.stratified_rows(y, max_rows, seed, floor=0, rounding="ceil", order="value")
            np.testing.assert_array_equal(tuning.stratified_subsample(y, max_rows, seed), direct)
    np.testing.assert_array_equal(tuning.stratified_subsample(y, 1000, 0), np.arange(1000))  # every row


def test_floor_ceil_and_round_give_the_quotas_they_name():
    """Class shares of 4.5 and 5.5 rows: floor keeps 4 + 5, ceil 5 + 6, round (Python's, half to even) 4 + 6;
    ``floor`` is a minimum per class (or all its rows); the order the classes draw in changes the rows only."""
    y = np.array([0] * 45 + [1] * 55)

    def counts(labels=y, **settings):
        return np.bincount(labels[sampling.stratified_rows(labels, 10, 0, **settings)], minlength=2).tolist()

    assert counts(floor=0, rounding="floor", order="value") == [4, 5]  # baselines: never above the share
    assert counts(floor=0, rounding="ceil", order="value") == [5, 6]  # tuning: every class keeps a row
    assert counts(floor=0, rounding="round", order="value") == [4, 6]  # SAMPLE_ROWS: the nearest, half to even
    assert counts(floor=8, rounding="floor", order="value") == [8, 8]
    assert counts(np.array([0] * 98 + [1] * 2), floor=3, rounding="floor") == [9, 2]  # all its rows
    by_size = sampling.stratified_rows(y, 10, 0, floor=0, rounding="round", order="size")  # class 1 draws first
    by_value = sampling.stratified_rows(y, 10, 0, floor=0, rounding="round", order="value")  # class 0 draws first
    assert np.bincount(y[by_size]).tolist() == np.bincount(y[by_value]).tolist() == [4, 6]
    assert not np.array_equal(by_size, by_value)
    with pytest.raises(ValueError, match="rounding must be one of"):
        sampling.stratified_rows(y, 10, 0, rounding="truncate")


def test_training_on_a_single_class_is_a_clear_error():
    X, _ = separable(50, 2, seed=0)
    with pytest.raises(ValueError, match="single class"):
        baselines.fit(baselines.random_forest(seed=0), X, np.zeros(50, dtype=int))


def test_unknown_baseline_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown baseline"):
        baselines.build("naive_bayes", seed=0)


def test_the_svm_calibrates_with_fewer_folds_when_a_class_has_few_training_rows():
    rng = np.random.default_rng(0)
    X = rng.random((60, 4))
    y = np.r_[np.zeros(40, int), np.ones(18, int), np.full(2, 2)]  # class 2: two rows (a strict split's leftover)
    model = baselines.fit(baselines.build("svm", 0, n_components=20), X, y)
    assert model.cv == 2 and baselines.predict_proba(model, X, 3).shape == (60, 3)
    with pytest.raises(ValueError, match="single training row"):
        baselines.fit(baselines.build("svm", 0, n_components=20), X, np.r_[y[:-1], 0])


def tiny_data(n_classes: int = 3) -> preprocess.PreparedData:
    X, y = separable(300, n_classes, seed=0)
    X_val, y_val = separable(80, n_classes, seed=1)
    X_test, y_test = separable(100, n_classes, seed=2)
    return preprocess.PreparedData(
        X, y, X_val, y_val, X_test, y_test, feature_names=[f"f{i}" for i in range(6)],
        class_names=["Benign", "A", "B"][:n_classes], label_mode="multiclass",
    )  # fmt: skip


def test_train_and_evaluate_returns_the_models_and_their_predictions():
    data = tiny_data()
    hyper = {"svm": {"n_components": 20}, "xgboost": {"n_estimators": 10}}
    results = baselines.train_and_evaluate(
        data, names=["svm", "xgboost"], hyperparameters=hyper, seeds=[1, 2], svm_max_rows=60
    )
    assert set(results.models) == {("svm", 1), ("svm", 2), ("xgboost", 1), ("xgboost", 2)}
    assert set(results.predictions) == {
        (name, seed, split) for name, seed in results.models for split in ("test", "val")
    }
    assert not results.histories and not results.tables and not results.records
    for (name, seed), model in results.models.items():
        np.testing.assert_array_equal(
            results.predictions[name, seed, "test"], baselines.predict_proba(model, data.X_test, 3)
        )
        np.testing.assert_array_equal(
            results.predictions[name, seed, "val"], baselines.predict_proba(model, data.X_val, 3)
        )
        assert results.details[f"{name}_seed{seed}"]["accuracy"] == pytest.approx(
            np.mean(results.predictions[name, seed, "test"].argmax(1) == data.y_test)
        )
    scores = results.scores_frame().set_index(["model", "seed"])
    assert scores.loc[("svm", 1), "n_train"] == len(
        baselines.stratified_subsample(data.X_train, data.y_train, 60, 1)[1]
    )
    assert scores.loc[("svm", 1), "n_train"] < len(data.y_train) == scores.loc[("xgboost", 1), "n_train"]
    assert (scores["n_test"] == len(data.y_test)).all()
    assert {"train_seconds", "inference_seconds", "flows_per_s"} <= set(results.timings_frame().columns)


def test_the_settings_notebook_02_reads_records_and_describes():
    params = {"RF_TREES": 50, "RF_MAX_DEPTH": 0, "SVM_N_COMPONENTS": 30, "SVM_C": 2.0, "XGB_TREES": 40}
    params |= {"XGB_MAX_DEPTH": 3, "XGB_LEARNING_RATE": 0.2, "SEED": 1}
    hyper = baselines.hyperparameters_from(params)
    assert hyper["random_forest"] == {"n_estimators": 50, "max_depth": None}  # 0: grow trees fully
    assert hyper["svm"] == {"n_components": 30, "C": 2.0}
    assert hyper["xgboost"] == {"n_estimators": 40, "max_depth": 3, "learning_rate": 0.2}
    assert baselines.settings_of(hyper, ["xgboost", "svm"]) == {"xgboost": hyper["xgboost"], "svm": hyper["svm"]}
    text = baselines.describe(["random_forest", "xgboost"], 7, hyper)
    forest, booster = text.split("\n\n")
    assert forest == str(baselines.build("random_forest", 7, **hyper["random_forest"]))
    assert "n_estimators=50" in forest and "random_state=7" in forest
    assert booster == str(baselines.build("xgboost", 7, **hyper["xgboost"])) and "n_estimators=40" in booster


@pytest.mark.parametrize("name", baselines.BASELINE_BUILDERS)
def test_a_saved_baseline_predicts_the_same_and_is_never_pickled(tmp_path, name):
    X, y = separable(300, 4, seed=0)
    keep = y != 2  # a class unseen in training: the class ids must come back too
    model = baselines.fit(baselines.build(name, seed=0, **SMALL[name]), X[keep], y[keep])
    stem = tmp_path / f"{name}_seed0"
    path = baselines.save_model(model, stem)
    suffix = ".ubj" if name == "xgboost" else ".skops"
    assert path == tmp_path / f"{name}_seed0{suffix}" and baselines.model_suffix(model) == suffix
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, f"{name}_seed0.json"])
    loaded = baselines.load_model(stem)
    assert loaded.class_ids_.tolist() == [0, 1, 3]
    np.testing.assert_array_equal(baselines.predict_proba(loaded, X, 4), baselines.predict_proba(model, X, 4))
