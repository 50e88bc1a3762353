"""The anomaly branch saved for ``iot-botnet score`` (lib.run.save_detector / load_detector): every detector
notebook 05 can choose reads back without pickle and scores exactly as it did; a tampered folder is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lib import anomaly, run


@pytest.fixture(scope="module")
def split():
    rng = np.random.default_rng(0)
    X = {s: rng.normal(size=(n, 12)).astype(np.float32) for s, n in (("train", 400), ("val", 200), ("test", 100))}
    y = {s: (rng.random(len(X[s])) < 0.2).astype(np.int64) for s in X}
    return X, y


def fitted(name: str, X, y) -> anomaly.Detector:
    common = {"target_fpr": 0.05, "seed": 0}
    args = (X["train"], y["train"], X["val"], y["val"])
    if name == "knn":
        return anomaly.fit_knn(*args, **common, k=3)
    if name == "isolation_forest":
        return anomaly.fit_isolation_forest(*args, **common, n_estimators=10)
    keras_training = {"epochs": 1, "batch_size": 64}
    if name == "autoencoder":
        return anomaly.fit_autoencoder(*args, **common, **keras_training, code_units=4)
    return anomaly.fit_kitnet(*args, **common, **keras_training, max_group_size=5)


@pytest.mark.parametrize("name", sorted(run.DETECTOR_FILES))
def test_every_detector_reads_back_and_scores_the_same(name, split, tmp_path):
    X, y = split
    detector = fitted(name, X, y)
    arrays = {"fusion_benign_val": np.sort(X["val"][:, 0]), "anomaly_benign_val": np.sort(detector.score(X["val"]))}
    run.save_detector(detector, {"target_fpr": 0.05}, arrays, tmp_path / "detector")
    manifest, back, stored = run.load_detector(tmp_path / "detector")
    assert manifest["detector"] == name and back.threshold == detector.threshold and back.config == detector.config
    np.testing.assert_allclose(back.score(X["test"]), detector.score(X["test"]), rtol=1e-6)
    np.testing.assert_array_equal(stored["anomaly_benign_val"], arrays["anomaly_benign_val"])
    assert not any(path.suffix in (".pkl", ".pickle", ".joblib") for path in (tmp_path / "detector").iterdir())


def test_a_tampered_detector_folder_is_refused(split, tmp_path):
    X, y = split
    folder = run.save_detector(fitted("knn", X, y), {}, {"a": np.zeros(2)}, tmp_path / "detector")
    (folder / "reference.npy").unlink()
    with pytest.raises(ValueError, match="no such file in the folder.*05_anomaly_detection"):
        run.load_detector(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest | {"detector": "pickled_forest"}))
    with pytest.raises(ValueError, match="this code reads format"):
        run.load_detector(folder)
