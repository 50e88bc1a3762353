"""Loading and preparing at scale: rows/s and peak RSS at 1x, 10x, 100x (and 280x) the real samples.

Inputs are the IoT-23 34-1 ``conn.log.labeled`` (23 k flows) and the CICIDS2017 Friday-afternoon
PortScan head (10 k flows, 78 features; the only 10k head with two classes, which ``prepare`` needs),
replicated on disk outside the repository (header once, data lines N times, footer kept). Every
measurement runs in a fresh Python process, so its peak RSS (``/usr/bin/time -f %M``) is its own:

* ``parse+prepare`` -- ``datasets.load(use_cache=False)`` then ``preprocess.prepare`` (defaults, except
  ``dedup=False``: the copies are exact duplicates and dedup would shrink them back to 1x; real data has
  few duplicates, so every row is kept to measure the worst case). Peak RSS of this process is the
  figure against the 4 GiB target;
* ``parse`` -- the CSV/Zeek parse alone (pyarrow, what ``load`` does without a cache);
* ``reload`` -- ``datasets.load(use_cache=True)`` with a warm Parquet cache (this includes the sha256 of
  the source file, which is the cache key; reported separately as ``sha256_s``);
* ``pandas`` -- the obvious alternative: ``pandas.read_csv`` with its default C engine, no label handling.

Usage: ``python benchmarks/bench_load.py [--quick | --full] [--sizes 1,10,100] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DATASETS = ("iot23", "cicids2017")
BASE_ROWS = {"iot23": None, "cicids2017": None}  # filled in from the 1x run


# --------------------------------------------------------------------------------------------------
# Child process: one measurement
# --------------------------------------------------------------------------------------------------
def child(mode: str, dataset: str, path: str) -> dict:
    import numpy as np
    import pandas as pd

    from lib import datasets, preprocess

    path = Path(path)
    out: dict = {}

    def peak_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    if mode == "pandas":
        start = time.perf_counter()
        if dataset == "iot23":
            with open(path, "rb") as fh:
                fields = next(ln for ln in fh if ln.startswith(b"#fields")).decode().rstrip("\n").split("\t")[1:]
            df = pd.read_csv(path, sep="\t", comment="#", header=None, names=fields, na_values=["-", "(empty)"])
        else:
            df = pd.read_csv(path)
        out["seconds"] = time.perf_counter() - start
        out["rows"] = len(df)
        return out

    files = [str(path)]
    if mode == "reload":
        start = time.perf_counter()
        datasets.sha256_file(path)
        out["sha256_s"] = time.perf_counter() - start
    start = time.perf_counter()
    df = datasets.load(dataset, files=files, use_cache=mode in ("reload", "cache_build"))
    out["seconds"] = time.perf_counter() - start
    out["rows"] = len(df)
    out["columns"] = df.shape[1]
    out["frame_mib"] = float(df.memory_usage(deep=False).sum() / 2**20)
    out["load_peak_rss_mib"] = peak_mib()
    if mode == "parse_prepare":
        start = time.perf_counter()
        data, _, _ = preprocess.prepare(df, preprocess.PrepConfig(dedup=False))
        out["prepare_s"] = time.perf_counter() - start
        out["prepared_shape"] = [
            int(sum(len(y) for y in (data.y_train, data.y_val, data.y_test))),
            data.X_train.shape[1],
        ]
        out["prepared_dtype"] = str(data.X_train.dtype)
        assert data.X_train.dtype == np.float32
    return out


# --------------------------------------------------------------------------------------------------
# Parent: sizes x modes x repeats
# --------------------------------------------------------------------------------------------------
def measure(dataset: str, factor: int, repeats: int) -> dict:
    path = common.scaled_input(dataset, factor)
    scratch = common.scratch_dir()
    cache = scratch / f"cache-{dataset}-x{factor}"
    shutil.rmtree(cache, ignore_errors=True)
    env = {"IOT_BOTNET_CACHE_DIR": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3"}
    me = str(Path(__file__).resolve())

    def run(mode: str, n: int) -> list[dict]:
        return [common.run_child([me, "--child", mode, dataset, str(path)], env=env) for _ in range(n)]

    runs = {
        "parse_prepare": run("parse_prepare", repeats),
        "parse": run("parse", repeats),
        "cache_build": run("cache_build", 1),
        "reload": run("reload", repeats),
        "pandas": run("pandas", repeats),
    }
    shutil.rmtree(cache, ignore_errors=True)
    med = {
        mode: {k: common.median([r[k] for r in rs]) for k in rs[0] if isinstance(rs[0][k], float | int)}
        for mode, rs in runs.items()
    }
    rows = runs["parse"][0]["rows"]
    pp = med["parse_prepare"]
    return {
        "dataset": dataset,
        "factor": factor,
        "rows": rows,
        "file_mib": path.stat().st_size / 2**20,
        "repeats": repeats,
        "parse_s": med["parse"]["seconds"],
        "parse_rows_per_s": rows / med["parse"]["seconds"],
        "parse_peak_rss_mib": med["parse"]["peak_rss_mib"],
        "prepare_s": pp["prepare_s"],
        "prepare_rows_per_s": rows / pp["prepare_s"],
        "parse_prepare_s": pp["seconds"] + pp["prepare_s"],
        "parse_prepare_peak_rss_mib": pp["peak_rss_mib"],
        "cache_build_s": med["cache_build"]["seconds"],
        "reload_s": med["reload"]["seconds"],
        "reload_sha256_s": med["reload"]["sha256_s"],
        "reload_rows_per_s": rows / med["reload"]["seconds"],
        "reload_peak_rss_mib": med["reload"]["peak_rss_mib"],
        "pandas_s": med["pandas"]["seconds"],
        "pandas_peak_rss_mib": med["pandas"]["peak_rss_mib"],
        "speedup_reload_vs_parse": med["parse"]["seconds"] / med["reload"]["seconds"],
        "speedup_parse_vs_pandas": med["pandas"]["seconds"] / med["parse"]["seconds"],
        "prepared_shape": runs["parse_prepare"][0]["prepared_shape"],
        "frame_mib": med["parse"]["frame_mib"],
        "raw_runs": runs,
    }


def linearity(results: list[dict], key: str) -> float | None:
    """Exponent b of cost ~ rows^b fitted on the two largest sizes (1 = linear)."""
    import math

    pts = sorted((r["rows"], r[key]) for r in results)
    if len(pts) < 2:
        return None
    (n1, t1), (n2, t2) = pts[-2], pts[-1]
    return math.log(t2 / t1) / math.log(n2 / n1)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("MODE", "DATASET", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="1x, 10x, 100x; 3 repeats below 100x, 1 at 100x")
    parser.add_argument("--full", action="store_true", help="also CICIDS2017 x280 (~2.8 M rows); 3 repeats")
    parser.add_argument("--sizes", default=None, help="comma-separated replication factors")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return {}

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [1, 10, 100]
    results = []
    for dataset in DATASETS:
        plan = list(sizes) + ([280] if args.full and dataset == "cicids2017" and 280 not in sizes else [])
        for factor in plan:
            repeats = args.repeats or (3 if (args.full or factor < 100) else 1)
            print(f"[bench_load] {dataset} x{factor} ({repeats} repeat(s)) ...", flush=True)
            results.append(measure(dataset, factor, repeats))

    rows = [
        {
            "data": f"{r['dataset']} x{r['factor']}",
            "rows": r["rows"],
            "MiB": r["file_mib"],
            "parse s": r["parse_s"],
            "parse rows/s": r["parse_rows_per_s"],
            "pandas s": r["pandas_s"],
            "pandas/parse": r["speedup_parse_vs_pandas"],
            "reload s": r["reload_s"],
            "(sha256 s)": r["reload_sha256_s"],
            "parse/reload": r["speedup_reload_vs_parse"],
            "prepare s": r["prepare_s"],
            "prepare rows/s": r["prepare_rows_per_s"],
            "peak RSS parse+prepare MiB": r["parse_prepare_peak_rss_mib"],
            "peak RSS reload MiB": r["reload_peak_rss_mib"],
            "peak RSS pandas MiB": r["pandas_peak_rss_mib"],
        }
        for r in results
    ]
    growth = {
        ds: {
            key: linearity([r for r in results if r["dataset"] == ds], key)
            for key in ("parse_s", "prepare_s", "reload_s", "parse_prepare_peak_rss_mib")
        }
        for ds in DATASETS
    }
    extrapolation = extrapolate(results)
    print(common.table(rows))
    print("growth exponent b (cost ~ rows^b, two largest sizes):", json.dumps(growth))
    print("CICIDS2017 at 2.83 M rows:", json.dumps(extrapolation))
    payload = {
        "mode": "full" if args.full else "quick",
        "versions": common.versions(),
        "results": results,
        "table": rows,
        "growth_exponent": growth,
        "cicids_2_8m": extrapolation,
    }
    path = common.write_results("bench_load", payload)
    print(f"wrote {path.relative_to(common.REPO_ROOT)}")
    return payload


def extrapolate(results: list[dict], target_rows: int = 2_830_000) -> dict:
    """Measured (if a size >= 2.8 M rows ran) or linearly extrapolated from the largest CICIDS size."""
    cic = sorted((r for r in results if r["dataset"] == "cicids2017"), key=lambda r: r["rows"])
    if not cic:
        return {}
    big = cic[-1]
    if big["rows"] >= 0.95 * target_rows:
        return {
            "how": f"measured at x{big['factor']} ({big['rows']:,} rows)",
            "parse_prepare_s": big["parse_prepare_s"],
            "peak_rss_mib": big["parse_prepare_peak_rss_mib"],
            "reload_s": big["reload_s"],
            "speedup_reload_vs_parse": big["speedup_reload_vs_parse"],
        }
    scale = target_rows / big["rows"]
    if len(cic) >= 2:  # RSS = fixed part + per-row part, from the two largest sizes
        small = cic[-2]
        per_row = (big["parse_prepare_peak_rss_mib"] - small["parse_prepare_peak_rss_mib"]) / (
            big["rows"] - small["rows"]
        )
        rss = big["parse_prepare_peak_rss_mib"] + per_row * (target_rows - big["rows"])
    else:
        rss = big["parse_prepare_peak_rss_mib"] * scale
    return {
        "how": f"linear extrapolation from x{big['factor']} ({big['rows']:,} rows)",
        "parse_prepare_s": big["parse_prepare_s"] * scale,
        "peak_rss_mib": rss,
        "reload_s": big["reload_s"] * scale,
        "speedup_reload_vs_parse": big["speedup_reload_vs_parse"],
    }


if __name__ == "__main__":
    main()
