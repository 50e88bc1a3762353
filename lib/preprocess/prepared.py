"""From a loaded frame to the prepared arrays of notebook 01: :func:`prepare` and :class:`PreparedData`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib import datasets, registry
from lib.preprocess.config import SPLIT_NAMES, PrepConfig
from lib.preprocess.dedup import dedup_counts, kept_rows
from lib.preprocess.features import ArrayFile, ColumnPipelines, build_preprocessor, transform_rows
from lib.preprocess.labels import make_labels, sample_rows
from lib.preprocess.prep_report import PrepReport
from lib.preprocess.selection import (
    RowView,
    category_features,
    check_column_names,
    imputation_counts,
    select_features,
)
from lib.preprocess.splits import split_rows

log = logging.getLogger(__name__)


@dataclass
class PreparedData:
    """Arrays and metadata of one prepared data set: what notebook 01 hands to every later notebook.

    ``X_*`` are float32 model inputs, ``y_*`` int64 class ids (0 = Benign); ``rows`` holds, per split, the
    labels (``label``, ``label_detail``, ``is_attack``) and identifier columns aligned with the arrays (never
    features). ``lib.run`` stores and reads it (``RUN_DIR/prepared``).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    class_names: list[str]
    label_mode: str
    rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    X_train_smote: np.ndarray | None = None
    y_train_smote: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of ``"train"``, ``"val"``, ``"test"`` or ``"train_smote"``."""
        if name == "train_smote":
            if self.X_train_smote is None:
                raise ValueError("this run was prepared without SMOTE: rerun notebook 01 with SMOTE=True")
            return self.X_train_smote, self.y_train_smote
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}: train, val, test or train_smote")
        return getattr(self, f"X_{name}"), getattr(self, f"y_{name}")

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """``({split: X}, {split: y})`` for train, val and test."""
        splits = SPLIT_NAMES
        return {s: self.split(s)[0] for s in splits}, {s: self.split(s)[1] for s in splits}

    def class_counts(self) -> pd.DataFrame:
        """Rows per class (index) and split (columns)."""
        counts = {s: np.bincount(self.split(s)[1], minlength=self.n_classes) for s in SPLIT_NAMES}
        return pd.DataFrame(counts, index=self.class_names)


def smote(X: np.ndarray, y: np.ndarray, seed: int, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """SMOTE (imbalanced-learn) up to the majority class count. Call it on training rows only.

    This is how we build paper 2's balanced set D2: the summary of paper 2 says only that SMOTE balanced
    the BoT-IoT training data; we assume every minority class is oversampled to the majority's count
    (``sampling_strategy='auto'``) and that validation and test rows keep their natural distribution.
    ``k`` is lowered for classes with too few rows for ``k`` neighbours.
    """
    from imblearn.over_sampling import SMOTE

    counts = np.bincount(y)
    strategy: str | dict[int, int] = "auto"
    if (counts == 1).any():  # one row has no neighbour to interpolate with: such a class stays as it is
        lonely = np.flatnonzero(counts == 1).tolist()
        log.warning("SMOTE: class id(s) %s have one training row and are not oversampled", lonely)
        strategy = {c: int(counts.max()) for c in np.flatnonzero(counts > 1) if counts[c] < counts.max()}
    smallest = counts[counts > 1].min() if (counts > 1).any() else 2
    k_used = max(1, min(k, smallest - 1))
    if k_used < k:
        log.warning("SMOTE: smallest class has %d rows; k_neighbors lowered from %d to %d", smallest, k, k_used)
    X_res, y_res = SMOTE(sampling_strategy=strategy, k_neighbors=k_used, random_state=seed).fit_resample(X, y)
    return X_res.astype(np.float32), y_res.astype(np.int64)


def _first_steps(df: pd.DataFrame, cfg: PrepConfig) -> tuple[pd.DataFrame, np.ndarray, PrepReport]:
    """A new report of ``df`` (rows loaded, the loaders' repairs, identifier and label columns), then the
    ``SAMPLE_ROWS`` sample and the copies of a flow found (``DEDUP``, ``DEDUP_DIGITS``, ``DEDUP_CONFLICTS``:
    :func:`lib.preprocess.dedup.kept_rows`), each counted in it. Returns the frame (``df``, or its sample), the
    positions of the rows kept in it and the report: the frame itself is not copied."""
    rows_read = df.attrs.get("sample", {}).get("rows_read", len(df))  # a sample drawn while loading: all rows
    report = PrepReport(rows_loaded=rows_read, repairs=list(df.attrs.get("repairs", [])))
    report.identifier_columns = datasets.identifier_columns(df)
    report.label_columns = datasets.label_columns(df)
    df = sample_rows(df, cfg.sample_rows, cfg.seed)
    report.rows_after_sample = len(df)
    dedup_columns = datasets.feature_columns(df, keep_identifiers=cfg.keep_identifiers)
    if cfg.dedup:
        kept, report.dedup = kept_rows(df, dedup_columns, cfg.dedup_digits, cfg.dedup_conflicts)
        report.duplicates_removed = report.rows_after_sample - len(kept)
        log.info(
            "dedup: %d rows removed (%d exact copies, %d rounded copies, %d of %d rows with conflicting labels), "
            "%d rows left",
            report.duplicates_removed,
            report.dedup["exact copies removed"],
            report.dedup["rounded copies removed"],
            report.dedup["conflicting rows dropped"],
            report.dedup["conflict_rows"],
            len(kept),
        )
    else:
        kept = np.arange(len(df))
        report.dedup = dedup_counts(df, df)
    report.rows_after_dedup = len(kept)
    return df, kept, report


#: The column of :func:`_row_frame` that holds each row's position in the frame it was taken from.
POSITION = "__position__"


def _row_frame(df: pd.DataFrame, kept: np.ndarray, cfg: PrepConfig) -> pd.DataFrame:
    """The rows ``kept`` of ``df`` with every column but the features (labels, identifiers, times, sources, and
    the ``GROUP_COLUMNS`` a group split reads), and their positions in ``df`` (column :data:`POSITION`): what
    the labels and the split read, without a copy of the feature columns."""
    if POSITION in df.columns:
        raise ValueError(
            f"the data has a column named {POSITION!r}, a name notebook 01 keeps for itself. Fix: rename it"
        )
    features = set(datasets.feature_columns(df, keep_identifiers=False)) - set(cfg.group_columns)
    columns = [c for c in df.columns if c not in features]
    rows = df[columns].iloc[kept].reset_index(drop=True)
    rows.attrs = dict(df.attrs)
    rows[POSITION] = kept
    return rows


def _fit_features(
    frame: pd.DataFrame,
    y: np.ndarray,
    rows: dict[str, np.ndarray],
    every_row: np.ndarray,
    split_columns: list[str],
    cfg: PrepConfig,
    report: PrepReport,
    out: Callable[[str], Path] | None = None,
) -> tuple[ColumnPipelines, dict[str, np.ndarray]]:
    """Select the features on the training rows, fit the preprocessor on them and transform every split:
    ``(preprocessor, {split: X})``. ``rows``: each split's positions in ``frame``; ``y``: the class ids of
    ``rows["train"]``; ``every_row``: the positions of every row kept (the imputation counts). Fills the report's
    columns and imputation counts. ``out(name)``: the file each split's array is written to as it is made
    (:class:`ArrayFile`); in memory if not given."""
    numeric, categorical, report.dropped_columns = select_features(frame, rows["train"], cfg, y, split_columns)
    report.numeric_columns, report.categorical_columns = numeric, categorical
    report.category_columns = category_features(cfg, numeric, categorical, report.dropped_columns)
    report.imputed = imputation_counts(RowView(frame, every_row), numeric)

    pre = build_preprocessor(
        numeric, categorical, cfg.max_categories, cfg.scaling, report.category_columns, cfg.seed, len(rows["train"])
    )
    pre.fit_rows(frame, rows["train"])  # one block of columns of the training rows at a time
    positions = [frame.columns.get_loc(c) for c in numeric + categorical]  # one take of rows and columns
    X = {}
    for split in SPLIT_NAMES:
        place = None if out is None else (lambda shape, s=split: ArrayFile(out(f"X_{s}"), shape, np.float32))
        X[split] = transform_rows(pre, frame, rows[split], positions, out=place)
    return pre, X


def row_tables(df: pd.DataFrame, idx: dict[str, np.ndarray], split_columns: list[str]) -> dict[str, pd.DataFrame]:
    """Per split, the labels, identifier columns, the split's columns and ``source_file`` of its rows (never
    features), aligned with its arrays."""
    kept = set(registry.LABEL_COLUMNS) | set(datasets.identifier_columns(df)) | set(datasets.label_columns(df))
    kept |= set(split_columns)
    keep_cols = [c for c in df.columns if c in kept]
    keep_cols += ["source_file"] if "source_file" in df and "source_file" not in keep_cols else []
    return {s: df.iloc[i][keep_cols].reset_index(drop=True) for s, i in idx.items()}


def _count_classes(
    y: np.ndarray, idx: dict[str, np.ndarray], class_names: list[str], cfg: PrepConfig, report: PrepReport
) -> None:
    """Rows and rows per class of each split into the report, with a warning for each class that training or
    test lacks."""
    for s, i in idx.items():
        report.split_rows[s] = len(i)
        report.class_counts[s] = {
            class_names[c]: int(n) for c, n in enumerate(np.bincount(y[i], minlength=len(class_names)))
        }
        report.classes_absent[s] = [c for c, n in report.class_counts[s].items() if n == 0]
    if report.classes_absent["train"]:
        log.warning(
            "SPLIT=%r: no training row of %s: a detector cannot learn these classes (they stay in the class list, "
            "with the same ids in every split)",
            cfg.split,
            report.classes_absent["train"],
        )
    if report.classes_absent["test"]:
        log.warning(
            "SPLIT=%r: no test row of %s: these classes are not evaluated", cfg.split, report.classes_absent["test"]
        )


def _add_smote(data: PreparedData, cfg: PrepConfig, report: PrepReport) -> None:
    """Paper 2's balanced training set D2 (:func:`smote` of the training rows) into ``data``, counted in the
    report."""
    class_names = data.class_names
    data.X_train_smote, data.y_train_smote = smote(data.X_train, data.y_train, cfg.seed, cfg.smote_k)
    report.smote_rows = len(data.y_train_smote)
    report.class_counts["train_smote"] = {
        class_names[c]: int(n) for c, n in enumerate(np.bincount(data.y_train_smote, minlength=len(class_names)))
    }


@dataclass
class SplitFrame:
    """A loaded frame after notebook 01's first steps (sample, duplicates), labels and split, before any feature
    is selected or fitted (:func:`split_frame`): ``df`` the rows kept, with every column but the features
    (:func:`_row_frame`), ``y`` their class ids, ``idx`` the positions of each split's rows in ``df``,
    ``split_columns`` the columns the split grouped or ordered by, ``report`` what was counted so far;
    ``frame`` the loaded frame (or its sample) whose feature columns are read, and ``positions`` the position in
    ``frame`` of each row of ``df``."""

    df: pd.DataFrame
    y: np.ndarray
    idx: dict[str, np.ndarray]
    split_columns: list[str]
    class_names: list[str]
    report: PrepReport
    frame: pd.DataFrame
    positions: np.ndarray


def split_frame(df: pd.DataFrame, cfg: PrepConfig) -> SplitFrame:
    """Steps 1-4 of :func:`prepare`: column names checked, the sample and duplicates, labels, the split; the
    feature columns are not copied (their rows are read by position later)."""
    check_column_names(df, cfg)  # before the work: a misspelt column name is an error at once
    frame, kept, report = _first_steps(df, cfg)
    rows = _row_frame(frame, kept, cfg)
    rows, y, class_names = make_labels(rows, cfg, report)
    rows, y, idx, split_columns = split_rows(rows, y, cfg, report)
    positions = rows.pop(POSITION).to_numpy()
    return SplitFrame(rows, y, idx, split_columns, class_names, report, frame, positions)


def fit_prepared(
    split: SplitFrame,
    idx: dict[str, np.ndarray],
    cfg: PrepConfig,
    report: PrepReport,
    out: Callable[[str], Path] | None = None,
) -> tuple[PreparedData, ColumnPipelines]:
    """Steps 5-6 of :func:`prepare` on the rows ``idx`` of ``split`` (its own split, or fewer rows of it): the
    features selected and the preprocessor fitted on ``idx["train"]`` alone, every split transformed, the row
    tables and class counts into ``report``. No SMOTE, no ``meta``: :func:`prepare` adds those. ``out(name)``:
    the file each array is written to as it is made (see :func:`prepare`)."""
    y = split.y
    rows = {s: split.positions[i] for s, i in idx.items()}
    pre, X = _fit_features(split.frame, y[idx["train"]], rows, split.positions, split.split_columns, cfg, report, out)
    tables = row_tables(split.df, idx, split.split_columns)
    _count_classes(y, idx, split.class_names, cfg, report)
    labels = {s: _labels(y[idx[s]], out, f"y_{s}") for s in SPLIT_NAMES}
    data = PreparedData(
        X_train=X["train"],
        y_train=labels["train"],
        X_val=X["val"],
        y_val=labels["val"],
        X_test=X["test"],
        y_test=labels["test"],
        feature_names=[str(n) for n in pre.get_feature_names_out()],
        class_names=split.class_names,
        label_mode=cfg.label_mode,
        rows=tables,
    )
    return data, pre


def _labels(y: np.ndarray, out: Callable[[str], Path] | None, name: str) -> np.ndarray:
    """Class ids as int64, written to ``out(name)`` when given."""
    y = np.ascontiguousarray(y, dtype=np.int64)
    if out is None:
        return y
    target = ArrayFile(out(name), y.shape, np.int64)
    target[0 : len(y)] = y
    return target.close()


def prepare(
    df: pd.DataFrame, cfg: PrepConfig, out: Callable[[str], Path] | None = None
) -> tuple[PreparedData, ColumnPipelines, PrepReport]:
    """Everything from a loaded frame to train/val/test arrays; fitted on training rows only (the steps in
    order: :mod:`lib.preprocess`): :func:`split_frame`, then :func:`fit_prepared` on its split.

    The frame is never copied whole: duplicates, labels and the split work on row positions and the
    non-feature columns, the features are chosen and fitted one column or block at a time, and each split is
    transformed in batches. ``out(name)``, if given, is the path of the ``.npy`` file for the array ``name``
    (``X_train``, ``y_train``, ...): each is written there as it is made and handed back as a read-only memory
    map (:class:`ArrayFile`), so the arrays never sit in memory together (a run folder's stage hands out those
    paths: :meth:`lib.run.Stage.array_file`)."""
    split = split_frame(df, cfg)
    report = split.report
    data, pre = fit_prepared(split, split.idx, cfg, report, out)
    if cfg.smote:
        _add_smote(data, cfg, report)
    data.meta = {"config": dict(cfg.__dict__), "report": report.as_dict()}
    return data, pre, report
