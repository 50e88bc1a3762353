"""Tests of lib/baselines.py: the classical models learn, give aligned probabilities and repeat with a seed."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_circles
from sklearn.svm import LinearSVC

from lib import baselines, metrics

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
