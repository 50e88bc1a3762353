"""Which columns are features (chosen on training rows, notebook 01), and what the imputer will fill."""

from __future__ import annotations

import logging
import unicodedata
import warnings
from typing import Any

import numpy as np
import pandas as pd

from lib import datasets
from lib.preprocess.config import PrepConfig

log = logging.getLogger(__name__)


class RowView:
    """The rows at positions ``rows`` of ``df``, read one column at a time (``view[column]``: a Series of those
    rows, indexed from 0) and never copied whole; ``columns`` restricts the columns it shows."""

    def __init__(self, df: pd.DataFrame, rows: np.ndarray, columns: list[str] | None = None):
        self.df, self.rows = df, np.asarray(rows, dtype=np.int64)
        self.columns = pd.Index(df.columns if columns is None else columns)

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, column: object) -> bool:
        return column in self.columns

    def __getitem__(self, column: Any) -> Any:
        if isinstance(column, list):
            return RowView(self.df, self.rows, column)
        if column not in self.columns:
            raise KeyError(column)
        return self.df[column].iloc[self.rows].reset_index(drop=True)


def check_column_names(df: pd.DataFrame, cfg: PrepConfig) -> None:
    """``DROP_COLUMNS``, ``ALLOW_COLUMNS`` and ``CATEGORY_COLUMNS`` must name columns of ``df`` (compared in
    Unicode NFC, as the readers read a header and :class:`PrepConfig` the names): a ``ValueError`` naming the
    others (a typo must not pass silently)."""
    columns = {unicodedata.normalize("NFC", str(c)) for c in df.columns}
    for names, what in (
        (cfg.drop_columns + cfg.allow_columns, "DROP_COLUMNS/ALLOW_COLUMNS"),
        (cfg.category_columns, "CATEGORY_COLUMNS"),
    ):
        unknown = sorted(n for n in set(names) if unicodedata.normalize("NFC", n) not in columns)
        if unknown:
            raise ValueError(f"{what} name columns that do not exist: {unknown}")


def _candidate_columns(
    df: pd.DataFrame, cfg: PrepConfig, split_columns: list[str] | tuple[str, ...], dropped: dict[str, list[str]]
) -> list[str]:
    """The feature columns before any test on values: identifiers (unless ``keep_identifiers``, with a warning
    that they leak), label columns, the split's columns and ``drop_columns`` left out (``dropped`` says so),
    ``allow_columns`` let in."""
    allowed = set(cfg.allow_columns)
    ids = datasets.identifier_columns(df)
    if cfg.keep_identifiers:
        warnings.warn(
            f"KEEP_IDENTIFIERS=True: {ids} are used as features. Addresses, ports and times identify the "
            f"capture, not the behaviour: scores will be optimistic and will not transfer to other networks.",
            stacklevel=3,  # the caller of select_features
        )
    else:
        dropped["identifier"] = [c for c in ids if c not in allowed]
    dropped["carries_the_label (name)"] = [c for c in datasets.label_columns(df) if c not in allowed]
    candidates = datasets.feature_columns(df, keep_identifiers=cfg.keep_identifiers)
    candidates += [c for c in df.columns if c in allowed and c not in candidates]
    dropped["used_by_the_split"] = [c for c in candidates if c in split_columns]
    dropped["asked"] = [c for c in candidates if c in cfg.drop_columns and c not in split_columns]
    return [c for c in candidates if c not in cfg.drop_columns and c not in split_columns]


def _without_empty_or_partial(
    df: pd.DataFrame | RowView, candidates: list[str], cfg: PrepConfig, dropped: dict[str, list[str]]
) -> list[str]:
    """``candidates`` without the columns that have no value in any row of ``df`` (the training rows: all of them
    empty is a :class:`DataError`) and, with ``drop_partial_columns``, those absent from the training rows of
    whole source files (a file with no training row has no say: its missing values are imputed)."""
    empty = [c for c in candidates if df[c].isna().all()]
    if empty and len(empty) == len(candidates):
        files = ", ".join(sorted(map(str, df["source_file"].unique()))[:5])
        raise datasets.DataError(
            f"{files}: column(s) {empty} have no value in any row (all NaN/empty), so the median imputer "
            f"cannot fill them. Fix: check the delimiter and header of these files, or leave the column(s) out "
            f"with DROP_COLUMNS={','.join(empty)!r}"
        )
    if empty:
        log.info("dropped %d feature(s) with no value in any row: %s", len(empty), empty)
        dropped["no_value_in_any_row"] = empty
        candidates = [c for c in candidates if c not in empty]
    if cfg.drop_partial_columns and "source_file" in df and df["source_file"].nunique() > 1:
        files = df["source_file"]
        partial = [c for c in candidates if not df[c].notna().groupby(files, observed=True).any().all()]
        if partial:
            log.info("dropped %d feature(s) absent from whole source files: %s", len(partial), partial)
        dropped["absent_from_some_files"] = partial
        candidates = [c for c in candidates if c not in partial]
    return candidates


def _without_constant_or_duplicate(
    train: pd.DataFrame | RowView, candidates: list[str], dropped: dict[str, list[str]]
) -> list[str]:
    """``candidates`` without the columns constant on the training rows and those equal there to an earlier
    column."""
    constant = [c for c in candidates if train[c].nunique(dropna=True) <= 1]
    dropped["constant_in_train"] = constant
    candidates = [c for c in candidates if c not in constant]
    seen: dict[int, str] = {}
    duplicate = []
    for c in candidates:
        key = int(pd.util.hash_pandas_object(train[c], index=False).to_numpy().sum())
        if key in seen and train[c].equals(train[seen[key]]):
            duplicate.append(c)
        else:
            seen.setdefault(key, c)
    dropped["duplicate_of_other_in_train"] = duplicate
    return [c for c in candidates if c not in duplicate]


def _without_leaks(
    train: pd.DataFrame | RowView,
    candidates: list[str],
    y_train: np.ndarray,
    cfg: PrepConfig,
    dropped: dict[str, list[str]],
) -> list[str]:
    """``candidates`` without the columns that alone predict ``y_train`` (:func:`perfect_predictors`), unless
    ``allow_columns`` names them."""
    allowed = set(cfg.allow_columns)
    leaks = [c for c in perfect_predictors(train[candidates], y_train) if c not in allowed]
    if leaks:
        log.warning(
            "left out %s: each alone predicts the label of every training row (a label leak). If a column is "
            "a genuine feature, keep it with ALLOW_COLUMNS=%r",
            leaks,
            ",".join(leaks),
        )
    dropped["predicts_the_label_alone"] = leaks
    return [c for c in candidates if c not in leaks]


def select_features(
    df: pd.DataFrame,
    train_idx: np.ndarray,
    cfg: PrepConfig,
    y_train: np.ndarray | None = None,
    split_columns: list[str] | tuple[str, ...] = (),
) -> tuple[list[str], list[str], dict]:
    """Numeric and categorical feature columns, chosen on training rows; ``dropped`` says why others went.

    Never features: identifiers (unless ``keep_identifiers``), the ``split_columns`` a split grouped or ordered
    the rows by (whatever ``keep_identifiers`` and ``allow_columns`` say), columns that carry the label by name
    (:func:`lib.datasets.label_columns`) and columns that alone predict ``y_train`` perfectly
    (:func:`perfect_predictors`); ``allow_columns`` overrides the first, third and fourth for the columns it
    names. Columns empty in every training row, absent from the training rows of whole source files
    (``drop_partial_columns``), constant or duplicated on the training rows are left out too: no test row has a
    say in which columns are features.
    """
    dropped: dict[str, list[str]] = {}
    check_column_names(df, cfg)
    candidates = _candidate_columns(df, cfg, split_columns, dropped)
    train = RowView(df, train_idx)  # column by column: no copy of every training row
    candidates = _without_empty_or_partial(train, candidates, cfg, dropped)
    candidates = _without_constant_or_duplicate(train, candidates, dropped)
    if y_train is not None:
        candidates = _without_leaks(train, candidates, y_train, cfg, dropped)
    numeric = [c for c in candidates if pd.api.types.is_numeric_dtype(df[c])]
    categorical = [c for c in candidates if c not in numeric]
    if not numeric and not categorical:
        raise datasets.DataError("no feature column is left after selection. Fix: check the files' columns")
    return numeric, categorical, {k: v for k, v in dropped.items() if v}


def missing_columns_table(missing_columns: dict[str, list[str]]) -> pd.DataFrame:
    """The columns some source files lack (the loaders' ``df.attrs["missing_columns"]``: column -> files), one
    row each with the number of files lacking it and their names."""
    rows = [{"column": c, "files lacking it": len(f), "files": ", ".join(f)} for c, f in missing_columns.items()]
    return pd.DataFrame(rows, columns=["column", "files lacking it", "files"])


def perfect_predictors(
    train: pd.DataFrame | RowView, y: np.ndarray, max_values: int = 50, min_rows: int = 5
) -> list[str]:
    """Columns whose value alone gives the class of every training row that has a value: each distinct
    value occurs with one class only, the values span at least two classes, and each value has at least
    ``min_rows`` rows on average. Missing values are left out (a feature unset for one class is not a label),
    and columns with more than ``max_values`` distinct values are not tested (near-unique values "predict"
    anything and say nothing)."""
    flagged = []
    for col in train.columns:
        present = train[col].notna().to_numpy()
        codes, uniques = pd.factorize(train[col][present])
        if not 0 < len(uniques) <= max_values or present.sum() < min_rows * len(uniques):
            continue
        classes = y[present]
        if len(np.unique(classes)) < 2:
            continue
        pairs = np.unique(codes.astype(np.int64) * (int(y.max()) + 1) + classes)
        if len(pairs) == len(uniques):
            flagged.append(col)
    return flagged


def category_features(cfg: PrepConfig, numeric: list[str], categorical: list[str], dropped: dict) -> list[str]:
    """The ``CATEGORY_COLUMNS`` that are numeric features: their values are one-hot encoded too. A named column
    that selection left out, or that is categorical already, is named in a warning and not encoded twice."""
    encoded = [c for c in cfg.category_columns if c in numeric]
    for c in cfg.category_columns:
        if c in categorical:
            log.warning("CATEGORY_COLUMNS: %r is a categorical column, one-hot encoded already", c)
        elif c not in numeric:
            why = next((reason for reason, cols in dropped.items() if c in cols), "not a feature")
            log.warning("CATEGORY_COLUMNS: %r is not a feature (%s), so it is not encoded", c, why)
    return encoded


def imputation_counts(df: pd.DataFrame | RowView, numeric: list[str]) -> dict[str, dict[str, int]]:
    """Per numeric feature, the rows whose value is missing or infinite: the values the imputer fills."""
    summary = missing_summary(df, numeric).set_index("column")
    return {
        col: {k: int(row[key]) for k, key in (("missing", "nan"), ("infinite", "inf")) if row[key]}
        for col, row in summary.iterrows()
    }


def missing_summary(df: pd.DataFrame | RowView, columns: list[str] | None = None) -> pd.DataFrame:
    """Per candidate feature (or per column of ``columns``): count of NaN and of +/-inf values, and the share
    of rows affected; columns with neither are left out."""
    cols = datasets.feature_columns(df) if columns is None else columns
    rows = []
    for c in cols:
        nan = int(df[c].isna().sum())
        inf = int(np.isinf(df[c].to_numpy(dtype=np.float64)).sum()) if pd.api.types.is_numeric_dtype(df[c]) else 0
        if nan or inf:
            rows.append({"column": c, "nan": nan, "inf": inf, "share": (nan + inf) / max(len(df), 1)})
    return pd.DataFrame(rows, columns=["column", "nan", "inf", "share"]).sort_values("share", ascending=False)
