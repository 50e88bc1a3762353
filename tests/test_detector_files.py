"""The anomaly branch saved for ``iot-botnet score`` (lib.anomaly.save_detector / load_detector): every detector
notebook 05 can choose reads back without pickle and scores exactly as it did; a tampered folder is refused."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from sklearn.preprocessing import FunctionTransformer

from lib import anomaly, io


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


def saved(detector, manifest, arrays, folder):
    """The folder as a stage writes it: :func:`lib.anomaly.save_detector` into a fresh folder put in place at once."""
    return io.atomic_folder(folder, functools.partial(anomaly.save_detector, detector, manifest, arrays))


def test_every_detector_type_has_its_files():
    assert sorted(anomaly.DETECTOR_FILES) == sorted(anomaly.DETECTORS)


@pytest.mark.parametrize("name", sorted(anomaly.DETECTOR_FILES))
def test_every_detector_reads_back_and_scores_the_same(name, split, tmp_path):
    X, y = split
    detector = fitted(name, X, y)
    arrays = {"fusion_benign_val": np.sort(X["val"][:, 0]), "anomaly_benign_val": np.sort(detector.score(X["val"]))}
    folder = saved(detector, {"target_fpr": 0.05}, arrays, tmp_path / "detector")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*anomaly.DETECTOR_FILES[name], "arrays.npz", "manifest.json"]
    )
    manifest, back, stored = anomaly.load_detector(folder)
    assert manifest["detector"] == name and back.threshold == detector.threshold and back.config == detector.config
    assert type(back.scorer) is type(detector.scorer) and back.n_fit_rows == detector.n_fit_rows
    np.testing.assert_allclose(back.score(X["test"]), detector.score(X["test"]), rtol=1e-6)
    np.testing.assert_array_equal(stored["anomaly_benign_val"], arrays["anomaly_benign_val"])
    assert not any(path.suffix in (".pkl", ".pickle", ".joblib") for path in folder.iterdir())


def test_the_knn_saves_its_own_reference_rows(split, tmp_path):
    X, y = split
    detector = fitted("knn", X, y)
    folder = saved(detector, {}, {"a": np.zeros(2)}, tmp_path / "detector")
    reference = np.load(folder / "reference.npy", allow_pickle=False)
    np.testing.assert_array_equal(reference, X["train"][y["train"] == 0])
    assert reference.dtype == np.float32


def test_kitnet_round_trips_its_arrays():
    rng = np.random.default_rng(1)
    arrays = {key: rng.normal(size=3) for key in anomaly.KitNET.ARRAYS}
    kitnet = anomaly.KitNET.from_arrays([[0, 1], [2]], arrays, ensemble=None, output=None)
    back = kitnet.to_arrays()
    assert sorted(back) == sorted(arrays) and all(np.array_equal(back[key], arrays[key]) for key in arrays)
    with pytest.raises(ValueError, match=r"KitNET arrays \['span'\] missing"):
        anomaly.KitNET.from_arrays([[0]], {k: v for k, v in arrays.items() if k != "span"}, None, None)


def test_a_tampered_detector_folder_is_refused(split, tmp_path):
    X, y = split
    folder = saved(fitted("knn", X, y), {}, {"a": np.zeros(2)}, tmp_path / "detector")
    (folder / "reference.npy").unlink()
    with pytest.raises(ValueError, match="no such file in the folder.*05_anomaly_detection"):
        anomaly.load_detector(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest | {"detector": "pickled_forest"}))
    with pytest.raises(ValueError, match="this code reads format"):
        anomaly.load_detector(folder)
    (folder / "manifest.json").write_text(json.dumps(["not", "a", "manifest"]))
    with pytest.raises(ValueError, match="this code reads format"):
        anomaly.load_detector(folder)


def test_a_crafted_kitnet_manifest_and_a_foreign_forest_are_refused(split, tmp_path):
    X, y = split
    kitnet = saved(fitted("kitnet", X, y), {}, {"a": np.zeros(2)}, tmp_path / "kitnet")
    manifest = json.loads((kitnet / "manifest.json").read_text())
    (kitnet / "manifest.json").write_text(json.dumps(manifest | {"groups": [["../x"]]}))
    with pytest.raises(ValueError, match="'groups' must be lists of column numbers"):
        anomaly.load_detector(kitnet)
    forest = saved(fitted("isolation_forest", X, y), {}, {"a": np.zeros(2)}, tmp_path / "forest")
    # a skops file that would call a function no forest holds
    io.dump_skops(FunctionTransformer(json.dumps), forest / "isolation_forest.skops")
    with pytest.raises(ValueError, match=r"refusing to load types .*json\.dumps"):
        anomaly.load_detector(forest)


def test_a_detector_without_its_own_scorer_class_is_not_saved(tmp_path):
    class Column:
        def score(self, X):
            return np.asarray(X)[:, 0]

    tmp_path.joinpath("detector").mkdir()
    with pytest.raises(ValueError, match="cannot save a detector 'knn' scored by Column"):
        anomaly.save_detector(anomaly.Detector("knn", Column()), {}, {}, tmp_path / "detector")
