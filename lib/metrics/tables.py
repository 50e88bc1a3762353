"""Table 1 of paper 1 and ours beside it: the paper's numbers, model names and order, the table's cells."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib.metrics.names import MACRO_F1_COLUMN, MODEL_NAMES, PAPER1_DATASETS, PAPER1_TABLE1, TABLE1_COLUMNS
from lib.metrics.scores import summarise


def model_order(name: str) -> tuple[int, str]:
    order = list(MODEL_NAMES.values())
    return (order.index(name) if name in order else len(order), name)


def model_order_id(model: str) -> tuple[int, str]:
    """Sort key of a model id (``cnn_lstm``) in Table 1's order."""
    return model_order(MODEL_NAMES.get(model, model))


def table1_columns(df: pd.DataFrame, label_mode: str) -> dict[str, str]:
    """Table 1's columns (column -> score key) for a run: the paper's four, and Macro F1 for a binary run whose
    scores carry it (attack-class scores alone can look good for a model that calls everything an attack)."""
    extra = MACRO_F1_COLUMN if label_mode == "binary" and "f1_macro" in df.columns else {}
    return TABLE1_COLUMNS | extra


def cell(mean: float, std: float, decimals: int) -> str:
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
    for model in sorted(summary["model"].unique(), key=model_order):
        cells = {"Model": model}
        for column, key in columns.items():
            hit = summary[(summary["model"] == model) & (summary["metric"] == key)].iloc[0]
            cells[column] = cell(100 * hit["mean"], 100 * hit["std"], decimals)
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
    models = sorted(set(ours.index) | set(paper.index), key=model_order)
    out = pd.DataFrame(index=pd.Index(models, name="Model"))
    for column in columns:
        out[f"{column} (ours)"] = ours[column].reindex(models).fillna("")
        if column in paper.columns:
            out[f"{column} (paper)"] = paper[column].reindex(models).map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    return out.reset_index()


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
