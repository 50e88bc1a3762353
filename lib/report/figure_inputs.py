"""What notebook 06's figures need beyond a run's predictions: Fig. 1's flows (a raw IoT-23 capture, or the run's
own prepared rows), Fig. 2's layer names and Fig. 7's importance table (notebook 02's forests and a permutation
importance).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lib import datasets, figures, preprocess
from lib.datasets import capture, times


def _all_rows(data: Any) -> pd.DataFrame:
    """The run's prepared row tables (train, val, test: those it has) as one frame."""
    splits = [s for s in preprocess.SPLIT_NAMES if s in data.rows]
    return pd.concat([data.rows[s] for s in splits], ignore_index=True) if splits else pd.DataFrame()


def lifecycle_figure(prepared: Any, data: Any, *, scenario: str, data_dir: str, name: str) -> tuple[Any, str]:
    """Fig. 1 of this run, and one sentence saying what it shows or why it is skipped: ``(figure or None, text)``.

    IoT-23: the raw flows of capture ``scenario`` (all of them, before deduplication, by detailed label) when
    that capture is among the run's data files. Otherwise, on any data set: the run's own prepared rows (all
    splits, after deduplication and sampling) over time by label, read from the first time column that parses
    (:func:`lib.datasets.times.flow_times`); when none does, no figure and the reason. ``prepared`` is the prepared
    stage (its parameters say where the raw files are; ``data_dir`` overrides its ``DATA_DIR``).
    """
    rows = _all_rows(data)
    fallback = ""
    if prepared.parameters.get("DATASET") == "iot23" and scenario:
        flows, fallback = _iot23_capture(prepared, rows, scenario, data_dir)
        if flows is not None:
            fig = figures.botnet_lifecycle(flows, f"{name}, capture {scenario}: flows over time by detailed label")
            return fig, f"Fig. 1: IoT-23 capture {scenario}, all {len(flows):,} of its flows (before deduplication)."
    if rows.empty:
        return None, f"{fallback}Fig. 1 skipped: the prepared stage holds no row tables (rerun notebook 01)."
    found = times.flow_times(rows)
    if found.times is None:
        return None, f"{fallback}Fig. 1 skipped: {found.how}."
    fig = figures.flows_over_time(found.times, rows["label"], f"{name}: flows over time by label")
    return fig, (
        f"{fallback}Fig. 1: the run's prepared flows (all splits, after deduplication and sampling; "
        f"{int(found.times.notna().sum()):,} of {len(rows):,} have a time) by label, time from {found.how}."
    )


def _iot23_capture(prepared: Any, rows: pd.DataFrame, scenario: str, data_dir: str) -> tuple[pd.DataFrame | None, str]:
    """The raw flows of IoT-23 capture ``scenario`` if the run read it (:func:`lib.datasets.capture.load_capture`
    on the run's own data files), else None and why (one sentence)."""
    if "scenario" not in rows or scenario not in set(rows["scenario"].astype(str)):
        return (
            None,
            f"Capture {scenario} (LIFECYCLE_SCENARIO) is not among this run's data files: drawn from its rows. ",
        )
    files = prepared.parameters.get("DATA_FILES") or ""
    folder = data_dir or prepared.parameters.get("DATA_DIR") or None
    try:
        return capture.load_capture(scenario, folder, files), ""
    except (FileNotFoundError, datasets.DataError) as err:
        return None, f"The raw file of capture {scenario} could not be read ({err}): drawn from the run's rows. "


def layer_names(model: Any) -> list[str]:
    """The names of a built Keras model's layers, in order (Fig. 2 draws them)."""
    return [layer.name for layer in model.layers]


def importance_table(
    data: Any, forests: dict[str, Any], predict_proba: Any, model_label: str, *, rows: int, repeats: int, seed: int
) -> pd.DataFrame:
    """Importance per original feature: the impurity/gain importance of notebook 02's fitted ``forests``
    (``{column label: model}``) and the permutation importance (drop in accuracy on ``rows`` test rows) of the
    model behind ``predict_proba``. One-hot columns are summed back to their original column."""
    originals = data.meta["report"]["numeric_columns"] + data.meta["report"]["categorical_columns"]
    picked = np.random.default_rng(seed).permutation(len(data.y_test))[:rows]

    def accuracy(X: np.ndarray, y: np.ndarray) -> float:
        return float((predict_proba(X).argmax(axis=1) == y).mean())

    table = {
        label: figures.group_importances(model.feature_importances_, data.feature_names, originals)
        for label, model in forests.items()
    }
    table[model_label] = figures.permutation_importance_grouped(
        accuracy, data.X_test[picked], data.y_test[picked], data.feature_names, originals, seed, repeats
    )
    importance = pd.DataFrame(table).fillna(0)
    return importance.sort_values(model_label, ascending=False)
