"""lib/report/ (runs, tables, findings, figure inputs): Table 1 from metrics files, and findings computed from the
numbers. The writer and the results page: tests/test_report_page.py."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lib import metrics, report, run  # noqa: E402
from lib.datasets import capture  # noqa: E402


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
    table = metrics.table1_vs_paper(report.load_runs(folder), "iot23", "binary")
    row = table.set_index("Model").loc["Random Forest"]
    assert row["Accuracy (ours)"] == "92.0 ± 2.0" and row["Accuracy (paper)"] == "89.5"
    assert table.set_index("Model").loc["CNN-LSTM Hybrid", "F1-Score (ours)"] == "96.0 ± 1.0"
    csv, md = report.write_table(table, tmp_path / "table1")
    assert pd.read_csv(csv).shape == table.shape
    assert md.read_text().splitlines()[2].startswith("| Random Forest | 92.0 ± 2.0 | 89.5 |")


def test_findings_say_when_the_ranking_does_not_reproduce():
    runs = _runs({"random_forest": [0.97, 0.97, 0.98], "cnn_only": [0.93, 0.94, 0.95], "cnn_lstm": [0.90, 0.91, 0.92]})
    text = report.findings(runs, "iot23", "binary")
    assert (
        "best F1 of the paper's four models* — does not reproduce: the hybrid is worse than Random Forest (-6.33"
        in text
    )
    assert "F1: Random Forest 97.33 (95 % CI over 3 seeds: " in text
    assert (
        "- CNN-LSTM Hybrid: accuracy 91.00 (95 % CI over 3 seeds: 88.52–93.48) vs the paper's 96.5: does not reproduce"
        in text
    )


def test_findings_say_when_it_reproduces():
    runs = _runs({"random_forest": [0.80, 0.81, 0.82], "cnn_only": [0.85, 0.87, 0.86], "lstm_only": [0.88, 0.90, 0.91],
                  "cnn_lstm": [0.95, 0.96, 0.98]})  # fmt: skip
    text = report.findings(runs, "iot23", "binary")
    assert "four models* — reproduces: the hybrid is better than Random Forest (" in text
    assert (
        "*Accuracy ranks RF < CNN-only < LSTM-only < CNN-LSTM* — reproduces: CNN-Only is better than Random Forest"
        in text
    )


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
    assert "four models* — not supported: the hybrid is not separable here from Random Forest (+1.00 points" in text


def test_findings_call_differences_of_a_flow_or_two_level():
    runs = _runs({"cnn_only": [0.9453] * 3, "cnn_lstm": [0.9448] * 3}).assign(n_test=1663)
    text = report.findings(runs, "iot23", "binary")
    assert "four models* — not supported: the hybrid is level with CNN-Only (-0.05 points" in text
    assert "On 1,663 test flows one flow is 0.06 points, two flows 0.12." in text
    assert "does not reproduce: the hybrid" not in text  # the referee's case: a two-flow gap is no loss


def test_findings_never_say_does_not_reproduce_when_the_seeds_do_not_settle_it():
    runs = _runs({"random_forest": [0.93, 0.96, 0.98], "cnn_lstm": [0.70, 0.95, 0.80], "lstm_only": [0.9, 0.6, 0.99]})
    text = report.findings(runs, "cicids2017", "multiclass")
    claim = next(line for line in text.splitlines() if line.startswith("- *The CNN-LSTM hybrid"))
    assert claim.startswith("- *The CNN-LSTM hybrid has the best F1 of the paper's four models* — not supported: ")
    assert "not separable here from Random Forest (-14.00 points, 95 % CI over 3 paired seeds [" in claim
    assert "best mean" not in text and "settle" not in text  # no ranking by means


def test_reader_tables_give_fractions_in_percent_and_keep_other_columns():
    table = pd.DataFrame({"family": ["Bot"], "recall at 1 % FPR": [0.05349794], "n": [81]})
    shown = report.as_percent(table)
    assert list(shown.columns) == ["family", "recall at 1 % FPR (%)", "n"]
    assert shown.iloc[0].tolist() == ["Bot", 5.3, 81]
    assert table.iloc[0, 1] == 0.05349794  # the caller's table is left as it was


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


# ------------------------------------------------------------------------------------------ one seed, other data
def test_findings_with_one_seed_give_no_interval_and_claim_nothing_that_needs_one():
    for acc in (
        {"random_forest": [0.97], "cnn_only": [0.93], "cnn_lstm": [0.90]},  # the hybrid trails
        {"random_forest": [0.90], "cnn_only": [0.93], "cnn_lstm": [0.97]},  # the hybrid leads
    ):
        text = report.findings(_runs(acc).assign(n_test=1000), "iot23", "binary")
        assert "nan" not in text and "95 % CI" not in text
        assert "With one seed no interval can be given" in text
        assert "has the best F1 of the paper's four models* — one seed: not separable: " in text
        assert "not separable (one seed) from Random Forest" in text and "(one seed)" in text
        bullets = "\n".join(line for line in text.splitlines() if line.startswith("- "))
        assert "does not reproduce" not in bullets and "— reproduces" not in bullets
        assert " better than " not in bullets and " worse than " not in bullets


def test_findings_on_data_the_paper_did_not_use_compare_no_number():
    runs = _runs({"random_forest": [0.97, 0.97, 0.98], "cnn_only": [0.93, 0.94, 0.95], "cnn_lstm": [0.90, 0.91, 0.92]})
    text = report.findings(runs, "csv", "binary", name="unsw_nb15")
    assert text.startswith("**unsw_nb15, binary, 3 seed(s).**")
    assert "Paper 1 reports no numbers for this data (DATASET='csv')" in text
    assert "the paper's" not in text.replace("the paper's four models", "").replace("The paper's number", "")
    assert "96.5" not in text
    assert "does not hold on this data: the hybrid is worse than Random Forest" in text
    assert "reproduce" not in text.replace("does not reproduce only when", "")


def test_findings_with_only_the_hybrid_do_not_call_it_best():
    text = report.findings(_runs({"cnn_lstm": [0.9, 0.91, 0.92]}), "iot23", "binary")
    assert "cannot be checked: none of the paper's other three models was run" in text
    assert "Accuracy ranks" not in text


def test_findings_of_binary_runs_report_macro_f1_and_flag_a_model_that_calls_everything_an_attack():
    runs = _runs({"random_forest": [0.90, 0.91, 0.92], "cnn_lstm": [0.89, 0.89, 0.89]}).assign(
        f1_macro=[0.88, 0.89, 0.90, 0.44, 0.44, 0.44],
        f1_benign=[0.87, 0.88, 0.89, 0.0, 0.0, 0.0],
        recall_benign=[0.9, 0.9, 0.9, 0.0, 0.0, 0.0],
    )
    text = report.findings(runs, "iot23", "binary")
    assert "CNN-LSTM Hybrid 44.0 % (benign F1 0.0 %, benign recall 0.0 %)" in text
    assert "CNN-LSTM Hybrid call(s) most benign test flows attacks" in text
    assert "Macro F1" not in report.findings(runs, "iot23", "multiclass")


def test_feature_importance_is_compared_with_the_paper_only_on_its_data():
    importance = pd.DataFrame({"RF": [0.5, 0.3, 0.2]}, index=["duration", "proto", "sbytes"])
    assert (
        "the paper's groups among them: byte counts, flow duration, packet size, protocol"
        in report.importance_vs_paper(importance, "iot23")
    )
    text = report.importance_vs_paper(importance, "csv")
    assert "reports no ranking for this data, so nothing is compared" in text
    assert "- RF: duration, proto, sbytes" in text and "groups" not in text


# ------------------------------------------------------------------------------------------ zero-day reasons
def _anomaly_stage(folder: run.RunDir, zero_day: pd.DataFrame, eligibility: pd.DataFrame) -> dict:
    folder.begin("prepared", {"DATASET": "t"}).finish()
    writer = folder.begin("anomaly", {"DATASET": "t", "MIN_FAMILY_ROWS": 30}, inputs=["prepared"])
    writer.save_tables({"zero_day": zero_day, "eligibility": eligibility})
    writer.finish()
    return {"anomaly": folder.open("anomaly")}


ELIGIBILITY = ["family", "n_train", "n_test", "held_out", "reason"]


@pytest.mark.parametrize("zero_day", [pd.DataFrame(columns=["family", "seed"]), pd.DataFrame()])
def test_zero_day_table_of_a_run_that_held_no_family_out_is_none_with_the_reason(tmp_path, zero_day):
    eligibility = pd.DataFrame(
        [["DDoS", 17, 1, False, "fewer than 30 test rows"], ["C&C", 0, 40, False, "no training rows (unseen already)"]],
        columns=ELIGIBILITY,
    )
    stages = _anomaly_stage(run.RunDir(tmp_path), zero_day, eligibility)  # pd.DataFrame() is an empty CSV file
    table, reason = report.zero_day_table(stages)
    assert table is None
    assert reason == (
        "No attack family could be held out for the zero-day test: DDoS (1 test, 17 training rows): fewer than 30 "
        "test rows; C&C (40 test, 0 training rows): no training rows (unseen already) (MIN_FAMILY_ROWS=30: lower "
        "it, or prepare more rows with SAMPLE_ROWS)."
    )


def test_zero_day_reasons_say_when_there_is_one_attack_family_or_none():
    one = pd.DataFrame([[1, 900, 200, False, "the only attack family in training"]], columns=ELIGIBILITY)  # label 0/1
    assert "the rows name a single attack family ('1', 200 test rows)" in report.zero_day_reason(one, 30)
    assert "hold no attack rows at all" in report.zero_day_reason(pd.DataFrame(columns=ELIGIBILITY), 30)
    held = pd.DataFrame(
        [["C&C", 9, 40, True, ""], ["DDoS", 1, 1, False, "fewer than 30 test rows"]], columns=ELIGIBILITY
    )
    assert report.zero_day_reason(held, 30) == ""
    assert report.zero_day_table({}) == (None, "Notebook 05 has not run for this RUN_DIR: no zero-day results.")


def test_zero_day_table_summarises_the_families_held_out(tmp_path):
    zero_day = pd.DataFrame({"family": ["C&C", "C&C"], "seed": [1, 2], "recall_supervised": [0.2, 0.4]})
    eligibility = pd.DataFrame([["C&C", 9, 40, True, ""]], columns=ELIGIBILITY)
    table, reason = report.zero_day_table(_anomaly_stage(run.RunDir(tmp_path), zero_day, eligibility))
    assert reason == "" and table.set_index("family").loc["C&C", "recall_supervised_mean"] == pytest.approx(0.3)


# ------------------------------------------------------------------------------------------------ Fig. 1
def _prepared(dataset: str, rows: pd.DataFrame, **parameters) -> tuple[SimpleNamespace, SimpleNamespace]:
    third = len(rows) // 3
    splits = {"train": rows.iloc[:third], "val": rows.iloc[third : 2 * third], "test": rows.iloc[2 * third :]}
    return SimpleNamespace(parameters={"DATASET": dataset, **parameters}), SimpleNamespace(rows=splits)


def test_fig1_is_drawn_from_the_runs_own_rows_by_their_time_column():
    rows = pd.DataFrame(
        {
            "Timestamp": [f"{d}/02/2018 08:{m:02d}:01" for d in (14, 15) for m in range(30)],
            "label": ["Benign", "DoS"] * 30,
        }
    )
    fig, caption = report.lifecycle_figure(*_prepared("csv", rows), scenario="", data_dir="", name="cse-cic-ids2018")
    assert fig is not None and fig.axes[0].get_title() == "cse-cic-ids2018: flows over time by label"
    assert caption.startswith("Fig. 1: the run's prepared flows") and "60 of 60 have a time" in caption
    assert "'Timestamp' (text as %d/%m/%Y %H:%M:%S" in caption
    plt.close(fig)


def test_fig1_is_skipped_with_the_reason_when_the_rows_have_no_time_column():
    rows = pd.DataFrame({"srcip": ["10.0.0.1"] * 6, "label": ["Benign", "Attack"] * 3})
    fig, caption = report.lifecycle_figure(*_prepared("csv", rows), scenario="", data_dir="", name="mine")
    assert fig is None
    assert caption.startswith("Fig. 1 skipped: no time column among the run's row columns ['srcip', 'label']")


def test_fig1_of_an_iot23_run_without_the_capture_falls_back_to_its_rows():
    rows = pd.DataFrame(
        {"ts": 1.5e9 + np.arange(9.0) * 600, "scenario": ["CTU-Honeypot-Capture-4-1"] * 9, "label": ["Benign"] * 9}
    )
    prepared, data = _prepared("iot23", rows)
    fig, caption = report.lifecycle_figure(
        prepared, data, scenario="CTU-IoT-Malware-Capture-34-1", data_dir="", name="x"
    )
    assert caption.startswith(
        "Capture CTU-IoT-Malware-Capture-34-1 (LIFECYCLE_SCENARIO) is not among this run's data files: drawn from "
        "its rows. Fig. 1: the run's prepared flows"
    )
    assert "'ts' (epoch s, UTC)" in caption and fig is not None
    plt.close(fig)


def test_fig1_of_an_iot23_run_with_the_capture_draws_all_its_raw_flows(mirror):
    rows = pd.DataFrame({"ts": [1.5e9] * 3, "scenario": ["CTU-IoT-Malware-Capture-34-1"] * 3, "label": ["C&C"] * 3})
    prepared, data = _prepared("iot23", rows, DATA_DIR=str(mirror))
    fig, caption = report.lifecycle_figure(
        prepared, data, scenario="CTU-IoT-Malware-Capture-34-1", data_dir="", name="iot23"
    )
    assert (
        caption
        == "Fig. 1: IoT-23 capture CTU-IoT-Malware-Capture-34-1, all 23,145 of its flows (before deduplication)."
    )
    assert fig.axes[0].get_title() == "iot23, capture CTU-IoT-Malware-Capture-34-1: flows over time by detailed label"
    plt.close(fig)


def test_the_capture_of_fig1_is_found_among_the_runs_files_and_never_downloaded(mirror, tmp_path):
    scenario = "CTU-IoT-Malware-Capture-34-1"
    found = capture.capture_files(scenario, mirror)
    assert len(found) == 1 and f"{scenario}/bro/conn.log.labeled" in found[0]
    assert capture.capture_files(scenario, files=str(mirror / "iot23")) == found  # DATA_FILES wins over DATA_DIR
    with pytest.raises(FileNotFoundError, match="none of the run's 1 files belongs to it"):
        capture.capture_files("CTU-Honeypot-Capture-4-1", files=found[0])
    with pytest.raises(FileNotFoundError):
        capture.load_capture(scenario, tmp_path)  # an empty DATA_DIR: an error, no download
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------ the study
def _study_run(root, name: str, macro: dict[str, list[float]], **prepared) -> run.RunDir:
    """A finished run ``root/name`` whose models score ``macro`` (macro-F1 per seed), prepared with ``prepared``."""
    folder = run.RunDir(root / name)
    folder.begin("prepared", {"DATASET": "iot23", "NAME": name, **prepared}).finish()
    rows = [
        {"model": m, "seed": s, "f1": v, "f1_macro": v, "fpr": 0.01 * (s + 1), "accuracy": v}
        for m, values in macro.items()
        for s, v in enumerate(values)
    ]
    scores = pd.DataFrame(rows)
    for stage, models in (("baselines", ["random_forest", "xgboost"]), ("deep", ["cnn_lstm", "cnn_only"])):
        part = scores[scores["model"].isin(models)]
        writer = folder.begin(stage, {"DATASET": "iot23", "TUNE": prepared.get("TUNE", "off")}, inputs=["prepared"])
        writer.save_results(metrics.Results(scores=part.to_dict("records")))
        writer.finish(models=models, seeds=[0, 1])
    return folder


def test_protocol_table_puts_each_split_beside_the_papers_number_on_the_stratified_row_only(tmp_path):
    macro = {"random_forest": [0.9, 0.92], "xgboost": [0.95, 0.95], "cnn_lstm": [0.8, 0.82], "cnn_only": [0.7, 0.7]}
    main = _study_run(tmp_path, "a", macro)
    _study_run(tmp_path, "a-group", {m: [v - 0.3 for v in vs] for m, vs in macro.items()}, SPLIT="group")
    study = report.study_runs(main, str(tmp_path / "a-group"))
    assert list(study) == ["a", "a-group"]
    rows = report.protocol_rows(study)
    table = report.protocol_table(rows, "iot23").set_index(["Protocol", "Model"])
    stratified = table.loc[(report.SPLIT_NAMES["stratified"], "CNN-LSTM Hybrid")]
    grouped = table.loc[(report.SPLIT_NAMES["group"], "CNN-LSTM Hybrid")]
    assert stratified["Macro F1"] == "81.0 ± 1.4" and grouped["Macro F1"] == "51.0 ± 1.4"
    assert stratified["F1 (paper)"] == f"{metrics.PAPER1_TABLE1['CNN-LSTM Hybrid']['F1-Score']:.1f}"
    assert grouped["F1 (paper)"] == ""
    text = report.protocol_findings(rows, "iot23")
    claim = "the hybrid has the best macro-F1 of the paper's four models — does not reproduce: "
    assert claim + "the hybrid is worse than Random Forest (-10.00 points, 95 % CI over 2 paired seeds [" in text
    assert "XGBoost on the features is better than the hybrid (+14.00 points, 95 % CI over 2 paired seeds [" in text
    paper = metrics.PAPER1_TABLE1["CNN-LSTM Hybrid"]["F1-Score"]
    assert (
        f"the hybrid's 81.00 (95 % CI over 2 seeds: 68.29–93.71) against the paper's F1 of {paper:.1f}: does " in text
    )
    assert "points above" not in text and "best macro-F1 of the paper's four models (" not in text  # no mean ranking
    hybrid = rows[rows["model"] == "cnn_lstm"].set_index(["run", "seed"])["f1_macro"]
    level = rows.copy()  # both trees given the hybrid's score, run by run and seed by seed
    trees = level["model"].isin(["random_forest", "xgboost"])
    keys = pd.MultiIndex.from_frame(level.loc[trees, ["run", "seed"]])
    level.loc[trees, "f1_macro"] = hybrid.loc[keys].to_numpy()
    assert "on the features is level with the hybrid" in report.protocol_findings(level, "iot23")


def test_configurations_table_sets_the_tuned_run_beside_the_paper_faithful_one(tmp_path):
    main = _study_run(
        tmp_path,
        "b",
        {"random_forest": [0.9, 0.9], "xgboost": [0.9, 0.9], "cnn_lstm": [0.8, 0.8], "cnn_only": [0.7, 0.7]},
    )
    _study_run(
        tmp_path, "b-tuned", {"random_forest": [0.9, 0.9], "xgboost": [0.9, 0.9], "cnn_lstm": [0.88, 0.9], "cnn_only": [0.8, 0.8]},
        SCALING="log_standard",
    )  # fmt: skip
    study = report.study_runs(main, str(tmp_path / "b-tuned"))
    assert report.study_overview(study)["configuration"].tolist() == ["paper-faithful", "tuned"]
    table = report.configurations_table(study, "iot23", "binary").set_index("Model")
    assert table.loc["CNN-LSTM Hybrid", "Macro F1, paper-faithful"] == "80.0 ± 0.0"
    assert table.loc["CNN-LSTM Hybrid", "Macro F1, tuned"] == "89.0 ± 1.4"


def test_a_study_run_from_other_data_or_missing_is_refused(tmp_path):
    main = _study_run(tmp_path, "c", {"cnn_lstm": [0.8, 0.8]})
    other = run.RunDir(tmp_path / "c-other")
    other.begin("prepared", {"DATASET": "cicids2017"}).finish()
    with pytest.raises(ValueError, match="cicids2017"):
        report.study_runs(main, str(tmp_path / "c-other"))
    with pytest.raises(FileNotFoundError, match="no prepared run"):
        report.study_runs(main, str(tmp_path / "nowhere"))
    assert not (tmp_path / "nowhere").exists()


def test_detection_rates_are_read_at_thresholds_from_validation_rows(tmp_path):
    folder = run.RunDir(tmp_path)
    y_val, y_test = np.r_[np.zeros(1000, int), np.ones(50, int)], np.r_[np.zeros(1000, int), np.ones(100, int)]
    data = SimpleNamespace(y_val=y_val, y_test=y_test)
    folder.load_prepared = lambda: data  # the arrays are all detection_rows reads of the prepared stage
    folder.begin("prepared", {"DATASET": "t"}).finish()
    rng = np.random.default_rng(0)
    score_val = np.r_[rng.random(1000) * 0.5, np.full(50, 0.9)]
    score_test = np.r_[rng.random(1000) * 0.5, np.full(60, 0.9), np.full(40, 0.3)]  # 40 % of attacks look benign
    for stage, model in (("baselines", "random_forest"), ("deep", "cnn_lstm")):
        writer = folder.begin(stage, {"DATASET": "t"}, inputs=["prepared"])
        writer.save_predictions(model, 0, "val", np.c_[1 - score_val, score_val])
        writer.save_predictions(model, 0, "test", np.c_[1 - score_test, score_test])
        writer.finish(models=[model], seeds=[0])
    rows = report.detection_rows(folder)
    assert set(rows["target_fpr"]) == set(metrics.OPERATING_FPRS)
    at_1 = rows[(rows["model"] == "cnn_lstm") & (rows["target_fpr"] == 0.01)].iloc[0]
    assert at_1["detection_rate"] == pytest.approx(0.6) and at_1["test_fpr"] < 0.03
    table = report.detection_table(rows).set_index("Model")
    assert table.loc["CNN-LSTM Hybrid", "Detection @ 1 % FPR"] == "60.0"


def test_fusion_study_has_one_column_per_run_that_ran_notebook_04_and_its_verdict_comes_from_the_scores(tmp_path):
    macro = {"random_forest": [0.9, 0.9], "xgboost": [0.95, 0.97], "cnn_lstm": [0.8, 0.8], "cnn_only": [0.7, 0.7]}
    main = _study_run(tmp_path, "d", macro)
    _study_run(tmp_path, "d-group", macro, SPLIT="group")  # notebook 04 never ran there
    writer = main.begin("fusion", {"DATASET": "iot23"}, inputs=["prepared", "deep", "baselines"])
    f1 = {"fusion_xgboost": (0.9, 0.91), "xgboost": (0.96, 0.96), "cnn_lstm": (0.8, 0.8), "soft_voting": (0.8, 0.8)}
    f1[metrics.DEPLOY_CONTENDER] = (0.99, 0.995)  # the distilled variant: beside its fusion, never a fusion verdict
    scores = [
        {"model": m, "seed": s, "f1_macro": v[s], "val_f1_macro": v[s], "n_test": 1000}
        for m, v in f1.items()
        for s in (0, 1)
    ]
    writer.save_results(metrics.Results(scores=scores))
    writer.save_json("comparisons", {"verdict": "Fusion helps: a sentence notebook 06 no longer quotes."})
    writer.finish(models=list(f1), seeds=[0, 1])
    study = report.study_runs(main, str(tmp_path / "d-group"))
    table = report.fusion_study(study)
    assert list(table.columns) == ["Contender", "d (paper-faithful, stratified)"]
    assert table.set_index("Contender").loc["Fusion (XGBoost meta)"].iloc[0] == "90.5 ± 0.7"
    comparisons, verdicts = report.fusion_comparisons(report.seed_scores(study))
    assert verdicts.startswith("- d (paper-faithful, stratified): Fusion adds something here, on macro-F1 against the ")
    assert "better than CNN-LSTM Hybrid: Fusion (XGBoost meta)." in verdicts and "a sentence" not in verdicts
    row = comparisons.set_index("Reference").loc["XGBoost (features)"]
    assert row["Difference (points)"] == "-5.50" and row["Tie margin (points)"] == "0.20"
    assert row["Call"] == "not separable here from"  # two seeds: -6 and -5, an interval from -11.9 to +0.9
    assert set(comparisons["Contender"]) == {"Fusion (XGBoost meta)"} and "deployment variant" not in verdicts
