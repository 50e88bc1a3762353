"""lib/preprocess/: leakage-free fitting, dedup before splitting, SMOTE on training rows only."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from lib import datasets, preprocess
from lib.datasets import DataError, schema, times
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


def test_missing_columns_table_counts_the_files_lacking_each_column():
    table = preprocess.missing_columns_table({"service": ["a.log", "b.log"], "history": ["c.log"]})
    assert table.to_dict("records") == [
        {"column": "service", "files lacking it": 2, "files": "a.log, b.log"},
        {"column": "history", "files lacking it": 1, "files": "c.log"},
    ]
    assert list(preprocess.missing_columns_table({}).columns) == ["column", "files lacking it", "files"]


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


# ------------------------------------------------------------------------------------------- SCALING
def test_defaults_are_paper_1_min_max_scaling_and_stratified_split():
    config = PrepConfig()
    assert (config.scaling, config.split, config.category_columns) == ("minmax", "stratified", ())
    _, pre, report = preprocess.prepare(flows(), config)
    assert [name for name, _ in pre.named_transformers_["num"].steps] == ["inf_to_nan", "median", "minmax", "float32"]
    assert report.split["kind"] == "stratified"


def test_log_scalings_are_a_sign_preserving_log1p_of_the_imputed_training_values():
    df = flows()
    df["balance"] = (df["byte_rate"] - 150).astype(np.float32)  # negative and positive values, inf and all
    expected = {}
    for scaling in ("log_minmax", "log_standard"):
        data, pre, _ = preprocess.prepare(df, PrepConfig(dedup=False, scaling=scaling))
        col = data.feature_names.index("balance")
        raw = raw_rows(df, data, "train")["balance"].to_numpy(dtype=np.float64)
        raw[np.isinf(raw)] = np.nan
        filled = np.where(np.isnan(raw), np.nanmedian(raw), raw)
        logged = np.sign(filled) * np.log1p(np.abs(filled))
        assert (logged < 0).any() and (logged > 0).any()
        if scaling == "log_minmax":
            expected = (logged - logged.min()) / (logged.max() - logged.min())
        else:
            expected = (logged - logged.mean()) / logged.std()
        np.testing.assert_allclose(data.X_train[:, col], expected, rtol=1e-5, atol=1e-6)
    assert "signed_log1p" in pre.named_transformers_["num"].named_steps


def test_quantile_scaling_is_fitted_on_training_rows_only():
    df = flows()
    data, pre, _ = preprocess.prepare(df, PrepConfig(dedup=False, scaling="quantile"))
    col = data.feature_names.index("duration")
    train = data.X_train[:, col]
    assert 0 <= train.min() and train.max() <= 1 and abs(np.median(train) - 0.5) < 0.05  # uniform on training rows
    quantiles = pre.named_transformers_["num"]["quantile"].quantiles_[:, 0]
    raw = raw_rows(df, data, "train")["duration"].to_numpy(dtype=np.float64)
    filled = np.where(np.isnan(raw), np.nanmedian(raw), raw)
    assert quantiles.min() == pytest.approx(filled.min()) and quantiles.max() == pytest.approx(filled.max())


@pytest.mark.parametrize("scaling", preprocess.SCALINGS)
def test_each_scaling_survives_its_skops_file_and_transforms_new_flows_identically(tmp_path, scaling):
    df = flows()
    _, pre, _ = preprocess.prepare(df, PrepConfig(scaling=scaling, category_columns=("duration",)))
    path = preprocess.save_preprocessor(pre, tmp_path / "preprocessor.skops")
    loaded = preprocess.load_preprocessor(path)  # trusted types only: a new function must be in SKOPS_TYPES
    new_flows = flows(50, seed=7)
    np.testing.assert_array_equal(loaded.transform(new_flows), pre.transform(new_flows))
    assert loaded.get_feature_names_out().tolist() == pre.get_feature_names_out().tolist()


def test_skops_types_are_the_types_a_saved_preprocessor_holds(tmp_path):
    import skops.io

    held: set[str] = set()
    for scaling in preprocess.SCALINGS:
        _, pre, _ = preprocess.prepare(flows(), PrepConfig(scaling=scaling, category_columns=("duration",)))
        path = preprocess.save_preprocessor(pre, tmp_path / f"{scaling}.skops")
        held |= set(skops.io.get_untrusted_types(file=path))
    assert held == preprocess.SKOPS_TYPES
    assert "lib.preprocess.features.as_category_strings" in preprocess.SKOPS_TYPES  # public, by qualified name


def _not_a_project_function(X):
    return X


def test_a_preprocessor_file_holding_an_untrusted_type_is_refused(tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer

    crafted = ColumnTransformer([("num", FunctionTransformer(_not_a_project_function), ["duration"])])
    path = preprocess.save_preprocessor(crafted.fit(flows()), tmp_path / "preprocessor.skops")
    with pytest.raises(
        ValueError, match=r"refusing to load types this project never writes: .*_not_a_project_function"
    ):
        preprocess.load_preprocessor(path)


def test_unknown_scaling_or_split_is_refused():
    with pytest.raises(ValueError, match="SCALING must be one of minmax, log_minmax"):
        PrepConfig(scaling="log")
    with pytest.raises(ValueError, match="SPLIT must be one of stratified, group, time, source"):
        PrepConfig(split="random")


# ------------------------------------------------------------------------------------------- CATEGORY_COLUMNS
def test_category_columns_are_one_hot_encoded_and_keep_their_numeric_value():
    df = flows(800)
    rng = np.random.default_rng(3)
    df["window"] = rng.choice([-1.0, 8192.0, 29200.0, 65535.0, *range(10, 30)], size=len(df)).astype(np.float32)
    params = {"CATEGORY_COLUMNS": "window", "MAX_CATEGORIES": 4, "LABEL_MODE": "multiclass"}
    data, pre, report = preprocess.prepare(df, PrepConfig.from_parameters(params))
    assert "window" in data.feature_names and report.category_columns == ["window"]
    encoded = [n for n in data.feature_names if n.startswith("window_")]
    assert len(encoded) == 4 and "window_infrequent_sklearn" in encoded  # the top values, then "infrequent"
    assert data.meta["config"]["category_columns"] == ("window",)
    row = pre.transform(df.iloc[:1])[0]
    hot = [n for n, v in zip(data.feature_names, row, strict=True) if n.startswith("window_") and v == 1]
    assert len(hot) == 1  # each flow is in exactly one category


def test_unknown_category_columns_are_an_error_naming_them():
    with pytest.raises(ValueError, match=r"CATEGORY_COLUMNS name columns that do not exist: \['Init_Win', 'nope'\]"):
        preprocess.prepare(flows(), PrepConfig(category_columns="duration, Init_Win,nope"))


# ------------------------------------------------------------------------------------------- SPLIT
def network_flows(n: int = 900, seed: int = 0) -> pd.DataFrame:
    """:func:`flows` with host pairs (some written in both directions), Zeek start times and four files."""
    rng = np.random.default_rng(seed)
    df = flows(n, seed)
    hosts = [f"192.168.1.{i}" for i in range(40)]
    pair = rng.integers(0, 60, n)
    a, b = np.array(hosts)[pair % 40], np.array(hosts)[(pair * 7 + 1) % 40]
    flip = rng.random(n) < 0.5
    df["id.orig_h"], df["id.resp_h"] = np.where(flip, b, a), np.where(flip, a, b)
    df["ts"] = 1.5e9 + np.sort(rng.uniform(0, 86_400, n))
    df["source_file"] = pd.Categorical(np.array(["a.log", "b.log", "c.log", "d.log"])[np.arange(n) * 4 // n])
    return df


def pairs(rows: pd.DataFrame) -> set[frozenset]:
    return {frozenset(p) for p in zip(rows["id.orig_h"], rows["id.resp_h"], strict=True)}


def test_group_split_keeps_every_host_pair_on_one_side_whichever_its_direction(recwarn):
    df = network_flows()
    data, _, report = preprocess.prepare(df, PrepConfig(split="group", label_mode="multiclass", keep_identifiers=True))
    found = {s: pairs(data.rows[s]) for s in ("train", "val", "test")}
    assert not found["train"] & found["test"] and not found["train"] & found["val"] and not found["val"] & found["test"]
    assert report.split["group_columns"] == ["id.orig_h", "id.resp_h"]
    assert report.split["groups"] == {s: len(p) for s, p in found.items()}
    assert report.split["groups_shared_with_train"] == {"val": 0, "test": 0}
    assert 0.1 <= report.split_rows["test"] / len(df) <= 0.3
    assert not {"id.orig_h", "id.resp_h"} & set(data.feature_names)  # grouping keys stay out, KEEP_IDENTIFIERS or not
    assert report.dropped_columns["used_by_the_split"] == ["id.orig_h", "id.resp_h"]
    assert set(data.y_train) == set(data.y_test) == {0, 1, 2}  # stratified by class as far as groups allow


def test_group_split_falls_back_to_the_flow_id_and_otherwise_names_the_fix():
    df = network_flows().drop(columns=["id.orig_h", "id.resp_h"])
    df["Flow ID"] = [f"10.0.0.{i % 50}-10.0.0.99-{i % 7}-80-6" for i in range(len(df))]
    data, _, report = preprocess.prepare(df, PrepConfig(split="group"))
    assert report.split["group_columns"] == ["Flow ID"]
    assert not set(data.rows["train"]["Flow ID"]) & set(data.rows["test"]["Flow ID"])
    with pytest.raises(DataError, match=r"SPLIT='group' needs the flows' addresses.*Fix: name .* GROUP_COLUMNS"):
        preprocess.prepare(df.drop(columns="Flow ID"), PrepConfig(split="group"))
    with pytest.raises(DataError, match=r"GROUP_COLUMNS names columns that do not exist: \['Src IP'\]"):
        preprocess.prepare(df, PrepConfig(split="group", group_columns="Src IP"))


def test_group_split_with_addresses_missing_in_whole_files_is_a_clear_error():
    df = network_flows()
    df.loc[df["source_file"] == "a.log", ["id.orig_h", "id.resp_h"]] = None
    with pytest.raises(DataError, match=r"rows \(from a\.log\) have no value in \['id\.orig_h', 'id\.resp_h'\].*Fix"):
        preprocess.prepare(df, PrepConfig(split="group"))


def test_time_split_trains_on_earlier_flows_and_validates_on_the_latest_training_ones():
    df = network_flows().sample(frac=1.0, random_state=1).reset_index(drop=True)  # file order is not time order
    data, _, report = preprocess.prepare(df, PrepConfig(split="time", label_mode="multiclass"))
    ts = {s: data.rows[s]["ts"] for s in ("train", "val", "test")}
    assert ts["train"].max() <= ts["val"].min() and ts["val"].max() <= ts["test"].min()
    assert report.split["time_column"] == "ts" and report.split["kind"] == "time"
    assert report.split["time_range"]["test"][1] == pd.Timestamp(df["ts"].max(), unit="s").isoformat(timespec="seconds")
    assert "ts" not in data.feature_names
    assert report.split_rows["test"] == round(0.2 * report.rows_after_dedup)


def test_time_split_drops_a_few_rows_without_a_time_and_refuses_many():
    df = network_flows()
    df.loc[[5, 17], "ts"] = np.nan
    _, _, report = preprocess.prepare(df, PrepConfig(split="time", dedup=False))
    assert report.rows_without_time == 2 and sum(report.split_rows.values()) == len(df) - 2
    df.loc[df["source_file"] == "b.log", "ts"] = np.nan
    with pytest.raises(DataError, match=r"SPLIT='time': 2\d\d of 900 rows \(from a\.log, b\.log\) have no start time"):
        preprocess.prepare(df, PrepConfig(split="time", dedup=False))
    with pytest.raises(DataError, match=r"SPLIT='time' needs each flow's start time.*Fix"):
        preprocess.prepare(df.drop(columns="ts"), PrepConfig(split="time"))


def test_source_split_holds_out_the_named_files_and_validates_on_the_others():
    df = network_flows()
    data, _, report = preprocess.prepare(df, PrepConfig(split="source", test_sources="c.log"))
    assert set(data.rows["test"]["source_file"]) == {"c.log"}
    assert "c.log" not in set(data.rows["train"]["source_file"]) | set(data.rows["val"]["source_file"])
    assert report.split["sources"]["test"] == ["c.log"] and report.split["test_sources"] == ["c.log"]
    assert set(report.split["sources"]["val"]) <= {"a.log", "b.log", "d.log"}
    with pytest.raises(DataError, match=r"TEST_SOURCES names \['e\.log'\].*The sources are: \['a\.log', 'b\.log'"):
        preprocess.prepare(df, PrepConfig(split="source", test_sources="e.log"))


def test_source_split_carves_validation_by_host_pair_and_row_by_row_only_without_one():
    df = network_flows()
    data, _, report = preprocess.prepare(df, PrepConfig(split="source", test_sources="c.log"))
    assert not pairs(data.rows["train"]) & pairs(data.rows["val"])  # a host pair on one side of validation only
    assert report.split["validation_carved"] == "by group (id.orig_h/id.resp_h)"
    assert report.split["groups_shared_with_train"]["val"] == 0
    assert 0.05 <= report.split_rows["val"] / (report.split_rows["train"] + report.split_rows["val"]) <= 0.15
    _, _, report = preprocess.prepare(df.drop(columns=["id.orig_h", "id.resp_h"]), PrepConfig(split="source",
                                      test_sources="c.log"))  # fmt: skip
    assert report.split["validation_carved"].startswith("row by row")
    with pytest.raises(DataError, match=r"TEST_SOURCES='each' holds every source out in turn.*lib\.runner"):
        preprocess.prepare(df, PrepConfig(split="source", test_sources="each"))


def test_test_rows_have_no_say_in_which_columns_are_features():
    df = network_flows()
    rng = np.random.default_rng(0)
    in_test = (df["source_file"] == "c.log").to_numpy()
    # absent from the held-out file only: the training files all have it, so it stays (imputed in c.log)
    df["not_in_c"] = np.where(in_test, np.nan, rng.random(len(df))).astype(np.float32)
    # present in the held-out file only: empty in every training row, so it goes
    df["only_in_c"] = np.where(in_test, rng.random(len(df)), np.nan).astype(np.float32)
    data, _, report = preprocess.prepare(df, PrepConfig(split="source", test_sources="c.log"))
    assert "not_in_c" in data.feature_names and "only_in_c" not in data.feature_names
    assert report.dropped_columns["no_value_in_any_row"] == ["only_in_c"]
    assert report.imputed["not_in_c"]["missing"] == int(in_test.sum())


def test_automatic_test_sources_hold_out_about_test_size_with_benign_and_attack_rows_on_both_sides():
    stats = pd.DataFrame(
        {"benign": [500, 400, 100, 300, 0], "attack": [0, 0, 300, 200, 200]},
        index=["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
    )
    for seed in range(5):
        held = preprocess.choose_test_sources(stats, 0.2, seed)
        out = stats.loc[held].sum()
        kept = stats.drop(index=held).sum()
        assert (out > 0).all() and (kept > 0).all()
        assert abs(out.sum() / stats.to_numpy().sum() - 0.2) <= preprocess.SOURCE_SHARE_TOLERANCE + 1e-9
    assert held == preprocess.choose_test_sources(stats, 0.2, 4)  # seeded
    with pytest.raises(DataError, match="at least two capture files"):
        preprocess.choose_test_sources(stats.iloc[:1], 0.2, 0)


def test_a_class_missing_from_training_is_warned_about_not_an_error(caplog):
    df = network_flows(1200)
    df["label"] = df["label"].astype(str).where(df["source_file"] != "d.log", "Okiru")  # a family of one file
    df["label_detail"] = df["label"]
    df["is_attack"] = (df["label"] != "Benign").astype(np.int8)
    config = PrepConfig(split="source", test_sources="d.log", label_mode="multiclass", smote=True)
    with caplog.at_level(logging.WARNING):
        data, _, report = preprocess.prepare(df, config)
    okiru = data.class_names.index("Okiru")
    assert okiru not in data.y_train and (data.y_test == okiru).all()
    assert report.class_counts["train"]["Okiru"] == 0 and report.classes_absent["train"] == ["Okiru"]
    assert "no training row of ['Okiru']: a detector cannot learn" in caplog.text
    assert report.split_table().loc["train", "classes absent"] == "Okiru"


def test_capture_days_and_scenarios_name_the_sources():
    name = schema.source_name
    assert name("ml/Tuesday-WorkingHours.pcap_ISCX.csv") == name("Tuesday-WorkingHours.head10k.csv") == "Tuesday"
    assert name("Wednesday-workingHours.pcap_ISCX.csv") == "Wednesday"
    assert name("Wednesday-14-02-2018_TrafficForML_CICFlowMeter.csv") == "Wednesday-14-02-2018"
    assert name("CTU-IoT-Malware-Capture-34-1/bro/conn.log.labeled", "CTU-IoT-Malware-Capture-34-1") == (
        "CTU-IoT-Malware-Capture-34-1"
    )
    assert name("trafficlabelling/attack_extract_DDoS_1000.csv") == "trafficlabelling/attack_extract_DDoS_1000.csv"


# CICIDS2017's CICFlowMeter clock: d/m/Y h:mm, 12 hours, no AM/PM (Friday's DDoS ran 15:56-16:16: "7/7/2017 3:56")
@pytest.mark.parametrize(
    ("values", "expected", "moved"),
    [
        (["7/7/2017 9:34", "7/7/2017 1:05", "7/7/2017 3:30"], ["09:34", "13:05", "15:30"], 2),
        (["7/7/2017 8:59", "7/7/2017 12:10", "7/7/2017 7:59"], ["08:59", "12:10", "19:59"], 1),
        (["3/7/2017 8:55", "3/7/2017 11:59"], ["08:55", "11:59"], 0),  # a morning: nothing to move
        (["7/7/2017 9:34", "7/7/2017 1:05", "7/7/2017 13:30"], ["09:34", "01:05", "13:30"], 0),  # a 24-hour clock
        (["7/7/2017 0:15", "7/7/2017 1:05"], ["00:15", "01:05"], 0),  # hour 0: a 24-hour clock
        (["7/7/2017 09:34:00", "7/7/2017 01:05:00"], ["09:34", "01:05"], 0),  # with seconds (CSE-CIC-IDS2018)
        (["7/7/2017 1:05 PM", "7/7/2017 1:05 AM"], ["13:05", "01:05"], 0),  # AM/PM says it
        (["2017-07-07T01:05:00", "2017-07-07T09:34:00"], ["01:05", "09:34"], 0),  # ISO
        ([1_499_389_500, 1_499_418_300], ["01:05", "09:05"], 0),  # Zeek epoch seconds, UTC
    ],
)
def test_the_afternoon_hours_of_cicids2017s_12_hour_clock_are_read_as_such_and_no_other_clock_is_touched(
    values, expected, moved
):
    notes: list[dict] = []
    parsed, how = times.parse_times(pd.Series(values, name="Timestamp"), notes=notes, file="x.csv")
    assert pd.DatetimeIndex(parsed).strftime("%H:%M").tolist() == expected
    assert (times.TWELVE_HOUR_REPAIR in how) == (moved > 0)
    assert notes == (
        [{"file": "x.csv", "column": "Timestamp", "repair": times.TWELVE_HOUR_REPAIR, "count": moved}] if moved else []
    )
    assert pd.DatetimeIndex(parsed).strftime("%Y-%m").unique().tolist() == ["2017-07"]  # day first, dates kept


def test_the_12_hour_repair_is_counted_per_file_and_orders_the_time_split():
    df = flows(600, seed=3)
    rng = np.random.default_rng(3)
    hour = rng.choice([9, 10, 1, 2, 3], len(df))  # 09:00-10:59 then 13:00-15:59, written 12-hour
    df["Timestamp"] = [f"7/7/2017 {h}:{m:02d}" for h, m in zip(hour, rng.integers(0, 60, len(df)), strict=True)]
    df["source_file"] = pd.Categorical(np.where(np.arange(len(df)) % 2, "tl/extract_a.csv", "tl/extract_b.csv"))
    notes: list[dict] = []
    parsed, read, _ = times.times_by_file(df["Timestamp"], df["source_file"], notes)
    assert sorted(n["file"] for n in notes) == ["tl/extract_a.csv", "tl/extract_b.csv"]
    assert sum(n["count"] for n in notes) == int((hour < 8).sum()) and parsed.dt.hour.isin([9, 10, 13, 14, 15]).all()
    assert all(times.TWELVE_HOUR_REPAIR in how for how in read.values())

    data, _, report = preprocess.prepare(df, PrepConfig(split="time"))
    hours = {s: data.rows[s]["Timestamp"].str.split(" ").str[1].str.split(":").str[0] for s in data.rows}
    assert set(hours["test"]) <= {"2", "3"} and {"9", "10", "1"} <= set(hours["train"])  # 15:xx last, not 09:xx
    assert report.split["time_range"]["test"][1].startswith("2017-07-07T15:")
    assert times.TWELVE_HOUR_REPAIR in report.split["time_read_as"]
    repaired = {n["file"]: n["count"] for n in report.repairs if n["repair"] == times.TWELVE_HOUR_REPAIR}
    assert repaired == report.split["time_values_repaired"] and sum(repaired.values()) == int((hour < 8).sum())
    assert times.TWELVE_HOUR_REPAIR in set(report.repairs_table()["repair"])  # notebook 01's repairs table


def cicids_days(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """:func:`flows` as CICIDS2017 files: three day files (no Timestamp, as MachineLearningCVE), an attack extract
    of Friday afternoon and one of Thursday morning (Timestamps, as TrafficLabelling; one row of each unparseable
    or outside the capture week) and a sample without times."""
    df = flows(n, seed)
    files = np.array(
        ["ml/Monday-WorkingHours.csv", "ml/Thursday-WorkingHours.csv", "ml/Friday-WorkingHours-Afternoon.csv",
         "tl/attack_extract_PortScan.csv", "tl/attack_extract_XSS.csv", "grouped/sample_mixed_days.csv"]
    )  # fmt: skip
    df["source_file"] = pd.Categorical(files[np.arange(n) * len(files) // n])
    stamp = {"tl/attack_extract_PortScan.csv": "7/7/2017 1:05", "tl/attack_extract_XSS.csv": "6/7/2017 10:15"}
    df["Timestamp"] = df["source_file"].astype(str).map(stamp)
    first = df.groupby("source_file", observed=True).head(1).index
    df.loc[first[df.loc[first, "source_file"] == "tl/attack_extract_PortScan.csv"], "Timestamp"] = "181"
    df.loc[first[df.loc[first, "source_file"] == "tl/attack_extract_XSS.csv"], "Timestamp"] = "1/1/2016 10:00"
    return df


def test_rows_of_a_cicids2017_file_without_a_day_in_its_name_take_the_day_of_their_timestamp():
    df = cicids_days()
    sources, found = schema.capture_sources(df)
    by_file = pd.DataFrame({"file": df["source_file"].astype(str), "source": sources.astype(str), "by": found})
    counts = by_file.value_counts().to_dict()
    extract, xss = "tl/attack_extract_PortScan.csv", "tl/attack_extract_XSS.csv"
    n = df["source_file"].value_counts()
    assert counts[(extract, "Friday", "start time")] == n[extract] - 1  # 7/7/2017 -> Friday
    assert counts[(extract, extract, "own file")] == 1  # "181" (an encoded id) dates nothing: its file is its source
    assert counts[(xss, "Thursday", "start time")] == n[xss] - 1 and counts[(xss, xss, "own file")] == 1  # not 2016
    friday = "ml/Friday-WorkingHours-Afternoon.csv"
    assert counts[(friday, "Friday", "file name")] == n[friday]
    sample = "grouped/sample_mixed_days.csv"
    assert counts[(sample, sample, "own file")] == n[sample]
    assert schema.source_names(df).astype(str).tolist() == sources.astype(str).tolist()


def test_the_source_split_holds_out_a_whole_day_with_its_rows_from_extracts_and_says_which_were_dated_by_time():
    df = cicids_days()
    data, _, report = preprocess.prepare(df, PrepConfig(split="source", test_sources="Friday"))
    test_files = data.rows["test"]["source_file"].astype(str)
    extract = "tl/attack_extract_PortScan.csv"
    assert set(test_files) == {"ml/Friday-WorkingHours-Afternoon.csv", extract}
    assert (data.rows["test"]["Timestamp"].dropna() == "7/7/2017 1:05").all()
    kept = pd.concat([data.rows["train"], data.rows["val"]])
    assert not (kept["Timestamp"] == "7/7/2017 1:05").any()  # no Friday flow of the extract is trained on
    assert (kept.loc[kept["source_file"] == extract, "Timestamp"] == "181").all()  # undated: a source of its own
    info = report.split
    assert info["sources"]["test"] == ["Friday"] and "Friday" not in info["sources"]["train"] + info["sources"]["val"]
    n_dated = int((df["Timestamp"].isin(["7/7/2017 1:05", "6/7/2017 10:15"])).sum())
    assert info["rows_with_day_from_time"] == n_dated == sum(info["day_from_time"].values())
    assert set(info["day_from_time"]) == {extract, "tl/attack_extract_XSS.csv"}
    assert info["files_as_sources"] == ["grouped/sample_mixed_days.csv", extract, "tl/attack_extract_XSS.csv"]
    assert info["sources_found_by"]["test"] == {
        "file name": int((test_files != extract).sum()),
        "start time": int((test_files == extract).sum()),
    }
    by = info["sources_found_by"]["test"]
    assert report.split_table().loc["test", "sources found by"] == (
        f"file name {by['file name']:,}; start time {by['start time']:,}"
    )
    # naming an extract holds out the sources of its rows: its day, and its undated rows
    _, _, report = preprocess.prepare(df, PrepConfig(split="source", test_sources="attack_extract_XSS.csv"))
    assert report.split["test_sources"] == ["Thursday", "tl/attack_extract_XSS.csv"]


# ------------------------------------------------------------------------------------------- the mirror
def test_iot23_mirror_group_split_puts_no_host_pair_on_both_sides(mirror):
    df = datasets.load("iot23", mirror)
    data, _, report = preprocess.prepare(df, PrepConfig(split="group"))
    found = {s: pairs(data.rows[s]) for s in ("train", "val", "test")}
    assert found["train"] and found["test"] and not found["train"] & (found["val"] | found["test"])
    assert report.split["groups_shared_with_train"] == {"val": 0, "test": 0}
    assert set(data.y_train) == {0, 1}


def test_iot23_mirror_time_split_tests_on_later_flows(mirror):
    df = datasets.load("iot23", mirror)
    data, _, report = preprocess.prepare(df, PrepConfig(split="time"))
    assert data.rows["train"]["ts"].max() <= data.rows["val"]["ts"].min()
    assert data.rows["val"]["ts"].max() <= data.rows["test"]["ts"].min()
    assert report.split["sources"]["test"] != report.split["sources"]["train"]  # later scenarios held out


def test_cicids2017_mirror_source_split_holds_out_whole_days(mirror):
    df = datasets.load("cicids2017", mirror)
    config = PrepConfig(split="source", test_sources="Friday", label_mode="multiclass", sample_rows=6000)
    data, _, report = preprocess.prepare(df, config)
    rows = {s: data.rows[s] for s in ("train", "val", "test")}
    named = {s: r["source_file"].astype(str).str.contains("Friday") for s, r in rows.items()}
    dated = {s: r["Timestamp"].astype(str).str.startswith("7/7/2017 ") for s, r in rows.items()}  # Friday's date
    assert (named["test"] | dated["test"]).all() and dated["test"].any()
    assert not (named["train"] | dated["train"] | named["val"] | dated["val"]).any()  # no Friday flow trained on
    assert report.split["sources"]["test"] == ["Friday"] and "Friday" not in report.split["sources"]["train"]
    friday_files = {f for f in df["source_file"].astype(str).unique() if "Friday" in f}
    extracts = {"trafficlabelling/attack_extract_DDoS_1000.csv", "trafficlabelling/attack_extract_PortScan_1000.csv"}
    assert len(friday_files) >= 3 and set(rows["test"]["source_file"].astype(str)) <= friday_files | extracts
    assert set(report.split["day_from_time"]) == extracts | {
        "trafficlabelling/attack_extract_WebAttack_SqlInjection_21.csv",  # Thursday 6/7/2017
        "trafficlabelling/attack_extract_WebAttack_XSS_652.csv",
    }
    assert report.split["rows_with_day_from_time"] == sum(report.split["day_from_time"].values())
    assert {
        "trafficlabelling/web_attacks_balanced_7267_ids_encoded.csv",
        "grouped_label_sample/CICIDS2017_sample_6311rows_grouped_labels_no_dstport.csv",
    } <= set(report.split["files_as_sources"])  # encoded ids, no Timestamp: sources of their own


@pytest.mark.parametrize("keep", ["first", False])
def test_duplicated_is_pandas_duplicated_with_nans_categories_and_text(keep):
    rng = np.random.default_rng(5)
    n = 3000
    df = pd.DataFrame(
        {
            "a": rng.integers(0, 3, n).astype(np.float32),
            "b": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 2, n).astype(float)),
            "c": pd.Categorical(rng.choice(["tcp", "udp", None], n)),
            "d": rng.choice(["x", "y", None], n).astype(object),
            "e": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 2, n)), dtype="Int64"),
        }
    )
    df.loc[::7, "a"] = -0.0
    expected = df.duplicated(keep=keep).to_numpy()
    assert 0 < expected.sum() < n
    np.testing.assert_array_equal(preprocess.duplicated(df, list(df.columns), keep=keep), expected)


def test_duplicated_never_merges_two_rows_whose_hashes_collide(monkeypatch):
    df = pd.DataFrame({"a": [1.0, 2.0, 1.0, 3.0, 2.0], "b": ["p", "q", "p", "r", "s"]})
    monkeypatch.setattr(pd.util, "hash_array", lambda values, *args, **kwargs: np.zeros(len(values), np.uint64))
    for keep in ("first", False):
        np.testing.assert_array_equal(
            preprocess.duplicated(df, ["a", "b"], keep=keep), df.duplicated(keep=keep).to_numpy()
        )


@pytest.mark.parametrize("scaling", preprocess.SCALINGS)
def test_numeric_columns_fitted_in_blocks_give_the_one_block_result(monkeypatch, scaling):
    rng = np.random.default_rng(3)
    df = flows(800)
    for i in range(7):  # 9 numeric features: two blocks of at most 5 columns, one of them partly empty
        values = rng.lognormal(i, 2, len(df)).astype(np.float32)
        values[rng.random(len(df)) < 0.05 * i] = np.nan
        df[f"extra_{i}"] = values
    cfg = PrepConfig(label_mode="multiclass", scaling=scaling, category_columns=("extra_0",))
    monkeypatch.setattr(preprocess.features, "NUMERIC_BLOCK", 5)
    blocked, pre, _ = preprocess.prepare(df, cfg)
    assert [name for name, *_ in pre.transformers_ if name.startswith("num")] == ["num", "num_2", "num_cat"]
    monkeypatch.setattr(preprocess.features, "NUMERIC_BLOCK", 1000)
    whole, _, _ = preprocess.prepare(df, cfg)
    assert blocked.feature_names == whole.feature_names
    for split in ("train", "val", "test"):
        assert np.array_equal(blocked.split(split)[0], whole.split(split)[0])  # bit for bit
    # the training matrix kept from the fit is what the fitted preprocessor gives for those rows
    train_rows = raw_rows(df, blocked, "train").reset_index()[df.columns]
    assert np.array_equal(pre.transform(train_rows[list(pre.feature_names_in_)]), blocked.X_train)
