"""lib/datasets/stream.py: a file larger than ``STREAM_BYTES`` is parsed in line-aligned chunks by the same reader
code as a whole file and written to its Parquet cache entry chunk by chunk; what comes back is the whole-file parse
(frame, categories, repairs), errors name their line in the file, and no step holds the whole file.

``STREAM_BYTES`` and ``CHUNK_BYTES`` are lowered to a few KiB, so that files of a few hundred KiB are read in tens of
chunks. Zeek logs are the format corpus's CTU conn log (``tests/corpus.py``, the real conn.log layout)."""

from __future__ import annotations

import gzip
import json
import logging
import shutil

import corpus
import pandas as pd
import pyarrow.parquet as pq
import pytest

from lib import datasets
from lib.datasets import DataError, csvparse, files, stream, zeek
from lib.datasets import cache as parse_cache  # (the fixture `cache` is a folder)

KIB = 1024
REAL = {  # under the mirror: (reader, chunk size) -- at least 40 chunks each
    "iot23/CTU-IoT-Malware-Capture-34-1/bro/conn.log.labeled": (datasets.read_zeek_conn, 64 * KIB),
    "cicids2017/ml_stripped_header_heads_10k/Friday-WorkingHours-Afternoon-PortScan.head10k.csv": (
        datasets.read_cicids_csv,
        64 * KIB,
    ),
    # BoT-IoT: the full 35-column layout, the 10-best tab-separated layout and a quoted ground-truth file
    "botiot/botiot_full35col_sample_normal_ddos-tcp.csv": (datasets.read_botiot_csv, 4 * KIB),
    "botiot/botiot_10best_training_attack_sample.tsv": (datasets.read_botiot_csv, 2 * KIB),
    "botiot/botiot_groundtruth_data_exfiltration.csv": (datasets.read_botiot_csv, KIB // 2),
}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A Parquet cache of this test alone."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(files.CACHE_DIR_ENV, str(folder))
    return folder


def read_in_chunks(monkeypatch, chunk_bytes: int) -> None:
    """Every file over ``chunk_bytes`` is read in chunks of ``chunk_bytes``."""
    monkeypatch.setattr(stream, "STREAM_BYTES", chunk_bytes)
    monkeypatch.setattr(stream, "CHUNK_BYTES", chunk_bytes)


def entry_and_record(folder) -> tuple:
    (entry,) = folder.glob("*.parquet")
    return entry, json.loads(entry.with_suffix(".json").read_text())


def zeek_log(folder, gz: bool = False):
    return corpus.write_ctu_zeek(folder, gz=gz).files[0]


# ---------------------------------------------------------------------------------- the real files, whole and chunked
@pytest.mark.parametrize("relpath", sorted(REAL))
def test_a_real_file_read_in_chunks_gives_the_whole_file_parse(mirror, tmp_path, monkeypatch, relpath):
    path = mirror / relpath
    reader, chunk_bytes = REAL[relpath]
    monkeypatch.setenv(files.CACHE_DIR_ENV, str(tmp_path / "whole"))
    whole = parse_cache.read_cached(path, reader, use_cache=True, display="f")
    whole_entry, whole_record = entry_and_record(tmp_path / "whole")
    direct_whole = reader(path)

    read_in_chunks(monkeypatch, chunk_bytes)
    monkeypatch.setenv(files.CACHE_DIR_ENV, str(tmp_path / "chunks"))
    cold = parse_cache.read_cached(path, reader, use_cache=True, display="f")
    warm = parse_cache.read_cached(path, reader, use_cache=True, display="f")  # from the entry written in chunks
    entry, record = entry_and_record(tmp_path / "chunks")

    assert record["chunks"] == pq.ParquetFile(entry).num_row_groups >= path.stat().st_size // chunk_bytes >= 40
    assert "chunks" not in whole_record and pq.ParquetFile(whole_entry).num_row_groups == 1
    assert record["rows"] == whole_record["rows"] == len(whole)
    for frame in (cold, warm):  # categories equal as values and in order (sorted, as the whole parse has them)
        pd.testing.assert_frame_equal(frame, whole)
        assert frame.attrs == whole.attrs
    direct = reader(path)  # no cache: the chunks' frames put together in memory
    pd.testing.assert_frame_equal(direct, direct_whole)
    assert direct.attrs == direct_whole.attrs


# ------------------------------------------------------------------------------------------------------------ gzip
def test_a_gzip_log_is_streamed_never_decompressed_or_held_whole(tmp_path, cache, monkeypatch):
    path = zeek_log(tmp_path, gz=True)
    whole = datasets.read_zeek_conn(path)
    text = gzip.decompress(path.read_bytes())
    chunk_bytes = 16 * KIB
    read_in_chunks(monkeypatch, chunk_bytes)
    parsed = []
    real_parse = zeek.parse_table
    monkeypatch.setattr(
        zeek, "parse_table", lambda data, *a, **k: parsed.append(len(data)) or real_parse(data, *a, **k)
    )
    monkeypatch.setattr(gzip, "decompress", lambda *a: pytest.fail("the gzip file was decompressed whole"))
    monkeypatch.setattr(stream, "read_text_bytes", lambda *a: pytest.fail("the file was read whole"))

    entry = datasets.cache_entry(path, datasets.read_zeek_conn)
    longest_line = max(map(len, text.split(b"\n")))
    assert len(parsed) >= len(text) // chunk_bytes >= 20 and max(parsed) <= chunk_bytes + longest_line
    chunked = parse_cache.read_cached(path, datasets.read_zeek_conn, use_cache=True, display="x")
    assert entry_and_record(cache) == (entry, json.loads(entry.with_suffix(".json").read_text()))
    pd.testing.assert_frame_equal(chunked.drop(columns="source_file"), whole)
    assert chunked.attrs["repairs"] == whole.attrs["repairs"] != []  # the Background flows, summed over chunks


def test_the_size_of_a_gzip_file_is_that_of_its_text(tmp_path):
    path = zeek_log(tmp_path, gz=True)
    packed, text = path.stat().st_size, len(gzip.decompress(path.read_bytes()))
    assert packed < text
    assert stream.text_is_larger(path, packed) and stream.text_is_larger(path, text - 1)
    assert not stream.text_is_larger(path, text)


# ---------------------------------------------------------------------------------------- errors in a later chunk
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("value", r"labeled-conn\.log, line {n}, column 'orig_bytes': '12x' is not a number"),
        ("ragged", r"labeled-conn\.log, line {n}: expected 23 tab-separated fields as the header says, found 9"),
    ],
)
def test_an_error_in_a_later_chunk_names_its_line_in_the_file(tmp_path, cache, monkeypatch, damage, message):
    path = zeek_log(tmp_path)
    lines = path.read_bytes().split(b"\n")
    n = len(lines) - 300  # 1-based number of the damaged line
    fields = lines[n - 1].split(b"\t")
    lines[n - 1] = b"\t".join(fields[:9] if damage == "ragged" else [*fields[:9], b"12x", *fields[10:]])
    path.write_bytes(b"\n".join(lines))
    chunk_bytes = 16 * KIB
    assert sum(map(len, lines[: n - 1])) > 10 * chunk_bytes, "the line must lie in a later chunk"
    expected = message.format(n=n)
    with pytest.raises(DataError, match=expected):
        datasets.read_zeek_conn(path)  # whole
    read_in_chunks(monkeypatch, chunk_bytes)
    with pytest.raises(DataError, match=expected):
        datasets.read_zeek_conn(path)
    with pytest.raises(DataError, match=expected):
        datasets.cache_entry(path, datasets.read_zeek_conn)
    assert not list(cache.glob("*.parquet")), "no entry is left behind"


def test_a_bad_value_in_a_later_chunk_of_a_cicids_file_names_its_line(mirror, tmp_path, monkeypatch):
    path = tmp_path / "PortScan.csv"
    lines = (mirror / next(r for r in REAL if r.startswith("cicids"))).read_bytes().split(b"\n")
    n = 9000
    fields = lines[n - 1].split(b",")
    fields[1] = b"12x"  # Flow Duration
    lines[n - 1] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    expected = rf"PortScan\.csv, line {n}, column 'Flow Duration': '12x' is not a number"
    with pytest.raises(DataError, match=expected):
        datasets.read_cicids_csv(path)
    read_in_chunks(monkeypatch, 64 * KIB)
    with pytest.raises(DataError, match=expected):
        datasets.read_cicids_csv(path)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("pkts", b"12x", r"full\.csv, column 'pkts': non-numeric value '12x' \(data row {row}\)"),
        ("category", b"", r"full\.csv, line {n}, column 'category': empty \(1 row\(s\) in all\)"),
        ("attack", b"1", r"full\.csv, data row {row}: attack=1 but category='Normal'"),
    ],
)
@pytest.mark.parametrize("header", [True, False])
def test_an_error_in_a_later_chunk_of_a_botiot_file_names_its_line(
    mirror, tmp_path, monkeypatch, column, value, message, header
):
    path = tmp_path / "full.csv"
    lines = (mirror / "botiot/botiot_full35col_sample_normal_ddos-tcp.csv").read_bytes().split(b"\n")
    names = lines[0].decode().split(",")
    if not header:  # the full data set's files come without one: the 35 columns are known
        lines = lines[1:]
    normal = [i + 1 for i, line in enumerate(lines) if line.rstrip(b"\r").endswith(b",0,Normal,Normal")]
    n = normal[-1]  # the line of the last Normal flow
    fields = lines[n - 1].split(b",")
    fields[names.index(column)] = value
    lines[n - 1] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    assert sum(map(len, lines[: n - 1])) > 10 * 4 * KIB, "the line must lie in a later chunk"
    expected = message.format(n=n, row=n - 1 if header else n)  # a header row is line 1
    with pytest.raises(DataError, match=expected):
        datasets.read_botiot_csv(path)  # whole
    read_in_chunks(monkeypatch, 4 * KIB)
    with pytest.raises(DataError, match=expected):
        datasets.read_botiot_csv(path)


def test_a_column_that_changes_type_in_a_later_chunk_is_an_error(mirror, tmp_path, cache, monkeypatch):
    path = tmp_path / "PortScan.csv"
    lines = (mirror / next(r for r in REAL if r.startswith("cicids"))).read_bytes().split(b"\n")
    lines[9000] = b"http" + lines[9000][lines[9000].index(b",") :]  # Destination Port (an identifier) as text
    path.write_bytes(b"\n".join(lines))
    assert datasets.read_cicids_csv(path)["Destination Port"].dtype != "int64"  # whole: text throughout
    read_in_chunks(monkeypatch, 64 * KIB)
    with pytest.raises(DataError, match=r"PortScan\.csv: column 'Destination Port' holds text in rows 8,9\d\d-"):
        datasets.read_cicids_csv(path)
    with pytest.raises(DataError, match=r"PortScan\.csv: rows 8,9\d\d-.* do not fit the column types"):
        datasets.cache_entry(path, datasets.read_cicids_csv)


def test_a_cicids_header_length_copy_that_differs_after_the_first_chunk_is_an_error(mirror, tmp_path, monkeypatch):
    path = tmp_path / "PortScan.csv"
    lines = (mirror / next(r for r in REAL if r.startswith("cicids"))).read_bytes().split(b"\n")
    copy = csvparse.header_names(lines[0].decode(), ",").index("Fwd Header Length.1")
    fields = lines[9000].split(b",")
    fields[copy] = b"999999"
    lines[9000] = b",".join(fields)  # data row 9000
    path.write_bytes(b"\n".join(lines))
    assert "Fwd Header Length.1" in datasets.read_cicids_csv(path)  # whole: both kept, with a warning
    read_in_chunks(monkeypatch, 64 * KIB)
    with pytest.raises(DataError, match=r"data row 9000: 'Fwd Header Length\.1' differs.*the first chunk"):
        datasets.read_cicids_csv(path)


# --------------------------------------------------------------------------------------------------------- repairs
def test_repairs_are_summed_over_the_chunks_and_logged_once(tmp_path, monkeypatch, caplog):
    path = zeek_log(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # a byte-order mark: a repair of the file itself
    whole = datasets.read_zeek_conn(path)
    read_in_chunks(monkeypatch, 16 * KIB)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lib.datasets"):
        chunked = datasets.read_zeek_conn(path)
    assert [(r["repair"], r["count"]) for r in whole.attrs["repairs"]] == [
        ("UTF-8 byte-order mark removed from the first line", 1),
        ("flows labelled 'Background' dropped (IGNORE_LABELS)", 700),
    ]
    assert chunked.attrs["repairs"] == whole.attrs["repairs"]
    assert [r.getMessage() for r in caplog.records] == [
        "labeled-conn.log: UTF-8 byte-order mark removed from the first line (1)",
        "labeled-conn.log, column 'label': flows labelled 'Background' dropped (IGNORE_LABELS) (700)",
    ]
    pd.testing.assert_frame_equal(chunked, whole)


def test_merge_repairs_sums_the_same_repair_in_first_seen_order():
    one = {"file": "f", "column": "label", "repair": "dropped", "count": 2}
    other = {"file": "f", "column": "", "repair": "bom", "count": 1}
    assert stream.merge_repairs([[one], [other, {**one, "count": 3}], []]) == [{**one, "count": 5}, other]


# ----------------------------------------------------------------------------------------------- chunks and lines
def test_blocks_are_regrouped_into_whole_lines_numbered_in_the_file():
    blocks = [b"a\nbb", b"b\ncc", b"cccc", b"c\nd"]
    got = [(c.data, c.first_line) for c in stream._line_aligned(blocks)]
    assert got == [(b"a\n", 1), (b"bbb\n", 2), (b"ccccccc\n", 3), (b"d", 4)]


def test_a_file_at_most_stream_bytes_is_one_whole_chunk(tmp_path, monkeypatch):
    path = zeek_log(tmp_path)
    monkeypatch.setattr(stream, "STREAM_BYTES", path.stat().st_size)
    (chunk,) = stream.text_chunks(path)
    assert chunk.whole and chunk.first_line == 1 and chunk.data == path.read_bytes()
    monkeypatch.setattr(stream, "STREAM_BYTES", path.stat().st_size - 1)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 16 * KIB)
    chunks = list(stream.text_chunks(path))
    assert len(chunks) > 1 and not any(c.whole for c in chunks)
    assert b"".join(c.data for c in chunks) == path.read_bytes()
    assert [c.first_line for c in chunks] == [1 + b"".join(c.data for c in chunks[:i]).count(b"\n") for i in
                                              range(len(chunks))]  # fmt: skip


# ------------------------------------------------------------------------------------- the cache entry of chunks
def counting_zeek_reader(calls: list):
    def reader(path):
        return datasets.read_zeek_conn(path)

    def chunks(path):
        calls.append(path)
        return zeek.zeek_conn_frames(path)

    reader.cache_tag, reader.chunks = "counting-zeek", chunks
    return reader


def test_an_entry_written_in_chunks_is_checked_like_any_other(tmp_path, cache, monkeypatch, caplog):
    path = zeek_log(tmp_path)
    read_in_chunks(monkeypatch, 16 * KIB)
    calls = []
    entry = datasets.cache_entry(path, counting_zeek_reader(calls))
    assert datasets.cache_entry(path, counting_zeek_reader(calls)) == entry and len(calls) == 1
    first = parse_cache.read_cached(path, counting_zeek_reader(calls), use_cache=True, display="x")
    assert len(calls) == 1, "a clean entry is not parsed again"
    shutil.copy(entry, tmp_path / "saved.parquet")
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="lib.datasets"):
        again = parse_cache.read_cached(path, counting_zeek_reader(calls), use_cache=True, display="x")
    assert len(calls) == 2 and "does not match the sha256 in its record" in caplog.text
    pd.testing.assert_frame_equal(again, first)
    assert entry.read_bytes() == (tmp_path / "saved.parquet").read_bytes(), "rewritten with the same bytes"
