"""lib/run.py: one owner for RUN_DIR: stale or half-written artefacts are errors, writes are atomic, loads are safe."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import FunctionTransformer
from xgboost import XGBClassifier

from lib import baselines, metrics, preprocess, run, session


def flows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    attack = rng.random(n) < 0.4
    return pd.DataFrame(
        {
            "uid": [f"C{i}" for i in range(n)],
            "bytes": rng.normal(100 + 50 * attack, 10, n),
            "pkts": rng.poisson(3 + 3 * attack, n).astype(float),
            "proto": np.where(rng.random(n) < 0.5, "tcp", "udp"),
            "label": np.where(attack, "DDoS", "Benign"),
            "label_detail": np.where(attack, "DDoS", "Benign"),
            "is_attack": attack.astype(int),
        }
    )


def prepare(folder: run.RunDir, n: int = 300, seed: int = 0, **params) -> run.Stage:
    data, preprocessor, _ = prepare_data(n, seed)
    stage = folder.begin("prepared", {"DATASET": "synthetic", "SAMPLE_ROWS": 0, "SEED": seed, **params})
    stage.save_prepared(data, preprocessor)
    stage.finish()
    return stage


def prepare_data(n: int = 300, seed: int = 0):
    return preprocess.prepare(flows(n, seed), preprocess.PrepConfig(seed=seed))


def downstream(folder: run.RunDir, stage: str = "baselines", **params) -> run.Stage:
    writer = folder.begin(stage, {"DATASET": "synthetic", **params}, inputs=["prepared"])
    writer.save_predictions("random_forest", 1, "test", np.zeros((4, 2)))
    writer.save_results(metrics.Results(scores=[{"model": "random_forest", "seed": 1, "f1": 0.5}]))
    writer.finish(models=["random_forest"], seeds=[1])
    return writer


def test_prepared_data_round_trip_with_its_preprocessor(tmp_path):
    folder = run.RunDir(tmp_path)
    stage = prepare(folder)
    data = folder.load_prepared()
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.class_names == ["Benign", "Attack"] and len(data.rows["test"]) == len(data.y_test)
    _, fitted, _ = prepare_data()
    reloaded = folder.open("prepared").load_preprocessor()
    np.testing.assert_array_equal(reloaded.transform(flows(20, 9)), fitted.transform(flows(20, 9)))
    assert stage.fingerprint == folder.open("prepared").fingerprint and len(stage.fingerprint) == 64


def test_a_stage_made_from_other_prepared_data_is_stale(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder, n=300)
    downstream(folder)
    prepare(folder, n=200)  # notebook 01 again, on other rows
    with pytest.raises(run.StaleArtefactError) as err:
        folder.open("baselines")
    message = str(err.value)
    assert "baselines (made by 02_baselines.ipynb) is stale" in message
    assert "01_data_preparation.ipynb ran again" in message
    assert "python -m lib.runner --dataset synthetic --only 02 -p RUN_DIR" in message


def test_an_identical_rerun_upstream_keeps_the_stages_downstream_current(tmp_path):
    folder = run.RunDir(tmp_path)
    first = prepare(folder).fingerprint
    downstream(folder)
    assert prepare(folder).fingerprint == first  # same rows, same parameters: same bytes
    assert folder.open("baselines").scores()["f1"].tolist() == [0.5]
    prepare(folder, SAMPLE_ROWS=10)  # same arrays here, other parameters: another fingerprint
    with pytest.raises(run.StaleArtefactError, match="is stale"):
        folder.open("baselines")


def test_a_stage_that_did_not_finish_is_an_error_naming_its_notebook(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    writer = folder.begin("deep", {"DATASET": "synthetic"}, inputs=["prepared"])
    writer.save_predictions("cnn_lstm", 1, "test", np.zeros((4, 2)))  # ... then the kernel is killed
    with pytest.raises(run.StaleArtefactError, match=r"deep is incomplete: 03_cnn_lstm\.ipynb started"):
        folder.open("deep")
    with pytest.raises(run.StaleArtefactError, match=r"fusion not found: 04_decision_fusion\.ipynb has not run"):
        folder.open("fusion")


def test_rerunning_a_stage_first_removes_its_previous_outputs(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    old = downstream(folder)
    assert (old.path / "predictions" / "random_forest_seed1_test.npy").exists()
    writer = folder.begin("baselines", {"DATASET": "synthetic"}, inputs=["prepared"])
    assert not (writer.path / "predictions").exists() and not (writer.path / "scores.csv").exists()


def test_writes_are_atomic(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    writer = folder.begin("baselines", {"DATASET": "synthetic"}, inputs=["prepared"])
    writer.save_json("info", {"version": 1})

    def killed_half_way(tmp):
        tmp.write_text('{"version": 2, "half": ')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        writer._write("info.json", killed_half_way)
    assert writer.json("info") == {"version": 1}
    assert [p.name for p in writer.path.iterdir() if "partial" in p.name] == []


def test_a_prepared_folder_mixing_two_runs_is_refused(tmp_path):
    folder = run.RunDir(tmp_path)
    stage = prepare(folder)
    np.save(stage.path / "X_test.npy", np.zeros((3, 99), dtype=np.float32))  # a half-overwritten folder
    with pytest.raises(run.StaleArtefactError, match=r"X_test\.npy has shape \(3, 99\), the manifest says"):
        folder.load_prepared()


def test_later_notebooks_refuse_data_parameters_that_differ_from_notebook_01s(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder, SAMPLE_ROWS=4000)
    with pytest.raises(run.StaleArtefactError, match=r"SAMPLE_ROWS=2000 \(prepared with 4000\)") as err:
        folder.begin("baselines", {"DATASET": "synthetic", "SAMPLE_ROWS": 2000}, inputs=["prepared"])
    # the fix names the data set and the parameters notebook 01 ran with where they differ from its defaults
    assert "--dataset synthetic --only 01" in str(err.value) and "-p SAMPLE_ROWS 4000 -p SEED 0" in str(err.value)
    with pytest.raises(run.StaleArtefactError, match=r"DATASET='cicids2017' \(prepared with 'synthetic'\)"):
        folder.check_data_parameters("06_results_and_figures.ipynb", {"DATASET": "cicids2017"})


def test_scores_and_timings_are_separate_files(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    writer = folder.begin("deep", {"DATASET": "synthetic"}, inputs=["prepared"])
    results = metrics.Results()
    result = metrics.evaluate(
        np.array([0, 1, 1, 0]), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [1, 0]]), ["B", "A"]
    )
    results.add("cnn_lstm", 1, result, {"train_seconds": 1.5, "flows_per_s": 10.0}, n_test=4)
    writer.save_results(results)
    fingerprint = writer.finish(models=["cnn_lstm"], seeds=[1])
    scores = folder.open("deep").scores()
    assert "train_seconds" not in scores and scores.loc[0, "f1"] == pytest.approx(2 / 3)
    assert folder.open("deep").timings().loc[0, "train_seconds"] == 1.5
    assert folder.open("deep").details()["cnn_lstm_seed1"]["confusion_matrix"] == [[2, 0], [1, 1]]
    # the fingerprint covers the scores, not the timings
    manifest = json.loads((writer.path / "manifest.json").read_text())
    assert "scores.csv" in manifest["files"] and "timings.csv" not in manifest["files"]
    assert manifest["fingerprint"] == fingerprint


@pytest.mark.parametrize("name", ["random_forest", "svm", "xgboost"])
def test_baselines_are_saved_without_pickle_and_predict_the_same(tmp_path, name):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    data = folder.load_prepared()
    model = baselines.fit(
        baselines.build(name, 0, **({"n_components": 20} if name == "svm" else {})), data.X_train, data.y_train
    )
    writer = folder.begin("baselines", {"DATASET": "synthetic"}, inputs=["prepared"])
    path = writer.save_model(name, 0, model)
    assert path.suffix == (".ubj" if name == "xgboost" else ".skops")
    writer.finish(models=[name], seeds=[0])
    loaded = folder.open("baselines").model(name, 0)
    np.testing.assert_array_equal(
        baselines.predict_proba(loaded, data.X_test, 2), baselines.predict_proba(model, data.X_test, 2)
    )
    assert isinstance(loaded, XGBClassifier) == (name == "xgboost")


def _not_ours(X):
    return X


def test_a_skops_file_with_types_we_never_write_is_refused(tmp_path):
    path = tmp_path / "evil.skops"
    run.dump_skops(FunctionTransformer(_not_ours), path)
    with pytest.raises(
        ValueError, match=r"refusing to load types this project never writes: \['test_run\._not_ours'\]"
    ):
        run.load_skops(path)


def test_keras_models_round_trip_through_a_stage(tmp_path):
    from lib import models

    folder = run.RunDir(tmp_path)
    prepare(folder)
    data = folder.load_prepared()
    model = models.build("cnn_lstm", data.X_train.shape[1], 2, seed=0, filters=4, lstm_units=4, dense_units=4)
    models.train(model, data.X_train, data.y_train, data.X_val, data.y_val, epochs=1, batch_size=64, seed=0)
    writer = folder.begin("deep", {"DATASET": "synthetic"}, inputs=["prepared"])
    assert writer.save_model("cnn_lstm", 0, model).suffix == ".keras"
    writer.save_history("cnn_lstm", 0, {"loss": [1.0], "val_loss": [0.9]})
    writer.finish(models=["cnn_lstm"], seeds=[0])
    stage = folder.open("deep")
    loaded = stage.model("cnn_lstm", 0)
    np.testing.assert_array_equal(models.predict_proba(loaded, data.X_test), models.predict_proba(model, data.X_test))
    assert stage.history("cnn_lstm", 0)["val_loss"] == [0.9]
    with pytest.raises(
        run.StaleArtefactError,
        match=r"cnn_lstm_seed7\.\* not found: 03_cnn_lstm\.ipynb did not write it \(it ran models \['cnn_lstm'\], seeds \[0\]\)",
    ):
        stage.model("cnn_lstm", 7)


def test_notebook_parameters_are_those_the_parameters_cell_declares():
    """In a kernel the parameters cell's annotations name the parameters; their values are papermill's."""
    namespace = {"__annotations__": {"SEED": int, "RUN_DIR": str}, "SEED": 7, "RUN_DIR": "runs/x", "TIE": 0.5}
    assert session.parameters(namespace) == {"RUN_DIR": "runs/x", "SEED": 7}  # TIE: assigned later, not one
    plain = {"SEED": 3, "RUN_DIR": "runs/x", "SMOTE": False, "NAMES": ["a"], "run_folder": 1, "In": [], "_X": 1}
    assert session.parameters(plain) == {"RUN_DIR": "runs/x", "SEED": 3, "SMOTE": False}


def test_unknown_stage_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unknown stage 'deeep'"):
        run.RunDir(tmp_path).open("deeep")


def test_staleness_is_found_through_every_path_of_the_stage_graph(tmp_path):
    """anomaly reads deep and fusion; fusion reads deep too. A rerun deep makes fusion stale even when the
    deep stage was already checked on the way (each edge is compared, not each stage once)."""
    folder = run.RunDir(tmp_path)
    prepare(folder)
    downstream(folder, "deep")
    folder.begin("fusion", {"DATASET": "synthetic"}, inputs=["prepared", "deep"]).finish()
    writer = folder.begin("anomaly", {"DATASET": "synthetic"}, inputs=["prepared", "deep", "fusion"])
    writer.finish()
    downstream(folder, "deep", N_SEEDS=2)  # notebook 03 again, with other parameters
    anomaly = json.loads((folder.path / "anomaly" / "manifest.json").read_text())
    anomaly["inputs"]["deep"] = folder.open("deep").fingerprint  # as if anomaly had been rerun, fusion not
    (folder.path / "anomaly" / "manifest.json").write_text(json.dumps(anomaly))
    with pytest.raises(run.StaleArtefactError, match=r"fusion \(made by 04_decision_fusion\.ipynb\) is stale"):
        folder.open("anomaly")


# ------------------------------------------------------------------------------ a pipeline folder is self-contained
def _pipeline_folder(tmp_path, **manifest):
    """A pipeline folder whose files exist (their bytes do not matter: the tests stop before any is parsed)."""
    folder = tmp_path / "pipeline"
    folder.mkdir()
    for name in ("preprocessor.skops", "deep_cnn_lstm_fold0.keras", "deep_cnn_lstm_fold1.keras", "meta_xgboost.ubj"):
        (folder / name).write_bytes(b"not read")
    defaults = {"format": run.PIPELINE_FORMAT, "deep_models": ["cnn_lstm"], "meta_file": "meta_xgboost.ubj"}
    defaults |= {"meta_name": "xgboost", "meta_class_ids": [0, 1], "inputs": "proba", "class_names": ["a", "b"]}
    defaults |= {"k_folds": 2, "with_features": False}
    (folder / run.MANIFEST).write_text(json.dumps(defaults | manifest))
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
    monkeypatch.setattr(run, "_read_classifier", record)
    monkeypatch.setattr(run, "load_skops", record)
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
        run.load_pipeline(folder)
    assert opened == [], "nothing may be opened once the manifest is refused"


def test_a_link_out_of_the_pipeline_folder_is_refused(tmp_path, opened):
    outside = tmp_path / "outside.ubj"
    outside.write_bytes(b"secret")
    folder = _pipeline_folder(tmp_path, meta_file="meta_linked.ubj")
    (folder / "meta_linked.ubj").symlink_to(outside)
    with pytest.raises(ValueError, match=r"meta_file names 'meta_linked\.ubj'.*link to a file outside"):
        run.load_pipeline(folder)
    assert opened == []


def test_a_manifest_naming_a_missing_file_is_refused(tmp_path, opened):
    folder = _pipeline_folder(tmp_path, deep_models=["cnn_lstm", "gru"])
    with pytest.raises(ValueError, match=r"deep_models names 'gru'.*no such file in the folder"):
        run.load_pipeline(folder)
    assert opened == []


def test_keras_models_of_a_pipeline_load_in_safe_mode(tmp_path, opened):
    folder = _pipeline_folder(tmp_path)
    with pytest.raises(RuntimeError, match="stop here"):
        run.load_pipeline(folder)
    assert opened == [(str(folder / "deep_cnn_lstm_fold0.keras"), {"safe_mode": True})]


@pytest.mark.parametrize(
    ("key", "value"), [("k_folds", 0), ("k_folds", "2"), ("k_folds", True), ("with_features", "no")]
)
def test_a_manifest_with_a_bad_fold_count_is_refused(tmp_path, opened, key, value):
    folder = _pipeline_folder(tmp_path, **{key: value})
    with pytest.raises(ValueError, match=r"manifest\.json: 'k_folds' must be .*Fix: save the pipeline again"):
        run.load_pipeline(folder)
    assert opened == []


def test_a_missing_fold_model_is_refused(tmp_path, opened):
    folder = _pipeline_folder(tmp_path, k_folds=3)
    with pytest.raises(ValueError, match=r"deep_models names 'cnn_lstm'.*no such file in the folder"):
        run.load_pipeline(folder)
    assert opened == []


def test_a_pipeline_of_an_older_format_says_to_save_it_again(tmp_path, opened):
    folder = _pipeline_folder(tmp_path, format=2)
    with pytest.raises(ValueError, match=r"pipeline format 2, this code reads 3\. Fix: save the pipeline again"):
        run.load_pipeline(folder)
