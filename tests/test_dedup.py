"""lib/preprocess/dedup.py: copies of one flow found on the features alone, rounded copies, label_detail variants,
conflicting labels, the counts per class and rule, and the whole CICIDS2017 mirror."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib import datasets, preprocess
from lib.preprocess import PrepConfig

FEATURES = ["Flow Duration", "Total Fwd Packets", "Flow Bytes/s", "Flow Packets/s", "Fwd Packet Length Mean"]


def cicids_rows() -> pd.DataFrame:
    """A few flows in the CICIDS2017 schema as the loader gives it (float32 features, family ``label``, fine
    ``label_detail``), with the copies public redistributions make of them:

    * row 1 repeats row 0 with ``Flow Bytes/s`` written with three decimals fewer and the family label only;
    * row 3 repeats row 2 exactly, with the fine label (row 2 has the family label);
    * rows 4-6 are one flow labelled Benign twice and DoS once (a conflict with a majority);
    * rows 7-8 are one flow labelled Benign and Bot (a conflict with a tie);
    * row 9 is a flow of its own; row 10 differs from it in the fifth significant digit (a different flow).
    """
    values = [
        (5727965, 3, 2094.984769821167, 0.5237463, 6.0),
        (5727965, 3, 2094.985, 0.5237463, 6.0),
        (214, 2, 28037.38, 9345.794, 0.0),
        (214, 2, 28037.38, 9345.794, 0.0),
        (3, 1, 0.0, 666666.7, 0.0),
        (3, 1, 0.0, 666666.7, 0.0),
        (3, 1, 0.0, 666666.7, 0.0),
        (48, 1, np.nan, np.inf, 0.0),
        (48, 1, np.nan, np.inf, 0.0),
        (32036240, 5, 2.309884, 0.06242930, 0.0),
        (32036246, 5, 2.309836, 0.06242929, 0.0),
    ]
    labels = [
        ("WebAttack", "Web Attack - XSS"),
        ("WebAttack", "WebAttack"),
        ("WebAttack", "WebAttack"),
        ("WebAttack", "Web Attack - Brute Force"),
        ("Benign", "BENIGN"),
        ("DoS", "DoS"),
        ("Benign", "BENIGN"),
        ("Benign", "BENIGN"),
        ("Bot", "Bot"),
        ("Benign", "BENIGN"),
        ("Benign", "BENIGN"),
    ]
    df = pd.DataFrame(values, columns=FEATURES).astype(np.float32)
    df["Protocol"] = 6.0  # an identifier in the CICIDS2017 schema: never part of the key
    df["label"] = pd.Categorical([f for f, _ in labels])
    df["label_detail"] = pd.Categorical([d for _, d in labels])
    df["is_attack"] = (df["label"] != "Benign").astype(np.int8)
    df["source_file"] = pd.Categorical([f"file{i % 3}.csv" for i in range(len(df))])
    return df


def test_round_significant_rounds_to_digits_and_leaves_zero_nan_and_inf():
    values = np.array([123456.78, 0.000123456, -98765.4, 0.0, np.nan, np.inf, -np.inf, 9.9995, 10.0])
    out = preprocess.round_significant(values, 4)
    np.testing.assert_array_equal(out[:3], [123500.0, 0.0001235, -98770.0])
    assert out[3] == 0 and np.isnan(out[4]) and out[5] == np.inf and out[6] == -np.inf
    assert out[7] == out[8] == 10.0  # one decimal value, one float, whichever way it was reached
    np.testing.assert_array_equal(preprocess.round_significant(values, 0), values)


def test_rounded_copies_collapse_and_the_kept_row_keeps_its_own_values():
    df = cicids_rows()
    out, counts = preprocess.deduplicate(df, FEATURES, digits=7)
    assert counts["rounded copies removed"] == 1 and counts["exact copies removed"] == 1
    webattack = out[out["label"] == "WebAttack"]
    assert len(webattack) == 2
    assert webattack["Flow Bytes/s"].iloc[0] == np.float32(2094.984769821167)  # the original value, not rounded
    exact, exact_counts = preprocess.deduplicate(df, FEATURES, digits=0)
    assert exact_counts["rounded copies removed"] == 0 and len(exact) == len(out) + 1


def test_a_flow_that_differs_beyond_the_rounding_stays():
    out, _ = preprocess.deduplicate(cicids_rows(), FEATURES, digits=7)
    assert {32036240.0, 32036246.0} <= set(out["Flow Duration"])
    merged, counts = preprocess.deduplicate(cicids_rows(), FEATURES, digits=4)
    assert counts["rounded copies removed"] == 2 and 32036246.0 not in set(merged["Flow Duration"])


def test_label_detail_variants_are_one_flow_and_keep_the_finer_label():
    out, counts = preprocess.deduplicate(cicids_rows(), FEATURES, digits=7)
    assert sorted(out.loc[out["label"] == "WebAttack", "label_detail"]) == [
        "Web Attack - Brute Force",
        "Web Attack - XSS",
    ]
    assert counts["detail_variant_groups"] == 2 and counts["detail_variant_rows"] == 4
    assert counts["conflict_groups"] == 2  # a family label beside a fine one is no conflict


def test_a_missing_label_detail_never_wins_over_a_fine_one():
    df = pd.DataFrame({"f": [5.0, 5.0], "label": ["C", "C"], "label_detail": [np.nan, "C-x"], "is_attack": [1, 1]})
    for rows in (df, df.iloc[::-1].reset_index(drop=True)):
        out, counts = preprocess.deduplicate(rows, ["f"], digits=8)
        assert out["label_detail"].tolist() == ["C-x"] and counts["conflict_groups"] == 0


def test_conflicting_labels_majority_keeps_one_row_of_the_majority_and_drops_ties():
    out, counts = preprocess.deduplicate(cicids_rows(), FEATURES, digits=7, conflicts="majority")
    assert counts["conflict_groups"] == 2 and counts["conflict_rows"] == 5
    assert counts["conflict_rows_kept"] == 1 and counts["conflict_groups_tied"] == 1
    assert counts["conflicting rows dropped"] == counts["conflict_rows"] - counts["conflict_rows_kept"] == 4
    flow = out[out["Flow Duration"] == 3]
    assert flow["label"].tolist() == ["Benign"]
    assert not (out["Flow Duration"] == 48).any()  # Benign 1, Bot 1: a tie, the whole group goes


def test_conflicting_labels_drop_removes_every_row_of_the_group():
    out, counts = preprocess.deduplicate(cicids_rows(), FEATURES, digits=7, conflicts="drop")
    assert not out["Flow Duration"].isin([3, 48]).any()
    assert counts["conflict_rows_kept"] == 0 and counts["conflicting rows dropped"] == 5
    with pytest.raises(ValueError, match="DEDUP_CONFLICTS"):
        preprocess.deduplicate(cicids_rows(), FEATURES, conflicts="first")


def test_counts_per_class_and_rule_add_up():
    df = cicids_rows()
    out, counts = preprocess.deduplicate(df, FEATURES, digits=7)
    per_class = counts["per_class"]
    assert per_class["WebAttack"] == {
        "before": 4,
        "exact copies removed": 1,
        "rounded copies removed": 1,
        "conflicting rows dropped": 0,
        "after": 2,
    }
    assert per_class["Benign"]["conflicting rows dropped"] == 2 and per_class["Benign"]["after"] == 3
    assert per_class["DoS"] == {**per_class["DoS"], "before": 1, "conflicting rows dropped": 1, "after": 0}
    for name, c in per_class.items():
        assert c["before"] - sum(c[f] for f in preprocess.dedup.FATES) == c["after"] == (out["label"] == name).sum()
    assert counts["rows_before"] == len(df) and counts["rows_after"] == len(out)


def test_report_table_and_row_counts_show_the_rules():
    _, _, report = preprocess.prepare(synthetic_with_copies(), PrepConfig(label_mode="multiclass", dedup_digits=7))
    table = report.dedup_table()
    assert list(table.columns) == ["before", *preprocess.dedup.FATES, "after"]
    assert (
        table.loc["all", "before"] == report.rows_after_sample and table.loc["all", "after"] == report.rows_after_dedup
    )
    assert table.loc["all", "rounded copies removed"] == 100
    counts = report.row_counts()["rows"]
    assert counts["rounded copies removed (DEDUP_DIGITS=7)"] == 100
    assert report.duplicates_removed == report.rows_after_sample - report.rows_after_dedup
    assert json.loads(json.dumps(report.as_dict()))["dedup"]["digits"] == 7  # stored in meta.json as it is
    _, _, default = preprocess.prepare(synthetic_with_copies(), PrepConfig(label_mode="multiclass"))
    assert default.dedup["rounded copies removed"] == 0  # 8 digits (the default) tell the copies' rates apart


def synthetic_with_copies(n: int = 400) -> pd.DataFrame:
    """Random flows, and 100 copies of the first ones with one float column written without its decimals (equal
    at 7 significant digits, different in float32) and the family label replaced by a fine ``label_detail``."""
    rng = np.random.default_rng(1)
    family = rng.choice(["Benign", "DDoS", "C&C"], n, p=[0.6, 0.3, 0.1])
    df = pd.DataFrame(
        {
            "uid": [f"C{i:05d}" for i in range(n)],
            "duration": rng.exponential(10.0, n).astype(np.float32),
            # 1.1e6-1.6e6 bytes/s in steps of 1/8 (float32's spacing there), never a whole number
            "rate": (rng.integers(1_100_000, 1_600_000, n) + rng.choice([0.125, 0.25, 0.375], n)).astype(np.float32),
            "proto": pd.Categorical(rng.choice(["tcp", "udp"], n)),
            "label": pd.Categorical(family),
            "label_detail": pd.Categorical(family),
            "is_attack": (family != "Benign").astype(np.int8),
        }
    )
    copies = df.iloc[:100].copy()
    copies["uid"] += "-copy"
    copies["rate"] = np.floor(copies["rate"])  # written without decimals by a redistributor: 7 digits agree
    copies["label_detail"] = pd.Categorical(copies["label"].astype(str) + "-fine")
    return pd.concat([df, copies], ignore_index=True)


def test_rounded_copies_are_never_in_both_train_and_test():
    df = synthetic_with_copies()
    assert not preprocess.duplicated(df, ["duration", "rate", "proto"]).any()  # no exact copy: only rounded ones
    data, _, report = preprocess.prepare(df, PrepConfig(label_mode="multiclass", dedup_digits=7))
    assert report.rows_after_dedup == 400
    keys = (
        df.set_index("uid")[["duration", "rate"]]
        .astype(np.float64)
        .apply(lambda c: preprocess.round_significant(c.to_numpy(), 7))
    )
    train = set(map(tuple, keys.loc[pd.concat([data.rows["train"]["uid"], data.rows["val"]["uid"]])].to_numpy()))
    assert not train & set(map(tuple, keys.loc[data.rows["test"]["uid"]].to_numpy()))
    kept = pd.concat(data.rows.values())
    assert kept["label_detail"].astype(str).str.endswith("-fine").sum() == 100  # the finer label of each pair


def test_dedup_false_keeps_every_row():
    df = synthetic_with_copies()
    data, _, report = preprocess.prepare(df, PrepConfig(label_mode="multiclass", dedup=False))
    assert report.rows_after_dedup == len(df) == sum(report.split_rows.values())
    assert report.duplicates_removed == 0 and "digits" not in report.dedup
    table = report.dedup_table()
    assert (table["before"] == table["after"]).all() and table[list(preprocess.dedup.FATES)].eq(0).all().all()
    assert report.row_counts()["rows"]["copies removed (DEDUP=False: none)"] == 0


def test_missing_equals_missing_and_text_compares_exactly():
    df = pd.DataFrame(
        {
            "x": np.array([np.nan, np.nan, 1.0, 1.0000001], dtype=np.float64),
            "service": ["http", "http", "dns", "DNS"],
            "label": ["Benign"] * 4,
            "is_attack": np.int8(0),
        }
    )
    out, counts = preprocess.deduplicate(df, ["x", "service"], digits=3)
    assert len(out) == 3 and counts["exact copies removed"] == 1 and counts["rounded copies removed"] == 0


def test_a_hash_collision_never_merges_different_rows(monkeypatch):
    df = cicids_rows()
    expected, expected_counts = preprocess.deduplicate(df, FEATURES, digits=7)
    leaders = preprocess.duplicate_groups(df, FEATURES, digits=7)
    monkeypatch.setattr(pd.util, "hash_array", lambda values, *args, **kwargs: np.zeros(len(values), np.uint64))
    np.testing.assert_array_equal(preprocess.duplicate_groups(df, FEATURES, digits=7), leaders)
    out, counts = preprocess.deduplicate(df, FEATURES, digits=7)
    pd.testing.assert_frame_equal(out, expected)
    assert counts == expected_counts
    rounded = pd.DataFrame({c: preprocess.round_significant(df[c].to_numpy(np.float64), 7) for c in FEATURES})
    np.testing.assert_array_equal(preprocess.duplicated(df, FEATURES, digits=7), rounded.duplicated().to_numpy())


def test_config_checks_the_dedup_parameters():
    config = PrepConfig.from_parameters({"DEDUP_DIGITS": 5, "DEDUP_CONFLICTS": "drop"})
    assert (config.dedup_digits, config.dedup_conflicts) == (5, "drop")
    assert (PrepConfig().dedup_digits, PrepConfig().dedup_conflicts) == (preprocess.DEDUP_DIGITS, "majority")
    with pytest.raises(ValueError, match="DEDUP_CONFLICTS"):
        PrepConfig(dedup_conflicts="keep")
    with pytest.raises(ValueError, match="DEDUP_DIGITS"):
        PrepConfig(dedup_digits=-1)


def test_notebook_01_parameters_match_the_config_defaults():
    notebook = json.loads((Path(__file__).parent.parent / "notebooks" / "01_data_preparation.ipynb").read_text())
    namespace: dict = {}
    exec("".join(notebook["cells"][1]["source"]), namespace)
    assert (namespace["DEDUP_DIGITS"], namespace["DEDUP_CONFLICTS"]) == (PrepConfig().dedup_digits, "majority")


def test_whole_cicids2017_mirror_keeps_at_most_every_web_attack_of_cicids2017(mirror):
    """All of CICIDS2017 holds 2,180 web-attack flows (1,507 brute force, 652 XSS, 21 SQL injection); the mirror
    holds each of them in up to four redistributions, labelled by family or in detail."""
    df = datasets.load("cicids2017", mirror)
    data, _, report = preprocess.prepare(df, PrepConfig(label_mode="multiclass", sample_rows=0))
    per_class = report.dedup["per_class"]
    assert per_class["WebAttack"]["before"] > 2180 >= per_class["WebAttack"]["after"]
    kept = sum(counts.get("WebAttack", 0) for split, counts in report.class_counts.items() if split != "train_smote")
    assert kept == per_class["WebAttack"]["after"]
    details = pd.concat(data.rows.values())
    web = details.loc[details["label"] == "WebAttack", "label_detail"].astype(str)
    assert not (web == "WebAttack").any()  # every kept web attack has its fine label from another file
    assert report.dedup["rounded copies removed"] == 0  # float32 already merges the redistributions' decimals
    assert report.dedup["detail_variant_groups"] > 0  # family-labelled rows merged with their finely labelled copies
