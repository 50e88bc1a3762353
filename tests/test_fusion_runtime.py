"""Every network of a fusion in one call: the deep outputs of each runtime equal the networks' own ``predict``."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lib import models
from lib.fusion import runtime


def folds(n_classes: int, names: tuple[str, ...], k: int = 2, n_features: int = 12) -> list[dict]:
    """``k`` folds of small untrained networks (weights seeded per fold), as a fusion's fold models are."""
    out = []
    for fold in range(k):
        models._seed(100 + fold)
        out.append(
            {name: models.build(name, n_features, n_classes, filters=8, lstm_units=8, dense_units=8) for name in names}
        )
    return out


@pytest.mark.parametrize("runtime_name", runtime.RUNTIMES)
@pytest.mark.parametrize(
    ("n_classes", "inputs", "names"),
    [
        (2, "proba", ("cnn_only", "cnn_lstm")),
        (4, "both", ("cnn_lstm", "mlp")),
        (3, "embedding", ("cnn_only", "cnn_lstm")),
        (2, "both", ("lstm_only", "cnn_lstm", "mlp")),
    ],
)
def test_side_by_side_gives_each_folds_deep_outputs(runtime_name, n_classes, inputs, names):
    fold_models = folds(n_classes, names)
    rng = np.random.default_rng(0)
    scorer = runtime.SideBySide(fold_models, inputs, runtime_name)
    sizes = (63, 4096 + 5) if runtime_name in runtime.COMPILED else (1, 63, 700, 4096 + 5)  # an XLA size: a compile
    for n in sizes:  # cut into pieces of the batch sizes, the last padded
        X = rng.random((n, 12), dtype=np.float32)
        ours, reference = scorer.fold_outputs(X), runtime.reference_outputs(fold_models, X, inputs)
        assert [a.shape for a in ours] == [b.shape for b in reference]
        assert all(a.dtype == np.float32 for a in ours)
        assert runtime.max_difference(ours, reference) <= runtime.TOLERANCE


@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 700, 4095, 4096, 4096 * 3 + 1300])
def test_a_batch_is_cut_into_pieces_of_the_traced_sizes_padding_only_the_last_under_the_smallest(n):
    cut = runtime.pieces(n)
    assert sum(rows for _, rows, _ in cut) == n
    assert [start for start, _, _ in cut] == list(np.cumsum([0] + [rows for _, rows, _ in cut])[:-1])
    assert all(size in runtime.BATCH_SIZES for _, _, size in cut)
    assert all(rows == size for _, rows, size in cut[:-1])  # every piece but the last runs unpadded
    assert sum(size - rows for _, rows, size in cut) < runtime.BATCH_SIZES[0]
    assert [size for _, _, size in cut] == sorted((size for _, _, size in cut), reverse=True)


def test_the_chosen_runtime_is_the_fastest_within_tolerance(monkeypatch):
    fold_models = folds(2, ("cnn_only", "mlp"))
    X = np.random.default_rng(1).random((256, 12), dtype=np.float32)
    scorer, records = runtime.choose_runtime(fold_models, X, "proba", repeats=1)
    assert [r["runtime"] for r in records] == ["predict, one network at a time", *runtime.RUNTIMES]
    assert sum(r["chosen"] for r in records) == 1
    chosen = next(r for r in records if r["chosen"])
    assert chosen["rows_per_s"] == max(r["rows_per_s"] for r in records if r["within_tolerance"])
    assert (scorer is None) == (chosen["runtime"] == records[0]["runtime"])
    # nor one whose final scores differ: a final step that magnifies any difference keeps exact runtimes only
    magnified = lambda outputs: np.concatenate(outputs, axis=1).sum(axis=1) * 1e9  # noqa: E731
    scorer, records = runtime.choose_runtime(fold_models, X, "proba", repeats=1, final=magnified)
    for r in records:
        assert r["within_tolerance"] is (
            r["max_difference"] <= runtime.TOLERANCE and r["score_max_difference"] <= runtime.TOLERANCE
        )
    assert next(r for r in records if r["chosen"])["score_max_difference"] <= runtime.TOLERANCE
    # a runtime whose outputs differ is never chosen, however fast
    monkeypatch.setattr(runtime, "TOLERANCE", -1.0)
    scorer, records = runtime.choose_runtime(fold_models, X, "proba", repeats=1)
    assert scorer is None and records[0]["chosen"]


@pytest.mark.parametrize(("name", "kernel_size", "pool_size"), [("cnn_lstm", 4, 2), ("cnn_only", 2, 3)])
def test_stacked_copies_compute_what_keras_computes_on_odd_lengths_and_even_kernels(name, kernel_size, pool_size):
    import tensorflow as tf

    from lib.fusion.stacked import StackedNetworks

    copies = []
    for fold in range(3):
        models._seed(200 + fold)
        copies.append(models.build(name, 13, 3, filters=4, kernel_size=kernel_size, pool_size=pool_size,
                                   lstm_units=5, dense_units=6))  # fmt: skip
    X = models.as_sequence(np.random.default_rng(5).random((37, 13), dtype=np.float32))
    outputs, embedding = StackedNetworks(copies, "fully_connected")(tf.constant(X))
    for k, copy in enumerate(copies):
        np.testing.assert_allclose(outputs[k].numpy(), copy.predict_on_batch(X), atol=1e-6)
        middle = keras.Model(copy.inputs, copy.get_layer("fully_connected").output).predict_on_batch(X)
        np.testing.assert_allclose(embedding[k].numpy(), middle, atol=1e-6)
    empty, _ = StackedNetworks(copies)(tf.zeros((0, 13, 1)))
    assert tuple(empty.shape) == (3, 0, 3)


def test_copies_that_differ_or_compute_in_another_precision_are_not_stacked():
    from lib.fusion.stacked import NotStackable, StackedNetworks

    wide, narrow = (models.build("mlp", 12, 2, mlp_units=units) for units in (16, 8))
    with pytest.raises(NotStackable, match="layer hidden of mlp is not the same"):
        StackedNetworks([wide, narrow])
    half = [models.build("mlp", 12, 2, precision="mixed_bfloat16") for _ in range(2)]
    with pytest.raises(NotStackable, match="computes in bfloat16"):
        StackedNetworks(half)
    with pytest.raises(NotStackable, match="has no layer 'fully_connected_2'"):
        StackedNetworks([wide], "fully_connected_2")
    X = np.random.default_rng(3).random((64, 12), dtype=np.float32)
    _, records = runtime.choose_runtime([{"mlp": network} for network in half], X, "proba", repeats=1)
    stacked = [r for r in records if r["runtime"].startswith("stacked")]
    assert stacked and all("bfloat16" in r["unavailable"] and not r["chosen"] for r in stacked)


def test_a_runtime_that_fails_here_is_left_out_and_the_scorer_names_every_runtime(monkeypatch):
    from lib.score.model import RUNTIME_CHOICES

    assert RUNTIME_CHOICES == ("auto", "predict", *runtime.RUNTIMES)
    fold_models = folds(2, ("mlp",))
    X = np.random.default_rng(4).random((64, 12), dtype=np.float32)
    real = runtime.SideBySide

    def refusing(fold_models, inputs, name="tensorflow"):
        if name == "xla":
            raise RuntimeError("XLA cannot compile an operation here\nsecond line")
        return real(fold_models, inputs, name)

    monkeypatch.setattr(runtime, "SideBySide", refusing)
    _, records = runtime.choose_runtime(fold_models, X, "proba", repeats=1)
    xla = next(r for r in records if r["runtime"] == "xla")
    assert xla["unavailable"] == "RuntimeError: XLA cannot compile an operation here" and not xla["chosen"]
    assert sum(r["chosen"] for r in records) == 1


def test_a_runtime_must_be_known_and_rows_must_fit():
    fold_models = folds(2, ("mlp",), k=1)
    with pytest.raises(ValueError, match="runtime must be one of"):
        runtime.SideBySide(fold_models, "proba", "onnx-someday")
    with pytest.raises(ValueError, match="rows of 5 features"):
        runtime.SideBySide(fold_models, "proba").fold_outputs(np.zeros((3, 5), np.float32))


@pytest.mark.parametrize("name", ["auto", "predict", *runtime.RUNTIMES])
def test_a_pipeline_scores_the_same_whatever_runs_its_networks(name):
    from types import SimpleNamespace

    from lib import baselines
    from lib.fusion import FusionPipeline
    from lib.fusion.stacking import FusionModel, meta_features

    fold_models = folds(3, ("cnn_only", "mlp"))
    rng = np.random.default_rng(2)
    X = rng.random((300, 12), dtype=np.float32)
    y = rng.integers(0, 3, len(X))
    outputs = runtime.reference_outputs(fold_models, X, "proba")
    meta = baselines.fit(baselines.build("random_forest", 0, n_estimators=5), meta_features(outputs[0], X, True), y)
    model = FusionModel(fold_models, meta, "random_forest", "proba", 3, with_features=True)
    preprocessor = SimpleNamespace(feature_names_in_=[f"f{i}" for i in range(12)])
    pipeline = FusionPipeline(preprocessor, model, ["Benign", "A", "B"])
    expected = pipeline.score_features(X)
    assert pipeline.runtime == "predict"
    measured = pipeline.use_runtime(name, X if name == "auto" else None)
    assert (len(measured) == 1 + len(runtime.RUNTIMES)) is (name == "auto")
    assert pipeline.runtime == (next(r["runtime"] for r in measured if r["chosen"]) if measured else name).replace(
        "predict, one network at a time", "predict"
    )
    np.testing.assert_allclose(pipeline.score_features(X), expected, atol=1e-5)
    chosen = next((r for r in measured if r["chosen"]), {})
    if name == "auto":  # the final scores compared for every runtime, and the chosen one's within tolerance
        assert all("score_max_difference" in r for r in measured if not r.get("unavailable"))
        assert chosen["score_max_difference"] <= runtime.TOLERANCE
    with pytest.raises(ValueError, match="runtime must be auto, predict or one of"):
        pipeline.use_runtime("fast")


def test_a_pipeline_that_cannot_be_stacked_says_which_runtime_to_use():
    from types import SimpleNamespace

    from lib.fusion import FusionPipeline

    half = [{"mlp": models.build("mlp", 12, 2, precision="mixed_bfloat16")} for _ in range(2)]
    model = SimpleNamespace(fold_models=half, inputs="proba")
    pipeline = FusionPipeline(SimpleNamespace(feature_names_in_=[f"f{i}" for i in range(12)]), model, ["B", "A"])
    with pytest.raises(
        ValueError, match=r"runtime 'stacked': .*bfloat16.*Fix: use runtime auto, predict or tensorflow"
    ):
        pipeline.use_runtime("stacked")
    assert pipeline.runtime == "predict"
