"""lib/datasets/ on the real samples (exact counts from each PROVENANCE.md) and on bad input."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib import datasets, registry
from lib.datasets import DataError

IOT23 = {  # scenario: (flows, malicious, detailed-label counts), from shared/data/iot23/PROVENANCE.md
    "CTU-IoT-Malware-Capture-34-1": (23145, 21222, {"DDoS": 14394, "C&C": 6706, "PartOfAHorizontalPortScan": 122}),
    "CTU-IoT-Malware-Capture-42-1": (4426, 6, {"FileDownload": 3, "C&C-FileDownload": 3}),
    "CTU-IoT-Malware-Capture-44-1": (237, 26, {"C&C": 14, "C&C-FileDownload": 11, "DDoS": 1}),
    "CTU-Honeypot-Capture-4-1": (452, 0, {}),
    "CTU-Honeypot-Capture-5-1": (1374, 0, {}),
}


# ---------------------------------------------------------------------------------------------- IoT-23
@pytest.mark.parametrize("scenario", sorted(IOT23))
def test_iot23_scenario_counts_match_provenance(mirror, scenario):
    flows, malicious, detailed = IOT23[scenario]
    df = datasets.read_zeek_conn(mirror / "iot23" / scenario / "bro" / "conn.log.labeled")
    assert len(df) == flows
    assert int(df["is_attack"].sum()) == malicious
    attacks = df.loc[df["is_attack"] == 1, "label_detail"].astype(str).value_counts().to_dict()
    assert attacks == detailed
    assert (df.loc[df["is_attack"] == 0, "label"] == "Benign").all()  # 'benign' and 'Benign' alike
    assert set(df["scenario"].astype(str)) == {scenario}


def test_iot23_both_tail_layouts_give_the_same_schema(mirror):
    tabs = datasets.read_zeek_conn(mirror / "iot23/CTU-IoT-Malware-Capture-34-1/bro/conn.log.labeled")
    spaces = datasets.read_zeek_conn(mirror / "iot23/CTU-IoT-Malware-Capture-42-1/bro/conn.log.labeled")
    assert list(tabs.columns) == list(spaces.columns)
    assert tabs["duration"].dtype == np.float32 and tabs["proto"].dtype == "category"
    assert tabs["duration"].isna().any(), "'-' (unset) must become NaN"


def test_iot23_load_all_scenarios_and_cache_round_trip(mirror):
    cold = datasets.load("iot23", mirror)
    warm = datasets.load("iot23", mirror)  # second read comes from the Parquet cache
    assert len(cold) == sum(v[0] for v in IOT23.values()) == 29634
    pd.testing.assert_frame_equal(cold, warm)
    counts = cold["label_detail"].astype(str).value_counts().to_dict()
    assert counts["C&C-FileDownload"] == 14 and counts["FileDownload"] == 3 and counts["DDoS"] == 14395
    assert cold["label_detail"].notna().all()
    ids = datasets.identifier_columns(cold)
    assert {"id.orig_h", "id.resp_h", "id.orig_p", "ts", "uid", "scenario", "source_file"} <= set(ids)
    assert not set(ids) & set(datasets.feature_columns(cold))


def _zeek_with_separate_label_columns(path: Path) -> Path:
    fields = [
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
        "duration",
        "label",
        "detailed-label",
    ]
    types = ["time", "string", "addr", "port", "addr", "port", "enum", "interval", "string", "string"]
    rows = [
        ["1.0", "Ca", "10.0.0.1", "1", "10.0.0.2", "80", "tcp", "0.5", "Background", "-"],
        ["2.0", "Cb", "10.0.0.1", "2", "10.0.0.2", "80", "tcp", "-", "Malicious", "C&C-HeartBeat"],
        ["3.0", "Cc", "10.0.0.3", "3", "10.0.0.2", "53", "udp", "0.1", "Benign", "-"],
    ]
    text = "#separator \\x09\n#unset_field\t-\n#fields\t" + "\t".join(fields) + "\n#types\t" + "\t".join(types) + "\n"
    text += "".join("\t".join(r) + "\n" for r in rows) + "#close\t2020-01-01\n"
    path.write_text(text)
    return path


def test_other_ctu_zeek_logs_with_background_label(tmp_path, caplog):
    path = _zeek_with_separate_label_columns(tmp_path / "conn.log.labeled")
    with caplog.at_level(logging.WARNING):
        df = datasets.read_zeek_conn(path)
    assert "flows labelled 'Background' dropped" in caplog.text
    assert [(r["repair"], r["count"]) for r in df.attrs["repairs"]] == [
        ("flows labelled 'Background' dropped (IGNORE_LABELS)", 1)
    ]
    assert list(df["label"].astype(str)) == ["C&C", "Benign"]
    kept = datasets.read_zeek_conn(path, benign_labels="Benign", ignore_labels=())
    assert len(kept) == 3 and kept["label"].astype(str).iloc[0] == "Background"


def test_truncated_zeek_line_names_file_and_line(mirror, tmp_path):
    src = (mirror / "iot23/CTU-Honeypot-Capture-4-1/bro/conn.log.labeled").read_text().splitlines(keepends=True)
    src[20] = "\t".join(src[20].split("\t")[:9]) + "\n"  # line 21 cut after 9 fields
    bad = tmp_path / "conn.log.labeled"
    bad.write_text("".join(src))
    with pytest.raises(DataError, match=r"conn\.log\.labeled, line 21: expected 23 tab-separated fields.*found 9"):
        datasets.read_zeek_conn(bad)


def test_zeek_without_fields_header(tmp_path):
    bad = tmp_path / "conn.log"
    bad.write_text("a\tb\n1\t2\n")
    with pytest.raises(DataError, match="no '#fields' header"):
        datasets.read_zeek_conn(bad)


# ------------------------------------------------------------------------------------------ CICIDS2017
CIC = {  # file under cicids2017/: (rows, fine-label counts), from shared/data/cicids2017/PROVENANCE.md
    "ml_original_header_heads/Monday-WorkingHours.pcap_ISCX.head999.csv": (999, {"BENIGN": 999}),
    "ml_original_header_heads/Thursday-WorkingHours-Afternoon-Infilteration.pcap_ISCX.head999_plus7webattack.csv": (
        1006,
        {"BENIGN": 999, "Web Attack - XSS": 3, "Web Attack - Brute Force": 2, "Web Attack - Sql Injection": 2},
    ),
    "ml_original_header_heads/mixed_DDoS_BENIGN_10rows.csv": (10, {"DDoS": 5, "BENIGN": 5}),
    "ml_stripped_header_heads_10k/Wednesday-workingHours.head10k.csv": (9998, {"BENIGN": 9997, "DoS slowloris": 1}),
    "ml_stripped_header_heads_10k/Friday-WorkingHours-Afternoon-PortScan.head10k.csv": (
        9999,
        {"BENIGN": 9992, "PortScan": 7},
    ),
    "trafficlabelling/Friday-WorkingHours-Afternoon-DDos.pcap_ISCX.TL.head299.csv": (299, {"BENIGN": 299}),
    "trafficlabelling/attack_extract_WebAttack_XSS_652.csv": (652, {"Web Attack - XSS": 652}),
    "trafficlabelling/attack_extract_WebAttack_SqlInjection_21.csv": (21, {"Web Attack - Sql Injection": 21}),
    "trafficlabelling/web_attacks_balanced_7267_ids_encoded.csv": (
        7267,
        {"BENIGN": 5087, "Web Attack - Brute Force": 1507, "Web Attack - XSS": 652, "Web Attack - Sql Injection": 21},
    ),
    "grouped_label_sample/CICIDS2017_sample_6311rows_grouped_labels_no_dstport.csv": (
        6311,
        {
            "WebAttack": 2180,
            "Bot": 1966,
            "DoS": 952,
            "BruteForce": 553,
            "PortScan": 397,
            "BENIGN": 227,
            "Infiltration": 36,
        },
    ),
}


@pytest.mark.parametrize("name", sorted(CIC))
def test_cicids_files_match_provenance(mirror, name):
    rows, labels = CIC[name]
    df = datasets.read_cicids_csv(mirror / "cicids2017" / name)
    assert len(df) == rows
    assert df["label_detail"].astype(str).value_counts().to_dict() == labels
    assert "Fwd Header Length.1" not in df and "Fwd Header Length" in df  # duplicate checked and dropped
    assert all(c == c.strip() for c in df.columns)
    assert set(df["label"].astype(str)) <= set(registry.CICIDS_FAMILIES.values())


def test_cicids_infinity_and_nan_strings(mirror):
    df = datasets.read_cicids_csv(
        mirror / "cicids2017/ml_original_header_heads/Tuesday-WorkingHours.pcap_ISCX.head999.csv"
    )
    values = df[["Flow Bytes/s", "Flow Packets/s"]].to_numpy(dtype=np.float64)
    assert np.isinf(values).sum() == 8 and np.isnan(values).sum() == 4  # PROVENANCE: 8 inf, 4 NaN
    assert df["Flow Bytes/s"].dtype == np.float32


def test_cicids_whole_folder_is_harmonised(mirror, caplog):
    with caplog.at_level(logging.WARNING):
        df = datasets.load("cicids2017", mirror)
    assert len(df) == 83553  # every file of the sample, before dedup
    assert df["source_file"].nunique() == 21
    grouped = df["source_file"].astype(str).str.startswith("grouped_label_sample")
    assert df.loc[grouped, "Destination Port"].isna().all() and df.loc[~grouped, "Destination Port"].notna().all()
    assert "grouped_label_sample/CICIDS2017_sample_6311rows_grouped_labels_no_dstport.csv lacks" in caplog.text
    assert df.attrs["missing_columns"]["Destination Port"] == [
        "grouped_label_sample/CICIDS2017_sample_6311rows_grouped_labels_no_dstport.csv"
    ]
    # TrafficLabelling identifiers are kept, apart from the features
    assert {"Flow ID", "Source IP", "Destination Port", "Protocol"} <= set(datasets.identifier_columns(df))
    assert len(datasets.feature_columns(df)) == 76


def test_cicids_without_label_column(tmp_path):
    bad = tmp_path / "nolabel.csv"
    bad.write_text("Flow Duration,Total Fwd Packets\n1,2\n")
    with pytest.raises(DataError, match=r"nolabel\.csv: no label column"):
        datasets.read_cicids_csv(bad)


def test_cicids_unknown_label_is_named(tmp_path):
    bad = tmp_path / "odd.csv"
    bad.write_text(" Flow Duration, Label\n1,BENIGN\n2,Alien Invasion\n")
    with pytest.raises(DataError, match=r"odd\.csv, column 'Label': unknown CICIDS2017 label.*Alien Invasion"):
        datasets.read_cicids_csv(bad)


def test_wrong_delimiter_is_reported(tmp_path):
    bad = tmp_path / "pipes.csv"
    bad.write_text("Flow Duration|Total Fwd Packets|Label\n1|2|BENIGN\n")
    with pytest.raises(DataError, match=r"pipes\.csv: the header line has a single column"):
        datasets.read_cicids_csv(bad)


def test_ragged_csv_line(mirror, tmp_path):
    lines = (mirror / "cicids2017/ml_original_header_heads/mixed_DDoS_BENIGN_10rows.csv").read_text().splitlines()
    lines[4] = ",".join(lines[4].split(",")[:40])
    bad = tmp_path / "ragged.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"ragged\.csv, line 5: expected 79 comma-separated fields.*found 40"):
        datasets.read_cicids_csv(bad)


# --------------------------------------------------------------------------------------------- BoT-IoT
BOT = {  # file: (rows, attack rows, label counts)
    "botiot_full35col_sample_normal_ddos-tcp.csv": (1109, 1044, {"DDoS/TCP": 1044, "Benign": 65}),
    "botiot_10best_training_attack_sample.tsv": (
        999,
        999,
        {
            "DDoS/UDP": 276,
            "DDoS/TCP": 246,
            "DoS/UDP": 286,
            "DoS/TCP": 163,
            "DoS/HTTP": 1,
            "Reconnaissance/Service_Scan": 20,
            "Reconnaissance/OS_Fingerprint": 7,
        },
    ),  # fmt: skip
    "botiot_10best_training_14rows.csv": (
        14,
        14,
        {"DDoS/TCP": 6, "DDoS/UDP": 2, "DoS/TCP": 3, "DoS/UDP": 2, "Reconnaissance/Service_Scan": 1},
    ),
    "botiot_groundtruth_data_exfiltration.csv": (142, 118, {"Theft/Data_Exfiltration": 118, "Benign": 24}),
}


@pytest.mark.parametrize("name", sorted(BOT))
def test_botiot_files_match_provenance(mirror, name):
    rows, attacks, labels = BOT[name]
    df = datasets.read_botiot_csv(mirror / "botiot" / name)
    assert len(df) == rows and int(df["is_attack"].sum()) == attacks
    assert df["label_detail"].astype(str).value_counts().to_dict() == labels
    assert "record" not in df
    assert df["proto"].dtype == "category"


def test_botiot_full_file_without_header(mirror, tmp_path):
    src = mirror / "botiot/botiot_full35col_sample_normal_ddos-tcp.csv"
    headerless = tmp_path / "UNSW_2018_IoT_Botnet_Dataset_36.csv"
    headerless.write_bytes(src.read_bytes().split(b"\n", 1)[1])
    with_header, without = datasets.read_botiot_csv(src), datasets.read_botiot_csv(headerless)
    pd.testing.assert_frame_equal(with_header, without)
    assert with_header["sport"].dtype == "string"  # ports stored as floats ("80.0") stay identifiers


# ------------------------------------------------------------------------------------- user flow tables
def _user_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "src_ip": [f"10.0.0.{i % 7}" for i in range(60)],
            "bytes": rng.integers(0, 1000, 60),
            "proto": rng.choice(["tcp", "udp"], 60),
            "verdict": ["normal"] * 40 + ["mirai"] * 20,
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_user_flow_table(tmp_path, suffix):
    path = tmp_path / f"flows{suffix}"
    frame = _user_table()
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    df = datasets.load("csv", files=str(path), label_column="verdict", benign_labels="Normal")
    assert len(df) == 60 and int(df["is_attack"].sum()) == 20
    assert set(df["label"].astype(str)) == {"Benign", "mirai"}
    assert df["bytes"].dtype == np.float32 and df["proto"].dtype == "category"
    assert "src_ip" in datasets.identifier_columns(df) and "src_ip" not in datasets.feature_columns(df)


def test_user_table_without_the_named_label_column(tmp_path):
    path = tmp_path / "flows.csv"
    _user_table().to_csv(path, index=False)
    with pytest.raises(DataError, match=r"flows\.csv: no column 'Label' \(LABEL_COLUMN\).*verdict"):
        datasets.load("csv", files=str(path), label_column="Label", benign_labels="normal")


# ------------------------------------------------------------------------------ missing, empty, download
def test_empty_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty"):
        datasets.read_cicids_csv(empty)


def test_missing_manual_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"registration form.*<DATA_DIR>/cicids2017/"):
        datasets.locate("cicids2017", tmp_path)


def test_missing_file_in_data_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.csv: no such file"):
        datasets.load("csv", files=str(tmp_path / "nowhere.csv"), label_column="x", benign_labels="y")


def test_download_checks_sha256(mirror, tmp_path, monkeypatch):
    """fetch() downloads what is missing and rejects bytes whose sha256 is not the registry's."""
    one = tuple(f for f in registry.IOT23_SCENARIOS if "42-1" in f.relpath)
    info = registry.DATASETS["iot23"]
    monkeypatch.setitem(registry.DATASETS, "iot23", registry.DatasetInfo(**{**info.__dict__, "files": one}))
    real = mirror / "iot23" / one[0].relpath

    def serve(payload: bytes):
        def downloader(url, output_file, pooch_obj):
            assert url == one[0].url
            Path(output_file).write_bytes(payload)

        return downloader

    with pytest.raises(DataError, match="failed its checksum"):
        datasets.fetch("iot23", tmp_path / "bad", downloader=serve(real.read_bytes() + b"tampered"))
    assert not (tmp_path / "bad" / "iot23" / one[0].relpath).exists(), "a file with a wrong hash must not be kept"
    got = datasets.fetch("iot23", tmp_path / "good", downloader=serve(real.read_bytes()))
    assert got[0].read_bytes() == real.read_bytes()


def test_modified_local_copy_fails_checksum(mirror, tmp_path):
    copy = tmp_path / "conn.log.labeled"
    shutil.copy(mirror / "iot23/CTU-IoT-Malware-Capture-42-1/bro/conn.log.labeled", copy)
    copy.write_bytes(copy.read_bytes().replace(b"\n", b"\r\n"))
    with pytest.raises(DataError, match="does not match the official"):
        datasets.verify_checksum(copy, next(f.sha256 for f in registry.IOT23_SCENARIOS if "42-1" in f.relpath))
