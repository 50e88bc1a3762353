"""The bad-input audit of issue 10, one test per input: each is a clear error (file, line or column, the fix)
or a repair that is counted in ``frame.attrs["repairs"]`` (and so in the run's ``meta.json``).

Every file here is written by the test, in the layout of the real format it imitates.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from lib import datasets, preprocess, runner, session
from lib.datasets import DataError


def _table(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "src_ip": [f"10.0.0.{i % 5}" for i in range(n)],
            "bytes": rng.integers(1, 9000, n).astype(float),
            "duration": rng.random(n).round(4),
            "label": ["normal"] * (n // 2) + ["attack"] * (n - n // 2),
        }
    )


def _load(path, **options):
    return datasets.load("csv", files=str(path), label_column=options.pop("label_column", "label"),
                         benign_labels=options.pop("benign_labels", "normal"), use_cache=False, **options)  # fmt: skip


def _repairs(df) -> dict[tuple[str, str], int]:
    return {(r["column"], r["repair"]): r["count"] for r in df.attrs["repairs"]}


# ------------------------------------------------------------------------------------- clear errors
def test_a_stray_text_cell_in_a_numeric_column_is_an_error_naming_column_and_line(tmp_path):
    frame = _table().astype({"bytes": object})
    frame.loc[7, "bytes"] = "n/a?"
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    with pytest.raises(DataError, match=r"flows\.csv, line 9, column 'bytes': text value 'n/a\?'.*MISSING_VALUES"):
        _load(path)


def test_a_text_column_stays_categorical(tmp_path):
    frame = _table().assign(proto=["tcp", "udp"] * 20)
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    assert _load(path)["proto"].dtype == "category"


def test_botiot_row_without_category_is_an_error(tmp_path):
    path = tmp_path / "bot.csv"
    path.write_text("pkSeqID,proto,saddr,sport,daddr,dport,seq,mean,attack,category,subcategory\n"
                    "1,tcp,1.1.1.1,1,2.2.2.2,80,5,0.1,1,DDoS,TCP\n2,udp,1.1.1.1,1,2.2.2.2,53,6,0.2,1,,UDP\n")  # fmt: skip
    with pytest.raises(DataError, match=r"bot\.csv, line 3, column 'category': empty"):
        datasets.read_botiot_csv(path)


def test_duplicate_zeek_field_names_are_an_error(tmp_path):
    path = tmp_path / "conn.log"
    path.write_text("#separator \\x09\n#fields\tts\tuid\tduration\tduration\tlabel\n"
                    "#types\ttime\tstring\tinterval\tinterval\tstring\n1.0\tC1\t0.1\t0.2\tBenign\n")  # fmt: skip
    with pytest.raises(DataError, match=r"conn\.log, line 2: the #fields line names \['duration'\] more than once"):
        datasets.read_zeek_conn(path)


def test_zeek_parse_error_names_the_column_and_the_line(tmp_path):
    path = tmp_path / "conn.log"
    path.write_text("#separator \\x09\n#fields\tts\tuid\tduration\tlabel\n#types\ttime\tstring\tinterval\tstring\n"
                    "1.0\tC1\t0.1\tBenign\n2.0\tC2\tabc\tMalicious\n")  # fmt: skip
    with pytest.raises(DataError, match=r"conn\.log, line 5, column 'duration': 'abc' is not a number"):
        datasets.read_zeek_conn(path)


def test_a_header_only_file_is_an_error_naming_it(tmp_path):
    (path := tmp_path / "only-header.csv").write_text("src_ip,bytes,label\n")
    with pytest.raises(DataError, match=r"only-header\.csv: a header line but no data rows"):
        _load(path)


@pytest.mark.parametrize(
    ("payload", "what"),
    [(b"PK\x03\x04rest", "zip archive"), (b"PAR1rest", "Parquet file"), (b"\x00\x01\x02binary\n", "binary content")],
)
def test_archives_and_binary_files_are_named_as_such(tmp_path, payload, what):
    (path := tmp_path / "flows.csv").write_bytes(payload)
    with pytest.raises(DataError, match=rf"flows\.csv: .*{what}"):
        _load(path)


def test_a_headerless_file_asks_for_column_names_instead_of_guessing(tmp_path):
    path = tmp_path / "UNSW-NB15_1.csv"
    path.write_bytes(b"\xef\xbb\xbf59.166.0.0,1390,149.171.126.6,53,udp,0.001,132,,0\n"
                     b"59.166.0.1,33661,149.171.126.9,1024,udp,0.03,528,Exploits,1\n")  # fmt: skip
    with pytest.raises(DataError, match=r"line 1: looks like data, not column names.*COLUMN_NAMES.*unsw-nb15"):
        _load(path, label_column="0", benign_labels="0")


def test_column_names_of_the_wrong_length_are_an_error(tmp_path):
    (path := tmp_path / "flows.csv").write_text("1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match=r"line 1: 3 comma-separated fields, but COLUMN_NAMES has 2 names"):
        _load(path, column_names="a,label")


def test_zeek_log_without_labels_says_what_it_is(tmp_path):
    path = tmp_path / "conn.log"
    path.write_text("#separator \\x09\n#fields\tts\tuid\tduration\n#types\ttime\tstring\tinterval\n1.0\tC1\t0.1\n")
    with pytest.raises(DataError, match=r"line 2: the #fields line has no 'label' column.*LABEL_COLUMN"):
        datasets.read_zeek_conn(path)


def test_unknown_zeek_labels_are_an_error_unless_benign_labels_are_given(tmp_path):
    path = tmp_path / "conn.log"
    path.write_text("#separator \\x09\n#fields\tts\tuid\tduration\tclass\n#types\ttime\tstring\tinterval\tstring\n"
                    "1.0\tC1\t0.1\tnormal\n2.0\tC2\t0.3\tmirai\n")  # fmt: skip
    with pytest.raises(DataError, match=r"unexpected value\(s\) \['mirai', 'normal'\].*BENIGN_LABELS"):
        datasets.read_zeek_conn(path, label_column="class")
    df = datasets.read_zeek_conn(path, label_column="class", benign_labels="normal")
    assert list(df["label"].astype(str)) == ["Benign", "mirai"] and list(df["is_attack"]) == [0, 1]


# ------------------------------------------------------------------------------------- counted repairs
def test_semicolon_file_with_decimal_commas_is_read_as_numbers_and_counted(tmp_path):
    frame = _table()
    text = frame.to_csv(index=False, sep=";").replace(".", ",").replace("10,0,0,", "10.0.0.")
    (path := tmp_path / "flows.csv").write_text(text)
    df = _load(path)
    assert df["duration"].dtype == np.float32 and df["bytes"].dtype == np.float32
    np.testing.assert_allclose(df["duration"], frame["duration"], rtol=1e-6)
    assert _repairs(df)[("duration", "decimal comma read as a decimal point")] > 0


def test_duplicate_column_names_are_counted_and_identical_copies_dropped(tmp_path):
    frame = _table()
    frame.insert(2, "bytes_copy", frame["bytes"])
    frame.insert(3, "duration_other", frame["duration"] + 1)
    text = frame.to_csv(index=False).replace("bytes_copy", "bytes").replace("duration_other", "duration")
    (path := tmp_path / "flows.csv").write_text(text)
    df = _load(path)
    repairs = _repairs(df)
    assert "bytes.1" not in df and repairs[("bytes.1", "identical copy of 'bytes' dropped")] == 1
    assert "duration.1" in df and repairs[("duration", "duplicate column name: the copy is named duration.1")] == 1


def test_values_beyond_float32_are_counted(tmp_path):
    frame = _table().astype({"bytes": float})
    frame.loc[[3, 4], "bytes"] = [1e39, -5e40]
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    df = _load(path)
    assert df["bytes"].isna().sum() == 2 and np.isfinite(df["bytes"].dropna()).all()
    assert _repairs(df)[("bytes", "value beyond float32 range (|x| > 3.4e38) set to missing (imputed)")] == 2


def test_blank_cells_and_missing_value_tokens_are_counted(tmp_path):
    frame = _table().astype({"duration": object})
    frame.loc[[1, 2], "duration"] = " "
    frame.loc[[5, 6, 9], "duration"] = "-"
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    with pytest.raises(DataError, match=r"column 'duration': text value '-'.*MISSING_VALUES"):
        _load(path)
    df = _load(path, missing_values="-")
    repairs = _repairs(df)
    assert repairs[("duration", "blank cell read as missing")] == 2
    assert repairs[("duration", "- read as missing (MISSING_VALUES)")] == 3
    assert df["duration"].isna().sum() == 5 and df["duration"].dtype == np.float32


def test_repeated_header_rows_are_removed_and_counted(tmp_path):
    text = _table().to_csv(index=False)
    lines = text.splitlines(keepends=True)
    (path := tmp_path / "Thursday-20-02-2018.csv").write_text("".join(lines[:10] + [lines[0]] + lines[10:]))
    df = _load(path)
    assert len(df) == 40 and df["bytes"].dtype == np.float32
    assert _repairs(df)[("", "repeated header row removed")] == 1


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_utf16_and_byte_order_marks_are_read_and_counted(tmp_path, encoding):
    (path := tmp_path / "flows.csv").write_bytes(_table().to_csv(index=False).encode(encoding))
    df = _load(path)
    assert len(df) == 40 and df["bytes"].dtype == np.float32
    assert any("UTF" in r["repair"] for r in df.attrs["repairs"])


def test_gzip_under_any_name_and_csv_gz_found_in_folders(tmp_path):
    text = _table().to_csv(index=False).encode()
    (tmp_path / "a.csv").write_bytes(gzip.compress(text))  # gzip bytes under a .csv name
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(text))
    (tmp_path / "notes.md").write_text("not data")
    df = _load(tmp_path)
    assert len(df) == 80 and sorted(df.attrs["files"]) == ["a.csv", "b.csv.gz"]


def test_ignored_labels_are_dropped_and_counted_and_reach_the_prepared_report(tmp_path):
    frame = _table(60)
    frame.loc[:9, "label"] = "Background"
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    df = _load(path, ignore_labels="background")
    assert len(df) == 50 and _repairs(df)[("label", "rows labelled 'Background' dropped (IGNORE_LABELS)")] == 10
    _, _, report = preprocess.prepare(df, preprocess.PrepConfig(dedup=False))
    assert any(r["count"] == 10 and "Background" in r["repair"] for r in report.as_dict()["repairs"])
    json.dumps(report.as_dict())  # goes to meta.json as it is


# ------------------------------------------------------------------------------------- labels as strings
@pytest.mark.parametrize("given", [0, "0", (0,), [0]])
def test_benign_labels_zero_whichever_way_it_was_passed(tmp_path, given):
    frame = _table().assign(label=[0] * 20 + [1] * 20)
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    df = _load(path, benign_labels=given)
    assert int(df["is_attack"].sum()) == 20 and set(df["label"].astype(str)) == {"Benign", "1"}


def test_parquet_float_labels_match_integer_benign_labels(tmp_path):
    _table().assign(label=[0.0] * 20 + [1.0] * 20).to_parquet(path := tmp_path / "flows.parquet")
    assert int(_load(path, benign_labels="0")["is_attack"].sum()) == 20


def test_runner_and_papermill_values_become_strings_for_str_parameters():
    types = runner.declared_types()
    assert types["BENIGN_LABELS"] == "str" and types["SAMPLE_ROWS"] == "int"
    assert runner.parse_value("0", types["BENIGN_LABELS"]) == "0"
    assert runner.parse_value("0,1", types["BENIGN_LABELS"]) == "0,1"
    assert runner.parse_value("2000", types["SAMPLE_ROWS"]) == 2000
    namespace = {"__annotations__": {"BENIGN_LABELS": str, "SAMPLE_ROWS": int}, "BENIGN_LABELS": 0, "SAMPLE_ROWS": 5}
    assert session.parameters(namespace) == {"BENIGN_LABELS": "0", "SAMPLE_ROWS": 5}
    assert namespace["BENIGN_LABELS"] == "0", "the notebook's own variable is coerced too"
    assert session.coerce((0, 1), str) == "0,1" and session.coerce(1, str) == "1"


# ------------------------------------------------------------------------------------- identifiers, leaks
def test_identifier_spellings_of_public_data_sets():
    columns = ["srcip", "sport", "dstip", "dsport", "Stime", "Ltime", "src_ip", "Src IP", "Dst Port", "id.orig_h",
               "Timestamp", "Flow ID", "Flow_ID", "ts", "dur", "sbytes", "src_ip_bytes", "Flow Duration", "sttl"]  # fmt: skip
    ids = datasets.guess_identifiers(columns)
    assert ids == set(columns[:13]) | {"ts"}


def test_label_like_columns_by_name():
    assert datasets.label_like_columns(["attack_cat", "Label", "type", "Cat", "Sub_Cat", "detailedlabel", "dur"]) == [
        "attack_cat", "Label", "type", "Cat", "Sub_Cat", "detailedlabel"
    ]  # fmt: skip


def test_a_label_column_in_a_user_table_is_never_a_feature(tmp_path):
    frame = _table().assign(attack_cat=[""] * 20 + ["Exploits"] * 20)
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    df = _load(path)
    assert df.attrs["label_columns"] == ["attack_cat"] and "attack_cat" not in datasets.feature_columns(df)


# ------------------------------------------------------------------------------------- review follow-ups
def test_a_mostly_placeholder_numeric_column_is_an_error_not_a_categorical(tmp_path):
    frame = _table().astype({"duration": object})
    frame.loc[5:, "duration"] = "-"  # scans: duration unset on most rows, as in Zeek exports
    frame.to_csv(path := tmp_path / "flows.csv", index=False)
    with pytest.raises(DataError, match=r"column 'duration': text value '-'.*MISSING_VALUES"):
        _load(path)
    assert _load(path, missing_values="-")["duration"].dtype == np.float32


def test_decimal_commas_only_in_semicolon_files(tmp_path):
    frame = _table().assign(ports=["80,443"] * 40)
    frame.to_csv(path := tmp_path / "flows.tsv", index=False, sep="\t")
    with pytest.raises(DataError, match=r"column 'ports'.*CATEGORY_COLUMNS"):  # 80,443: thousands or a list?
        _load(path)
    assert _load(path, category_columns="ports")["ports"].dtype == "category"  # a list of ports, not 80.443


def test_empty_labels_can_mean_benign(tmp_path):
    frame = _table().assign(attack_cat=[""] * 20 + ["Exploits"] * 10 + ["DoS"] * 10).drop(columns="label")
    frame.to_csv(path := tmp_path / "unsw.csv", index=False)
    with pytest.raises(DataError, match=r"line 2, column 'attack_cat': empty label.*\(empty\) to BENIGN_LABELS"):
        _load(path, label_column="attack_cat", benign_labels="normal")
    df = _load(path, label_column="attack_cat", benign_labels="(empty)")
    assert df["label"].value_counts().to_dict() == {"Benign": 20, "DoS": 10, "Exploits": 10}


def test_a_zeek_log_given_as_csv_says_so(tmp_path):
    (path := tmp_path / "conn.csv").write_text("#separator \\x09\n#fields\tts\tlabel\n1.0\tBenign\n")
    with pytest.raises(DataError, match="this is a Zeek log, not a table.*DATASET='zeek'"):
        _load(path)


def test_the_detailed_label_as_label_column_and_a_copied_label_header(tmp_path):
    path = tmp_path / "conn.log"
    path.write_text("#separator \\x09\n#fields\tts\tuid\tduration\tlabel\tdetailedlabel\n"
                    "#types\ttime\tstring\tinterval\tstring\tstring\n1.0\tC1\t0.1\tBenign\t-\n2.0\tC2\t0.3\tMalicious\tDDoS\n")  # fmt: skip
    df = datasets.read_zeek_conn(path, label_column="detailedlabel", benign_labels="-")
    assert list(df["label"].astype(str)) == ["Benign", "DDoS"]
    assert datasets.label_like_columns(["Label", "Label.1", "bytes"]) == ["Label", "Label.1"]


@pytest.mark.parametrize(("given", "expected"), [("false", False), ("True", True), ("no", False), (0, False)])
def test_boolean_parameters_from_text(given, expected):
    assert session.coerce(given, bool) is expected
    assert runner.parse_value(str(given), "bool") is expected
    with pytest.raises(ValueError, match="true or false"):
        session.coerce("maybe", bool)


def test_run_names_of_ctu_captures_differ_and_names_stay_in_their_folder():
    from lib import run

    first = run.default_name("zeek", "/d/CTU-IoT-Malware-Capture-34-1/bro/conn.log.labeled")
    second = run.default_name("zeek", "/d/CTU-IoT-Malware-Capture-35-1/bro/conn.log.labeled")
    assert first == "CTU-IoT-Malware-Capture-34-1" and second == "CTU-IoT-Malware-Capture-35-1"
    assert run.run_names({"DATASET": "csv", "NAME": "../../x"}) == {"NAME": "x", "RUN_DIR": "runs/x"}


def test_a_feature_unset_for_one_class_is_not_a_label_leak():
    rng = np.random.default_rng(0)
    y = np.array([0] * 60 + [1] * 940)
    duration = np.where(y == 0, rng.integers(1, 40, 1000), np.nan)  # benign flows timed, scans unset
    code = y.astype(float)  # the label, coded
    flagged = preprocess.perfect_predictors(pd.DataFrame({"duration": duration, "code": code}), y)
    assert flagged == ["code"]


def test_error_lines_count_the_empty_lines_the_parser_skips(tmp_path):
    text = _table().astype({"bytes": object}).to_csv(index=False).splitlines(keepends=True)
    text[8] = text[8].replace(text[8].split(",")[1], "oops", 1)  # data row 8 = file line 9, before blanks
    (path := tmp_path / "flows.csv").write_text("".join(text[:3] + ["\n", "\n"] + text[3:]))
    with pytest.raises(DataError, match=r"flows\.csv, line 11, column 'bytes': text value 'oops'"):
        _load(path)


def test_a_run_folder_of_other_data_is_not_overwritten(tmp_path):
    from lib import run

    folder = run.RunDir(tmp_path / "runs" / "conn")
    folder.begin("prepared", {"DATASET": "zeek", "DATA_FILES": "/d/a/conn.log"})
    folder.begin("prepared", {"DATASET": "zeek", "DATA_FILES": "/d/a/conn.log"})  # the same data: a rerun
    with pytest.raises(ValueError, match=r"holds the run of other data \(DATA_FILES='/d/a/conn\.log'\).*own NAME"):
        folder.begin("prepared", {"DATASET": "zeek", "DATA_FILES": "/d/b/conn.log"})


def test_continuing_a_user_run_without_notebook_01_needs_its_name():
    with pytest.raises(ValueError, match=r"--dataset csv without notebook 01: .*-p NAME"):
        runner.run("csv", {}, only=["02"], log=lambda *_: None)
