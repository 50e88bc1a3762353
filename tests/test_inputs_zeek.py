"""Zeek logs as Zeek writes them, and bounded memory on any input: the byte and line layer (``lib/datasets/textio.py``,
``stream.py``) and the Zeek readers (``zeek.py``, ``zeek_json.py``).

* rotated logs joined with ``cat``: several header blocks, each parsed with its own header, columns matched by name,
  true line numbers, any ``#separator``;
* Zeek JSON logs (one object per line), plain and gzip, recognised by content: the frame of the same flows' TSV;
* bounded memory: a line longer than ``MAX_LINE_BYTES`` is an error naming the file and the line, before the rest
  is read (a small gzip file expanding to gigabytes, a 50 MB single line);
* CR-only line ends read and counted; a byte that is not UTF-8 named by file, line and column, and ``encoding``.

Every log here is written by the test in Zeek's real conn.log layout (field names, types, header lines)."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc

import pandas as pd
import pytest

from lib import datasets
from lib.datasets import DataError, stream, textio, zeek, zeek_json
from lib.datasets.stream import Chunk

FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes",
    "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
    "resp_pkts", "resp_ip_bytes", "tunnel_parents", "label", "detailed-label",
)  # fmt: skip
FIELD_TYPES = (
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string",
    "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]", "string", "string",
)  # fmt: skip
TYPES = dict(zip(FIELDS, FIELD_TYPES, strict=True)) | {"ip_proto": "count"}
CR_REPAIR = "line ends written as CR alone (old Mac/Excel export) read as LF"


def flows(n: int, start: int = 0) -> list[dict[str, str]]:
    """``n`` conn log records as Zeek's TSV writer writes their fields ('-' unset, '(empty)' an empty set);
    ``orig_bytes`` and ``resp_bytes`` never equal, so that a swap of the two shows."""
    out = []
    for i in range(start, start + n):
        tcp = i % 3 != 1
        out.append(
            {
                "ts": f"{1545403816 + 1.5 * i:.6f}",
                "uid": f"C{i:05d}xYz{i % 7}Ab",
                "id.orig_h": "192.168.1.132",
                "id.orig_p": str(40000 + i),
                "id.resp_h": f"10.0.{i % 5}.{i % 250 + 1}",
                "id.resp_p": "80" if tcp else "53",
                "proto": "tcp" if tcp else "udp",
                "service": ("http", "dns", "-", "ssl")[i % 4],
                "duration": "-" if i % 5 == 4 else f"{0.25 * i + 0.003:.6f}",
                "orig_bytes": "-" if i % 5 == 4 else str(100 + 7 * i),
                "resp_bytes": "-" if i % 5 == 4 else str(5000 + 13 * i),
                "conn_state": ("SF", "S0", "REJ")[i % 3],
                "local_orig": ("T", "F", "-")[i % 3],
                "local_resp": "F",
                "missed_bytes": "0",
                "history": ("ShADadFf", "D", "Sr")[i % 3],
                "orig_pkts": str(1 + i % 9),
                "orig_ip_bytes": str(140 + 7 * i),
                "resp_pkts": str(i % 4),
                "resp_ip_bytes": str(5040 + 13 * i),
                "tunnel_parents": ("(empty)", "-", "CvT1a2")[i % 3],
                "label": "Malicious" if i % 4 == 3 else "Benign",
                "detailed-label": "C&C" if i % 4 == 3 else "-",
            }
        )
    return out


def escaped(separator: str) -> str:
    return "".join(f"\\x{ord(c):02x}" for c in separator)


def block(records: list[dict], fields=FIELDS, sep: str = "\t", unset: str = "-", close: bool = True) -> str:
    """One header block and its records, as Zeek writes a log (``#close`` footer included)."""
    lines = [
        f"#separator {escaped(sep)}",
        f"#set_separator{sep},",
        f"#empty_field{sep}(empty)",
        f"#unset_field{sep}{unset}",
        f"#path{sep}conn",
        f"#open{sep}2018-12-21-14-50-16",
        sep.join(("#fields", *fields)),
        sep.join(("#types", *(TYPES[f] for f in fields))),
    ]
    for record in records:
        values = [record.get(f, "7") for f in fields]  # ip_proto: 7
        lines.append(sep.join(unset if v == "-" else v for v in values))
    if close:
        lines.append(f"#close{sep}2018-12-21-15-50-16")
    return "\n".join(lines) + "\n"


def write(path, text: str | bytes, gz: bool = False):
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def read_in_chunks(monkeypatch, size: int) -> None:
    monkeypatch.setattr(stream, "STREAM_BYTES", size)
    monkeypatch.setattr(stream, "CHUNK_BYTES", size)


def repairs(df) -> dict[tuple[str, str], int]:
    return {(r["column"], r["repair"]): r["count"] for r in df.attrs["repairs"]}


# ------------------------------------------------------------------------------------ 1. rotated logs, joined
SWAPPED = tuple({"orig_bytes": "resp_bytes", "resp_bytes": "orig_bytes"}.get(f, f) for f in FIELDS) + (
    "ip_proto",
)  # a newer Zeek's block: another order, one field more


def rotated(folder):
    """Three logs joined with cat: Zeek's own order, a newer block (orig/resp bytes swapped, ip_proto added),
    and one that repeats only #fields and #types; and the same flows under one header."""
    parts = [flows(30), flows(25, 30), flows(20, 55)]
    third = "#fields\t" + "\t".join(FIELDS) + "\n#types\t" + "\t".join(TYPES[f] for f in FIELDS) + "\n"
    third += "".join("\t".join(r[f] for f in FIELDS) + "\n" for r in parts[2])
    text = block(parts[0]) + block(parts[1], SWAPPED) + third
    return write(folder / "conn.log", text), write(folder / "one" / "conn.log", block(sum(parts, [])))


@pytest.fixture
def logs(tmp_path):
    (tmp_path / "one").mkdir()
    return rotated(tmp_path)


def test_every_header_block_is_read_with_its_own_header_matched_by_name(logs):
    joined, single = logs
    got, expected = datasets.read_zeek_conn(joined), datasets.read_zeek_conn(single)
    pd.testing.assert_frame_equal(got.drop(columns="scenario"), expected.drop(columns="scenario"))
    assert got["orig_bytes"].iloc[30] == 100 + 7 * 30 and got["resp_bytes"].iloc[30] == 5000 + 13 * 30
    assert "ip_proto" not in got  # only the second block has it: dropped, counted per value
    assert repairs(got)[("ip_proto", "field that the log's first header block (#fields on line 7) lacks dropped "
                        "(a later header block has it)")] == 25  # fmt: skip


def test_a_header_block_cut_between_chunks_is_read_as_one(logs, monkeypatch):
    joined, _ = logs
    whole = datasets.read_zeek_conn(joined)
    read_in_chunks(monkeypatch, 300)  # a header block spans two or three chunks
    chunked = datasets.read_zeek_conn(joined)
    pd.testing.assert_frame_equal(chunked, whole)
    assert chunked.attrs["repairs"] == whole.attrs["repairs"]


@pytest.mark.parametrize("chunk", [0, 300])
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("value", r"conn\.log, line {n}, column 'orig_bytes': '12x' is not a number"),
        ("ragged", r"conn\.log, line {n}: expected 24 tab-separated fields as the header says, found 9"),
    ],
)
def test_an_error_in_a_later_block_names_the_true_line_of_the_file(logs, monkeypatch, chunk, damage, message):
    joined, _ = logs
    lines = joined.read_text().split("\n")
    n = 8 + 30 + 1 + 8 + 4  # block 1: 8 header lines, 30 records, #close; block 2: 8 header lines, its 4th record
    fields = lines[n - 1].split("\t")
    assert fields[SWAPPED.index("resp_bytes")] == str(5000 + 13 * 33), "the line is the second block's 4th record"
    if damage == "value":
        fields[SWAPPED.index("orig_bytes")] = "12x"
    lines[n - 1] = "\t".join(fields[:9] if damage == "ragged" else fields)
    joined.write_text("\n".join(lines))
    if chunk:
        read_in_chunks(monkeypatch, chunk)
    with pytest.raises(DataError, match=message.format(n=n)):
        datasets.read_zeek_conn(joined)


def test_a_later_block_without_a_column_of_the_first_is_an_error_naming_its_line(tmp_path):
    fewer = tuple(f for f in FIELDS if f != "duration")
    path = write(tmp_path / "conn.log", block(flows(4)) + block(flows(3, 4), fewer))
    with pytest.raises(DataError, match=r"conn\.log, line 20: this header block's #fields line has no 'duration' "
                                        r"column.*first header block \(#fields on line 7\).*separate files"):  # fmt: skip
        datasets.read_zeek_conn(path)


@pytest.mark.parametrize("sep", [",", "|", ";", "\t"])
def test_the_separator_a_block_declares_is_honoured(tmp_path, sep):
    records = flows(12)
    records[2]["service"] = "ssl" + escaped(sep) + "http" if sep != "\t" else "ssl\\x09http"  # Zeek's escape
    path = write(tmp_path / "conn.log", block(records, sep=sep))
    records[2]["service"] = "ssl" + sep + "http"
    tab_records = [dict(r, service=r["service"].replace("\t", "\\x09")) for r in records]
    expected = datasets.read_zeek_conn(write(tmp_path / "tab.log", block(tab_records)))
    got = datasets.read_zeek_conn(path)
    pd.testing.assert_frame_equal(got.drop(columns="service"), expected.drop(columns="service"))
    assert got["service"].iloc[2] == "ssl" + sep + "http"


def test_hash_lines_that_are_not_zeek_header_lines_are_skipped_and_counted(tmp_path):
    lines = block(flows(10)).split("\n")
    lines.insert(12, "# exported by hand")  # amid the records
    got = datasets.read_zeek_conn(write(tmp_path / "conn.log", "\n".join(lines)))
    pd.testing.assert_frame_equal(got, datasets.read_zeek_conn(write(tmp_path / "one.log", block(flows(10)))))
    assert repairs(got) == {("", "'#' lines that are not Zeek header lines skipped"): 1}


def test_a_later_block_may_change_the_separator_and_the_unset_token(tmp_path):
    path = write(tmp_path / "conn.log", block(flows(6)) + block(flows(6, 6), sep=",", unset="NA"))
    got = datasets.read_zeek_conn(path)
    expected = datasets.read_zeek_conn(write(tmp_path / "one.log", block(flows(12))))
    pd.testing.assert_frame_equal(got, expected)
    assert got["duration"].isna().sum() == 2  # rows 4 and 9: unset, '-' in one block, 'NA' in the other


def test_a_reader_of_consecutive_chunks_carries_the_header_across_them(logs):
    joined, single = logs
    records = zeek.ZeekRecords(joined)
    notes: list[dict] = []
    text, frames, line = joined.read_bytes(), [], 1
    cuts = [i + 1 for i in range(len(text)) if text.startswith(b"\n#fields", i)]  # inside header blocks
    for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        frame = records.frame(Chunk(text[start:end], line, False), notes)
        line += text.count(b"\n", start, end)
        if frame is not None:
            frames.append(frame)
    assert len(frames) == 3
    got = stream.combine_frames(frames)
    pd.testing.assert_frame_equal(got, datasets.read_zeek_conn(joined))


# ------------------------------------------------------------------------------------------------ 2. JSON
def as_json(record: dict[str, str], nested: bool = False, iso: bool = False) -> str:
    """A TSV record as Zeek's JSON writer writes it: numbers as numbers, booleans, sets as arrays, unset fields
    left out (or null), ``id`` nested when asked."""
    out: dict[str, object] = {}
    for field, value in record.items():
        kind = TYPES[field]
        if value == "-" and field not in ("label", "detailed-label"):
            if field == "service":
                out[field] = None  # unset as null (others left out)
            continue
        if field == "ts" and iso:
            out[field] = pd.Timestamp(float(value), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif field == "ts":
            out[field] = float(value)
        elif kind in ("port", "count"):
            out[field] = int(value)
        elif kind == "interval":
            out[field] = float(value)
        elif kind == "bool":
            out[field] = value == "T"
        elif kind.startswith("set"):
            out[field] = [] if value == "(empty)" else value.split(",")
        else:
            out[field] = value
    if nested:
        out["id"] = {k[3:]: out.pop(k) for k in list(out) if k.startswith("id.")}
        out = {k: out[k] for k in ("ts", "uid", "id", *out) if k in out}
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("labelled", [True, False])
def test_a_zeek_json_log_gives_the_frame_of_the_same_flows_as_tsv(tmp_path, gz, nested, labelled):
    records = flows(40)
    if not labelled:
        records = [{k: v for k, v in r.items() if k not in ("label", "detailed-label")} for r in records]
    fields = FIELDS if labelled else FIELDS[:-2]
    tsv = write(tmp_path / "conn.log", block(records, fields))
    text = "".join(as_json(r, nested) + "\n" for r in records)
    logged = write(tmp_path / ("capture.dat.gz" if gz else "capture.dat"), text, gz)  # any name: by content
    options = {} if labelled else {"labels_required": False, "ignore_labels": ()}
    expected = datasets.read_zeek_conn(tsv, **options)
    got = datasets.read_zeek_conn(logged, **options)
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs["repairs"] == expected.attrs["repairs"]
    assert zeek.log_columns(logged) == list(fields)


def test_a_zeek_json_log_with_iso_times_and_in_chunks(tmp_path, monkeypatch):
    records = flows(200)
    tsv = write(tmp_path / "conn.log", block(records))
    logged = write(tmp_path / "conn.json", "".join(as_json(r, iso=True) + "\n" for r in records))
    expected = datasets.read_zeek_conn(tsv)
    got = datasets.read_zeek_conn(logged)
    assert (got["ts"] - expected["ts"]).abs().max() < 1e-6
    pd.testing.assert_frame_equal(got.drop(columns="ts"), expected.drop(columns="ts"))
    read_in_chunks(monkeypatch, 2048)
    pd.testing.assert_frame_equal(datasets.read_zeek_conn(logged), got)


def test_a_key_the_first_record_lacks_is_dropped_and_counted_and_a_bad_line_is_named(tmp_path):
    records = [json.loads(as_json(r)) for r in flows(5)]
    records[3]["vlan"] = 12  # first seen on line 4: not one of the log's columns
    path = write(tmp_path / "conn.json", "".join(json.dumps(r) + "\n" for r in records))
    assert repairs(datasets.read_zeek_conn(path))[("vlan", "JSON key that the log's first record lacks dropped")] == 1
    lines = path.read_text().split("\n")
    lines[2] = lines[2][:40]  # line 3 cut short
    path.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"conn\.json, line 3: not a JSON object"):
        datasets.read_zeek_conn(path)
    lines[2] = json.dumps(dict(records[2], orig_bytes="12x"))
    path.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"conn\.json, line 3, column 'orig_bytes': '12x' is a JSON string"):
        datasets.read_zeek_conn(path)


def test_zeek_json_is_recognised_by_content(tmp_path):
    record = as_json(flows(1)[0]).encode()
    assert zeek_json.looks_like_zeek_json(record + b"\n")
    assert zeek_json.looks_like_zeek_json(b"\xef\xbb\xbf\n" + record[:30])  # a first line longer than the head
    assert not zeek_json.looks_like_zeek_json(block(flows(1)).encode())
    assert not zeek_json.looks_like_zeek_json(b"ts,uid,label\n1.0,C1,Benign\n")
    assert not zeek_json.looks_like_zeek_json(b'{"flow": 1, "bytes": 10}\n')
    assert zeek_json.is_zeek_json(write(tmp_path / "x.bin", record + b"\n", gz=True))
    assert not zeek_json.is_zeek_json(write(tmp_path / "conn.log", block(flows(2))))


def test_a_zeek_json_log_under_any_name_is_found_in_a_folder_and_read_by_dataset_zeek(tmp_path, caplog):
    records = flows(30)
    folder = tmp_path / "logs"
    folder.mkdir()
    # 'ts' and 'uid' last (as a tool that rewrites Zeek's JSON may put them), far past the first 64 bytes: the
    # whole first record is read to tell the log by its keys
    reordered = [json.dumps({**{k: v for k, v in r.items() if k not in ("ts", "uid")}, "ts": r["ts"], "uid": r["uid"]})
                 for r in (json.loads(as_json(record)) for record in records)]  # fmt: skip
    assert reordered[0].index('"ts"') > 200
    write(folder / "capture-2018-12-21.dat", "".join(line + "\n" for line in reordered))
    write(folder / "older.bin.gz", "".join(as_json(r) + "\n" for r in flows(5, start=30)), gz=True)
    write(folder / "flows.csv", "uid,duration,label\nC1,0.5,Benign\n")  # a table: not a Zeek log
    assert datasets.is_zeek_log(folder / "capture-2018-12-21.dat") and datasets.is_zeek_log(folder / "older.bin.gz")
    assert datasets.files.what_it_is(folder / "older.bin.gz") == datasets.files.ZEEK_LOG
    assert datasets.expand_files(str(folder), accept=datasets.is_zeek_log) == [
        folder / "capture-2018-12-21.dat", folder / "older.bin.gz",
    ]  # fmt: skip
    (tmp_path / "tsv" / "logs").mkdir(parents=True)  # (the scenario is the log's folder)
    tsv = write(tmp_path / "tsv" / "logs" / "conn.log", block(flows(35)))
    got = datasets.load("zeek", files=str(folder), use_cache=False)
    expected = datasets.load("zeek", files=str(tsv), use_cache=False)
    assert len(got) == 35 and set(got["source_file"].astype(str)) == {"capture-2018-12-21.dat", "older.bin.gz"}
    pd.testing.assert_frame_equal(
        got.drop(columns="source_file"), expected.drop(columns="source_file"), check_like=True
    )
    with caplog.at_level("WARNING", logger="lib.datasets"):  # the folder of tables names the JSON log and its reader
        datasets.expand_files(str(folder))
    assert "capture-2018-12-21.dat (a Zeek log: DATASET='zeek' reads it)" in caplog.text


@pytest.mark.parametrize("name", ["flows.csv", "flows.tsv.gz"])
def test_a_zeek_json_log_given_as_a_table_is_refused_with_the_fix(tmp_path, name):
    path = write(tmp_path / name, "".join(as_json(r) + "\n" for r in flows(4)), gz=name.endswith(".gz"))
    with pytest.raises(DataError, match=rf"{name}, line 1: this is a Zeek JSON log, not a table\. Fix: read it "
                       r"with DATASET='zeek'"):  # fmt: skip
        datasets.load("csv", files=str(path), label_column="label", benign_labels="Benign", use_cache=False)
    plain = write(tmp_path / "other.csv", '{"flow": 1, "label": "Benign"}\n')  # JSON, but no Zeek log
    with pytest.raises(DataError) as refused:
        datasets.read_flow_table(plain, "label", "Benign")
    assert "Zeek" not in str(refused.value)


# ------------------------------------------------------------------------------------- 3. bounded memory
def test_a_line_longer_than_max_line_bytes_is_an_error_naming_file_and_line(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "MAX_LINE_BYTES", 1000)
    text = block(flows(30)).split("\n")
    text[19] = text[19] + "x" * 2000  # line 20
    path = write(tmp_path / "conn.log", "\n".join(text))
    message = r"conn\.log, line 20: a line longer than 1,000 bytes.*MAX_LINE_BYTES"
    with pytest.raises(DataError, match=message):
        datasets.read_zeek_conn(path)
    with pytest.raises(DataError, match=message):
        stream.read_text_bytes(path)
    read_in_chunks(monkeypatch, 512)
    with pytest.raises(DataError, match=message):
        datasets.read_zeek_conn(path)


def test_the_line_splitter_holds_at_most_the_limit():
    lines = stream.line_splitter("f.log", first_line=5)
    assert lines.limit == stream.MAX_LINE_BYTES
    lines = textio.LineSplitter("f.log", 10, first_line=5)
    assert lines.feed(b"abc") == b"" and lines.feed(b"de\nfgh") == b"abcde\n" and lines.line == 6
    assert lines.feed(b"\n1234567890\n12") == b"fgh\n1234567890\n" and lines.pending == b"12"
    with pytest.raises(DataError, match=r"f\.log, line 8: a line longer than 10 bytes"):
        for _ in range(3):
            lines.feed(b"3456")  # never held past the limit
    assert len(lines.pending) <= 14
    with pytest.raises(DataError, match=r"f\.log, line 3: a line longer than 10 bytes"):
        textio.LineSplitter("f.log", 10).feed(b"a\nb\n" + b"c" * 11 + b"\nd\n")


@pytest.fixture(scope="module")
def expanding(tmp_path_factory):
    """gzip files a few MB long whose text is 4 GiB: 64 gzip members of 64 MiB of 'A' each (a multi-member
    gzip file, as ``cat a.gz b.gz`` makes), after a Zeek header and one record, or alone (no line end at all)."""
    folder = tmp_path_factory.mktemp("expanding")
    member = gzip.compress(b"A" * (64 << 20), compresslevel=9, mtime=0)
    header = gzip.compress(block(flows(1), close=False).encode(), mtime=0)
    with_header, bare = folder / "conn.log.gz", folder / "flows.csv.gz"
    for path, first in ((with_header, header), (bare, b"")):
        with open(path, "wb") as fh:
            fh.write(first)
            for _ in range(64):
                fh.write(member)
    return with_header, bare


def test_a_small_gzip_file_expanding_to_gigabytes_is_refused_in_bounded_memory(expanding):
    with_header, bare = expanding
    assert with_header.stat().st_size < 8 << 20
    tracemalloc.start()
    try:
        started = time.perf_counter()
        with pytest.raises(DataError, match=r"conn\.log\.gz, line 10: a line longer than 4,194,304 bytes"):
            datasets.read_zeek_conn(with_header)
        with pytest.raises(DataError, match=r"flows\.csv\.gz, line 1: a line longer than 4,194,304 bytes"):
            stream.header_and_chunks(bare)
        with pytest.raises(DataError, match=r"flows\.csv\.gz, line 1: a line longer"):
            stream.read_text_bytes(bare)  # read whole: refused as early
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 256 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert time.perf_counter() - started < 30


def test_a_50_mb_single_line_is_the_clear_error_never_a_parser_error(tmp_path):
    path = tmp_path / "flows.csv"
    with open(path, "wb") as fh:
        fh.write(b"src,bytes,label\n")
        for _ in range(50):
            fh.write(b"1" * 2**20)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"flows\.csv, line 2: a line longer than .*Fix: check the file"):
            datasets.read_flow_table(path, "label", "normal")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20


# ------------------------------------------------------------------------------------------ 4. CR line ends
@pytest.mark.parametrize("chunk", [0, 700])
def test_cr_only_line_ends_are_read_and_counted_once(tmp_path, monkeypatch, chunk):
    text = block(flows(40))
    lf = datasets.read_zeek_conn(write(tmp_path / "lf.log", text))
    table = "src,bytes,label\r" + "".join(f"10.0.0.{i},{i * 10},{'normal' if i % 2 else 'attack'}\r" for i in range(60))
    if chunk:
        read_in_chunks(monkeypatch, chunk)
    cr = datasets.read_zeek_conn(write(tmp_path / "cr.log", text.replace("\n", "\r")))
    pd.testing.assert_frame_equal(cr, lf)
    assert repairs(cr)[("", CR_REPAIR)] == 1
    path = write(tmp_path / "flows.csv", table)
    notes: list[dict] = []
    assert b"".join(c.data for c in stream.text_chunks(path, notes)) == table.replace("\r", "\n").encode()
    assert [(n["repair"], n["count"]) for n in notes] == [(CR_REPAIR, 1)]
    header, chunks = stream.header_and_chunks(path)
    assert header == b"src,bytes,label" and sum(c.data.count(b"\n") for c in chunks) == 61
    df = datasets.read_flow_table(path, "label", "normal")
    assert len(df) == 60 and repairs(df)[("", CR_REPAIR)] == 1


def test_crlf_line_ends_are_not_a_repair(tmp_path):
    path = write(tmp_path / "conn.log", block(flows(10)).replace("\n", "\r\n"))
    df = datasets.read_zeek_conn(path)
    assert len(df) == 10 and ("", CR_REPAIR) not in repairs(df)


# ------------------------------------------------------------------------------------- 5. bytes not UTF-8
def test_a_byte_that_is_not_utf8_is_named_by_file_line_and_column(tmp_path, monkeypatch):
    records = flows(20)
    records[11]["service"] = "caf\xe9"  # written below in latin-1: line 8 + 12
    raw = block(records).encode("latin-1")
    path = write(tmp_path / "conn.log", raw)
    message = (
        r"conn\.log, line 20, column 'service' \(byte \d+ of the line\): byte 0xe9 is not UTF-8.*ENCODING='latin-1'"
    )
    with pytest.raises(DataError, match=message):
        datasets.read_zeek_conn(path)
    read_in_chunks(monkeypatch, 600)
    with pytest.raises(DataError, match=message):
        datasets.read_zeek_conn(path)
    df = datasets.read_zeek_conn(path, encoding="latin-1")
    assert df["service"].iloc[11] == "café"
    assert repairs(df)[("", "text read as latin-1 (ENCODING) and re-encoded to UTF-8")] == 1
    json_path = write(tmp_path / "conn.json", "".join(as_json(r) + "\n" for r in records).encode("latin-1"))
    with pytest.raises(DataError, match=r"conn\.json, line 12, byte \d+ of the line: byte 0xe9 is not UTF-8"):
        datasets.read_zeek_conn(json_path)
    assert datasets.read_zeek_conn(json_path, encoding="latin-1")["service"].iloc[11] == "café"


def test_tables_name_the_line_and_the_column_of_a_byte_that_is_not_utf8(tmp_path):
    path = write(tmp_path / "flows.csv", "src,name,label\n1.1.1.1,x,normal\n1.1.1.2,caf\xe9,attack\n".encode("cp1252"))
    with pytest.raises(DataError, match=r"flows\.csv, line 3, byte 12 of the line: byte 0xe9 is not UTF-8"):
        stream.read_text_bytes(path)
    _, chunks = stream.header_and_chunks(path)
    with pytest.raises(DataError, match=r"flows\.csv, line 3, column 'name' \(byte 12 of the line\)"):
        list(chunks)
    notes: list[dict] = []
    assert stream.read_text_bytes(path, notes, encoding="cp1252").endswith("café,attack\n".encode())
    assert notes[0]["repair"] == "text read as cp1252 (ENCODING) and re-encoded to UTF-8"
    with pytest.raises(DataError, match=r"ENCODING='klingon' is not a text encoding"):
        stream.read_text_bytes(path, encoding="klingon")


# ----------------------------------------------------------------------------------- the real logs, unchanged
def test_a_real_iot23_log_joined_to_itself_gives_its_flows_twice(mirror, tmp_path, monkeypatch):
    path = mirror / "iot23/CTU-Honeypot-Capture-4-1/bro/conn.log.labeled"  # IoT-23's '   ' tail, #close + junk
    whole = datasets.read_zeek_conn(path)
    assert len(whole) == 452 and whole.attrs["repairs"] == []
    folder = tmp_path / "CTU-Honeypot-Capture-4-1" / "bro"
    folder.mkdir(parents=True)
    joined = write(folder / "conn.log.labeled", path.read_bytes() * 2)  # the capture twice, joined with cat
    twice = datasets.read_zeek_conn(joined)
    pd.testing.assert_frame_equal(twice, pd.concat([whole, whole], ignore_index=True).astype(twice.dtypes))
    read_in_chunks(monkeypatch, 4096)
    pd.testing.assert_frame_equal(datasets.read_zeek_conn(joined), twice)


# ------------------------------------------------------------------------------------ label spellings in one log
def labelled_log(folder, labels: list[str], name: str = "conn.log.labeled"):
    """A conn log whose flows carry ``labels`` in order (no detailed label)."""
    records = [r | {"label": label, "detailed-label": "-"} for r, label in zip(flows(len(labels)), labels, strict=True)]
    return write(folder / name, block(records))


def test_attack_label_spellings_of_one_zeek_log_are_decided_and_counted_by_the_load_rule(tmp_path):
    path = labelled_log(tmp_path, ["Benign"] * 3 + ["dos"] * 12 + ["DoS"] * 4)  # the rarer spelling last
    read = datasets.read_zeek_conn(path, benign_labels="Benign")
    assert read["label"].value_counts().to_dict() == {"dos": 12, "DoS": 4, "Benign": 3}  # spelt as written
    df = datasets.load("zeek", files=str(path), benign_labels="Benign", use_cache=False)
    assert df["label"].value_counts().to_dict() == {"dos": 16, "Benign": 3}
    assert df["label_detail"].value_counts().to_dict() == {"dos": 16, "Benign": 3}
    found = repairs(df)
    assert found[("label", "label 'DoS' read as 'dos' " + SPELLING_RULE)] == 4
    assert found[("label_detail", "label 'DoS' read as 'dos' " + SPELLING_RULE)] == 4
    assert df["is_attack"].sum() == 16


SPELLING_RULE = "(spellings differing only by case or surrounding space are one label; the most frequent spelling wins)"


def test_surrounding_space_of_a_zeek_label_is_stripped_and_counted(tmp_path):
    labels = [" benign"] * 2 + ["BENIGN"] * 3 + ["Malicious "] * 2 + ["dos"] * 5 + ["dos "] * 2 + [" Scan "]
    path = labelled_log(tmp_path, labels)
    df = datasets.load("zeek", files=str(path), benign_labels="benign", use_cache=False)
    assert df["label"].value_counts().to_dict() == {"dos": 7, "Benign": 5, "Malicious": 2, "Scan": 1}
    found = repairs(df)
    assert found[("label", "surrounding space of label ' benign' stripped")] == 2
    assert found[("label", "surrounding space of label 'Malicious ' stripped")] == 2
    assert found[("label", "label 'dos ' read as 'dos' " + SPELLING_RULE)] == 2
    assert found[("label", "label ' Scan ' read as 'Scan' " + SPELLING_RULE)] == 1
    assert not any("BENIGN" in repair for _, repair in found)  # benign labels: case-folded, as ever


def test_label_spellings_tie_to_the_first_seen_across_zeek_logs_and_are_counted_per_file(tmp_path):
    first = labelled_log(tmp_path, ["Benign"] + ["DoS"] * 3 + ["dos"], "a.log")
    second = labelled_log(tmp_path, ["dos"] * 2, "b.log")
    df = datasets.load("zeek", files=f"{first},{second}", benign_labels="Benign", use_cache=False)
    assert df["label"].value_counts().to_dict() == {"DoS": 6, "Benign": 1}  # 3 and 3: the first seen wins
    moved = {(r["file"], r["column"]): r["count"] for r in df.attrs["repairs"] if "'dos' read as" in r["repair"]}
    assert moved == {("a.log", "label"): 1, ("b.log", "label"): 2, ("a.log", "label_detail"): 1,
                     ("b.log", "label_detail"): 2}  # fmt: skip


# ------------------------------------------------------------------- JSON logs mixing flat and nested fields
@pytest.mark.parametrize("nested_first", [False, True])
def test_a_json_log_mixing_flat_and_nested_id_fields_reads_both_as_one_field(tmp_path, monkeypatch, nested_first):
    records = flows(60)
    tsv = write(tmp_path / "conn.log", block(records))
    text = "".join(as_json(r, nested=(i < 30) == nested_first) + "\n" for i, r in enumerate(records))
    logged = write(tmp_path / "conn.json", text)  # two logs, one written flat, one nested, joined with cat
    expected = datasets.read_zeek_conn(tsv)
    got = datasets.read_zeek_conn(logged)
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs["repairs"] == expected.attrs["repairs"]
    assert got["id.orig_p"].notna().all() and got["id.resp_h"].notna().all()
    read_in_chunks(monkeypatch, 2048)  # chunks of one spelling and chunks of both
    pd.testing.assert_frame_equal(datasets.read_zeek_conn(logged), expected)


def test_a_json_line_giving_a_field_both_flat_and_nested_is_an_error_naming_the_line(tmp_path):
    lines = [as_json(r, nested=i < 2) for i, r in enumerate(flows(5))]
    both = json.loads(lines[3])
    both["id"] = {"orig_h": "10.9.9.9"}
    lines[3] = json.dumps(both)
    path = write(tmp_path / "conn.json", "\n".join(lines) + "\n")
    with pytest.raises(
        DataError, match=r"conn\.json, line 4, column 'id\.orig_h': the field is given twice.*Fix: keep"
    ):
        datasets.read_zeek_conn(path)
