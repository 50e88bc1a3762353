"""Tamper-evident model folders (lib/io.py ``ModelFolder``, lib/fusion/pipeline.py, lib/anomaly/persist.py,
lib/score/model.py): a whole scorable run is trained at tiny size with the learners' own save functions, then
one file at a time is edited, replaced or copied over another; loading it is an error naming that file and the
fix, and ``iot-botnet score`` exits 2 with it. A ``.keras`` file Keras' safe loading refuses is an error naming
the file with the reason, no traceback."""

from __future__ import annotations

import functools
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib import anomaly, baselines, fusion, io, models, preprocess, run
from lib.score.cli import main as score_main
from lib.score.model import Detector

SEED = 3
FIX = "retrain the run or restore the file from its copy"


def conn_flows(n: int, seed: int) -> pd.DataFrame:
    """Flows with columns of a Zeek conn.log (IoT-23's labelled form): benign ones and a port scan."""
    rng = np.random.default_rng(seed)
    attack = rng.random(n) < 0.35
    return pd.DataFrame(
        {
            "uid": [f"C{seed}x{i:05d}" for i in range(n)],
            "duration": rng.exponential(np.where(attack, 0.05, 2.0)),
            "orig_bytes": rng.normal(np.where(attack, 40.0, 600.0), 30.0),
            "resp_pkts": rng.poisson(np.where(attack, 1, 8)).astype(np.float64),
            "proto": np.where(rng.random(n) < np.where(attack, 0.1, 0.6), "udp", "tcp"),
            "label": np.where(attack, "Malicious", "Benign"),
            "label_detail": np.where(attack, "PartOfAHorizontalPortScan", "-"),
            "is_attack": attack,
        }
    )


def tiny_network(n_features: int, n_classes: int, X: np.ndarray, y: np.ndarray, seed: int):
    model = models.build("mlp", n_features, n_classes, seed=seed, mlp_units=4, dense_units=3, dropout=0.0)
    models.train(model, X, y, X, y, epochs=1, batch_size=128, seed=seed, patience=1)
    return model


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A run folder as notebooks 01, 04 and 05 leave it: prepared data, the fused pipeline (two fold models, an
    XGBoost meta-classifier) and the kNN anomaly branch, each saved by its learner into the folder its stage
    hands out."""
    folder = run.RunDir(tmp_path_factory.mktemp("integrity") / "run")
    data, preprocessor, _ = preprocess.prepare(conn_flows(600, seed=1), preprocess.PrepConfig(seed=SEED))
    stage = folder.begin("prepared", {"DATASET": "synthetic", "SEED": SEED})
    stage.save_prepared(data, preprocessor)
    stage.finish()

    n_features, n_classes = data.X_train.shape[1], data.n_classes
    halves = np.array_split(np.arange(len(data.X_train)), 2)
    folds = [
        {"mlp": tiny_network(n_features, n_classes, data.X_train[rows], data.y_train[rows], SEED + k)}
        for k, rows in enumerate(halves)
    ]
    outputs = fusion.deep_outputs(folds[0], data.X_train, "proba")
    meta = baselines.fit(baselines.build("xgboost", SEED, n_estimators=5, max_depth=2, n_jobs=1), outputs, data.y_train)
    model = fusion.FusionModel(folds, meta, "xgboost", "proba", n_classes)
    pipeline = fusion.FusionPipeline(
        preprocessor, model, data.class_names, fusion.known_unused_columns(data.meta), manifest={"seed": SEED}
    )
    stage = folder.begin("fusion", {"DATASET": "synthetic"}, inputs=["prepared"])
    stage.save_folder("pipeline", functools.partial(fusion.save_pipeline, pipeline))
    fusion_fingerprint = stage.finish()

    X = {"train": data.X_train, "val": data.X_val}
    y = {"train": data.y_train, "val": data.y_val}
    detector = anomaly.fit_knn(X["train"], y["train"], X["val"], y["val"], target_fpr=0.05, seed=SEED, k=3)
    training = {"parameters": {"DATASET": "synthetic"}, "fingerprint": folder.open("prepared").fingerprint}
    bundle = anomaly.scoring_bundle(pipeline, detector, X, y, 0.05, training, fusion_fingerprint)
    stage = folder.begin("anomaly", {"DATASET": "synthetic"}, inputs=["prepared", "fusion"])
    stage.save_folder("detector", functools.partial(anomaly.save_detector, *bundle))
    stage.finish()
    return folder.path


@pytest.fixture
def copy(trained_run, tmp_path) -> Path:
    """A fresh copy of the trained run, for one test to tamper with."""
    return Path(shutil.copytree(trained_run, tmp_path / "run"))


@pytest.fixture(scope="module")
def flows_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("input") / "flows.csv"
    conn_flows(50, seed=7).to_csv(path, index=False)
    return path


def score_command(run_dir: Path, flows: Path, capsys) -> tuple[int, str]:
    """``iot-botnet score`` on the run: its exit code and what it printed to stderr."""
    capsys.readouterr()
    code = score_main(["--model", str(run_dir), "--input", str(flows), "--output", str(run_dir.parent / "out.csv")])
    return code, capsys.readouterr().err


def refused(run_dir: Path, file: Path, flows: Path, capsys) -> str:
    """Loading the run is an error naming ``file`` and the fix; the command exits 2 with it, no traceback."""
    with pytest.raises(io.ModelFileError) as caught:
        Detector.load(run_dir)
    message = str(caught.value)
    assert message.startswith(f"{file}: ") and FIX in message
    code, err = score_command(run_dir, flows, capsys)
    assert code == 2 and err.startswith(f"error: {file}: ") and "Traceback" not in err
    return message


def flip_one_byte(path: Path, position: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * position)] ^= 0x01
    path.write_bytes(bytes(data))


def edit_json(path: Path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(io.dumps(record))


# ------------------------------------------------------------------------------------------- what is recorded
def test_an_untouched_run_loads_scores_and_records_every_file(copy, flows_csv, capsys):
    detector = Detector.load(copy)
    anomaly_stage = run.RunDir(copy).open("anomaly")
    assert detector.describe()["anomaly_fingerprint"] == anomaly_stage.fingerprint
    for folder in (copy / "fusion" / "pipeline", copy / "anomaly" / "detector"):
        recorded = json.loads((folder / io.MANIFEST).read_text())[io.FILE_HASHES]
        on_disk = {p.name: io.sha256_file(p) for p in folder.iterdir() if p.name != io.MANIFEST}
        assert recorded == on_disk and len(on_disk) >= 2  # every file but the manifest, with its sha256
    assert set(json.loads((copy / "fusion" / "pipeline" / io.MANIFEST).read_text())[io.FILE_HASHES]) == {
        "preprocessor.skops",
        "deep_mlp_fold0.keras",
        "deep_mlp_fold1.keras",
        "meta_xgboost.ubj",
    }
    code, err = score_command(copy, flows_csv, capsys)
    assert code == 0, err


# ------------------------------------------------------------------------------------------- one file edited
MODEL_FILES = [
    "fusion/pipeline/manifest.json",
    "fusion/pipeline/preprocessor.skops",
    "fusion/pipeline/deep_mlp_fold0.keras",
    "fusion/pipeline/deep_mlp_fold1.keras",
    "fusion/pipeline/meta_xgboost.ubj",
    "anomaly/detector/manifest.json",
    "anomaly/detector/reference.npy",
    "anomaly/detector/arrays.npz",
]


@pytest.mark.parametrize("relpath", MODEL_FILES)
@pytest.mark.parametrize("position", [0.0, 0.5, 0.999])
def test_one_byte_changed_in_any_file_of_a_model_folder_is_refused_naming_it(
    copy, flows_csv, capsys, relpath, position
):
    flip_one_byte(copy / relpath, position)
    message = refused(copy, copy / relpath, flows_csv, capsys)
    assert "are not the ones saved there" in message


def test_a_threshold_edited_in_the_detector_manifest_is_refused(copy, flows_csv, capsys):
    manifest = copy / "anomaly" / "detector" / io.MANIFEST
    edit_json(manifest, lambda m: m.update(threshold=m["threshold"] * 10))
    message = refused(copy, manifest, flows_csv, capsys)
    assert f"recorded in {copy / 'anomaly' / run.MANIFEST}" in message


def test_a_fold_model_copied_over_another_is_refused(copy, flows_csv, capsys):
    pipeline = copy / "fusion" / "pipeline"
    shutil.copyfile(pipeline / "deep_mlp_fold1.keras", pipeline / "deep_mlp_fold0.keras")
    refused(copy, pipeline / "deep_mlp_fold0.keras", flows_csv, capsys)


def test_the_knn_reference_rows_replaced_are_refused(copy, flows_csv, capsys):
    reference = copy / "anomaly" / "detector" / "reference.npy"
    rows = np.load(reference)
    np.save(reference, rows[: len(rows) // 2])  # a valid array of fewer rows: distances (and alerts) would change
    refused(copy, reference, flows_csv, capsys)


def test_a_skops_file_replaced_by_another_valid_one_is_refused(copy, flows_csv, capsys):
    path = copy / "fusion" / "pipeline" / "preprocessor.skops"
    other = preprocess.prepare(conn_flows(300, seed=9), preprocess.PrepConfig(seed=SEED))[1]
    preprocess.save_preprocessor(other, path)  # the right types, fitted on other rows
    refused(copy, path, flows_csv, capsys)


@pytest.mark.parametrize(
    ("stage", "change"),
    [
        ("anomaly", lambda m: m["files"].update({"detector/manifest.json": "0" * 64})),
        ("fusion", lambda m: m["files"].update({"pipeline/manifest.json": "0" * 64})),
        ("fusion", lambda m: m["parameters"].update(DATASET="other")),
        ("anomaly", lambda m: m["inputs"].update(prepared="0" * 64)),
    ],
)
def test_a_stage_manifest_edited_after_it_finished_is_refused(copy, flows_csv, capsys, stage, change):
    manifest = copy / stage / run.MANIFEST
    edit_json(manifest, change)
    with pytest.raises((io.ModelFileError, run.StaleArtefactError), match=rf"{copy / stage}"):
        Detector.load(copy)
    code, err = score_command(copy, flows_csv, capsys)
    assert code == 2 and f"{copy / stage}" in err


def test_a_record_and_a_file_edited_together_are_not_caught_as_the_docstring_says(copy):
    """The limit the module docstrings state: a threshold edited with the stage's record of the detector's
    manifest and that stage's fingerprint recomputed (two files) loads. Hashes are no signatures."""
    detector_manifest = copy / "anomaly" / "detector" / io.MANIFEST
    edit_json(detector_manifest, lambda m: m.update(threshold=123.0))
    stage_manifest = copy / "anomaly" / run.MANIFEST

    def rerecord(m):
        m["files"]["detector/manifest.json"] = io.sha256_file(detector_manifest)
        m["fingerprint"] = run.manifest_fingerprint(m)

    edit_json(stage_manifest, rerecord)
    assert Detector.load(copy).thresholds().anomaly == 123.0


# ------------------------------------------------------------------------------------------- the folders alone
@pytest.fixture(scope="module")
def split():
    rng = np.random.default_rng(0)
    X = {s: rng.normal(size=(n, 6)).astype(np.float32) for s, n in (("train", 300), ("val", 120))}
    y = {s: (rng.random(len(X[s])) < 0.2).astype(np.int64) for s in X}
    return X, y


def detector_folder(detector, folder: Path) -> Path:
    arrays = {"anomaly_benign_val": np.arange(3.0)}
    return io.atomic_folder(folder, functools.partial(anomaly.save_detector, detector, {"target_fpr": 0.05}, arrays))


def rerecorded(folder: Path, name: str) -> str:
    """Write ``name``'s sha256 into the folder's manifest, as a writer of both files would; the manifest's new
    sha256 (what a run would record)."""
    edit_json(folder / io.MANIFEST, lambda m: m[io.FILE_HASHES].update({name: io.sha256_file(folder / name)}))
    return io.sha256_file(folder / io.MANIFEST)


def crafted_keras(path: Path) -> None:
    """A ``.keras`` file whose model holds a Python lambda: loading it unsafely would run the lambda's code."""
    import keras

    inputs = keras.Input(shape=(6,))
    outputs = keras.layers.Lambda(lambda x: x * 2.0, name="code")(inputs)
    keras.Model(inputs, outputs).save(path)


def with_unregistered_layer(path: Path) -> None:
    """``path`` (a ``.keras`` file) rewritten so that its config names a layer class this code never registers."""
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    config = parts["config.json"].decode()
    assert '"Dense"' in config
    parts["config.json"] = config.replace('"Dense"', '"ShellDense"').encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


@pytest.fixture(scope="module")
def autoencoder_folder(split, tmp_path_factory) -> Path:
    X, y = split
    detector = anomaly.fit_autoencoder(
        X["train"], y["train"], X["val"], y["val"], target_fpr=0.05, seed=0, epochs=1, batch_size=64, code_units=2
    )
    return detector_folder(detector, tmp_path_factory.mktemp("ae") / "detector")


def test_a_keras_file_replaced_by_a_crafted_one_is_refused_by_its_sha256(autoencoder_folder, tmp_path):
    folder = Path(shutil.copytree(autoencoder_folder, tmp_path / "detector"))
    recorded = io.sha256_file(folder / io.MANIFEST)
    crafted_keras(folder / "autoencoder.keras")
    with pytest.raises(io.ModelFileError, match=rf"^{folder / 'autoencoder.keras'}: its bytes .*{FIX}"):
        anomaly.load_detector(folder, manifest_sha256=recorded)


@pytest.mark.parametrize(
    ("craft", "reason"),
    [
        (crafted_keras, r"Keras' safe loading refused it \(ValueError: .*[Ll]ambda.*no code from it ran"),
        (with_unregistered_layer, r"Keras' safe loading refused it \((ValueError|TypeError): .*ShellDense"),
        (lambda path: path.write_bytes(path.read_bytes()[:300]), r"not a Keras file \(no zip archive"),
    ],
)
def test_a_keras_file_keras_refuses_is_an_error_naming_it(autoencoder_folder, tmp_path, craft, reason):
    """Even where the records were rewritten to match (no sha256 can tell), the file is refused by Keras' safe
    loading: the error names it, says why in one line, and no code from it runs."""
    folder = Path(shutil.copytree(autoencoder_folder, tmp_path / "detector"))
    craft(folder / "autoencoder.keras")
    manifest_sha256 = rerecorded(folder, "autoencoder.keras")
    with pytest.raises(io.ModelFileError, match=rf"^{folder / 'autoencoder.keras'}: {reason}") as caught:
        anomaly.load_detector(folder, manifest_sha256=manifest_sha256)
    assert "\n" not in str(caught.value) and caught.value.__cause__ is None  # one line, no chained traceback
    assert str(tmp_path) not in str(caught.value).replace(str(folder), "")  # no private temporary path named


def test_a_deep_model_of_a_run_keras_refuses_is_an_error_naming_it(tmp_path):
    """``models.load_model`` (notebook 03's saved networks) says the same of a crafted file."""
    crafted_keras(tmp_path / "cnn_lstm_seed0.keras")
    with pytest.raises(io.ModelFileError, match=r"cnn_lstm_seed0\.keras: Keras' safe loading refused it \(Value"):
        models.load_model(tmp_path / "cnn_lstm_seed0")


def test_every_keras_file_is_loaded_in_safe_mode_from_the_checked_bytes(trained_run, monkeypatch):
    """Keras reads a path: each network is loaded in safe mode from a private copy of the bytes that were checked
    (so the file is never read a second time), under its own name."""
    import keras

    seen, real = [], keras.models.load_model

    def spy(path, **kwargs):
        seen.append((Path(path), kwargs, io.sha256_file(path)))
        return real(path, **kwargs)

    monkeypatch.setattr(keras.models, "load_model", spy)
    folder = trained_run / "fusion" / "pipeline"
    fusion.load_pipeline(folder, manifest_sha256=io.sha256_file(folder / io.MANIFEST))
    recorded = json.loads((folder / io.MANIFEST).read_text())[io.FILE_HASHES]
    assert [(p.name, kwargs, digest) for p, kwargs, digest in seen] == [
        (name, {"safe_mode": True}, recorded[name]) for name in ("deep_mlp_fold0.keras", "deep_mlp_fold1.keras")
    ]
    assert all(p.parent != folder and not p.exists() for p, _, _ in seen)  # a copy, removed after loading


def test_the_pipelines_preprocessor_is_loaded_by_its_own_loader_from_the_checked_bytes(trained_run, monkeypatch):
    """The pipeline folder's preprocessor goes through preprocess.load_preprocessor (the types it trusts) with the
    bytes that were checked against the manifest's record, read once."""
    seen, real = [], preprocess.load_preprocessor

    def spy(path, data=None):
        seen.append((Path(path), data))
        return real(path, data=data)

    monkeypatch.setattr(preprocess, "load_preprocessor", spy)
    folder = trained_run / "fusion" / "pipeline"
    pipeline = fusion.load_pipeline(folder, manifest_sha256=io.sha256_file(folder / io.MANIFEST))
    recorded = json.loads((folder / io.MANIFEST).read_text())[io.FILE_HASHES]["preprocessor.skops"]
    ((path, data),) = seen
    assert path == folder / "preprocessor.skops" and io.sha256_bytes(data) == recorded
    assert pipeline.feature_columns == list(pipeline.preprocessor.feature_names_in_)


def test_a_preprocessor_holding_a_foreign_type_is_refused_even_with_its_record_rewritten(trained_run, tmp_path):
    folder = Path(shutil.copytree(trained_run / "fusion" / "pipeline", tmp_path / "pipeline"))
    preprocessor = preprocess.load_preprocessor(folder / "preprocessor.skops")
    from sklearn.preprocessing import FunctionTransformer

    preprocessor.transformers_[0][1].steps.append(("dump", FunctionTransformer(json.dumps)))  # code of another
    io.dump_skops(preprocessor, folder / "preprocessor.skops")
    sha = rerecorded(folder, "preprocessor.skops")
    with pytest.raises(ValueError, match=r"preprocessor\.skops: refusing to load types .*json\.dumps"):
        fusion.load_pipeline(folder, manifest_sha256=sha)


def test_a_skops_file_of_a_detector_changed_is_refused(split, tmp_path):
    X, y = split
    forest = anomaly.fit_isolation_forest(
        X["train"], y["train"], X["val"], y["val"], target_fpr=0.05, seed=0, n_estimators=5
    )
    folder = detector_folder(forest, tmp_path / "detector")
    other = anomaly.fit_isolation_forest(
        X["train"], y["train"], X["val"], y["val"], target_fpr=0.05, seed=1, n_estimators=5
    )
    io.dump_skops(other.scorer.forest, folder / "isolation_forest.skops")  # another valid forest
    with pytest.raises(io.ModelFileError, match=rf"^{folder / 'isolation_forest.skops'}: its bytes .*{FIX}"):
        anomaly.load_detector(folder)  # caught by the manifest's record, even without the run's


def test_a_corrupt_file_whose_record_was_rewritten_is_an_error_naming_it(trained_run, tmp_path):
    folder = Path(shutil.copytree(trained_run / "fusion" / "pipeline", tmp_path / "pipeline"))
    (folder / "meta_xgboost.ubj").write_bytes(b"{not ubjson")
    sha = rerecorded(folder, "meta_xgboost.ubj")
    with pytest.raises(io.ModelFileError, match=rf"^{folder / 'meta_xgboost.ubj'}: XGBoost can not read it \("):
        fusion.load_pipeline(folder, manifest_sha256=sha)
    folder = Path(shutil.copytree(trained_run / "anomaly" / "detector", tmp_path / "detector"))
    (folder / "reference.npy").write_bytes(b"\x93NUMPY cut")
    sha = rerecorded(folder, "reference.npy")
    with pytest.raises(io.ModelFileError, match=rf"^{folder / 'reference.npy'}: not readable as a NumPy .npy file"):
        anomaly.load_detector(folder, manifest_sha256=sha)


# ------------------------------------------------------------------------------------------- folders without records
@pytest.mark.parametrize(("stage", "name"), [("fusion", "pipeline"), ("anomaly", "detector")])
def test_a_folder_saved_before_files_were_hashed_is_refused_with_the_fix(trained_run, tmp_path, stage, name):
    folder = Path(shutil.copytree(trained_run / stage / name, tmp_path / name))
    edit_json(folder / io.MANIFEST, lambda m: m.pop(io.FILE_HASHES))  # as earlier versions wrote it
    load = fusion.load_pipeline if stage == "fusion" else anomaly.load_detector
    notebook = "04_decision_fusion" if stage == "fusion" else "05_anomaly_detection"
    with pytest.raises(io.ModelFileError, match=rf"records no sha256 of the folder's files .*Fix: retrain.*{notebook}"):
        load(folder, manifest_sha256=io.sha256_file(folder / io.MANIFEST))


def test_a_file_the_manifest_has_no_record_of_is_refused(trained_run, tmp_path):
    folder = Path(shutil.copytree(trained_run / "anomaly" / "detector", tmp_path / "detector"))
    edit_json(folder / io.MANIFEST, lambda m: m[io.FILE_HASHES].pop("reference.npy"))
    with pytest.raises(io.ModelFileError, match=rf"^{folder / 'reference.npy'}: .* records no sha256 for it"):
        anomaly.load_detector(folder)


def test_a_model_folder_writer_records_plain_files_only(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"x")
    assert io.file_hashes(tmp_path) == {"a.npy": io.sha256_bytes(b"x")}
    (tmp_path / "sub").mkdir()
    with pytest.raises(ValueError, match="a model folder holds plain files only"):
        io.file_hashes(tmp_path)
