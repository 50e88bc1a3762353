"""Labels and values, files and folders in lib/datasets and lib/preprocess: data without a benign row, attack
labels spelt more than one way, numbers written with a thousands separator, negative counts, sizes and durations,
Excel's ``sep=`` line and decomposed column names, unreadable files and what a folder does not read.

Every file here is written by the test, in the layout of the real format it imitates (Zeek conn.log,
CICFlowMeter CSV, Argus CSV, a user's flow table).
"""

from __future__ import annotations

import logging
import os
import unicodedata

import numpy as np
import pandas as pd
import pytest

from lib import datasets, preprocess
from lib.datasets import DataError, files, schema, stream, table, values

NFD_E = "e\u0301"  # é written decomposed (as macOS file systems and some exports write it)


def _repairs(df) -> dict[tuple[str, str, str], int]:
    return {(r["file"], r["column"], r["repair"]): r["count"] for r in df.attrs["repairs"]}


def _flows(n: int, label: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"bytes": rng.integers(1, 9000, n), "duration": rng.random(n).round(4), "label": label})


def _load_csv(path, **options):
    return datasets.load("csv", files=str(path), label_column=options.pop("label_column", "label"),
                         benign_labels=options.pop("benign_labels", "normal"), use_cache=False, **options)  # fmt: skip


ZEEK_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes",
               "resp_bytes", "orig_pkts", "resp_pkts", "label", "detailed-label"]  # fmt: skip
ZEEK_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "interval", "count", "count", "count",
              "count", "string", "string"]  # fmt: skip


def _zeek_log(path, rows: list[list[str]]):
    text = "#separator \\x09\n#unset_field\t-\n#fields\t" + "\t".join(ZEEK_FIELDS) + "\n"
    text += "#types\t" + "\t".join(ZEEK_TYPES) + "\n" + "".join("\t".join(r) + "\n" for r in rows)
    path.write_text(text + "#close\t2020-01-01-00-00-00\n")
    return path


def _zeek_row(i: int, label: str, detail: str = "-", duration: str = "0.5", orig_bytes: str = "100") -> list[str]:
    return [f"{i}.0", f"C{i}", "10.0.0.1", str(1000 + i), "10.0.0.2", "80", "tcp", duration, orig_bytes, "20", "3",
            "2", label, detail]  # fmt: skip


CIC_HEADER = (" Destination Port, Flow Duration, Total Fwd Packets, Flow Bytes/s, Fwd Header Length,"
              " Init_Win_bytes_forward, Label")  # fmt: skip


# ------------------------------------------------------------------------------------ 1. no benign row
def test_data_without_a_benign_row_is_an_error_naming_the_labels_and_benign_labels(tmp_path):
    frame = pd.concat([_flows(50, "dos"), _flows(30, "ddos", 1), _flows(20, "scan", 2)], ignore_index=True)
    frame.to_csv(path := tmp_path / "attacks.csv", index=False)
    df = _load_csv(path, benign_labels="normal")  # loading alone is fine (a malware capture beside others)
    for mode in ("multiclass", "binary"):
        with pytest.raises(DataError) as err:
            preprocess.prepare(df, preprocess.PrepConfig(label_mode=mode, dedup=False))
        message = str(err.value)
        assert "no benign row in the 100 rows from attacks.csv" in message
        assert "'dos' (50), 'ddos' (30), 'scan' (20)" in message
        assert "Fix: set BENIGN_LABELS to the label your data uses for normal traffic" in message
    data, _, _ = preprocess.prepare(_load_csv(path, benign_labels="scan"), preprocess.PrepConfig(dedup=False))
    assert data.class_names[0] == "Benign"


def test_the_error_names_at_most_five_labels_and_how_many_more(tmp_path):
    frame = pd.concat([_flows(10 + i, f"family{i}", i) for i in range(7)], ignore_index=True)
    with pytest.raises(DataError, match=r"'family6' \(16\), 'family5' \(15\).*'family2' \(12\) and 2 more\)"):
        preprocess.make_labels(frame, preprocess.PrepConfig(label_mode="multiclass"), preprocess.PrepReport())


# ------------------------------------------------------------------------------------ 2. label spellings
def test_attack_labels_differing_by_case_or_space_are_one_label_the_most_frequent_spelling(tmp_path):
    pd.concat([_flows(30, "normal"), _flows(20, "DoS", 1), _flows(4, "Scan", 2)]).to_csv(
        first := tmp_path / "a.csv", index=False
    )
    pd.concat([_flows(30, "normal", 3), _flows(8, "dos", 4), _flows(3, " DOS ", 5), _flows(4, "scan", 6)]).to_csv(
        second := tmp_path / "b.csv", index=False
    )
    df = _load_csv(f"{first},{second}")
    assert df["label"].value_counts().to_dict() == {"Benign": 60, "DoS": 31, "Scan": 8}  # Scan: a tie, first seen
    assert set(df["label_detail"].astype(str)) == {"Benign", "DoS", "Scan"}
    repairs = _repairs(df)
    rule = "(spellings differing only by case or surrounding space are one label; the most frequent spelling wins)"
    assert repairs[("b.csv", "label", f"label 'dos' read as 'DoS' {rule}")] == 8
    assert repairs[("b.csv", "label", f"label 'DOS' read as 'DoS' {rule}")] == 3
    assert repairs[("b.csv", "label", f"label 'scan' read as 'Scan' {rule}")] == 4
    assert repairs[("b.csv", "label_detail", f"label 'dos' read as 'DoS' {rule}")] == 8
    assert repairs[("b.csv", "label", "space around the label removed")] == 3  # ' DOS ': the table reader's
    assert not [key for key in repairs if key[0] == "a.csv" and key[1] == "label"]


def test_label_spellings_in_zeek_logs_and_in_the_sample_drawn_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(files.CACHE_DIR_ENV, str(tmp_path / "cache"))
    folder = tmp_path / "logs"
    folder.mkdir()
    _zeek_log(
        folder / "one.log", [_zeek_row(i, "Benign") for i in range(40)] + [_zeek_row(i, "Mirai") for i in range(50)]
    )
    _zeek_log(
        folder / "two.log", [_zeek_row(i, "benign") for i in range(40)] + [_zeek_row(i, " mirai") for i in range(20)]
    )
    options = {"files": str(folder), "benign_labels": "benign"}
    whole = datasets.load("zeek", use_cache=False, **options)
    assert whole["label"].value_counts().to_dict() == {"Benign": 80, "Mirai": 70}
    (count,) = [r["count"] for r in whole.attrs["repairs"] if r["file"] == "two.log" and r["column"] == "label"]
    assert count == 20
    drawn = datasets.load("zeek", sample_rows=60, seed=3, **options)  # from the cache entries' labels
    in_memory = datasets.load("zeek", use_cache=False, sample_rows=60, seed=3, **options)
    pd.testing.assert_frame_equal(drawn, in_memory, check_categorical=False)
    assert drawn.attrs["repairs"] == in_memory.attrs["repairs"] == whole.attrs["repairs"]


def test_spelling_rule_counts_and_ties():
    counts = pd.DataFrame(
        [("f1", "Scan", 5, 10), ("f2", "scan", 5, 3), ("f1", "DDoS", 9, 0), ("f2", " ddos ", 2, 7),
         ("f1", "Benign", 4, 1), ("f2", "benign", 1, 2)],
        columns=["file", "value", "rows", "first"],
    )  # fmt: skip
    spellings = values.label_spellings({"label": counts})
    assert spellings.mappings == {"label": {"Scan": "scan", " ddos ": "DDoS"}}  # Benign is never merged
    assert [(n["file"], n["count"]) for n in spellings.notes] == [("f1", 5), ("f2", 2)]


# ------------------------------------------------------------------------------------ 3. thousands separators
def test_numbers_with_a_thousands_comma_are_read_as_numbers_and_counted(tmp_path):
    frame = _flows(40, "normal").astype({"bytes": object})
    frame.loc[20:, "label"] = "attack"
    frame["bytes"] = ["4,052,919", "1,234", "12", "1,234.5"] * 10
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    df = _load_csv(path)
    assert df["bytes"].dtype == np.float32
    assert df["bytes"].iloc[:4].tolist() == [4052919.0, 1234.0, 12.0, 1234.5]
    assert _repairs(df)[("flows.csv", "bytes", "thousands separator (',') removed: number read as written")] == 30


@pytest.mark.parametrize(
    ("sep", "written", "expected"),
    [
        (";", ["4.052.919", "1.234,5", "7"], [4052919.0, 1234.5, 7.0]),  # point groups, decimal comma
        (",", ["4 052 919", "1\u00a0234", "7"], [4052919.0, 1234.0, 7.0]),  # (no-break) space groups
        ("\t", ["4 052,5", "12,5", "1 000 000"], [4052.5, 12.5, 1e6]),  # space groups, decimal comma
    ],
)
def test_other_thousands_writings(tmp_path, sep, written, expected):
    frame = pd.DataFrame({"bytes": written * 10, "label": ["normal", "attack"] * 15})
    frame.to_csv(path := tmp_path / "flows.csv", index=False, sep=sep)
    df = _load_csv(path)
    assert df["bytes"].iloc[:3].tolist() == expected


def test_ambiguous_or_address_like_values_are_not_read_as_thousands():
    # 80443, 80.443, or the ports 80 and 443? not read as numbers, but found as ambiguous (the reader refuses it)
    assert values.thousands_numbers(pd.Series(["80,443", "1,234"], dtype="string")) is None
    assert values.thousands_ambiguous(pd.Series([pd.NA, "7", "80,443", "1,234"], dtype="string")) == 2
    assert values.thousands_ambiguous(pd.Series(["192.168.100.147", "10.0.0.1"], dtype="string")) is None
    assert values.thousands_ambiguous(pd.Series(["80,443", "http"], dtype="string")) is None
    assert values.thousands_numbers(pd.Series(["192.168.100.147", "192.168.100.150"], dtype="string")) is None
    assert values.thousands_numbers(pd.Series(["0,5", "1,25"], dtype="string")) is None  # a decimal comma
    assert values.thousands_conflict(pd.Series(["192.168.100.147", "10.0.0.1"] * 3, dtype="string")) is None
    read = values.thousands_numbers(pd.Series(["80,443", "1,080,443", pd.NA], dtype="string"))
    assert read.numbers.tolist()[:2] == [80443.0, 1080443.0] and np.isnan(read.numbers.iloc[2]) and read.count == 2


def test_a_column_mixing_thousands_writings_is_an_error_naming_file_line_column_and_fix(tmp_path):
    frame = pd.DataFrame({"bytes": ["4,052,919", "2,000"] * 10, "label": ["normal", "attack"] * 10})
    frame.loc[13, "bytes"] = "4.052.919"
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    with pytest.raises(DataError) as err:
        _load_csv(path)
    message = str(err.value)
    assert "flows.csv, line 15, column 'bytes': '4.052.919' is not written as the column's other numbers" in message
    assert "such as '4,052,919'" in message and "Fix: write every number of the column one way" in message


def test_thousands_in_cicflowmeter_and_scored_tables(tmp_path):
    rows = ['80,"1,234,567",3,10.5,40,-1,BENIGN', '443,"2,000",4,1.5,60,8192,DDoS', "53,17,1,0.5,20,-1,BENIGN"]
    (path := tmp_path / "Monday.csv").write_text(CIC_HEADER + "\n" + "\n".join(rows) + "\n")
    df = datasets.read_cicids_csv(path)
    assert df["Flow Duration"].tolist() == [1234567.0, 2000.0, 17.0]
    assert _repairs(df)[("Monday.csv", "Flow Duration", "thousands separator (',') removed: number read as written")]
    text = pd.DataFrame({"bytes": ["4,052,919", "1,234,000", "x"], "label": ["benign"] * 3}, dtype="string")
    typed = table.typed_by_role(text.iloc[:2].copy(), path, {"bytes"}, "benign", 1)
    assert typed["bytes"].tolist() == [4052919.0, 1234000.0]


# ------------------------------------------------------------------------------------ 4. negative counts
def test_negative_cicflowmeter_durations_and_sizes_become_missing_but_not_the_window_marker(tmp_path):
    rows = ["80,-1,3,-5.5,40,-1,BENIGN", "443,2000,4,1.5,-32212234240,8192,DDoS", "53,17,1,0.5,20,-1,BENIGN"]
    (path := tmp_path / "Wednesday.csv").write_text(CIC_HEADER + "\n" + "\n".join(rows) + "\n")
    df = datasets.read_cicids_csv(path)
    assert np.isnan(df["Flow Duration"].iloc[0]) and df["Flow Duration"].iloc[1:].tolist() == [2000.0, 17.0]
    assert np.isnan(df["Fwd Header Length"].iloc[1])
    assert df["Init_Win_bytes_forward"].tolist() == [-1.0, 8192.0, -1.0]  # CICFlowMeter's "not seen" marker
    assert df["Flow Bytes/s"].iloc[0] == -5.5  # a rate, not a count: left as it is
    repairs = _repairs(df)
    assert repairs[("Wednesday.csv", "Flow Duration", values.NEGATIVE_REPAIR)] == 1
    assert repairs[("Wednesday.csv", "Fwd Header Length", values.NEGATIVE_REPAIR)] == 1
    assert not [key for key in repairs if key[1] in ("Init_Win_bytes_forward", "Flow Bytes/s")]
    assert "Init_Win_bytes_forward" not in schema.non_negative_columns("cicids2017")


def test_negative_zeek_counts_become_missing_in_every_load_path(tmp_path, monkeypatch):
    monkeypatch.setenv(files.CACHE_DIR_ENV, str(tmp_path / "cache"))
    rows = [_zeek_row(1, "Benign", duration="-0.25"), _zeek_row(2, "Malicious", "DDoS", orig_bytes="-3")]
    rows += [_zeek_row(i, "Benign") for i in range(3, 30)] + [_zeek_row(i, "Malicious", "DDoS") for i in range(30, 50)]
    path = _zeek_log(tmp_path / "conn.log.labeled", rows)
    for use_cache in (False, True, True):  # parsed, written to the cache, read from it
        df = datasets.load("zeek", files=str(path), use_cache=use_cache)
        assert np.isnan(df["duration"].iloc[0]) and np.isnan(df["orig_bytes"].iloc[1])
        assert (df["duration"].dropna() >= 0).all() and len(df) == 49
        repairs = _repairs(df)
        assert repairs[("conn.log.labeled", "duration", values.NEGATIVE_REPAIR)] == 1
        assert repairs[("conn.log.labeled", "orig_bytes", values.NEGATIVE_REPAIR)] == 1
    scored = values.apply_non_negative(datasets.read_zeek_conn(path), schema.ZEEK_CONN_NON_NEGATIVE, path.name)
    assert scored["duration"].isna().sum() == 1
    assert _repairs(scored)[("conn.log.labeled", "duration", values.NEGATIVE_REPAIR)] == 1


def test_negative_argus_durations_become_missing_and_a_users_table_assumes_no_column(tmp_path):
    header = "pkSeqID,proto,saddr,sport,daddr,dport,pkts,bytes,dur,rate,attack,category,subcategory\n"
    rows = "1,tcp,1.1.1.1,1,2.2.2.2,80,4,-240,-1.5,-0.5,1,DDoS,TCP\n"
    rows += "2,udp,1.1.1.1,1,2.2.2.2,53,2,120,0.5,2.0,0,Normal,Normal\n"
    (path := tmp_path / "bot.csv").write_text(header + rows)
    df = datasets.read_botiot_csv(path)
    assert np.isnan(df["dur"].iloc[0]) and np.isnan(df["bytes"].iloc[0]) and df["rate"].iloc[0] == -0.5
    assert _repairs(df)[("bot.csv", "dur", values.NEGATIVE_REPAIR)] == 1
    frame = pd.DataFrame({"duration": [-1.0, 2.0] * 20, "label": ["normal", "attack"] * 20})
    frame.to_csv(user := tmp_path / "mine.csv", index=False)
    assert (_load_csv(user)["duration"] == -1.0).sum() == 20  # DATASET='csv': no column is assumed a count
    assert schema.non_negative_columns("csv") == frozenset()


def test_the_scorers_table_reader_makes_the_declared_negatives_missing(tmp_path):
    (path := tmp_path / "new.csv").write_text("Flow Duration,Init_Win_bytes_forward,label\n-1,-1,benign\n5,-1,benign\n")
    (frame,) = table.frames_by_role(
        path, {"Flow Duration", "Init_Win_bytes_forward"}, non_negative=schema.non_negative_columns("cicids2017")
    )
    assert np.isnan(frame["Flow Duration"].iloc[0]) and frame["Init_Win_bytes_forward"].tolist() == [-1.0, -1.0]
    assert frame.attrs["repairs"][0]["repair"] == values.NEGATIVE_REPAIR and frame.attrs["repairs"][0]["count"] == 1


# ------------------------------------------------------------------------------------ 5. CSV layout
def test_an_excel_sep_line_declares_the_delimiter_and_is_skipped(tmp_path):
    frame = _flows(40, "normal")
    frame.loc[20:, "label"] = "attack"
    text = frame.to_csv(index=False, sep=";").replace(".", ",")
    (path := tmp_path / "excel.csv").write_text("sep=;\n" + text)
    df = _load_csv(path)
    assert len(df) == 40 and df["duration"].dtype == np.float32
    np.testing.assert_allclose(df["duration"], frame["duration"], rtol=1e-6)
    assert _repairs(df)[("excel.csv", "", "Excel 'sep=' first line read as the delimiter declaration and skipped")] == 1
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(";")[0], "oops", 1)  # data row 4, file line 6
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"excel\.csv, line 6, column 'bytes': text value 'oops'"):
        _load_csv(path)
    assert table.table_columns(path) == ["bytes", "duration", "label"]


def test_an_excel_sep_line_in_cicflowmeter_and_argus_files(tmp_path):
    (cic := tmp_path / "Friday.csv").write_text('"sep=,"\n' + CIC_HEADER + "\n80,10,3,1.5,40,-1,BENIGN\n")
    df = datasets.read_cicids_csv(cic)
    assert len(df) == 1 and df["Flow Duration"].iloc[0] == 10.0
    assert any(r["repair"].startswith("Excel 'sep='") for r in df.attrs["repairs"])
    (bot := tmp_path / "bot.csv").write_text("sep=;\npkts;dur;attack;category;subcategory\n4;0.5;0;Normal;Normal\n")
    assert datasets.read_botiot_csv(bot)["pkts"].tolist() == [4.0]
    with pytest.raises(DataError, match=r"empty\.csv, line 2: the 'sep=' line declares the delimiter, but no header"):
        (tmp_path / "empty.csv").write_text("sep=,\n\n")
        _load_csv(tmp_path / "empty.csv")


def test_column_names_are_compared_in_nfc(tmp_path):
    nfd, nfc = f"dur{NFD_E}e", "durée"
    assert nfd != nfc and unicodedata.normalize("NFC", nfd) == nfc
    frame = pd.DataFrame(
        {nfd: np.arange(40.0), "octets": np.arange(40.0) * 2, f"cat{NFD_E}gorie": ["normal", "dos"] * 20}
    )
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    df = _load_csv(path, label_column="catégorie")  # the parameter typed with the composed é
    assert nfc in df and nfd not in df and int(df["is_attack"].sum()) == 20
    assert _repairs(df)[("flows.csv", nfc, "column name written in decomposed Unicode read in NFC")] == 1
    config = preprocess.PrepConfig(drop_columns=nfd, category_columns="octets", dedup=False)
    assert config.drop_columns == (nfc,)
    preprocess.check_column_names(df, config)
    data, _, report = preprocess.prepare(df, config)
    assert nfc in report.dropped_columns["asked"]
    assert table.table_columns(path) == [nfc, "octets", "catégorie"]


# ------------------------------------------------------------------------------------ 6. files and folders
def _unreadable(monkeypatch, *names: str):
    """Reading these files' first bytes fails as a file without read permission does (the tests run as any
    user, root included, who may read every file)."""
    real = files._read_head

    def read_head(path, size=4096):
        if path.name in names:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, size)

    monkeypatch.setattr(files, "_read_head", read_head)


def test_an_unreadable_file_is_a_data_error_naming_it_and_why(tmp_path, monkeypatch):
    _flows(40, "normal").to_csv(path := tmp_path / "locked.csv", index=False)
    _unreadable(monkeypatch, "locked.csv")
    with pytest.raises(DataError, match=rf"{path}: the file cannot be read \(Permission denied\)\. Fix: .*chmod"):
        datasets.expand_files(str(path))
    with pytest.raises(DataError, match=r"locked\.csv: the file cannot be read \(Permission denied\)"):
        datasets.expand_files(str(tmp_path))  # inside a folder too
    zeek = tmp_path / "logs"
    zeek.mkdir()
    _zeek_log(zeek / "locked.csv", [_zeek_row(1, "Benign")])
    with pytest.raises(DataError, match=r"logs/locked\.csv: the file cannot be read \(Permission denied\)"):
        datasets.expand_files(str(zeek), accept=datasets.is_zeek_log)  # its kind cannot be told: not "skipped"


def test_missing_paths_and_patterns_are_named(tmp_path):
    _flows(4, "normal").to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(FileNotFoundError, match=r"nowhere\.csv: no such file"):
        datasets.expand_files(f"{tmp_path / 'a.csv'},{tmp_path / 'nowhere.csv'}")
    with pytest.raises(FileNotFoundError, match=r"day-\*\.csv: the pattern matches no file"):
        datasets.expand_files(f"{tmp_path / 'a.csv'},{tmp_path / 'day-*.csv'}")


def test_a_folder_names_what_it_did_not_read_and_why(tmp_path, monkeypatch, caplog):
    _flows(4, "normal").to_csv(tmp_path / "flows.csv", index=False)
    (tmp_path / "README.md").write_text("about the capture")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "capture.pcap").write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00")
    (tmp_path / "archive.dat").write_bytes(b"PK\x03\x04rest")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00")
    (tmp_path / "notes.json").write_text('{"a": 1}')
    (tmp_path / "secret.bin").write_text("x")
    _zeek_log(tmp_path / "conn.log", [_zeek_row(1, "Benign")])
    _unreadable(monkeypatch, "secret.bin")
    with caplog.at_level(logging.WARNING, logger="lib.datasets"):
        assert datasets.expand_files(str(tmp_path)) == [tmp_path / "flows.csv"]
    (line,) = [r.getMessage() for r in caplog.records]
    assert f"{tmp_path}: 8 file(s) not read:" in line
    for expected in [".DS_Store (hidden)", "README.md (documentation)", "empty.csv (empty)",
                     "capture.pcap (not text (binary content))", "archive.dat (a zip archive: unzip it first)",
                     "conn.log (a Zeek log: DATASET='zeek' reads it)", "notes.json (another format (.json))",
                     "secret.bin (unreadable: Permission denied)"]:  # fmt: skip
        assert expected in line, expected
    caplog.clear()
    (tmp_path / "secret.bin").unlink()  # a Zeek folder cannot tell what an unreadable file is: an error
    with caplog.at_level(logging.WARNING, logger="lib.datasets"):
        assert datasets.expand_files(str(tmp_path), accept=datasets.is_zeek_log) == [tmp_path / "conn.log"]
    (line,) = [r.getMessage() for r in caplog.records]
    assert "flows.csv (a delimited text table: not a Zeek log; DATASET='csv' reads it)" in line


def test_a_registered_folder_that_cannot_be_listed_or_read_is_named(tmp_path, monkeypatch):
    root = tmp_path / "cicids2017"
    root.mkdir()
    (root / "Monday.csv").write_text(CIC_HEADER + "\n80,10,3,1.5,40,-1,BENIGN\n")
    _unreadable(monkeypatch, "Monday.csv")
    with pytest.raises(DataError, match=r"Monday\.csv: the file cannot be read \(Permission denied\)"):
        datasets.locate("cicids2017", tmp_path)

    def walk(top, onerror=None, **kwargs):
        onerror(PermissionError(13, "Permission denied", str(top)))
        return iter(())

    monkeypatch.setattr(files.os, "walk", walk)
    with pytest.raises(DataError, match=rf"{root}: the folder cannot be listed \(Permission denied\)"):
        datasets.locate("cicids2017", tmp_path)


# ------------------------------------------------------------------------------------ ENCODING
def test_the_encoding_parameter_reaches_the_readers(tmp_path):
    frame = pd.DataFrame({"bytes": np.arange(40.0), "label": ["normal", "attaque réseau"] * 20})
    (path := tmp_path / "latin1.csv").write_bytes(frame.to_csv(index=False).encode("latin-1"))
    df = datasets.load_for({"DATASET": "csv", "DATA_FILES": str(path), "LABEL_COLUMN": "label",
                            "BENIGN_LABELS": "normal", "ENCODING": "latin-1"})  # fmt: skip
    assert set(df["label"].astype(str)) == {"Benign", "attaque réseau"}


# ------------------------------------------------------------------------------------ CICIDS2017 label bytes
def _web_attacks(path, dash: bytes = b"\x96", first: bytes = b"10,3,1.5,40,-1") -> None:
    """A CICFlowMeter file as GeneratedLabelledFlows' Thursday file writes its web attacks: the dash as the
    cp1252 byte 0x96, which is not UTF-8."""
    rows = [b"80," + first + b",BENIGN", b"80,11,3,1.5,40,-1,Web Attack " + dash + b" Brute Force",
            b"80,12,3,1.5,40,-1,Web Attack " + dash + b" XSS", b"80,13,3,1.5,40,-1,Web Attack " + dash + b" Brute Force",
            b"80,14,3,1.5,40,-1,BENIGN"]  # fmt: skip
    path.write_bytes(CIC_HEADER.encode() + b"\n" + b"\n".join(rows) + b"\n")


@pytest.mark.parametrize("chunked", [False, True])
def test_a_cicids_label_byte_that_is_not_utf8_is_read_as_the_dash_and_counted(tmp_path, monkeypatch, chunked):
    from lib.datasets import cicids, stream

    _web_attacks(path := tmp_path / "Thursday-WorkingHours-Morning-WebAttacks.pcap_ISCX.csv")
    if chunked:
        monkeypatch.setattr(stream, "STREAM_BYTES", 64)
        monkeypatch.setattr(stream, "CHUNK_BYTES", 160)  # the header and a row, then a row or two a chunk
    df = datasets.read_cicids_csv(path)
    assert df["label_detail"].astype(str).tolist() == [
        "BENIGN", "Web Attack - Brute Force", "Web Attack - XSS", "Web Attack - Brute Force", "BENIGN",
    ]  # fmt: skip
    assert df["label"].astype(str).tolist() == ["Benign", "WebAttack", "WebAttack", "WebAttack", "Benign"]
    assert _repairs(df) == {(path.name, "Label", cicids.NON_UTF8_LABEL_REPAIR): 3}  # rows, under the column
    read = datasets.read_cicids_csv(path, encoding="cp1252")  # the byte read as the en dash it is there
    assert read["label_detail"].astype(str).tolist() == df["label_detail"].astype(str).tolist()
    assert (path.name, "Label", cicids.NON_UTF8_LABEL_REPAIR) not in _repairs(read)


def test_a_byte_that_is_not_utf8_outside_the_cicids_label_is_the_clear_error(tmp_path):
    _web_attacks(path := tmp_path / "Thursday.csv", first=b"10,3,1.\xe95,40,-1")
    with pytest.raises(DataError, match=r"Thursday\.csv, line 2, column 'Flow Bytes/s' \(byte 11 of the line\): "
                       r"byte 0xe9 is not UTF-8 .*Fix: set ENCODING='latin-1'"):  # fmt: skip
        datasets.read_cicids_csv(path)
    (header := tmp_path / "Header.csv").write_bytes(b" Destination Port, Fl\xf6w Duration, Label\n80,10,BENIGN\n")
    with pytest.raises(DataError, match=r"Header\.csv, line 1, byte 22 of the line: byte 0xf6 is not UTF-8"):
        datasets.read_cicids_csv(header)


def test_a_botiot_byte_that_is_not_utf8_is_named_but_argus_raw_record_is_read_as_bytes(tmp_path):
    header = b"pkSeqID,record,proto,saddr,daddr,dur,bytes,attack,category,subcategory\n"
    rows = b"1,\x81\xfe\x07raw,tcp,192.168.100.1,192.168.100.3,0.5,240,1,DDoS,TCP\n"  # Argus' raw record: bytes
    rows += b"2,ok,udp,192.168.100.1,192.168.100.3,1.5,120,0,Normal,Normal\n"
    (path := tmp_path / "argus.csv").write_bytes(header + rows)
    df = datasets.read_botiot_csv(path)
    assert "record" not in df and df["label"].astype(str).tolist() == ["DDoS", "Benign"]
    path.write_bytes(header + rows.replace(b"DDoS,TCP", b"DDoS,TC\xd0"))
    with pytest.raises(
        DataError, match=r"argus\.csv, line 2, column 'subcategory' \(byte \d+ of the line\): byte 0xd0"
    ):
        datasets.read_botiot_csv(path)


# ------------------------------------------------------------------------------------ a column of one thousands group
def test_a_column_of_single_thousands_groups_is_an_error_unless_named_as_text(tmp_path):
    frame = _flows(20, "normal").assign(bytes=["269,828", "1,024"] * 10, gateway=["192.168.1.5", "10.0.0.1"] * 10)
    frame.loc[10:, "label"] = "attack"
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    with pytest.raises(DataError) as err:
        _load_csv(path)
    message = str(err.value)
    assert "flows.csv, line 2, column 'bytes'" in message and "'269,828'" in message
    assert "Fix: rewrite the numbers without the separator (269828), or, if the column is text, name it in " \
        "CATEGORY_COLUMNS" in message  # fmt: skip
    df = table.read_flow_table(path, "label", "normal", text_columns=[" bytes"])
    assert df["bytes"].dtype == "category" and df["bytes"].iloc[:2].tolist() == ["269,828", "1,024"]
    assert df["gateway"].dtype == "category"  # IPv4-like values stay text, as before


# ------------------------------------------------------------------------------------ a parameter naming a column
def test_a_label_column_parameter_with_surrounding_space_names_the_stripped_header(tmp_path):
    (path := tmp_path / "Monday.csv").write_text(" Flow Duration, Label\n5,BENIGN\n7,DDoS\n")
    df = _load_csv(path, label_column=" Label", benign_labels="BENIGN")
    assert df["label"].tolist() == ["Benign", "DDoS"] and df["Flow Duration"].tolist() == [5.0, 7.0]
    df = table.read_flow_table(path, " Label ", "benign", id_columns=[" Flow Duration"])
    assert df.attrs["identifier_columns"] == ["Flow Duration"]


# ------------------------------------------------------------------------------------ a table read in chunks
def _chunked_and_whole(path, monkeypatch, **options):
    whole = table.read_flow_table(path, options.pop("label_column", "label"), "normal", **options)
    monkeypatch.setattr(stream, "STREAM_BYTES", 2048)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 512)
    chunked = table.read_flow_table(path, whole.attrs.get("label_column", "label"), "normal", **options)
    monkeypatch.undo()
    return whole, chunked


@pytest.mark.parametrize("layout", ["decimal_comma", "repeated_header", "thousands", "missing_tokens", "gzip"])
def test_a_table_read_in_chunks_gives_the_frame_and_repairs_of_the_whole_read(tmp_path, monkeypatch, layout):
    n = 300
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "bytes": rng.integers(1, 5000, n).astype(str),
        "duration": [f"{v:.3f}" for v in rng.random(n)],
        "proto": rng.choice(["tcp", "udp", "icmp"], n),
        "label": rng.choice(["normal", "attack", " DoS "], n),
    })  # fmt: skip
    sep, options = ",", {}
    if layout == "decimal_comma":
        sep, frame["duration"] = ";", frame["duration"].str.replace(".", ",")
        frame.loc[250:, "duration"] = "7"  # the later chunks' numbers without a comma: numbers there
    elif layout == "repeated_header":
        frame.loc[[40, 200], :] = ["bytes", "duration", "proto", "label"]
    elif layout == "thousands":
        frame.loc[200:, "bytes"] = "4,052,919"  # the evidence only in a later chunk; the first chunk's plain numbers
    elif layout == "missing_tokens":
        frame.loc[[5, 260], "bytes"] = "-"
        frame.loc[[7, 270], "proto"] = ""
        frame.loc[[10, 280], "duration"] = "1e39"  # beyond float32: missing, counted
        options["missing_values"] = ["-"]
    path = tmp_path / ("flows.csv.gz" if layout == "gzip" else "flows.csv")
    frame.to_csv(path, index=False, sep=sep)
    whole, chunked = _chunked_and_whole(path, monkeypatch, **options)
    pd.testing.assert_frame_equal(chunked, whole)
    assert chunked.attrs["repairs"] == whole.attrs["repairs"]
    assert whole["bytes"].dtype == np.float32 and whole["proto"].dtype == "category"
    if layout == "thousands":
        assert whole["bytes"].iloc[-1] == 4052919.0
    if layout == "decimal_comma":
        assert _repairs(whole)[("flows.csv", "duration", "decimal comma read as a decimal point")] == 250
    if layout == "missing_tokens":
        assert (
            _repairs(whole)[
                ("flows.csv", "duration", "value beyond float32 range (|x| > 3.4e38) set to missing (imputed)")
            ]
            == 2
        )
    if layout == "repeated_header":
        assert _repairs(whole)[("flows.csv", "", "repeated header row removed")] == 2


def test_an_error_in_a_later_chunk_names_its_line_in_the_file(tmp_path, monkeypatch):
    rows = [f"{i},{i % 7}.5,{'normal' if i % 2 else 'attack'}" for i in range(400)]
    rows[350] = "350,oops,normal"  # a numeric column with one text value, far past the first chunk
    (path := tmp_path / "flows.csv").write_text("bytes,duration,label\n" + "\n".join(rows) + "\n")
    for chunk_bytes in (None, 512):
        if chunk_bytes:
            monkeypatch.setattr(stream, "STREAM_BYTES", 2048)
            monkeypatch.setattr(stream, "CHUNK_BYTES", chunk_bytes)
        with pytest.raises(DataError, match=r"flows\.csv, line 352, column 'duration': text value 'oops'"):
            table.read_flow_table(path, "label", "normal")
    rows[350] = "350,1.5"  # a cut line
    (path := tmp_path / "cut.csv").write_text("bytes,duration,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"cut\.csv, line 352: expected 3 comma-separated fields"):
        table.read_flow_table(path, "label", "normal")


_MEMORY_SCRIPT = """
import gzip, resource, sys
import numpy as np
from lib import datasets
from lib.datasets import stream
stream.STREAM_BYTES, stream.CHUNK_BYTES = 16 * 2**20, 4 * 2**20  # read in chunks from 16 MiB of text on
path, rows = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
with gzip.open(path, "wt", compresslevel=1) as fh:
    fh.write("a,b,c,d,e,f,g,h,label\\n")
    block = "".join(f"{i % 97},{i % 13},{i % 5}.5,{i % 31},{i % 7},{i % 11},{i % 3},{i % 17},"
                    f"{'normal' if i % 3 else 'attack'}\\n" for i in range(100_000))
    for _ in range(rows // 100_000):
        fh.write(block)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
df = datasets.load("csv", files=path, label_column="label", benign_labels="normal", use_cache=False)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(len(df), df.memory_usage(deep=True).sum(), before, peak, gzip.open(path).seek(0, 2))
"""


def test_a_large_table_is_read_in_memory_bounded_by_the_frame_not_the_text(tmp_path):
    import subprocess
    import sys

    rows = 2_000_000  # about 55 MB of text, over the script's STREAM_BYTES (16 MiB): read in chunks
    run = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(tmp_path / "flows.csv.gz"), str(rows)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    n, frame_bytes, before, peak, text_bytes = map(int, run.stdout.split())
    assert text_bytes > 16 * 2**20 and n == rows and peak - before < 4 * frame_bytes, (peak, before, frame_bytes)
