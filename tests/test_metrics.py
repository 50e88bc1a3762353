"""Tests of lib/metrics/ against scikit-learn on small hand-made cases, including the degenerate ones."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize

from lib import metrics
from lib.paths import REPO_ROOT

BINARY = ["benign", "attack"]
MULTI = ["benign", "ddos", "scan", "c2"]


def binary_case():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 0])
    p_attack = np.array([0.1, 0.6, 0.2, 0.3, 0.9, 0.4, 0.8, 0.7, 0.55, 0.05])
    return y, np.column_stack([1 - p_attack, p_attack])


def multi_case(seed: int = 0, n: int = 40):
    rng = np.random.default_rng(seed)
    y = np.tile(np.arange(4), n // 4)
    logits = rng.normal(size=(n, 4))
    logits[np.arange(n), y] += 1.5  # mostly right, sometimes wrong
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


def test_binary_scores_match_sklearn_with_attack_as_positive():
    y, proba = binary_case()
    pred = proba.argmax(1)
    result = metrics.evaluate(y, proba, BINARY)
    assert result["average"] == "binary"
    assert result["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert result["precision"] == pytest.approx(precision_score(y, pred, pos_label=1))
    assert result["recall"] == pytest.approx(recall_score(y, pred, pos_label=1))
    assert result["f1"] == pytest.approx(f1_score(y, pred, pos_label=1))
    assert result["roc_auc"] == pytest.approx(roc_auc_score(y, proba[:, 1]))
    assert result["pr_auc"] == pytest.approx(average_precision_score(y, proba[:, 1]))
    # by hand: benign rows 0,1,2,3,9 -> row 1 (0.6) is a false alarm; attack row 5 (0.4) is missed
    assert result["confusion_matrix"] == [[4, 1], [1, 4]]
    assert result["fpr"] == pytest.approx(1 / 5)
    assert result["per_class"]["attack"]["support"] == 5
    assert result["notes"] == []


def test_multiclass_macro_weighted_and_ovr_auc_match_sklearn():
    y, proba = multi_case()
    pred = proba.argmax(1)
    result = metrics.evaluate(y, proba, MULTI)
    assert result["average"] == "macro"
    for average in ("macro", "weighted"):
        assert result[f"precision_{average}"] == pytest.approx(precision_score(y, pred, average=average))
        assert result[f"recall_{average}"] == pytest.approx(recall_score(y, pred, average=average))
        assert result[f"f1_{average}"] == pytest.approx(f1_score(y, pred, average=average))
    assert result["f1"] == result["f1_macro"]
    assert result["roc_auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert result["pr_auc"] == pytest.approx(
        average_precision_score(label_binarize(y, classes=range(4)), proba, average="macro")
    )
    cm = np.array(result["confusion_matrix"])
    assert cm.shape == (4, 4) and cm.sum() == len(y)
    benign = y == 0
    assert result["fpr"] == pytest.approx(np.mean(pred[benign] != 0))


def test_multiclass_fpr_counts_benign_flagged_as_any_attack():
    y = np.array([0, 0, 0, 0, 1, 2, 3])
    pred = np.array([0, 1, 3, 0, 1, 2, 0])  # two benign rows flagged (as two different attacks)
    proba = np.eye(4)[pred]
    result = metrics.evaluate(y, proba, MULTI)
    assert result["fpr"] == pytest.approx(2 / 4)


def test_only_one_class_predicted_warns_and_gives_zero_precision():
    y, _ = binary_case()
    proba = np.column_stack([np.full(len(y), 0.9), np.full(len(y), 0.1)])  # always "benign"
    with pytest.warns(metrics.MetricWarning) as caught:
        result = metrics.evaluate(y, proba, BINARY)
    assert any("predicts only class 'benign'" in str(w.message) for w in caught)
    assert result["precision"] == 0.0 == precision_score(y, proba.argmax(1), zero_division=0)
    assert result["recall"] == 0.0
    assert result["fpr"] == 0.0
    assert result["roc_auc"] == pytest.approx(0.5)  # constant scores rank nothing
    assert any("never predicted" in note for note in result["notes"])


def test_class_absent_from_y_true_warns_and_averages_over_present_classes():
    y, proba = multi_case()
    keep = y != 3  # no "c2" rows in this test set
    y, proba = y[keep], proba[keep]
    pred = proba.argmax(1)
    with pytest.warns(metrics.MetricWarning) as caught:
        result = metrics.evaluate(y, proba, MULTI)
    assert any("absent from y_true" in str(w.message) for w in caught)
    present = [0, 1, 2]
    expected_auc = np.mean([roc_auc_score(y == c, proba[:, c]) for c in present])
    assert result["roc_auc"] == pytest.approx(expected_auc)
    assert result["per_class"]["c2"]["support"] == 0
    # macro averages over the classes in y_true only
    expected = f1_score(y, pred, labels=present, average="macro", zero_division=0)
    assert result["f1_macro"] == pytest.approx(expected)
    assert np.array(result["confusion_matrix"]).shape == (4, 4)


def test_predictions_of_an_absent_class_are_errors_of_the_true_class_not_a_class_of_their_own():
    # two classes in y_true; a fifth of each class's rows predicted as a third class that y_true lacks
    y = np.repeat([0, 1], 50)
    pred = y.copy()
    pred[::5] = 2
    proba = np.eye(3)[pred] * 0.9 + 0.05
    with pytest.warns(metrics.MetricWarning):
        result = metrics.evaluate(y, proba, ["benign", "a", "b"])
    # each present class: precision 1, recall 0.8, F1 8/9; the absent class adds no F1 of 0 to the mean
    assert result["f1_macro"] == pytest.approx(8 / 9)
    assert result["recall_macro"] == pytest.approx(0.8)
    assert result["f1_macro"] > f1_score(y, pred, average="macro", zero_division=0) + 0.2  # scikit-learn's default
    assert result["per_class"]["b"]["support"] == 0
    assert metrics.macro_f1(y, pred) == pytest.approx(result["f1_macro"])  # the choices' macro-F1 is the same


def test_binary_macro_average_runs_over_the_class_present():
    y = np.ones(10, dtype=int)  # attack rows only
    proba = np.column_stack([np.r_[np.full(2, 0.9), np.full(8, 0.1)], np.r_[np.full(2, 0.1), np.full(8, 0.9)]])
    with pytest.warns(metrics.MetricWarning):
        result = metrics.evaluate(y, proba, BINARY)
    assert result["f1_macro"] == pytest.approx(result["f1_attack"]) == pytest.approx(2 * 0.8 / 1.8)


def test_binary_without_attack_rows_gives_nan_auc_with_an_explanation():
    y = np.zeros(6, dtype=int)
    proba = np.column_stack([np.linspace(0.2, 0.9, 6), np.linspace(0.8, 0.1, 6)])
    with pytest.warns(metrics.MetricWarning) as caught:
        result = metrics.evaluate(y, proba, BINARY)
    assert any("ROC-AUC and PR-AUC are undefined" in str(w.message) for w in caught)
    assert math.isnan(result["roc_auc"]) and math.isnan(result["pr_auc"])
    assert result["fpr"] == pytest.approx(3 / 6)
    assert any("undefined" in note for note in result["notes"])


def test_binary_without_benign_rows_gives_nan_fpr_and_roc():
    y = np.ones(4, dtype=int)
    proba = np.column_stack([[0.1, 0.2, 0.7, 0.3], [0.9, 0.8, 0.3, 0.7]])
    with pytest.warns(metrics.MetricWarning):
        result = metrics.evaluate(y, proba, BINARY)
    assert math.isnan(result["fpr"]) and math.isnan(result["roc_auc"])
    assert result["pr_auc"] == pytest.approx(1.0)
    assert result["recall"] == pytest.approx(3 / 4)


@pytest.mark.parametrize(
    ("y", "proba", "match"),
    [
        (np.array([0, 1]), np.ones((2, 3)) / 3, "shape"),
        (np.array([0, 2]), np.full((2, 2), 0.5), "class ids"),
        (np.array([0, 1]), np.array([[np.nan, 1.0], [0.5, 0.5]]), "NaN"),
    ],
)
def test_bad_inputs_raise_clear_errors(y, proba, match):
    with pytest.raises(ValueError, match=match):
        metrics.evaluate(y, proba, BINARY)


def seeds_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": ["cnn_lstm"] * 3 + ["svm"],
            "seed": [42, 43, 44, 42],
            "accuracy": [0.90, 0.92, 0.94, 0.80],
            "precision": [0.80, 0.80, 0.80, 0.70],
            "recall": [0.70, 0.75, 0.80, 0.60],
            "f1": [0.75, 0.77, 0.79, 0.65],
        }
    )


def test_summarise_gives_mean_std_and_t_interval():
    summary = metrics.summarise(seeds_table()).set_index(["model", "metric"])
    assert "seed" not in summary.index.get_level_values("metric")
    row = summary.loc[("cnn_lstm", "accuracy")]
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(0.92)
    assert row["std"] == pytest.approx(0.02)
    t_975_2df = 4.302652729911275  # Student t quantile, 97.5 %, 2 degrees of freedom
    assert row["ci_high"] - row["mean"] == pytest.approx(t_975_2df * 0.02 / np.sqrt(3))
    assert row["mean"] - row["ci_low"] == pytest.approx(t_975_2df * 0.02 / np.sqrt(3))
    single = summary.loc[("svm", "accuracy")]
    assert single["mean"] == pytest.approx(0.80)
    assert math.isnan(single["std"]) and math.isnan(single["ci_low"])


def test_table1_layout_percent_mean_pm_std_and_paper_order():
    table = metrics.table1(seeds_table())
    assert list(table.columns) == ["Model", "Accuracy", "Precision", "Recall", "F1-Score"]
    assert list(table["Model"]) == ["SVM", "CNN-LSTM Hybrid"]  # paper-style order, display names
    hybrid = table.set_index("Model").loc["CNN-LSTM Hybrid"]
    assert hybrid["Accuracy"] == "92.0 ± 2.0"
    assert hybrid["Precision"] == "80.0 ± 0.0"
    assert table.set_index("Model").loc["SVM", "Accuracy"] == "80.0"  # one seed: no spread to show


def test_paper_numbers_and_side_by_side_table():
    assert metrics.PAPER1_TABLE1["CNN-LSTM Hybrid"] == {
        "Accuracy": 96.5,
        "Precision": 94.8,
        "Recall": 95.1,
        "F1-Score": 95.0,
    }
    assert metrics.PAPER1_TABLE1["Random Forest"]["F1-Score"] == 86.3
    assert "SVM" not in metrics.PAPER1_TABLE1
    side = metrics.table1_vs_paper(seeds_table(), "iot23", "binary").set_index("Model")
    assert side.loc["CNN-LSTM Hybrid", "Accuracy (paper)"] == "96.5"
    assert side.loc["CNN-LSTM Hybrid", "Accuracy (ours)"] == "92.0 ± 2.0"
    assert side.loc["SVM", "Accuracy (paper)"] == ""
    assert side.loc["LSTM-Only", "Recall (ours)"] == ""  # in the paper, not run here
    assert list(side.index)[:2] == ["Random Forest", "SVM"]


def test_binary_runs_also_score_each_class_and_the_macro_average():
    y, proba = binary_case()
    pred = proba.argmax(1)
    result = metrics.evaluate(y, proba, BINARY)
    assert result["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert result["precision_macro"] == pytest.approx(precision_score(y, pred, average="macro"))
    assert result["recall_benign"] == pytest.approx(recall_score(y, pred, pos_label=0))
    assert result["f1_attack"] == pytest.approx(result["f1"])  # the paper's attack-class F1, kept as it was
    row = metrics.scalar_metrics(result)
    assert list(row)[:7] == ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "fpr"]  # old columns first
    assert {"precision_benign", "recall_attack", "f1_benign", "f1_macro"} <= set(row)


def test_calling_everything_an_attack_cannot_look_good_in_macro_f1():
    y = np.array([0] * 20 + [1] * 80)
    everything_attack = np.tile([0.1, 0.9], (100, 1))
    with pytest.warns(metrics.MetricWarning):
        result = metrics.evaluate(y, everything_attack, BINARY)
    assert result["f1"] == pytest.approx(160 / 180)  # attack-class F1 of 0.89 ...
    assert result["f1_benign"] == 0.0 and result["recall_benign"] == 0.0
    assert result["f1_macro"] == pytest.approx(80 / 180)  # ... but macro F1 0.44
    table = metrics.table1_vs_paper(pd.DataFrame([{"model": "cnn_lstm", "seed": 1, **result}]), "iot23", "binary")
    assert table.set_index("Model").loc["CNN-LSTM Hybrid", "Macro F1 (ours)"] == "44.4"
    assert "Macro F1 (paper)" not in table  # the paper has no such column


def test_paper_values_only_for_the_data_sets_the_paper_reports_on():
    runs = seeds_table()
    for dataset in ("csv", "botiot", "zeek"):
        assert metrics.paper_table1(dataset).empty
        table = metrics.table1_vs_paper(runs, dataset, "binary")
        assert not [c for c in table.columns if "paper" in c]
        assert list(table["Model"]) == ["SVM", "CNN-LSTM Hybrid"]  # no empty rows for the paper's models
        note = metrics.paper_note(dataset, "binary")
        assert note.startswith("Paper 1 reports no numbers for this data") and note.count(". ") == 0
    assert "paper 2 reports its CNN-LSTM on the full BoT-IoT" in metrics.paper_note("botiot", "binary")
    for dataset in ("iot23", "cicids2017"):
        assert len(metrics.paper_table1(dataset)) == 4
        assert "Accuracy (paper)" in metrics.table1_vs_paper(runs, dataset, "binary")
    assert "attack-vs-benign scores (Section II.B)" in metrics.paper_note("iot23", "binary")
    assert "macro averages over the classes" in metrics.paper_note("cicids2017", "multiclass")


def test_macro_f1_column_only_for_binary_runs_that_recorded_it():
    runs = seeds_table().assign(f1_macro=[0.5, 0.6, 0.7, 0.4])
    assert "Macro F1" in metrics.table1_vs_paper(runs, "csv", "binary")
    assert metrics.table1_vs_paper(runs, "csv", "binary").set_index("Model").loc["CNN-LSTM Hybrid", "Macro F1"] == (
        "60.0 ± 10.0"
    )
    assert "Macro F1" not in metrics.table1_vs_paper(runs, "csv", "multiclass")  # its F1 is macro already
    assert "Macro F1" not in metrics.table1_vs_paper(seeds_table(), "csv", "binary")  # scores from older code


def test_time_inference_reports_flows_per_second_and_warms_up():
    calls = []

    def predict(X):
        calls.append(len(X))
        return X * 2

    X = np.arange(1000.0)
    timed = metrics.time_inference(predict, X, warmup_rows=10)
    assert calls == [10, 5, 1000]  # two untimed warm-up calls, then the timed one
    np.testing.assert_array_equal(timed["proba"], X * 2)
    assert timed["seconds"] > 0
    assert timed["flows_per_s"] == pytest.approx(1000 / timed["seconds"])
    assert math.isnan(metrics.throughput(10, 0.0))
    with metrics.timer() as t:
        sum(range(1000))
    assert t.seconds > 0


def test_metrics_and_baselines_do_not_import_tensorflow():
    code = "import sys, lib.metrics, lib.baselines; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO_ROOT).returncode == 0


# ------------------------------------------------------------------------------- operating points
def test_threshold_at_fpr_raises_at_most_the_target_share_of_benign_rows():
    benign = np.random.default_rng(0).random(10_000)
    for target in (0.001, 0.01, 0.1):
        threshold = metrics.threshold_at_fpr(benign, target)
        assert (benign > threshold).mean() <= target
        # and it is the lowest such threshold: one value lower would alert on more than the target
        below = np.sort(benign)[np.searchsorted(np.sort(benign), threshold) - 1]
        assert (benign > below).mean() > target


def test_threshold_with_too_few_benign_rows_is_the_highest_benign_score():
    assert metrics.threshold_at_fpr(np.array([0.1, 0.5, 0.3]), 0.001) == 0.5


def test_detection_at_fpr_sets_thresholds_on_validation_rows_only():
    rng = np.random.default_rng(1)
    y_val = np.r_[np.zeros(1000, int), np.ones(100, int)]
    p_val = np.c_[1 - (s := np.r_[rng.random(1000) * 0.5, 0.5 + rng.random(100) * 0.5]), s]
    y_test = np.r_[np.zeros(4, int), np.ones(4, int)]
    # test benign rows all score above every validation benign row: the honest test FPR is 1, not the target
    s_test = np.array([0.9, 0.9, 0.9, 0.9, 0.2, 0.95, 0.99, 0.6])
    rows = metrics.detection_at_fpr(y_val, p_val, y_test, np.c_[1 - s_test, s_test], targets=(0.01,))
    assert rows[0]["test_fpr"] == 1.0
    assert rows[0]["threshold"] < 0.5
    assert rows[0]["detection_rate"] == 0.75
    assert rows[0]["benign_val"] == 1000


def test_attack_score_is_one_minus_benign_probability_in_every_label_mode():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    np.testing.assert_allclose(metrics.attack_score(proba), [0.3, 0.9])


def test_threshold_at_fpr_target_0_is_the_highest_benign_score_and_the_domain_is_0_to_1():
    benign = np.array([0.2, 0.9, 0.4, 0.7])
    assert metrics.threshold_at_fpr(benign, 0.0) == 0.9  # no benign row may alert
    assert (benign > metrics.threshold_at_fpr(benign, 0.0)).sum() == 0
    for target in (1.0, 1.5, -0.01):
        with pytest.raises(ValueError, match=r"must lie in \[0, 1\)"):
            metrics.threshold_at_fpr(benign, target)
    with pytest.raises(ValueError, match="no benign rows"):
        metrics.threshold_at_fpr(np.array([]), 0.01)


def test_threshold_at_fpr_counts_the_allowed_rows_without_float_error():
    """0.29 * 100 is 28.999999999999996 in floating point: the rule allows floor(target * n + 1e-9) = 29 rows."""
    scores = np.arange(100, dtype=np.float64)
    assert 0.29 * 100 < 29
    threshold = metrics.threshold_at_fpr(scores, 0.29)
    assert threshold == 70.0 and (scores > threshold).sum() == 29
    assert metrics.flag_rate(scores, threshold) == pytest.approx(0.29)
    assert metrics.threshold_at_fpr(scores, 0.289) == 71.0  # 28.9 rows: 28 may alert
    assert math.isnan(metrics.flag_rate(np.array([]), 0.5))


def test_display_names_keep_unknown_ids():
    by_model = {"cnn_lstm": 1, "random_forest": 2, "my_model": 3}
    assert metrics.display_names(by_model) == {"CNN-LSTM Hybrid": 1, "Random Forest": 2, "my_model": 3}
    assert list(metrics.display_names(by_model, metrics.CONTENDER_NAMES)) == [
        "CNN-LSTM Hybrid",
        "Random Forest (features)",
        "my_model",
    ]


def test_describe_differences_is_one_bullet_per_difference():
    runs = pd.DataFrame(
        [
            {"model": m, "seed": s, "f1": v + k * s}
            for m, v, k in (("a", 0.9, 0.001), ("b", 0.8, 0.002))
            for s in (1, 2, 3)
        ]
    )
    found = [metrics.paired_difference(runs, "a", "b"), metrics.paired_difference(runs, "b", "a")]
    text = metrics.describe_differences(found, {"a": "Model A"}, tie=0.0)
    assert text.split("\n") == [f"* {metrics.describe_difference(d, {'a': 'Model A'})}" for d in found]
    assert text.startswith("* Model A vs b: F1 0.9020 vs 0.8040") and "Model A is better" in text
    assert metrics.describe_differences([]) == ""


def test_results_hold_what_a_learner_returns_and_trained_reads_predictions():
    results = metrics.Results()
    assert results.predictions == results.histories == results.models == {}
    assert results.tables == results.records == results.timing_tables == {}
    results.histories["cnn_lstm", 1] = {"loss": [0.5]}
    results.histories["mlp", 1] = {"loss": [0.4]}
    results.histories["cnn_lstm", 2] = {"loss": [0.3]}
    assert results.histories_of(1) == {"cnn_lstm": {"loss": [0.5]}, "mlp": {"loss": [0.4]}}
    assert results.histories_of(2) == {"cnn_lstm": {"loss": [0.3]}} and results.histories_of(3) == {}
    assert list(results.timings_frame().columns) == ["model", "seed"]  # no timing: still the key columns
    calls = []

    def read(model, seed, split):
        calls.append((model, seed, split))
        return np.full((2, 2), seed)

    trained = metrics.Trained(("cnn_lstm",), (1, 2), {"models": ["cnn_lstm"]}, read)
    np.testing.assert_array_equal(trained.prediction("cnn_lstm", 2), np.full((2, 2), 2))
    trained.prediction("cnn_lstm", 1, "val")
    assert calls == [("cnn_lstm", 2, "test"), ("cnn_lstm", 1, "val")]  # the test split unless told
