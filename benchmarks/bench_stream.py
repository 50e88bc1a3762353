"""Streaming a large Zeek conn log into the Parquet cache: rows, seconds, flows/s and peak RSS.

The input is an IoT-23-format ``conn.log.labeled`` of about ``--mib`` MiB made from the mirror's
``CTU-IoT-Malware-Capture-34-1`` log (23 k flows, 2.8 MiB): its header once, then its records over and over,
copy ``k`` with jitter (``ts`` shifted past the previous copy, ``uid`` suffixed with ``k``, ``orig_bytes``
(where set) and ``orig_ip_bytes`` raised by ``k``), so that no copy repeats another and dedup cannot fold the
copies back (it keeps ``k`` times the original's distinct flows: 34-1's own repeated DDoS flows stay repeats),
then its ``#close`` footer. It is written under the scratch folder (``$IOT_BOTNET_BENCH_DIR``,
never the repository) and kept for later runs.

A fresh child process streams it into an empty cache with ``datasets.cache_entry`` (``stream.STREAM_BYTES``
set to ``stream.CHUNK_BYTES``, so that the file is parsed one chunk at a time and written row group by row
group, never loaded whole, at any size) and reports its peak RSS (``ru_maxrss``). ``--whole`` also times the whole-file parse of the
same file (``STREAM_BYTES`` raised above its size, as every file was read before streaming) for comparison.

``--sample N`` then draws ``SAMPLE_ROWS=N`` from the entry just written, in a second fresh child
(``datasets.load(sample_rows=N)``: the entry's label column, then only the sampled rows, row group by row
group) and removes the sample's exact duplicates as notebook 01 does: its seconds, rows and peak RSS, and
the parse's seconds over its own ("parse ÷ sample": what a sampled rerun saves against the first parse; not a
reload of the whole entry).

Usage: ``python benchmarks/bench_stream.py [--mib 300] [--chunk-mib 64] [--whole] [--sample 200000]``.
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

Record = tuple[float, str, str, int | None, str, int, str]


# --------------------------------------------------------------------------------------------------
# The input: the 34-1 log, its records repeated with jitter
# --------------------------------------------------------------------------------------------------
def jittered_log(mib: int) -> Path:
    """An IoT-23-format conn log of about ``mib`` MiB under the scratch folder (made once, then reused)."""
    src = common.mirror() / common.IOT23_SAMPLE
    dst = common.scratch_dir() / "stream" / f"iot23-34-1-{mib}MiB" / "bro" / "conn.log.labeled"
    if dst.exists():
        return dst
    lines = src.read_text().splitlines()
    header = [ln for ln in lines if ln.startswith("#") and not ln.startswith("#close")]
    footer = [ln for ln in lines if ln.startswith("#close")]
    fields = next(ln for ln in header if ln.startswith("#fields")).split("\t")[1:]
    records = [_split(ln.split("\t"), fields) for ln in lines if not ln.startswith("#")]
    shift = records[-1][0] - records[0][0] + 1.0  # each copy starts after the previous one ends
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".partial")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write("\n".join(header) + "\n")
        k = 0
        while fh.tell() < mib * 2**20:
            fh.write(_copy(records, k, shift))
            k += 1
        fh.write("".join(line + "\n" for line in footer))
    tmp.replace(dst)
    return dst


def _split(values: list[str], fields: list[str]) -> Record:
    """A record as (ts, uid, fields up to orig_bytes, orig_bytes, fields up to orig_ip_bytes, orig_ip_bytes,
    the rest): the parts a copy changes, and the text between them."""
    ob, oib = fields.index("orig_bytes"), fields.index("orig_ip_bytes")
    orig_bytes = None if values[ob] == "-" else int(values[ob])
    return (
        float(values[0]),
        values[1],
        "\t".join(values[2:ob]),
        orig_bytes,
        "\t".join(values[ob + 1 : oib]),
        int(values[oib]),
        "\t".join(values[oib + 1 :]),
    )


def _copy(records: list[Record], k: int, shift: float) -> str:
    """Copy ``k`` of the records: ts + k * shift, uid + 'x<k>', orig_bytes and orig_ip_bytes + k."""
    return "".join(
        f"{ts + k * shift:.6f}\t{uid}x{k:x}\t{a}\t{'-' if ob is None else ob + k}\t{b}\t{oib + k}\t{rest}\n"
        for ts, uid, a, ob, b, oib, rest in records
    )


# --------------------------------------------------------------------------------------------------
# Child process: one measurement
# --------------------------------------------------------------------------------------------------
def child(mode: str, path: str, chunk_mib: int) -> dict:
    from lib import datasets
    from lib.datasets import stream

    path = Path(path)
    if mode.startswith("sample"):
        return sample_child(path, int(mode.removeprefix("sample")))
    stream.CHUNK_BYTES = chunk_mib * 2**20
    # stream: every file over one chunk is streamed (at the default sizes, files over 256 MiB); whole: as every
    # file was read before streaming, its bytes and frame whole in memory
    stream.STREAM_BYTES = stream.CHUNK_BYTES if mode == "stream" else path.stat().st_size + 1
    start = time.perf_counter()
    datasets.file_sha256(path)  # the cache key, remembered for cache_entry
    sha256_s = time.perf_counter() - start
    start = time.perf_counter()
    entry = datasets.cache_entry(path, datasets.read_zeek_conn)
    seconds = time.perf_counter() - start
    record = json.loads(entry.with_suffix(".json").read_text())
    return {
        "mode": mode,
        "rows": record["rows"],
        "chunks": record.get("chunks", 1),
        "seconds": seconds,
        "sha256_s": sha256_s,
        "entry_mib": entry.stat().st_size / 2**20,
        "self_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def sample_child(path: Path, n: int) -> dict:
    """``SAMPLE_ROWS=n`` from the warm cache entry (its label column, then only the sampled rows), then the
    sample's removal of copies as notebook 01 does it (``preprocess.deduplicate`` over the features)."""
    from lib import datasets, preprocess

    start = time.perf_counter()
    # the IoT-23 reader, as the stream child used: its cache entry (another reader would parse the file again)
    df = datasets.load("iot23", files=str(path), sample_rows=n, seed=common.SEED)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    deduplicated, _ = preprocess.deduplicate(df, datasets.feature_columns(df))
    removed = len(df) - len(deduplicated)
    return {
        "mode": f"sample {n:,}",
        "rows": df.attrs["sample"]["rows_read"],
        "rows_kept": len(df),
        "rows_after_dedup": len(deduplicated),
        "duplicates_removed": removed,
        "seconds": load_s + time.perf_counter() - start,
        "load_s": load_s,
        "self_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# --------------------------------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------------------------------
def measure(path: Path, mode: str, chunk_mib: int, sample: int = 0) -> list[dict]:
    """``mode``'s child on an empty cache; with ``sample``, a second child samples from the entry it wrote."""
    cache = common.scratch_dir() / f"cache-stream-{mode}"
    shutil.rmtree(cache, ignore_errors=True)
    env = {"IOT_BOTNET_CACHE_DIR": str(cache)}
    script = str(Path(__file__).resolve())
    try:
        results = [common.run_child([script, "--child", mode, str(path), str(chunk_mib)], env=env)]
        if sample:
            results.append(common.run_child([script, "--child", f"sample{sample}", str(path), "0"], env=env))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    for result in results:
        result["file_mib"] = path.stat().st_size / 2**20
        result["flows_per_s"] = None if result["mode"].startswith("sample") else result["rows"] / result["seconds"]
    if sample:
        results[1]["parse_over_sample"] = results[0]["seconds"] / results[1]["seconds"]
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "CHUNK_MIB"), help=argparse.SUPPRESS)
    parser.add_argument("--mib", type=int, default=300, help="size of the generated log in MiB (default 300)")
    parser.add_argument("--chunk-mib", type=int, default=64, help="stream.CHUNK_BYTES in MiB (default 64)")
    parser.add_argument("--whole", action="store_true", help="also parse the file whole, for comparison")
    parser.add_argument("--sample", type=int, default=0, help="then SAMPLE_ROWS from the cache, and dedup (rows)")
    parser.add_argument(
        "--name", default="bench_stream", help="results file name (the benchmark block reads bench_stream)"
    )
    args = parser.parse_args(argv)
    if args.child:
        mode, path, chunk_mib = args.child
        print(json.dumps(child(mode, path, int(chunk_mib))))
        return {}

    start = time.perf_counter()
    path = jittered_log(args.mib)
    print(f"[bench_stream] input {path} ({path.stat().st_size / 2**20:,.0f} MiB, {time.perf_counter() - start:.1f} s)")
    results = measure(path, "stream", args.chunk_mib, args.sample)
    if args.whole:
        results += measure(path, "whole", args.chunk_mib)
    rows = [
        {
            "mode": r["mode"],
            "file MiB": r["file_mib"],
            "rows": r["rows"],
            "chunks": r.get("chunks"),
            "rows kept (dedup)": f"{r['rows_kept']:,} ({r['rows_after_dedup']:,})" if "rows_kept" in r else None,
            "seconds": r["seconds"],
            "flows/s": r["flows_per_s"],
            "(sha256 s)": r.get("sha256_s"),
            "entry MiB": r.get("entry_mib"),
            "peak RSS MiB": r["peak_rss_mib"],
        }
        for r in results
    ]
    print(common.table(rows))
    payload = {"versions": common.versions(), "chunk_mib": args.chunk_mib, "results": results, "table": rows}
    out = common.write_results(args.name, payload)
    print(f"wrote {out.relative_to(common.REPO_ROOT)}")
    return payload


if __name__ == "__main__":
    main()
