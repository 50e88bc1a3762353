"""lib/preprocess.py: leakage-free fitting, dedup before splitting, SMOTE on training rows only."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from lib import datasets, preprocess
from lib.datasets import DataError
from lib.preprocess import PrepConfig


def flows(n: int = 600, seed: int = 0, families=("Benign", "DDoS", "C&C"), weights=(0.6, 0.3, 0.1)) -> pd.DataFrame:
    """A synthetic frame in the loaders' tidy schema, with a unique ``uid`` per flow."""
    rng = np.random.default_rng(seed)
    family = rng.choice(families, size=n, p=weights)
    shift = pd.Series(family).map({f: i for i, f in enumerate(families)}).to_numpy()
    duration = (rng.exponential(1.0, n) + shift).astype(np.float32)
    duration[rng.random(n) < 0.1] = np.nan
    byte_rate = (rng.normal(100, 20, n) * (1 + shift)).astype(np.float32)
    byte_rate[rng.random(n) < 0.02] = np.inf
    return pd.DataFrame(
        {
            "uid": [f"C{i:05d}" for i in range(n)],
            "id.orig_h": [f"10.0.0.{i % 9}" for i in range(n)],
            "duration": duration,
            "byte_rate": byte_rate,
            "proto": pd.Categorical(rng.choice(["tcp", "udp", "icmp"], n)),
            "constant": np.float32(1.0),
            "label": pd.Categorical(family),
            "label_detail": pd.Categorical(family),
            "is_attack": (family != "Benign").astype(np.int8),
            "source_file": pd.Categorical(["a.log"] * (n // 2) + ["b.log"] * (n - n // 2)),
        }
    )


def raw_rows(df: pd.DataFrame, data, split: str) -> pd.DataFrame:
    return df.set_index("uid").loc[data.rows[split]["uid"]]


def test_scaler_and_imputer_are_fitted_on_training_rows_only():
    df = flows()
    data, pre, _ = preprocess.prepare(df, PrepConfig(label_mode="multiclass", dedup=False))
    train = raw_rows(df, data, "train")
    num = pre.named_transformers_["num"]
    train_duration = train["duration"].to_numpy(dtype=np.float64)
    assert num["median"].statistics_[0] == pytest.approx(np.nanmedian(train_duration))
    everything = np.nanmedian(df["duration"].to_numpy(dtype=np.float64))
    assert num["median"].statistics_[0] != pytest.approx(everything, abs=1e-9)
    filled = np.where(np.isnan(train_duration), np.nanmedian(train_duration), train_duration)
    assert num["minmax"].data_min_[0] == pytest.approx(filled.min())
    assert num["minmax"].data_max_[0] == pytest.approx(filled.max())
    assert data.X_train.min() >= 0 and data.X_train.max() <= 1 + 1e-6


def test_inf_becomes_nan_then_median():
    df = flows()
    data, pre, _ = preprocess.prepare(df, PrepConfig(dedup=False))
    assert np.isfinite(data.X_train).all() and np.isfinite(data.X_test).all()
    col = data.feature_names.index("byte_rate")
    train = raw_rows(df, data, "train")
    inf_rows = np.isinf(train["byte_rate"].to_numpy())
    assert inf_rows.any()
    median_scaled = pre.transform(pd.DataFrame({"duration": [1.0], "byte_rate": [np.inf], "proto": ["tcp"]}))[0, col]
    assert np.allclose(data.X_train[inf_rows, col], median_scaled)


def test_identifiers_and_constant_columns_are_not_features():
    data, _, report = preprocess.prepare(flows(), PrepConfig())
    assert not {"uid", "id.orig_h", "constant", "source_file"} & set(data.feature_names)
    assert {"proto_tcp", "proto_udp", "proto_icmp"} <= set(data.feature_names)
    assert report.dropped_columns["constant_in_train"] == ["constant"]
    assert "uid" in report.dropped_columns["identifier"]


def test_keeping_identifiers_warns_that_it_leaks():
    with pytest.warns(UserWarning, match="KEEP_IDENTIFIERS=True"):
        preprocess.prepare(flows(), PrepConfig(keep_identifiers=True, dedup=False))


def test_dedup_leaves_no_row_in_both_train_and_test():
    df = flows(400)
    df = pd.concat([df, df.iloc[:150].assign(uid=lambda d: d["uid"] + "-copy")], ignore_index=True)  # exact copies
    data, _, report = preprocess.prepare(df, PrepConfig(label_mode="multiclass"))
    assert report.duplicates_removed == 150 and report.rows_after_dedup == 400
    train = {r.tobytes() for r in data.X_train} | {r.tobytes() for r in data.X_val}
    assert not train & {r.tobytes() for r in data.X_test}
    without, _, _ = preprocess.prepare(df, PrepConfig(label_mode="multiclass", dedup=False))
    assert len(without.y_train) + len(without.y_val) + len(without.y_test) == 550


def test_split_is_stratified_80_20_and_validation_comes_from_training():
    data, _, report = preprocess.prepare(flows(1000), PrepConfig(label_mode="multiclass", dedup=False))
    assert report.split_rows["test"] == 200 and report.split_rows["train"] + report.split_rows["val"] == 800
    shares = {s: np.bincount(getattr(data, f"y_{s}")) / len(getattr(data, f"y_{s}")) for s in ("train", "val", "test")}
    assert np.allclose(shares["train"], shares["test"], atol=0.02)
    uids = {s: set(data.rows[s]["uid"]) for s in ("train", "val", "test")}
    assert not uids["train"] & uids["val"] and not uids["train"] & uids["test"] and not uids["val"] & uids["test"]
    assert data.class_names[0] == "Benign"


def test_smote_never_touches_test_or_validation_rows():
    df = flows(800, weights=(0.85, 0.1, 0.05))
    plain, _, _ = preprocess.prepare(df, PrepConfig(label_mode="multiclass", smote=False))
    data, _, report = preprocess.prepare(df, PrepConfig(label_mode="multiclass", smote=True))
    np.testing.assert_array_equal(plain.X_test, data.X_test)
    np.testing.assert_array_equal(plain.X_val, data.X_val)
    np.testing.assert_array_equal(data.X_train_smote[: len(data.X_train)], data.X_train)  # originals kept first
    counts = np.bincount(data.y_train_smote)
    assert (counts == counts.max()).all(), "D2: every class oversampled to the majority count"
    synthetic = {r.tobytes() for r in data.X_train_smote[len(data.X_train) :]}
    assert not synthetic & {r.tobytes() for r in data.X_test}
    assert report.class_counts["train_smote"]["C&C"] == report.class_counts["train"]["Benign"]


def test_rare_families_are_merged_then_dropped(caplog):
    df = flows(600, families=("Benign", "DDoS", "Okiru", "Attack"), weights=(0.7, 0.26, 0.03, 0.01))
    with caplog.at_level(logging.WARNING):
        data, _, report = preprocess.prepare(df, PrepConfig(label_mode="multiclass", min_class_count=25, dedup=False))
    assert report.merged_classes == ["Attack", "Okiru"]
    assert "OtherAttack" in data.class_names and "merged into OtherAttack" in caplog.text
    _, _, dropped = preprocess.prepare(
        df, PrepConfig(label_mode="multiclass", min_class_count=25, rare_classes="drop", dedup=False)
    )
    assert dropped.dropped_classes == ["Attack", "Okiru"] and dropped.rows_dropped_rare > 0


def test_one_class_data_is_a_clear_error(mirror):
    honeypots = datasets.load("iot23", mirror, files=str(mirror / "iot23/CTU-Honeypot-Capture-4-1"))
    with pytest.raises(DataError, match=r"only one class \(Benign\) in the data from .*Honeypot.*Fix"):
        preprocess.prepare(honeypots, PrepConfig())


def test_all_nan_feature_column_is_dropped_and_said_and_only_empty_columns_are_an_error():
    df = flows().assign(empty=np.float32(np.nan))
    data, _, report = preprocess.prepare(df, PrepConfig())
    assert "empty" not in data.feature_names and report.dropped_columns["no_value_in_any_row"] == ["empty"]
    nothing = df[["empty", "label", "label_detail", "is_attack", "source_file"]]
    with pytest.raises(DataError, match=r"a\.log, b\.log: column\(s\) \['empty'\] have no value.*DROP_COLUMNS='empty'"):
        preprocess.prepare(nothing, PrepConfig(dedup=False))


def test_a_column_that_alone_predicts_the_label_is_left_out_and_can_be_allowed(caplog):
    df = flows(families=("Benign", "DDoS", "C&C"))
    df["family_code"] = df["label"].cat.codes.astype(np.float32)  # a label-encoded category: the label itself
    df["attack_cat"] = df["label"]  # a label column by its name
    df.attrs["label_columns"] = ["attack_cat"]
    with caplog.at_level(logging.WARNING):
        data, _, report = preprocess.prepare(df, PrepConfig(label_mode="multiclass"))
    assert report.dropped_columns["predicts_the_label_alone"] == ["family_code"]
    assert report.dropped_columns["carries_the_label (name)"] == ["attack_cat"]
    assert not {"family_code", "attack_cat"} & {n.split("_")[0] for n in data.feature_names}
    assert "ALLOW_COLUMNS='family_code'" in caplog.text
    allowed, _, _ = preprocess.prepare(df, PrepConfig(label_mode="multiclass", allow_columns=("family_code",)))
    assert "family_code" in allowed.feature_names
    assert "duration" in data.feature_names  # ordinary, overlapping features stay


def test_imputed_values_are_counted_per_column():
    df = flows()
    _, _, report = preprocess.prepare(df, PrepConfig(dedup=False))
    assert report.imputed["duration"]["missing"] == int(df["duration"].isna().sum()) > 0
    assert report.imputed["byte_rate"]["infinite"] == int(np.isinf(df["byte_rate"]).sum()) > 0
    table = report.repairs_table()
    assert set(table["column"]) >= {"duration", "byte_rate"}


def test_columns_missing_from_a_whole_file_are_dropped():
    df = flows()
    df["only_in_a"] = np.where(df["source_file"] == "a.log", 1.5, np.nan).astype(np.float32)
    df.loc[df["source_file"] == "a.log", "only_in_a"] += np.arange((df["source_file"] == "a.log").sum())
    data, _, report = preprocess.prepare(df, PrepConfig())
    assert report.dropped_columns["absent_from_some_files"] == ["only_in_a"]
    assert "only_in_a" not in data.feature_names


def test_sample_rows_keeps_rare_classes():
    df = flows(2000, weights=(0.98, 0.015, 0.005))
    small = preprocess.sample_rows(df, 200, seed=1)
    assert 190 <= len(small) <= 240
    assert set(small["label"]) == set(df["label"])
    pd.testing.assert_frame_equal(small, preprocess.sample_rows(df, 200, seed=1))


def test_iot23_mirror_binary_preparation(mirror):
    df = datasets.load("iot23", mirror)
    data, _, report = preprocess.prepare(df, PrepConfig(label_mode="binary"))
    assert report.rows_loaded == 29634
    assert report.rows_after_dedup + report.duplicates_removed == 29634
    assert sum(report.split_rows.values()) == report.rows_after_dedup
    assert {"proto", "service", "conn_state", "history"} == set(report.categorical_columns)
    assert data.X_train.dtype == np.float32 and data.X_train.shape[1] == len(data.feature_names)
