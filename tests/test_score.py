"""``iot-botnet score`` (lib/score/) and notebook 07, on a run trained at tiny size on the real IoT-23 mirror
with one capture (44-1) held out whole: the command scores its raw log, one output row per flow; a renamed
column, a binary file and a cut line are clear errors; the same flows as a CSV table score the same; follow
mode reads a log as it grows and across a rotation."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_notebooks import SAMPLE_ROWS, tiny_per_notebook

from lib import fusion, run, runner, score
from lib.datasets import DataError, schema

HELD_OUT = "CTU-IoT-Malware-Capture-44-1"
pytestmark = pytest.mark.smoke


@pytest.fixture(scope="module")
def detect_run(mirror, tmp_path_factory) -> Path:
    """Notebooks 01-05 and 07 through the runner at tiny size, 44-1 held out (the study's ``detect`` step), the
    deployment variant saved as the pipeline (the notebook chain of test_notebooks.py saves the full fusion)."""
    run_dir = tmp_path_factory.mktemp("detect") / "run"
    params = {"DATA_DIR": str(mirror), "RUN_DIR": str(run_dir), "SPLIT": "source", "TEST_SOURCES": HELD_OUT}
    params["PIPELINE"] = "deploy"
    only = ["01", "02", "03", "04", "05", "07"]
    # scoring is under test, not the zero-day test (the chain runs it): no family is held out here; the lean
    # models of tests/test_public_layouts.py, on a sample of the training captures
    lean = {"DEEP_MODELS": "cnn_lstm,mlp", "FUSION_DEEP_MODELS": "cnn_lstm", "DETECTORS": "autoencoder,knn"}
    per = tiny_per_notebook(FIGURES_DIR=str(run_dir.parent / "figures"), MIN_FAMILY_ROWS=10**9, **lean)
    params["SAMPLE_ROWS"] = SAMPLE_ROWS
    runner.run("iot23", params, only=only, per_notebook=per, log=lambda *_: None)
    return run_dir


@pytest.fixture(scope="module")
def held_out_log(mirror) -> Path:
    return mirror / "iot23" / HELD_OUT / "bro" / "conn.log.labeled"


@pytest.fixture(scope="module")
def detector(detect_run) -> score.Detector:
    return score.Detector.load(detect_run)


def flows_of(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line and not line.startswith(b"#")]


def command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lib.score", *args], capture_output=True, text=True, check=False)


def test_notebook_07_scores_the_held_out_capture(detect_run, held_out_log):
    stage = run.RunDir(detect_run).open("detect")
    scored = pd.read_csv(detect_run / "detect" / "scored" / "flows_0.csv", keep_default_na=False)
    assert len(scored) == len(flows_of(held_out_log))  # one row per flow of the log
    assert list(scored["row"]) == list(range(1, len(scored) + 1))
    assert set(scored["alert"]) <= {"", "fusion", "anomaly", "both"}
    confusion = stage.table("confusion").set_index("decision")
    attacks = int(scored["true_label"].ne("Benign").sum())
    assert (confusion["attack flows"] == attacks).all() and attacks == 26  # PROVENANCE.md: 26 malicious flows
    # the held-out capture reached no training row: its scenario is absent from the prepared training rows
    prepared = run.RunDir(detect_run).load_prepared()
    assert HELD_OUT not in set(prepared.rows["train"]["scenario"].astype(str))
    assert set(prepared.rows["test"]["scenario"].astype(str)) == {HELD_OUT}
    reader = (
        detect_run.parent / "figures" / run.RunDir(detect_run).name
    )  # the reader's copy, beside the paper's figures
    assert (reader / "alert_timeline.png").is_file()
    assert pd.read_csv(reader / "detect_confusion.csv").equals(stage.table("confusion").round(4))


def test_the_command_writes_one_row_per_flow_and_a_summary(detect_run, held_out_log, tmp_path):
    out = tmp_path / "alerts.parquet"
    done = command(
        "--model", str(detect_run / "fusion" / "pipeline"), "--input", str(held_out_log), "--output", str(out)
    )
    assert done.returncode == 0, done.stderr
    scored = pd.read_parquet(out)
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    n = len(flows_of(held_out_log))
    assert len(scored) == summary["flows_read"] == summary["flows_scored"] == n
    assert {"uid", "ts", "id.orig_h", "id.resp_p", "p_attack", "family", "anomaly_score", "alert"} <= set(scored)
    assert summary["alerts"] == int(scored["alert"].ne("").sum())
    assert "flows read" in done.stdout and "model:" in done.stderr and "oneDNN" not in done.stderr
    described = json.loads(next(line for line in done.stderr.splitlines() if line.startswith("model: "))[7:])
    assert described["variant"] == "deploy" and described["pipeline"] == "fusion_deploy"  # the variant it holds
    # the command's scores are the pipeline's scores of the same flows read in the notebook's way
    flows = score.read_input(held_out_log)
    expected = detector_attack_scores(detect_run, flows)
    np.testing.assert_allclose(scored["p_attack"].to_numpy(), expected, rtol=1e-5, atol=1e-6)


def detector_attack_scores(run_dir: Path, flows: pd.DataFrame) -> np.ndarray:
    pipeline = fusion.load_pipeline(run.RunDir(run_dir).open("fusion").file("pipeline"))
    return 1 - pipeline.score(flows[pipeline.feature_columns])[:, 0]


def test_fpr_option_sets_both_thresholds_on_benign_validation_scores(detector):
    saved, strict = detector.thresholds(), detector.thresholds(0.001)
    assert saved.fusion is None and saved.fpr is None
    for name, threshold in (("fusion_benign_val", strict.fusion), ("anomaly_benign_val", strict.anomaly)):
        assert (detector.arrays[name] > threshold).mean() <= 0.001
    with pytest.raises(ValueError, match="between 0 and 1"):
        detector.thresholds(1.5)


def test_an_unlabelled_log_and_the_same_flows_as_a_table_score_the_same(detect_run, detector, held_out_log, tmp_path):
    text = held_out_log.read_bytes().split(b"\n")
    # a plain conn.log: the last three fields (tunnel_parents, label, detailed-label) cut to tunnel_parents
    plain = [
        line.split(b"   ")[0]
        if not line.startswith(b"#") or line.startswith(b"#fields") or line.startswith(b"#types")
        else line
        for line in text
    ]
    (tmp_path / "conn.log").write_bytes(b"\n".join(plain))
    unlabelled = score.score_file(detector, tmp_path / "conn.log", tmp_path / "plain.csv")
    labelled = score.score_file(detector, held_out_log, tmp_path / "labelled.csv")
    a, b = pd.read_csv(tmp_path / "plain.csv"), pd.read_csv(tmp_path / "labelled.csv")
    assert "true_label" not in a and "true_label" in b and unlabelled["flows_scored"] == labelled["flows_scored"]
    np.testing.assert_array_equal(a["p_attack"], b["p_attack"])
    # the same flows as a CSV table in the run's schema (Zeek's '-' for unset): the same scores
    flows = score.read_input(held_out_log).drop(columns=["row", "scenario", "label_detail", "is_attack"])
    flows["noise"] = "x"  # a column the run does not know: left out of the scoring
    flows.to_csv(tmp_path / "flows.csv", index=False, na_rep="-")
    table = score.score_file(detector, tmp_path / "flows.csv", tmp_path / "table.csv")
    c = pd.read_csv(tmp_path / "table.csv")
    assert table["flows_scored"] == len(b) and table["rows_rejected"] == 0
    np.testing.assert_allclose(c["p_attack"], b["p_attack"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c["anomaly_score"], b["anomaly_score"], rtol=1e-5, atol=1e-6)


def test_bad_inputs_are_clear_errors(detect_run, held_out_log, tmp_path):
    text = held_out_log.read_bytes()
    renamed = tmp_path / "renamed.log"
    renamed.write_bytes(text.replace(b"\tduration\t", b"\tdur\t", 1))
    done = command("--model", str(detect_run), "--input", str(renamed), "--output", str(tmp_path / "a.csv"))
    assert done.returncode == 2 and "'duration' (the input has 'dur': renamed?)" in done.stderr
    assert "No column is filled in" in done.stderr and not (tmp_path / "a.csv").exists()

    binary = tmp_path / "capture.pcap"
    binary.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(range(256)) * 4)
    done = command("--model", str(detect_run), "--input", str(binary), "--output", str(tmp_path / "b.csv"))
    assert done.returncode == 2 and "capture.pcap" in done.stderr

    cut = tmp_path / "cut.log"  # a log cut inside a record (a copy that stopped half-way)
    lines = text.split(b"\n")
    body = [i for i, line in enumerate(lines) if line and not line.startswith(b"#")]
    cut.write_bytes(b"\n".join(lines[: body[100]]) + b"\n" + lines[body[100]][:30])
    done = command("--model", str(detect_run), "--input", str(cut), "--output", str(tmp_path / "c.csv"))
    assert done.returncode == 2 and "cut.log" in done.stderr and f"line {body[100] + 1}" in done.stderr

    done = command("--model", str(tmp_path), "--input", str(held_out_log), "--output", str(tmp_path / "d.csv"))
    assert done.returncode == 2 and "not a run folder" in done.stderr


def test_drift_and_unseen_categories_are_counted(detector, held_out_log, tmp_path):
    flows = score.read_input(held_out_log).head(50).copy()
    flows.loc[:4, "orig_bytes"] = 1e15  # far beyond anything in training
    flows["history"] = flows["history"].astype(str)
    flows.loc[:2, "history"] = "ZZZZ"
    tally = score.Tally()
    detector.score(flows, detector.thresholds(), tally)
    assert tally.drift["orig_bytes"] >= 5 and tally.unseen["history"] >= 3
    summary = score.format_summary(tally.summary(detector.thresholds(), 1.0))
    assert "DRIFT WARNING" in summary and "orig_bytes" in summary


def test_follow_mode_reads_a_growing_log_across_a_rotation(detector, held_out_log, tmp_path):
    lines = held_out_log.read_bytes().split(b"\n")
    header = [line for line in lines if line.startswith(b"#") and not line.startswith(b"#close")]
    body = [line for line in lines if line and not line.startswith(b"#")]
    log = tmp_path / "conn.log"
    log.write_bytes(b"\n".join(header) + b"\n")
    out = tmp_path / "live.csv"

    def zeek():
        time.sleep(0.5)
        with open(log, "ab") as fh:
            for start in range(0, 150, 25):
                fh.write(b"\n".join(body[start : start + 25]) + b"\n")
                fh.flush()
                time.sleep(0.1)
            fh.write(body[150][:25])  # half a record when the log is rotated
        log.rename(tmp_path / "conn.2019-01-10-21-00-00.log")
        log.write_bytes(b"\n".join(header + body[151:]) + b"\n")

    writer = threading.Thread(target=zeek)
    writer.start()
    summary = score.follow(detector, log, out, interval=0.05, idle_seconds=2.0, max_seconds=60)
    writer.join()
    scored = pd.read_csv(out)
    assert len(scored) == summary["flows_scored"] == len(body) - 1  # every whole record, once
    assert list(scored["row"]) == list(range(1, len(body)))
    assert summary["log_rotations_followed"] == 1
    assert summary["rejected_why"] == {"incomplete last line of a rotated log": 1}


def test_a_cicflowmeter_csv_reads_as_the_cicids2017_loader_reads_it(mirror):
    """A CICFlowMeter CSV given to the command: the same feature columns and values as notebook 01's loader
    (names stripped of their spaces, Infinity as inf, negative counts and durations missing, as a CICIDS2017 run's
    Detector asks), its BENIGN label read as Benign."""
    from lib.datasets.cicids import read_cicids_csv

    path = sorted((mirror / "cicids2017" / "ml_original_header_heads").glob("*plus7webattack.csv"))[0]
    loaded = read_cicids_csv(path)
    numeric = [c for c in loaded.columns if c not in ("is_attack",) and pd.api.types.is_numeric_dtype(loaded[c])]
    scored = score.read_input(path, numeric=set(numeric), non_negative=schema.non_negative_columns("cicids2017"))
    assert loaded["Flow IAT Min"].isna().any()  # (the file has negative ones, made missing by both)
    assert len(scored) == len(loaded)
    assert len(numeric) > 70 and set(numeric) <= set(scored.columns)
    for column in numeric:
        np.testing.assert_array_equal(scored[column].to_numpy(float), loaded[column].to_numpy(float), err_msg=column)
    benign = loaded["label"].astype(str).eq("Benign").to_numpy()
    assert 0 < (~benign).sum() < len(benign)  # the file has attack rows (BENIGN and web attacks)
    np.testing.assert_array_equal(scored["label"].eq("Benign").to_numpy(), benign)


def test_follower_reads_in_bounded_pieces_and_after_a_copytruncate(held_out_log, tmp_path):
    """A log already long when following starts is read a bounded piece per poll, every record once; a log cut
    short in place (logrotate's copytruncate) is followed again from its new header."""
    lines = held_out_log.read_bytes().split(b"\n")
    header = [line for line in lines if line.startswith(b"#") and not line.startswith(b"#close")]
    body = [line for line in lines if line and not line.startswith(b"#")]
    log = tmp_path / "conn.log"
    log.write_bytes(b"\n".join(header + body[:200]) + b"\n")
    follower = score.LogFollower(log, read_bytes=4096)
    frames = []
    while (frame := follower.poll()) is not None:
        frames.append(frame)
    assert len(frames) > 5 and sum(map(len, frames)) == 200
    assert list(pd.concat(frames)["uid"]) == [line.split(b"\t")[1].decode() for line in body[:200]]
    with open(log, "r+b") as fh:  # copytruncate: the same file, emptied, then written again
        fh.truncate(0)
    log.write_bytes(b"\n".join(header + body[200:230]) + b"\n")
    again = []
    while (frame := follower.poll()) is not None:
        again.append(frame)
    assert follower.rotations == 1 and sum(map(len, again)) == 30
    follower.close()


def test_a_tables_bad_rows_are_rejected_counted_and_numbered(detector, held_out_log, tmp_path):
    """A cell that is not a number rejects its row (once, however many bad cells), the other rows keep their
    numbers in the file; empty and '-' cells are missing values, imputed and counted."""
    flows = score.read_input(held_out_log, numeric=set(detector.numeric_columns)).head(20)
    flows = flows.drop(columns=["row", "scenario", "label_detail", "is_attack"]).astype("string")
    flows.loc[3, ["duration", "orig_bytes"]] = ["oops", "bad"]
    flows.loc[7, "resp_bytes"] = "n/a"
    flows.loc[9, "duration"] = ""
    flows.to_csv(tmp_path / "flows.csv", index=False)
    summary = score.score_file(detector, tmp_path / "flows.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv")
    assert summary["flows_read"] == 20 and summary["flows_scored"] == 18 and summary["rows_rejected"] == 2
    assert list(out["row"]) == [r for r in range(1, 21) if r not in (4, 8)]
    assert any("'duration'" in why and "row 4" in why for why in summary["rejected_why"])
    assert summary["values_imputed_with_training_median"]["duration"] >= 1


def test_cut_tables_and_empty_inputs(detect_run, detector, held_out_log, tmp_path):
    flows = score.read_input(held_out_log, numeric=set(detector.numeric_columns)).head(30)
    flows = flows.drop(columns=["row", "scenario", "label_detail", "is_attack"])
    text = flows.to_csv(index=False, na_rep="-").encode()
    (tmp_path / "cut.csv").write_bytes(text[: text.rfind(b"\n", 0, len(text) - 1) + 25])  # a record cut short
    with pytest.raises(DataError, match=r"cut\.csv, line 31: expected 22 comma-separated fields"):
        score.score_file(detector, tmp_path / "cut.csv", tmp_path / "a.csv")
    assert not (tmp_path / "a.csv").exists() and not list(tmp_path.glob(".a.csv*"))
    import gzip

    packed = gzip.compress(text)
    (tmp_path / "cut.csv.gz").write_bytes(packed[: len(packed) // 2])
    done = command(
        "--model", str(detect_run), "--input", str(tmp_path / "cut.csv.gz"), "--output", str(tmp_path / "b.csv")
    )
    assert done.returncode == 2 and "cut.csv.gz" in done.stderr and "Traceback" not in done.stderr
    # a header and no record (a quiet hour): no flow, an output with its columns, a summary
    for name, body in (("quiet.csv", text.split(b"\n")[0] + b"\n"), ("quiet.log", None)):
        if body is None:
            body = b"".join(
                line + b"\n"
                for line in held_out_log.read_bytes().split(b"\n")
                if line.startswith(b"#fields") or line.startswith(b"#types") or line.startswith(b"#sep")
            )
        (tmp_path / name).write_bytes(body)
        summary = score.score_file(detector, tmp_path / name, tmp_path / f"{name}.out.csv")
        assert summary["flows_read"] == summary["flows_scored"] == 0
        assert list(pd.read_csv(tmp_path / f"{name}.out.csv").columns) == score.OUTPUT_COLUMNS
    # a header without a feature column is an error even without records
    (tmp_path / "short.csv").write_bytes(b"uid,duration\n")
    with pytest.raises(score.ScoreError, match="orig_bytes"):
        score.score_file(detector, tmp_path / "short.csv", tmp_path / "c.csv")


def test_a_run_without_a_saved_detector_is_a_clear_error(detect_run, held_out_log, tmp_path):
    import shutil

    copy = tmp_path / "older"
    shutil.copytree(detect_run, copy)
    manifest_path = copy / "anomaly" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"].pop("detector/manifest.json")  # as notebook 05 wrote it before it saved the detector
    manifest["fingerprint"] = run.manifest_fingerprint(manifest)  # (its fingerprint then that of these records)
    manifest_path.write_text(json.dumps(manifest))
    done = command("--model", str(copy), "--input", str(held_out_log), "--output", str(tmp_path / "a.csv"))
    assert done.returncode == 2 and "no detector/ folder" in done.stderr and "05_anomaly_detection" in done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_stops_follow_mode_with_everything_read_written(detect_run, held_out_log, tmp_path):
    """The command in follow mode, interrupted as a user does (SIGINT): exit 0, every flow read so far in the
    output, and the summary."""
    import signal

    lines = held_out_log.read_bytes().split(b"\n")
    header = [line for line in lines if line.startswith(b"#") and not line.startswith(b"#close")]
    body = [line for line in lines if line and not line.startswith(b"#")]
    log, out = tmp_path / "conn.log", tmp_path / "live.csv"
    log.write_bytes(b"\n".join(header + body[:100]) + b"\n")
    args = ["--model", str(detect_run), "--input", str(log), "--output", str(out), "--follow", "--interval", "0.05"]
    child = subprocess.Popen([sys.executable, "-m", "lib.score", *args], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 101):
        time.sleep(0.2)
    with open(log, "ab") as fh:  # appended just before the interrupt: read and written before it stops
        fh.write(b"\n".join(body[100:150]) + b"\n")
    time.sleep(1.0)
    child.send_signal(signal.SIGINT)
    stdout, _ = child.communicate(timeout=60)
    assert child.returncode == 0 and "flows read 150" in stdout
    assert list(pd.read_csv(out)["row"]) == list(range(1, 151))
    assert json.loads(Path(f"{out}.summary.json").read_text())["flows_scored"] == 150


def test_the_help_says_what_goes_in_what_comes_out_and_the_exit_status():
    cli = importlib.import_module("lib.score.cli")  # the module: lib.score.cli, the attribute, is the entry point
    text = cli.parser().format_help()
    for said in ("--model", "--fpr", "--follow", "p_attack", "anomaly_score", "summary.json", "exit status", " 2 "):
        assert said in text, said
