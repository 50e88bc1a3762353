"""Tests of lib/anomaly.py: benign-only training, thresholds at a target FPR, the zero-day loop."""

from __future__ import annotations

from functools import partial

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression

from lib import anomaly, fusion, models

FAMILIES = ["Benign", "C&C", "DDoS", "PortScan"]


def split_data(n: int, seed: int, multiclass: bool = False):
    """X, y, rows per split: benign rows near 0.3, each attack family around its own centre (unique rows)."""
    rng = np.random.default_rng(seed)
    out = {"X": {}, "y": {}, "rows": {}}
    for split, size in (("train", n), ("val", n // 2), ("test", n // 2)):
        family = rng.choice(FAMILIES, size=size, p=[0.55, 0.15, 0.15, 0.15])
        centre = pd.Series(family).map({"Benign": 0.3, "C&C": 0.6, "DDoS": 0.8, "PortScan": 0.95}).to_numpy()
        X = np.clip(rng.normal(centre[:, None], 0.05, size=(size, 6)), 0, 1).astype(np.float32)
        ids = np.searchsorted(FAMILIES, family) if multiclass else (family != "Benign").astype(np.int64)
        out["X"][split], out["y"][split] = X, np.asarray(ids, dtype=np.int64)
        out["rows"][split] = pd.DataFrame({"label": family, "is_attack": family != "Benign"})
    return out


def test_threshold_gives_at_most_the_target_fpr():
    scores = np.random.default_rng(0).normal(size=1000)
    for target in (0.0, 0.01, 0.05, 0.2):
        rate = anomaly.flag_rate(scores, anomaly.threshold_for_fpr(scores, target))
        assert target - 1 / len(scores) <= rate <= target
    ties = np.r_[np.zeros(90), np.ones(10)]  # ten tied top scores cannot be split: none flagged at 5 %
    assert anomaly.flag_rate(ties, anomaly.threshold_for_fpr(ties, 0.05)) == 0
    with pytest.raises(ValueError, match="no benign validation rows"):
        anomaly.threshold_for_fpr(np.array([]), 0.01)


def test_autoencoder_trains_on_benign_rows_only_and_meets_the_fpr_on_validation(monkeypatch):
    data = split_data(800, seed=1)
    X, y = data["X"], data["y"]
    calls = []
    real_fit = keras.Model.fit

    def spy_fit(self, x=None, y=None, *args, **kwargs):
        calls.append((np.array(x), np.array(y), kwargs.get("validation_data")))
        return real_fit(self, x, y, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy_fit)
    target = 0.05
    detector = anomaly.fit_autoencoder(
        X["train"], y["train"], X["val"], y["val"], target_fpr=target, epochs=3, batch_size=64, seed=0, code_units=3
    )
    assert len(calls) == 1
    x_fit, y_fit, (x_val, _) = calls[0]
    benign_train = {row.tobytes() for row in X["train"][y["train"] == 0]}
    attack_train = {row.tobytes() for row in X["train"][y["train"] != 0]}
    assert all(row.tobytes() in benign_train for row in x_fit), "an attack row reached the autoencoder"
    assert not {row.tobytes() for row in x_fit} & attack_train
    assert len(x_fit) == (y["train"] == 0).sum() == detector.n_fit_rows
    np.testing.assert_array_equal(x_fit, y_fit)  # an autoencoder's target is its input
    np.testing.assert_array_equal(x_val, X["val"][y["val"] == 0])  # early stopping on benign rows too
    benign_val = X["val"][y["val"] == 0]
    realised = anomaly.flag_rate(detector.score(benign_val), detector.threshold)
    assert target - 1 / len(benign_val) <= realised <= target
    attacks = X["test"][y["test"] != 0]
    assert detector.score(attacks).mean() > detector.score(X["test"][y["test"] == 0]).mean()


def test_isolation_forest_trains_on_benign_rows_only(monkeypatch):
    data = split_data(600, seed=2)
    X, y = data["X"], data["y"]
    seen = []
    real_fit = IsolationForest.fit
    monkeypatch.setattr(
        IsolationForest, "fit", lambda self, X_fit, *a, **k: seen.append(X_fit) or real_fit(self, X_fit)
    )
    detector = anomaly.fit_isolation_forest(
        X["train"], y["train"], X["val"], y["val"], target_fpr=0.1, seed=0, n_estimators=30
    )
    np.testing.assert_array_equal(seen[0], X["train"][y["train"] == 0])
    benign_val = X["val"][y["val"] == 0]
    assert 0.1 - 1 / len(benign_val) <= anomaly.flag_rate(detector.score(benign_val), detector.threshold) <= 0.1
    rates = anomaly.detection_rates({"iforest": detector.predict(X["test"])}, y["test"])
    assert rates.loc[0, "recall"] > rates.loc[0, "fpr"]


def test_eligible_families_give_reasons():
    data = split_data(400, seed=3)
    keep, table = anomaly.eligible_families(data["rows"], data["y"], min_family_rows=5)
    assert keep == ["C&C", "DDoS", "PortScan"] and table["held_out"].all()
    keep, table = anomaly.eligible_families(data["rows"], data["y"], min_family_rows=10_000)
    assert keep == [] and table["reason"].str.contains("fewer than 10000 test rows").all()


@pytest.mark.parametrize("multiclass", [False, True])
def test_zero_day_never_trains_on_the_held_out_family(multiclass):
    data = split_data(600, seed=4, multiclass=multiclass)
    X, y, rows = data["X"], data["y"], data["rows"]
    family_of = {row.tobytes(): f for split in X for row, f in zip(X[split], rows[split]["label"], strict=True)}
    passed = []

    def fit_supervised(X_tr, y_tr, X_val, y_val, seed):
        passed.append({family_of[r.tobytes()] for r in X_tr} | {family_of[r.tobytes()] for r in X_val})
        model = LogisticRegression(max_iter=500).fit(X_tr, y_tr)
        return lambda X_new: 1 - model.predict_proba(X_new)[:, 0]

    detector = anomaly.fit_isolation_forest(
        X["train"], y["train"], X["val"], y["val"], target_fpr=0.05, seed=0, n_estimators=30
    )
    families, _ = anomaly.eligible_families(rows, y, min_family_rows=5)
    table = anomaly.leave_one_family_out(
        X, y, rows, families, fit_supervised=fit_supervised, detectors={"iforest": detector}, target_fpr=0.05, seed=7
    )
    assert list(table["family"]) == families
    for family, seen in zip(families, passed, strict=True):
        assert family not in seen and "Benign" in seen
    for column in ("recall_supervised", "recall_iforest", "recall_or_iforest", "fpr_or_iforest"):
        assert table[column].between(0, 1).all()
    assert (table["recall_or_iforest"] >= table[["recall_supervised", "recall_iforest"]].max(axis=1)).all()
    assert (table["fpr_or_iforest"] >= table["fpr_iforest"]).all()
    # the attack families sit far from benign traffic: the benign-trained forest finds them without labels
    assert (table["recall_iforest"] > 0.9).all()
    counts = rows["test"]["label"].value_counts()
    assert table.set_index("family")["n_test_family"].to_dict() == {f: counts[f] for f in families}


def test_zero_day_with_the_real_fusion_path_multiclass():
    data = split_data(300, seed=5, multiclass=True)
    X, y, rows = data["X"], data["y"], data["rows"]
    deep = models.DeepConfig(filters=4, lstm_units=4, dense_units=4, dropout=0.0, epochs=2, batch_size=64, patience=1)
    scorer = partial(
        anomaly.fusion_attack_scorer,
        n_classes=len(FAMILIES),
        names=["cnn_lstm"],
        deep=deep,
        inputs="both",
        k_folds=2,
        grid=fusion.meta_grid(["xgboost"], [10], [], [2]),
    )
    detector = anomaly.fit_isolation_forest(
        X["train"], y["train"], X["val"], y["val"], target_fpr=0.05, seed=0, n_estimators=20
    )
    table = anomaly.leave_one_family_out(
        X, y, rows, ["DDoS"], fit_supervised=scorer, detectors={"iforest": detector}, target_fpr=0.05, seed=1
    )
    assert table.loc[0, "family"] == "DDoS" and 0 <= table.loc[0, "recall_supervised"] <= 1
    assert table.loc[0, "fpr_supervised"] <= 0.25  # thresholded at 5 % of benign validation rows
