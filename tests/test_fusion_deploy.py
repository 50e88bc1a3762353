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
        logits = (np.asarray(X, dtype=np.float64) - 0.5) @ weights  # rows are uniform on [0, 1): centred
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


@pytest.mark.parametrize("kind", deploy.KINDS)
def test_a_deployment_pipeline_is_saved_and_loaded_with_its_one_student(tmp_path, kind):
    from lib import preprocess
    from lib.fusion import FusionPipeline, describe_saved, load_pipeline, save_pipeline

    frame = pd.DataFrame(rows(200, 5), columns=[f"f{i}" for i in range(10)])
    pre = preprocess.build_preprocessor(list(frame.columns), []).fit_rows(frame, np.arange(len(frame)))
    X = pre.transform(frame)
    distilled = deploy.distil(teacher(), X[:150], X[150:], seed=1, config={"epochs": 2, "kinds": (kind,)})
    assert distilled.kind == kind and list(distilled.tried) == [kind]
    pipeline = FusionPipeline(pre, distilled, ["Benign", "A", "B"], manifest={"seed": 1})
    assert pipeline.use_runtime("auto", X) == [] and pipeline.runtime == "predict"
    folder = save_pipeline(pipeline, tmp_path / "pipeline")
    student_file = deploy.STUDENT_FILES[kind]
    assert sorted(p.name for p in folder.iterdir()) == sorted(["manifest.json", "preprocessor.skops", student_file])
    back = load_pipeline(folder)
    assert back.manifest["variant"] == "deploy" and back.manifest["contender"] == deploy.CONTENDER
    assert back.manifest["student"] == back.model.kind == kind
    np.testing.assert_array_equal(back.score(frame), pipeline.score(frame))
    assert describe_saved(back.model) == describe_saved(distilled)
    assert ("boosted trees" in describe_saved(back.model)) == (kind == "trees")


def threshold_teacher(X: np.ndarray) -> np.ndarray:
    """Three classes cut by two thresholds on two features, nearly sure of each: what a tree fusion gives."""
    X = np.asarray(X, dtype=np.float64)
    cls = np.where(X[:, 0] < 0.02, 2, (X[:, 1] > 0.6).astype(int))
    proba = np.full((len(X), 3), 0.01)
    proba[np.arange(len(X)), cls] = 0.98
    return proba


def test_the_tree_student_learns_cuts_from_the_teachers_probabilities():
    full = SimpleNamespace(predict_proba=threshold_teacher)
    X_train, X_val, X_test = rows(4000, 1) ** 3, rows(800, 2) ** 3, rows(2000, 3) ** 3  # most values near zero
    trees = deploy.distil(full, X_train, X_val, seed=5, config={"kinds": ("trees",)})
    ours = trees.predict_proba(X_test)
    assert ours.shape == (2000, 3) and ours.dtype == np.float64
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, atol=1e-5)
    assert deploy.agreement(ours, threshold_teacher(X_test)) >= 0.99
    rounds = trees.network.num_boosted_rounds()
    assert rounds == len(trees.history["val_loss"]) <= deploy.TREE_STUDENT["rounds"]  # later rounds dropped
    assert trees.predict_proba(X_test[:0]).shape == (0, 3)


def test_distil_keeps_the_student_closer_to_the_teacher_on_the_validation_rows():
    full = SimpleNamespace(predict_proba=threshold_teacher)
    X_train, X_val = rows(3000, 1) ** 3, rows(600, 2) ** 3
    kept = deploy.distil(full, X_train, X_val, seed=5, config={"epochs": 3})
    assert set(kept.tried) == set(deploy.KINDS) and kept.kind == min(kept.tried, key=kept.tried.get)
    assert kept.tried[kept.kind] == pytest.approx(
        deploy.cross_entropy(threshold_teacher(X_val), kept.predict_proba(X_val))
    )
    with pytest.raises(ValueError, match="students must be some of mlp, trees"):
        deploy.distil(full, X_train, X_val, seed=5, config={"kinds": ("forest",)})


def test_soft_rows_enter_once_per_likely_class_weighted_by_its_probability():
    soft = np.array([[0.7, 0.3, 0.0], [0.0005, 0.0005, 0.999], [0.4, 0.3, 0.3]], dtype=np.float32)
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    matrix = deploy._soft_rows(X, soft, 1e-3)
    assert list(matrix.get_label()) == [0, 1, 2, 0, 1, 2]
    np.testing.assert_allclose(matrix.get_weight(), [0.7, 0.3, 0.999, 0.4, 0.3, 0.3], rtol=1e-6)
    assert matrix.num_row() == 6
    assert deploy.cross_entropy(soft[:1], np.array([[0.5, 0.5, 0.0]])) == pytest.approx(np.log(2))


def test_a_student_file_that_is_not_one_is_refused_naming_it(tmp_path):
    from lib import io

    with pytest.raises(io.ModelFileError, match="student.ubj: XGBoost can not read it"):
        deploy.load_student(tmp_path / "student.ubj", b"not a model", 3)


def fused_runs(seeds=(1, 2)):
    """Notebook 04's results for ``seeds`` as :func:`lib.fusion.evaluate_seeds` leaves them, the fusion of each seed
    a fixed teacher (its test and validation probabilities kept), and prepared rows it labels itself."""
    from lib import metrics
    from lib.fusion.study import FusionRuns

    full = teacher(n_classes=2)
    full.contender = "fusion_xgboost"
    X = {split: rows(n, seed) for split, n, seed in (("train", 1500, 1), ("val", 400, 2), ("test", 600, 3))}
    y = {split: full.predict_proba(X[split]).argmax(axis=1) for split in X}
    y["test"][:30] = 1 - y["test"][:30]  # the fusion is wrong on a few test rows
    data = SimpleNamespace(
        **{f"X_{s}": X[s] for s in X}, **{f"y_{s}": y[s] for s in y}, class_names=["Benign", "Attack"]
    )
    results = metrics.Results()
    for seed in seeds:
        for split in ("test", "val"):
            results.predictions[full.contender, seed, split] = full.predict_proba(X[split])
        result = metrics.evaluate(y["test"], full.predict_proba(X["test"]), data.class_names)
        results.add(full.contender, seed, result, n_test=len(y["test"]), val_f1=1.0, val_f1_macro=1.0)
    fits = {seed: SimpleNamespace(pipeline_model=lambda choice: full) for seed in seeds}
    return FusionRuns(results, pd.DataFrame(), pd.DataFrame(), fits), data, full


def test_every_seed_gets_a_variant_scored_beside_the_fusion_it_was_distilled_from():
    from lib import fusion

    fused, data, full = fused_runs()
    table = fusion.distil_seeds(fused, data, "auto", config={"epochs": 30, "kinds": ("mlp",)})
    assert list(table["seed"]) == [1, 2] and set(table["distilled_from"]) == {"fusion_xgboost"}
    for row in table.itertuples():  # the agreement is that of the probabilities kept for the run folder
        ours = fused.results.predictions[deploy.CONTENDER, row.seed, "test"]
        assert row.agreement == deploy.agreement(ours, full.predict_proba(data.X_test)) >= 0.9
        assert 0 < row.epochs <= 30 and fused.results.histories[deploy.CONTENDER, row.seed]["val_loss"]
        assert row.student == "mlp" and row.val_cross_entropy_mlp > 0
    assert fused.results.tables["deploy"] is table
    scores = fused.scores.set_index(["model", "seed"])
    assert scores.loc[(deploy.CONTENDER, 2), "f1_macro"] < 1.0  # scored against the labels, not the teacher
    compared = fused.deploy_comparisons()
    assert [(d["model"], d["reference"]) for d in compared] == [(deploy.CONTENDER, "fusion_xgboost")]
    assert compared[0]["mean"] == pytest.approx(
        scores.loc[deploy.CONTENDER, "f1_macro"].mean() - scores.loc["fusion_xgboost", "f1_macro"].mean()
    )
    side_by_side = fusion.deploy_table(fused, data)
    assert list(side_by_side["model"]) == ["Fusion (XGBoost meta)", "Fusion, deployment variant (distilled)"]
    assert side_by_side["agreement"].iloc[1] == pytest.approx(table["agreement"].mean())
    assert side_by_side["detection @ 1 % FPR"].between(0, 1).all()
    assert fused.saved_model("deploy", "auto", 2) is fused.students[2]
    assert fused.saved_model("full", "auto", 2) is full


def test_the_deployment_variant_is_chosen_by_name_and_only_after_distilling():
    from lib.fusion import check_runs

    fused, _, _ = fused_runs(seeds=(1,))
    with pytest.raises(ValueError, match="distil it first"):
        fused.saved_model("deploy", "auto", 1)
    with pytest.raises(ValueError, match="distil it first"):
        fused.deploy_comparisons()
    deep = SimpleNamespace(models={"mlp": None}, seeds=[1], info={"configs": {"mlp": {}}})
    base = SimpleNamespace(models={"random_forest": None, "xgboost": None}, seeds=[1])
    with pytest.raises(ValueError, match="PIPELINE must be one of full, deploy"):
        check_runs(deep, base, names=["mlp"], inputs="proba", seed=1, pipeline_meta="auto", pipeline="fast")


def test_the_students_log_scale_is_an_increasing_map_of_the_unit_interval_onto_itself_keeping_signs():
    x = np.array([[-0.5, -1e-5, 0.0, 1e-5, 1e-3, 0.5, 1.0, 2.0]], dtype=np.float32)
    y = np.asarray(deploy.LogScale()(x))[0]
    assert y[2] == 0.0 and y[6] == pytest.approx(1.0) and np.all(np.diff(y) > 0)
    assert np.all(np.sign(y) == np.sign(x[0]))
    assert y[3] > 100 * x[0, 3]  # the smallest positive values are spread out, not left beside zero
    again = deploy.LogScale.from_config(deploy.LogScale(stretch=10.0).get_config())
    assert again.stretch == 10.0
