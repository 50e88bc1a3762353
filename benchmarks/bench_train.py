"""Training throughput: flows/s per epoch of the three deep models, and fit time of RF / SVM / XGBoost.

Data: every CICIDS2017 file of the mirror, prepared by ``preprocess.prepare`` with its defaults
(binary labels, dedup, 80/20 split, 10 % validation). All models see the same training rows.

Deep models: ``lib.models`` defaults (Conv1D(64,3) x2, MaxPool(2), LSTM(64), Dense(64), Dropout(0.3);
Adam 1e-3; batch 256 as in notebook 03), compiled exactly as ``models.train`` does. Throughput is
training rows / wall time of one epoch (without the validation pass), median over the epochs after the
first (the first traces the graph). Each variant runs in its own process, because TensorFlow thread
settings can only be set before TensorFlow starts.

Usage: ``python benchmarks/bench_train.py [--quick | --full]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# name -> (model, settings); settings other than the defaults are what the variant changes
VARIANTS: dict[str, dict] = {
    "cnn_lstm default (batch 256)": {"model": "cnn_lstm"},
    "cnn_only default (batch 256)": {"model": "cnn_only"},
    "lstm_only default (batch 256)": {"model": "lstm_only"},
    "cnn_lstm batch 1024": {"model": "cnn_lstm", "batch": 1024},
    "cnn_lstm batch 4096": {"model": "cnn_lstm", "batch": 4096},
    "cnn_lstm tf.data prefetch (batch 256)": {"model": "cnn_lstm", "tf_data": True},
    "cnn_lstm threads intra=2 inter=1": {"model": "cnn_lstm", "threads": (2, 1)},
    "cnn_lstm XLA jit_compile (batch 256)": {"model": "cnn_lstm", "jit": True},
    "cnn_lstm XLA jit_compile batch 1024": {"model": "cnn_lstm", "jit": True, "batch": 1024},
    "cnn_lstm pool 4 (seq/4, not default)": {"model": "cnn_lstm", "pool_size": 4},
}
QUICK_VARIANTS = [
    "cnn_lstm default (batch 256)",
    "cnn_only default (batch 256)",
    "lstm_only default (batch 256)",
    "cnn_lstm batch 1024",
    "cnn_lstm batch 4096",
    "cnn_lstm tf.data prefetch (batch 256)",
    "cnn_lstm XLA jit_compile batch 1024",
    "cnn_lstm pool 4 (seq/4, not default)",
]


def prepared_arrays(max_train: int) -> Path:
    """Prepare CICIDS2017 once and keep the arrays in the scratch folder for the child processes."""
    from lib import datasets, preprocess

    out = common.scratch_dir() / f"train-cicids-{max_train}.npz"
    if out.exists():
        return out
    os.environ.setdefault("IOT_BOTNET_CACHE_DIR", str(common.scratch_dir() / "cache-mirror"))
    df = datasets.load("cicids2017", common.mirror())
    data, _, _ = preprocess.prepare(df, preprocess.PrepConfig(seed=common.SEED))
    X, y = data.X_train, data.y_train
    if max_train and len(y) > max_train:
        rng = np.random.default_rng(common.SEED)
        keep = np.sort(rng.choice(len(y), max_train, replace=False))
        X, y = X[keep], y[keep]
    np.savez(out, X_train=X, y_train=y, X_val=data.X_val, y_val=data.y_val)
    return out


def child(variant: str, arrays: str, epochs: int) -> dict:
    settings = VARIANTS[variant]
    if "threads" in settings:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(settings["threads"][0])
        tf.config.threading.set_inter_op_parallelism_threads(settings["threads"][1])
    import keras
    import tensorflow as tf

    from lib import models

    d = np.load(arrays)
    X, y = models.as_sequence(d["X_train"]), d["y_train"].astype(np.float32)
    n_features = X.shape[1]
    hp = {"pool_size": settings["pool_size"]} if "pool_size" in settings else {}
    model = models.build(settings["model"], n_features, 2, seed=common.SEED, **hp)
    keras.utils.set_random_seed(common.SEED)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        jit_compile=settings.get("jit", "auto"),
    )
    batch = settings.get("batch", 256)

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    if settings.get("tf_data"):
        ds = (
            tf.data.Dataset.from_tensor_slices((X, y))
            .shuffle(len(y), seed=common.SEED, reshuffle_each_iteration=True)
            .batch(batch)
            .prefetch(tf.data.AUTOTUNE)
        )
        model.fit(ds, epochs=epochs, callbacks=[timer], verbose=0)
    else:
        model.fit(X, y, batch_size=batch, epochs=epochs, shuffle=True, callbacks=[timer], verbose=0)
    steady = timer.times[1:] or timer.times
    lstm = [layer for layer in model.layers if layer.name == "lstm"]
    return {
        "rows": int(len(y)),
        "n_features": int(n_features),
        "lstm_steps": int(lstm[0].input.shape[1]) if lstm else None,
        "batch": batch,
        "epoch_s": timer.times,
        "flows_per_s": len(y) / common.median(steady),
        "first_epoch_s": timer.times[0],
        "params": models.count_params(model),
        "intra_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def baselines(arrays: Path, repeats: int, svm_rows: int) -> list[dict]:
    from lib import baselines as bl

    d = np.load(arrays)
    X, y = d["X_train"], d["y_train"]
    rows = []
    for name in bl.BASELINE_BUILDERS:
        Xb, yb = bl.stratified_subsample(X, y, svm_rows, common.SEED) if name == "svm" else (X, y)
        times, _ = common.repeat(lambda name=name, Xb=Xb, yb=yb: bl.fit(bl.build(name, common.SEED), Xb, yb), repeats)
        rows.append(
            {
                "model": name
                + (" (lib defaults)" if name != "svm" or len(yb) == len(y) else f" ({len(yb):,}-row subsample)"),
                "rows": int(len(yb)),
                "fit_s_median": common.median(times),
                "fit_s_all": times,
                "flows_per_s": len(yb) / common.median(times),
            }
        )
        print(f"  {name}: {common.median(times):.2f} s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "ARRAYS", "EPOCHS"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="30k training rows, 3 epochs, fewer variants")
    parser.add_argument("--full", action="store_true", help="all training rows, 4 epochs, every variant")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2]))))
        return {}

    max_train, epochs = (0, 4) if args.full else (30_000, 3)
    names = list(VARIANTS) if args.full else QUICK_VARIANTS
    arrays = prepared_arrays(max_train)
    env = {"TF_CPP_MIN_LOG_LEVEL": "3"}
    me = str(Path(__file__).resolve())
    deep = []
    for name in names:
        print(f"[bench_train] {name} ...", flush=True)
        r = common.run_child([me, "--child", name, str(arrays), str(epochs)], env=env)
        deep.append({"variant": name, **r})
    print("[bench_train] baselines ...", flush=True)
    base = baselines(arrays, repeats=1 if args.full else 3, svm_rows=0)

    deep_rows = [
        {
            "variant": r["variant"],
            "train rows": r["rows"],
            "LSTM steps": r["lstm_steps"],
            "epoch s (median after 1st)": r["rows"] / r["flows_per_s"],
            "flows/s": r["flows_per_s"],
            "vs default": r["flows_per_s"] / deep[0]["flows_per_s"],
            "1st epoch s": r["first_epoch_s"],
            "peak RSS MiB": r["peak_rss_mib"],
        }
        for r in deep
    ]
    base_rows = [
        {"model": r["model"], "train rows": r["rows"], "fit s": r["fit_s_median"], "flows/s": r["flows_per_s"]}
        for r in base
    ]
    print(common.table(deep_rows))
    print(common.table(base_rows))
    payload = {
        "mode": "full" if args.full else "quick",
        "versions": common.versions(),
        "data": "CICIDS2017 mirror (all files), prepare() defaults, binary",
        "epochs": epochs,
        "deep": deep,
        "baselines": base,
        "table_deep": deep_rows,
        "table_baselines": base_rows,
    }
    path = common.write_results("bench_train", payload)
    print(f"wrote {path.relative_to(common.REPO_ROOT)}")
    return payload


if __name__ == "__main__":
    main()
