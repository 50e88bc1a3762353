"""``iot-botnet score`` before and around the model: every option checked by the parser, the model folder, the
input and the output's place checked before the model is loaded (it is never loaded here: loading it fails the
test), nothing a user has written over, and follow mode's reader (:class:`lib.score.LogFollower`) across logs
replaced, cut or rewritten in place, new header blocks and over-long lines. Scoring itself is a stand-in
(:class:`StandIn`) with the interface of :class:`lib.score.Detector`, so no network is trained or loaded."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import stat
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from corpus import zeek_header_lines

from lib import score
from lib.datasets import DataError, schema, stream, values
from lib.score import inputs, outputs
from lib.score.model import Detector, Thresholds, identifiers

# the modules (lib.score.cli and lib.score.follow, the attributes, are the functions of the same names)
cli = importlib.import_module("lib.score.cli")
follow = importlib.import_module("lib.score.follow")

# ------------------------------------------------------------------------------------------ Zeek conn logs
FIELDS = (
    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes conn_state "
    "local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents"
).split()
TYPES = (
    "time string addr port addr port enum string interval count count string bool bool count string count count "
    "count count set[string]"
).split()


def header(opened: str = "2019-01-10-21-00-00", fields: list[str] = FIELDS, types: list[str] = TYPES) -> bytes:
    """The '#' header block Zeek writes at the top of conn.log."""
    return "".join(line + "\n" for line in zeek_header_lines(opened, fields, types)).encode()


def record(i: int, fields: list[str] = FIELDS) -> bytes:
    """A conn.log record (flow ``i``: uid ``C<i>``, orig_bytes ``100 + i``) in the order of ``fields``."""
    values = {
        "ts": f"{1540469302 + i}.5",
        "uid": f"C{i:06d}",
        "id.orig_h": "192.168.1.132",
        "id.orig_p": str(40000 + i),
        "id.resp_h": "216.239.35.4",
        "id.resp_p": "123",
        "proto": "udp",
        "service": "-",
        "duration": "0.114184",
        "orig_bytes": str(100 + i),
        "resp_bytes": "48",
        "conn_state": "SF",
        "local_orig": "-",
        "local_resp": "-",
        "missed_bytes": "0",
        "history": "Dd",
        "orig_pkts": "1",
        "orig_ip_bytes": "76",
        "resp_pkts": "1",
        "resp_ip_bytes": "76",
        "tunnel_parents": "-",
    }
    return ("\t".join(values[f] for f in fields) + "\n").encode()


def records(first: int, last: int, fields: list[str] = FIELDS) -> bytes:
    return b"".join(record(i, fields) for i in range(first, last))


def drain(follower: score.LogFollower) -> list[pd.DataFrame]:
    """Every frame the follower gives until it has nothing new."""
    frames = []
    while (frame := follower.poll()) is not None:
        frames.append(frame)
    return frames


def uids(frames: list[pd.DataFrame]) -> list[str]:
    return [str(u) for frame in frames for u in frame["uid"]]


def expected(first: int, last: int) -> list[str]:
    return [f"C{i:06d}" for i in range(first, last)]


# ------------------------------------------------------------------------------------------ a stand-in model
class StandIn:
    """What the scoring code asks of :class:`lib.score.Detector`, with no model: every flow scored 0.5, an
    alert on each flow whose orig_bytes is odd; ``fail_after`` batches scored, an error."""

    benign_labels = "benign"
    numeric_columns = ["duration", "orig_bytes"]
    encoding = "utf-8"  # the run's ENCODING
    non_negative = frozenset({"duration", "orig_bytes"})  # its data set's counts and durations (a Zeek run's)

    def __init__(self, fingerprint: str = "f" * 64, fail_after: int | None = None):
        self.manifest = {"pipeline_fingerprint": fingerprint, "threshold": 1.0, "target_fpr": 0.01}
        self.fail_after, self.batches = fail_after, 0

    def use_runtime(self, runtime: str = "auto") -> list:
        return []  # nothing to measure: no network

    def thresholds(self, fpr: float | None = None) -> Thresholds:
        return Thresholds(None if fpr is None else 0.5, 1.0 if fpr is None else 0.9, fpr, f"stand-in at {fpr}")

    def check_columns(self, columns: list[str], source: str) -> None:
        if "orig_bytes" not in columns:
            raise score.ScoreError(f"{source}: no orig_bytes")

    def score(self, df: pd.DataFrame, thresholds: Thresholds, tally: outputs.Tally) -> pd.DataFrame:
        self.batches += 1
        if self.fail_after is not None and self.batches > self.fail_after:
            raise score.ScoreError("the stand-in fails here")
        out = identifiers(df)
        out["p_attack"] = 0.5
        out["family"] = "Benign"
        out["anomaly_score"] = 0.0
        odd = pd.to_numeric(df["orig_bytes"]).fillna(0).astype(int).to_numpy() % 2 == 1
        out["alert"] = ["anomaly" if v else "" for v in odd]
        tally.scored += len(df)
        tally.alerts.update(out["alert"][out["alert"] != ""].tolist())
        return out


@pytest.fixture
def never_loaded(monkeypatch):
    """Loading the model fails the test: every refusal here comes before it."""

    def load(model):
        raise AssertionError(f"the model {model} was loaded")

    monkeypatch.setattr(Detector, "load", staticmethod(load))


@pytest.fixture
def run_folder(tmp_path) -> Path:
    """A folder that passes the checks made before loading (a fusion/ stage) and would fail to load."""
    folder = tmp_path / "run"
    (folder / "fusion").mkdir(parents=True)
    return folder


@pytest.fixture
def log(tmp_path) -> Path:
    path = tmp_path / "logs" / "conn.log"
    path.parent.mkdir()
    path.write_bytes(header() + records(0, 10))
    return path


def refused(capsys, argv: list[str]) -> str:
    """``main(argv)``: exit code 2 and its message (no traceback)."""
    assert cli.main(argv) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def usage_error(capsys, argv: list[str]) -> str:
    """``main(argv)``: the parser's exit code 2 and its message."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


# ------------------------------------------------------------------------------------------ 1. inputs
def test_a_missing_input_a_folder_a_dangling_link_and_a_pipe_are_refused_before_the_model_loads(
    never_loaded, run_folder, log, tmp_path, capsys
):
    out = str(tmp_path / "alerts.csv")
    err = refused(capsys, ["--model", str(run_folder), "--input", str(tmp_path / "nope.log"), "--output", out])
    assert f"--input {tmp_path / 'nope.log'}: no such file" in err and "Fix: check the path" in err

    err = refused(capsys, ["--model", str(run_folder), "--input", str(log.parent), "--output", out])
    assert f"--input {log.parent}: a folder, not a file (it holds conn.log)" in err
    assert f"Fix: name one log or table inside it, e.g. {log}" in err

    link = tmp_path / "current.log"
    link.symlink_to(tmp_path / "gone.log")
    err = refused(capsys, ["--model", str(run_folder), "--input", str(link), "--output", out])
    assert f"a link to {tmp_path / 'gone.log'}, which does not exist" in err

    pipe = tmp_path / "flows.fifo"
    os.mkfifo(pipe)
    err = refused(capsys, ["--model", str(run_folder), "--input", str(pipe), "--output", out])
    assert "not a regular file (a pipe" in err and "write the flows to a file" in err
    assert not Path(out).exists()


def test_an_unreadable_input_is_refused_with_its_path_and_the_fix(
    never_loaded, run_folder, log, tmp_path, capsys, monkeypatch
):
    real_open = os.open

    def denied(path, flags, *args):
        if Path(path) == log:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(inputs.os, "open", denied)
    err = refused(capsys, ["--model", str(run_folder), "--input", str(log), "--output", str(tmp_path / "a.csv")])
    assert f"--input {log}: cannot be read (permission denied)" in err and f"chmod u+r {log}" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_input_without_read_permission_is_refused(never_loaded, run_folder, log, tmp_path, capsys):
    log.chmod(0)
    try:
        err = refused(capsys, ["--model", str(run_folder), "--input", str(log), "--output", str(tmp_path / "a.csv")])
    finally:
        log.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert "cannot be read (permission denied)" in err


def test_the_model_folder_is_checked_before_it_is_loaded(never_loaded, run_folder, log, tmp_path, capsys):
    out = str(tmp_path / "a.csv")
    err = refused(capsys, ["--model", str(tmp_path / "runs" / "iot23"), "--input", str(log), "--output", out])
    assert f"--model {tmp_path / 'runs' / 'iot23'}: no such folder" in err and "RUN_DIR" in err
    err = refused(capsys, ["--model", str(log), "--input", str(log), "--output", out])
    assert f"--model {log}: a file, not a folder" in err
    err = refused(capsys, ["--model", str(tmp_path), "--input", str(log), "--output", out])
    assert "not a run folder with a trained pipeline (no fusion/ stage)" in err


def test_follow_mode_refuses_a_gzip_file_and_a_table_before_the_model_loads(never_loaded, run_folder, tmp_path, capsys):
    import gzip

    packed, table = tmp_path / "conn.log.gz", tmp_path / "flows.csv"
    packed.write_bytes(gzip.compress(header()))
    table.write_text("uid,duration\nC1,0.5\n")
    out = str(tmp_path / "live.csv")
    err = refused(capsys, ["--model", str(run_folder), "--input", str(packed), "--output", out, "--follow"])
    assert "a gzip file, which Zeek does not append to" in err and "without --follow" in err
    err = refused(capsys, ["--model", str(run_folder), "--input", str(table), "--output", out, "--follow"])
    assert f"--input {table}: not a Zeek log" in err and "(TSV or JSON)" in err


# ------------------------------------------------------------------------------------------ 2. outputs
@pytest.mark.parametrize("spelling", ["same", "dot", "relative", "symlink", "hardlink", "output_link"])
def test_an_output_that_is_the_input_is_refused_whatever_its_spelling(
    never_loaded, run_folder, tmp_path, capsys, monkeypatch, spelling
):
    table = tmp_path / "flows.csv"
    table.write_text("uid,duration,orig_bytes\nC1,0.5,10\n")
    before = table.read_bytes()
    monkeypatch.chdir(tmp_path)
    output = {
        "same": str(table),
        "dot": "./flows.csv",
        "relative": f"../{tmp_path.name}/flows.csv",
        "symlink": str(tmp_path / "flows.csv"),
        "hardlink": str(tmp_path / "again.csv"),
        "output_link": str(tmp_path / "link.csv"),
    }[spelling]
    given = table
    if spelling == "symlink":  # the input given through a link to it
        given = tmp_path / "view.csv"
        given.symlink_to(table)
    elif spelling == "hardlink":
        os.link(table, tmp_path / "again.csv")
    elif spelling == "output_link":
        (tmp_path / "link.csv").symlink_to(table)
    for extra in ([], ["--overwrite"]):  # refused even when replacing an output is allowed
        err = refused(capsys, ["--model", str(run_folder), "--input", str(given), "--output", output, *extra])
        assert f"--output {Path(output)} names the input {given} (the same file)" in err
        assert "would destroy what is being scored. Fix: write the output to another file" in err
    assert table.read_bytes() == before


def test_an_output_whose_summary_is_the_input_is_refused(never_loaded, run_folder, tmp_path, capsys):
    source = tmp_path / "alerts.csv.summary.json"
    source.write_text("uid,duration,orig_bytes\nC1,0.5,10\n")
    err = refused(
        capsys, ["--model", str(run_folder), "--input", str(source), "--output", str(tmp_path / "alerts.csv")]
    )
    assert f"has its summary at {source}, which is the input {source}" in err


def test_an_existing_output_is_refused_without_overwrite_or_append(never_loaded, run_folder, log, tmp_path, capsys):
    out = tmp_path / "alerts.csv"
    out.write_text("row,alert\n1,\n")
    err = refused(capsys, ["--model", str(run_folder), "--input", str(log), "--output", str(out)])
    assert f"--output {out} already exists. Fix: pass --overwrite to replace it" in err
    err = refused(capsys, ["--model", str(run_folder), "--input", str(log), "--output", str(out), "--follow"])
    assert "pass --append to add this session's rows after its own" in err and "--overwrite" in err
    err = refused(capsys, ["--model", str(run_folder), "--input", str(log), "--output", str(tmp_path)])
    assert f"--output {tmp_path}: write .csv, .tsv or .parquet" in err
    (tmp_path / "x.csv").mkdir()
    err = refused(capsys, ["--model", str(run_folder), "--input", str(log), "--output", str(tmp_path / "x.csv")])
    assert f"--output {tmp_path / 'x.csv'}: a folder" in err
    err = refused(
        capsys, ["--model", str(run_folder), "--input", str(log), "--output", str(tmp_path / "a.parquet"), "--follow"]
    )
    assert "--follow writes CSV" in err
    assert out.read_text() == "row,alert\n1,\n"


def test_the_output_folder_must_exist_and_be_writable(never_loaded, run_folder, log, tmp_path, capsys, monkeypatch):
    missing = tmp_path / "reports" / "today"
    err = refused(capsys, ["--model", str(run_folder), "--input", str(log), "--output", str(missing / "a.csv")])
    assert f"the folder {missing} does not exist. Fix: create it (mkdir -p {missing})" in err
    assert not missing.exists()  # not created for the user

    locked = tmp_path / "locked"
    locked.mkdir()

    real = outputs.tempfile.TemporaryFile

    def cannot(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == locked:
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(outputs.tempfile, "TemporaryFile", cannot)
    err = refused(capsys, ["--model", str(run_folder), "--input", str(log), "--output", str(locked / "a.csv")])
    assert f"cannot write in the folder {locked} (permission denied)" in err and f"chmod u+w {locked}" in err
    assert list(locked.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a folder whatever its mode")
def test_a_folder_without_write_permission_is_refused(never_loaded, run_folder, log, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        err = refused(capsys, ["--model", str(run_folder), "--input", str(log), "--output", str(locked / "a.csv")])
    finally:
        locked.chmod(0o755)
    assert "cannot write in the folder" in err and "permission denied" in err


def test_batch_mode_replaces_an_output_only_when_asked_and_only_when_whole(log, tmp_path):
    out = tmp_path / "alerts.csv"
    out.write_text("earlier\n")
    with pytest.raises(score.ScoreError, match="already exists"):
        score.score_file(StandIn(), log, out)
    with pytest.raises(score.ScoreError, match="the stand-in fails here"):  # the second batch fails
        score.score_file(StandIn(fail_after=1), log, out, batch_rows=4, overwrite=True)
    assert out.read_text() == "earlier\n" and sorted(p.name for p in tmp_path.iterdir()) == ["alerts.csv", "logs"]
    summary = score.score_file(StandIn(), log, out, batch_rows=4, overwrite=True)
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored["uid"]) == expected(0, 10) and summary["flows_scored"] == 10
    assert summary["pipeline_fingerprint"] == "f" * 64


def test_a_batch_output_that_appears_while_scoring_is_not_written_over(log, tmp_path):
    out = tmp_path / "alerts.csv"

    class Racing(StandIn):
        def score(self, df, thresholds, tally):
            out.write_text("someone else's\n")  # another process writes the output meanwhile
            return super().score(df, thresholds, tally)

    with pytest.raises(score.ScoreError, match="appeared while the input was scored"):
        score.score_file(Racing(), log, out)
    assert out.read_text() == "someone else's\n" and not list(tmp_path.glob(".alerts*"))


# ------------------------------------------------------------------------------------------ 3. options
@pytest.mark.parametrize(
    "options, said",
    [
        (["--batch-rows", "0"], "argument --batch-rows: 0 is out of range: a whole number of 1 or more"),
        (["--batch-rows", "-3"], "a whole number of 1 or more"),
        (["--batch-rows", "many"], "'many' is not a whole number of 1 or more"),
        (["--follow", "--interval", "0"], "argument --interval: 0 is out of range: a number of seconds above 0"),
        (["--follow", "--interval", "-1"], "a number of seconds above 0"),
        (["--follow", "--interval", "nan"], "'nan' is not a number of seconds above 0"),
        (
            ["--follow", "--max-seconds", "-1"],
            "argument --max-seconds: -1 is out of range: a number of seconds, 0 or more",
        ),
        (["--follow", "--idle-seconds", "-0.5"], "argument --idle-seconds: -0.5 is out of range"),
        (["--fpr", "0"], "argument --fpr: 0 is out of range: a rate between 0 and 1, both excluded"),
        (["--fpr", "1"], "a rate between 0 and 1, both excluded"),
        (["--fpr", "1.5"], "1.5 is out of range"),
        (["--fpr", "inf"], "'inf' is not a rate between 0 and 1"),
        (["--append"], "--append only with --follow (follow mode)"),
        (["--interval", "1", "--idle-seconds", "5"], "--interval, --idle-seconds only with --follow"),
        (["--follow", "--append", "--overwrite"], "--overwrite and --append exclude each other"),
    ],
)
def test_every_option_is_checked_by_the_parser(never_loaded, run_folder, log, tmp_path, capsys, options, said):
    argv = ["--model", str(run_folder), "--input", str(log), "--output", str(tmp_path / "a.csv"), *options]
    err = usage_error(capsys, argv)
    assert said in err and "usage: iot-botnet score" in err


def test_the_help_says_the_new_options_and_exit_codes():
    text = cli.parser().format_help()
    for said in ("--overwrite", "--append", "MAX_LINE_BYTES", "130", "1 a failure", "replaced or rewritten in place"):
        assert said in text, said
    assert cli.parse_args(["--model", "m", "--input", "i", "--output", "o.csv", "--follow"]).interval == 0.1


def test_the_library_functions_check_their_options_too(log, tmp_path):
    with pytest.raises(ValueError, match="interval must be a number of seconds above 0"):
        score.follow(StandIn(), log, tmp_path / "a.csv", interval=0)
    with pytest.raises(ValueError, match="batch_rows must be 1 or more"):
        score.score_file(StandIn(), log, tmp_path / "a.csv", batch_rows=0)
    assert not (tmp_path / "a.csv").exists()


# ------------------------------------------------------------------------------------------ 4. the follower
def test_a_log_replaced_under_its_name_is_a_rotation_read_from_its_header(log, tmp_path):
    follower = score.LogFollower(log, read_bytes=300)
    assert uids(drain(follower)) == expected(0, 10)
    with open(log, "ab") as fh:
        fh.write(records(10, 12))
    new = tmp_path / "conn.new"
    new.write_bytes(header("2019-01-10-22-00-00") + records(100, 105))
    os.replace(new, log)  # mv new conn.log: another inode under the name
    assert uids(drain(follower)) == expected(10, 12) + expected(100, 105)  # the old file to its end first
    assert follower.rotations == 1 and follower.incomplete == 0
    assert dict(follower.rotations_by_kind) == {"renamed or replaced (a new file under the name)": 1}
    follower.close()


def test_a_log_truncated_and_rewritten_longer_in_place_is_read_again_from_its_start(log):
    follower = score.LogFollower(log)
    assert uids(drain(follower)) == expected(0, 10)
    inode = log.stat().st_ino
    with open(log, "r+b") as fh:  # the same file, emptied and written again, longer than what was read
        fh.truncate(0)
        fh.write(header("2019-01-10-22-00-00") + records(200, 230))
    assert log.stat().st_ino == inode and log.stat().st_size > len(header() + records(0, 10))
    frames = drain(follower)
    assert uids(frames) == expected(200, 230)
    assert [int(v) for v in frames[0]["orig_bytes"][:2]] == [300, 301]
    assert dict(follower.rotations_by_kind) == {"rewritten in place": 1}
    # the same header, then the same bytes up to the place read to and more: an append, not a rotation
    with open(log, "ab") as fh:
        fh.write(records(230, 232))
    assert uids(drain(follower)) == expected(230, 232) and follower.rotations == 1
    follower.close()


def test_a_copytruncate_without_a_new_header_keeps_the_format_and_says_so(log):
    follower = score.LogFollower(log)
    drain(follower)
    with open(log, "r+b") as fh:
        fh.truncate(0)
    with open(log, "ab") as fh:  # the writer goes on with records only
        fh.write(records(50, 53))
    assert uids(drain(follower)) == expected(50, 53)
    assert dict(follower.rotations_by_kind) == {"cut short in place (copytruncate)": 1}
    assert any("read by the header block before that" in note["repair"] for note in follower.notes)
    follower.close()


def test_a_new_header_block_switches_the_format_and_is_never_read_as_records(log):
    reordered = ["uid", "orig_bytes", *[f for f in FIELDS if f not in ("uid", "orig_bytes")], "local_extra"]
    types = [TYPES[FIELDS.index(f)] if f in FIELDS else "string" for f in reordered]
    with open(log, "ab") as fh:  # Zeek restarted on the same file: a footer, then a block with other fields
        fh.write(b"#close\t2019-01-10-21-30-00\n")
        fh.write(header("2019-01-10-21-30-05", reordered, types))
        fh.write(b"".join(record(i, reordered[:-1])[:-1] + b"\tx\n" for i in range(10, 14)))
        fh.write(b"# a note left by hand\n")
        fh.write(b"".join(record(i, reordered[:-1])[:-1] + b"\ty\n" for i in range(14, 16)))
    for read_bytes in (97, 4096):  # a block split across polls, or read in one
        follower = score.LogFollower(log, read_bytes=read_bytes)
        frames = drain(follower)
        follower.close()
        assert uids(frames) == expected(0, 16)
        orig_bytes = [int(v) for frame in frames for v in frame["orig_bytes"]]
        assert orig_bytes == [100 + i for i in range(16)]  # read by the fields each block declares
        assert all("local_extra" not in frame for frame in frames)  # a field only the later block has: dropped
        dropped = [n for n in follower.notes if n["column"] == "local_extra"]
        assert sum(n["count"] for n in dropped) == 6 and "(#fields on line 7) lacks dropped" in dropped[0]["repair"]
        assert follower.header_blocks == 1 and follower.rotations == 0
        notes = [n for n in follower.notes if "amid the records" in n["repair"]]
        assert sum(n["count"] for n in notes) == 1


def test_a_header_block_error_names_the_line_of_the_file(log):
    with open(log, "ab") as fh:
        fh.write(header("2019-01-10-22-00-00", [*FIELDS, "uid"], [*TYPES, "string"]))
        fh.write(record(10))
    follower = score.LogFollower(log)
    with pytest.raises(DataError, match=rf"conn\.log, line {8 + 10 + 7}: the #fields line names \['uid'\]"):
        drain(follower)
    follower.close()


def test_a_line_longer_than_the_limit_is_refused_with_its_number_and_never_gathered(log, monkeypatch):
    monkeypatch.setattr(stream, "MAX_LINE_BYTES", 1000, raising=False)
    assert score.max_line_bytes() == 1000
    with open(log, "ab") as fh:
        fh.write(records(10, 12))
        fh.write(b"A" * 5000)  # no line end
    follower = score.LogFollower(log, read_bytes=256)
    with pytest.raises(score.ScoreError) as error:
        drain(follower)
    message = str(error.value)
    assert f"{log}, line 21: a line longer than 1,000 bytes" in message and "MAX_LINE_BYTES" in message
    assert len(follower.current.pending) <= 1000 + 256  # never more than the limit and one read
    follower.close()
    # a line ended but over the limit, inside one large read
    log.write_bytes(header() + records(0, 3) + b"B" * 1500 + b"\n" + records(3, 5))
    follower = score.LogFollower(log, read_bytes=10_000)
    with pytest.raises(score.ScoreError, match=r"line 12: a line longer than 1,000 bytes"):
        drain(follower)
    follower.close()


def test_the_default_line_limit_is_4_mib_unless_the_reader_defines_one(monkeypatch):
    monkeypatch.delattr(stream, "MAX_LINE_BYTES", raising=False)
    assert score.max_line_bytes() == follow.DEFAULT_MAX_LINE_BYTES == 4 * 2**20


def test_a_follower_resumes_where_another_stopped_and_not_in_another_file(log, tmp_path):
    first = score.LogFollower(log, read_bytes=400)  # less than the header: the first poll reads twice
    done = len(first.poll())
    position = first.position()
    first.close()
    assert 0 < done < 10 and position["line"] == 8 + done
    second = score.LogFollower(log, resume=position)
    assert uids(drain(second)) == expected(done, 10) and "continued at line" in second.resumed
    second.close()
    new = tmp_path / "conn.new"
    new.write_bytes(header("2019-01-10-23-00-00") + records(300, 303))
    os.replace(new, log)
    third = score.LogFollower(log, resume=position)
    assert uids(drain(third)) == expected(300, 303) and "not the file the previous session read" in third.resumed
    third.close()


# ------------------------------------------------------------------------------------------ follow mode, appending
def run_follow(log: Path, out: Path, **options) -> dict:
    return score.follow(options.pop("detector", StandIn()), log, out, interval=0.01, idle_seconds=0.05, **options)


def test_append_continues_the_output_its_row_numbers_and_its_summary(log, tmp_path):
    out = tmp_path / "live.csv"
    first = run_follow(log, out)
    assert first["flows_scored"] == 10 and first["follow_state"]["next_row"] == 11
    with pytest.raises(score.ScoreError, match="already exists"):
        run_follow(log, out)
    with open(log, "ab") as fh:
        fh.write(records(10, 15))
    second = run_follow(log, out, append=True)
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored["row"]) == list(range(1, 16)) and list(scored["uid"]) == expected(0, 15)  # no flow twice
    assert second["flows_scored"] == second["flows_read"] == 15 and second["sessions"] == 2
    assert second["alerts"] == int(scored["alert"].ne("").sum())
    assert "continued at line 19" in second["append_resumed"]
    assert json.loads(outputs.summary_path(out).read_text())["flows_scored"] == 15
    # the log replaced since: its new file is read from its start, numbered on
    new = tmp_path / "conn.new"
    new.write_bytes(header("2019-01-11-00-00-00") + records(500, 502))
    os.replace(new, log)
    third = run_follow(log, out, append=True)
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored["row"]) == list(range(1, 18)) and list(scored["uid"])[-2:] == expected(500, 502)
    assert "not the file the previous session read" in third["append_resumed"] and third["sessions"] == 3


def test_append_refuses_an_output_it_cannot_continue_and_leaves_it_as_it_was(
    log, tmp_path, never_loaded, run_folder, capsys
):
    out = tmp_path / "live.csv"
    run_follow(log, out)
    before = out.read_bytes()
    argv = ["--model", str(run_folder), "--input", str(log), "--output", str(out), "--follow", "--append"]
    other = tmp_path / "other.log"
    shutil.copy(log, other)
    err = refused(capsys, [*argv[:3], str(other), *argv[4:]])
    assert f"--output {out} holds the scores of {log}, not of {other}. Fix: --input {log}" in err
    with open(out, "a") as fh:  # rows the summary does not know (a session killed before its summary)
        fh.write("11,C999,,,,,,,0.5,Benign,0.0,\n")
    grown = out.read_bytes()
    err = refused(capsys, argv)
    assert f"the file has {len(grown):,} bytes, its summary records {len(before)}" in err
    assert "not known where to continue" in err
    outputs.summary_path(out).unlink()
    err = refused(capsys, argv)
    assert f"its summary {outputs.summary_path(out)} is missing or unreadable" in err and "--overwrite" in err
    batch = tmp_path / "batch.csv"
    score.score_file(StandIn(), log, batch)
    err = refused(capsys, [*argv[:5], str(batch), "--follow", "--append"])
    assert "is not that of a follow session" in err
    assert out.read_bytes() == grown


def test_append_refuses_another_model_or_decision_and_a_failure_leaves_the_output(log, tmp_path):
    out = tmp_path / "live.csv"
    run_follow(log, out)
    before = out.read_bytes()
    with open(log, "ab") as fh:
        fh.write(records(10, 12))
    with pytest.raises(score.ScoreError, match="scored by another model"):
        run_follow(log, out, append=True, detector=StandIn(fingerprint="0" * 64))
    with pytest.raises(score.ScoreError, match="the same --fpr as before"):
        run_follow(log, out, append=True, fpr=0.01)
    with pytest.raises(score.ScoreError, match="the stand-in fails here"):
        run_follow(log, out, append=True, detector=StandIn(fail_after=0))
    assert out.read_bytes() == before  # an error before any row: the output is left as it was


def test_follow_removes_only_an_output_it_created_and_overwrite_replaces_one(log, tmp_path):
    out = tmp_path / "live.csv"
    with pytest.raises(score.ScoreError, match="the stand-in fails here"):
        run_follow(log, out, detector=StandIn(fail_after=0))
    assert not out.exists()
    out.write_text("earlier\n")
    with pytest.raises(score.ScoreError, match="the stand-in fails here"):
        run_follow(log, out, overwrite=True, detector=StandIn(fail_after=0))
    assert out.read_text() == "earlier\n"  # nothing was written: the old output stays
    summary = run_follow(log, out, overwrite=True)
    assert list(pd.read_csv(out)["row"]) == list(range(1, 11)) and summary["sessions"] == 1


def test_follow_mode_through_the_command_appends_and_counts_a_rotation(log, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Detector, "load", staticmethod(lambda model: StandIn()))
    out = tmp_path / "live.csv"
    argv = ["--model", "unused", "--input", str(log), "--output", str(out), "--follow", "--idle-seconds", "0.05"]
    monkeypatch.setattr(cli, "check_model_folder", lambda model: Path(model))
    assert cli.main([*argv, "--quiet", "--interval", "0.01"]) == 0
    with open(log, "r+b") as fh:  # copytruncate, then a new header and records
        fh.truncate(0)
        fh.write(header("2019-01-11-01-00-00") + records(40, 42))
    assert cli.main([*argv, "--quiet", "--append"]) == 0
    printed = capsys.readouterr().out
    assert "flows read 12" in printed and "follow sessions in this output: 2" in printed
    assert "log rotations followed: 1" in printed
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored["row"]) == list(range(1, 13)) and list(scored["uid"])[-2:] == expected(40, 42)


def test_a_quiet_session_then_append_and_a_log_that_becomes_the_output(log, tmp_path):
    quiet = tmp_path / "quiet.log"
    quiet.write_bytes(header())
    out = tmp_path / "live.csv"
    assert run_follow(quiet, out)["flows_scored"] == 0
    assert pd.read_csv(out).columns.tolist() == score.OUTPUT_COLUMNS  # a header, no row
    with open(quiet, "ab") as fh:
        fh.write(records(0, 3))
    summary = run_follow(quiet, out, append=True)
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored["uid"]) == expected(0, 3) and "uid" in scored and summary["sessions"] == 2
    # the followed name now names the output itself: refused, never read as the log
    follower = score.LogFollower(log, avoid=[out])
    drain(follower)
    os.link(out, tmp_path / "out.link")
    os.replace(tmp_path / "out.link", log)
    with pytest.raises(score.ScoreError, match=rf"{log} now names the output {out}"):
        drain(follower)
    follower.close()


def test_the_command_in_batch_mode_replaces_only_with_overwrite_and_ctrl_c_writes_nothing(
    log, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(cli, "check_model_folder", lambda model: Path(model))
    monkeypatch.setattr(Detector, "load", staticmethod(lambda model: StandIn()))
    out = tmp_path / "alerts.csv"
    argv = ["--model", "unused", "--input", str(log), "--output", str(out), "--quiet"]
    assert cli.main(argv) == 0 and "flows read 10, scored 10" in capsys.readouterr().out
    first = out.read_bytes()
    assert "already exists" in refused(capsys, argv)
    assert cli.main([*argv, "--overwrite", "--batch-rows", "3"]) == 0 and out.read_bytes() == first

    def interrupted(model):
        raise KeyboardInterrupt

    monkeypatch.setattr(Detector, "load", staticmethod(interrupted))
    assert cli.main([*argv, "--overwrite"]) == cli.EXIT_INTERRUPTED == 130
    assert "interrupted: nothing was written" in capsys.readouterr().err and out.read_bytes() == first


# ------------------------------------------------------------------------------------------ 6. as training read it
def json_record(i: int, **changes) -> bytes:
    """Flow ``i`` of :func:`record` as Zeek's JSON writer writes it (unset fields left out)."""
    values = {
        "ts": 1540469302 + i + 0.5, "uid": f"C{i:06d}", "id.orig_h": "192.168.1.132", "id.orig_p": 40000 + i,
        "id.resp_h": "216.239.35.4", "id.resp_p": 123, "proto": "udp", "duration": 0.114184, "orig_bytes": 100 + i,
        "resp_bytes": 48, "conn_state": "SF", "missed_bytes": 0, "history": "Dd", "orig_pkts": 1,
        "orig_ip_bytes": 76, "resp_pkts": 1, "resp_ip_bytes": 76,
    }  # fmt: skip
    return (json.dumps(values | changes) + "\n").encode()


class Recording(StandIn):
    """The stand-in, keeping a copy of every frame it is given to score; ``reading`` sets the attributes that say
    how the run's training data was read (``encoding``, ``non_negative``)."""

    def __init__(self, **reading):
        super().__init__()
        self.given: list[pd.DataFrame] = []
        for name, value in reading.items():
            setattr(self, name, value)

    def score(self, df: pd.DataFrame, thresholds: Thresholds, tally: outputs.Tally) -> pd.DataFrame:
        self.given.append(df.copy())
        return super().score(df, thresholds, tally)

    def column(self, name: str) -> list:
        return pd.concat(self.given, ignore_index=True)[name].tolist()


def same(got: list, wanted: list) -> bool:
    """Equal as float32 numbers (as the readers give them), NaN equal to NaN."""
    return pd.Series(got, dtype="float32").equals(pd.Series(wanted, dtype="float32"))


def test_the_detector_reads_inputs_as_notebook_01_read_its_training_data(tmp_path):
    preprocessor = SimpleNamespace(transformers_=[], get_feature_names_out=lambda: [])
    pipeline = SimpleNamespace(class_names=["Benign", "DDoS"], feature_columns=[], preprocessor=preprocessor)
    trained = {"DATASET": "cicids2017", "ENCODING": "cp1252", "BENIGN_LABELS": "BENIGN"}
    detector = Detector(tmp_path, pipeline, None, {"training": {"parameters": trained}}, {})
    assert (detector.encoding, detector.benign_labels) == ("cp1252", "BENIGN")
    assert (
        detector.non_negative == schema.non_negative_columns("cicids2017") and "Flow Duration" in detector.non_negative
    )
    table_run = Detector(tmp_path, pipeline, None, {"training": {"parameters": {"DATASET": "csv"}}}, {})
    assert (table_run.encoding, table_run.non_negative) == ("utf-8", frozenset())


def test_a_zeek_json_log_is_scored_as_a_zeek_log_whatever_its_name(tmp_path):
    path = tmp_path / "flows.csv"  # a table's name, a Zeek JSON log's content
    path.write_bytes(b"".join(json_record(i) for i in range(6)))
    assert inputs.input_columns(path)[:4] == ["ts", "uid", "id.orig_h", "id.orig_p"]
    detector = Recording()
    summary = score.score_file(detector, path, tmp_path / "out.csv")
    scored = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert summary["flows_scored"] == 6 and list(scored["uid"]) == expected(0, 6)
    assert list(scored["row"]) == list(range(1, 7)) and detector.column("orig_bytes") == [100.0 + i for i in range(6)]


def test_batch_scoring_makes_negative_counts_missing_as_training_did(tmp_path):
    log = tmp_path / "conn.log"  # a Zeek log: the Zeek conn log's counts, sizes and durations, whatever the run
    log.write_bytes(
        header() + records(0, 3) + record(3).replace(b"\t103\t", b"\t-103\t")
        + record(4).replace(b"\t0.114184\t", b"\t-0.114184\t")
    )  # fmt: skip
    detector = Recording(non_negative=frozenset())
    summary = score.score_file(detector, log, tmp_path / "log.csv")
    assert same(detector.column("orig_bytes"), [100, 101, 102, None, 104])
    assert same(detector.column("duration"), [0.114184] * 4 + [None])
    assert summary["repairs"] == {
        f"conn.log, column 'orig_bytes': {values.NEGATIVE_REPAIR}": 1,
        f"conn.log, column 'duration': {values.NEGATIVE_REPAIR}": 1,
    }
    json_log = tmp_path / "conn.json"  # a JSON log likewise
    json_log.write_bytes(json_record(0) + json_record(1, orig_bytes=-5))
    detector = Recording(non_negative=frozenset())
    score.score_file(detector, json_log, tmp_path / "json.csv")
    assert same(detector.column("orig_bytes"), [100, None])
    table = tmp_path / "flows.csv"  # a table: the columns the run's data set declares (StandIn: a Zeek run's)
    table.write_text("uid,duration,orig_bytes\nC1,0.5,-5\nC2,-1,7\n")
    zeek_run, table_run = Recording(), Recording(non_negative=frozenset())  # DATASET zeek, DATASET csv
    summary = score.score_file(zeek_run, table, tmp_path / "a.csv")
    assert same(zeek_run.column("orig_bytes"), [None, 7]) and same(zeek_run.column("duration"), [0.5, None])
    assert summary["repairs"][f"flows.csv, column 'orig_bytes': {values.NEGATIVE_REPAIR}"] == 1
    score.score_file(table_run, table, tmp_path / "b.csv")
    assert same(table_run.column("orig_bytes"), [-5, 7]) and same(table_run.column("duration"), [0.5, -1])


def test_batch_scoring_reads_the_runs_encoding(tmp_path):
    table = tmp_path / "flows.csv"
    table.write_bytes("uid,duration,orig_bytes,service\nC1,0.5,5,café\nC2,1.0,7,dns\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"flows\.csv, line 2, column 'service' .*byte 0xe9 is not UTF-8"):
        score.score_file(Recording(), table, tmp_path / "a.csv")
    detector = Recording(encoding="latin-1")
    summary = score.score_file(detector, table, tmp_path / "b.csv")
    assert detector.column("service") == ["café", "dns"]
    assert summary["repairs"]["flows.csv, column '': text read as latin-1 (ENCODING) and re-encoded to UTF-8"] == 1
    log = tmp_path / "conn.log"
    log.write_bytes(header() + record(0).replace(b"\tudp\t-\t", b"\tudp\tcaf\xe9\t") + record(1))
    detector = Recording(encoding="latin-1")
    score.score_file(detector, log, tmp_path / "c.csv")
    assert detector.column("service")[0] == "café" and detector.column("uid") == expected(0, 2)


def test_follow_mode_reads_a_zeek_json_log_and_resumes_in_it(tmp_path):
    path = tmp_path / "conn.log"
    path.write_bytes(b"".join(json_record(i) for i in range(4)))
    assert score.check_input(path, follow=True) == path
    follower = score.LogFollower(path, read_bytes=300)  # less than a record: a poll reads on
    assert uids(drain(follower)) == expected(0, 4)
    with open(path, "ab") as fh:  # the last record not ended yet
        fh.write(json_record(4) + json_record(5, orig_bytes=-3) + json_record(6)[:20])
    more = pd.concat(drain(follower))
    assert list(more["uid"]) == expected(4, 6) and same(more["orig_bytes"].tolist(), [104, None])
    assert {(n["column"], n["repair"]): n["count"] for n in follower.notes} == {
        ("orig_bytes", values.NEGATIVE_REPAIR): 1
    }
    position = follower.position()
    follower.close()
    assert position["line"] == 6 and json.loads(position["header"])["uid"] == "C000000"
    with open(path, "ab") as fh:
        fh.write(json_record(6)[20:] + json_record(7))
    resumed = score.LogFollower(path, resume=position)
    assert uids(drain(resumed)) == expected(6, 8) and "continued at line 7" in resumed.resumed
    resumed.close()
    new = tmp_path / "conn.new"  # rotated: the new file's first record gives its columns
    new.write_bytes(json_record(300, vlan=12) + json_record(301))  # a field the first file's records lack
    os.replace(new, path)
    rotated = score.LogFollower(path, resume=position)
    frames = drain(rotated)
    assert uids(frames) == expected(300, 302) and same(frames[0]["vlan"].tolist(), [12, None]) and "vlan" not in more
    rotated.close()
    out = tmp_path / "live.csv"
    summary = run_follow(path, out)
    assert summary["flows_scored"] == 2 and list(pd.read_csv(out, keep_default_na=False)["uid"]) == expected(300, 302)
    other = tmp_path / "events.json"  # JSON, but not a Zeek log
    other.write_text('{"event": "login", "user": "x"}\n')
    with pytest.raises(score.ScoreError, match=r"not a Zeek log .*\(TSV or JSON\)"):
        score.check_input(other, follow=True)


def test_follow_mode_makes_negative_counts_missing_and_reads_the_runs_encoding(log, tmp_path):
    with open(log, "ab") as fh:
        fh.write(record(10).replace(b"\tudp\t-\t", b"\tudp\tcaf\xe9\t") + record(11).replace(b"\t111\t", b"\t-111\t"))
    follower = score.LogFollower(log)
    with pytest.raises(DataError, match=r"conn\.log, line 19, column 'service' .*byte 0xe9 is not UTF-8"):
        drain(follower)
    follower.close()
    follower = score.LogFollower(log, encoding="latin-1", read_bytes=500)
    frames = pd.concat(drain(follower))
    follower.close()
    assert frames["service"].iloc[-2] == "café" and same(frames["orig_bytes"].tolist()[-2:], [110, None])
    counted = {(n["column"], n["repair"]): n["count"] for n in follower.notes}
    assert counted == {
        ("", "text read as latin-1 (the run's ENCODING) and re-encoded to UTF-8"): 1,  # once for the file
        ("orig_bytes", values.NEGATIVE_REPAIR): 1,
    }
    with pytest.raises(score.ScoreError, match=r"ENCODING='utf-16': follow mode reads a log line by line.*Fix: score"):
        score.LogFollower(log, encoding="utf-16")
    summary = run_follow(log, tmp_path / "live.csv", detector=Recording(encoding="latin-1"))
    assert summary["flows_scored"] == 12
    assert summary["repairs"][f"conn.log, column 'orig_bytes': {values.NEGATIVE_REPAIR}"] == 1


def test_a_byte_outside_the_runs_encoding_names_the_line_and_the_conversion(tmp_path):
    table = tmp_path / "flows.csv"
    table.write_bytes(b"a,b,label\n1,caf\xe9,benign\n")
    with pytest.raises(DataError) as err:
        list(inputs.read_batches(table, outputs.Tally(), 10, "benign", frozenset({"a"}), "utf-8", ()))
    text = str(err.value)
    assert "flows.csv, line 2" in text and "0xe9" in text
    assert "iconv -f <its encoding> -t utf-8" in text and "ENCODING='latin-1'" not in text  # the run's, not a parameter


# ------------------------------------------------------------------------------------------ 7. paths and messages
def test_a_relative_model_is_taken_from_the_current_folder_and_nothing_is_created(log, tmp_path, monkeypatch, capsys):
    import lib

    repo = Path(lib.__file__).parents[1]
    name = f"not_a_run_{tmp_path.name}"
    (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path)
    err = refused(capsys, ["--model", name, "--input", str(log), "--output", "out.csv"])
    assert f"{tmp_path / name}: not a run folder" in err and "Fix: pass the RUN_DIR" in err
    with pytest.raises(score.ScoreError, match=f"{tmp_path / name}: not a run folder"):
        Detector.load(name)  # the library function takes it from the current folder too
    assert cli.parse_args(["--model", "run", "--input", "a", "--output", "b.csv"]).model == str(tmp_path / "run")
    assert not (repo / name).exists() and not (repo / "run").exists()
    assert sorted(p.name for p in (tmp_path / name).iterdir()) == []  # nothing created in it either


def test_a_dangling_link_as_output_is_an_existing_output(never_loaded, run_folder, log, tmp_path, monkeypatch, capsys):
    link, target = tmp_path / "alerts.csv", tmp_path / "gone" / "alerts.csv"
    link.symlink_to(target)
    argv = ["--model", str(run_folder), "--input", str(log), "--output", str(link)]
    for options in ([], ["--follow", "--append"]):
        err = refused(capsys, [*argv, *options])  # before the model loads (never_loaded)
        assert f"--output {link}: a link to a missing file ({target})" in err and "--overwrite" in err
    # --overwrite replaces the link itself, never creating the file it names
    (tmp_path / "gone").mkdir()
    score.score_file(StandIn(), log, link, overwrite=True)
    assert not link.is_symlink() and not target.exists() and len(pd.read_csv(link)) == 10
    os.unlink(link)
    link.symlink_to(target)
    run_follow(log, link, overwrite=True)
    assert not link.is_symlink() and not target.exists() and len(pd.read_csv(link)) == 10


def fewer_fields_block(log: Path, missing: str = "missed_bytes") -> list[str]:
    """A footer and a header block without the field ``missing`` appended to ``log``, then two records."""
    fields = [f for f in FIELDS if f != missing]
    with open(log, "ab") as fh:
        fh.write(b"#close\t2019-01-10-21-30-00\n")
        fh.write(header("2019-01-10-21-30-05", fields, [TYPES[FIELDS.index(f)] for f in fields]))
        fh.write(records(10, 12, fields))
    return fields


def test_follow_mode_refuses_a_later_block_without_a_field_of_the_first_naming_its_line(log, tmp_path):
    fewer_fields_block(log)
    fields_line = 8 + 10 + 1 + 7  # the first block, its records, the footer, then the new block's 7th line
    said = (
        rf"conn\.log, line {fields_line}: this header block's #fields line has no 'missed_bytes' column "
        r"\(missing: missed_bytes\), which the log's first header block \(#fields on line 7\) has"
    )
    follower = score.LogFollower(log)
    assert uids([follower.poll()]) == expected(0, 10)  # the records before it are read
    with pytest.raises(DataError, match=said):
        drain(follower)
    follower.close()
    out = tmp_path / "live.csv"
    with pytest.raises(DataError, match=said):
        run_follow(log, out)
    assert list(pd.read_csv(out, keep_default_na=False)["uid"]) == expected(0, 10)  # written and kept
    assert outputs.read_summary(out)["flows_scored"] == 10


class Trained(StandIn):
    """A stand-in with the training parameters a run records (notebook 01's)."""

    training = {"parameters": {"MISSING_VALUES": "", "DATA_FILES": ""}}


def test_a_fix_that_names_a_training_setting_is_said_for_the_scorer(log, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "check_model_folder", lambda model: Path(model))
    monkeypatch.setattr(Detector, "load", staticmethod(lambda model: Trained()))
    fewer_fields_block(log)
    argv = ["--model", "unused", "--input", str(log), "--quiet"]
    err = refused(capsys, [*argv, "--output", str(tmp_path / "live.csv"), "--follow", "--idle-seconds", "0.05"])
    assert f"{log}, line 26: this header block's #fields line has no 'missed_bytes' column" in err
    assert "DATA_FILES" not in err and "Fix: score the files the input joins one by one" in err
    err = refused(capsys, [*argv, "--output", str(tmp_path / "batch.csv")])  # batch mode: the same words
    assert f"{log}, line 26: this header block's #fields line" in err and "DATA_FILES" not in err
    bad = tmp_path / "bad.log"
    bad.write_bytes(header() + records(0, 3) + record(3).replace(b"\t103\t", b"\tabc\t"))
    err = refused(capsys, [*argv, "--input", str(bad), "--output", str(tmp_path / "bad.csv")])
    assert f"{bad}, line 12, column 'orig_bytes': 'abc' is not a number" in err
    assert "MISSING_VALUES='abc'" not in err and "the run was trained with MISSING_VALUES='')" in err
    assert "or train a run with MISSING_VALUES set for this input" in err
    plain = DataError("x.log, line 3: a problem. Fix: check the file")
    assert cli.scorer_message(plain, {}) == str(plain)  # a fix without a training setting is left as it is


class Measured(StandIn):
    """A stand-in whose ``--runtime auto`` measured three runtimes, one of them unavailable here."""

    pipeline = SimpleNamespace(runtime="stacked")

    def use_runtime(self, runtime: str = "auto") -> list:
        self.asked = runtime
        return [
            {"runtime": "predict, one network at a time", "rows_per_s": 1000.0, "within_tolerance": True},
            {"runtime": "stacked", "rows_per_s": 4000.0, "within_tolerance": True, "chosen": True,
             "score_max_difference": 3e-7},
            {"runtime": "xla", "rows_per_s": None, "within_tolerance": False, "unavailable": "RuntimeError: no"},
        ]  # fmt: skip

    def describe(self) -> dict:
        return {"variant": "full", "runtime": self.pipeline.runtime}


def test_the_command_says_which_runtime_it_measured_and_chose(log, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "check_model_folder", lambda model: Path(model))
    monkeypatch.setattr(Detector, "load", staticmethod(lambda model: Measured()))
    assert cli.main(["--model", "unused", "--input", str(log), "--output", str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith("runtime: "))
    assert line == (
        "runtime: stacked (measured: predict, one network at a time 1,000 flows/s, stacked 4,000 flows/s, "
        "xla unavailable (RuntimeError: no); its scores differ from predict's by at most 3e-07 on those rows)"
    )
    assert '"runtime": "stacked"' in err  # the model line names it too


def test_a_repair_warning_is_said_once_on_stderr(tmp_path, caplog):
    table = tmp_path / "flows.csv"
    table.write_bytes(b"duration,orig_bytes,label\r0.5,100,benign\r0.7,101,benign\r")
    said = "line ends written as CR alone"

    def read() -> None:
        inputs.input_columns(table)
        inputs.read_input(table, numeric={"duration", "orig_bytes"})

    with caplog.at_level("WARNING", logger="lib.datasets"):
        read()
        assert sum(said in r.getMessage() for r in caplog.records) >= 2  # each read of the file says it
        caplog.clear()
        with cli.each_warning_once():
            read()
        assert sum(said in r.getMessage() for r in caplog.records) == 1
