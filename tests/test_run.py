"""lib/run/: one owner for RUN_DIR: stale or half-written artefacts are errors, writes are atomic, loads are safe."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from xgboost import XGBClassifier

from lib import baselines, io, metrics, preprocess, run, session


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
        writer.save_file("info.json", killed_half_way)
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
def test_baselines_round_trip_through_save_models_and_model_stem(tmp_path, name):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    data = folder.load_prepared()
    model = baselines.fit(
        baselines.build(name, 0, **({"n_components": 20} if name == "svm" else {})), data.X_train, data.y_train
    )
    writer = folder.begin("baselines", {"DATASET": "synthetic"}, inputs=["prepared"])
    writer.save_models({(name, 0): model}, baselines.save_model)
    stem = writer.model_stem(name, 0)
    assert stem == writer.path / "models" / f"{name}_seed0"
    suffix = ".ubj" if name == "xgboost" else ".skops"  # never pickle
    assert sorted(p.name for p in stem.parent.iterdir()) == sorted([f"{name}_seed0{suffix}", f"{name}_seed0.json"])
    writer.finish(models=[name], seeds=[0])
    assert json.loads((writer.path / io.MANIFEST).read_text())["files"] == {}  # model files are not results
    loaded = baselines.load_model(folder.open("baselines").model_stem(name, 0))
    np.testing.assert_array_equal(
        baselines.predict_proba(loaded, data.X_test, 2), baselines.predict_proba(model, data.X_test, 2)
    )
    assert isinstance(loaded, XGBClassifier) == (name == "xgboost")


def test_keras_models_round_trip_through_a_stage(tmp_path):
    from lib import models

    folder = run.RunDir(tmp_path)
    prepare(folder)
    data = folder.load_prepared()
    model = models.build("cnn_lstm", data.X_train.shape[1], 2, seed=0, filters=4, lstm_units=4, dense_units=4)
    models.train(model, data.X_train, data.y_train, data.X_val, data.y_val, epochs=1, batch_size=64, seed=0)
    writer = folder.begin("deep", {"DATASET": "synthetic"}, inputs=["prepared"])
    writer.save_models({("cnn_lstm", 0): model}, models.save_model)
    assert [p.name for p in (writer.path / "models").iterdir()] == ["cnn_lstm_seed0.keras"]
    writer.save_results(metrics.Results(histories={("cnn_lstm", 0): {"loss": [1.0], "val_loss": [0.9]}}))
    writer.finish(models=["cnn_lstm"], seeds=[0])
    stage = folder.open("deep")
    loaded = models.load_model(stage.model_stem("cnn_lstm", 0))
    np.testing.assert_array_equal(models.predict_proba(loaded, data.X_test), models.predict_proba(model, data.X_test))
    assert stage.history("cnn_lstm", 0)["val_loss"] == [0.9]
    assert stage.histories(0) == {"cnn_lstm": {"loss": [1.0], "val_loss": [0.9]}}
    with pytest.raises(
        run.StaleArtefactError,
        match=r"cnn_lstm_seed7\.\* not found: 03_cnn_lstm\.ipynb did not write it \(it ran models \['cnn_lstm'\], seeds \[0\]\)",
    ):
        stage.model_stem("cnn_lstm", 7)


def test_a_missing_model_names_the_models_and_seeds_the_stage_ran(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    downstream(folder)  # random_forest, seed 1: predictions and scores, no model file
    stage = folder.open("baselines")
    assert stage.models == ["random_forest"] and stage.seeds == [1]
    for name, seed in (("random_forest", 1), ("xgboost", 1), ("random_forest", 2)):
        with pytest.raises(run.StaleArtefactError) as err:
            stage.model_stem(name, seed)
        message = str(err.value)
        assert f"models/{name}_seed{seed}.* not found: 02_baselines.ipynb did not write it" in message
        assert "(it ran models ['random_forest'], seeds [1])" in message
        assert "Fix: rerun notebooks/02_baselines.ipynb" in message and "with the models and seeds you need" in message
    with pytest.raises(run.StaleArtefactError, match=r"\(it ran other output\)"):
        folder.open("prepared").model_stem("random_forest", 1)  # a stage that recorded no models


# ------------------------------------------------------------------------------------------- results of a learner
def learner_results(p_attack: float = 0.25, seconds: float = 1.5, loss: float = 0.7, cell: int = 3) -> metrics.Results:
    """What a learner returns besides scores: predictions, a history, a table, a record, a timing table."""
    results = metrics.Results()
    results.predictions["random_forest", 1, "test"] = np.array([[1 - p_attack, p_attack], [0.5, 0.5]])
    results.predictions["random_forest", 1, "val"] = np.array([[0.875, 0.125]])
    results.histories["random_forest", 1] = {"loss": [loss, 0.5], "val_loss": [0.6, 0.55]}
    results.tables["grid"] = pd.DataFrame({"trees": [10, 20], "val_f1": [0.8, cell / 10]})
    results.records["comparisons"] = {"best": "random_forest", "n": 2}
    results.timing_tables["grid_timings"] = pd.DataFrame({"trees": [10, 20], "seconds": [seconds, 2 * seconds]})
    return results


def saved_fingerprint(folder: run.RunDir, results: metrics.Results) -> str:
    writer = folder.begin("baselines", {"DATASET": "synthetic"}, inputs=["prepared"])
    writer.save_results(results)
    return writer.finish(models=["random_forest"], seeds=[1])


def test_save_results_writes_predictions_histories_tables_and_records(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    saved_fingerprint(folder, learner_results())
    stage = folder.open("baselines")
    expected = learner_results()
    np.testing.assert_array_equal(stage.prediction("random_forest", 1), [[0.75, 0.25], [0.5, 0.5]])
    assert stage.prediction("random_forest", 1).dtype == np.float32
    np.testing.assert_array_equal(stage.predictions(1, "val")["random_forest"], [[0.875, 0.125]])
    assert stage.history("random_forest", 1) == expected.histories["random_forest", 1]
    assert stage.histories(1) == {"random_forest": expected.histories["random_forest", 1]}
    pd.testing.assert_frame_equal(stage.table("grid"), expected.tables["grid"])
    pd.testing.assert_frame_equal(stage.table("grid_timings"), expected.timing_tables["grid_timings"])
    assert stage.json("comparisons") == {"best": "random_forest", "n": 2}
    assert not (stage.path / "scores.csv").exists()  # no score given: no scores, details or timings file
    recorded = json.loads((stage.path / io.MANIFEST).read_text())["files"]
    assert set(recorded) == {
        "predictions/random_forest_seed1_test.npy",
        "predictions/random_forest_seed1_val.npy",
        "tables/grid.csv",
        "comparisons.json",
    }  # the timing table and the history are not results
    assert recorded["tables/grid.csv"] == io.sha256_file(stage.path / "tables" / "grid.csv")


def test_the_fingerprint_holds_the_results_not_the_timings(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    first = saved_fingerprint(folder, learner_results())
    assert saved_fingerprint(folder, learner_results()) == first  # same results: same fingerprint
    assert saved_fingerprint(folder, learner_results(seconds=99.0, loss=0.1)) == first  # other times, history
    assert saved_fingerprint(folder, learner_results(p_attack=0.5)) != first  # one prediction differs
    assert saved_fingerprint(folder, learner_results(cell=4)) != first  # one cell of a result table differs
    record = learner_results()
    record.records["comparisons"]["n"] = 3
    assert saved_fingerprint(folder, record) != first  # a record differs


def test_trained_reads_the_predictions_of_a_training_stage(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    saved_fingerprint(folder, learner_results())
    trained = folder.open("baselines").trained()
    assert isinstance(trained, metrics.Trained)
    assert trained.models == ("random_forest",) and trained.seeds == (1,)
    assert trained.info == {"models": ["random_forest"], "seeds": [1]}
    np.testing.assert_array_equal(trained.prediction("random_forest", 1), [[0.75, 0.25], [0.5, 0.5]])  # test split
    np.testing.assert_array_equal(trained.prediction("random_forest", 1, "val"), [[0.875, 0.125]])
    with pytest.raises(run.StaleArtefactError, match=r"random_forest_seed2_test\.npy not found"):
        trained.prediction("random_forest", 2)


def test_input_fingerprint_is_the_fingerprint_of_what_the_stage_read(tmp_path):
    folder = run.RunDir(tmp_path)
    prepared = prepare(folder).fingerprint
    writer = folder.begin("deep", {"DATASET": "synthetic"}, inputs=["prepared"])
    assert writer.input_fingerprint("prepared") == prepared and writer.input_fingerprint("baselines") is None
    writer.finish()
    assert folder.open("deep").input_fingerprint("prepared") == prepared


# ------------------------------------------------------------------------------------------------ folders
def test_save_folder_puts_a_whole_folder_in_place_or_none(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    writer = folder.begin("fusion", {"DATASET": "synthetic"}, inputs=["prepared"])

    def write(version):
        def into(tmp):
            (tmp / io.MANIFEST).write_text(json.dumps({"version": version}))
            (tmp / "model.bin").write_bytes(b"weights")

        return into

    def killed_half_way(tmp):
        (tmp / io.MANIFEST).write_text('{"version": 2, "half": ')
        raise KeyboardInterrupt

    path = writer.save_folder("pipeline", write(1))
    assert path == writer.path / "pipeline" and sorted(p.name for p in path.iterdir()) == ["manifest.json", "model.bin"]
    with pytest.raises(KeyboardInterrupt):
        writer.save_folder("pipeline", killed_half_way)  # a rewrite that fails leaves the old folder whole
    assert json.loads((path / io.MANIFEST).read_text()) == {"version": 1}
    with pytest.raises(KeyboardInterrupt):
        writer.save_folder("detector", killed_half_way)  # a first write that fails leaves no folder
    assert not (writer.path / "detector").exists()
    assert [p.name for p in writer.path.iterdir() if "partial" in p.name] == []
    fingerprint = writer.finish()
    recorded = json.loads((writer.path / io.MANIFEST).read_text())["files"]
    assert recorded == {"pipeline/manifest.json": io.sha256_file(path / io.MANIFEST)}
    stage = folder.open("fusion")
    assert stage.file("pipeline") == path
    with pytest.raises(run.StaleArtefactError, match=r"fusion/detector not found: 04_decision_fusion\.ipynb did not"):
        stage.file("detector")
    again = folder.begin("fusion", {"DATASET": "synthetic"}, inputs=["prepared"])
    again.save_folder("pipeline", write(2))  # another manifest: another fingerprint
    assert again.finish() != fingerprint


def test_save_file_and_folder_of_a_stage(tmp_path):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    writer = folder.begin("detect", {"DATASET": "synthetic"}, inputs=["prepared"])
    writer.save_file("scored/flows.csv", lambda tmp: tmp.write_text("a,b\n1,2\n"))
    writer.save_file("notes.txt", lambda tmp: tmp.write_text("wall-clock"), result=False)
    figures = writer.folder("figures")  # figures of the run: not results
    assert figures == writer.path / "figures" and figures.is_dir()
    writer.finish()
    stage = folder.open("detect")
    assert stage.file("scored/flows.csv").read_text() == "a,b\n1,2\n" and stage.file("notes.txt").exists()
    assert set(json.loads((stage.path / io.MANIFEST).read_text())["files"]) == {"scored/flows.csv"}
    for write in (lambda: stage.folder("figures"), lambda: stage.save_file("x.txt", lambda tmp: None)):
        with pytest.raises(RuntimeError, match="'detect' was opened for reading: use RunDir.begin"):
            write()


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


# ------------------------------------------------------------------------------ the code that makes a stage
def test_a_stage_is_made_by_its_notebook_and_the_lib_modules_it_reaches():
    files = run.code.code_files("02_baselines.ipynb")
    assert files[:2] == ("notebooks/02_baselines.ipynb", "requirements.txt")
    assert {"lib/baselines.py", "lib/metrics/scores.py", "lib/preprocess/dedup.py"} <= set(files)  # through imports
    assert not any(f.startswith(("lib/run/", "lib/report/", "lib/score/")) for f in files)
    # the report's tables and sentences make no stage: editing them keeps every training stage reusable
    for notebook in ("01_data_preparation.ipynb", "03_cnn_lstm.ipynb", "04_decision_fusion.ipynb"):
        assert not any(f.startswith("lib/report/") for f in run.code.code_files(notebook))
    assert "lib/anomaly/summary.py" in run.code.code_files("05_anomaly_detection.ipynb")
    assert not any(f.startswith("lib/report/") for f in run.code.code_files("05_anomaly_detection.ipynb"))


def _tiny_project(root, reached: str, other: str) -> None:
    (root / "notebooks").mkdir(parents=True)
    (root / "lib" / "pkg").mkdir(parents=True)
    cell = {"cell_type": "code", "source": ["%matplotlib inline\n", "from lib.pkg import used\n"], "metadata": {}}
    (root / "notebooks" / "01_x.ipynb").write_text(json.dumps({"cells": [cell]}))
    (root / "requirements.txt").write_text("numpy==1\n")
    (root / "lib" / "__init__.py").write_text("")
    (root / "lib" / "pkg" / "__init__.py").write_text("from . import helper\n")
    (root / "lib" / "pkg" / "helper.py").write_text("def f():\n    from lib import deep\n")
    (root / "lib" / "deep.py").write_text("")
    (root / "lib" / "pkg" / "used.py").write_text(reached)
    (root / "lib" / "other.py").write_text(other)


def _git(root, *args):
    import subprocess

    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True,
                   capture_output=True)  # fmt: skip


def test_code_files_follow_relative_and_function_level_imports(tmp_path):
    _tiny_project(tmp_path, "x = 1\n", "")
    files = run.code.code_files("01_x.ipynb", tmp_path)
    assert set(files) == {"notebooks/01_x.ipynb", "requirements.txt", "lib/__init__.py", "lib/pkg/__init__.py",
                          "lib/pkg/helper.py", "lib/deep.py", "lib/pkg/used.py"}  # fmt: skip


def test_a_stage_made_before_stages_listed_their_files_is_found_by_its_commit(tmp_path):
    """A stage that recorded a hash of all of lib is made by the same code when the files its notebook reaches
    now are those of the commit that gives that hash; a change to a file it reaches makes it stale."""
    _tiny_project(tmp_path, "x = 1\n", "y = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    files = {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()
             and ".git" not in p.parts}  # fmt: skip
    recorded = run.code.all_lib_fingerprint(files, "01_x.ipynb")
    (tmp_path / "lib" / "other.py").write_text("y = 2\n")  # a module the notebook does not reach
    _git(tmp_path, "commit", "-q", "-am", "second")
    commit = run.code.commit_of(recorded, "01_x.ipynb", tmp_path)
    first = _git_out(tmp_path, "rev-list", "--max-parents=0", "HEAD")
    assert commit == first and run.code.unchanged_since(commit, "01_x.ipynb", tmp_path)
    (tmp_path / "lib" / "deep.py").write_text("z = 3\n")  # reached through a function-level import
    run.code.code_files.cache_clear()
    assert not run.code.unchanged_since(commit, "01_x.ipynb", tmp_path)
    assert run.code.commit_of("0" * 64, "01_x.ipynb", tmp_path) is None


def _git_out(root, *args) -> str:
    import subprocess

    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def test_a_stage_records_the_files_that_made_it_and_is_reused_only_by_them(tmp_path, monkeypatch):
    folder = run.RunDir(tmp_path / "run")
    stage = prepare(folder)
    ids = stage.manifest["code_files"]
    assert "lib/preprocess/prepared.py" in ids and len(next(iter(ids.values()))) == 40
    assert folder.reusable("prepared", stage.parameters) == stage.fingerprint
    edited = dict(ids) | {"lib/preprocess/prepared.py": "0" * 40}
    monkeypatch.setattr(run.code, "file_ids", lambda notebook, root=None: edited)
    assert folder.reusable("prepared", stage.parameters) is None


# ------------------------------------------------------------------------------------------ the manifest's fingerprint
def test_the_fingerprint_of_a_manifest_is_one_function_whose_value_never_changes(tmp_path):
    """Stage.finish and the scorer's check share run.manifest_fingerprint; places aside, its value is the hash
    every finished stage recorded (pinned: a change would make every existing stage look edited)."""
    manifest = {
        "parameters": {"DATASET": "iot23", "SEED": 7, "SPLIT": "random", "RUN_DIR": "runs/a", "DATA_DIR": "/d"},
        "inputs": {"prepared": "a" * 64},
        "files": {"scores.csv": "b" * 64, "predictions/x.npy": "c" * 64},
        "status": "complete", "notebook": "02_baselines.ipynb", "info": {"seeds": [7]},
    }  # fmt: skip
    assert run.manifest_fingerprint(manifest) == "184ed52977f2537d3e36747a4fe301623af4f611407f39b7a578a4d40fb548e2"
    moved = manifest | {"parameters": manifest["parameters"] | {"RUN_DIR": "elsewhere", "NAME": "x"}}
    assert run.manifest_fingerprint(moved) == run.manifest_fingerprint(manifest)
    edited = manifest | {"files": manifest["files"] | {"scores.csv": "d" * 64}}
    assert run.manifest_fingerprint(edited) != run.manifest_fingerprint(manifest)
    folder = run.RunDir(tmp_path)
    prepare(folder)
    stage = downstream(folder)
    recorded = json.loads((tmp_path / "baselines" / run.MANIFEST).read_text())
    assert recorded["fingerprint"] == stage.fingerprint == run.manifest_fingerprint(recorded)


@pytest.mark.parametrize("text", ['{"stage": "prepared", "status": "compl', "[1, 2]", "\udcff"])
def test_a_stage_manifest_that_is_not_a_json_object_is_an_error_naming_it(tmp_path, text):
    folder = run.RunDir(tmp_path)
    prepare(folder)
    downstream(folder)
    manifest = tmp_path / "prepared" / run.MANIFEST
    manifest.write_bytes(text.encode("utf-8", "surrogateescape"))  # cut short, edited, or not even UTF-8
    with pytest.raises(run.StaleArtefactError, match=rf"^{manifest}: .*Fix: rerun notebooks/01_data_preparation"):
        folder.open("baselines")  # read as the input of another stage too
    assert folder.reusable("prepared", {"DATASET": "synthetic", "SAMPLE_ROWS": 0, "SEED": 0}) is None


def test_notebook_defaults_read_the_projects_notebook_not_a_same_named_file_of_the_working_folder(
    tmp_path, monkeypatch
):
    (tmp_path / "04_decision_fusion.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    projects = run.notebook_defaults("04_decision_fusion.ipynb")
    monkeypatch.chdir(tmp_path)  # e.g. a grader's folder holding a submitted notebook of that name
    assert "K_FOLDS" in projects and run.notebook_defaults("04_decision_fusion.ipynb") == projects
