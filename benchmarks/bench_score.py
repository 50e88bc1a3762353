"""Scoring command (``lib/score/``): batch throughput and follow-mode latency on a Zeek conn log.

Input: the IoT-23 mirror's ``CTU-IoT-Malware-Capture-34-1/bro/conn.log.labeled`` (23,145 flows): its header
lines, then its data lines repeated to ``--flows`` flows, in a temporary folder under
``$IOT_BOTNET_BENCH_DIR`` (removed at the end).

0. **components** -- the first ``--component-rows`` flows of the batch log through each step of
   ``Detector.score`` alone (transform, fold networks, meta-classifier or the deployment variant's student,
   anomaly branch), through all of it, and written as CSV: rows/s of each, where a batch's time goes.
1. **batch** -- ``score.score_file(detector, log, out.csv)``, flows/s; the same run's reference is the parse
   alone (the log read through ``score.read_batches``, nothing scored), and the ratio of the two.
2. **follow** -- the log starts as its header only; a writer subprocess appends data lines at ``--rate``
   flows/s in bursts every ``--burst-ms`` ms and records, per burst, ``time.time()`` after its write + flush and
   the number of its last line; the main process runs ``score.follow(..., interval=0.05, idle_seconds=3)``,
   whose ``on_batch`` callback records ``time.time()`` and the rows of each output frame right after it was
   written and flushed. Latency of a flow = its verdict time - the append time of its burst: p50, p99, max;
   kept up = every appended flow scored with p99 < 1 s. A configuration that does not keep up is followed
   again at ``--fallback-fraction`` (0.5) of its batch flows/s: does follow mode sustain that rate at all
   (every flow scored, the latency of the last third of the appends no higher than that of the first), and
   at what latency.

Detectors: ``--run-dir`` (a run whose notebooks 01-05 ran: ``score.Detector.load``) and ``--pipeline-run``
(a study run whose ``fusion/pipeline`` is the full study configuration but which has no ``anomaly/detector``:
the Detector is built here from that pipeline, with a kNN anomaly branch (k=1, 1 % FPR) fitted on the run's
prepared rows). Each is measured when its folder exists, first with each network's own ``predict`` (the
reference of the ratios), then with the runtime ``iot-botnet score --runtime auto`` chooses by measurement
(``lib.fusion.runtime``: every fold network in one graph, or each network's fold copies stacked into one,
XLA-compiled or not) where it is another. The study
pipeline's deployment variant (``lib.fusion.deploy``: one small model distilled from it on the run's prepared
training and validation rows, as notebook 04 does, the same anomaly branch) is distilled here and measured too
(``--no-deploy``: not); its agreement with the full pipeline on the run's test rows is recorded.

Usage: ``python benchmarks/bench_score.py [--quick] [--run-dir DIR] [--pipeline-run DIR] [--only detect|study]
[--runtimes ''] [--no-deploy]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DEFAULT_RUN_DIR = "runs/iot23-detect"  # the IoT-23 study's detect step (notebooks 01-05 and 07)
DEFAULT_PIPELINE_RUN = "runs/iot23"  # the IoT-23 main run (its fusion/pipeline)
TARGET_RATE = 5_000
TARGET_P99_S = 1.0
TARGET_DEPLOY_RATE = 50_000

# The writer: appends the data lines of LINES (cycled) to LOG at RATE flows/s, a burst every BURST seconds,
# for SECONDS; records per burst the time.time() after write + flush and the 1-based number of its last flow.
WRITER = textwrap.dedent(
    """
    import json, sys, time
    lines_file, log, rate, seconds, burst, record = sys.argv[1:7]
    rate, seconds, burst = float(rate), float(seconds), float(burst)
    lines = open(lines_file, "rb").read().splitlines(keepends=True)
    n_lines, total = len(lines), int(rate * seconds)
    times, lasts = [], []
    written = 0
    with open(log, "ab", buffering=0) as out:
        start = time.time()
        tick = 0
        while written < total:
            tick += 1
            due = min(total, int(round(rate * burst * tick)))
            if due > written:
                out.write(b"".join(lines[i % n_lines] for i in range(written, due)))
                written = due
                times.append(time.time())
                lasts.append(written)
            pause = start + burst * tick - time.time()
            if pause > 0:
                time.sleep(pause)
        end = time.time()
    json.dump({"times": times, "lasts": lasts, "start": start, "end": end}, open(record, "w"))
    """
)


# --------------------------------------------------------------------------------------------------- detectors
def describe(detector: Any, origin: str) -> dict[str, Any]:
    m = detector.pipeline.manifest
    folds = detector.pipeline.model.fold_models
    return {
        "origin": origin,
        "run": str(detector.run_dir),
        "pipeline": m.get("contender"),
        "variant": m.get("variant", "full"),
        "runtime": detector.pipeline.runtime,
        "deep_models": m.get("deep_models"),
        "k_folds": m.get("k_folds"),
        "networks": int(sum(len(fold) for fold in folds)) if folds else int(detector.pipeline.model.kind == "mlp"),
        "inputs": m.get("inputs"),
        "feature_columns": len(detector.pipeline.feature_columns),
        "model_inputs": len(detector.input_names),
        "anomaly_branch": detector.manifest.get("candidate"),
        "anomaly_reference_rows": getattr(detector.anomaly, "n_fit_rows", None),
    }


def load_run(run_dir: Path) -> Any:
    from lib import score

    return score.Detector.load(run_dir)


def build_from_pipeline(path: Path) -> Any:
    """A Detector from a run with ``fusion/pipeline`` but no ``anomaly/detector``: a kNN branch (k=1, 1 % FPR)
    fitted here on the run's prepared rows, as notebook 05 would save it."""
    from lib import anomaly, fusion, run, score

    score.import_keras_quietly()
    folder = run.RunDir(path)
    fusion_stage = folder.open("fusion")
    pipeline = fusion.load_pipeline(fusion_stage.file("pipeline"))
    X, y = folder.load_prepared().arrays()
    knn = anomaly.fit_knn(X["train"], y["train"], X["val"], y["val"], target_fpr=0.01, seed=common.SEED, k=1)
    training = folder.open("prepared").provenance() | {"test_sources": []}
    knn, manifest, arrays = anomaly.scoring_bundle(
        pipeline, knn, X, y, 0.01, training=training, pipeline_fingerprint=fusion_stage.fingerprint
    )
    manifest["threshold"] = knn.threshold
    return score.Detector(Path(path), pipeline, knn, manifest, arrays)


def distilled_from(detector: Any, path: Path) -> tuple[Any, dict[str, Any]]:
    """The deployment variant of ``detector``'s full pipeline (:func:`lib.fusion.deploy.distil` on the run's
    prepared training and validation rows, as notebook 04 distils it) with the same anomaly branch, and what the
    distillation gave: the student kept, every student's validation cross-entropy to the full pipeline, its epochs
    (rounds for trees), seconds and agreement with the full pipeline on the run's test rows."""
    from lib import anomaly, fusion, run, score
    from lib.fusion import deploy

    folder = run.RunDir(path)
    X, y = folder.load_prepared().arrays()
    full = detector.pipeline
    start = time.perf_counter()
    student = deploy.distil(full.model, X["train"], X["val"], seed=common.SEED)
    seconds = time.perf_counter() - start
    manifest = {k: v for k, v in full.manifest.items() if k not in ("deep_models", "k_folds", "inputs")}
    manifest |= {"variant": "deploy", "contender": student.contender}
    pipeline = fusion.FusionPipeline(full.preprocessor, student, full.class_names, full.ignored_columns, manifest)
    training = folder.open("prepared").provenance() | {"test_sources": []}
    branch, bundle, arrays = anomaly.scoring_bundle(
        pipeline, detector.anomaly, X, y, 0.01, training=training, pipeline_fingerprint="distilled in the benchmark"
    )
    bundle["threshold"] = branch.threshold
    agreement = deploy.agreement(student.predict_proba(X["test"]), full.score_features(X["test"]))
    record = {
        "student": student.kind,
        "val_cross_entropy": student.tried,
        "epochs": len(student.history.get("loss", [])),
        "distil_s": seconds,
        "test_agreement": agreement,
    }
    return score.Detector(Path(path), pipeline, branch, bundle, arrays), record


# --------------------------------------------------------------------------------------------------- inputs
def source_lines() -> tuple[list[bytes], list[bytes]]:
    """The 34-1 log's header lines (``#close`` left out) and data lines."""
    lines = (common.mirror() / common.IOT23_SAMPLE).read_bytes().splitlines()
    header = [ln for ln in lines if ln.startswith(b"#") and not ln.startswith(b"#close")]
    data = [ln for ln in lines if ln and not ln.startswith(b"#")]
    return header, data


def write_log(path: Path, header: list[bytes], data: list[bytes], n_flows: int, close: bool) -> Path:
    body = b"\n".join(data) + b"\n"
    full, rest = divmod(n_flows, len(data))
    with open(path, "wb") as fh:
        fh.write(b"\n".join(header) + b"\n")
        for _ in range(full):
            fh.write(body)
        if rest:
            fh.write(b"\n".join(data[:rest]) + b"\n")
        if close:
            fh.write(b"#close\t" + time.strftime("%Y-%m-%d-%H-%M-%S").encode() + b"\n")
    return path


# ----------------------------------------------------------------------------------------------- components
def components(detector: Any, log: Path, rows: int, repeats: int = 5) -> dict[str, Any]:
    """Where a batch's time goes: the first ``rows`` flows of ``log`` through each step of ``Detector.score``
    alone (the preprocessor's transform, the fold networks, the meta-classifier or the one network of the
    deployment variant, the anomaly branch), through all of it, and written as CSV; rows/s of each (the median of
    ``repeats`` calls after a warm-up call)."""
    import io as text_io

    from lib import score

    batch = next(iter(score.read_batches(log, score.Tally(), rows, detector.benign_labels)))
    pipeline, thresholds = detector.pipeline, detector.thresholds()
    X = np.asarray(pipeline.preprocessor.transform(batch[pipeline.feature_columns]), dtype=np.float32)
    outputs = pipeline.fold_outputs(X)
    scored = detector.score(batch, thresholds, score.Tally())
    steps = {"transform": lambda: pipeline.preprocessor.transform(batch[pipeline.feature_columns])}
    if outputs is None:
        steps["network"] = lambda: pipeline.score_features(X)
    else:
        steps["fold networks"] = lambda: pipeline.fold_outputs(X)
        steps["meta-classifier"] = lambda: pipeline.model.predict_proba(X, outputs)
    branch = getattr(detector.anomaly, "scorer", detector.anomaly)  # the scorer itself: Detector.score keeps the
    steps["anomaly branch"] = lambda: branch.score(X)  # scores of the arrays it saw last (by identity)
    steps["Detector.score"] = lambda: detector.score(batch, thresholds, score.Tally())
    steps["CSV of the output rows"] = lambda: scored.to_csv(text_io.StringIO(), index=False)
    measured = {}
    for name, step in steps.items():
        step()
        seconds = common.median(common.repeat(step, repeats)[0])
        measured[name] = {"seconds": seconds, "rows_per_s": len(batch) / seconds}
    return {"rows": len(batch), "steps": measured}


# --------------------------------------------------------------------------------------------------- batch
def bench_batch(detector: Any, log: Path, out: Path, n_flows: int) -> dict[str, Any]:
    from lib import score

    def parse() -> int:
        tally = score.Tally()
        return sum(len(b) for b in score.read_batches(log, tally, score.BATCH_ROWS, detector.benign_labels))

    start = time.perf_counter()
    parsed = parse()
    parse_s = time.perf_counter() - start
    start = time.perf_counter()
    summary = score.score_file(detector, log, out)
    score_s = time.perf_counter() - start
    assert parsed == n_flows and summary["flows_scored"] == n_flows, (parsed, summary["flows_scored"], n_flows)
    return {
        "flows": n_flows,
        "file_mib": log.stat().st_size / 2**20,
        "parse_s": parse_s,
        "parse_flows_per_s": n_flows / parse_s,
        "score_file_s": score_s,
        "score_file_flows_per_s": n_flows / score_s,
        "score_over_parse": parse_s / score_s,
        "alerts": summary["alerts"],
        "rows_rejected": summary["rows_rejected"],
        "drift_columns": len(summary["drift_far_outside_training_range"]),
    }


# --------------------------------------------------------------------------------------------------- follow
def bench_follow(
    detector: Any, folder: Path, header: list[bytes], data: list[bytes], rate: float, seconds: float, burst_s: float
) -> dict[str, Any]:
    from lib import score

    log, out = folder / "follow_conn.log", folder / "follow_scored.csv"
    lines_file, record, script = folder / "lines.txt", folder / "writer_record.json", folder / "writer.py"
    log.write_bytes(b"\n".join(header) + b"\n")  # the header only; no #close
    lines_file.write_bytes(b"\n".join(data) + b"\n")
    script.write_text(WRITER)
    out.unlink(missing_ok=True)
    verdicts: list[tuple[float, np.ndarray]] = []

    def on_batch(frame: Any) -> None:
        verdicts.append((time.time(), frame["row"].to_numpy(copy=True)))

    cmd = [sys.executable, str(script), str(lines_file), str(log), str(rate), str(seconds), str(burst_s), str(record)]
    writer = subprocess.Popen(cmd)
    try:
        summary = score.follow(
            detector, log, out, interval=0.05, idle_seconds=3, max_seconds=seconds + 30, on_batch=on_batch
        )
    finally:
        if writer.poll() is None:
            try:
                writer.wait(timeout=seconds + 60)
            except subprocess.TimeoutExpired:
                writer.kill()
                writer.wait()
    if writer.returncode != 0:
        raise RuntimeError(f"the writer failed ({writer.returncode})")
    rec = json.loads(record.read_text())
    times, lasts = np.asarray(rec["times"]), np.asarray(rec["lasts"])
    appended = int(lasts[-1]) if len(lasts) else 0
    rows = np.concatenate([r for _, r in verdicts]) if verdicts else np.zeros(0, dtype=np.int64)
    when = np.concatenate([np.full(len(r), t) for t, r in verdicts]) if verdicts else np.zeros(0)
    burst = np.searchsorted(lasts, rows, side="left")  # the first burst whose last line is at or after the row
    latency = when - times[burst]
    unique_rows = np.unique(rows)
    scored_all = len(unique_rows) == appended and len(rows) == appended
    pct = (lambda q: float(np.percentile(latency, q)) * 1e3) if len(latency) else (lambda q: float("nan"))
    third = int(len(times) / 3)
    early = latency[burst < third] if len(latency) else latency  # the first third of the appends
    late = latency[burst >= 2 * third] if len(latency) else latency  # the last third: a growing backlog shows here
    unscored = appended - len(unique_rows)
    # over every appended flow, an unscored one counting as infinitely late: known only if under 1 % are unscored
    p99_all = (
        float(np.percentile(np.concatenate([latency, np.full(unscored, np.inf)]), 99)) * 1e3
        if len(latency) and unscored <= 0.01 * appended
        else None
    )
    sizes = np.asarray([len(r) for _, r in verdicts])
    p99 = pct(99)
    return {
        "rate_target": rate,
        "seconds_target": seconds,
        "burst_ms": burst_s * 1e3,
        "bursts": len(times),
        "flows_appended": appended,
        "append_seconds": rec["end"] - rec["start"],
        "rate_achieved": appended / (times[-1] - rec["start"]) if len(times) else float("nan"),
        "flows_scored": int(summary["flows_scored"]),
        "flows_with_verdict": len(unique_rows),
        "flows_unscored": int(unscored),
        "scored_all": bool(scored_all),
        "latency_p50_ms": pct(50),
        "latency_p99_ms": p99,
        "latency_max_ms": float(latency.max() * 1e3) if len(latency) else float("nan"),
        "latency_mean_ms": float(latency.mean() * 1e3) if len(latency) else float("nan"),
        "latency_p99_all_appended_ms": p99_all,
        "latency_p99_first_third_ms": float(np.percentile(early, 99) * 1e3) if len(early) else float("nan"),
        "latency_p99_last_third_ms": float(np.percentile(late, 99) * 1e3) if len(late) else float("nan"),
        "output_batches": len(verdicts),
        "batch_flows_median": float(np.median(sizes)) if len(sizes) else float("nan"),
        "batch_flows_max": int(sizes.max()) if len(sizes) else 0,
        "follow_seconds": summary["seconds"],
        "kept_up": bool(scored_all and p99 < TARGET_P99_S * 1e3),
    }


def report(f: dict[str, Any]) -> None:
    print(
        f"  {f['rate_achieved']:,.0f} flows/s appended: p50 {f['latency_p50_ms']:,.0f} ms, p99 {f['latency_p99_ms']:,.0f} ms "
        f"(first third {f['latency_p99_first_third_ms']:,.0f}, last third {f['latency_p99_last_third_ms']:,.0f}), "
        f"scored {f['flows_with_verdict']:,} of {f['flows_appended']:,} in {f['output_batches']} batches, "
        f"kept up: {f['kept_up']}",
        flush=True,
    )


# --------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30,000-flow batch log, 10 s follow test")
    parser.add_argument("--run-dir", default=DEFAULT_RUN_DIR, help="a run with notebooks 01-05 done ('' to skip)")
    parser.add_argument(
        "--pipeline-run", default=DEFAULT_PIPELINE_RUN, help="a study run with fusion/pipeline ('' to skip)"
    )
    parser.add_argument("--only", choices=("detect", "study"), default=None, help="measure one configuration")
    parser.add_argument("--flows", type=int, default=None, help="flows of the batch log (default 200,000)")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="follow: flows appended per second")
    parser.add_argument("--seconds", type=float, default=None, help="follow: seconds of appending (default 30)")
    parser.add_argument("--burst-ms", type=float, default=10.0, help="follow: milliseconds between bursts")
    parser.add_argument(
        "--component-rows", type=int, default=8192, help="rows of the batch each scoring step is timed on"
    )
    parser.add_argument(
        "--runtimes", default="auto", help="'auto': also measure the runtime the scorer chooses ('' to skip)"
    )
    parser.add_argument(
        "--no-deploy", dest="deploy", action="store_false",
        help="do not distil and measure the deployment variant of the study pipeline",
    )  # fmt: skip
    parser.add_argument(
        "--fallback-fraction", type=float, default=0.5,
        help="a configuration that does not keep up at --rate is followed again at this fraction of its batch "
        "flows/s (0: not)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    n_flows = args.flows or (30_000 if args.quick else 200_000)
    seconds = args.seconds or (10.0 if args.quick else 30.0)

    load_before = os.getloadavg()
    header, data = source_lines()
    configs: list[tuple[str, Path, Any]] = []
    if args.run_dir and args.only in (None, "detect"):
        if (Path(args.run_dir) / "anomaly" / "detector").is_dir():
            configs.append(("detect", Path(args.run_dir), load_run))
        else:
            print(f"[bench_score] {args.run_dir}: no anomaly/detector folder, skipped", flush=True)
    if args.pipeline_run and args.only in (None, "study"):
        if (Path(args.pipeline_run) / "fusion" / "pipeline").is_dir():
            configs.append(("study", Path(args.pipeline_run), build_from_pipeline))
        else:
            print(f"[bench_score] {args.pipeline_run}: no fusion/pipeline folder, skipped", flush=True)
    if not configs:
        raise SystemExit("nothing to measure: neither --run-dir nor --pipeline-run is usable")

    folder = Path(tempfile.mkdtemp(prefix="bench_score_", dir=common.scratch_dir()))
    results: dict[str, Any] = {}

    def measure(name: str, detector: Any, info: dict[str, Any]) -> None:
        """Batch, follow at ``--rate`` and, where that falls behind, follow at a fraction of the batch rate."""
        print(f"[bench_score] {name}: {json.dumps(info)}", flush=True)
        parts = components(detector, batch_log, args.component_rows)
        print(
            "  " + ", ".join(f"{k} {v['rows_per_s']:,.0f}" for k, v in parts["steps"].items()) + " rows/s", flush=True
        )
        print(f"[bench_score] {name}: batch, {n_flows:,} flows ...", flush=True)
        batch = bench_batch(detector, batch_log, folder / f"scored_{len(results)}.csv", n_flows)  # one per config
        print(
            f"  score_file {batch['score_file_flows_per_s']:,.0f} flows/s, parse {batch['parse_flows_per_s']:,.0f}",
            flush=True,
        )
        print(f"[bench_score] {name}: follow, {args.rate:,.0f} flows/s for {seconds:g} s ...", flush=True)
        load_follow = os.getloadavg()
        follow = bench_follow(detector, folder, header, data, args.rate, seconds, args.burst_ms / 1e3)
        follow["load_average_at_start"] = load_follow
        report(follow)
        results[name] = {"detector": info, "components": parts, "batch": batch, "follow": follow}
        if not follow["kept_up"]:
            results[name]["sustainable_rate_from_batch"] = batch["score_file_flows_per_s"]
            if args.fallback_fraction > 0:
                rate = max(100.0, round(args.fallback_fraction * batch["score_file_flows_per_s"], -2))
                print(f"[bench_score] {name}: follow again at {rate:,.0f} flows/s for {seconds:g} s ...", flush=True)
                load_follow = os.getloadavg()
                again = bench_follow(detector, folder, header, data, rate, seconds, args.burst_ms / 1e3)
                again["load_average_at_start"] = load_follow
                report(again)
                results[name]["follow_fallback"] = again

    try:
        batch_log = write_log(folder / "conn.log", header, data, n_flows, close=True)
        for name, path, loader in configs:
            print(f"[bench_score] {name}: loading {path} ...", flush=True)
            start = time.perf_counter()
            detector = loader(path)
            load_s = time.perf_counter() - start
            origin = "Detector.load" if loader is load_run else "built from fusion/pipeline + kNN"
            detector.use_runtime("predict")  # the reference: each network's own predict, one at a time
            info = describe(detector, origin) | {"load_s": load_s}
            measure(name, detector, info)
            start = time.perf_counter()
            chosen = detector.use_runtime("auto") if args.runtimes == "auto" else []
            if detector.pipeline.runtime != "predict":
                measure(f"{name}, {detector.pipeline.runtime}", detector, describe(detector, origin) | {
                    "runtime_choice": chosen, "choice_s": time.perf_counter() - start})  # fmt: skip
            elif chosen:
                print(f"[bench_score] {name}: the measured choice is predict: {json.dumps(chosen)}", flush=True)
                results[name]["detector"]["runtime_choice"] = chosen
            if name == "study" and args.deploy:
                print(f"[bench_score] {name}: distilling the deployment variant ...", flush=True)
                distilled, record = distilled_from(detector, path)
                measure(f"{name}, deploy", distilled, describe(distilled, origin + ", distilled here") | record)
                del distilled
            del detector
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    reference = results.get("study", {}).get("batch", {}).get("score_file_flows_per_s")
    rows = []
    for name, r in results.items():
        d, b, f = r["detector"], r["batch"], r["follow"]
        rows.append(
            {
                "config": name,
                "pipeline": f"{d['pipeline']} {'+'.join(d['deep_models'] or [])} x{d['k_folds']} folds"
                if d.get("variant") != "deploy"
                else f"{d['pipeline']}: one network",
                "networks": d["networks"],
                "runtime": d.get("runtime"),
                "batch flows/s": b["score_file_flows_per_s"],
                "× study, predict": b["score_file_flows_per_s"] / reference if reference else None,
                "parse flows/s": b["parse_flows_per_s"],
                "score ÷ parse": b["score_over_parse"],
                "rate": f["rate_achieved"],
                "scored / appended": f"{f['flows_with_verdict']:,} / {f['flows_appended']:,}",
                "p50 ms": f["latency_p50_ms"],
                "p99 ms": f["latency_p99_ms"],
                "max ms": f["latency_max_ms"],
                "kept up": f["kept_up"],
            }
        )
        if "follow_fallback" in r:
            g = r["follow_fallback"]
            rows.append(
                {
                    "config": f"{name} (lower rate)",
                    "rate": g["rate_achieved"],
                    "scored / appended": f"{g['flows_with_verdict']:,} / {g['flows_appended']:,}",
                    "p50 ms": g["latency_p50_ms"],
                    "p99 ms": g["latency_p99_ms"],
                    "max ms": g["latency_max_ms"],
                    "kept up": g["kept_up"],
                }
            )
    print(common.table(rows))
    payload = {
        "mode": "quick" if args.quick else "full",
        "versions": common.versions(),
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "input": f"{common.IOT23_SAMPLE} (23,145 flows): header + data lines repeated",
        "target": f"follow keeps up at {TARGET_RATE:,} flows/s with p99 < {TARGET_P99_S:g} s; the deployment "
        f"variant scores {TARGET_DEPLOY_RATE:,} flows/s in batch",
        "reference": "each configuration's batch flows/s over the study pipeline's with each network's own predict, "
        "measured in this run (× study, predict), and over the parse alone (score ÷ parse)",
        "batch_flows": n_flows,
        "follow_seconds": seconds,
        "configs": results,
        "table": rows,
    }
    # a quick run writes bench_score_quick.json: the full-size results the benchmark block reads are kept
    path = common.write_results("bench_score_quick" if args.quick else "bench_score", payload)
    print(f"wrote {path.relative_to(common.REPO_ROOT)}")
    return payload


if __name__ == "__main__":
    main()
