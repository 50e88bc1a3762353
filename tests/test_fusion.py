"""Tests of lib/fusion/: cross-fitted stacking without leakage, validation-only model choice, the saved pipeline."""

from __future__ import annotations

import dataclasses
import json
from functools import partial

import numpy as np
import pandas as pd
import pytest

from lib import baselines, fusion, io, metrics, models, preprocess, run

TINY = {"filters": 4, "kernel_size": 3, "lstm_units": 4, "dense_units": 6, "dropout": 0.0}
DEEP = models.DeepConfig(**TINY, epochs=2, batch_size=64, patience=1)
GRID = fusion.meta_grid(["random_forest", "xgboost"], trees=[10], rf_depths=[0, 3], xgb_depths=[2])
K = 3
WIDTH = 1 + TINY["dense_units"]  # binary: P(attack) of the CNN-LSTM, then its embedding


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
    """One fit_fusion run (both variants) with every deep training and every meta-classifier fit recorded."""
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
            data.X_train, data.y_train, data.X_val, data.y_val, n_classes=data.n_classes, names=["cnn_lstm"],
            deep={"cnn_lstm": DEEP}, inputs="both", k_folds=K, grid=GRID, seed=5, features_variant=True,
        )  # fmt: skip
    return {"data": data, "fit": fit, "trained": trained, "meta_fits": meta_fits}


def row_index(X_all: np.ndarray, X_part: np.ndarray) -> np.ndarray:
    """Positions in ``X_all`` of the rows of ``X_part`` (rows are unique in the synthetic data)."""
    lookup = {row.tobytes(): i for i, row in enumerate(X_all)}
    assert len(lookup) == len(X_all), "test data must have unique rows"
    return np.array([lookup[row.tobytes()] for row in X_part])


def manual_average(fit: fusion.FusionFit, contender: str, X: np.ndarray) -> np.ndarray:
    """The meta-classifier of ``contender`` applied to each fold model's outputs of ``X``, averaged by hand."""
    with_features = contender.endswith("_features")
    per_fold = []
    for fold in fit.fold_models:
        outputs = fusion.deep_outputs(fold, X, "both")
        features = np.concatenate([outputs, X], axis=1) if with_features else outputs
        per_fold.append(baselines.predict_proba(fit.metas[contender], features, fit.n_classes))
    return np.mean(per_fold, axis=0)


# ------------------------------------------------------------------------------------------- cross-fitting
def test_meta_classifiers_train_on_outputs_of_models_that_never_saw_the_row(fitted):
    """Fails if a meta-feature of a training row comes from a deep model trained on that row (in-sample)."""
    data, trained, meta_fits = fitted["data"], fitted["trained"], fitted["meta_fits"]
    X_train = data.X_train
    assert len(trained) == K  # the fold models only: no model is trained on all training rows
    seen = [set(row_index(X_train, X_fit).tolist()) for _, X_fit in trained]
    outputs = [fusion.deep_outputs({"cnn_lstm": model}, X_train, "both") for model, _ in trained]
    assert len(meta_fits) == 2 * len(GRID)  # every grid point, for the deep outputs alone and with the features
    for X_meta, y_meta in meta_fits:
        assert X_meta.shape[0] == len(X_train)  # training rows only: no validation or test output
        assert X_meta.shape[1] in (WIDTH, WIDTH + X_train.shape[1])
        np.testing.assert_array_equal(y_meta, data.y_train)
        if X_meta.shape[1] > WIDTH:  # the variant with the features: the row's own features follow
            np.testing.assert_array_equal(X_meta[:, WIDTH:], X_train)
        distance = np.stack([np.abs(out - X_meta[:, :WIDTH]).max(axis=1) for out in outputs])  # (models, rows)
        source = distance.argmin(axis=0)
        assert distance.min(axis=0).max() < 1e-4, "a meta-feature matches no trained deep model"
        leaked = [i for i, m in enumerate(source) if i in seen[m]]
        assert not leaked, f"{len(leaked)} training rows got their meta-feature from a model that saw them"


def test_validation_and_test_rows_go_through_the_same_fold_models(fitted):
    """The fold models that made the training rows' features also make the validation and test rows': none of
    them was trained on a validation or test row, and the meta-classifier's probabilities are their average."""
    data, fit, trained = fitted["data"], fitted["fit"], fitted["trained"]
    assert [m for m, _ in trained] == [fold["cnn_lstm"] for fold in fit.fold_models]
    for _, X_fit in trained:  # every row a fold model saw is a training row (row_index fails on any other row)
        row_index(data.X_train, X_fit)
        held = {row.tobytes() for row in np.concatenate([data.X_val, data.X_test])}
        assert not held & {row.tobytes() for row in X_fit}
    for k, fold in enumerate(fit.fold_models):
        np.testing.assert_allclose(fit.val_outputs[k], fusion.deep_outputs(fold, data.X_val, "both"), atol=1e-6)
    assert set(fit.metas) == set(fusion.FUSION_CONTENDERS)
    for contender in fit.metas:
        np.testing.assert_allclose(fit.val_proba[contender], manual_average(fit, contender, data.X_val), atol=1e-6)
        proba = fit.contender_model(contender).predict_proba(data.X_test)
        np.testing.assert_allclose(proba, manual_average(fit, contender, data.X_test), atol=1e-6)
        assert proba.shape == (len(data.y_test), 2) and np.allclose(proba.sum(axis=1), 1) and (proba >= 0).all()
        shared = fit.contender_model(contender).predict_proba(data.X_test, fit.fold_outputs(data.X_test))
        np.testing.assert_array_equal(shared, proba)


def test_averaging_over_folds_is_not_one_fold(fitted):
    """The test probabilities are the mean over the folds, not the output of any single fold's models."""
    data, fit = fitted["data"], fitted["fit"]
    model = fit.model("xgboost")
    one_fold = [baselines.predict_proba(model.meta, out, fit.n_classes) for out in fit.fold_outputs(data.X_test)]
    averaged = model.predict_proba(data.X_test)
    np.testing.assert_allclose(averaged, np.mean(one_fold, axis=0), atol=1e-6)
    assert all(np.abs(averaged - p).max() > 0 for p in one_fold)


def test_out_of_fold_bookkeeping_and_folds_cover_every_row_once(fitted):
    oof = fitted["fit"].oof
    n = len(fitted["data"].y_train)
    assert oof.features.shape == (n, WIDTH) and sorted(set(oof.fold.tolist())) == list(range(K))
    assert oof.fitted == fitted["fit"].fold_models
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
    assert oof.fitted == [0, 1, 2]
    for i in range(len(y)):
        assert i not in calls[int(oof.features[i, 0])]
    with pytest.raises(ValueError, match="at least 2"):
        fusion.out_of_fold(X, y, fit, lambda k, X_held: X_held, k_folds=1, seed=0)


def test_hyperparameters_are_chosen_by_validation_log_loss_of_the_averaged_probabilities(fitted):
    fit, data = fitted["fit"], fitted["data"]
    grid = fit.grid
    assert set(grid["contender"]) == set(fusion.FUSION_CONTENDERS) and len(grid) == 2 * len(GRID)
    for contender, group in grid.groupby("contender"):
        assert group["chosen"].sum() == 1
        chosen = group[group["chosen"]].iloc[0]
        assert chosen["val_log_loss"] == group["val_log_loss"].min()
        assert fit.chosen[contender]["max_depth"] == (None if pd.isna(chosen["max_depth"]) else chosen["max_depth"])
        assert chosen["val_f1_macro"] == pytest.approx(fusion.macro_f1(data.y_val, fit.val_proba[contender]))
    best = fit.best_contender()
    assert best in fusion.FUSION_CONTENDERS
    assert grid.loc[grid["chosen"], "val_log_loss"].min() == grid.loc[grid["contender"] == best, "val_log_loss"].min()
    assert fit.pipeline_model("auto").contender == best
    assert fit.pipeline_model("fusion_random_forest_features").with_features


def test_features_variant_appends_the_preprocessed_row(fitted):
    fit, data = fitted["fit"], fitted["data"]
    outputs = fit.val_outputs[0]
    both = fusion.meta_features(outputs, data.X_val, with_features=True)
    assert both.shape == (len(data.X_val), WIDTH + data.X_val.shape[1])
    np.testing.assert_array_equal(both[:, :WIDTH], outputs)
    np.testing.assert_array_equal(both[:, WIDTH:], data.X_val)
    assert fusion.meta_features(outputs, data.X_val, with_features=False) is outputs
    names = fusion.meta_feature_names(fit.fold_models[0], "both", data.class_names, data.feature_names)
    assert names[0] == "cnn_lstm:P(Attack)" and names[WIDTH:] == list(data.feature_names)
    with pytest.raises(ValueError, match="rows of deep outputs"):
        fusion.meta_features(outputs, data.X_test, with_features=True)


def test_fold_scores_show_each_fold_and_each_fusion(fitted):
    folds = fitted["fit"].folds
    assert sorted(folds["fold"].unique()) == list(range(K))
    assert set(folds["model"]) == {"cnn_lstm", *fusion.FUSION_CONTENDERS}
    assert len(folds) == K * (1 + len(fusion.FUSION_CONTENDERS)) and folds["val_f1_macro"].between(0, 1).all()


def test_each_deep_model_trains_with_its_own_configuration(monkeypatch):
    other = models.DeepConfig(**TINY | {"dense_units": 3}, epochs=1)
    used = {}

    def record(name, X, y, X_val, y_val, *, n_classes, config, seed):
        used[name] = config
        return object(), {}

    monkeypatch.setattr(models, "fit_config", record)
    X, y = np.zeros((4, 2), dtype=np.float32), np.array([0, 1, 0, 1])
    fusion.train_deep_models(X, y, X, y, names=["cnn_only", "cnn_lstm"], n_classes=2, seed=0,
                             config={"cnn_only": other, "cnn_lstm": DEEP, "lstm_only": DEEP})  # fmt: skip
    assert used == {"cnn_only": other, "cnn_lstm": DEEP}
    fusion.train_deep_models(X, y, X, y, names=["cnn_only"], n_classes=2, seed=0, config=DEEP)
    assert used["cnn_only"] is DEEP  # one configuration shared by every model
    with pytest.raises(ValueError, match=r"no deep-model configuration for \['lstm_only'\]"):
        fusion.train_deep_models(X, y, X, y, names=["lstm_only"], n_classes=2, seed=0, config={"cnn_lstm": DEEP})


def test_embedding_needs_the_cnn_lstm():
    with pytest.raises(ValueError, match="needs the 'cnn_lstm' model"):
        fusion.check_inputs("embedding", ["cnn_only", "lstm_only"])
    with pytest.raises(ValueError, match="FUSION_INPUTS must be one of"):
        fusion.check_inputs("logits", ["cnn_lstm"])


def test_soft_voting_is_the_mean_of_the_probabilities():
    a, b = np.array([[0.2, 0.8], [0.6, 0.4]]), np.array([[0.4, 0.6], [1.0, 0.0]])
    np.testing.assert_allclose(fusion.soft_vote([a, b]), [[0.3, 0.7], [0.8, 0.2]])


# ------------------------------------------------------------------------------------------------ pipeline
@pytest.fixture(scope="module", params=["fusion_xgboost", "fusion_random_forest_features"])
def saved(request, run_dir, fitted, tmp_path_factory):
    data = fitted["data"]
    pipeline = fusion.FusionPipeline(
        run_dir.open("prepared").load_preprocessor(),
        fitted["fit"].contender_model(request.param),
        data.class_names,
        fusion.known_unused_columns(data.meta),
    )
    folder = tmp_path_factory.mktemp("pipeline") / "pipeline"
    assert fusion.save_pipeline(pipeline, folder) == folder  # written into the folder it is given
    return pipeline, folder


def test_saved_pipeline_reloads_and_scores_raw_flows_identically(saved):
    pipeline, path = saved
    raw = synthetic_flows(200, seed=9)  # new flows, with labels and identifiers as a loaded frame has them
    reloaded = fusion.load_pipeline(path)
    before, after = pipeline.score(raw), reloaded.score(raw)
    assert before.shape == (200, 2) and np.allclose(before.sum(axis=1), 1)
    np.testing.assert_array_equal(before, after)
    assert reloaded.model.contender == pipeline.model.contender
    suffix = ".ubj" if pipeline.model.meta_name == "xgboost" else ".skops"
    assert any(p.suffix == suffix for p in path.iterdir())
    assert not [p for p in path.iterdir() if p.suffix in (".joblib", ".pkl", ".pickle")]  # nothing unpickled


def test_saved_pipeline_holds_the_fold_models_and_says_so(saved, fitted):
    pipeline, path = saved
    manifest = json.loads((path / io.MANIFEST).read_text())
    assert manifest["k_folds"] == K and manifest["deep_models"] == ["cnn_lstm"]
    assert manifest["contender"] == pipeline.model.contender
    assert manifest["with_features"] == pipeline.model.with_features
    assert {f"deep_cnn_lstm_fold{k}.keras" for k in range(K)} <= {p.name for p in path.iterdir()}
    reloaded = fusion.load_pipeline(path)
    assert len(reloaded.model.fold_models) == K
    for fold, original in zip(reloaded.model.fold_models, fitted["fit"].fold_models, strict=True):
        for a, b in zip(fold["cnn_lstm"].get_weights(), original["cnn_lstm"].get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    data = fitted["data"]
    expected = manual_average(fitted["fit"], pipeline.model.contender, data.X_test)
    np.testing.assert_allclose(reloaded.score_features(data.X_test), expected, atol=1e-6)


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
        fusion.load_pipeline(tmp_path / "nothing")


# The sentences and the verdict rule of lib/metrics/compare.py: tests/test_compare.py.


def test_a_pipeline_saved_into_a_stage_folder_is_read_back_from_it(run_dir, fitted):
    """Notebook 04's way: the stage hands out the folder (written whole), fusion writes into it and reads it."""
    data = fitted["data"]
    model = fitted["fit"].contender_model("fusion_xgboost")
    pipeline = fusion.FusionPipeline(
        run_dir.open("prepared").load_preprocessor(), model, data.class_names, manifest={"seed": 5}
    )
    stage = run_dir.begin("fusion", {"DATASET": "synthetic"}, inputs=["prepared"])
    folder = stage.save_folder("pipeline", partial(fusion.save_pipeline, pipeline))
    assert [p.name for p in stage.path.iterdir() if "partial" in p.name] == []
    stage.finish(pipeline=model.contender)
    opened = run_dir.open("fusion")
    assert opened.manifest["files"] == {"pipeline/manifest.json": io.sha256_file(folder / io.MANIFEST)}
    reloaded = fusion.load_pipeline(opened.file("pipeline"))
    assert reloaded.manifest["seed"] == 5 and reloaded.manifest["format"] == fusion.PIPELINE_FORMAT
    np.testing.assert_array_equal(reloaded.score_features(data.X_test), pipeline.score_features(data.X_test))


# ------------------------------------------------------------------------------ a pipeline folder is self-contained
def _pipeline_folder(tmp_path, **manifest):
    """A pipeline folder whose files exist (their bytes do not matter: the tests stop before any is parsed)."""
    folder = tmp_path / "pipeline"
    folder.mkdir()
    for name in ("preprocessor.skops", "deep_cnn_lstm_fold0.keras", "deep_cnn_lstm_fold1.keras", "meta_xgboost.ubj"):
        (folder / name).write_bytes(b"not read")
    defaults = {"format": fusion.PIPELINE_FORMAT, "deep_models": ["cnn_lstm"], "meta_file": "meta_xgboost.ubj"}
    defaults |= {"meta_name": "xgboost", "meta_class_ids": [0, 1], "inputs": "proba", "class_names": ["a", "b"]}
    defaults |= {"k_folds": 2, "with_features": False}
    (folder / io.MANIFEST).write_text(json.dumps(defaults | manifest))
    return folder


@pytest.fixture
def opened(monkeypatch):
    """Every model file the pipeline loader opens, recorded instead of parsed."""
    import keras

    seen = []

    def record(path, *args, **kwargs):
        seen.append((str(path), kwargs))
        raise RuntimeError("stop here: the test only looks at what would be opened")

    monkeypatch.setattr(keras.models, "load_model", record)
    monkeypatch.setattr(baselines, "read_classifier", record)
    monkeypatch.setattr(preprocess, "load_preprocessor", record)
    monkeypatch.setattr(io, "load_skops", record)
    return seen


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("meta_file", "OUTSIDE"),  # an absolute path to a file that exists
        ("meta_file", "../outside.skops"),
        ("meta_file", "sub/../meta_xgboost.ubj"),
        ("deep_models", ["x/../../outside"]),
        ("deep_models", ["cnn_lstm", "/abs"]),
    ],
)
def test_a_manifest_naming_a_file_outside_its_folder_is_refused(tmp_path, opened, key, value):
    outside = tmp_path / "outside.skops"
    outside.write_bytes(b"secret")
    value = str(outside) if value == "OUTSIDE" else value
    folder = _pipeline_folder(tmp_path, **{key: value})
    (folder / "deep_x").mkdir()  # so that deep_x/../../outside.keras would resolve
    with pytest.raises(ValueError, match=rf"manifest\.json: {key} names .*refused.*Fix: save the pipeline again"):
        fusion.load_pipeline(folder)
    assert opened == [], "nothing may be opened once the manifest is refused"


def test_a_link_out_of_the_pipeline_folder_is_refused(tmp_path, opened):
    outside = tmp_path / "outside.ubj"
    outside.write_bytes(b"secret")
    folder = _pipeline_folder(tmp_path, meta_file="meta_linked.ubj")
    (folder / "meta_linked.ubj").symlink_to(outside)
    with pytest.raises(ValueError, match=r"meta_file names 'meta_linked\.ubj'.*link to a file outside"):
        fusion.load_pipeline(folder)
    assert opened == []


def test_a_manifest_naming_a_missing_file_is_refused(tmp_path, opened):
    folder = _pipeline_folder(tmp_path, deep_models=["cnn_lstm", "gru"])
    with pytest.raises(ValueError, match=r"deep_models names 'gru'.*no such file in the folder"):
        fusion.load_pipeline(folder)
    assert opened == []


@pytest.mark.parametrize(
    ("key", "value"), [("k_folds", 0), ("k_folds", "2"), ("k_folds", True), ("with_features", "no")]
)
def test_a_manifest_with_a_bad_fold_count_is_refused(tmp_path, opened, key, value):
    folder = _pipeline_folder(tmp_path, **{key: value})
    with pytest.raises(ValueError, match=r"manifest\.json: 'k_folds' must be .*Fix: save the pipeline again"):
        fusion.load_pipeline(folder)
    assert opened == []


def test_a_missing_fold_model_is_refused(tmp_path, opened):
    folder = _pipeline_folder(tmp_path, k_folds=3)
    with pytest.raises(ValueError, match=r"deep_models names 'cnn_lstm'.*no such file in the folder"):
        fusion.load_pipeline(folder)
    assert opened == []


def test_a_pipeline_of_an_older_format_says_to_save_it_again(tmp_path, opened):
    folder = _pipeline_folder(tmp_path, format=2)
    with pytest.raises(ValueError, match=r"pipeline format 2, this code reads 3\. Fix: save the pipeline again"):
        fusion.load_pipeline(folder)


# ------------------------------------------------------------------------------------------- notebook 04's runs
@pytest.fixture(scope="module")
def stages(run_dir):
    """Notebook 03's stage (CNN-LSTM, its own configuration, seed 5) and notebook 02's (RF, XGBoost), saved as the
    notebooks save them and opened for reading."""
    data = run_dir.load_prepared()
    own = models.DeepConfig(**TINY | {"dense_units": 5}, epochs=2, batch_size=64, patience=1)
    deep_stage = run_dir.begin("deep", {"DATASET": "synthetic"}, inputs=["prepared"])
    results = models.train_and_evaluate(data, names=["cnn_lstm"], config=own, seeds=[5])
    deep_stage.save_results(results)
    deep_stage.save_models(results.models, models.save_model)
    # a shared "config" that differs from the model's own: the fold models must follow "configs"
    configs = models.configs_record({"cnn_lstm": own})
    deep_stage.finish(models=["cnn_lstm"], seeds=[5], config=DEEP.as_dict(), configs=configs)
    baseline_stage = run_dir.begin("baselines", {"DATASET": "synthetic"}, inputs=["prepared"])
    hyper = {"random_forest": {"n_estimators": 10}, "xgboost": {"n_estimators": 10}}
    names = ["random_forest", "xgboost"]
    results = baselines.train_and_evaluate(data, names=names, hyperparameters=hyper, seeds=[5])
    baseline_stage.save_results(results)
    baseline_stage.save_models(results.models, baselines.save_model)
    baseline_stage.finish(models=names, seeds=[5])
    return run_dir.open("deep"), run_dir.open("baselines"), own


def test_notebook_04_trains_fold_models_with_notebook_03s_configuration(run_dir, stages):
    """evaluate_seeds: K fold trainings per deep model and seed, each with that model's own configuration;
    notebook 03's full models and notebook 02's baselines are read back, never trained."""
    data = run_dir.load_prepared()
    deep_stage, baseline_stage, own = stages
    calls = []
    real_fit_config = models.fit_config

    def spy(name, X, *args, config, **kwargs):
        calls.append((len(X), config))
        return real_fit_config(name, X, *args, config=config, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models, "fit_config", spy)
        patch.setattr(baselines, "train_and_evaluate", lambda *a, **k: pytest.fail("notebook 02 trained again"))
        fused = fusion.evaluate_seeds(
            data, deep=deep_stage.trained(), baselines_run=baseline_stage.trained(), names=["cnn_lstm"],
            inputs="both", k_folds=2, grid=GRID, features_variant=True,
        )  # fmt: skip
    assert [config for _, config in calls] == [own, own]  # two folds, the model's own configuration
    assert all(n < len(data.y_train) for n, _ in calls)  # never all training rows
    fit = fused.fit(5)
    assert len(fit.fold_models) == 2 and fit.fold_models[0]["cnn_lstm"].get_layer("fully_connected").units == 5
    scores = fused.scores.set_index("model")
    assert set(fusion.FUSION_CONTENDERS) | {"cnn_lstm", "soft_voting", "random_forest", "xgboost"} == set(scores.index)
    np.testing.assert_allclose(
        scores.loc["xgboost", "f1"], baseline_stage.scores().set_index("model").loc["xgboost", "f1"]
    )
    assert scores.loc["soft_voting", "f1_macro"] == scores.loc["cnn_lstm", "f1_macro"]  # one model: its own vote
    proba = fit.contender_model("fusion_xgboost_features").predict_proba(data.X_test)
    np.testing.assert_allclose(fused.results.details["fusion_xgboost_features_seed5"]["accuracy"],
                               (proba.argmax(axis=1) == data.y_test).mean())  # fmt: skip
    kept = {(model, split) for model, seed, split in fused.results.predictions}  # the stage's own predictions only
    assert kept == {(m, s) for m in (*fusion.FUSION_CONTENDERS, "soft_voting") for s in ("test", "val")}
    np.testing.assert_allclose(fused.results.predictions[("fusion_xgboost_features", 5, "test")], proba)
    val = deep_stage.prediction("cnn_lstm", 5, "val")  # notebook 03's validation predictions, as saved
    assert scores.loc["cnn_lstm", "val_f1_macro"] == pytest.approx(
        metrics.evaluate(data.y_val, val, data.class_names)["f1_macro"]
    )
    table = fused.fold_table()
    assert list(table.columns) == ["fold 0", "fold 1", "as scored"] and "fusion_xgboost" in table.index
    best_single = fusion.best_single_model(fused.scores, ["cnn_lstm"])
    comparisons, verdict = fused.comparisons(best_single, tie=0.0)
    assert len(comparisons) == 4 * 3 and {d["metric"] for d in comparisons} == {"f1_macro"}
    assert "XGBoost (features)" in verdict
    summarised = metrics.summarise(fused.scores, metrics=["f1_macro"])
    text = fusion.summary(
        fused, summarised, best_single, verdict, fit.pipeline_model("auto"), inputs="both", names=["cnn_lstm"],
        k_folds=2, seed=5,
    )  # fmt: skip
    lines = text.split("\n")
    assert lines[0] == "* 1 seed(s), fusion inputs 'both' from ['cnn_lstm'], cross-fitted over 2 folds."
    f1 = scores["f1_macro"]
    assert lines[1].startswith(f"* Test macro-F1: Fusion (RF meta) {f1['fusion_random_forest']:.4f}, ")
    assert f"best single deep model (CNN-LSTM Hybrid) {f1['cnn_lstm']:.4f}" in lines[1]
    assert lines[1].endswith(f"XGBoost on the features {f1['xgboost']:.4f}.") and lines[2] == f"* {verdict}"
    contender = fusion.CONTENDER_NAMES[fit.best_contender()]
    expected = f"* Saved pipeline (seed 5): {contender}: 2 folds of ['cnn_lstm'], then its meta-classifier."
    assert lines[3] == expected and len(lines) == 4  # no deployment variant distilled here: no line for it


def test_check_runs_refuses_what_notebook_04_cannot_do(stages):
    deep_stage, baseline_stage, _ = stages
    deep, base = deep_stage.trained(), baseline_stage.trained()
    common = {"names": ["cnn_lstm"], "inputs": "both", "seed": 5}
    with pytest.raises(ValueError, match=r"notebook 02 did not fit \['xgboost'\]"):
        fusion.check_runs(deep, dataclasses.replace(base, models=("random_forest",)), **common, pipeline_meta="auto")
    with pytest.raises(ValueError, match=r"notebook 03 trained seeds \[5\], notebook 02 lacks \[5\]"):
        fusion.check_runs(deep, dataclasses.replace(base, seeds=(6,)), **common, pipeline_meta="auto")
    with pytest.raises(ValueError, match=r"notebook 03 did not train \['mlp'\] \(it trained \['cnn_lstm'\]\)"):
        fusion.check_runs(deep, base, **common | {"names": ["mlp"], "inputs": "proba"}, pipeline_meta="auto")
    with pytest.raises(ValueError, match=r"SEED=6 chooses the pipeline's fusion, but notebook 03 trained seeds \[5\]"):
        fusion.check_runs(deep, base, **common | {"seed": 6}, pipeline_meta="auto")
    with pytest.raises(ValueError, match=r"PIPELINE_META must be .*FUSION_WITH_FEATURES=True"):
        fusion.check_runs(deep, base, **common, pipeline_meta="fusion_xgboost_features")
    fusion.check_runs(deep, base, **common, pipeline_meta="fusion_xgboost_features", features_variant=True)
    with pytest.raises(ValueError, match=r"PIPELINE_META must be 'auto' or a fusion"):
        fusion.check_runs(deep, base, **common, pipeline_meta="xgboost")


# ------------------------------------------------------------------------------------------- notebook 04's helpers
def test_grid_from_notebook_04s_comma_separated_parameters():
    grid = fusion.grid_from("10, 30", "0,4", "2")
    assert grid == fusion.meta_grid(fusion.META_CLASSIFIERS, [10, 30], [0, 4], [2])
    assert grid[:2] == [
        ("random_forest", {"n_estimators": 10, "max_depth": None}),  # depth 0: unlimited
        ("random_forest", {"n_estimators": 10, "max_depth": 4}),
    ]
    assert ("xgboost", {"n_estimators": 30, "max_depth": 2}) in grid and len(grid) == 2 * 2 + 2 * 1
    assert fusion.grid_from("5,", "", "3", metas=["xgboost"]) == [("xgboost", {"n_estimators": 5, "max_depth": 3})]
    frame = fusion.grid_frame(grid)
    assert list(frame.columns) == ["meta", "n_estimators", "max_depth"] and len(frame) == len(grid)
    assert frame["meta"].tolist() == [name for name, _ in grid]
    assert frame.loc[1, "max_depth"] == 4 and pd.isna(frame.loc[0, "max_depth"])


def test_with_probabilities_adds_one_column_per_class():
    frame = pd.DataFrame({"label": ["Benign", "DDoS"]}, index=[7, 3])
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    shown = fusion.with_probabilities(frame, proba, ["Benign", "Attack"])
    assert list(shown.columns) == ["label", "P(Benign)", "P(Attack)"] and list(shown.index) == [7, 3]
    assert shown["P(Attack)"].tolist() == [0.1, 0.8] and list(frame.columns) == ["label"]  # a copy
