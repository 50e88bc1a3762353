"""tests/corpus.py: the format corpus itself, read back with pandas alone (never with lib's loaders).

Checks that each fixture has its data set's layout and quirk, the class shares the smoke tests rely on, no
ordinary column that decides the label on its own (while the leak columns do), and same seed, same bytes.
"""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import corpus
import numpy as np
import pandas as pd
import pytest

from lib import registry

LABEL_COLUMN = {"ctu_zeek": "label", "unsw_nb15": "Label", "iotid20": "Label", "cse_cic_ids2018": "Label"}
LABEL_COLUMN["ton_iot"] = "label"


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, corpus.Fixture]:
    root = tmp_path_factory.mktemp("corpus")
    return {name: write(root / name) for name, write in corpus.CORPUS.items()}


def _read(name: str, fixture: corpus.Fixture) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """All cells as text, whether each row is an attack, and its family; without Background flows (Zeek) and
    without the repeated header row (CSE-CIC-IDS2018)."""
    path = fixture.files[0]
    if name == "ctu_zeek":
        lines = path.read_text(encoding="utf-8").splitlines()
        fields = next(line for line in lines if line.startswith("#fields")).split("\t")[1:]
        rows = [line.split("\t") for line in lines if not line.startswith("#")]
        df = pd.DataFrame(rows, columns=fields)
        df = df[df["label"] != "Background"]
        attack = df["label"] == "Malicious"
        family = df["detailedlabel"].where(attack, "Benign")
    elif name == "unsw_nb15":
        df = pd.read_csv(path, header=None, names=list(registry.UNSW_NB15_COLUMNS), encoding="utf-8-sig", dtype=str, keep_default_na=False)  # fmt: skip
        attack = df["Label"] == "1"
        family = df["attack_cat"].str.strip().replace("", "Normal")
    else:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if name == "iotid20":
            attack, family = df["Label"] == "1", df["Sub_Cat"]
        elif name == "cse_cic_ids2018":
            df = df[df["Label"] != "Label"]
            attack, family = df["Label"] != "Benign", df["Label"]
        else:
            attack, family = df["label"] == "1", df["type"]
    return df.reset_index(drop=True), attack.reset_index(drop=True), family.reset_index(drop=True)


def _features(name: str, df: pd.DataFrame) -> pd.DataFrame:
    drop = {*corpus.IDENTIFIERS[name], *corpus.LEAK_COLUMNS[name], LABEL_COLUMN[name]}
    return df[[c for c in df.columns if c not in drop]]


def _as_numbers(column: pd.Series) -> pd.Series | None:
    """The column as numbers ('-', ' ', NaN -> -1, Infinity -> a large number), or None if it is text."""
    values = pd.to_numeric(column.replace({"Infinity": "1e300"}), errors="coerce")
    if values.notna().mean() < 0.5:
        return None
    return values.fillna(-1.0)


def _best_threshold_accuracy(x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the best one-threshold rule on x (either side may be the attack side)."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order].astype(int)
    run_end = np.r_[xs[1:] != xs[:-1], True]
    left = np.arange(1, len(xs) + 1)[run_end]
    attacks_left = np.cumsum(ys)[run_end]
    attacks, n = ys.sum(), len(ys)
    benign_left = left - attacks_left
    one = (benign_left + attacks - attacks_left) / n
    other = (attacks_left + (n - attacks) - benign_left) / n
    return float(max(one.max(), other.max()))


def _value_purity(column: pd.Series, attack: pd.Series) -> float:
    """Accuracy of predicting, for each distinct value, its majority class."""
    table = pd.crosstab(column, attack)
    return float(table.max(axis=1).sum() / len(column))


# ----------------------------------------------------------------------------------------- every fixture
def test_corpus_names_and_parameters(written):
    assert list(corpus.CORPUS) == ["ctu_zeek", "unsw_nb15", "iotid20", "cse_cic_ids2018", "ton_iot"]
    expected = {
        "ctu_zeek": {"DATASET": "zeek"},
        "unsw_nb15": {"DATASET": "csv", "COLUMN_NAMES": "unsw-nb15", "LABEL_COLUMN": "Label", "BENIGN_LABELS": "0"},
        "iotid20": {"DATASET": "csv", "LABEL_COLUMN": "Label", "BENIGN_LABELS": "0"},
        "cse_cic_ids2018": {
            "DATASET": "csv",
            "LABEL_COLUMN": "Label",
            "BENIGN_LABELS": "Benign",
            "LABEL_MODE": "multiclass",
        },
        "ton_iot": {"DATASET": "csv", "LABEL_COLUMN": "label", "BENIGN_LABELS": "0", "MISSING_VALUES": "-"},
    }
    for name, fixture in written.items():
        assert len(fixture.files) == 1 and fixture.files[0].is_file()
        assert fixture.params == {**expected[name], "DATA_FILES": str(fixture.files[0])}
        assert fixture.description


@pytest.mark.parametrize("name", list(corpus.CORPUS))
def test_class_shares_and_distinct_rows(written, name):
    df, attack, family = _read(name, written[name])
    assert 2000 <= len(df) <= 3000
    distinct = pd.concat([_features(name, df), attack.rename("__attack")], axis=1).drop_duplicates()
    assert len(distinct) >= 1500
    assert 0.25 <= attack.mean() < 0.5  # benign is the largest class
    families = family[attack].value_counts()
    assert family[~attack].nunique() == 1
    if name == "iotid20":
        assert 15 <= families.min() <= 25  # too small for a zero-day hold-out
        assert (families >= 60).sum() >= 2
    else:
        assert (families >= 60).sum() >= 2
        assert (family.loc[distinct.index][attack.loc[distinct.index]].value_counts() >= 60).sum() >= 2


@pytest.mark.parametrize("name", list(corpus.CORPUS))
def test_leak_columns_decide_the_label_and_no_ordinary_column_does(written, name):
    df, attack, _ = _read(name, written[name])
    for column in corpus.LEAK_COLUMNS[name]:
        assert _value_purity(df[column], attack) == 1.0, column
    for column in _features(name, df).columns:
        numbers = _as_numbers(df[column])
        if numbers is None:
            score = _value_purity(df[column], attack)
        else:
            score = _best_threshold_accuracy(numbers.to_numpy(float), attack.to_numpy())
        assert score < 0.97, f"{name}: {column} alone predicts the label ({score:.3f})"


@pytest.mark.parametrize("name", list(corpus.CORPUS))
def test_same_seed_same_bytes(tmp_path, name):
    write = corpus.CORPUS[name]
    first = write(tmp_path / "a").files[0].read_bytes()
    assert write(tmp_path / "b").files[0].read_bytes() == first
    assert write(tmp_path / "c", seed=1).files[0].read_bytes() != first


# ------------------------------------------------------------------------------------- one quirk each
def test_ctu_zeek_header_footer_and_unset_values(written):
    path = written["ctu_zeek"].files[0]
    assert path.name == "labeled-conn.log"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:6] == [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tconn",
        lines[5],
    ]
    assert re.fullmatch(r"#open\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d", lines[5])
    assert lines[6].split("\t") == ["#fields", *corpus.CTU_ZEEK_FIELDS]
    assert lines[6].split("\t")[-2:] == ["label", "detailedlabel"]
    assert lines[7].split("\t") == ["#types", *corpus.CTU_ZEEK_TYPES]
    assert re.fullmatch(r"#close\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d", lines[-1])
    rows = pd.DataFrame([line.split("\t") for line in lines[8:-1]], columns=list(corpus.CTU_ZEEK_FIELDS))
    assert set(rows["label"]) == {"Benign", "Malicious", "Background"}
    assert 0.2 <= (rows["label"] == "Background").mean() <= 0.3
    malicious = rows["label"] == "Malicious"
    assert set(rows.loc[malicious, "detailedlabel"]) == {"C&C", "PartOfAHorizontalPortScan", "DDoS"}
    assert set(rows.loc[~malicious, "detailedlabel"]) == {"-"}
    unset = rows["duration"] == "-"
    assert 0.05 < unset.mean() < 0.5
    assert (rows.loc[unset, ["orig_bytes", "resp_bytes"]] == "-").all().all()
    assert pd.to_numeric(rows.loc[~unset, "duration"]).ge(0).all()


def test_ctu_zeek_gzip_variant_holds_the_same_text(written, tmp_path):
    packed = corpus.write_ctu_zeek(tmp_path, gz=True)
    assert packed.files[0].name == "labeled-conn.log.gz"
    assert packed.params["DATA_FILES"] == str(packed.files[0])
    assert gzip.decompress(packed.files[0].read_bytes()) == written["ctu_zeek"].files[0].read_bytes()


def test_unsw_nb15_headerless_with_bom_and_its_quirks(written):
    raw = written["unsw_nb15"].files[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    first = raw[3:].split(b"\n", 1)[0].decode()
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", first.split(",")[0])  # data, not a header
    assert registry.COLUMN_LAYOUTS["unsw-nb15"] == registry.UNSW_NB15_COLUMNS == corpus.UNSW_NB15_COLUMNS
    assert len(registry.UNSW_NB15_COLUMNS) == 49 and "ct_src_ ltm" in registry.UNSW_NB15_COLUMNS
    df, attack, family = _read("unsw_nb15", written["unsw_nb15"])
    assert set(df["Label"]) == {"0", "1"}
    assert (df.loc[~attack, "attack_cat"] == "").all()
    assert {" Fuzzers ", " Reconnaissance ", "Exploits", "DoS", "Generic"} <= set(df["attack_cat"])
    assert (df["service"] == "-").any()
    for column in ("ct_flw_http_mthd", "is_ftp_login", "ct_ftp_cmd"):
        assert (df[column] == " ").mean() > 0.1
    stime, ltime = pd.to_numeric(df["Stime"]), pd.to_numeric(df["Ltime"])
    assert stime.between(1.4e9, 1.5e9).all() and (ltime >= stime).all()


def test_iotid20_style_labels_and_encoded_identifiers(written):
    path = written["iotid20"].files[0]
    df = pd.read_csv(path)
    assert list(df.columns) == list(corpus.IOTID20_STYLE_COLUMNS)
    assert list(df.columns[-3:]) == ["Label", "Cat", "Sub_Cat"]
    assert set(df["Label"]) == {0, 1}
    for column in ("Flow_ID", "Src_IP", "Dst_IP"):
        assert pd.api.types.is_integer_dtype(df[column]), column
    assert set(df["Cat"]) == {"Normal", "Mirai", "DoS", "Scan", "MITM ARP Spoofing"}
    assert "Mirai-UDP Flooding" in set(df["Sub_Cat"])
    assert ((df["Cat"] == "Normal") == (df["Label"] == 0)).all()
    assert np.isfinite(df.select_dtypes("number").to_numpy()).all()


def test_cse_cic_ids2018_columns_repeated_header_and_non_finite_rates(written):
    path = written["cse_cic_ids2018"].files[0]
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0]
    assert header.split(",") == list(corpus.CSE_CIC_IDS2018_COLUMNS)
    assert len(corpus.CSE_CIC_IDS2018_COLUMNS) == 80
    assert header.startswith("Dst Port,Protocol,Timestamp,Flow Duration,Tot Fwd Pkts,")
    assert header.endswith(",Idle Max,Idle Min,Label")
    repeats = [i for i, line in enumerate(lines) if line == header]
    assert len(repeats) == 2 and 0 < repeats[1] < len(lines) - 1
    df = pd.read_csv(io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False)
    df = df[df["Label"] != "Label"]
    rates = df[["Flow Byts/s", "Flow Pkts/s"]]
    assert (rates == "Infinity").any().all() and (rates["Flow Byts/s"] == "NaN").any()
    assert df["Timestamp"].str.fullmatch(r"\d\d/\d\d/2018 \d\d:\d\d:\d\d").all()
    assert {"Benign", "FTP-BruteForce", "SSH-Bruteforce", "DoS attacks-Hulk"} <= set(df["Label"])


def test_ton_iot_dashes_quoted_cells_and_labels(written):
    df = pd.read_csv(written["ton_iot"].files[0], dtype=str, keep_default_na=False)
    assert list(df.columns) == list(corpus.TON_IOT_NETWORK_COLUMNS) and len(df.columns) == 45
    assert set(df["label"]) == {"0", "1"}
    assert ((df["type"] == "normal") == (df["label"] == "0")).all()
    assert {"scanning", "ddos", "dos", "password", "xss", "injection", "backdoor", "ransomware"} <= set(df["type"])
    depth = df["http_trans_depth"]
    assert (depth == "-").any() and pd.to_numeric(depth[depth != "-"]).ge(1).all()  # '-' in a numeric column
    for column in ("service", "dns_query", "ssl_version", "http_method", "weird_name"):
        assert (df[column] == "-").any(), column
    assert df["ssl_subject"].str.contains(",").any()  # quoted cells parse back whole
    assert {"T", "F"} <= set(df["dns_RD"])


def test_fixture_paths_are_in_the_given_folder(tmp_path):
    for name, write in corpus.CORPUS.items():
        fixture = write(tmp_path / name)
        assert all(Path(f).parent == tmp_path / name for f in fixture.files)
