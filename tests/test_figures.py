"""lib/figures.py: every figure function writes a non-empty PNG, and the same figure twice gives the same bytes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lib import figures  # noqa: E402
from lib.datasets import times as flow_time  # noqa: E402

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 2, 300)
P = np.clip(Y * 0.6 + RNG.random(300) * 0.5, 0, 1)
BINARY = {"A": np.c_[1 - P, P], "B": np.c_[P[::-1], 1 - P[::-1]]}
Y3 = RNG.integers(0, 3, 300)
MULTI = {"A": RNG.dirichlet(np.ones(3), 300)}
ZERO_DAY = pd.DataFrame(
    {
        "family": ["C&C", "DDoS"],
        "recall_supervised_mean": [0.2, 0.9],
        "recall_autoencoder_mean": [0.7, 0.5],
        "recall_or_autoencoder_mean": [0.8, 0.95],
        "recall_supervised_std": [0.1, np.nan],
    }
)


class _Layer:
    def __init__(self, name, shape, params):
        self.name, self.output, self._params, self.built = name, type("T", (), {"shape": shape})(), params, True

    def count_params(self):
        return self._params


class _Model:
    layers = [
        _Layer("flow_features", (None, 58, 1), 0),
        _Layer("conv1d_1", (None, 58, 64), 256),
        _Layer("lstm", (None, 64), 33024),
    ]


def _makers():
    flows = pd.DataFrame(
        {
            "ts": 1.5e9 + np.sort(RNG.uniform(0, 86400, 500)),
            "label_detail": RNG.choice(["Benign", "C&C", "DDoS"], 500),
        }
    )
    meta = {
        "feature_names": ["a", "b"],
        "report": {"numeric_columns": ["a"], "categorical_columns": ["proto"], "rows_loaded": 9, "rows_after_dedup": 5},
    }
    importance = pd.DataFrame({"RF": [0.5, 0.3, 0.2], "perm": [0.1, 0.0, 0.4]}, index=["duration", "proto", "bytes"])
    history = {"loss": [0.6, 0.4], "val_loss": [0.7, 0.5], "accuracy": [0.7, 0.8], "val_accuracy": [0.6, 0.7]}
    summary = pd.DataFrame(
        [{"model": m, "metric": k, "mean": 90.0 + i, "std": 1.0} for i, m in enumerate(["Random Forest", "CNN-LSTM Hybrid"])
         for k in ["Accuracy", "Precision", "Recall", "F1-Score"]]
    )  # fmt: skip
    paper = pd.DataFrame(
        [{"Model": "Random Forest", "Accuracy": 89.5, "Precision": 87.2, "Recall": 85.4, "F1-Score": 86.3}]
    )
    cic = pd.Series([f"{d}/7/2017 {h}:{m:02d}" for d in (3, 4) for h in (9, 10) for m in range(0, 60, 7)])
    summary_macro = pd.concat([summary, summary[summary["metric"] == "F1-Score"].assign(metric="Macro F1", mean=60.0)])
    return {
        "fig01": lambda: figures.botnet_lifecycle(flows, "capture"),
        "fig01_text_clock": lambda: figures.flows_over_time(
            flow_time.parse_times(cic.rename("Timestamp"))[0], np.resize(["Benign", "DoS"], len(cic)), "rows"
        ),
        "fig02": lambda: figures.architecture_overview(
            meta, ["in", "conv1d_1", "lstm"], "XGBoost", "autoencoder", "iot23"
        ),
        "fig03": lambda: figures.model_diagram(_Model(), "layers"),
        "fig04": lambda: figures.confusion_matrices(np.array([[50, 3], [4, 40]]), ["Benign", "Attack"], "cm"),
        "fig05": lambda: figures.roc_curves(Y, BINARY, "roc"),
        "fig05_multiclass": lambda: figures.roc_curves(Y3, MULTI, "roc"),
        "fig06": lambda: figures.pr_curves(Y, BINARY, "pr"),
        "fig07": lambda: figures.feature_importance(importance, "importance"),
        "fig08": lambda: figures.training_curves({"CNN-LSTM": history}, "curves"),
        "fig08b": lambda: figures.model_comparison(summary, paper, "comparison"),
        "fig08b_no_paper": lambda: figures.model_comparison(summary_macro, None, "comparison"),
        "zero_day": lambda: figures.zero_day_recall(ZERO_DAY, "autoencoder", "zd"),
    }


@pytest.mark.parametrize("name", sorted(_makers()))
def test_figure_is_written_and_deterministic(tmp_path, name):
    make = _makers()[name]
    figures.apply_style()
    first = figures.save_fig(make(), name, tmp_path / "one")
    second = figures.save_fig(make(), name, tmp_path / "two")
    plt.close("all")
    assert first.stat().st_size > 5_000
    assert first.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert first.read_bytes() == second.read_bytes(), "same input must give identical bytes"


def test_png_has_no_software_or_date_metadata(tmp_path):
    path = figures.save_fig(_makers()["fig04"](), "cm", tmp_path)
    plt.close("all")
    head = path.read_bytes()[:2000]
    assert b"Software" not in head and b"matplotlib" not in head.lower()


def test_one_hot_columns_group_back_to_their_feature():
    names = ["duration", "proto_tcp", "proto_udp", "conn_state_S0", "conn_state_infrequent_sklearn"]
    grouped = figures.group_importances(
        np.array([0.1, 0.2, 0.3, 0.25, 0.15]), names, ["duration", "proto", "conn_state"]
    )
    assert grouped.to_dict() == pytest.approx({"duration": 0.1, "proto": 0.5, "conn_state": 0.4})


def test_permutation_importance_finds_the_informative_feature():
    X = RNG.random((400, 3))
    y = (X[:, 1] > 0.5).astype(int)

    def score(Xs, ys):
        return float(((Xs[:, 1] > 0.5).astype(int) == ys).mean())

    drops = figures.permutation_importance_grouped(score, X, y, ["a", "b_x", "c"], ["a", "b", "c"], seed=0)
    assert drops.idxmax() == "b" and drops["b"] > 0.3 and abs(drops["a"]) < 1e-12


def test_zero_day_figure_has_three_bars_per_family():
    fig = figures.zero_day_recall(ZERO_DAY, "autoencoder", "test")
    assert len(fig.axes[0].patches) == 6
    plt.close(fig)


def test_zero_day_summary_means_over_seeds():
    from lib import metrics

    runs = pd.DataFrame({"family": ["C&C", "C&C", "DDoS"], "seed": [1, 2, 1], "recall_supervised": [0.2, 0.4, 0.9]})
    summary = metrics.zero_day_summary(runs).set_index("family")
    assert summary.loc["C&C", "recall_supervised_mean"] == pytest.approx(0.3)
    assert np.isnan(summary.loc["DDoS", "recall_supervised_std"])


# ------------------------------------------------------------------------------------------------ Fig. 1's times
@pytest.mark.parametrize(
    ("column", "values", "first", "how"),
    [
        ("ts", [1545403816.962094, 1545403824.18], "2018-12-21 14:50:16.962094+00:00", "epoch s, UTC"),  # Zeek
        ("stime", [1528089598.85, 1528089600.1], "2018-06-04 05:19:58.850000+00:00", "epoch s, UTC"),  # Argus, BoT-IoT
        ("Stime", [1421927414, 1421927415], "2015-01-22 11:50:14+00:00", "epoch s, UTC"),  # UNSW-NB15
        ("ts", [1554198358, 1554198361], "2019-04-02 09:45:58+00:00", "epoch s, UTC"),  # TON_IoT
        ("Timestamp", ["14/02/2018 08:31:01", "14/02/2018 08:33:50"], "2018-02-14 08:31:01", "%d/%m/%Y %H:%M:%S"),
        ("Timestamp", ["7/7/2017 8:59", "3/7/2017 12:01"], "2017-07-07 08:59:00", "%d/%m/%Y %H:%M"),  # CICIDS2017
        ("Timestamp", ["7/13/2017 8:59", "7/7/2017 9:00"], "2017-07-13 08:59:00", "%m/%d/%Y %H:%M"),  # month first
        ("start_time", ["2019-04-25 19:20:46", "2019-04-25T19:21:00"], "2019-04-25 19:20:46", "ISO8601"),
        ("time", [1545403816962, 1545403824180], "2018-12-21 14:50:16.962000+00:00", "epoch ms, UTC"),
    ],
)
def test_time_columns_of_the_usual_flow_formats_are_found_and_parsed(column, values, first, how):
    rows = pd.DataFrame({"srcip": ["10.0.0.1", "10.0.0.2"], column: values, "label": ["Benign", "Attack"]})
    found = flow_time.flow_times(rows)
    assert found.column == column and how in found.how
    assert abs(found.times.iloc[0] - pd.Timestamp(first)) < pd.Timedelta("1ms") and found.times.notna().all()


def test_no_time_column_is_a_reason_naming_the_columns():
    found = flow_time.flow_times(pd.DataFrame({"srcip": ["a"], "ltime": [1.5e9], "label": ["Benign"]}))
    assert found.column is None and found.times is None  # ltime is a flow's end, not its start
    assert found.how.startswith(
        "no time column among the run's row columns ['srcip', 'ltime', 'label'] (looked for ts,"
    )


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([0.5, 1.2, 3.0], "'time' holds numbers that are not epoch times (median 1.2)"),  # a duration, not a time
        (["morning", "noon", "night"], "'time' holds text no known time format parses (e.g. 'morning', 'noon'"),
    ],
)
def test_a_time_column_that_does_not_parse_is_a_reason(values, reason):
    found = flow_time.flow_times(pd.DataFrame({"time": values}))
    assert found.times is None and found.how.startswith("no time column of the run's rows parses: " + reason)


def test_a_column_mixing_encoded_ids_and_times_is_read_the_way_most_values_parse():
    mostly_ids = pd.Series(["181", "14/02/2018 08:31:01", "182"], name="Timestamp")
    assert flow_time.parse_times(mostly_ids) == (
        None,
        "only 1 of the 3 values of 'Timestamp' parse as times (text as %d/%m/%Y %H:%M:%S, clock as recorded, no time "
        "zone; others: '181', '182')",
    )
    times, how = flow_time.parse_times(pd.Series(["181", "14/02/2018 08:31:01", "14/02/2018 08:32:01"], name="t"))
    assert how == "'t' (text as %d/%m/%Y %H:%M:%S, clock as recorded, no time zone)"
    assert times.isna().tolist() == [True, False, False]


def test_bins_follow_the_span_of_the_capture():
    times = pd.Series(pd.to_datetime([0, 3600 * 24 * 5], unit="s", utc=True))
    assert figures.auto_bin_minutes(times) == 60  # five days: hourly bins (120 of them)
    assert figures.auto_bin_minutes(pd.Series(pd.to_datetime([0, 600], unit="s"))) == 1


def test_a_figure_this_run_cannot_draw_is_removed_not_left_from_an_earlier_run(tmp_path):
    figures.save_fig(_makers()["fig04"](), "fig09_zero_day_recall", tmp_path)
    plt.close("all")
    assert figures.remove_fig("fig09_zero_day_recall", tmp_path)
    assert not (tmp_path / "fig09_zero_day_recall.png").exists()
    assert not figures.remove_fig("fig09_zero_day_recall", tmp_path)


def test_model_comparison_draws_the_paper_only_where_it_reports():
    summary = pd.DataFrame(
        [{"model": "CNN-LSTM Hybrid", "metric": k, "mean": 90.0, "std": np.nan} for k in ["Accuracy", "Macro F1"]]
    )
    paper = pd.DataFrame(
        [{"Model": "CNN-LSTM Hybrid", "Accuracy": 96.5, "Precision": 94.8, "Recall": 95.1, "F1-Score": 95.0}]
    )
    with_paper = figures.model_comparison(summary, paper, "t").axes[0]
    assert "paper 1, Table 1" in with_paper.get_legend_handles_labels()[1]
    assert [c for c in with_paper.collections if type(c).__name__ == "PathCollection"]  # the diamonds
    assert [t.get_text() for t in with_paper.get_xticklabels()][-1] == "Macro F1"
    without = figures.model_comparison(summary, paper.iloc[:0], "t").axes[0]
    assert "paper 1, Table 1" not in without.get_legend_handles_labels()[1]
    assert not [c for c in without.collections if type(c).__name__ == "PathCollection"]  # no diamonds
    assert "paper 1: no numbers\nfor this data" in without.get_legend_handles_labels()[1]
    plt.close("all")
