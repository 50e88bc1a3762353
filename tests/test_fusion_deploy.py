"""The deployment variant: a small network distilled from a teacher's class probabilities, never from labels."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lib.fusion import deploy


def teacher(n_classes: int = 3, n_features: int = 10, seed: int = 0):
    """A fixed softmax of a linear map: the class probabilities a fused pipeline would give."""
    weights = np.random.default_rng(seed).normal(0, 3, (n_features, n_classes))

    def predict_proba(X: np.ndarray) -> np.ndarray:
        logits = np.asarray(X, dtype=np.float64) @ weights
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return SimpleNamespace(predict_proba=predict_proba)


def rows(n: int, seed: int, n_features: int = 10) -> np.ndarray:
    return np.random.default_rng(seed).random((n, n_features), dtype=np.float32)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_student_learns_the_teachers_decisions_from_its_probabilities_alone(n_classes):
    full = teacher(n_classes)
    distilled = deploy.distil(full, rows(3000, 1), rows(500, 2), seed=7, config={"epochs": 40})
    X_test = rows(1000, 3)
    ours, theirs = distilled.predict_proba(X_test), full.predict_proba(X_test)
    assert ours.shape == theirs.shape and ours.dtype == np.float64
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, atol=1e-5)
    assert deploy.agreement(ours, theirs) >= 0.9  # rows it never saw
    assert distilled.history["val_loss"] and min(distilled.history["val_loss"]) < distilled.history["val_loss"][0]


def test_distillation_is_seeded():
    full = teacher()
    a = deploy.distil(full, rows(400, 1), rows(100, 2), seed=3, config={"epochs": 3})
    b = deploy.distil(full, rows(400, 1), rows(100, 2), seed=3, config={"epochs": 3})
    X = rows(50, 4)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_agreement_counts_the_same_likeliest_class():
    ours = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]])
    theirs = np.array([[0.6, 0.4], [0.7, 0.3], [0.5, 0.5]])
    assert deploy.agreement(ours, theirs) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="shapes"):
        deploy.agreement(ours, theirs[:, :1])


def test_a_deployment_pipeline_is_saved_and_loaded_with_its_one_network(tmp_path):
    from lib import preprocess
    from lib.fusion import FusionPipeline, load_pipeline, save_pipeline

    frame = pd.DataFrame(rows(200, 5), columns=[f"f{i}" for i in range(10)])
    pre = preprocess.build_preprocessor(list(frame.columns), []).fit_rows(frame, np.arange(len(frame)))
    X = pre.transform(frame)
    distilled = deploy.distil(teacher(), X[:150], X[150:], seed=1, config={"epochs": 2})
    pipeline = FusionPipeline(pre, distilled, ["Benign", "A", "B"], manifest={"seed": 1})
    assert pipeline.use_runtime("auto", X) == [] and pipeline.runtime == "predict"
    folder = save_pipeline(pipeline, tmp_path / "pipeline")
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "preprocessor.skops", "student.keras"]
    back = load_pipeline(folder)
    assert back.manifest["variant"] == "deploy" and back.manifest["contender"] == deploy.CONTENDER
    np.testing.assert_array_equal(back.score(frame), pipeline.score(frame))
