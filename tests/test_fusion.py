"""Tests of lib/fusion.py: out-of-fold stacking without leakage, validation-only model choice, the saved pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib import baselines, fusion, models, preprocess, report, run

TINY = {"filters": 4, "kernel_size": 3, "lstm_units": 4, "dense_units": 6, "dropout": 0.0}
DEEP = models.DeepConfig(**TINY, epochs=2, batch_size=64, patience=1)
GRID = fusion.meta_grid(["random_forest", "xgboost"], trees=[10], rf_depths=[0, 3], xgb_depths=[2])


def synthetic_flows(n: int, seed: int) -> pd.DataFrame:
    """Raw flows in the layout of a loaded data set: identifiers, numeric and categorical features, labels."""
    rng = np.random.default_rng(seed)
    family = rng.choice(["Benign", "C&C", "DDoS", "PortScan"], size=n, p=[0.5, 0.2, 0.15, 0.15])
    attack = family != "Benign"
    shift = pd.Series(family).map({"Benign": 0.0, "C&C": 1.0, "DDoS": 2.0, "PortScan": 3.0}).to_numpy()
    return pd.DataFrame(
        {
            "uid": [f"C{i:05d}" for i in range(n)],
            "duration": rng.exponential(1.0 + shift, n),
            "orig_bytes": rng.normal(100 * (1 + shift), 20, n),
            "resp_pkts": rng.poisson(3 + 2 * shift, n).astype(np.float64),
            "proto": np.where(rng.random(n) < 0.2 + 0.2 * shift, "udp", "tcp"),
            "label": family,
            "label_detail": family,
            "is_attack": attack,
        }
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder whose prepared stage holds synthetic raw flows, prepared as notebook 01 does."""
    folder = run.RunDir(tmp_path_factory.mktemp("fusion_run"))
    data, preprocessor, _ = preprocess.prepare(synthetic_flows(500, seed=1), preprocess.PrepConfig(seed=1))
    stage = folder.begin("prepared", {"DATASET": "synthetic", "SEED": 1})
    stage.save_prepared(data, preprocessor)
    stage.finish()
    return folder


@pytest.fixture(scope="module")
def fitted(run_dir):
    """One fit_fusion run with every deep training and every meta-classifier fit recorded."""
    data = run_dir.load_prepared()
    trained, meta_fits = [], []
    real_train, real_fit = models.train, baselines.fit

    def spy_train(model, X, y, *args, **kwargs):
        trained.append((model, np.array(X, copy=True)))
        return real_train(model, X, y, *args, **kwargs)

    def spy_fit(model, X, y):
        meta_fits.append((np.array(X, copy=True), np.array(y, copy=True)))
        return real_fit(model, X, y)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models, "train", spy_train)
        patch.setattr(baselines, "fit", spy_fit)
        fit = fusion.fit_fusion(
            data.X_train,
            data.y_train,
            data.X_val,
            data.y_val,
            n_classes=data.n_classes,
            names=["cnn_lstm"],
            deep=DEEP,
            inputs="both",
            k_folds=3,
            grid=GRID,
            seed=5,
        )
    return {"data": data, "fit": fit, "trained": trained, "meta_fits": meta_fits}


def row_index(X_all: np.ndarray, X_part: np.ndarray) -> np.ndarray:
    """Positions in ``X_all`` of the rows of ``X_part`` (rows are unique in the synthetic data)."""
    lookup = {row.tobytes(): i for i, row in enumerate(X_all)}
    assert len(lookup) == len(X_all), "test data must have unique rows"
    return np.array([lookup[row.tobytes()] for row in X_part])


def test_meta_classifiers_train_on_outputs_of_models_that_never_saw_the_row(fitted):
    """Fails if a meta-feature of a training row comes from a deep model trained on that row (in-sample)."""
    data, trained, meta_fits = fitted["data"], fitted["trained"], fitted["meta_fits"]
    X_train = data.X_train
    assert len(trained) == 3 + 1  # one model per fold, then the full-training model
    seen = [set(row_index(X_train, X_fit).tolist()) for _, X_fit in trained]
    assert len(seen[-1]) == len(X_train)  # the full model saw every training row
    outputs = [fusion.deep_outputs({"cnn_lstm": model}, X_train, "both") for model, _ in trained]
    assert len(meta_fits) == len(GRID)
    for X_meta, y_meta in meta_fits:
        assert X_meta.shape[0] == len(X_train)  # training rows only: no validation or test output
        np.testing.assert_array_equal(y_meta, data.y_train)
        distance = np.stack([np.abs(out - X_meta).max(axis=1) for out in outputs])  # (models, rows)
        source = distance.argmin(axis=0)
        assert distance.min(axis=0).max() < 1e-4, "a meta-feature matches no trained deep model"
        leaked = [i for i, m in enumerate(source) if i in seen[m]]
        assert not leaked, f"{len(leaked)} training rows got their meta-feature from a model that saw them"


def test_out_of_fold_bookkeeping_and_folds_cover_every_row_once(fitted):
    oof = fitted["fit"].oof
    n = len(fitted["data"].y_train)
    assert oof.features.shape[0] == n and sorted(set(oof.fold.tolist())) == [0, 1, 2]
    for k, rows in enumerate(oof.train_indices):
        assert not set(rows.tolist()) & set(np.flatnonzero(oof.fold == k).tolist())
        assert len(rows) + (oof.fold == k).sum() == n


def test_out_of_fold_with_a_recording_fit():
    X = np.arange(60, dtype=np.float32).reshape(30, 2)
    y = np.array([0, 1] * 15)
    calls = []

    def fit(rows, k):
        calls.append(set(rows.tolist()))
        return k

    oof = fusion.out_of_fold(X, y, fit, lambda k, X_held: np.full((len(X_held), 1), k), k_folds=3, seed=0)
    for i in range(len(y)):
        assert i not in calls[int(oof.features[i, 0])]
    with pytest.raises(ValueError, match="at least 2"):
        fusion.out_of_fold(X, y, fit, lambda k, X_held: X_held, k_folds=1, seed=0)


def test_hyperparameters_are_chosen_by_validation_log_loss(fitted):
    grid = fitted["fit"].grid
    assert set(grid["meta"]) == {"random_forest", "xgboost"} and len(grid) == len(GRID)
    for _, group in grid.groupby("meta"):
        assert group["chosen"].sum() == 1
        assert group.loc[group["chosen"], "val_log_loss"].iloc[0] == group["val_log_loss"].min()
    assert fitted["fit"].best_meta() in fusion.META_CLASSIFIERS


def test_meta_features_and_alignment_shapes(fitted):
    fit, data = fitted["fit"], fitted["data"]
    names = fusion.meta_feature_names(fit.deep_models, "both", data.class_names)
    assert names[0] == "cnn_lstm:P(Attack)" and len(names) == 1 + TINY["dense_units"]
    assert fit.val_features.shape == (len(data.y_val), len(names)) and fit.alignment.shape == (len(names),)
    proba = fit.model("xgboost").predict_proba(data.X_test)
    assert proba.shape == (len(data.y_test), 2) and np.allclose(proba.sum(axis=1), 1) and (proba >= 0).all()
    # one deep model: soft voting is that model, whose P(attack) is the first validation meta-feature
    np.testing.assert_allclose(fusion.soft_vote(fit.deep_models, data.X_val)[:, 1], fit.val_features[:, 0], atol=1e-6)


def test_embedding_needs_the_cnn_lstm():
    with pytest.raises(ValueError, match="needs the 'cnn_lstm' model"):
        fusion.check_inputs("embedding", ["cnn_only", "lstm_only"])
    with pytest.raises(ValueError, match="FUSION_INPUTS must be one of"):
        fusion.check_inputs("logits", ["cnn_lstm"])


@pytest.fixture(scope="module", params=["xgboost", "random_forest"])
def saved(request, run_dir, fitted, tmp_path_factory):
    data = fitted["data"]
    pipeline = fusion.FusionPipeline(
        run_dir.open("prepared").load_preprocessor(),
        fitted["fit"].model(request.param),
        data.class_names,
        fusion.known_unused_columns(data.meta),
    )
    path = run.save_pipeline(pipeline, tmp_path_factory.mktemp("pipeline") / "pipeline")
    return pipeline, path


def test_saved_pipeline_reloads_and_scores_raw_flows_identically(saved):
    pipeline, path = saved
    raw = synthetic_flows(200, seed=9)  # new flows, with labels and identifiers as a loaded frame has them
    reloaded = run.load_pipeline(path)
    before, after = pipeline.score(raw), reloaded.score(raw)
    assert before.shape == (200, 2) and np.allclose(before.sum(axis=1), 1)
    np.testing.assert_array_equal(before, after)
    assert reloaded.model.meta_name == pipeline.model.meta_name
    suffix = ".ubj" if pipeline.model.meta_name == "xgboost" else ".skops"
    assert any(p.suffix == suffix for p in path.iterdir())
    assert not [p for p in path.iterdir() if p.suffix in (".joblib", ".pkl", ".pickle")]  # nothing unpickled


def test_missing_column_is_a_clear_error(saved):
    pipeline, _ = saved
    raw = synthetic_flows(20, seed=3).drop(columns=["orig_bytes", "proto"])
    with pytest.raises(ValueError, match=r"lacks 2 column\(s\) the pipeline needs: \['orig_bytes', 'proto'\]"):
        pipeline.score(raw)


def test_unknown_extra_column_is_a_clear_error_unless_ignored(saved):
    pipeline, _ = saved
    raw = synthetic_flows(20, seed=3).assign(bytes_per_packet=1.0, note="x")
    with pytest.raises(ValueError, match=r"not fitted with: \['bytes_per_packet', 'note'\]"):
        pipeline.score(raw)
    np.testing.assert_array_equal(
        pipeline.score(raw, extra_columns="ignore"), pipeline.score(raw.drop(columns=["bytes_per_packet", "note"]))
    )


def test_load_pipeline_without_a_folder_says_which_notebook_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="04_decision_fusion"):
        run.load_pipeline(tmp_path / "nothing")


def test_paired_difference_sentences():
    seeds = [1, 2, 3, 4]
    runs = pd.DataFrame(
        [{"model": "fusion", "seed": s, "f1": 0.90 + 0.001 * s} for s in seeds]
        + [{"model": "single", "seed": s, "f1": 0.80 + 0.002 * s} for s in seeds]
        + [{"model": "same", "seed": s, "f1": 0.90 + 0.001 * s} for s in seeds]
    )
    better = report.paired_difference(runs, "fusion", "single")
    assert better["n"] == 4 and better["ci_low"] > 0
    assert "is better" in report.describe_difference(better)
    assert "is worse" in report.describe_difference(report.paired_difference(runs, "single", "fusion"))
    assert "no difference" in report.describe_difference(report.paired_difference(runs, "fusion", "same"))
    one = report.paired_difference(runs[runs["seed"] == 1], "fusion", "single")
    assert "one seed" in report.describe_difference(one)
    noisy = runs.assign(f1=runs["f1"] + np.r_[[0.05, -0.05, 0.04, -0.04], np.zeros(8)])
    assert "contains zero" in report.describe_difference(report.paired_difference(noisy, "fusion", "same"))


def test_a_difference_of_a_test_flow_is_a_tie_not_a_win():
    runs = pd.DataFrame(
        {"model": ["fusion_xgboost"] * 3 + ["cnn_lstm"] * 3, "seed": [1, 2, 3] * 2, "f1": [0.9453] * 3 + [0.9448] * 3}
    )
    diff = report.paired_difference(runs, "fusion_xgboost", "cnn_lstm")
    assert diff["ci_low"] > 0  # a zero-width interval above zero ...
    assert "a tie" in report.describe_difference(diff, tie=2 / 1663)  # ... but under two of 1,663 test flows
    assert report.verdict([diff], "cnn_lstm", {}, tie=2 / 1663).startswith("Fusion adds nothing measurable")
    assert report.verdict([diff], "cnn_lstm", {}, tie=0.0).startswith("Fusion adds something")


def test_full_models_are_reused_not_trained_again(fitted):
    """Given notebook 03's full-training models, fit_fusion trains only the fold models and uses those."""
    data, full = fitted["data"], fitted["fit"].deep_models
    trained = []
    real_train = models.train

    def spy_train(model, *args, **kwargs):
        trained.append(model)
        return real_train(model, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models, "train", spy_train)
        again = fusion.fit_fusion(
            data.X_train, data.y_train, data.X_val, data.y_val, n_classes=data.n_classes, names=["cnn_lstm"],
            deep=DEEP, inputs="both", k_folds=3, grid=GRID, seed=5, full_models=full,
        )  # fmt: skip
    assert len(trained) == 3  # the three fold models only
    assert again.deep_models["cnn_lstm"] is full["cnn_lstm"]
    np.testing.assert_array_equal(again.val_features, fitted["fit"].val_features)
    with pytest.raises(ValueError, match="full_models has"):
        fusion.fit_fusion(
            data.X_train, data.y_train, data.X_val, data.y_val, n_classes=data.n_classes, names=["cnn_only"],
            deep=DEEP, inputs="proba", k_folds=2, grid=GRID, seed=5, full_models=full,
        )  # fmt: skip


def test_notebook_04_trains_only_fold_models_around_notebook_03s(run_dir, tmp_path):
    """evaluate_seeds: K fold trainings per deep model and seed; the full models and baselines are read back."""
    data = run_dir.load_prepared()
    deep_stage = run_dir.begin("deep", {"DATASET": "synthetic"}, inputs=["prepared"])
    models.train_and_evaluate(data, names=["cnn_lstm"], config=DEEP, seeds=[5], stage=deep_stage)
    deep_stage.finish(models=["cnn_lstm"], seeds=[5], config=DEEP.as_dict())
    baseline_stage = run_dir.begin("baselines", {"DATASET": "synthetic"}, inputs=["prepared"])
    hyper = {"random_forest": {"n_estimators": 10}, "xgboost": {"n_estimators": 10}}
    names = ["random_forest", "xgboost"]
    results = baselines.train_and_evaluate(data, names=names, hyperparameters=hyper, seeds=[5], stage=baseline_stage)
    baseline_stage.save_results(results)
    baseline_stage.finish(models=names, seeds=[5])
    deep_stage, baseline_stage = run_dir.open("deep"), run_dir.open("baselines")
    calls = []
    real_fit_config = models.fit_config

    def spy(name, X, *args, **kwargs):
        calls.append(len(X))
        return real_fit_config(name, X, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models, "fit_config", spy)
        fused = fusion.evaluate_seeds(
            data, deep_stage=deep_stage, baseline_stage=baseline_stage, names=["cnn_lstm"], inputs="both",
            k_folds=2, grid=GRID,
        )  # fmt: skip
    assert len(calls) == 2 and all(n < len(data.y_train) for n in calls)  # two folds, never the full rows
    weights = fused.fit(5).deep_models["cnn_lstm"].get_weights()
    for a, b in zip(weights, deep_stage.model("cnn_lstm", 5).get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    scores = fused.scores.set_index("model")
    np.testing.assert_allclose(
        scores.loc["xgboost", "f1"], baseline_stage.scores().set_index("model").loc["xgboost", "f1"]
    )
    with pytest.raises(ValueError, match=r"notebook 02 did not fit \['xgboost'\]"):
        fusion.check_runs(deep_stage, _Info(models=["random_forest"], seeds=[5]), names=["cnn_lstm"], inputs="both",
                          seed=5, pipeline_meta="auto")  # fmt: skip
    with pytest.raises(ValueError, match=r"SEED=6 chooses the pipeline's fusion, but notebook 03 trained seeds \[5\]"):
        fusion.check_runs(deep_stage, baseline_stage, names=["cnn_lstm"], inputs="both", seed=6, pipeline_meta="auto")


class _Info:
    """A stand-in for a stage: only its ``info``."""

    def __init__(self, **info):
        self.info = info
