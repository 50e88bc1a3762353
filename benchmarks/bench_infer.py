"""Inference: batch throughput and single-flow latency of preprocessing + CNN-LSTM + fusion.

Pipeline measured, from a raw DataFrame (the loader's output) to a fused attack probability:

1. preprocessing -- the fitted preprocessor returned by ``preprocess.prepare`` (CICIDS2017 mirror,
   defaults), ``pre.transform(raw_rows)``;
2. deep model -- the CNN-LSTM with ``lib.models`` defaults, trained for one epoch (weights do not change
   the cost), ``models.predict_proba`` and the alternatives below;
3. fusion -- STOOD IN FOR (``lib/fusion.py`` did not exist when this was written; to be switched to it) by an XGBoost meta-classifier
   (``baselines.xgboost`` defaults) fitted on the deep model's validation probabilities.

The obvious alternative is XGBoost alone on the preprocessed features (``baselines.xgboost`` defaults).
Batch: raw test rows tiled to ``--rows`` flows, median of 3. Single flow: one raw row at a time, p50/p99
over ``--calls`` calls after warm-up. Compared ways to call Keras: ``model.predict`` (what
``models.predict_proba`` uses), ``model.predict_on_batch``, ``model(x, training=False)`` and a
``tf.function`` with a fixed input signature; for XGBoost ``predict_proba`` vs ``Booster.inplace_predict``.

Usage: ``python benchmarks/bench_infer.py [--quick | --full]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def percentiles(times: list[float]) -> dict:
    ms = np.asarray(times) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "calls": len(ms)}


def latency(fn, inputs: list, warmup: int = 20) -> dict:
    for x in inputs[:warmup]:
        fn(x)
    times = []
    for x in inputs:
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return percentiles(times)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k-flow batches, 300 single-flow calls")
    parser.add_argument("--full", action="store_true", help="500k-flow batches, 2000 single-flow calls")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--calls", type=int, default=None)
    args = parser.parse_args(argv)
    n_rows = args.rows or (500_000 if args.full else 100_000)
    n_calls = args.calls or (2000 if args.full else 300)

    import pandas as pd
    import tensorflow as tf

    from lib import baselines, datasets, models, preprocess

    os.environ.setdefault("IOT_BOTNET_CACHE_DIR", str(common.scratch_dir() / "cache-mirror"))
    print("[bench_infer] preparing CICIDS2017 and fitting the models ...", flush=True)
    df = datasets.load("cicids2017", common.mirror())
    data, pre, report = preprocess.prepare(df, preprocess.PrepConfig(seed=common.SEED))
    features = report.numeric_columns + report.categorical_columns
    n_train = min(20_000, len(data.y_train))
    model = models.build("cnn_lstm", data.X_train.shape[1], data.n_classes, seed=common.SEED)
    models.train(
        model, data.X_train[:n_train], data.y_train[:n_train], data.X_val, data.y_val,
        epochs=1, batch_size=256, seed=common.SEED,
    )  # fmt: skip
    meta = baselines.fit(baselines.xgboost(common.SEED), models.predict_proba(model, data.X_val), data.y_val)
    xgb_alone = baselines.fit(baselines.xgboost(common.SEED), data.X_train, data.y_train)

    # raw rows as the loader returns them (only the feature columns the transformer reads), tiled to n_rows;
    # which rows does not matter for the cost, so every loaded row is used
    raw = df[features].reset_index(drop=True)
    raw = pd.concat([raw] * int(np.ceil(n_rows / len(raw))), ignore_index=True).iloc[:n_rows]
    booster_meta, booster_alone = meta.get_booster(), xgb_alone.get_booster()
    n_features = data.X_train.shape[1]
    compiled = tf.function(
        lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec([None, n_features, 1], tf.float32)],
    )

    def compiled_batches(X: np.ndarray, chunk: int = 8192) -> np.ndarray:
        X = models.as_sequence(X)
        return np.concatenate([compiled(X[i : i + chunk]).numpy() for i in range(0, len(X), chunk)])

    # ---------------------------------------------------------------------------------------- batch
    print(f"[bench_infer] batch of {n_rows:,} flows ...", flush=True)
    X = pre.transform(raw)
    p_deep = models.predict_proba(model, X)
    stages = {
        "preprocess: pre.transform": lambda: pre.transform(raw),
        "deep: models.predict_proba (model.predict, batch 8192)": lambda: models.predict_proba(model, X),
        "deep: model.predict batch 32768": lambda: model.predict(models.as_sequence(X), batch_size=32768, verbose=0),
        "deep: tf.function, chunks of 8192": lambda: compiled_batches(X),
        "deep: tf.function, chunks of 32768": lambda: compiled_batches(X, 32768),
        "fusion stand-in: XGB meta predict_proba": lambda: baselines.predict_proba(meta, p_deep, data.n_classes),
        "fusion stand-in: XGB meta inplace_predict": lambda: booster_meta.inplace_predict(p_deep),
        "XGBoost alone: predict_proba": lambda: baselines.predict_proba(xgb_alone, X, data.n_classes),
        "XGBoost alone: inplace_predict": lambda: booster_alone.inplace_predict(X),
    }
    batch = {}
    for name, fn in stages.items():
        fn()  # warm-up (graph tracing, thread pools)
        times, _ = common.repeat(fn, 3)
        batch[name] = {"seconds": common.median(times), "all": times, "flows_per_s": n_rows / common.median(times)}
        print(f"  {name}: {common.median(times):.3f} s", flush=True)

    def pipeline(best: bool) -> float:
        start = time.perf_counter()
        Xp = pre.transform(raw)
        if best:
            deep = compiled_batches(Xp)
            deep = np.column_stack([1.0 - deep[:, 0], deep[:, 0]]) if deep.shape[1] == 1 else deep
            booster_meta.inplace_predict(deep)
        else:
            deep = models.predict_proba(model, Xp)
            baselines.predict_proba(meta, deep, data.n_classes)
        return time.perf_counter() - start

    for best in (False, True):
        pipeline(best)
        times = [pipeline(best) for _ in range(3)]
        name = "FULL PIPELINE " + ("(tf.function + inplace_predict)" if best else "(lib calls as they are)")
        batch[name] = {"seconds": common.median(times), "all": times, "flows_per_s": n_rows / common.median(times)}
        print(f"  {name}: {common.median(times):.3f} s", flush=True)
    for name in ("XGBoost alone: predict_proba", "XGBoost alone: inplace_predict"):
        t = batch["preprocess: pre.transform"]["seconds"] + batch[name]["seconds"]
        batch["ALTERNATIVE preprocess + " + name] = {"seconds": t, "flows_per_s": n_rows / t}

    # ---------------------------------------------------------------------------------- single flow
    print(f"[bench_infer] single flow x {n_calls} ...", flush=True)
    rng = np.random.default_rng(common.SEED)
    picks = rng.integers(0, len(raw), size=n_calls)
    rows1 = [raw.iloc[[i]] for i in picks]
    x1 = [models.as_sequence(pre.transform(r)) for r in rows1]
    pd1 = [models.predict_proba(model, x[:, :, 0]) for x in x1]
    tf1 = [tf.constant(x) for x in x1]
    single = {
        "preprocess: pre.transform(1 row)": latency(pre.transform, rows1),
        "deep: model.predict": latency(lambda x: model.predict(x, verbose=0), x1),
        "deep: model.predict_on_batch": latency(model.predict_on_batch, x1),
        "deep: model(x, training=False)": latency(lambda x: model(x, training=False), x1),
        "deep: tf.function (fixed signature)": latency(lambda x: compiled(x).numpy(), tf1),
        "fusion stand-in: XGB meta predict_proba": latency(lambda p: meta.predict_proba(p), pd1),
        "fusion stand-in: XGB meta inplace_predict": latency(booster_meta.inplace_predict, pd1),
        "XGBoost alone: predict_proba": latency(lambda x: xgb_alone.predict_proba(x[:, :, 0]), x1),
        "XGBoost alone: inplace_predict": latency(lambda x: booster_alone.inplace_predict(x[:, :, 0]), x1),
    }

    def one_flow(row) -> None:
        p = compiled(models.as_sequence(pre.transform(row))).numpy()
        booster_meta.inplace_predict(np.column_stack([1.0 - p[:, 0], p[:, 0]]))

    single["FULL PIPELINE 1 flow (transform + tf.function + inplace_predict)"] = latency(one_flow, rows1)
    single["FULL PIPELINE 1 flow (lib calls as they are)"] = latency(
        lambda r: baselines.predict_proba(meta, models.predict_proba(model, pre.transform(r)), data.n_classes),
        rows1[: max(50, n_calls // 3)],
    )

    batch_rows = [{"stage": k, "seconds": v["seconds"], "flows/s": v["flows_per_s"]} for k, v in batch.items()]
    single_rows = [
        {"call": k, "p50 ms": v["p50_ms"], "p99 ms": v["p99_ms"], "calls": v["calls"]} for k, v in single.items()
    ]
    print(common.table(batch_rows))
    print(common.table(single_rows))
    payload = {
        "mode": "full" if args.full else "quick",
        "versions": common.versions(),
        "data": "CICIDS2017 mirror (all files), prepare() defaults, binary; raw rows tiled",
        "fusion": "STAND-IN: XGBoost meta-classifier on the CNN-LSTM probabilities (not lib/fusion.py)",
        "batch_rows": n_rows,
        "n_features_prepared": int(n_features),
        "batch": batch,
        "single_flow": single,
        "table_batch": batch_rows,
        "table_single": single_rows,
    }
    path = common.write_results("bench_infer", payload)
    print(f"wrote {path.relative_to(common.REPO_ROOT)}")
    return payload


if __name__ == "__main__":
    main()
