"""lib/report/evidence.py: every interval the verdicts quote, from a test-set bootstrap of the saved predictions."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lib import metrics, report, run
from lib.metrics import compare
from lib.report import evidence as ev

SEEDS = [0, 1, 2]


def _run(tmp_path, errors: dict[str, float], n: int = 600, n_pairs: int = 60, benign_val: int = 2000) -> run.RunDir:
    """A finished run whose test rows come in ``n_pairs`` host pairs (every fifth pair attacks), each model
    erring on a share ``errors[model]`` of the rows (the same rows for every seed, a few more per seed)."""
    rng = np.random.default_rng(0)
    pair = np.repeat(np.arange(n_pairs), n // n_pairs)
    y_test = (pair % 5 == 0).astype(int)
    y_val = np.r_[np.zeros(benign_val, int), np.ones(100, int)]
    rows = pd.DataFrame({"id.orig_h": [f"10.0.0.{p}" for p in pair], "id.resp_h": "10.0.1.1",
                         "source_file": "a.log"})  # fmt: skip
    folder = run.RunDir(tmp_path / "r")
    data = SimpleNamespace(y_test=y_test, y_val=y_val, rows={"test": rows}, n_classes=2, label_mode="binary",
                           meta={"report": {"split": {"test_sources": [tmp_path.name]}}})  # fmt: skip
    folder.load_prepared = lambda: data
    folder.begin("prepared", {"DATASET": "iot23", "NAME": "r"}).finish()
    scores = []
    for stage, models in (("baselines", ["random_forest", "xgboost"]), ("deep", ["cnn_lstm", "cnn_only"])):
        writer = folder.begin(stage, {"DATASET": "iot23"}, inputs=["prepared"])
        for model in models:
            wrong_rows = rng.random(n) < errors[model]
            for seed in SEEDS:
                wrong = wrong_rows | (rng.random(n) < 0.01)
                pred = np.where(wrong, 1 - y_test, y_test)
                proba = np.c_[1 - pred, pred] * 0.9 + 0.05
                writer.save_predictions(model, seed, "test", proba)
                val_score = np.r_[rng.random(benign_val) * 0.5, np.full(100, 0.9)]
                writer.save_predictions(model, seed, "val", np.c_[1 - val_score, val_score])
                result = metrics.evaluate(y_test, proba, ["Benign", "Attack"])
                scores.append({"model": model, "seed": seed, "n_test": n, **metrics.scalar_metrics(result)})
        part = [s for s in scores if s["model"] in models]
        writer.save_results(metrics.Results(scores=part))
        writer.finish(models=models, seeds=SEEDS)
    return folder


def test_the_evidence_files_hold_every_interval_and_pair_and_the_means_are_the_seed_scores(tmp_path):
    folder = _run(tmp_path, {"random_forest": 0.02, "xgboost": 0.02, "cnn_lstm": 0.10, "cnn_only": 0.10})
    intervals, differences = report.run_evidence(folder, n_boot=300, seed=1)
    scores = report.load_runs(folder).groupby("model")["f1_macro"].mean() * 100
    macro = intervals[intervals["score"] == "f1_macro"].set_index("model")
    for model, mean in scores.items():
        assert macro.loc[model, "mean"] == pytest.approx(mean, abs=1e-3)
        assert macro.loc[model, "low"] <= mean <= macro.loc[model, "high"]
    assert set(intervals["grouped_by"]) == {"id.orig_h/id.resp_h (600 rows)"} and set(intervals["test_groups"]) == {60}
    pairs = differences[differences["score"] == "accuracy"]
    assert len(pairs) == 6  # four Table 1 models, every pair once
    evidence = report.Evidence(intervals, differences)
    diff = metrics.paired_difference(metrics_in_percent(report.load_runs(folder)), "xgboost", "cnn_lstm", "f1_macro")
    forward = evidence.interval_of("r")(diff)
    backward = evidence.interval_of("r")(diff | {"model": "cnn_lstm", "reference": "xgboost"})
    assert forward.low > 0 and (backward.low, backward.high) == pytest.approx((-forward.high, -forward.low))
    assert "paired bootstrap" in forward.how


def metrics_in_percent(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.assign(f1_macro=100 * runs["f1_macro"])


def test_findings_use_the_test_set_intervals_and_say_how_they_were_made(tmp_path):
    folder = _run(tmp_path, {"random_forest": 0.05, "xgboost": 0.05, "cnn_lstm": 0.052, "cnn_only": 0.2})
    evidence = report.Evidence(*report.run_evidence(folder, n_boot=300, seed=1))
    runs = report.load_runs(folder)
    text = report.findings(runs, "iot23", "binary", name="r", evidence=evidence)
    assert "resample the 600 test rows 300 times in 60 groups" in text and "95 % paired bootstrap CI" in text
    assert "over paired seeds" not in text
    assert "come from 12 group(s), the largest holding 8.3 % of them" in text  # every fifth of 60 host pairs attacks
    assert "better than CNN-Only" in text  # 20 % of the flows wrong against 5 %
    table = report.table1_with_intervals(runs, "iot23", "binary", evidence.intervals, "r").set_index("Model")
    assert table.loc["CNN-Only", "Macro F1 95 % CI"].startswith("[") and "Macro F1 95 % CI" in table.columns
    assert list(table.columns).index("F1-Score 95 % CI") == list(table.columns).index("F1-Score (ours)") + 1


def test_the_seed_spread_of_a_bound_is_nil_where_the_seeds_agree_and_measured_where_they_differ(tmp_path, monkeypatch):
    folder = _run(tmp_path, {"random_forest": 0.02, "xgboost": 0.02, "cnn_lstm": 0.10, "cnn_only": 0.10})
    read_saved = ev._reader

    def reader(folder, stages, split="test"):  # XGBoost's three seeds made to predict alike
        read = read_saved(folder, stages, split)
        return lambda model, seed: read(model, SEEDS[0] if model == "xgboost" else seed)

    monkeypatch.setattr(ev, "_reader", reader)
    spread = report.seed_bound_spread(folder, n_boot=200, seed=1)
    assert len(spread) == 4 * len(ev.INTERVAL_SCORES) and set(spread["seeds"]) == {3}
    spread = spread.set_index(["model", "score"])
    assert (spread.loc["xgboost", ["low", "high"]].to_numpy() == 0).all()
    assert spread.loc["cnn_lstm", "low"].max() > 0 and (spread[["low", "high"]].fillna(0).to_numpy() >= 0).all()
    table = report.table1_with_intervals(report.load_runs(folder), "iot23", "binary", spread.reset_index(), "r")
    assert table.set_index("Model").loc["XGBoost", "Macro F1 95 % CI"] == "[0.0, 0.0]"


def test_one_seed_gives_no_interval_to_the_rule(tmp_path):
    folder = _run(tmp_path, {"random_forest": 0.02, "xgboost": 0.02, "cnn_lstm": 0.2, "cnn_only": 0.2})
    intervals, differences = report.run_evidence(folder, n_boot=50, seed=1)
    one = report.Evidence(intervals.assign(seeds=1), differences.assign(seeds=1))
    diff = {"model": "xgboost", "reference": "cnn_lstm", "metric": "f1_macro"}
    assert one.interval_of("r")(diff) is None
    assert one.mean_of("r")(report.load_runs(folder), "xgboost", "f1_macro")[1] is None


def test_the_operating_table_reads_precision_and_alarms_at_the_stated_prevalence(tmp_path):
    folder = _run(tmp_path, {"random_forest": 0.0, "xgboost": 0.0, "cnn_lstm": 0.05, "cnn_only": 0.05})
    table = report.operating_table(folder, n_boot=200, seed=0, prevalence=0.001, per_day=100_000, per_day_from="x")
    assert set(table["Target FPR (%)"]) == {"0.1", "1"} and (table["Prevalence"] == "1 in 1,000").all()
    row = table[(table["Model"] == "CNN-LSTM Hybrid") & (table["Target FPR (%)"] == "1")].iloc[0]
    fpr = float(row["Test FPR (%)"].split()[0]) / 100
    detection = float(row["Detection (%)"].split()[0]) / 100
    expected = 0.001 * detection / (0.001 * detection + 0.999 * fpr)
    assert float(row["Precision at 1 in 1,000 (%)"].split()[0]) == pytest.approx(100 * expected, abs=0.06)
    assert float(row["False alarms per day"].split()[0].replace(",", "")) == pytest.approx(fpr * 100_000, rel=0.01)


def test_the_finer_rate_is_not_set_on_too_few_benign_validation_flows(tmp_path):
    folder = _run(tmp_path, {"random_forest": 0.0, "xgboost": 0.0, "cnn_lstm": 0.05, "cnn_only": 0.05}, benign_val=500)
    table = report.operating_table(folder, n_boot=20, seed=0).set_index(["Model", "Target FPR (%)"])
    assert (
        table.loc[("XGBoost (features)", "0.1"), "Detection (%)"]
        == "not set: 500 benign validation flows cannot resolve it"
    )
    assert re.fullmatch(r"\d+\.\d \[\d+\.\d, \d+\.\d\]", table.loc[("XGBoost (features)", "1"), "Detection (%)"])
    assert (table["Benign flows per day"] == "").all()  # no rate given: no alarms per day


def test_a_fusion_stage_without_its_predictions_keeps_the_seeds_intervals_and_says_what_to_rerun(tmp_path, caplog):
    folder = _run(tmp_path, {"random_forest": 0.0, "xgboost": 0.0, "cnn_lstm": 0.05, "cnn_only": 0.05})
    writer = folder.begin("fusion", {"DATASET": "iot23"}, inputs=["prepared", "deep", "baselines"])
    writer.save_results(
        metrics.Results(scores=[{"model": "fusion_xgboost", "seed": s, "f1_macro": 0.9} for s in SEEDS])
    )
    writer.finish(models=["fusion_xgboost", "cnn_lstm"], seeds=SEEDS)
    with caplog.at_level("WARNING"):
        intervals, differences = report.run_evidence(folder, n_boot=20)
    assert "holds no test predictions of 'fusion_xgboost'" in caplog.text and "Fix: rerun" in caplog.text
    assert set(intervals["pool"]) == {"table1"}
    evidence = report.Evidence(intervals, differences)
    assert evidence.interval_of("r", "fusion") is compare.seed_interval  # the verdict says "over paired seeds"


def test_the_published_rate_is_used_where_the_mirror_holds_extracts():
    rate, said, table = ev.flows_per_day({}, "cicids2017")
    assert rate == pytest.approx(2_273_097 / 5) and "2,273,097 benign flows" in said and table.empty
    assert ev.flows_per_day({}, "iot23", given=1e6)[:2] == (1e6, "FLOWS_PER_DAY")


def test_the_datas_own_rate_is_the_median_of_its_files_rates(mirror):
    rate, said, table = ev.flows_per_day({"DATASET": "iot23", "DATA_DIR": str(mirror)}, "iot23")
    used = table[table["Used"] == "yes"]
    assert len(used) >= 3 and "median of" in said
    assert rate == pytest.approx(np.median([float(r.replace(",", "")) for r in used["Benign flows per day"]]))
    flows = table.set_index("Source file")["Flows"]
    assert flows.filter(like="34-1").iloc[0] == 23_145  # every row of the capture, before dedup


def test_leave_one_capture_out_gives_a_row_per_capture_and_model_and_the_mean_beside_the_stratified_number(tmp_path):
    main = _run(tmp_path / "main", {"random_forest": 0.0, "xgboost": 0.0, "cnn_lstm": 0.0, "cnn_only": 0.0})
    loco = {f"loco-{c}": _run(tmp_path / c, {"random_forest": e, "xgboost": e, "cnn_lstm": 0.3, "cnn_only": e})
            for c, e in (("cap1", 0.0), ("cap2", 0.2))}  # fmt: skip
    intervals = pd.concat([report.run_evidence(f, n_boot=50, seed=0)[0].assign(run=n) for n, f in loco.items()])
    table = report.loco_table(loco, intervals)
    assert list(table["Held-out capture"].unique()) == ["cap1", "cap2", "mean over 2 captures (flows: all of them)"]
    row = table[(table["Held-out capture"] == "cap1") & (table["Model"] == "XGBoost")].iloc[0]
    assert (
        row["Attack flows (test)"] == 120
        and row["Benign flows (test)"] == 480
        and row["Macro F1 95 % CI"].startswith("[")
    )
    assert row["Detection @ 1 % FPR"].startswith("9")
    main_intervals, _ = report.run_evidence(main, n_boot=50, seed=0)
    table1 = report.table1_with_intervals(report.load_runs(main), "iot23", "binary", main_intervals, "r")
    beside = report.loco_beside_stratified(table1, table).set_index("Model")
    first = lambda cell: float(str(cell).split()[0])  # noqa: E731
    hybrid = beside.loc["CNN-LSTM Hybrid"]
    assert first(hybrid["Leave one capture out, mean"]) < first(hybrid["Stratified macro F1"]) - 20
    assert set(beside.columns) == {"Stratified macro F1", "Stratified 95 % CI", "Leave one capture out, mean",
                                   "Captures' range"}  # fmt: skip
    out = report.FigureFolder(tmp_path / "figures", "r")
    out.table(beside.reset_index(), "loco_vs_stratified")
    lead = report.page.leads(out)
    assert lead[0].startswith("**Held out a whole capture, these models score below") and "CNN-LSTM Hybrid" in lead[0]
    assert report.unsourced_numbers("\n\n".join(["# Results: r", *lead]), out.folder) == {}
    assert lead[-1] == "*Source: `loco_vs_stratified.md`.*"


def test_the_page_opens_with_the_false_alarms_of_the_model_with_the_best_precision(tmp_path):
    folder = _run(tmp_path, {"random_forest": 0.0, "xgboost": 0.01, "cnn_lstm": 0.05, "cnn_only": 0.05})
    table = report.operating_table(folder, n_boot=50, seed=0, prevalence=0.001, per_day=10_000, per_day_from="x")
    out = report.FigureFolder(tmp_path / "figures", "r")
    out.table(table, "operating_realism")
    line, source = report.page.headline(out)
    at_one = table[table["Target FPR (%)"] == "1"].set_index("Model")
    best = at_one["Precision at 1 in 1,000 (%)"].map(lambda c: float(c.split()[0])).idxmax()
    assert line.startswith("**At 1 in 1,000 flows an attack and 10,000 benign flows a day, the model with the best")
    assert f", {best}, raises {at_one.loc[best, 'False alarms per day']} false alarms per day" in line
    assert source == "*Source: `operating_realism.md`.*"
    assert report.unsourced_numbers("\n\n".join(["# Results: r", line, source]), out.folder) == {}
