"""Every figure of paper 1 (and paper 2's SMOTE comparison), drawn from data (``06_results_and_figures.ipynb``).

One :func:`save_fig` writes every figure: PNG, 300 dpi, no varying metadata, so the same input gives the
same bytes. The palette is Okabe-Ito (colour-blind safe); lines also differ by style, so figures stay
readable when printed in grey. The functions take arrays and tables and return a ``matplotlib`` figure;
none of them trains a model or imports TensorFlow (the architecture figure reads an already built Keras
model's layers through duck typing).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve
from sklearn.preprocessing import label_binarize

from lib.session import FIGURES_DIR

# Okabe & Ito (2008), the usual colour-blind-safe qualitative palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1)), "-"]
DPI = 300


def apply_style() -> None:
    """Set the plot style once (called by the notebooks' setup cell)."""
    plt.rcParams.update(
        {
            "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 9,
            "axes.titlesize": 10,
            "legend.fontsize": 8,
            "figure.dpi": 100,
            "savefig.dpi": DPI,
        }
    )


def write_png(fig: plt.Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG to ``path`` at 300 dpi with no varying metadata (same figure, same bytes)."""
    fig.savefig(path, dpi=DPI, format="png", bbox_inches="tight", metadata={"Software": None})
    return Path(path)


def save_fig(fig: plt.Figure, name: str, folder: str | Path = FIGURES_DIR) -> Path:
    """The one way a paper figure is saved: ``folder/name.png`` through :func:`write_png`; return the path.

    Figures of one run only (not paper figures) go through ``lib.run.Stage.save_fig``, which calls
    :func:`write_png` too.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return write_png(fig, folder / f"{name}.png")


# ------------------------------------------------------------------------------------------- data overview
def class_counts(labels: pd.Series, title: str) -> plt.Figure:
    """Flows per class, log scale (notebook 01)."""
    counts = labels.astype(str).value_counts().sort_values()
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(counts) + 1.2))
    ax.barh(counts.index, counts.to_numpy(), color=PALETTE[0])
    ax.set_xscale("log")
    ax.set_xlabel("flows (log scale)")
    ax.set_title(title)
    return fig


# ------------------------------------------------------------------------------------------------ Fig. 1
def botnet_lifecycle(flows: pd.DataFrame, title: str, bin_minutes: int = 30) -> plt.Figure:
    """Fig. 1, made data-driven: flows per time bin by detailed label for one capture (Zeek ``ts``)."""
    ts = pd.to_datetime(flows["ts"].to_numpy(dtype=np.float64), unit="s", utc=True)
    frame = pd.DataFrame({"time": ts, "label": flows["label_detail"].astype(str).to_numpy()})
    frame["bin"] = frame["time"].dt.floor(f"{bin_minutes}min")
    counts = frame.groupby(["bin", "label"]).size().unstack(fill_value=0).sort_index()
    order = counts.sum().sort_values(ascending=False).index
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for i, label in enumerate(order):
        ax.plot(counts.index, counts[label].replace(0, np.nan), label=f"{label} ({int(counts[label].sum()):,})",
                color=PALETTE[i % len(PALETTE)], linestyle=LINESTYLES[i % len(LINESTYLES)], lw=1,
                marker="osD^vP*X"[i % 8], markersize=4)  # fmt: skip
    ax.set_yscale("log")
    ax.set_ylabel(f"flows per {bin_minutes} min (log)")
    ax.set_xlabel("capture time (UTC)")
    ax.set_title(title)
    ax.legend(title="detailed label (flows)", loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.autofmt_xdate()
    return fig


# -------------------------------------------------------------------------------------------- Figs. 2, 3
def _box(ax, xy, w, h, text, color, fontsize=8):
    ax.add_patch(FancyBboxPatch(xy, w, h, boxstyle="round,pad=0.02", fc=color, ec="black", lw=0.8, alpha=0.9))
    ax.text(xy[0] + w / 2, xy[1] + h / 2, text, ha="center", va="center", fontsize=fontsize, wrap=True)


def _arrow(ax, start, end):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1, color="black"))


def architecture_overview(
    prep: Mapping[str, Any], model_layers: Sequence[str], fusion: str, anomaly: str, dataset: str
) -> plt.Figure:
    """Fig. 2: preprocessing -> hybrid deep model -> decision fusion, with the anomaly branch.

    ``prep`` is notebook 01's report (``meta.json``), ``model_layers`` the Keras layer names of the
    CNN-LSTM actually trained, ``fusion`` and ``anomaly`` one-line descriptions of the fitted stages.
    """
    fig, ax = plt.subplots(figsize=(10, 4.4))
    ax.set_xlim(0, 12.4)
    ax.set_ylim(0, 4.6)
    ax.axis("off")
    n_in = len(prep.get("feature_names", []))
    report = prep.get("report", {})
    numeric, categorical = report.get("numeric_columns", []), report.get("categorical_columns", [])
    one_hot = textwrap.fill(", ".join(categorical), 22) if categorical else "none"
    boxes = [
        ((0.1, 2.0), 2.0, f"{dataset} flows\n{report.get('rows_loaded', 0):,} read\n{report.get('rows_after_dedup', 0):,} after dedup", PALETTE[5]),
        ((2.5, 2.0), 2.6, f"Preprocessing\n{len(numeric)} numeric: median, min-max\n{len(categorical)} one-hot:\n{one_hot}\n-> {n_in} model inputs", PALETTE[6]),
        ((5.5, 2.0), 2.2, "Hybrid deep model\n" + "\n".join(model_layers[1:7]), PALETTE[0] + "66"),
        ((8.1, 2.0), 2.3, "Decision fusion\n" + textwrap.fill(fusion, 24), PALETTE[1] + "88"),
    ]  # fmt: skip
    for xy, w, text, color in boxes:
        _box(ax, xy, w, 2.2, text, color)
    _box(ax, (10.8, 2.6), 1.5, 1.0, "benign /\nattack", "#dddddd")
    _box(
        ax,
        (5.5, 0.2),
        4.9,
        1.2,
        "Anomaly branch (trained on benign flows only)\n" + textwrap.fill(anomaly, 60),
        PALETTE[2] + "66",
    )
    for start, end in [((2.1, 3.1), (2.5, 3.1)), ((5.1, 3.1), (5.5, 3.1)), ((7.7, 3.1), (8.1, 3.1)),
                       ((10.4, 3.1), (10.8, 3.1)), ((3.8, 2.0), (5.5, 0.8)), ((10.4, 0.8), (11.55, 2.6))]:  # fmt: skip
        _arrow(ax, start, end)
    ax.text(11.4, 1.5, "OR", fontsize=9, ha="center", weight="bold")
    ax.set_title("Architecture overview, drawn from the fitted pipeline (paper 1, Fig. 2)")
    return fig


def model_diagram(model: Any, title: str) -> plt.Figure:
    """Fig. 3: the layers of a built Keras model, top to bottom, with their output shapes and parameters."""
    layers = list(model.layers)
    fig, ax = plt.subplots(figsize=(4.8, 0.55 * len(layers) + 0.8))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, len(layers))
    ax.axis("off")
    for i, layer in enumerate(layers):
        y = len(layers) - i - 1
        shape = tuple(getattr(layer, "output", None).shape) if hasattr(layer, "output") else ()
        kind = type(layer).__name__
        color = {"Conv1D": PALETTE[0], "MaxPooling1D": PALETTE[5], "LSTM": PALETTE[2], "Dense": PALETTE[1]}.get(
            kind, "#cccccc"
        )
        params = layer.count_params() if hasattr(layer, "count_params") and layer.built else 0
        _box(
            ax,
            (0.5, y + 0.12),
            9.0,
            0.72,
            f"{layer.name} ({kind})  output {shape[1:]}  params {params:,}",
            color + "88",
        )
        if i:
            _arrow(ax, (5, y + 1.12), (5, y + 0.84))
    ax.set_title(title)
    return fig


# ---------------------------------------------------------------------------------------------- Fig. 4
def confusion_matrices(cm: np.ndarray, class_names: Sequence[str], title: str) -> plt.Figure:
    """Fig. 4: the confusion matrix as counts and row-normalised (recall per true class)."""
    cm = np.asarray(cm, dtype=np.int64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)
    size = 2.2 + 0.45 * len(class_names)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for ax, values, fmt, label in [(axes[0], cm, "{:,}", "flows"), (axes[1], norm, "{:.2f}", "share of true class")]:
        image = ax.imshow(values, cmap="Blues")
        ax.grid(False)
        ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
        ax.set_yticks(range(len(class_names)), class_names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(label)
        high = values.max() / 2 if values.max() else 1
        for (r, c), v in np.ndenumerate(values):
            ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=7, color="white" if v > high else "black")
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------ Figs. 5, 6
def _positive_scores(y_true: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Binary: attack (class 1) is positive. Multi-class: micro-average over one-vs-rest indicators."""
    proba = np.asarray(proba)
    if proba.shape[1] == 2:
        return (np.asarray(y_true) == 1).astype(int), proba[:, 1], "attack = positive"
    onehot = label_binarize(y_true, classes=np.arange(proba.shape[1]))
    return onehot.ravel(), proba.ravel(), "one-vs-rest, micro-averaged over classes"


def roc_curves(y_true: np.ndarray, probas: Mapping[str, np.ndarray], title: str) -> plt.Figure:
    """Fig. 5: ROC curve of every model, AUC in the legend."""
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    note = ""
    for i, (name, proba) in enumerate(probas.items()):
        truth, score, note = _positive_scores(y_true, proba)
        fpr, tpr, _ = roc_curve(truth, score)
        ax.plot(fpr, tpr, color=PALETTE[i % 8], linestyle=LINESTYLES[i % 8], label=f"{name} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, linestyle=":", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"{title}\n({note})")
    ax.legend(loc="lower right")
    return fig


def pr_curves(y_true: np.ndarray, probas: Mapping[str, np.ndarray], title: str) -> plt.Figure:
    """Fig. 6: precision-recall curve of every model, average precision in the legend, prevalence baseline."""
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    note, prevalence = "", 0.0
    for i, (name, proba) in enumerate(probas.items()):
        truth, score, note = _positive_scores(y_true, proba)
        precision, recall, _ = precision_recall_curve(truth, score)
        ap = average_precision_score(truth, score)
        ax.step(
            recall,
            precision,
            where="post",
            color=PALETTE[i % 8],
            linestyle=LINESTYLES[i % 8],
            label=f"{name} (AP {ap:.3f})",
        )
        prevalence = truth.mean()
    ax.axhline(prevalence, color="grey", lw=0.8, linestyle=":", label=f"prevalence {prevalence:.3f}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{title}\n({note})")
    ax.legend(loc="lower left")
    return fig


# ---------------------------------------------------------------------------------------------- Fig. 7
def source_feature(name: str, originals: Sequence[str]) -> str:
    """The original column behind a model input (``proto_tcp`` -> ``proto``)."""
    if name in originals:
        return name
    matches = [o for o in originals if name.startswith(f"{o}_")]
    return max(matches, key=len) if matches else name


def group_importances(values: np.ndarray, feature_names: Sequence[str], originals: Sequence[str]) -> pd.Series:
    """Sum input-level importances back to the original columns (one-hot columns add up)."""
    keys = [source_feature(n, originals) for n in feature_names]
    return pd.Series(np.asarray(values, dtype=np.float64), index=keys).groupby(level=0).sum()


def permutation_importance_grouped(
    score_fn, X: np.ndarray, y: np.ndarray, feature_names: Sequence[str], originals: Sequence[str],
    seed: int, n_repeats: int = 3,
) -> pd.Series:  # fmt: skip
    """Drop of ``score_fn(X, y)`` when all model inputs of one original column are shuffled together."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(feature_names):
        groups.setdefault(source_feature(name, originals), []).append(i)
    base = score_fn(X, y)
    drops = {}
    for group, cols in groups.items():
        losses = []
        for _ in range(n_repeats):
            shuffled = X.copy()
            shuffled[:, cols] = X[rng.permutation(len(X))][:, cols]
            losses.append(base - score_fn(shuffled, y))
        drops[group] = float(np.mean(losses))
    return pd.Series(drops)


def feature_importance(table: pd.DataFrame, title: str, top: int = 12) -> plt.Figure:
    """Fig. 7: importance per original feature (columns = methods), each method scaled to its maximum."""
    scaled = table.clip(lower=0) / table.clip(lower=0).max().replace(0, 1)
    order = scaled.mean(axis=1).sort_values(ascending=False).index[:top][::-1]
    fig, ax = plt.subplots(figsize=(6.4, 0.32 * len(order) + 1.2))
    height = 0.8 / len(scaled.columns)
    for i, method in enumerate(scaled.columns):
        ax.barh(np.arange(len(order)) + i * height, scaled.loc[order, method], height=height,
                color=PALETTE[i % 8], hatch=["", "//", "..", "xx"][i % 4], label=method)  # fmt: skip
    ax.set_yticks(np.arange(len(order)) + height * (len(scaled.columns) - 1) / 2, order)
    ax.set_xlabel("importance (scaled to the method's maximum)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig


# ---------------------------------------------------------------------------------------- Figs. 8, 8b
def training_curves(
    histories: Mapping[str, Mapping[str, Sequence[float]]], title: str, keys: Sequence[str] = ("accuracy", "loss")
) -> plt.Figure:
    """Fig. 8: training and validation accuracy and loss per epoch, one line pair per model.

    A marker on each validation curve shows the epoch with the lowest validation loss, the one early stopping
    restored (where a validation loss that turns upward while the training loss falls means overfitting).
    """
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    axes = axes[0]
    for i, (name, history) in enumerate(histories.items()):
        epochs = np.arange(1, len(history["loss"]) + 1)
        best = int(np.argmin(history["val_loss"]))
        for ax, key in zip(axes, keys, strict=True):
            if key not in history:
                continue
            ax.plot(epochs, history[key], color=PALETTE[i % 8], linestyle="-", label=f"{name} train")
            ax.plot(epochs, history[f"val_{key}"], color=PALETTE[i % 8], linestyle="--", label=f"{name} validation")
            ax.plot(epochs[best], history[f"val_{key}"][best], "o", color=PALETTE[i % 8], markersize=5)
    for ax, key in zip(axes, keys, strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def model_comparison(summary: pd.DataFrame, paper: pd.DataFrame, title: str) -> plt.Figure:
    """Fig. 8b: accuracy, precision, recall, F1 per model (mean, error bar = std over seeds) beside the paper.

    ``summary``: columns model, metric (Table 1 names), mean, std in percent. ``paper``: Table 1 of the paper
    (Model + the same metric columns); its values are drawn as black diamonds.
    """
    metrics = ["Accuracy", "Precision", "Recall", "F1-Score"]
    models = list(dict.fromkeys(summary["model"]))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(models)
    x = np.arange(len(metrics))
    paper = paper.set_index("Model")
    for i, model in enumerate(models):
        rows = summary[summary["model"] == model].set_index("metric").reindex(metrics)
        pos = x + (i - (len(models) - 1) / 2) * width
        ax.bar(pos, rows["mean"], width, yerr=rows["std"].fillna(0), capsize=2, color=PALETTE[i % 8],
               hatch=["", "//", "..", "xx", "\\\\", "--"][i % 6], label=model, edgecolor="black", lw=0.4)  # fmt: skip
        if model in paper.index:
            ax.scatter(pos, paper.loc[model, metrics], marker="D", color="black", s=14, zorder=3,
                       label="paper 1, Table 1" if i == 0 or "paper 1, Table 1" not in ax.get_legend_handles_labels()[1] else None)  # fmt: skip
    ax.set_xticks(x, metrics)
    ax.set_ylabel("%")
    low = np.nanmin(np.r_[summary["mean"].to_numpy(dtype=float), paper[metrics].to_numpy(dtype=float).ravel()])
    ax.set_ylim(max(0, low - 10), 100.5)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def zero_day_recall(summary: pd.DataFrame, detector: str, title: str) -> plt.Figure:
    """Recall per held-out family: supervised fusion, ``detector`` alone and their OR (mean over seeds, std bars).

    ``summary`` is :func:`lib.metrics.zero_day_summary` of notebook 05's zero-day table (stage ``anomaly``):
    one row per family, columns ``recall_supervised_mean``, ``recall_<detector>_mean``, ``recall_or_<detector>_mean``
    (and ``_std``).
    """
    bars = [
        ("recall_supervised", "supervised fusion"),
        (f"recall_{detector}", f"{detector.replace('_', ' ')} alone"),
        (f"recall_or_{detector}", "OR of both"),
    ]
    families = list(summary["family"])
    x = np.arange(len(families))
    width = 0.8 / len(bars)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(families) + 2), 3.6))
    for i, (column, label) in enumerate(bars):
        std = summary[f"{column}_std"].fillna(0).to_numpy() if f"{column}_std" in summary else None
        ax.bar(x + (i - 1) * width, summary[f"{column}_mean"], width, yerr=std, capsize=2, color=PALETTE[i],
               hatch=["", "//", ".."][i], edgecolor="black", linewidth=0.4, label=label)  # fmt: skip
    ax.set_xticks(x, families, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("recall on the held-out family")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig
