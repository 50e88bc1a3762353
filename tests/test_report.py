"""lib/report.py: Table 1 from metrics files, and findings computed from the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib import metrics, report, run


def _runs(acc: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for model, values in acc.items():
        for seed, v in enumerate(values):
            rows.append(
                {"model": model, "seed": seed, "accuracy": v, "precision": v - 0.01, "recall": v + 0.01, "f1": v}
            )
    return pd.DataFrame(rows)


def _stage_with_scores(folder: run.RunDir, stage: str, runs: pd.DataFrame) -> run.Stage:
    """A finished stage (on a finished prepared stage) whose scores are ``runs``."""
    if not folder.has("prepared"):
        folder.begin("prepared", {"DATASET": "t"}).finish()
    writer = folder.begin(stage, {"DATASET": "t"}, inputs=["prepared"])
    results = metrics.Results(scores=runs.to_dict("records"))
    writer.save_results(results)
    return writer


def test_table1_is_rebuilt_from_the_stages_scores(tmp_path):
    runs = _runs({"random_forest": [0.90, 0.92, 0.94], "cnn_lstm": [0.95, 0.96, 0.97]})
    folder = run.RunDir(tmp_path)
    _stage_with_scores(folder, "baselines", runs[runs["model"] == "random_forest"]).finish(models=["random_forest"])
    _stage_with_scores(folder, "deep", runs[runs["model"] == "cnn_lstm"]).finish(models=["cnn_lstm"])
    table = metrics.table1_vs_paper(report.load_runs(folder))
    row = table.set_index("Model").loc["Random Forest"]
    assert row["Accuracy (ours)"] == "92.0 ± 2.0" and row["Accuracy (paper)"] == "89.5"
    assert table.set_index("Model").loc["CNN-LSTM Hybrid", "F1-Score (ours)"] == "96.0 ± 1.0"
    csv, md = report.write_table(table, tmp_path / "table1")
    assert pd.read_csv(csv).shape == table.shape
    assert md.read_text().splitlines()[2].startswith("| Random Forest | 92.0 ± 2.0 | 89.5 |")


def test_findings_say_when_the_ranking_does_not_reproduce():
    runs = _runs({"random_forest": [0.97, 0.97, 0.98], "cnn_only": [0.93, 0.94, 0.95], "cnn_lstm": [0.90, 0.91, 0.92]})
    text = report.findings(runs, "iot23", "binary")
    assert "best F1 of the paper's four models* — does not reproduce: Random Forest beat(s) the hybrid beyond" in text
    assert "Mean F1 (95 % CI): Random Forest 97.33 (" in text
    assert "CNN-LSTM Hybrid: accuracy 91.0 % vs the paper's 96.5 % (-5.5 points)" in text


def test_findings_say_when_it_reproduces():
    runs = _runs({"random_forest": [0.80, 0.81, 0.82], "cnn_only": [0.85, 0.86, 0.87], "lstm_only": [0.88, 0.89, 0.90],
                  "cnn_lstm": [0.95, 0.96, 0.97]})  # fmt: skip
    text = report.findings(runs, "iot23", "binary")
    assert "four models* — reproduces: the hybrid is best, with 95 % intervals clear" in text
    assert "*Accuracy ranks RF < CNN-only < LSTM-only < CNN-LSTM* — reproduces" in text


def test_predictions_are_read_per_seed_in_table_order(tmp_path):
    folder = run.RunDir(tmp_path)
    empty = pd.DataFrame(columns=["model", "seed"])
    stages = {"baselines": ["svm", "random_forest"], "deep": ["cnn_lstm"], "deep_smote": ["cnn_lstm"]}
    for stage, names in stages.items():
        writer = _stage_with_scores(folder, stage, empty)
        for name in names:
            writer.save_predictions(name, 7, "test", np.ones((3, 2)) if stage == "deep_smote" else np.zeros((3, 2)))
        writer.finish(models=names, seeds=[7])
    assert list(report.load_predictions(folder, 7)) == ["random_forest", "svm", "cnn_lstm"]
    smote = report.load_predictions(folder, 7, smote=True)
    assert list(smote) == ["cnn_lstm"] and smote["cnn_lstm"].sum() == 6
    with pytest.raises(
        run.StaleArtefactError,
        match=r"svm_seed8_test\.npy not found: 02_baselines\.ipynb did not write it \(it ran models",
    ):
        report.load_predictions(folder, 8)


def test_findings_say_when_differences_are_within_the_intervals():
    runs = _runs({"random_forest": [0.90, 0.94, 0.92], "cnn_lstm": [0.92, 0.96, 0.91]})
    text = report.findings(runs, "iot23", "binary")
    assert "reproduces only on the mean: the hybrid is best, but its interval overlaps Random Forest" in text


def test_findings_call_differences_of_a_flow_or_two_a_tie():
    runs = _runs({"cnn_only": [0.9453] * 3, "cnn_lstm": [0.9448] * 3}).assign(n_test=1663)
    text = report.findings(runs, "iot23", "binary")
    assert "the hybrid ties with the others (all within two test flows)" in text
    assert "On 1,663 test flows one flow is 0.06 points" in text


def test_findings_name_the_best_model_when_the_hybrid_trails_within_the_spread():
    runs = _runs({"random_forest": [0.93, 0.96, 0.98], "cnn_lstm": [0.70, 0.95, 0.80], "lstm_only": [0.9, 0.6, 0.99]})
    text = report.findings(runs, "cicids2017", "multiclass")
    assert "does not reproduce: Random Forest has the best mean F1, 14.00 points above the hybrid" in text


def test_smote_runs_that_are_stale_or_lack_the_seed_are_left_out_not_an_error(tmp_path):
    folder = run.RunDir(tmp_path)
    empty = pd.DataFrame(columns=["model", "seed"])
    for stage in ("baselines", "deep", "deep_smote"):
        writer = _stage_with_scores(folder, stage, empty)
        writer.save_predictions("cnn_lstm" if "deep" in stage else "svm", 7, "test", np.zeros((3, 2)))
        writer.finish(models=["cnn_lstm" if "deep" in stage else "svm"], seeds=[7])
    assert list(report.load_predictions(folder, 7, smote=True)) == ["cnn_lstm"]
    assert report.load_predictions(folder, 8, smote=True) == {}  # the SMOTE run has seed 7 only
    folder.begin("deep_smote", {"DATASET": "t"}, inputs=["prepared"])  # a SMOTE rerun that never finished
    assert report.load_predictions(folder, 7, smote=True) == {}
    assert list(
        report.smote_pairs({"cnn_lstm": np.zeros((3, 2))}, {"cnn_lstm": np.ones((3, 2)), "svm": np.ones((3, 2))})
    ) == [
        "CNN-LSTM Hybrid, unbalanced",
        "CNN-LSTM Hybrid, SMOTE (D2)",
    ]
