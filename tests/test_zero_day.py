"""The zero-day test of notebook 05: a space that never saw the held-out family (lib/preprocess/held_out.py), the
detectors and the supervised baselines fitted again in it (lib/anomaly/zero_day.py), and what the tables, the
summary and the figure say of how each setting was set."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from lib import anomaly, figures, fusion, metrics, models, preprocess, report, run
from lib.preprocess import PrepConfig

FAMILIES = ("Benign", "DDoS", "PortScan", "C&C")
EXTREME = 1e9  # a byte rate only C&C flows have


def raw_flows(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """A frame in the loaders' tidy schema: each family around its own centre; only C&C flows have an extreme byte
    rate and the protocol ``gre`` (a value and a category no other family carries)."""
    rng = np.random.default_rng(seed)
    family = rng.choice(FAMILIES, size=n, p=[0.55, 0.15, 0.15, 0.15])
    shift = pd.Series(family).map({f: i for i, f in enumerate(FAMILIES)}).to_numpy()
    byte_rate = (rng.normal(100, 10, n) * (1 + shift)).astype(np.float64)
    byte_rate[family == "C&C"] = EXTREME * rng.uniform(1, 2, (family == "C&C").sum())
    proto = rng.choice(["tcp", "udp"], n).astype(object)
    proto[family == "C&C"] = "gre"
    return pd.DataFrame(
        {
            "uid": [f"C{i:05d}" for i in range(n)],
            "local_orig": pd.array([pd.NA] * n, dtype="string"),  # Zeek's, mostly unset: an identifier, not a feature
            "duration": (rng.exponential(1.0, n) + shift).astype(np.float32),
            "byte_rate": byte_rate,
            "packets": rng.poisson(5 + 3 * shift).astype(np.float32),
            "proto": pd.Categorical(proto),
            "label": pd.Categorical(family),
            "label_detail": pd.Categorical(family),
            "is_attack": (family != "Benign").astype(np.int8),
            "source_file": pd.Categorical(["a.log"] * (n // 2) + ["b.log"] * (n - n // 2)),
        }
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The run (``prepare``, saved and read back from its run folder as notebook 05 reads it), and the same frame
    read again and checked (``reread``)."""
    df, cfg = raw_flows(), PrepConfig(dedup=False)
    data, pre, _ = preprocess.prepare(df, cfg)
    folder = run.RunDir(tmp_path_factory.mktemp("run"))
    stage = folder.begin("prepared", {})
    stage.save_prepared(data, pre)
    stage.finish()
    data = folder.open("prepared").load_prepared()  # the row tables through Parquet: missing values, dtypes
    return df, cfg, data, preprocess.reread(df, cfg, data)


# ------------------------------------------------------------------------------------------ the preprocessing
def test_the_refitted_preprocessing_never_saw_the_held_out_family(prepared):
    _, _, data, frame = prepared
    without, _ = frame.prepared_without("C&C")
    # the one-hot vocabulary: "gre" is C&C's alone, so only the run's preprocessing knows it
    assert "proto_gre" in data.feature_names and "proto_gre" not in without.feature_names
    assert without.meta["families_left_out"] == ["C&C"]
    # the scaler: min-max fitted without C&C's extreme byte rates puts them far above 1; the run's kept them in [0, 1]
    held = (data.rows["test"]["label"] == "C&C").to_numpy()
    run_rate = data.X_test[held, data.feature_names.index("byte_rate")]
    refit_rate = without.X_test[held, without.feature_names.index("byte_rate")]
    assert run_rate.max() <= 1 + 1e-6 and refit_rate.min() > 100
    others = without.X_train[:, without.feature_names.index("byte_rate")]
    assert others.min() >= -1e-6 and others.max() <= 1 + 1e-6  # the training rows without C&C span [0, 1]
    # C&C's training and validation rows are gone, its test rows stay: the run's very test rows, in order
    assert not (without.rows["train"]["label"] == "C&C").any() and not (without.rows["val"]["label"] == "C&C").any()
    kept = data.rows["train"]["label"] != "C&C"
    assert without.rows["train"]["uid"].tolist() == data.rows["train"]["uid"][kept].tolist()
    pd.testing.assert_frame_equal(without.rows["test"], data.rows["test"])
    np.testing.assert_array_equal(without.y_test, data.y_test)


def test_prepare_without_a_loaded_frame_is_the_same_as_through_reread(prepared):
    df, cfg, _, frame = prepared
    direct, _ = preprocess.prepare_without(df, cfg, ["C&C", "DDoS"])
    through, _ = frame.prepared_without(["C&C", "DDoS"])
    np.testing.assert_array_equal(direct.X_train, through.X_train)
    assert set(direct.rows["train"]["label"].astype(str)) == {"Benign", "PortScan"}


def test_data_read_again_that_is_not_the_runs_is_refused(prepared):
    df, cfg, data, _ = prepared
    with pytest.raises(ValueError, match="split read again is not the run's .* Fix: rerun notebook 01"):
        preprocess.reread(df.iloc[5:].reset_index(drop=True), cfg, data)  # five flows fewer
    with pytest.raises(ValueError, match="split read again is not the run's"):
        preprocess.reread(df, PrepConfig(dedup=False, seed=7), data)  # another split
    with pytest.raises(ValueError, match="train inputs fitted again differ from the run's"):
        preprocess.reread(df, PrepConfig(dedup=False, scaling="quantile"), data)  # the same rows, other inputs
    renamed = df.assign(uid=df["uid"].str.replace("C", "D"))
    with pytest.raises(ValueError, match="rows read again are not the run's \\(column 'uid' differs"):
        preprocess.reread(renamed, cfg, data)


# ------------------------------------------------------------------------------------------ the zero-day test
def logistic_fit(X_train, y_train, X_val, y_val, seed, *, seen):
    """A small supervised stand-in for the fusion, recording the rows it was given."""
    seen.append((X_train, X_val))
    model = LogisticRegression(max_iter=500).fit(X_train, y_train)
    return lambda X: 1 - model.predict_proba(X)[:, 0]


def setup_for(grid, seen, min_choice_rows=1, mode="grid", seeds=(0,)):
    zero_day_grid, single = anomaly.zero_day_grid(grid, mode)
    supervised = {
        "supervised": partial(logistic_fit, seen=seen),
        "xgboost": partial(anomaly.xgboost_attack_scorer, n_classes=2, n_estimators=20),
    }
    basis = {"supervised": "stand-in", "xgboost": anomaly.xgboost_basis()}
    return anomaly.ZeroDaySetup(
        list(seeds), zero_day_grid, supervised, basis, ["0.01", "0.1"], single, target_fpr=0.05,
        training=anomaly.Training(2, 64, 1), min_choice_rows=min_choice_rows,
    )  # fmt: skip


GRID = anomaly.candidate_grid(
    ["knn", "isolation_forest"], ae_code_units=[4], kitnet_max_groups=[5], knn_ks=[1, 5], iforest_trees=20
)


def test_zero_day_refits_everything_without_the_family_and_scores_xgboost_and_the_fusion(prepared):
    _, _, data, frame = prepared
    seen = []
    result = anomaly.zero_day_refit(frame, data, ["C&C"], setup_for(GRID, seen))
    without, _ = frame.prepared_without("C&C")
    # the supervised fit got the rows fitted without C&C: the refitted space, no C&C row
    np.testing.assert_array_equal(seen[0][0], without.X_train)
    np.testing.assert_array_equal(seen[0][1], without.X_val)
    row = result.table.iloc[0]
    assert row["n_features"] == len(without.feature_names) < len(data.feature_names)
    assert row["n_test_family"] == int(((data.rows["test"]["label"] == "C&C") & (data.y_test != 0)).sum())
    for column in ("recall_supervised", "recall_xgboost", "fpr_xgboost", "recall_knn", "recall_or_branch"):
        assert 0 <= row[column] <= 1
    assert row["recall_or_knn"] >= max(row["recall_supervised"], row["recall_knn"])
    # XGBoost and the fusion in every long table, first, with how they were set
    by_detector = anomaly.zero_day_by_detector(result.levels)
    per_seed = anomaly.zero_day_per_seed(result.levels)
    for table in (by_detector, per_seed):
        assert list(table["detector"][:2]) == ["supervised fusion", "supervised XGBoost"]
        assert {"knn", "isolation_forest", "branch"} <= set(table["detector"]) and "chosen_on" in table
    overall = by_detector[by_detector["family"] == anomaly.OVERALL].set_index("detector")
    assert {"supervised XGBoost", "supervised fusion", "branch"} <= set(overall.index)
    assert by_detector.set_index("detector").loc["supervised XGBoost", "chosen_on"].iloc[0] == anomaly.xgboost_basis()
    assert (result.levels["val_fpr"] <= result.levels["fpr_target"]).all()
    inputs = result.inputs.iloc[0]
    assert inputs["features_only_in_run"] == "proto_gre" and inputs["n_train_without"] < inputs["n_train_run"]


def test_chosen_on_says_validation_or_default_with_its_reason(prepared):
    _, _, data, frame = prepared
    chosen = anomaly.zero_day_refit(frame, data, ["C&C"], setup_for(GRID, []))
    said = chosen.levels.drop_duplicates("detector").set_index("detector")["chosen_on"]
    n_val = (
        data.rows["val"]["label"].astype(str).value_counts()[["DDoS", "PortScan"]].sum()
    )  # the other families' validation rows
    assert said["knn"] == said["branch"] == f"validation: DDoS, PortScan ({n_val} rows)"
    assert said["isolation_forest"] == "the only setting of its grid"
    # no other family reaches MIN_CHOICE_ROWS: every detector keeps its grid's first setting, and says why
    fallback = anomaly.zero_day_refit(frame, data, ["C&C"], setup_for(GRID, [], min_choice_rows=10_000))
    said = fallback.levels.drop_duplicates("detector").set_index(["detector"])[["chosen_on", "candidate"]]
    reason = "default: no family other than C&C has >= 10000 validation rows"
    assert said.loc["knn", "chosen_on"] == said.loc["branch", "chosen_on"] == reason
    assert said.loc["knn", "candidate"] == "knn(k=1)" and said.loc["branch", "candidate"] == "knn(k=1)"
    assert fallback.table.loc[0, "chosen_on"] == reason
    first = anomaly.zero_day_refit(frame, data, ["C&C"], setup_for(GRID, [], mode="first"))
    assert first.levels.query("detector == 'knn'")["chosen_on"].iloc[0].startswith("default: the first setting")
    assert set(first.levels["candidate"]) >= {"knn(k=1)"} and "knn(k=5)" not in set(first.levels["candidate"])


def test_the_summary_the_report_and_the_figure_say_default_where_nothing_was_chosen(prepared, tmp_path):
    _, _, data, frame = prepared
    result = anomaly.zero_day_refit(frame, data, ["C&C"], setup_for(GRID, [], min_choice_rows=10_000))
    by_detector = anomaly.zero_day_by_detector(result.levels)
    summary = metrics.zero_day_summary(result.table)
    fake = pd.DataFrame({"model": ["knn"], "candidate": ["knn(k=1)"], "seed": [0], "test_recall": [0.5],
                         "test_fpr": [0.01], "roc_auc": [0.9]})  # fmt: skip
    combined = pd.DataFrame({"decision": ["fusion alone", "fusion OR knn"], "recall": [0.1, 0.2], "fpr": [0.0, 0.01]})
    text = anomaly.anomaly_summary(
        fake, combined, summary, 0.05, 500, branch="knn", chosen_on="x", by_detector=by_detector, on_validation=False
    )
    reason = "default: no family other than C&C has >= 10000 validation rows"
    assert f"the anomaly branch (knn(k=1), {reason})" in text and "chosen on the validation" not in text
    assert f"Zero-day settings not chosen on validation rows: knn (C&C), branch (C&C): {reason}." in text
    assert "Zero-day recall of supervised XGBoost, mean over the held-out families" in text
    assert f"XGBoost {summary.loc[0, 'recall_xgboost_mean']:.3f}" in text
    # the branch of the whole run: no family counted, so the summary does not call it the validation's best
    assert "the first detector of the grid, not chosen on validation: x" in text and "best detector" not in text
    # notebook 06's copies: per detector and per seed, in percent, with the column saying how each was set
    folder = run.RunDir(tmp_path / "run")
    stage = folder.begin("anomaly", {})
    per_seed = anomaly.zero_day_per_seed(result.levels)
    stage.save_tables({"zero_day": result.table, "zero_day_by_detector": by_detector, "zero_day_per_seed": per_seed})
    stages = {"anomaly": stage}
    table, reason_none = report.zero_day_table(stages)
    assert reason_none == "" and table.loc[0, "chosen_on"] == reason
    copied = report.zero_day_file(stages, "zero_day_per_seed")
    assert "supervised XGBoost" in set(copied["detector"]) and "recall at 1 % FPR (%)" in copied
    assert copied["recall at 1 % FPR (%)"].between(0, 100).all()
    fig = figures.zero_day_recall(table, "branch", "t")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[:2] == ["supervised fusion", "supervised XGBoost"] and legend[-1] == "fusion OR anomaly branch"
    figures.plt.close(fig)


def test_no_family_means_no_refit_and_empty_tables():
    result = anomaly.zero_day_refit(None, None, [], setup_for(GRID, []))
    assert result.table.empty and result.levels.empty and result.inputs.empty
    assert anomaly.zero_day_by_detector(result.levels).empty and anomaly.zero_day_per_seed(result.levels).empty


def test_the_real_fusion_path_runs_in_the_refitted_space_multiclass():
    df, cfg = raw_flows(600, seed=1), PrepConfig(dedup=False, label_mode="multiclass")
    data, _, _ = preprocess.prepare(df, cfg)
    frame = preprocess.reread(df, cfg, data)
    deep = models.DeepConfig(filters=4, lstm_units=4, dense_units=4, dropout=0.0, epochs=2, batch_size=64, patience=1)
    fusion_fit = partial(
        anomaly.fusion_attack_scorer, n_classes=data.n_classes, names=["cnn_lstm"], deep={"cnn_lstm": deep},
        inputs="both", k_folds=2, grid=fusion.meta_grid(["xgboost"], [10], [], [2]),
    )  # fmt: skip
    setup = setup_for(GRID[:1], [])
    setup.supervised["supervised"] = fusion_fit
    setup.supervised["xgboost"] = partial(anomaly.xgboost_attack_scorer, n_classes=data.n_classes, n_estimators=20)
    result = anomaly.zero_day_refit(frame, data, ["DDoS"], setup)
    row = result.table.iloc[0]
    assert row["family"] == "DDoS" and 0 <= row["recall_supervised"] <= 1 and 0 <= row["recall_xgboost"] <= 1
    assert row["fpr_supervised"] <= 0.25  # thresholded at 5 % of benign validation rows


# ------------------------------------------------------------------------------------------ the deep configuration
def test_a_searched_deep_configuration_is_not_reused_for_the_zero_day_fusion():
    cell = models.DeepConfig(filters=8, lstm_units=8, dense_units=8, epochs=3)
    searched = models.DeepConfig(filters=64, lstm_units=32, dense_units=16, epochs=9, learning_rate=0.005)
    info = {"models": ["cnn_lstm", "mlp"], "config": cell.as_dict(), "configs": models.configs_record(
        {"cnn_lstm": searched, "mlp": searched})}  # fmt: skip
    configs, said = anomaly.zero_day_deep_configs(info, {"TUNE": "search"}, ["cnn_lstm"])
    assert configs == {"cnn_lstm": cell} and "not its searched configurations (TUNE='search'" in said
    reused, _ = anomaly.zero_day_deep_configs(info, {"TUNE": "runs/other/deep/tuning.json"}, ["cnn_lstm"])
    assert reused == {"cnn_lstm": cell}  # a search record of another run saw the family too
    off, said = anomaly.zero_day_deep_configs(info, {"TUNE": "off"}, ["cnn_lstm"])
    assert off == {"cnn_lstm": searched} and "TUNE='off'" in said  # no search: notebook 03's own record
    with pytest.raises(ValueError, match="set ZERO_DAY_DEEP_MODELS within"):
        anomaly.zero_day_deep_configs(info, {"TUNE": "off"}, ["lstm_only"])


def test_xgboost_scorer_uses_notebook_02s_defaults_and_gives_attack_scores():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(np.int64)
    score = anomaly.xgboost_attack_scorer(X, y, X, y, 0, n_classes=2)
    values = score(X)
    assert values.shape == (300,) and 0 <= values.min() and values.max() <= 1
    assert values[y == 1].mean() > values[y == 0].mean() + 0.5
    assert "300 trees, depth 6, learning rate 0.1" in anomaly.xgboost_basis()
    assert "20 trees, depth 3, learning rate 0.1" in anomaly.xgboost_basis({"n_estimators": 20, "max_depth": 3})
