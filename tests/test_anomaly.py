"""Tests of lib/anomaly/: benign-only training, thresholds at a target FPR, the choice, the zero-day loop."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest

from lib import anomaly, metrics

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
    """The detectors' threshold rule (lib.metrics.threshold_at_fpr, the project's one rule)."""
    scores = np.random.default_rng(0).normal(size=1000)
    for target in (0.0, 0.01, 0.05, 0.2):
        rate = metrics.flag_rate(scores, metrics.threshold_at_fpr(scores, target))
        assert target - 1 / len(scores) <= rate <= target
    ties = np.r_[np.zeros(90), np.ones(10)]  # ten tied top scores cannot be split: none flagged at 5 %
    assert metrics.flag_rate(ties, metrics.threshold_at_fpr(ties, 0.05)) == 0
    with pytest.raises(ValueError, match="no benign rows"):
        metrics.threshold_at_fpr(np.array([]), 0.01)


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
    realised = metrics.flag_rate(detector.score(benign_val), detector.threshold)
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
    assert 0.1 - 1 / len(benign_val) <= metrics.flag_rate(detector.score(benign_val), detector.threshold) <= 0.1
    rates = anomaly.detection_rates({"iforest": detector.predict(X["test"])}, y["test"])
    assert rates.loc[0, "recall"] > rates.loc[0, "fpr"]


def test_eligible_families_give_reasons():
    data = split_data(400, seed=3)
    keep, table = anomaly.eligible_families(data["rows"], data["y"], min_family_rows=5)
    assert keep == ["C&C", "DDoS", "PortScan"] and table["held_out"].all()
    keep, table = anomaly.eligible_families(data["rows"], data["y"], min_family_rows=10_000)
    assert keep == [] and table["reason"].str.contains("fewer than 10000 test rows").all()


# ---------------------------------------------------------------------------------------- the detectors compared
class Column:
    """A stand-in scorer: a flow's score is one of its columns (a detector that sees one kind of attack)."""

    def __init__(self, column: int):
        self.column = column

    def score(self, X):
        return np.asarray(X, dtype=np.float64)[:, self.column]


def two_family_data(n: int = 400, seed: int = 0):
    """Benign rows N(0, 1) in two columns; C&C rows far out in column 0 only, DDoS rows in column 1 only."""
    rng = np.random.default_rng(seed)
    out = {"X": {}, "y": {}, "rows": {}}
    for split, size in (("train", n), ("val", n), ("test", n)):
        family = rng.choice(["Benign", "C&C", "DDoS"], size=size, p=[0.6, 0.2, 0.2])
        X = rng.normal(size=(size, 2))
        X[family == "C&C", 0] += 8
        X[family == "DDoS", 1] += 8
        out["X"][split], out["y"][split] = X.astype(np.float32), (family != "Benign").astype(np.int64)
        out["rows"][split] = pd.DataFrame({"label": family})
    return out


def column_comparison(data) -> anomaly.Comparison:
    """Detector "a" sees C&C (column 0), "b" sees DDoS (column 1); thresholds at 5 % of benign validation rows."""
    X, y = data["X"], data["y"]
    benign_val = anomaly.benign_rows(X["val"], y["val"])
    fitted = {
        0: {
            name: anomaly.Detector(
                name, Column(j), threshold=metrics.threshold_at_fpr(Column(j).score(benign_val), 0.05)
            )
            for name, j in (("a", 0), ("b", 1))
        }
    }
    grid = [anomaly.Candidate("a"), anomaly.Candidate("b")]
    return anomaly.Comparison(
        grid, fitted, anomaly.validation_table(fitted, X["val"], y["val"], data["rows"]["val"]["label"])
    )


def test_candidate_grid_lists_every_setting_and_refuses_unknown_detectors():
    grid = anomaly.candidate_grid(
        ["knn", "autoencoder", "isolation_forest"], ae_code_units=[4, 8], kitnet_max_groups=[5], knn_ks=[1, 5],
        iforest_trees=50,
    )  # fmt: skip
    assert [c.label for c in grid] == [
        "knn(k=1)", "knn(k=5)", "autoencoder(code_units=4)", "autoencoder(code_units=8)",
        "isolation_forest(n_estimators=50)",
    ]  # fmt: skip
    assert grid[1].config == {"k": 5}
    with pytest.raises(ValueError, match="unknown or no detector"):
        anomaly.candidate_grid(["lof"], ae_code_units=[4], kitnet_max_groups=[5], knn_ks=[1], iforest_trees=5)
    with pytest.raises(ValueError, match="empty grid"):
        anomaly.candidate_grid(["knn"], ae_code_units=[4], kitnet_max_groups=[5], knn_ks=[], iforest_trees=5)


def test_kitnet_groups_cover_every_feature_once_and_keep_correlated_features_together():
    rng = np.random.default_rng(0)
    sources = rng.normal(size=(500, 3))
    # three blocks of three strongly correlated columns, interleaved, and one constant column (index 9)
    X = np.column_stack([sources[:, j % 3] + 0.05 * rng.normal(size=500) for j in range(9)] + [np.ones(500)])
    groups = anomaly.feature_groups(X, max_group_size=3)
    assert sorted(f for g in groups for f in g) == list(range(10))
    assert all(1 <= len(g) <= 3 for g in groups)
    assert {tuple(g) for g in groups} >= {(0, 3, 6), (1, 4, 7), (2, 5, 8)}
    for size in (1, 2, 4, 10, 50):
        groups = anomaly.feature_groups(X, max_group_size=size)
        assert sorted(f for g in groups for f in g) == list(range(10)) and max(map(len, groups)) <= size


def test_kitnet_trains_on_benign_rows_only_and_meets_the_fpr_on_validation(monkeypatch):
    data = split_data(600, seed=6)
    X, y = data["X"], data["y"]
    fitted_rows = []
    real_fit = keras.Model.fit

    def spy_fit(self, x=None, y=None, *args, **kwargs):
        fitted_rows.append(len(x[0]) if isinstance(x, list) else len(x))
        return real_fit(self, x, y, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy_fit)
    detector = anomaly.fit_kitnet(
        X["train"], y["train"], X["val"], y["val"], target_fpr=0.05, epochs=3, batch_size=64, seed=0, max_group_size=4
    )
    assert fitted_rows == [(y["train"] == 0).sum()] * 2  # the group autoencoders, then the output autoencoder
    groups = detector.scorer.groups
    assert sorted(f for g in groups for f in g) == list(range(X["train"].shape[1])) and max(map(len, groups)) <= 4
    benign_val = X["val"][y["val"] == 0]
    assert metrics.flag_rate(detector.score(benign_val), detector.threshold) <= 0.05
    assert detector.score(X["test"][y["test"] != 0]).mean() > detector.score(X["test"][y["test"] == 0]).mean()
    assert detector.label == "kitnet(max_group_size=4)"


def test_knn_scores_a_training_like_row_lower_than_an_outlier_and_searches_a_bounded_benign_sample():
    data = split_data(800, seed=7)
    X, y = data["X"], data["y"]
    detector = anomaly.fit_knn(X["train"], y["train"], X["val"], y["val"], target_fpr=0.01, seed=0, k=3, max_rows=100)
    assert detector.n_fit_rows == 100
    reference = {row.tobytes() for row in detector.scorer.reference}
    assert len(reference) == 100 and reference <= {row.tobytes() for row in X["train"][y["train"] == 0]}
    assert detector.scorer.index.n_samples_fit_ == 100  # the search index holds those rows, no more
    training_like = X["train"][y["train"] == 0][:1] + 0.01
    outlier = np.full((1, X["train"].shape[1]), 3.0, dtype=np.float32)
    assert detector.score(training_like)[0] < detector.threshold < detector.score(outlier)[0]
    benign_val = X["val"][y["val"] == 0]
    assert metrics.flag_rate(detector.score(benign_val), detector.threshold) <= 0.01


def test_choice_takes_the_validation_best_breaks_ties_on_auc_and_leaves_the_held_out_family_out():
    grid = [anomaly.Candidate("autoencoder", (("code_units", u),)) for u in (4, 8)] + [
        anomaly.Candidate("knn", (("k", 1),))
    ]
    rows = [
        ("autoencoder(code_units=4)", "autoencoder", "F1", 0.5, 0.90),
        ("autoencoder(code_units=4)", "autoencoder", "F2", 0.5, 0.90),
        ("autoencoder(code_units=8)", "autoencoder", "F1", 0.5, 0.95),  # same recall, better AUC
        ("autoencoder(code_units=8)", "autoencoder", "F2", 0.5, 0.95),
        ("knn(k=1)", "knn", "F1", 0.9, 0.99),
        ("knn(k=1)", "knn", "F2", 0.0, 0.50),
    ]
    validation = pd.DataFrame(
        [
            {"seed": 0, "candidate": c, "detector": d, "family": f, "n_val": 10, "recall": r, "auc": a}
            for c, d, f, r, a in rows
        ]
    )
    choice = anomaly.choose(validation, grid)
    assert choice.per_detector == {"autoencoder": "autoencoder(code_units=8)", "knn": "knn(k=1)"}
    assert choice.branch == "autoencoder(code_units=8)" and choice.branch_detector == "autoencoder"  # 0.5 > 0.45
    assert choice.table.set_index("candidate")["val_macro_recall"].to_dict() == pytest.approx(
        {"autoencoder(code_units=4)": 0.5, "autoencoder(code_units=8)": 0.5, "knn(k=1)": 0.45}
    )
    without_f2 = anomaly.choose(validation, grid, exclude="F2")
    assert (
        without_f2.branch == "knn(k=1)" and "F2 left out" in without_f2.basis and "1 attack family" in without_f2.basis
    )
    few_f2 = validation.assign(n_val=np.where(validation["family"] == "F2", 2, 10))  # two F2 flows do not vote
    assert anomaly.choose(few_f2, grid, min_rows=5).branch == "knn(k=1)"
    assert anomaly.choose(few_f2, grid, min_rows=2).branch == "autoencoder(code_units=8)"
    assert "no attack family with at least 11 validation rows" in anomaly.choose(few_f2, grid, min_rows=11).basis
    nothing = anomaly.choose(validation[validation["family"] == "F1"], grid, exclude="F1")
    assert nothing.per_detector == {"autoencoder": "autoencoder(code_units=4)", "knn": "knn(k=1)"}
    assert (
        nothing.branch == "autoencoder(code_units=4)" and "no attack family with at least 1 validation" in nothing.basis
    )


def test_the_choice_without_a_family_never_sees_its_validation_rows(monkeypatch):
    data = two_family_data()
    comparison = column_comparison(data)
    assert comparison.choose().table["n_families"].tolist() == [2, 2]
    # without C&C only DDoS validation rows remain, and only "b" sees DDoS: the branch is "b", which misses C&C
    seen = []
    real_choose = anomaly.choose

    def spy_choose(validation, grid, exclude=None, min_rows=1):
        seen.append((exclude, set(validation["family"]), set(validation.columns)))
        return real_choose(validation, grid, exclude, min_rows)

    monkeypatch.setattr(anomaly.choice, "choose", spy_choose)  # what Comparison.choose calls
    without = {family: comparison.choose(exclude=family, seed=0) for family in ("C&C", "DDoS")}
    assert {family: choice.branch for family, choice in without.items()} == {"C&C": "b", "DDoS": "a"}
    assert (
        without["C&C"].source
        == "validation: DDoS (" + str(int((data["rows"]["val"]["label"] == "DDoS").sum())) + " rows)"
    )
    # each choice is told to leave the held-out family out and reads the validation table alone (no test row)
    assert [exclude for exclude, _, _ in seen] == ["C&C", "DDoS"]
    assert all(columns == set(anomaly.VALIDATION_COLUMNS) for _, _, columns in seen)


def test_zero_day_by_detector_gives_a_line_per_family_and_model_and_an_overall_mean():
    rng = np.random.default_rng(0)
    keys = [(f, s, d, lv) for f in ("C&C", "DDoS") for s in (0, 1) for d in ("a", "b", "branch") for lv in (0.01, 0.1)]
    levels = pd.DataFrame(keys, columns=["family", "seed", "detector", "fpr_target"])
    levels["kind"], levels["candidate"] = "benign-only", levels["detector"]
    levels["chosen_on"] = np.where(levels["family"] == "C&C", "validation: DDoS (9 rows)", "default: why")
    levels["recall"], levels["test_fpr"] = rng.uniform(size=len(levels)), rng.uniform(0, 0.1, len(levels))
    table = anomaly.zero_day_by_detector(levels)
    assert list(table.columns) == [
        "family", "detector", "kind", "recall at 1 % FPR", "recall at 10 % FPR", "test FPR at 1 % FPR",
        "test FPR at 10 % FPR", "setting", "chosen_on",
    ]  # fmt: skip
    per_family = table[table["family"] != anomaly.OVERALL].set_index(["family", "detector"])
    expected = levels[levels["fpr_target"] == 0.01].groupby(["family", "detector"])["recall"].mean()
    assert per_family["recall at 1 % FPR"].to_dict() == pytest.approx(expected.to_dict())
    assert per_family.loc[("DDoS", "a"), "chosen_on"] == "default: why"
    overall = table[table["family"] == anomaly.OVERALL].set_index("detector")
    assert sorted(overall.index) == ["a", "b", "branch"]
    means = per_family.groupby("detector")["recall at 1 % FPR"].mean()
    assert overall["recall at 1 % FPR"].to_dict() == pytest.approx(means.to_dict())
    per_seed = anomaly.zero_day_per_seed(levels)
    assert len(per_seed) == 2 * 2 * 3 and set(per_seed["seed"]) == {0, 1}
    assert anomaly.zero_day_by_detector(levels.iloc[:0]).empty


def test_compare_fits_every_candidate_without_reading_test_rows_and_records_the_branch():
    data = split_data(400, seed=8, multiclass=True)
    X = {split: data["X"][split] for split in ("train", "val")}  # no test rows at all
    grid = anomaly.candidate_grid(
        list(anomaly.DETECTORS), ae_code_units=[2], kitnet_max_groups=[3], knn_ks=[1, 5], iforest_trees=20
    )
    comparison = anomaly.compare(
        X, data["y"], data["rows"]["val"]["label"], [0], grid, target_fpr=0.05, training=anomaly.Training(2, 64, 1)
    )
    benign_val = X["val"][data["y"]["val"] == 0]
    for candidate in grid:
        detector = comparison.fitted[0][candidate.label]
        assert detector.label == candidate.label
        assert metrics.flag_rate(detector.score(benign_val), detector.threshold) <= 0.05
    assert set(comparison.validation["family"]) == {"C&C", "DDoS", "PortScan"}
    choice = comparison.choose()
    best = choice.table.sort_values(["val_macro_recall", "val_macro_auc"], ascending=False).iloc[0]
    assert choice.branch == best["candidate"] and choice.table["branch"].sum() == 1
    record = comparison.branch_record(choice, 0.05)
    assert record["candidate"] == choice.branch and record["detector"] == choice.branch_detector
    assert record["thresholds"] == {"0": comparison.fitted[0][choice.branch].threshold}
    assert "threshold at 5.0% FPR" in record["description"] and set(record["per_detector"]) == set(anomaly.DETECTORS)
    chosen = comparison.chosen(choice)[0]
    assert {name: d.label for name, d in chosen.items()} == choice.per_detector
    assert set(anomaly.histories(chosen)) == {choice.per_detector["autoencoder"], choice.per_detector["kitnet"]}


def test_summary_names_the_branch_and_the_or_from_notebook_05s_tables():

    data = two_family_data(seed=2)
    X, y = data["X"], data["y"]
    comparison = column_comparison(data)
    choice = comparison.choose()
    chosen = comparison.chosen(choice)
    detection = anomaly.detector_table(chosen, X, y)
    combined = anomaly.or_with_supervised(np.zeros(len(y["test"]), dtype=bool), chosen, X["test"], y["test"])
    text = anomaly.anomaly_summary(
        detection, combined, pd.DataFrame(columns=["family"]), 0.05, int((y["val"] == 0).sum()),
        no_zero_day="why none", branch=choice.branch_detector, chosen_on=choice.basis, on_validation=choice.on_validation,
    )  # fmt: skip
    assert choice.on_validation and choice.source.startswith("validation: C&C, DDoS")
    assert f"Anomaly branch: **{choice.branch_detector}**, the best detector on validation rows" in text
    assert f"fusion OR {choice.branch_detector}:" in text and "* why none" in text
