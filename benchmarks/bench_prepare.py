"""CICIDS2017 at full size: load and prepare 2.8 M CICFlowMeter rows, their seconds and peak RSS, at three sizes.

The input is made from the mirror's six ``ml_stripped_header_heads_10k`` day files (60,000 rows in the
MachineLearningCVE layout, 78 features and ``Label``): the header once, then every file's rows over and over,
copy ``k`` with ``Flow Duration`` (integer microseconds) raised by ``k``, so that no copy repeats another and
dedup keeps ``k`` times the distinct rows of the original (its own repeated rows stay repeats, as in the real
files). ``--copies 47`` gives 2.82 M rows (CICIDS2017 has 2.83 M), about 0.9 GB of CSV. Files go under the
scratch folder (``$IOT_BOTNET_BENCH_DIR``), never the repository, and are kept for later runs.

Each size runs in fresh child processes on an empty cache: ``parse`` is the first ``datasets.load`` (a file
over ``stream.STREAM_BYTES`` is parsed and cached in chunks), ``prepare`` is ``preprocess.prepare`` with the
defaults of notebook 01 for this data set (multi-class, dedup, stratified split, min-max, no SMOTE), each
array written to a folder as it is made, as notebook 01 writes them into its run folder; ``reload`` is a second
child's ``datasets.load`` from the warm cache. Peak RSS is ``ru_maxrss`` at the end of each step (the peak so
far), so the prepare column is the peak of load + prepare. At the sizes ``--runner`` names (default 47),
``notebook 01 (runner)`` runs the notebook itself through ``lib.runner`` on the same file from the warm cache
(its tables and figures too): the kernel's own peak (the notebook records it) and that of the whole process
tree (``/usr/bin/time``), and whether its arrays are ``prepare``'s, byte for byte (sha256 of each ``.npy``).

Usage: ``python benchmarks/bench_prepare.py [--copies 12,24,47] [--runner 47]``.
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

SOURCE = "cicids2017/ml_stripped_header_heads_10k"
JITTERED = "Flow Duration"


def jittered_csv(copies: int) -> Path:
    """The six day heads, header once, rows ``copies`` times with ``Flow Duration`` + copy number."""
    dst = common.scratch_dir() / "prepare" / f"cicids2017-x{copies}" / "MachineLearningCVE-jittered.csv"
    if dst.exists():
        return dst
    header, lines = None, []
    for src in sorted((common.mirror() / SOURCE).glob("*.csv")):
        head, *rows = src.read_text(encoding="utf-8").splitlines()
        if header is None:
            header = head
        elif head != header:
            raise ValueError(f"{src}: another header than the first file's")
        lines += [row.split(",") for row in rows if row]
    column = [name.strip() for name in header.split(",")].index(JITTERED)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".partial")
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(header + "\n")
        for k in range(copies):
            for row in lines:
                fh.write(",".join([*row[:column], str(int(row[column]) + k), *row[column + 1 :]]) + "\n")
    tmp.replace(dst)
    return dst


ARRAYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


def array_hashes(folder: Path) -> dict[str, str]:
    """sha256 of each prepared array's ``.npy`` file in ``folder`` (the same bytes ``np.save`` writes)."""
    from lib.io import sha256_file

    return {name: sha256_file(folder / f"{name}.npy") for name in ARRAYS}


def child(mode: str, path: str, folder: str) -> dict:
    from lib import datasets, preprocess

    def peak() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    start = time.perf_counter()
    df = datasets.load("cicids2017", files=path)
    out = {"mode": mode, "rows": len(df), "load_s": time.perf_counter() - start, "load_peak_mib": peak()}
    if mode == "parse":  # as notebook 01 calls it: each array written to a folder as it is made
        arrays = Path(folder)
        arrays.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        config = preprocess.PrepConfig(label_mode="multiclass")
        data, _, report = preprocess.prepare(df, config, out=lambda name: arrays / f"{name}.npy")
        out |= {
            "prepare_s": time.perf_counter() - start,
            "prepare_peak_mib": peak(),
            "rows_after_dedup": report.rows_after_dedup,
            "train_shape": list(data.X_train.shape),
            "array_sha256": array_hashes(arrays),
        }
    return out


def notebook(path: Path, folder: Path) -> list[str]:
    """The runner's command for notebook 01 alone on ``path`` with the CICIDS2017 defaults of ``prepare`` above
    (all rows, multi-class, no SMOTE), its run folder ``folder``."""
    return [
        "-m", "lib.runner", "--dataset", "cicids2017", "--only", "01",
        "-p", "DATA_FILES", str(path), "-p", "SAMPLE_ROWS", "0", "-p", "LABEL_MODE", "multiclass",
        "-p", "SMOTE", "False", "-p", "NAME", folder.name, "-p", "RUN_DIR", str(folder),
    ]  # fmt: skip


def measure(copies: int, runner: bool) -> list[dict]:
    path = jittered_csv(copies)
    scratch = common.scratch_dir() / f"prepare-x{copies}-run"
    cache = common.scratch_dir() / f"cache-prepare-x{copies}"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    env = {"IOT_BOTNET_CACHE_DIR": str(cache)}
    script = str(Path(__file__).resolve())
    arrays = scratch / "arrays"
    try:
        results = [
            common.run_child([script, "--child", mode, str(path), str(arrays)], env=env) for mode in ("parse", "reload")
        ]
        if runner:  # notebook 01 through the runner, from the warm cache: the kernel's peak and the whole run's
            run_dir = scratch / f"bench-prepare-x{copies}"
            start = time.perf_counter()
            result = common.run_child(notebook(path, run_dir), env=env, json_line=False)
            prepared = run_dir / "prepared"
            info = json.loads((prepared / "manifest.json").read_text())["info"]
            results.append({
                "mode": "notebook 01 (runner)", "rows": results[0]["rows"], "seconds": time.perf_counter() - start,
                "kernel_peak_mib": info["peak_memory_mib"], "peak_rss_mib": result["peak_rss_mib"],
                "array_sha256": array_hashes(prepared),
            })  # fmt: skip
            results[-1]["arrays_as_prepare"] = results[-1]["array_sha256"] == results[0]["array_sha256"]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    for result in results:
        result |= {"copies": copies, "file_mib": path.stat().st_size / 2**20}
    results[1]["parse_over_reload"] = results[0]["load_s"] / results[1]["load_s"]
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "ARRAYS"), help=argparse.SUPPRESS)
    parser.add_argument("--copies", default="12,24,47", help="sizes, as copies of the 60,000 rows (47: 2.82 M)")
    parser.add_argument(
        "--runner", default="47", help="sizes (copies) at which notebook 01 also runs through the runner (empty: none)"
    )
    parser.add_argument(
        "--name", default="bench_prepare", help="results file name (the benchmark block reads bench_prepare)"
    )
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return {}
    results = []
    runner = {int(c) for c in args.runner.split(",") if c.strip()}
    for copies in [int(c) for c in args.copies.split(",")]:
        print(f"[bench_prepare] x{copies} ...", flush=True)
        results += measure(copies, copies in runner)
    rows = [
        {
            "mode": r["mode"],
            "rows": r["rows"],
            "file MiB": r["file_mib"],
            "load s": r.get("load_s"),
            "peak RSS load MiB": r.get("load_peak_mib"),
            "rows after dedup": r.get("rows_after_dedup"),
            "prepare s": r.get("prepare_s", r.get("seconds")),
            "peak RSS load+prepare MiB": r.get("prepare_peak_mib", r.get("kernel_peak_mib")),
            "peak RSS of the process tree MiB": r.get("peak_rss_mib"),
            "arrays as prepare's": r.get("arrays_as_prepare"),
            "parse ÷ reload": r.get("parse_over_reload"),
        }
        for r in results
    ]
    print(common.table(rows))
    payload = {"versions": common.versions(), "results": results, "table": rows}
    out = common.write_results(args.name, payload)
    print(f"wrote {out.relative_to(common.REPO_ROOT)}")
    return payload


if __name__ == "__main__":
    main()
