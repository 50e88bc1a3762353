"""One model's scores on one split (Section II.B of paper 1) and their summaries over seeds.

The conventions are listed in :mod:`lib.metrics`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from lib.metrics.names import MODEL_NAMES


class MetricWarning(UserWarning):
    """A score is undefined or degenerate for the given labels/predictions (see the result's ``notes``)."""


def _note(notes: list[str], message: str, stacklevel: int = 3) -> None:
    notes.append(message)
    warnings.warn(message, MetricWarning, stacklevel=stacklevel)


def _check_inputs(y_true: np.ndarray, proba: np.ndarray, class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    proba = np.asarray(proba, dtype=np.float64)
    n_classes = len(class_names)
    if n_classes < 2:
        raise ValueError(f"need at least two class names, got {list(class_names)}")
    if proba.ndim != 2 or proba.shape != (len(y_true), n_classes):
        raise ValueError(f"proba must have shape (n, n_classes) = ({len(y_true)}, {n_classes}), got {proba.shape}")
    if len(y_true) == 0:
        raise ValueError("y_true is empty")
    if y_true.min() < 0 or y_true.max() >= n_classes:
        raise ValueError(f"class ids in y_true must lie in 0..{n_classes - 1}")
    if not np.isfinite(proba).all():
        raise ValueError("proba holds NaN or infinite values")
    return y_true, proba


def _ranking_scores(y_true: np.ndarray, proba: np.ndarray, class_names: Sequence[str], notes: list[str]):
    """ROC-AUC and average precision: attack-vs-benign (binary) or macro one-vs-rest over present classes."""
    n_classes = len(class_names)
    if n_classes == 2:
        positives = y_true == 1
        if not positives.any():
            _note(notes, f"y_true holds no {class_names[1]!r} rows: ROC-AUC and PR-AUC are undefined (nan)")
            return float("nan"), float("nan")
        ap = float(average_precision_score(positives, proba[:, 1]))
        if positives.all():
            _note(notes, f"y_true holds only {class_names[1]!r} rows: ROC-AUC is undefined (nan)")
            return float("nan"), ap
        return float(roc_auc_score(positives, proba[:, 1])), ap
    present = np.unique(y_true)
    absent = [class_names[c] for c in range(n_classes) if c not in present]
    if absent:
        _note(notes, f"classes absent from y_true: {absent}; ROC-AUC and PR-AUC are averaged over the other classes")
    if len(present) < 2:
        _note(
            notes, f"y_true holds only class {class_names[int(present[0])]!r}: ROC-AUC and PR-AUC are undefined (nan)"
        )
        return float("nan"), float("nan")
    rocs = [roc_auc_score(y_true == c, proba[:, c]) for c in present]
    aps = [average_precision_score(y_true == c, proba[:, c]) for c in present]
    return float(np.mean(rocs)), float(np.mean(aps))


def _note_degenerate_classes(
    present: np.ndarray, predicted: np.ndarray, class_names: Sequence[str], notes: list[str]
) -> None:
    """A note for each class whose precision or recall is undefined, or that the averages leave out."""
    if len(predicted) == 1:
        _note(notes, f"the model predicts only class {class_names[int(predicted[0])]!r} for every row", stacklevel=4)
    for c in range(len(class_names)):
        name = class_names[c]
        if c not in predicted and c in present:
            _note(notes, f"class {name!r} is never predicted: its precision is set to 0 (undefined)", stacklevel=4)
        elif c not in present and c in predicted:
            _note(
                notes,
                f"class {name!r} is absent from y_true but predicted: left out of the averages (its rows count as "
                "errors of their true classes)",
                stacklevel=4,
            )
        elif c not in present and len(class_names) > 2:
            _note(
                notes,
                f"class {name!r} is absent from y_true and never predicted: left out of the averages",
                stacklevel=4,
            )


def _binary_class_scores(p_c: np.ndarray, r_c: np.ndarray, f_c: np.ndarray, present: np.ndarray) -> dict[str, float]:
    """A binary run's macro averages (over the classes present in ``y_true``) and each class's precision,
    recall and F1 (benign, then attack)."""
    scores = {
        "precision_macro": float(p_c[present].mean()),
        "recall_macro": float(r_c[present].mean()),
        "f1_macro": float(f_c[present].mean()),
    }
    for role, c in (("benign", 0), ("attack", 1)):
        for score, values in (("precision", p_c), ("recall", r_c), ("f1", f_c)):
            scores[f"{score}_{role}"] = float(values[c])
    return scores


def evaluate(y_true: np.ndarray, proba: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Every score of the paper for one model on one test set; predictions are ``argmax(proba)``.

    Returns a dict with ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``, ``pr_auc``, ``fpr``
    (floats; multi-class adds ``*_macro`` and ``*_weighted``; binary adds ``*_macro`` and each class's
    ``precision_benign``, ``recall_benign``, ``f1_benign``, ``precision_attack``, ...), ``confusion_matrix``
    (list of lists, rows = true class, columns = predicted class, in ``class_names`` order), ``per_class``
    ({name: precision, recall, f1, support}), ``average`` ("binary" or "macro"), ``n`` and ``notes`` (why a
    value is nan/0).
    """
    y_true, proba = _check_inputs(y_true, proba, class_names)
    n_classes = len(class_names)
    labels = np.arange(n_classes)
    y_pred = proba.argmax(axis=1)
    notes: list[str] = []

    predicted, present = np.unique(y_pred), np.unique(y_true)
    _note_degenerate_classes(present, predicted, class_names, notes)

    cm = confusion_matrix(y_true, y_pred, labels=labels)
    result: dict[str, Any] = {"n": len(y_true), "accuracy": float(accuracy_score(y_true, y_pred))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # our own notes above say the same, once, in plain words
        p_c, r_c, f_c, s_c = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
        if n_classes == 2:
            p, r, f, _ = precision_recall_fscore_support(
                y_true, y_pred, labels=labels, pos_label=1, average="binary", zero_division=0
            )
            result.update(average="binary", precision=float(p), recall=float(r), f1=float(f))
        else:
            result["average"] = "macro"
            for average in ("macro", "weighted"):  # over the classes of y_true (module docstring of lib.metrics)
                p, r, f, _ = precision_recall_fscore_support(
                    y_true, y_pred, labels=present, average=average, zero_division=0
                )
                result.update(
                    {f"precision_{average}": float(p), f"recall_{average}": float(r), f"f1_{average}": float(f)}
                )
            result.update(precision=result["precision_macro"], recall=result["recall_macro"], f1=result["f1_macro"])

    result["roc_auc"], result["pr_auc"] = _ranking_scores(y_true, proba, class_names, notes)
    benign = int(cm[0].sum())
    if benign == 0:
        _note(notes, f"y_true holds no {class_names[0]!r} rows: the false-positive rate is undefined (nan)")
        result["fpr"] = float("nan")
    else:
        result["fpr"] = float((benign - cm[0, 0]) / benign)
    if n_classes == 2:  # after the paper's columns, so the older columns keep their order
        result.update(_binary_class_scores(p_c, r_c, f_c, present))
    result["confusion_matrix"] = cm.tolist()
    result["per_class"] = {
        name: {"precision": float(p_c[c]), "recall": float(r_c[c]), "f1": float(f_c[c]), "support": int(s_c[c])}
        for c, name in enumerate(class_names)
    }
    result["notes"] = notes
    return result


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro-F1 of predicted class ids over the classes present in ``y_true`` (as :func:`evaluate` averages): the
    one macro-F1 of the project's choices (tuning, the fusion's meta-classifier grid)."""
    y_true = np.asarray(y_true)
    present = np.unique(y_true)
    return float(f1_score(y_true, np.asarray(y_pred), labels=present, average="macro", zero_division=0))


def scalar_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The numeric scores of an :func:`evaluate` result, for one row of a results table."""
    return {k: v for k, v in result.items() if isinstance(v, float)}


def summarise(df: pd.DataFrame, metrics: Sequence[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, standard deviation and t-interval of each metric per model, over the seeds of a long table.

    ``df`` has one row per (``model``, ``seed``) and one column per metric; ``metrics`` defaults to every
    numeric column but ``seed``. Returns one row per (model, metric) with ``n``, ``mean``, ``std`` (ddof=1),
    ``ci_low``, ``ci_high``: mean ± t(1 - (1 - confidence)/2, n - 1) · std / sqrt(n). With one seed the
    spread and the interval are nan (one run says nothing about the spread).
    """
    if "model" not in df.columns:
        raise ValueError("df needs a 'model' column")
    if metrics is None:
        metrics = [c for c in df.select_dtypes("number").columns if c != "seed"]
    rows = []
    for model, group in df.groupby("model", sort=False):
        for metric in metrics:
            values = group[metric].dropna().to_numpy(dtype=np.float64)
            n = len(values)
            mean = float(values.mean()) if n else float("nan")
            std = float(values.std(ddof=1)) if n > 1 else float("nan")
            half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / np.sqrt(n)) if n > 1 else float("nan")
            rows.append(
                {
                    "model": model,
                    "metric": metric,
                    "n": n,
                    "mean": mean,
                    "std": std,
                    "ci_low": mean - half,
                    "ci_high": mean + half,
                }
            )
    return pd.DataFrame(rows, columns=["model", "metric", "n", "mean", "std", "ci_low", "ci_high"])


def mean_table(summary: pd.DataFrame, decimals: int = 4) -> pd.DataFrame:
    """A :func:`summarise` table as one row per model and one column per metric (the means)."""
    table = summary.pivot(index="model", columns="metric", values="mean")[summary["metric"].unique()]
    return table.round(decimals)


def confusion_frame(result: dict[str, Any], class_names: Sequence[str], model: str) -> pd.DataFrame:
    """The confusion matrix of an :func:`evaluate` result, rows = true class, columns = predicted class."""
    frame = pd.DataFrame(result["confusion_matrix"], index=list(class_names), columns=list(class_names))
    return frame.rename_axis(index=MODEL_NAMES.get(model, model), columns="predicted")


def confusion_frames(
    details: dict[str, dict[str, Any]], models: Sequence[str], seed: int, class_names: Sequence[str]
) -> pd.DataFrame:
    """The confusion matrices of ``models`` for ``seed`` stacked in one table (rows: model, true class)."""
    frames = {MODEL_NAMES.get(m, m): confusion_frame(details[f"{m}_seed{seed}"], class_names, m) for m in models}
    return pd.concat(frames, names=["model", "true"]).rename_axis(columns="predicted")
