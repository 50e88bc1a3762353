"""lib/figures.py: every figure function writes a non-empty PNG, and the same figure twice gives the same bytes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lib import figures  # noqa: E402

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
    return {
        "fig01": lambda: figures.botnet_lifecycle(flows, "capture"),
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
