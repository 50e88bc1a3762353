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
from functools import partial
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

from lib import io, metrics
from lib.paths import FIGURES_DIR

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
    """The one way a figure is saved: ``folder/name.png`` through :func:`write_png`, atomically; return the path.

    Paper figures go to ``figures/<run name>/`` (notebook 06, through the report's writer); figures of one run
    only to its stage's ``figures`` folder (``figures.save_fig(fig, name, stage.folder("figures"))``).
    """
    return io.atomic_write(Path(folder) / f"{name}.png", partial(write_png, fig))


def remove_fig(name: str, folder: str | Path = FIGURES_DIR) -> bool:
    """Remove ``folder/name.png`` when this run cannot draw that figure, so that the folder never shows one left
    by an earlier run of the same name; return whether there was one."""
    path = Path(folder) / f"{name}.png"
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


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
BIN_MINUTES = (1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 43200)


def _bin_label(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} day" + ("s" if minutes > 1440 else "")
    return f"{minutes // 60} h" if minutes % 60 == 0 and minutes >= 120 else f"{minutes} min"


def auto_bin_minutes(times: pd.Series, max_bins: int = 150) -> int:
    """The smallest of :data:`BIN_MINUTES` that splits the span of ``times`` into at most ``max_bins`` bins."""
    span = (times.max() - times.min()) / pd.Timedelta(minutes=1) if times.notna().any() else 0.0
    return next((b for b in BIN_MINUTES if span / b <= max_bins), BIN_MINUTES[-1])


def flows_over_time(
    times: pd.Series,
    labels: pd.Series,
    title: str,
    bin_minutes: int | None = None,
    legend_title: str = "label (flows)",
) -> plt.Figure:
    """Fig. 1, made data-driven: flows per time bin by label (log scale), one line per label, most flows first.

    ``times`` as from :func:`lib.datasets.times.parse_times` (UTC or a clock without time zone; NaT rows are left out),
    ``labels`` aligned with them; ``bin_minutes`` defaults to :func:`auto_bin_minutes`.
    """
    times = pd.Series(pd.DatetimeIndex(times), name="time")
    frame = pd.DataFrame({"time": times, "label": np.asarray(labels).astype(str)}).dropna(subset=["time"])
    bin_minutes = bin_minutes or auto_bin_minutes(frame["time"])
    frame["bin"] = frame["time"].dt.floor(f"{bin_minutes}min")
    counts = frame.groupby(["bin", "label"]).size().unstack(fill_value=0).sort_index()
    every_bin = pd.date_range(counts.index.min(), counts.index.max(), freq=f"{bin_minutes}min")
    if len(every_bin) <= 10_000:  # empty bins as gaps: a line must not bridge hours (or months) without flows
        counts = counts.reindex(every_bin, fill_value=0)
    order = counts.sum().sort_values(ascending=False).index
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for i, label in enumerate(order):
        ax.plot(counts.index, counts[label].replace(0, np.nan), label=f"{label} ({int(counts[label].sum()):,})",
                color=PALETTE[i % len(PALETTE)], linestyle=LINESTYLES[i % len(LINESTYLES)], lw=1,
                marker="osD^vP*X"[i % 8], markersize=4)  # fmt: skip
    ax.set_yscale("log")
    ax.set_ylabel(f"flows per {_bin_label(bin_minutes)} (log)")
    ax.set_xlabel("capture time (UTC)" if frame["time"].dt.tz is not None else "time as recorded (no time zone)")
    ax.set_title(title)
    ax.legend(title=legend_title, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.autofmt_xdate()
    return fig


def botnet_lifecycle(flows: pd.DataFrame, title: str, bin_minutes: int = 30) -> plt.Figure:
    """Fig. 1 for one IoT-23 capture: flows per time bin by detailed label (Zeek ``ts``, epoch seconds)."""
    ts = pd.to_datetime(flows["ts"].to_numpy(dtype=np.float64), unit="s", utc=True)
    return flows_over_time(
        pd.Series(ts), flows["label_detail"], title, bin_minutes, legend_title="detailed label (flows)"
    )


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
    CNN-LSTM actually trained, ``fusion`` and ``anomaly`` one-line descriptions of the fitted stages,
    ``dataset`` the name the input box shows (the run's name).
    """
    fig, ax = plt.subplots(figsize=(10, 4.4))
    ax.set_xlim(0, 12.4)
    ax.set_ylim(0, 4.6)
    ax.axis("off")
    n_in = len(prep.get("feature_names", []))
    report = prep.get("report", {})
    numeric, categorical = report.get("numeric_columns", []), report.get("categorical_columns", [])
    one_hot = textwrap.fill(", ".join(categorical), 22) if categorical else "none"
    scaling = {"minmax": "min-max", "log_minmax": "log1p, min-max", "log_standard": "log1p, standard"}.get(
        prep.get("config", {}).get("scaling", "minmax"), prep.get("config", {}).get("scaling", "minmax")
    )
    boxes = [
        ((0.1, 2.0), 2.0, f"{dataset} flows\n{report.get('rows_loaded', 0):,} read\n{report.get('rows_after_dedup', 0):,} after dedup", PALETTE[5]),
        ((2.5, 2.0), 2.6, f"Preprocessing\n{len(numeric)} numeric: median, {scaling}\n{len(categorical)} one-hot:\n{one_hot}\n-> {n_in} model inputs", PALETTE[6]),
        ((5.5, 2.0), 2.2, "Hybrid deep model\n" + "\n".join(model_layers[1:7]), PALETTE[0] + "66"),
        ((8.1, 2.0), 2.3, "Decision fusion\n" + textwrap.fill(fusion, 24), PALETTE[1] + "88"),
    ]  # fmt: skip
    for xy, w, text, color in boxes:
        _box(ax, xy, w, 2.2, text, color)
    classes = list(prep.get("class_names", []))
    decision = (
        "benign /\nattack"
        if len(classes) <= 2
        else f"{len(classes)} classes:\n" + textwrap.fill(", ".join(classes), 14)
    )
    _box(ax, (10.8, 2.6), 1.5, 1.0, decision, "#dddddd", fontsize=8 if len(classes) <= 2 else 6)
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


def roc_curves(y_true: np.ndarray, probas: Mapping[str, np.ndarray], title: str, min_fpr: float = 1e-4) -> plt.Figure:
    """Fig. 5: ROC curve of every model, attack against benign (score ``1 - P(Benign)``, any label mode), with
    the false-positive rate on a log axis from ``min_fpr`` to 1: a detector is used at 0.1 % or 1 % FPR, the
    part of the curve a linear axis squeezes into its first pixels. Dotted lines mark those two rates; the
    legend gives the AUC."""
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    benign = np.asarray(y_true) == 0
    for i, (name, proba) in enumerate(probas.items()):
        fpr, tpr, _ = roc_curve(~benign, metrics.attack_score(proba))
        ax.step(
            np.maximum(fpr, min_fpr), tpr, where="post", color=PALETTE[i % 8], linestyle=LINESTYLES[i % 8],
            label=f"{name} (AUC {auc(fpr, tpr):.3f})",
        )  # fmt: skip
    grid = np.logspace(np.log10(min_fpr), 0, 50)
    ax.plot(grid, grid, color="grey", lw=0.8, linestyle=":", label="chance")
    for rate in metrics.OPERATING_FPRS:
        ax.axvline(rate, color="grey", lw=0.6, linestyle="--")
    ax.set_xscale("log")
    ax.set_xlim(min_fpr, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"false positive rate (log; {int(benign.sum()):,} benign test rows)")
    ax.set_ylabel("detection rate (true positive rate)")
    ax.set_title(f"{title}\n(attack vs benign: 1 - P(Benign))")
    ax.legend(loc="lower right", fontsize=7)
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


def model_comparison(summary: pd.DataFrame, paper: pd.DataFrame | None, title: str) -> plt.Figure:
    """Fig. 8b: accuracy, precision, recall, F1 (and Macro F1 when ``summary`` has it) per model, mean with an
    error bar of the std over seeds, beside the paper.

    ``summary``: columns model, metric (Table 1 names), mean, std in percent. ``paper``: Table 1 of the paper
    (Model + the four metric columns) drawn as black diamonds, or None / no rows where the paper reports no
    numbers for the run's data (then nothing is drawn for it and the legend says so).
    """
    metrics = ["Accuracy", "Precision", "Recall", "F1-Score"]
    metrics += [m for m in summary["metric"].unique() if m not in metrics]
    models = list(dict.fromkeys(summary["model"]))
    fig, ax = plt.subplots(figsize=(8 + 1.6 * (len(metrics) - 4), 3.6))
    width = 0.8 / len(models)
    x = np.arange(len(metrics))
    paper = (paper if paper is not None else pd.DataFrame(columns=["Model"])).set_index("Model")
    drawn = [m for m in metrics if m in paper.columns]
    for i, model in enumerate(models):
        rows = summary[summary["model"] == model].set_index("metric").reindex(metrics)
        pos = x + (i - (len(models) - 1) / 2) * width
        ax.bar(pos, rows["mean"], width, yerr=rows["std"].fillna(0), capsize=2, color=PALETTE[i % 8],
               hatch=["", "//", "..", "xx", "\\\\", "--"][i % 6], label=model, edgecolor="black", lw=0.4)  # fmt: skip
        if model in paper.index:
            ax.scatter(pos[: len(drawn)], paper.loc[model, drawn], marker="D", color="black", s=14, zorder=3,
                       label="paper 1, Table 1" if "paper 1, Table 1" not in ax.get_legend_handles_labels()[1] else None)  # fmt: skip
    if paper.empty:
        ax.plot([], [], " ", label="paper 1: no numbers\nfor this data")
    ax.set_xticks(x, metrics)
    ax.set_ylabel("%")
    values = np.r_[summary["mean"].to_numpy(dtype=float), paper[drawn].to_numpy(dtype=float).ravel()]
    low = np.nanmin(values) if np.isfinite(values).any() else 0.0
    ax.set_ylim(max(0, low - 10), 100.5)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def zero_day_recall(summary: pd.DataFrame, detector: str | None, title: str) -> plt.Figure:
    """Recall per held-out family: the supervised fusion (and XGBoost on the features, where the summary has it),
    every anomaly detector alone, and the OR of the fusion with ``detector`` (mean over seeds, std bars).

    ``summary`` is :func:`lib.metrics.zero_day_summary` of notebook 05's zero-day table (stage ``anomaly``):
    one row per family, columns ``recall_supervised_mean`` (the fusion), ``recall_xgboost_mean``,
    ``recall_<d>_mean`` for every detector ``d`` and ``recall_or_<detector>_mean`` (and ``_std``). ``detector="branch"`` draws the OR with the anomaly branch that
    notebook 05 chose on validation rows without the family (its candidate written under the family's name);
    ``None`` means the branch where the summary has one, else the autoencoder.
    """
    if detector is None:
        detector = "branch" if "recall_or_branch_mean" in summary else "autoencoder"
    alone = [
        column.removeprefix("recall_").removesuffix("_mean")
        for column in summary.columns
        if column.startswith("recall_") and column.endswith("_mean")
        and not column.startswith(("recall_or_", "recall_supervised_", "recall_branch_", "recall_xgboost_"))
    ]  # fmt: skip
    shown = "anomaly branch" if detector == "branch" else detector.replace("_", " ")
    xgboost = [("recall_xgboost", "supervised XGBoost")] if "recall_xgboost_mean" in summary else []
    bars = [
        ("recall_supervised", "supervised fusion"),
        *xgboost,
        *[(f"recall_{name}", f"{name.replace('_', ' ')} alone") for name in alone],
        (f"recall_or_{detector}", f"fusion OR {shown}"),
    ]
    families = list(summary["family"])
    branches = detector == "branch" and "branch" in summary
    if branches:
        families = [f"{family}\nbranch: {branch}" for family, branch in zip(families, summary["branch"], strict=True)]
    x = np.arange(len(families))
    width = 0.8 / len(bars)
    fig, ax = plt.subplots(figsize=(max(6.5, len(families) * (0.25 * len(bars) + 0.6) + 3.0), 3.6))
    for i, (column, label) in enumerate(bars):
        std = summary[f"{column}_std"].fillna(0).to_numpy() if f"{column}_std" in summary else None
        ax.bar(x + (i - (len(bars) - 1) / 2) * width, summary[f"{column}_mean"], width, yerr=std, capsize=2,
               color=PALETTE[i % len(PALETTE)], hatch=["", "//", "..", "xx", "\\\\", "--", "++", "oo"][i % 8],
               edgecolor="black", linewidth=0.4, label=label)  # fmt: skip
    if branches:  # the branch chosen without each family, under its name
        ax.set_xticks(x, families, fontsize=7)
    else:
        ax.set_xticks(x, families, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("recall on the held-out family")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def alert_timeline(scored: pd.DataFrame, title: str, bin_minutes: int | None = None) -> plt.Figure:
    """Flows per time bin of a scored capture (``lib.score`` output with ``ts`` and ``true_label``): the true
    attack flows beside the alerts of each branch, on one time axis (Zeek's ``ts``, UTC)."""
    times = pd.to_datetime(scored["ts"], unit="s", utc=True)
    minutes = bin_minutes or auto_bin_minutes(times)
    bins = times.dt.floor(f"{minutes}min")
    alert = scored["alert"].fillna("").astype(str)
    series = {
        "true attack flows": scored["true_label"].astype(str).ne("Benign"),
        "fusion alerts": alert.isin(["fusion", "both"]),
        "anomaly alerts": alert.isin(["anomaly", "both"]),
    }
    counts = pd.DataFrame({name: flags.groupby(bins).sum() for name, flags in series.items()})
    fig, ax = plt.subplots(figsize=(9, 3.4))
    styles = {
        "true attack flows": ("0.3", "-", 2.4),
        "fusion alerts": ("C0", "--", 1.4),
        "anomaly alerts": ("C3", ":", 1.4),
    }
    for name, (color, style, width) in styles.items():
        ax.step(counts.index, counts[name], where="post", color=color, linestyle=style, linewidth=width, label=name)
    ax.set_ylabel(f"flows per {_bin_label(minutes)}")
    ax.set_xlabel("time (UTC)")
    ax.set_title(title)
    ax.legend(loc="upper right", frameon=False)
    fig.autofmt_xdate()
    return fig
