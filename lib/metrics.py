"""Scores of Section II.B-E and Table 1 of Suryawanshi & Jagtap, summaries over seeds, and timing.

Used by ``notebooks/02_baselines.ipynb`` and ``notebooks/03_cnn_lstm.ipynb``. Conventions:

* class id 0 is benign traffic; in the binary setting class 1 (attack) is the positive class, so precision,
  recall and F1 are those of the attack class, exactly the formulas of Section II.B;
* the binary setting also gives each class's scores (``precision_benign`` ... ``f1_attack``) and their macro
  average (``f1_macro``): a model that calls everything an attack keeps a fair attack-class F1 on attack-heavy
  data, but its benign F1 and macro F1 fall;
* in the multi-class setting the headline ``precision``/``recall``/``f1`` are macro averages (every class
  counts the same, so rare attacks are not hidden by the large ones); weighted averages are given too;
* a class neither in ``y_true`` nor predicted is left out of the macro/weighted averages (as scikit-learn
  does by default) but listed in ``per_class``;
* ``fpr`` is the false-alarm rate: benign rows flagged as any attack, over all benign rows;
* ``roc_auc`` and ``pr_auc`` (average precision) are computed from the probabilities, one-vs-rest and
  macro-averaged over the classes present in ``y_true`` in the multi-class setting.

Degenerate cases (a single class predicted, a class absent from ``y_true``) never raise: they give a
``warnings.warn`` with the reason, a defined value (``nan`` where a score does not exist, 0 where
scikit-learn's ``zero_division`` convention applies) and a line in the result's ``notes``.

No TensorFlow here.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

#: Table 1 of the paper, in percent. The paper has no SVM row and reports no spread or number of runs.
#: Its scores are attack-vs-benign (the TP/FP formulas of Section II.B); the paper evaluates on CICIDS2017 and
#: IoT-23 (Section II) and does not say which of the two, or both pooled, each number comes from.
PAPER1_TABLE1: dict[str, dict[str, float]] = {
    "Random Forest": {"Accuracy": 89.5, "Precision": 87.2, "Recall": 85.4, "F1-Score": 86.3},
    "CNN-Only": {"Accuracy": 91.2, "Precision": 89.5, "Recall": 88.1, "F1-Score": 88.8},
    "LSTM-Only": {"Accuracy": 92.1, "Precision": 90.3, "Recall": 89.8, "F1-Score": 90.0},
    "CNN-LSTM Hybrid": {"Accuracy": 96.5, "Precision": 94.8, "Recall": 95.1, "F1-Score": 95.0},
}

#: The registered data sets paper 1 reports Table 1 on (``DATASET`` -> the paper's name for it). Anywhere else
#: (BoT-IoT, a user's own table) the paper has no number to compare with.
PAPER1_DATASETS: dict[str, str] = {"iot23": "IoT-23", "cicids2017": "CICIDS2017"}

#: Model ids used in file names and CSVs -> the names Table 1 uses (baselines the paper lacks included).
MODEL_NAMES: dict[str, str] = {
    "random_forest": "Random Forest",
    "svm": "SVM",
    "xgboost": "XGBoost",
    "cnn_only": "CNN-Only",
    "lstm_only": "LSTM-Only",
    "cnn_lstm": "CNN-LSTM Hybrid",
    "mlp": "MLP",
}

#: Display names of notebook 04's contenders (the deep models and baselines keep their Table 1 names); here so
#: that notebook 06 can name them without importing the fusion's Keras code.
CONTENDER_NAMES: dict[str, str] = {
    **MODEL_NAMES,
    "fusion_random_forest": "Fusion (RF meta)",
    "fusion_xgboost": "Fusion (XGBoost meta)",
    "fusion_random_forest_features": "Fusion + features (RF meta)",
    "fusion_xgboost_features": "Fusion + features (XGBoost meta)",
    "soft_voting": "Soft voting",
    "random_forest": "Random Forest (features)",
    "xgboost": "XGBoost (features)",
}

#: Table 1 column -> key of :func:`evaluate`'s result.
TABLE1_COLUMNS: dict[str, str] = {
    "Accuracy": "accuracy",
    "Precision": "precision",
    "Recall": "recall",
    "F1-Score": "f1",
}
#: Extra Table 1 column of binary runs: the mean of the benign and the attack F1 (key of :func:`evaluate`).
MACRO_F1_COLUMN: dict[str, str] = {"Macro F1": "f1_macro"}


class MetricWarning(UserWarning):
    """A score is undefined or degenerate for the given labels/predictions (see the result's ``notes``)."""


def _note(notes: list[str], message: str) -> None:
    notes.append(message)
    warnings.warn(message, MetricWarning, stacklevel=3)


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

    predicted = np.unique(y_pred)
    if len(predicted) == 1:
        _note(notes, f"the model predicts only class {class_names[int(predicted[0])]!r} for every row")
    present = np.unique(y_true)
    for c in labels:
        name = class_names[c]
        if c not in predicted and c in present:
            _note(notes, f"class {name!r} is never predicted: its precision is set to 0 (undefined)")
        elif c not in present and c in predicted:
            _note(notes, f"class {name!r} is absent from y_true but predicted: its recall is set to 0 (undefined)")
        elif c not in present and n_classes > 2:
            _note(notes, f"class {name!r} is absent from y_true and never predicted: left out of the averages")

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
            seen = np.union1d(present, predicted)  # scikit-learn's default: classes in y_true or y_pred
            for average in ("macro", "weighted"):
                p, r, f, _ = precision_recall_fscore_support(
                    y_true, y_pred, labels=seen, average=average, zero_division=0
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
        result.update(
            precision_macro=float(p_c.mean()), recall_macro=float(r_c.mean()), f1_macro=float(f_c.mean()),
            **{f"{score}_{role}": float(values[c]) for role, c in (("benign", 0), ("attack", 1))
               for score, values in (("precision", p_c), ("recall", r_c), ("f1", f_c))},
        )  # fmt: skip
    result["confusion_matrix"] = cm.tolist()
    result["per_class"] = {
        name: {"precision": float(p_c[c]), "recall": float(r_c[c]), "f1": float(f_c[c]), "support": int(s_c[c])}
        for c, name in enumerate(class_names)
    }
    result["notes"] = notes
    return result


#: The false-positive rates a security operator reads a detector at (Table 1's companion table, Fig. 5's axis).
OPERATING_FPRS = (0.001, 0.01)


def attack_score(proba: np.ndarray) -> np.ndarray:
    """How much a flow looks like an attack, whatever the label mode: ``1 - P(Benign)`` (class 0 is Benign)."""
    proba = np.asarray(proba, dtype=np.float64)
    return 1.0 - proba[:, 0]


def threshold_at_fpr(benign_scores: np.ndarray, target_fpr: float) -> float:
    """The lowest alert threshold (alert when ``score > threshold``) that raises at most ``target_fpr`` of the
    given benign rows: fitted on validation rows, never on test rows. With fewer benign rows than
    ``1 / target_fpr`` this is the highest benign score (no benign validation row raises an alert)."""
    scores = np.sort(np.asarray(benign_scores, dtype=np.float64))
    if not len(scores):
        raise ValueError("no benign rows to set a threshold on")
    if not 0 < target_fpr < 1:
        raise ValueError(f"target_fpr must lie in (0, 1), got {target_fpr}")
    allowed = int(np.floor(target_fpr * len(scores)))  # benign rows that may score above the threshold
    return float(scores[len(scores) - 1 - allowed])


def detection_at_fpr(
    y_val: np.ndarray,
    proba_val: np.ndarray,
    y_test: np.ndarray,
    proba_test: np.ndarray,
    targets: Sequence[float] = OPERATING_FPRS,
) -> list[dict[str, float]]:
    """Detection rate (attack recall) on the test rows at thresholds set for each target false-positive rate on
    the *validation* benign rows; the realised test FPR beside it (it can exceed the target: that is the
    honest number). ``benign_val`` says how many benign rows set the threshold: below ``1 / target`` the
    target is finer than the validation rows can resolve."""
    val_score, test_score = attack_score(proba_val), attack_score(proba_test)
    y_val, y_test = np.asarray(y_val), np.asarray(y_test)
    benign_val = val_score[y_val == 0]
    rows = []
    for target in targets:
        threshold = threshold_at_fpr(benign_val, target)
        alert = test_score > threshold
        attacks, benign = y_test != 0, y_test == 0
        rows.append(
            {
                "target_fpr": float(target),
                "threshold": threshold,
                "detection_rate": float(alert[attacks].mean()) if attacks.any() else float("nan"),
                "test_fpr": float(alert[benign].mean()) if benign.any() else float("nan"),
                "benign_val": int(len(benign_val)),
            }
        )
    return rows


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


def _model_order(name: str) -> tuple[int, str]:
    order = list(MODEL_NAMES.values())
    return (order.index(name) if name in order else len(order), name)


def _model_order_id(model: str) -> tuple[int, str]:
    """Sort key of a model id (``cnn_lstm``) in Table 1's order."""
    return _model_order(MODEL_NAMES.get(model, model))


def table1_columns(df: pd.DataFrame, label_mode: str) -> dict[str, str]:
    """Table 1's columns (column -> score key) for a run: the paper's four, and Macro F1 for a binary run whose
    scores carry it (attack-class scores alone can look good for a model that calls everything an attack)."""
    extra = MACRO_F1_COLUMN if label_mode == "binary" and "f1_macro" in df.columns else {}
    return TABLE1_COLUMNS | extra


def _cell(mean: float, std: float, decimals: int) -> str:
    if np.isnan(mean):
        return ""
    return f"{mean:.{decimals}f}" if np.isnan(std) else f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def table1(df: pd.DataFrame, decimals: int = 1, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Our results in the layout of the paper's Table 1: Model, Accuracy, Precision, Recall, F1-Score.

    Cells read "mean ± std" in percent over the seeds of ``df`` (one row per model and seed, metric
    columns as fractions, model ids or names); with a single seed only the mean is shown. ``columns``
    (Table 1 column -> score key) defaults to :data:`TABLE1_COLUMNS`; a model without a value is blank.
    """
    columns = columns or TABLE1_COLUMNS
    summary = summarise(df, metrics=list(columns.values()))
    summary["model"] = summary["model"].map(lambda m: MODEL_NAMES.get(m, m))
    rows = []
    for model in sorted(summary["model"].unique(), key=_model_order):
        cells = {"Model": model}
        for column, key in columns.items():
            hit = summary[(summary["model"] == model) & (summary["metric"] == key)].iloc[0]
            cells[column] = _cell(100 * hit["mean"], 100 * hit["std"], decimals)
        rows.append(cells)
    return pd.DataFrame(rows, columns=["Model", *columns])


def paper_reports(dataset: str) -> bool:
    """Whether paper 1 reports Table 1 on ``dataset`` (a registered name: ``iot23``, ``cicids2017``)."""
    return dataset in PAPER1_DATASETS


def paper_note(dataset: str, label_mode: str) -> str:
    """One sentence on what the paper's Table 1 means for a run on ``dataset`` in ``label_mode``."""
    if not paper_reports(dataset):
        other = (
            " (paper 2 reports its CNN-LSTM on the full BoT-IoT with SMOTE, a set this run does not reproduce)"
            if dataset == "botiot"
            else ""
        )
        return (
            f"Paper 1 reports no numbers for this data (DATASET={dataset!r}){other}: it evaluates on CICIDS2017 "
            "and IoT-23 only, so nothing here is compared with the paper."
        )
    where = (
        f"Paper 1 reports one Table 1 for CICIDS2017 and IoT-23 without saying which data set each number comes "
        f"from; it is shown beside this {PAPER1_DATASETS[dataset]} run"
    )
    if label_mode == "binary":
        return where + ", with the same attack-vs-benign scores (Section II.B)."
    return (
        where + ", but the paper's precision, recall and F1 are attack-vs-benign scores while this multi-class run's "
        "are macro averages over the classes: read the comparison as indicative only."
    )


def paper_table1(dataset: str) -> pd.DataFrame:
    """:data:`PAPER1_TABLE1` as a DataFrame in Table 1's layout (values in percent), for a run on ``dataset``:
    empty (same columns, no rows) where the paper reports no numbers for that data (see :func:`paper_note`)."""
    rows = [{"Model": model, **values} for model, values in PAPER1_TABLE1.items()] if paper_reports(dataset) else []
    return pd.DataFrame(rows, columns=["Model", *TABLE1_COLUMNS])


def table1_vs_paper(df: pd.DataFrame, dataset: str, label_mode: str, decimals: int = 1) -> pd.DataFrame:
    """Our Table 1, beside the paper's where the paper reports on ``dataset`` (:func:`paper_reports`).

    With the paper: for every column "ours" and "paper" (blank where the paper has no row), and every paper
    row even if not run here. Without: our Table 1 alone. Binary runs add "Macro F1" (ours; the paper has
    none) beside the attack-class columns.
    """
    columns = table1_columns(df, label_mode)
    ours = table1(df, decimals=decimals, columns=columns)
    if not paper_reports(dataset):
        return ours
    ours = ours.set_index("Model")
    paper = paper_table1(dataset).set_index("Model")
    models = sorted(set(ours.index) | set(paper.index), key=_model_order)
    out = pd.DataFrame(index=pd.Index(models, name="Model"))
    for column in columns:
        out[f"{column} (ours)"] = ours[column].reindex(models).fillna("")
        if column in paper.columns:
            out[f"{column} (paper)"] = paper[column].reindex(models).map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    return out.reset_index()


@dataclass
class Timing:
    """Wall-clock seconds of a ``with timer() as t:`` block (``t.seconds``, set when the block ends)."""

    seconds: float = float("nan")


@contextmanager
def timer() -> Iterator[Timing]:
    """Time a block: ``with metrics.timer() as t: model.fit(X, y)`` then read ``t.seconds``."""
    timing = Timing()
    start = time.perf_counter()
    try:
        yield timing
    finally:
        timing.seconds = time.perf_counter() - start


def time_inference(
    predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, warmup_rows: int = 256
) -> dict[str, Any]:
    """Run ``predict(X)`` once, timed; return ``{"proba": output, "seconds": s, "flows_per_s": len(X) / s}``.

    ``predict`` is first called, untimed, on ``warmup_rows`` and then ``warmup_rows // 2`` rows, so one-off
    costs do not count as inference time: Keras traces its graph for the first batch shape and once more, as a
    shape-agnostic graph, for the second; thread pools start too.
    """
    for rows in (warmup_rows, warmup_rows // 2):
        if rows > 0:
            predict(X[:rows])
    with timer() as t:
        output = predict(X)
    return {"proba": output, "seconds": t.seconds, "flows_per_s": throughput(len(X), t.seconds)}


def throughput(n_rows: int, seconds: float) -> float:
    """Rows (flows) per second; nan when ``seconds`` is not positive."""
    return float(n_rows / seconds) if seconds > 0 else float("nan")


def zero_day_summary(zero_day: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of every ``recall_*``/``fpr_*`` column of notebook 05's zero-day table, per family;
    where the table names the anomaly branch chosen for each family (column ``branch``), the candidates chosen
    over the seeds, most frequent first."""
    if not len(zero_day):
        return pd.DataFrame(columns=["family"])
    values = [c for c in zero_day.columns if c.startswith(("recall_", "fpr_"))]
    summary = zero_day.groupby("family", sort=False)[values].agg(["mean", "std"])
    summary.columns = [f"{column}_{stat}" for column, stat in summary.columns]
    if "branch" in zero_day:
        chosen = zero_day.groupby("family", sort=False)["branch"]
        summary.insert(0, "branch", chosen.agg(lambda c: ", ".join(c.astype(str).value_counts().index)))
    return summary.reset_index()


@dataclass
class Results:
    """Scores, timings and full evaluations of a loop over models and seeds, kept apart.

    ``scores`` rows are what two runs with the same seed reproduce bit for bit (one row per model and seed);
    ``timings`` rows are wall-clock measurements, which never do; ``details`` holds each :func:`evaluate`
    result by ``<model>_seed<seed>``. ``lib.run.Stage.save_results`` writes the three to separate files.
    """

    scores: list[dict[str, Any]] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(
        self,
        model: str,
        seed: int,
        result: dict[str, Any],
        timing: dict[str, float] | None = None,
        **extra: Any,
    ) -> None:
        """Record one model and seed: ``result`` from :func:`evaluate`, ``extra`` columns (row counts, epochs)."""
        self.scores.append({"model": model, "seed": seed, **extra, **scalar_metrics(result)})
        self.details[f"{model}_seed{seed}"] = result
        if timing:
            self.timings.append({"model": model, "seed": seed, **timing})

    def scores_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.scores)

    def timings_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.timings, columns=None if self.timings else ["model", "seed"])


def timed_predictions(
    predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, fit_seconds: float
) -> tuple[np.ndarray, dict[str, float]]:
    """``predict(X)`` timed as by :func:`time_inference`; return the output and the timing columns of a run."""
    timed = time_inference(predict, X)
    timing = {"train_seconds": fit_seconds, "inference_seconds": timed["seconds"], "flows_per_s": timed["flows_per_s"]}
    return timed["proba"], timing


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
