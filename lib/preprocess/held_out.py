"""Notebook 01's preprocessing fitted again without some attack families: the zero-day test of notebook 05.

A zero-day test must not let the held-out family reach anything fitted. Notebook 01's :func:`lib.preprocess.prepare`
selects the features and fits the imputer, the scaler and the one-hot vocabulary on training rows that include
every family; a model trained in that space has seen, through it, the range and the categories of the family it
is tested on. So notebook 05 reads the data again exactly as notebook 01 did (its recorded parameters), splits it
the same way (:func:`lib.preprocess.split_frame`), checks that every split holds the run's very rows
(:func:`check_same_split`), and for each held-out family runs the same steps 5 and 6 (feature selection, the
preprocessor) on the training rows without the family (:func:`prepare_without`): the family's training and
validation rows are gone, its test rows stay (they are what the test measures) and are transformed like every
test row, by a preprocessor that never saw them.

Nothing is copied from :mod:`lib.preprocess.prepared`: :func:`split_frame` and :func:`fit_prepared` are its own steps.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.preprocess.config import SPLIT_NAMES, PrepConfig
from lib.preprocess.features import ColumnPipelines
from lib.preprocess.prep_report import PrepReport
from lib.preprocess.prepared import PreparedData, SplitFrame, fit_prepared, row_tables, split_frame

#: What to do when the data read again is not the run's (:func:`check_same_split`).
REREAD_FIX = (
    "the data read again from the prepared stage's parameters (DATASET, DATA_DIR, DATA_FILES, SAMPLE_ROWS, SEED, ...) "
    "or the preprocessing code is not what notebook 01 ran with. Fix: rerun notebook 01 and the notebooks after it "
    "on this data (or make the data notebook 01 read available again at its DATA_DIR)"
)


def rows_without(split: SplitFrame, families: Sequence[str]) -> dict[str, np.ndarray]:
    """The positions of ``split``'s rows with every row of ``families`` (its ``label``) removed from the training and
    validation splits; the test split keeps all its rows, in order."""
    label = split.df["label"].astype(str).to_numpy()
    held = np.isin(label, [str(f) for f in families])
    return {name: (rows if name == "test" else rows[~held[rows]]) for name, rows in split.idx.items()}


def row_table_difference(ours: pd.DataFrame, theirs: pd.DataFrame) -> str:
    """Empty when the two row tables hold the same columns and values (compared as text, a missing value as
    ``<NA>`` whatever its kind: a Parquet round trip may change a dtype, never a value); else what differs."""
    if list(ours.columns) != list(theirs.columns):
        return f"columns {list(ours.columns)} against {list(theirs.columns)}"
    if len(ours) != len(theirs):
        return f"{len(ours)} rows against {len(theirs)}"
    for column in ours.columns:
        a, b = (
            np.asarray(t[column].astype(object).where(t[column].notna(), "<NA>"), dtype=str) for t in (ours, theirs)
        )
        if (a != b).any():
            return (
                f"column {column!r} differs in {int((a != b).sum())} row(s), the first at row {int(np.argmax(a != b))}"
            )
    return ""


def check_same_split(split: SplitFrame, data: PreparedData) -> None:
    """Refuse a :func:`split_frame` whose splits are not the run's: every split must hold the same rows (the row
    tables notebook 01 saved: labels and identifier columns, in order) with the same class ids. The test rows above
    all: the zero-day test measures the run's own test rows. A :class:`ValueError` naming the split and the fix."""
    tables = row_tables(split.df, split.idx, split.split_columns)
    for name in SPLIT_NAMES:
        y_ours, y_run = split.y[split.idx[name]], np.asarray(data.split(name)[1])
        if len(y_ours) != len(y_run) or (y_ours != y_run).any():
            differ = f"{len(y_ours)} rows against the run's {len(y_run)}"
            if len(y_ours) == len(y_run):
                differ = f"class ids differ in {int((y_ours != y_run).sum())} of {len(y_run)} rows"
            raise ValueError(f"the {name} split read again is not the run's ({differ}): {REREAD_FIX}")
        if name in data.rows:
            differ = row_table_difference(tables[name], data.rows[name])
            if differ:
                raise ValueError(f"the {name} rows read again are not the run's ({differ}): {REREAD_FIX}")


def check_same_features(split: SplitFrame, cfg: PrepConfig, data: PreparedData) -> None:
    """Refuse a :func:`split_frame` whose preprocessing, fitted again on the run's own training rows, does not give
    the run's model inputs (the same features, the same values in every split): then the refits without a family
    would not be the run's preprocessing minus that family. A :class:`ValueError` naming what differs and the fix."""
    again, _ = fit_prepared(split, split.idx, cfg, copy.deepcopy(split.report))
    if again.feature_names != list(data.feature_names):
        extra = sorted(set(again.feature_names) ^ set(data.feature_names))[:5]
        raise ValueError(f"the features fitted again differ from the run's (e.g. {extra}): {REREAD_FIX}")
    for name in SPLIT_NAMES:
        ours, run = again.split(name)[0], data.split(name)[0]
        if ours.shape != run.shape or not np.allclose(ours, run, rtol=0, atol=1e-6, equal_nan=True):
            raise ValueError(f"the {name} inputs fitted again differ from the run's: {REREAD_FIX}")


@dataclass
class HeldOutFrame:
    """The data of a run read again and split as notebook 01 split it (checked: :func:`check_same_split`), from
    which :meth:`prepared_without` fits the preprocessing again without some families."""

    split: SplitFrame
    cfg: PrepConfig

    def prepared_without(self, families: str | Sequence[str]) -> tuple[PreparedData, ColumnPipelines]:
        """:func:`prepare_without` on this split (``families``: one name or several)."""
        return prepare_without(self.split, self.cfg, [families] if isinstance(families, str) else families)


def reread(df: pd.DataFrame, cfg: PrepConfig, data: PreparedData) -> HeldOutFrame:
    """``df`` (the data read again as notebook 01 read it) split as notebook 01 split it, and checked: every split
    holds the run's rows (``data``, the prepared stage; :func:`check_same_split`) and the preprocessing fitted again
    on the run's training rows gives the run's inputs (:func:`check_same_features`)."""
    split = split_frame(df, cfg)
    check_same_split(split, data)
    check_same_features(split, cfg, data)
    return HeldOutFrame(split, cfg)


def prepare_without(
    df: pd.DataFrame | SplitFrame, cfg: PrepConfig, families: Sequence[str]
) -> tuple[PreparedData, ColumnPipelines]:
    """Notebook 01's preparation with the rows of ``families`` removed from the training and validation splits
    BEFORE the features are selected and the preprocessor is fitted; every split (the test split whole) is
    transformed by that preprocessor. ``df`` is a loaded frame (split here, as :func:`lib.preprocess.prepare`
    splits it) or a :class:`SplitFrame` already split. No SMOTE. ``meta`` records the families left out and the
    preparation report of this fit (its selected columns, its imputation counts)."""
    split = df if isinstance(df, SplitFrame) else split_frame(df, cfg)
    report: PrepReport = copy.deepcopy(split.report)
    data, pre = fit_prepared(split, rows_without(split, families), cfg, report)
    data.meta = {"config": dict(cfg.__dict__), "report": report.as_dict(), "families_left_out": list(families)}
    return data, pre
