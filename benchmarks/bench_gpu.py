"""The deep models on an accelerator: training and inference throughput, the fraction of the measured matmul
peak, and whether mixed precision keeps macro-F1 within seed noise.

Backend-agnostic: it runs under whichever Keras 3 backend ``KERAS_BACKEND`` names, on whatever device that
backend sees. The project's GPU install is TensorFlow's (``make setup GPU=1``); the GPU machine this was
measured on holds JAX with CUDA and no TensorFlow, so the figures in benchmarks/README.md come from the same
``lib.models`` networks under Keras' JAX backend (whose LSTM takes cuDNN's kernel on a GPU, as TensorFlow's does).

Sections (``--sections``, in this order; each writes its rows to the results file as soon as it ends):

* ``peak``: an ``8192 x 8192`` matmul in float32 and in bfloat16 (compiled, one warm-up call excluded, median
  of 10), GFLOP/s = ``2 n^3 / s``. On a GPU the float32 product may use TF32 tensor cores (the backend's
  default precision): that is the ceiling the float32 models can reach, so it is the one they are held to.
* ``throughput``: per model and precision, training flows/s of ``models.train`` (median of the epochs after
  the first, validation excluded; ``bench_roofline.training_flows_per_s``) at the paper-faithful batch of
  256 and at 4096, on the prepared training rows tiled to ``--train-rows``; inference flows/s of
  ``models.predict_proba`` at its batch (8192) and at 65536 on the test rows tiled to ``--infer-rows``;
  FLOPs per flow from ``bench_roofline.forward_flops`` and the fraction of the peak of the precision.
* ``f1``: every model trained as notebook 03 trains it (``models.fit_config`` with the default, paper-faithful
  ``DeepConfig``: batch 256, at most 80 epochs, early stopping on validation loss), in float32 and in
  ``mixed_bfloat16``, for ``--seeds``; macro-F1 on the test rows. Mixed precision is "within seed noise"
  when the difference of the means is smaller than the larger of the two standard deviations over seeds.

Data: a run folder's prepared split (``--run-dir RUN``, read with ``RunDir(RUN).load_prepared()``), so the
rows are those the CPU study trained on. ``--budget-s`` stops starting new work after that many seconds;
what was measured is kept.

Usage: ``KERAS_BACKEND=jax python benchmarks/bench_gpu.py --run-dir runs/cicids2017 --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_roofline  # noqa: E402
import common  # noqa: E402

SECTIONS = ("peak", "throughput", "f1")
MODELS = ("cnn_lstm", "cnn_only", "lstm_only", "mlp")
PRECISIONS = ("float32", "mixed_bfloat16")
TRAIN_BATCHES = (256, 4096)
PREDICT_BATCHES = (8192, 65536)
MATMUL_N = 8192


def backend_info() -> dict[str, Any]:
    import keras

    backend = keras.backend.backend()
    info: dict[str, Any] = {"backend": backend, "keras": keras.__version__}
    if backend == "jax":
        import jax

        info |= {"jax": jax.__version__, "devices": [str(d) for d in jax.devices()]}
    elif backend == "tensorflow":
        import tensorflow as tf

        info |= {"tensorflow": tf.__version__, "devices": [d.name for d in tf.config.list_logical_devices()]}
    elif backend == "torch":
        import torch

        info |= {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    return info


def matmul_peak(dtype: str, n: int = MATMUL_N, repeats: int = 10, highest: bool = False) -> dict[str, Any]:
    """GFLOP/s of an ``n x n`` product in ``dtype``, compiled by the backend (warm-up excluded, median);
    ``highest``: JAX's ``Precision.HIGHEST`` (true float32, no TF32), for comparison only."""
    import keras

    if keras.backend.backend() == "tensorflow":
        return bench_roofline.matmul_peak(dtype, n, repeats)
    if keras.backend.backend() != "jax":
        return {"dtype": dtype, "n": n, "error": f"no peak measurement for backend {keras.backend.backend()}"}
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(common.SEED)
    a = jnp.asarray(rng.random((n, n), dtype=np.float32)).astype(dtype)
    b = jnp.asarray(rng.random((n, n), dtype=np.float32)).astype(dtype)
    # the float32 sum makes block_until_ready wait for the product without copying it to the host
    precision = jax.lax.Precision.HIGHEST if highest else None
    step = jax.jit(lambda x, y: jnp.sum(jnp.matmul(x, y, precision=precision).astype(jnp.float32)))
    step(a, b).block_until_ready()
    times, _ = common.repeat(lambda: step(a, b).block_until_ready(), repeats)
    seconds = common.median(times)
    gflops = 2 * n**3 / seconds / 1e9
    return {"dtype": dtype, "n": n, "highest": highest, "seconds": seconds, "all": times, "gflops": gflops}


def tile(X: np.ndarray, y: np.ndarray | None, rows: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The first ``rows`` rows of ``X`` (and ``y``) repeated as often as needed: the cost does not depend on values."""
    reps = -(-rows // len(X))
    X = np.concatenate([X] * reps)[:rows]
    return X, None if y is None else np.concatenate([y] * reps)[:rows]


def measure_throughput(data: Any, args: argparse.Namespace, peaks: dict[str, float | None], deadline: float):
    from lib import models

    architecture = models.DeepConfig().architecture()
    architecture.pop("precision")
    X_train, y_train = tile(data.X_train, data.y_train, args.train_rows)
    X_infer, _ = tile(data.X_test, None, args.infer_rows)
    for precision in args.precisions:
        for name in args.models:
            if time.monotonic() > deadline:
                return
            model = models.build(
                name, data.X_train.shape[1], data.n_classes, seed=common.SEED, precision=precision, **architecture
            )
            flops = bench_roofline.forward_flops(model)
            peak = peaks.get({"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}.get(precision, "float32"))
            row: dict[str, Any] = {"model": name, "precision": precision, "forward_flops_per_flow": flops}
            try:
                row |= model_throughput(model, flops, peak, X_train, y_train, X_infer, args)
            except Exception as error:  # a precision the backend's kernels refuse is a result, not a crash
                row["error"] = f"{type(error).__name__}: {error}".splitlines()[0]
                print(f"[bench_gpu] {name} {precision}: {row['error']}", flush=True)
            yield row


def model_throughput(model, flops, peak, X_train, y_train, X_infer, args) -> dict[str, Any]:
    from lib import models

    row: dict[str, Any] = {}
    for batch in TRAIN_BATCHES:
        print(f"[bench_gpu] train {model.name} batch {batch} ...", flush=True)
        train = bench_roofline.training_flows_per_s(model, X_train, y_train, args.train_epochs, batch_size=batch)
        row[f"train_b{batch}_flows_per_s"] = train["flows_per_s"]
        row[f"train_b{batch}_epoch_s"] = train["epoch_s"]
        row[f"train_b{batch}_fraction"] = bench_roofline.fraction(3 * flops, train["flows_per_s"], peak)
    for batch in PREDICT_BATCHES:
        predict = bench_roofline.timed(
            lambda batch=batch: models.predict_proba(model, X_infer, batch_size=batch), args.repeats
        )
        fps = len(X_infer) / predict["seconds"]
        row[f"predict_b{batch}_flows_per_s"] = fps
        row[f"predict_b{batch}_fraction"] = bench_roofline.fraction(flops, fps, peak)
    return row | {"train_rows": len(X_train), "infer_rows": len(X_infer)}


def measure_f1(data: Any, args: argparse.Namespace, deadline: float):
    from lib import metrics, models

    epochs = {"epochs": args.f1_epochs} if args.f1_epochs else {}
    warnings.simplefilter("ignore", metrics.MetricWarning)  # an undertrained seed's "never predicted" notes
    # seed, then model, then precision: a run cut short by --budget-s still has pairs to compare
    for seed in args.seeds:
        for name in args.models:
            for precision in args.precisions:
                if time.monotonic() > deadline:
                    return
                print(f"[bench_gpu] f1 {name} {precision} seed {seed} ...", flush=True)
                start = time.perf_counter()
                try:
                    model, history = models.fit_config(
                        name, data.X_train, data.y_train, data.X_val, data.y_val, n_classes=data.n_classes,
                        config=models.DeepConfig(precision=precision, **epochs), seed=seed,
                    )  # fmt: skip
                except Exception as error:
                    error = f"{type(error).__name__}: {error}".splitlines()[0]
                    yield {"model": name, "precision": precision, "seed": seed, "error": error}
                    continue
                seconds = time.perf_counter() - start
                result = metrics.evaluate(data.y_test, models.predict_proba(model, data.X_test), data.class_names)
                yield {
                    "model": name, "precision": precision, "seed": seed, "f1_macro": result["f1_macro"],
                    "epochs_run": len(history["loss"]), "fit_s": seconds,
                }  # fmt: skip


def seed_noise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model: mean and std of macro-F1 per precision, and whether the difference is within seed noise."""
    out = []
    for name in dict.fromkeys(r["model"] for r in rows):
        by = {
            p: np.array([r["f1_macro"] for r in rows if r["model"] == name and r["precision"] == p and "f1_macro" in r])
            for p in dict.fromkeys(r["precision"] for r in rows)
        }
        if len(by.get("float32", ())) < 2:
            continue
        for precision, values in by.items():
            if precision == "float32" or len(values) < 2:
                continue
            base = by["float32"]
            diff = values.mean() - base.mean()
            noise = max(base.std(ddof=1), values.std(ddof=1))
            out.append(
                {
                    "model": name, "precision": precision, "seeds": len(values),
                    "float32 macro-F1": 100 * base.mean(), "float32 std": 100 * base.std(ddof=1),
                    "mixed macro-F1": 100 * values.mean(), "mixed std": 100 * values.std(ddof=1),
                    "difference": 100 * diff, "within seed noise": bool(abs(diff) <= noise),
                }
            )  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", required=True, help="a run folder with a prepared stage (runs/cicids2017)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"subset of {SECTIONS}")
    parser.add_argument("--models", default=",".join(MODELS), help=f"subset of {MODELS}")
    parser.add_argument("--precisions", default=",".join(PRECISIONS), help="float32, mixed_bfloat16, mixed_float16")
    parser.add_argument("--seeds", default="42,43,44", help="seeds of the f1 section")
    parser.add_argument("--f1-epochs", type=int, default=None, help="epoch cap of the f1 section (default: 80)")
    parser.add_argument("--train-rows", type=int, default=131_072, help="rows per training epoch (tiled)")
    parser.add_argument("--train-epochs", type=int, default=3, help="epochs per throughput measurement")
    parser.add_argument("--infer-rows", type=int, default=1_048_576, help="rows per inference measurement (tiled)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget-s", type=float, default=float("inf"), help="start no new work after this")
    parser.add_argument("--out", default=None, help="folder of the results file (default benchmarks/results)")
    parser.add_argument("--name", default="gpu", help="results file name (without .json)")
    args = parser.parse_args(argv)
    args.sections, args.models = args.sections.split(","), args.models.split(",")
    args.precisions, args.seeds = args.precisions.split(","), [int(s) for s in args.seeds.split(",")]
    deadline = time.monotonic() + args.budget_s

    from lib.run import RunDir

    data = RunDir(args.run_dir).load_prepared()
    payload: dict[str, Any] = {
        "backend": backend_info(),
        "versions": common.versions(),
        "run_dir": args.run_dir,
        "data": {"n_features": data.X_train.shape[1], "classes": data.class_names, "train": len(data.y_train)},
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "name")},
        "peak": {},
        "throughput": [],
        "f1": [],
    }
    out = Path(args.out) if args.out else common.RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{args.name}.json"

    def save() -> None:
        machine = common.machine() | {"note": "load_average_at_start gives the machine's load; medians of repeats"}
        full = {"benchmark": args.name, "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine}
        path.write_text(json.dumps(full | payload, indent=2, default=common._jsonable) + "\n")

    print(f"[bench_gpu] {payload['backend']}", flush=True)
    if "peak" in args.sections:
        for dtype in ("float32", "bfloat16", "float16"):
            payload["peak"][dtype] = matmul_peak(dtype)
            print(f"[bench_gpu] peak {dtype}: {payload['peak'][dtype].get('gflops')} GFLOP/s", flush=True)
        if payload["backend"]["backend"] == "jax":
            payload["peak_float32_highest"] = matmul_peak("float32", highest=True)
        save()
    peaks = {dtype: r.get("gflops") for dtype, r in payload["peak"].items()}
    if "throughput" in args.sections:
        for row in measure_throughput(data, args, peaks, deadline):
            payload["throughput"].append(row)
            save()
        print(common.table([summary_row(r) for r in payload["throughput"]]), flush=True)
    if "f1" in args.sections:
        for row in measure_f1(data, args, deadline):
            payload["f1"].append(row)
            payload["f1_seed_noise"] = seed_noise(payload["f1"])
            save()
        print(common.table(payload.get("f1_seed_noise", [])), flush=True)
    save()
    print(f"wrote {path}")
    return payload


def summary_row(r: dict[str, Any]) -> dict[str, Any]:
    row = {"model": r["model"], "precision": r["precision"], "MFLOP/flow": r["forward_flops_per_flow"] / 1e6}
    if "error" in r:
        return row | {"error": r["error"]}
    for batch in TRAIN_BATCHES:
        row[f"train b{batch} flows/s"] = r[f"train_b{batch}_flows_per_s"]
        row[f"train b{batch} % peak"] = bench_roofline._percent(r[f"train_b{batch}_fraction"])
    for batch in PREDICT_BATCHES:
        row[f"predict b{batch} flows/s"] = r[f"predict_b{batch}_flows_per_s"]
        row[f"predict b{batch} % peak"] = bench_roofline._percent(r[f"predict_b{batch}_fraction"])
    return row


if __name__ == "__main__":
    main()
