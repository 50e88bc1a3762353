"""Roofline: FLOPs per flow of each deep model, the machine's measured matmul peak, and the fraction achieved.

"Roofline, not guesswork, for speed": instead of guessing why a model runs at N flows/s, count the work it
does per flow and compare the rate it achieves with what this machine's matrix units deliver in the same run.

1. **FLOPs per flow** of the forward pass, counted from the built Keras model's layers by
   :func:`forward_flops` (formulas in its docstring). Training FLOPs per flow per epoch are taken as
   **3x the forward pass** (forward + backward, the backward pass costing about twice the forward: the usual
   convention; optimizer updates are per batch, not per flow, and left out).
2. **Peak**: a TensorFlow ``2048 x 2048`` matmul (``tf.function``, one warm-up call excluded, median of
   repeats), GFLOP/s = ``2 n^3 / s``, in float32 and in bfloat16. This is the compute ceiling only: no memory
   bandwidth is measured, so the "roof" here is flat, and a small model that is bound by memory or by
   per-op overhead shows as a low fraction of it.
3. **Achieved**: training flows/s (``models.train``, i.e. ``model.fit``, with and without ``jit_compile=True``:
   the training step compiled by XLA, notebook 03's ``JIT_COMPILE``, on synthetic float32 rows shaped like
   the CICIDS2017 sample: 70 features, 6 classes; time of the training batches of each epoch, median of
   the epochs after the first) and inference flows/s with ``models.predict_proba`` (``model.predict``) and
   with a ``tf.function(jit_compile=True)`` (XLA) call over batches of 8192, for ``float32`` and
   ``mixed_bfloat16``. Fraction = FLOPs per flow x flows/s / peak (the float32 peak for float32 models,
   the bfloat16 peak for mixed_bfloat16). The XLA path's probabilities are compared with ``model.predict``'s.
4. **The real scoring pipeline** (``--run-dir RUN``): ``fusion.load_pipeline(RunDir(RUN).open("fusion").file("pipeline"))``,
   timed on ``FusionPipeline.score_features`` of the run's prepared test rows (the public method that scores
   preprocessed rows). Its FLOPs per flow are those of every fold's deep models (plus the CNN-LSTM embedding
   pass when the fusion reads it); the meta-classifier's cost is not counted. No run folder, or one without a
   usable fusion stage: the row is skipped and the reason printed.
5. **Cheaper hybrids**: CNN-LSTM with 64/32/16 filters and MaxPool 2/4 (a larger pool gives the LSTM a
   shorter sequence): parameters, FLOPs per flow, inference flows/s, and with ``--run-dir`` the macro-F1 on
   the run's validation rows after ``--epochs`` epochs on its training rows.
6. **ONNX Runtime**: measured only if ``onnxruntime`` and ``tf2onnx`` are already installed.

Usage: ``python benchmarks/bench_roofline.py [--tiny | --quick | --full] [--run-dir runs/iot23]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DEEP_MODELS = ("cnn_only", "lstm_only", "cnn_lstm", "mlp")
PRECISIONS = ("float32", "mixed_bfloat16")
N_FEATURES, N_CLASSES = 70, 6  # the CICIDS2017 sample: 70 features after preparation, 6 classes
XLA_BATCH = 8192
MATMUL_N = 2048
LSTM_ELEMENTWISE_PER_UNIT = 10  # gate activations, products and sums per unit per step (an estimate)
VARIANT_FILTERS = (64, 32, 16)
VARIANT_POOLS = (2, 4)
#: size -> training rows, training epochs, inference rows, repeats, matmul repeats, rows/epochs for the F1 runs
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"train_rows": 512, "train_epochs": 2, "infer_rows": 4096, "repeats": 2, "matmul_repeats": 3,
             "f1_train_rows": 1000, "f1_epochs": 1},
    "quick": {"train_rows": 4000, "train_epochs": 3, "infer_rows": 30_000, "repeats": 3, "matmul_repeats": 5,
              "f1_train_rows": 0, "f1_epochs": 3},
    "full": {"train_rows": 13_500, "train_epochs": 4, "infer_rows": 100_000, "repeats": 3, "matmul_repeats": 7,
             "f1_train_rows": 0, "f1_epochs": 5},
}  # fmt: skip


# ------------------------------------------------------------------------------------------------ FLOPs
def forward_flops(model: Any) -> int:
    """FLOPs of one flow's forward pass through ``model`` (a built Keras model), counted layer by layer.

    A multiply-add counts as 2 FLOPs. Per layer, with shapes read from the built layer:

    * ``Conv1D``: ``2 * kernel_size * in_channels * filters * out_length``;
    * ``LSTM``: per time step ``2 * 4 * units * (input_dim + units)`` (the four gates' input and recurrent
      matrix products) plus ``10 * units`` element-wise gate operations (sigmoids, tanh, the products and sums
      of the cell update: an estimate, about 10 per unit), times the sequence length;
    * ``Dense``: ``2 * in * out`` (times the leading positions when it is applied to a sequence);
    * nested models are counted through their layers.

    Not counted, as negligible beside those: bias adds and activations of Conv1D/Dense, pooling, dropout,
    flatten, input layers and casts. A layer with weights of any other type is a ``ValueError``, so the count
    is never silently short.
    """
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        elif isinstance(layer, keras.layers.Conv1D):
            in_channels = int(layer.input.shape[-1])
            out_length = int(layer.output.shape[1])
            total += 2 * int(layer.kernel_size[0]) * in_channels * int(layer.filters) * out_length
        elif isinstance(layer, keras.layers.LSTM):
            steps, input_dim = int(layer.input.shape[1]), int(layer.input.shape[2])
            units = int(layer.units)
            per_step = 2 * 4 * units * (input_dim + units) + LSTM_ELEMENTWISE_PER_UNIT * units
            total += steps * per_step
        elif isinstance(layer, keras.layers.Dense):
            shape = layer.input.shape
            positions = int(np.prod([int(d) for d in shape[1:-1]])) if len(shape) > 2 else 1
            total += 2 * int(shape[-1]) * int(layer.units) * positions
        elif layer.weights:
            raise ValueError(f"forward_flops: no formula for layer {layer.name!r} ({type(layer).__name__})")
    return int(total)


def lstm_steps(model: Any) -> int | None:
    """The sequence length the LSTM reads (``None`` without an LSTM)."""
    import keras

    found = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    return int(found[0].input.shape[1]) if found else None


# ------------------------------------------------------------------------------------------------ peak
def matmul_peak(dtype: str, n: int, repeats: int) -> dict[str, Any]:
    """GFLOP/s of an ``n x n`` matmul in ``dtype`` (``tf.function``, warm-up excluded, median of ``repeats``)."""
    import tensorflow as tf

    rng = np.random.default_rng(common.SEED)
    a = tf.cast(tf.constant(rng.random((n, n), dtype=np.float32)), dtype)
    b = tf.cast(tf.constant(rng.random((n, n), dtype=np.float32)), dtype)
    # the sum (n^2 adds, against 2 n^3 for the product) makes .numpy() wait for the result without copying it
    step = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y), tf.float32)))
    try:
        step(a, b).numpy()
    except Exception as error:  # a dtype without a CPU kernel is a result, not a crash
        return {"dtype": dtype, "n": n, "error": f"{type(error).__name__}: {error}".splitlines()[0]}
    times, _ = common.repeat(lambda: step(a, b).numpy(), repeats)
    seconds = common.median(times)
    return {"dtype": dtype, "n": n, "seconds": seconds, "all": times, "gflops": 2 * n**3 / seconds / 1e9}


# ------------------------------------------------------------------------------------------------ achieved
def synthetic(n_rows: int, n_features: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows in [0, 1] (like MinMax-scaled features) and random class ids: the cost does not depend on values."""
    rng = np.random.default_rng(seed)
    return rng.random((n_rows, n_features), dtype=np.float32), rng.integers(0, n_classes, n_rows)


def training_flows_per_s(
    model: Any, X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int | None = None, jit_compile: bool = False
) -> dict[str, Any]:
    """Flows/s of ``models.train`` (``model.fit``): rows / time of an epoch's training batches (validation
    excluded), median of the epochs after the first (the first traces the graph, and compiles it with
    ``jit_compile``). ``batch_size``: the paper-faithful ``DeepConfig`` batch unless given."""
    import keras

    from lib import models

    class BatchTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.epochs: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = self.last = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.last = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.epochs.append(self.last - self.start)

    timer = BatchTimer()
    X_val, y_val = X[:256], y[:256]
    models.train(
        model, X, y, X_val, y_val, epochs=epochs, batch_size=batch_size or models.DeepConfig().batch_size, seed=common.SEED,
        patience=epochs + 1, callbacks=[timer], jit_compile=jit_compile,
    )  # fmt: skip
    steady = timer.epochs[1:] or timer.epochs
    return {"epoch_s": timer.epochs, "flows_per_s": len(y) / common.median(steady), "rows": len(y)}


def xla_predictor(model: Any, batch: int = XLA_BATCH):
    """``X -> probabilities`` (as ``models.predict_proba`` returns them) through one XLA-compiled call per batch."""
    import tensorflow as tf

    from lib import models

    call = tf.function(lambda x: model(x, training=False), jit_compile=True)

    def predict(X: np.ndarray) -> np.ndarray:
        Xs = models.as_sequence(X)
        raw = np.concatenate([call(tf.constant(Xs[i : i + batch])).numpy() for i in range(0, len(Xs), batch)])
        raw = raw.astype(np.float64)
        return np.column_stack([1.0 - raw[:, 0], raw[:, 0]]) if raw.shape[1] == 1 else raw

    return predict


def timed(fn, repeats: int) -> dict[str, Any]:
    """One warm-up call (tracing, compilation) then the median of ``repeats`` calls."""
    fn()
    times, result = common.repeat(fn, repeats)
    return {"seconds": common.median(times), "all": times, "result": result}


def fraction(flops_per_flow: float, flows_per_s: float | None, peak_gflops: float | None) -> float | None:
    if not flows_per_s or not peak_gflops:
        return None
    return flops_per_flow * flows_per_s / (peak_gflops * 1e9)


# ------------------------------------------------------------------------------------------------ sections
def measure_models(names, precisions, size: dict[str, int], peaks: dict[str, float | None]) -> list[dict]:
    from lib import models

    architecture = models.DeepConfig().architecture()
    architecture.pop("precision")
    X_train, y_train = synthetic(size["train_rows"], N_FEATURES, N_CLASSES, common.SEED)
    X_infer, _ = synthetic(size["infer_rows"], N_FEATURES, N_CLASSES, common.SEED + 1)
    rows = []
    for precision in precisions:
        for name in names:
            print(f"[bench_roofline] {name} {precision} ...", flush=True)
            model = models.build(name, N_FEATURES, N_CLASSES, seed=common.SEED, precision=precision, **architecture)
            flops = forward_flops(model)
            train = training_flows_per_s(model, X_train, y_train, size["train_epochs"])
            fresh = models.build(name, N_FEATURES, N_CLASSES, seed=common.SEED, precision=precision, **architecture)
            train_xla = training_flows_per_s(fresh, X_train, y_train, size["train_epochs"], jit_compile=True)
            predict = timed(lambda model=model: models.predict_proba(model, X_infer), size["repeats"])
            xla_predict = xla_predictor(model)
            xla = timed(lambda f=xla_predict: f(X_infer), size["repeats"])
            peak = peaks["float32" if precision == "float32" else "bfloat16"]
            predict_fps = len(X_infer) / predict["seconds"]
            xla_fps = len(X_infer) / xla["seconds"]
            rows.append(
                {
                    "model": name,
                    "precision": precision,
                    "params": models.count_params(model),
                    "lstm_steps": lstm_steps(model),
                    "forward_flops_per_flow": flops,
                    "train_flops_per_flow": 3 * flops,
                    "train_rows": train["rows"],
                    "train_epoch_s": train["epoch_s"],
                    "train_flows_per_s": train["flows_per_s"],
                    "train_fraction_of_peak": fraction(3 * flops, train["flows_per_s"], peak),
                    "train_xla_epoch_s": train_xla["epoch_s"],
                    "train_xla_flows_per_s": train_xla["flows_per_s"],
                    "train_xla_fraction_of_peak": fraction(3 * flops, train_xla["flows_per_s"], peak),
                    "train_xla_over_plain": train_xla["flows_per_s"] / train["flows_per_s"],
                    "infer_rows": len(X_infer),
                    "predict_s": predict["all"],
                    "predict_flows_per_s": predict_fps,
                    "predict_fraction_of_peak": fraction(flops, predict_fps, peak),
                    "xla_s": xla["all"],
                    "xla_flows_per_s": xla_fps,
                    "xla_fraction_of_peak": fraction(flops, xla_fps, peak),
                    "xla_max_abs_diff": float(np.max(np.abs(xla["result"] - predict["result"]))),
                }
            )
    return rows


def open_run(run_dir: str | None) -> tuple[Any, Any, list[str]]:
    """``(pipeline or None, prepared data or None, notes)`` of a run folder; each failure becomes a note."""
    if not run_dir:
        return None, None, ["no --run-dir given: the real scoring pipeline was not measured"]
    from lib import fusion, run

    if not Path(run_dir).is_dir():  # RunDir() would create the folder
        return None, None, [f"--run-dir {run_dir}: no such folder; the real scoring pipeline was not measured"]
    found = run.RunDir(run_dir)
    notes, pipeline, data = [], None, None
    try:
        data = found.load_prepared()
    except Exception as error:  # reported, not hidden
        notes.append(f"{run_dir}: prepared data not loaded: {type(error).__name__}: {error}")
    if not found.has("fusion"):
        notes.append(f"{run_dir} has no fusion stage: the real scoring pipeline was not measured")
        return None, data, notes
    try:
        pipeline = fusion.load_pipeline(found.open("fusion").file("pipeline"))
    except Exception as error:  # reported, not hidden
        notes.append(f"{run_dir}/fusion: the pipeline did not load, not measured: {type(error).__name__}: {error}")
    return pipeline, data, notes


def measure_pipeline(pipeline: Any, data: Any, repeats: int, peaks: dict[str, float | None]) -> dict[str, Any]:
    from lib import fusion

    fusion_model = pipeline.model
    if getattr(fusion_model, "kind", "mlp") == "trees":  # a deployment variant of boosted trees: no FLOP count
        X = data.X_test
        result = timed(lambda: pipeline.score_features(X), repeats)
        return {"rows": len(X), "variant": "deploy", "folds": 0, "deep_models": ["boosted trees"], "inputs": "features",
                "meta": None, "precision": "float32", "forward_flops_per_flow": 0, "seconds": result["all"],
                "flows_per_s": len(X) / result["seconds"], "fraction_of_peak": None}  # fmt: skip
    if not fusion_model.fold_models:  # the deployment variant: one network
        first = fusion_model.network
        flops = forward_flops(first)
        folds, names, inputs = 0, [first.name], "features"
    else:
        flops = sum(forward_flops(m) for fold in fusion_model.fold_models for m in fold.values())
        if fusion_model.inputs in ("embedding", "both"):
            flops += sum(
                forward_flops(fusion.embedding_model(fold[fusion.EMBEDDING_MODEL])) for fold in fusion_model.fold_models
            )
        first = next(iter(fusion_model.fold_models[0].values()))
        folds, names, inputs = len(fusion_model.fold_models), fusion_model.names, fusion_model.inputs
    policy = getattr(first.dtype_policy, "name", str(first.dtype_policy))
    X = data.X_test
    result = timed(lambda: pipeline.score_features(X), repeats)
    flows_per_s = len(X) / result["seconds"]
    peak = peaks["bfloat16" if "bfloat16" in policy else "float32"]
    return {
        "rows": len(X),
        "variant": pipeline.manifest.get("variant", "full"),
        "folds": folds,
        "deep_models": names,
        "inputs": inputs,
        "meta": fusion_model.meta_name,
        "precision": policy,
        "forward_flops_per_flow": int(flops),
        "seconds": result["all"],
        "flows_per_s": flows_per_s,
        "fraction_of_peak": fraction(flops, flows_per_s, peak),
    }


def measure_variants(data: Any, size: dict[str, int], epochs: int, repeats: int, train_rows: int) -> list[dict]:
    from lib import metrics, models

    config = models.DeepConfig()
    architecture = config.architecture()
    architecture.pop("precision")
    n_features = data.X_train.shape[1] if data is not None else N_FEATURES
    n_classes = data.n_classes if data is not None else N_CLASSES
    X_infer, _ = synthetic(size["infer_rows"], n_features, n_classes, common.SEED + 1)
    rows = []
    for filters in VARIANT_FILTERS:
        for pool in VARIANT_POOLS:
            label = f"cnn_lstm filters {filters}, pool {pool}" + (
                " (default)" if (filters, pool) == (config.filters, config.pool_size) else ""
            )
            print(f"[bench_roofline] {label} ...", flush=True)
            settings = architecture | {"filters": filters, "pool_size": pool}
            model = models.build("cnn_lstm", n_features, n_classes, seed=common.SEED, **settings)
            f1, f1_notes = None, []
            if data is not None:
                X_train, y_train = data.X_train, data.y_train
                if train_rows and len(y_train) > train_rows:  # a seeded random subset, in the original order
                    keep = np.sort(np.random.default_rng(common.SEED).choice(len(y_train), train_rows, replace=False))
                    X_train, y_train = X_train[keep], y_train[keep]
                models.train(
                    model, X_train, y_train, data.X_val, data.y_val, epochs=epochs, batch_size=config.batch_size,
                    seed=common.SEED, patience=epochs + 1,
                )  # fmt: skip
                scores = metrics.evaluate(data.y_val, models.predict_proba(model, data.X_val), data.class_names)
                f1, f1_notes = scores["f1_macro"], scores["notes"]
            predict = timed(lambda model=model: models.predict_proba(model, X_infer), repeats)
            rows.append(
                {
                    "variant": label,
                    "filters": filters,
                    "pool_size": pool,
                    "lstm_steps": lstm_steps(model),
                    "params": models.count_params(model),
                    "forward_flops_per_flow": forward_flops(model),
                    "predict_flows_per_s": len(X_infer) / predict["seconds"],
                    "val_f1_macro": f1,
                    "val_notes": f1_notes,
                }
            )
    return rows


def measure_onnx(repeats: int, infer_rows: int) -> dict[str, Any]:
    """ONNX Runtime on the default CNN-LSTM (float32), only where onnxruntime and tf2onnx are importable."""
    missing = [name for name in ("onnxruntime", "tf2onnx") if importlib.util.find_spec(name) is None]
    if missing:
        return {"status": "ONNX Runtime: not installed, not measured", "missing": missing}
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    from lib import models

    model = models.build("cnn_lstm", N_FEATURES, N_CLASSES, seed=common.SEED)
    X, _ = synthetic(infer_rows, N_FEATURES, N_CLASSES, common.SEED + 1)
    try:
        spec = (tf.TensorSpec((None, N_FEATURES, 1), tf.float32, name="flow_features"),)
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec)
        session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        Xs = models.as_sequence(X)
        result = timed(lambda: session.run(None, {name: Xs})[0], repeats)
    except Exception as error:  # a failed conversion is a result
        return {"status": f"ONNX Runtime: conversion or run failed: {type(error).__name__}: {error}"}
    diff = float(np.max(np.abs(result["result"] - model.predict(models.as_sequence(X), verbose=0))))
    return {
        "status": "measured",
        "onnxruntime": onnxruntime.__version__,
        "tf2onnx": tf2onnx.__version__,
        "flows_per_s": len(X) / result["seconds"],
        "max_abs_diff_vs_predict": diff,
    }


# ------------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size_group = parser.add_mutually_exclusive_group()
    size_group.add_argument("--tiny", action="store_true", help="a smoke run: 512 training rows, 4k inference rows")
    size_group.add_argument("--quick", action="store_true", help="4k training rows, 30k inference rows (default)")
    size_group.add_argument("--full", action="store_true", help="13.5k training rows, 100k inference rows")
    parser.add_argument("--run-dir", default=None, help="a run folder (runs/iot23): real pipeline and F1 columns")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of the cheaper hybrids' F1 training")
    parser.add_argument("--models", default=",".join(DEEP_MODELS), help=f"subset of {DEEP_MODELS}")
    parser.add_argument("--precisions", default=",".join(PRECISIONS), help=f"subset of {PRECISIONS}")
    args = parser.parse_args(argv)
    mode = "tiny" if args.tiny else "full" if args.full else "quick"
    size = SIZES[mode]
    epochs = args.epochs or size["f1_epochs"]
    names, precisions = args.models.split(","), args.precisions.split(",")
    load_start = os.getloadavg()

    import tensorflow as tf

    print(f"[bench_roofline] {mode}: matmul peak ({MATMUL_N}x{MATMUL_N}) ...", flush=True)
    peak_runs = {dtype: matmul_peak(dtype, MATMUL_N, size["matmul_repeats"]) for dtype in ("float32", "bfloat16")}
    peaks = {dtype: r.get("gflops") for dtype, r in peak_runs.items()}
    deep = measure_models(names, precisions, size, peaks)
    pipeline, data, notes = open_run(args.run_dir)
    scored = (
        measure_pipeline(pipeline, data, size["repeats"], peaks) if pipeline is not None and data is not None else None
    )
    if data is None:
        notes.append("macro-F1 of the cheaper hybrids: needs --run-dir with prepared data; column left empty")
    elif size["f1_train_rows"]:
        notes.append(f"macro-F1 ({mode}): trained on {size['f1_train_rows']:,} random training rows only")
    variants = measure_variants(data, size, epochs, size["repeats"], size["f1_train_rows"])
    onnx = measure_onnx(size["repeats"], size["infer_rows"])

    peak_rows = [
        {"matmul": f"{r['n']}x{r['n']} {dtype}", "seconds": r.get("seconds"), "GFLOP/s": r.get("gflops")}
        | ({"error": r["error"]} if "error" in r else {})
        for dtype, r in peak_runs.items()
    ]
    model_rows = [
        {
            "model": r["model"],
            "precision": r["precision"],
            "params": r["params"],
            "MFLOP/flow fwd": r["forward_flops_per_flow"] / 1e6,
            "train flows/s": r["train_flows_per_s"],
            "train % peak": _percent(r["train_fraction_of_peak"]),
            "train XLA flows/s": r.get("train_xla_flows_per_s"),
            "train XLA % peak": _percent(r.get("train_xla_fraction_of_peak")),
            "predict flows/s": r["predict_flows_per_s"],
            "predict % peak": _percent(r["predict_fraction_of_peak"]),
            "XLA flows/s": r["xla_flows_per_s"],
            "XLA % peak": _percent(r["xla_fraction_of_peak"]),
            "XLA max |Δp|": r["xla_max_abs_diff"],
        }
        for r in deep
    ]
    variant_rows = [
        {
            "variant": r["variant"],
            "LSTM steps": r["lstm_steps"],
            "params": r["params"],
            "MFLOP/flow fwd": r["forward_flops_per_flow"] / 1e6,
            "predict flows/s": r["predict_flows_per_s"],
            f"val macro-F1 ({epochs} ep)": r["val_f1_macro"],
        }
        for r in variants
    ]
    print(common.table(peak_rows, ["matmul", "seconds", "GFLOP/s", "error"]))
    print()
    print(common.table(model_rows))
    print()
    if scored:
        pipeline_rows = [
            {
                "pipeline": f"{args.run_dir} fusion: score_features ({scored['folds']} folds x "
                f"{len(scored['deep_models'])} deep models + {scored['meta']})",
                "precision": scored["precision"],
                "rows": scored["rows"],
                "MFLOP/flow fwd (deep)": scored["forward_flops_per_flow"] / 1e6,
                "flows/s": scored["flows_per_s"],
                "% peak": _percent(scored["fraction_of_peak"]),
            }
        ]
        print(common.table(pipeline_rows))
        print()
    print(common.table(variant_rows))
    print()
    for r in variants:
        notes += [f"{r['variant']}: {note}" for note in r["val_notes"]]
    for note in notes:
        print(f"note: {note}")
    print(onnx["status"] if onnx["status"] != "measured" else f"ONNX Runtime: {onnx['flows_per_s']:,.0f} flows/s")

    payload = {
        "mode": mode,
        "versions": common.versions() | {"tf_devices": [d.device_type for d in tf.config.list_logical_devices()]},
        "niceness": os.nice(0),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        "conventions": {
            "flops": "forward_flops() docstring; a multiply-add = 2 FLOPs; LSTM element-wise ops ~10 per unit per step",
            "training": "training FLOPs per flow per epoch = 3 x forward",
            "peak": f"{MATMUL_N}x{MATMUL_N} tf.function matmul, warm-up excluded, median; compute roof only",
            "fraction": "FLOPs per flow x flows/s / peak (float32 peak for float32, bfloat16 for mixed_bfloat16)",
            "data": f"synthetic float32 rows in [0, 1], {N_FEATURES} features, {N_CLASSES} classes",
        },
        "sizes": size | {"f1_epochs": epochs},
        "peak": peak_runs,
        "models": deep,
        "pipeline": scored,
        "variants": variants,
        "onnx": onnx,
        "notes": notes,
        "run_dir": args.run_dir,
    }
    path = common.write_results("roofline", payload)
    print(f"wrote {path.relative_to(common.REPO_ROOT)}")
    return payload


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


if __name__ == "__main__":
    main()
