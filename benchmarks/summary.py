"""The benchmark summary of ``benchmarks/README.md``, written from ``benchmarks/results/*.json`` (never typed by hand).

``python benchmarks/summary.py`` replaces the block between ``<!-- benchmarks:start -->`` and
``<!-- benchmarks:end -->`` in ``benchmarks/README.md`` with a table of the full-scale targets against the
latest figures of ``bench_prepare``, ``bench_stream`` (their full sizes; quick runs write ``*_quick.json``),
``bench_gpu`` (``gpu_h100.json``: ``bench_gpu.py --name gpu_h100``, as it was run), ``bench_score`` (the
scoring targets) and ``bench_dedup`` (the rows notebook 01's dedup keeps on each mirror): the measured value,
the target, whether it is met, and the results file and date it comes from. A target whose results file is
missing says so. ``--print`` shows the block without writing. ``run_all.py`` calls it after the benchmarks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
GIB = 1024
FULL_CICIDS_ROWS = 2_500_000  # the targets are for CICIDS2017's 2.83 M rows (bench_prepare --copies 47: 2.82 M)
FULL_ZEEK_MIB = 9_000  # and for a 10 GB conn log (bench_stream --mib 10240)
DEPLOY_RATE = 50_000  # flows/s of the deployment variant (notebook 04's PIPELINE=deploy) in batch, on 2 cores


def load(name: str, results: Path) -> dict[str, Any] | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _row(target: str, measured: str, goal: str, met: bool | None, source: dict | None, name: str) -> dict:
    verdict = "–" if met is None else ("met" if met else "**missed**")
    load = ((source or {}).get("machine") or {}).get("load_average_at_start")
    busy = f", load average {load[0]:.1f} on {source['machine']['cpus']} cores" if load else ""
    where = f"`{name}.json`, {source['date']}{busy}" if source else f"`{name}.json` missing: not measured"
    return {"target": target, "measured": measured, "goal": goal, "verdict": verdict, "from": where}


def prepare_rows(run: dict | None) -> list[dict]:
    name = "bench_prepare"
    if not run:
        return [_row("CICIDS2017 2.83 M rows: load + prepare", "–", "≤ 2 GiB peak RSS", None, None, name)]
    parses = sorted((r for r in run["results"] if r["mode"] == "parse"), key=lambda r: r["rows"])
    big = parses[-1]
    rows = [
        _row(
            f"CICIDS2017 {big['rows'] / 1e6:.2f} M rows: load + prepare peak RSS",
            f"{big['prepare_peak_mib'] / GIB:.2f} GiB (load alone {big['load_peak_mib'] / GIB:.2f} GiB)",
            "≤ 2 GiB",
            big["prepare_peak_mib"] <= 2 * GIB
            if big["rows"] >= FULL_CICIDS_ROWS
            else None,  # a smaller run: no verdict
            run,
            name,
        )
    ]
    if len(parses) > 1:
        per_row = [(r["load_s"] + r["prepare_s"]) / r["rows"] * 1e6 for r in parses]
        rows.append(
            _row(
                "load + prepare time linear in rows",
                " → ".join(f"{t:.1f}" for t in per_row) + " s per million rows at "
                + ", ".join(f"{r['rows'] / 1e6:.1f}" for r in parses) + " M",
                "constant per row",
                max(per_row) / min(per_row) < 1.5,
                run,
                name,
            )
        )  # fmt: skip
    notebooks = [r for r in run["results"] if r["mode"] == "notebook 01 (runner)" and r["rows"] == big["rows"]]
    if notebooks:
        nb = notebooks[0]
        tree = nb.get("peak_rss_mib")
        peak = max(nb["kernel_peak_mib"], tree or 0)
        same = "same arrays as `prepare`" if nb.get("arrays_as_prepare") else "**arrays differ from `prepare`'s**"
        rows.append(
            _row(
                f"CICIDS2017 {big['rows'] / 1e6:.2f} M rows: notebook 01 through the runner, peak RSS",
                f"{peak / GIB:.2f} GiB (kernel {nb['kernel_peak_mib'] / GIB:.2f} GiB; {same})",
                "≤ 2 GiB",
                peak <= 2 * GIB and bool(nb.get("arrays_as_prepare")) if big["rows"] >= FULL_CICIDS_ROWS else None,
                run,
                name,
            )
        )
    reloads = [r for r in run["results"] if r["mode"] == "reload" and r["rows"] == big["rows"]]
    if reloads:
        ratio = reloads[0]["parse_over_reload"]
        met = ratio >= 10 if big["rows"] >= FULL_CICIDS_ROWS else None
        rows.append(_row("cached reload vs first parse (CICIDS2017)", f"{ratio:.1f}x", "≥ 10x", met, run, name))
    return rows


def stream_rows(run: dict | None) -> list[dict]:
    name = "bench_stream"
    if not run:
        return [_row("10 GB Zeek log: stream, dedup, sample", "–", "≤ 4 GiB, ≥ 300 k flows/s", None, None, name)]
    stream = next(r for r in run["results"] if r["mode"] == "stream")
    size = f"{stream['file_mib'] / 1024:.1f} GiB Zeek log"
    full = stream["file_mib"] >= FULL_ZEEK_MIB  # the targets are for a 10 GB log; a smaller run gets no verdict
    rows = [
        _row(
            f"{size}: streamed to Parquet",
            f"{stream['flows_per_s'] / 1e3:,.0f} k flows/s ({stream['rows'] / 1e6:.1f} M flows in "
            f"{stream['seconds']:,.0f} s), peak {stream['peak_rss_mib'] / GIB:.2f} GiB",
            "≥ 300 k flows/s, ≤ 4 GiB",
            stream["flows_per_s"] >= 300e3 and stream["peak_rss_mib"] <= 4 * GIB if full else None,
            run,
            name,
        )
    ]
    sample = next((r for r in run["results"] if r["mode"].startswith("sample")), None)
    if sample:
        rows.append(
            _row(
                f"{size}: {sample['mode']} rows drawn from the cache, then dedup",
                f"{sample['seconds']:,.0f} s, peak {sample['peak_rss_mib'] / GIB:.2f} GiB "
                f"({sample['rows_kept']:,} rows, {sample['rows_after_dedup']:,} after dedup)",
                "≤ 4 GiB",
                sample["peak_rss_mib"] <= 4 * GIB if full else None,
                run,
                name,
            )
        )
        ratio = sample["parse_over_sample"]
        rows.append(
            _row(
                f"{size}: the sample from the cache vs the first parse (not a whole reload)",
                f"{ratio:.1f}x",
                "(≥ 10x is the whole reload's target)",
                None,
                run,
                name,
            )
        )
    return rows


def gpu_rows(run: dict | None) -> list[dict]:
    name = "gpu_h100"
    if not run:
        return [_row("deep models on a GPU", "–", "measured", None, None, name)]
    devices = run["backend"].get("devices") or ["?"]
    device = next((d for d in devices if "cuda" in d.lower() or "gpu" in d.lower()), devices[0])
    rows = []
    for r in run["throughput"]:
        if r["precision"] != "float32" or "error" in r:
            continue
        rows.append(
            _row(
                f"{r['model']} on {device} ({run['backend']['backend']}), float32",
                f"train {r['train_b256_flows_per_s'] / 1e3:,.0f} k flows/s (batch 256), predict "
                f"{r['predict_b8192_flows_per_s'] / 1e6:.2f} M flows/s",
                "measured",
                None,
                run,
                name,
            )
        )
    return rows


def score_rows(run: dict | None) -> list[dict]:
    """The scoring targets: ``iot-botnet score`` in batch, and follow mode at 5,000 flows/s with p99 < 1 s."""
    name = "bench_score"
    if not run:
        return [_row("scoring: follow mode at 5,000 flows/s", "–", "p99 < 1 s", None, None, name)]
    rows = []
    for config in run["configs"].values():
        detector, follow = config["detector"], config["follow"]
        networks = detector["networks"]
        runtime = detector.get("runtime", "predict")
        model = f"{networks} network{'s' if networks != 1 else ''}"
        if detector.get("student") == "trees":  # the deployment variant's boosted-tree student: no network
            model = "tree student"
        what = f"{detector['pipeline']} ({model}, runtime {runtime})"
        rate = config["batch"]["score_file_flows_per_s"]
        deploy = detector.get("variant") == "deploy"  # the deployment variant's own target in batch
        target, met = (f"≥ {DEPLOY_RATE:,} flows/s", rate >= DEPLOY_RATE) if deploy else ("measured", None)
        rows.append(
            _row(f"`iot-botnet score` of a Zeek log, {what}", f"{rate:,.0f} flows/s", target, met, run, name)
        )  # fmt: skip
        rows.append(
            _row(
                f"follow mode at {follow['rate_achieved']:,.0f} flows/s, {what}",
                f"{follow['flows_scored']:,} of {follow['flows_appended']:,} flows scored, latency p50 "
                f"{follow['latency_p50_ms']:,.0f} ms, p99 {follow['latency_p99_ms']:,.0f} ms",
                "keeps up at 5,000 flows/s, p99 < 1 s",
                bool(follow["kept_up"]) if follow["rate_target"] >= 5_000 else None,
                run,
                name,
            )
        )
    return rows


def dedup_rows(run: dict | None) -> list[dict]:
    """Per mirror, what dedup keeps at the default ``DEDUP_DIGITS`` and ``DEDUP_CONFLICTS`` (no target: the
    counts are data/README.md's), with the followed class against the key notebook 01 used before."""
    name = "bench_dedup"
    if not run:
        return [_row("dedup of the mirrors at the default DEDUP_DIGITS", "–", "measured", None, None, name)]
    digits, rule = run["defaults"]["digits"], run["defaults"]["conflicts"]
    rows = []
    for result in run["results"]:
        entry = next((e for e in result["by_digits"] if e["digits"] == digits), None)
        if entry is None:
            continue
        counts = entry["rules"][rule]
        measured = (
            f"{counts['rows_before']:,} → {counts['rows_after']:,} rows ({counts['exact copies removed']:,} exact "
            f"copies, {counts['rounded copies removed']:,} rounded, {counts['conflicting rows dropped']:,} "
            f"conflicting dropped)"
        )
        focus = result.get("focus")
        if focus:
            kept = counts["per_class"][focus]
            old = result["old_key"]["per_class"].get(focus, 0)
            measured += f"; {focus} {kept['before']:,} → {kept['after']:,} (features + label_detail: {old:,})"
        target = f"dedup of the {result['dataset']} mirror, `DEDUP_DIGITS={digits}`, `DEDUP_CONFLICTS={rule}`"
        rows.append(_row(target, measured, "measured", None, run, name))
    return rows


def block(results: Path = common.RESULTS_DIR) -> str:
    rows = prepare_rows(load("bench_prepare", results)) + stream_rows(load("bench_stream", results))
    rows += gpu_rows(load("gpu_h100", results)) + score_rows(load("bench_score", results))
    rows += dedup_rows(load("bench_dedup", results))
    intro = (
        "Generated by `benchmarks/summary.py` from `benchmarks/results/` (run `make bench`, or the script alone "
        "after any benchmark); do not edit by hand."
    )
    return f"{START}\n{intro}\n\n{common.table(rows)}\n{END}"


def write(readme: Path, text: str) -> None:
    content = readme.read_text()
    if START not in content or END not in content:
        raise SystemExit(f"{readme}: no {START} ... {END} block to replace; add the two markers where it goes")
    head, rest = content.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + text + tail)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="show the block, do not write the README")
    parser.add_argument("--readme", default=str(common.REPO_ROOT / "benchmarks" / "README.md"))
    args = parser.parse_args(argv)
    text = block()
    if args.print:
        print(text)
    else:
        write(Path(args.readme), text)
        print(f"wrote the benchmark summary into {args.readme}")
    return text


if __name__ == "__main__":
    main()
