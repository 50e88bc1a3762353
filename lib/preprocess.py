"""Preprocessing as paper 1 (section II.A) describes it, fitted on training rows only (notebook 01).

Order of operations, each step logged with its counts:

1. optional stratified subsample (``SAMPLE_ROWS``, quick runs only);
2. exact duplicate rows removed before splitting (over the feature columns and the label);
3. labels: ``binary`` (Benign vs Attack) or ``multiclass`` (attack families; rare families merged into
   ``OtherAttack`` or dropped);
4. stratified 80/20 train/test split, then a stratified validation split carved from training;
5. feature selection on training rows: identifiers out (unless kept, with a warning that it leaks),
   columns absent from whole source files out, constant and duplicate columns out;
6. a scikit-learn ``ColumnTransformer`` fitted on training rows: ``inf`` -> NaN, median imputation and
   min-max scaling for numeric columns; one-hot encoding for categorical columns (protocol; Zeek
   ``service``, ``conn_state``, ``history``; Argus ``flgs``, ``state``, ``dir``; a user's text columns);
7. optional SMOTE on the transformed training rows only; this is how we build paper 2's balanced set D2.

Class id 0 is always ``Benign``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder

from lib import datasets, registry

log = logging.getLogger(__name__)

BENIGN = "Benign"
OTHER_ATTACK = "OtherAttack"


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
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}: train, val, test or train_smote")
        return getattr(self, f"X_{name}"), getattr(self, f"y_{name}")

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """``({split: X}, {split: y})`` for train, val and test."""
        splits = ("train", "val", "test")
        return {s: self.split(s)[0] for s in splits}, {s: self.split(s)[1] for s in splits}

    def class_counts(self) -> pd.DataFrame:
        """Rows per class (index) and split (columns)."""
        counts = {s: np.bincount(self.split(s)[1], minlength=self.n_classes) for s in ("train", "val", "test")}
        return pd.DataFrame(counts, index=self.class_names)


@dataclass
class PrepConfig:
    """Parameters of :func:`prepare`; notebook 01 exposes each as an UPPER_CASE parameter."""

    label_mode: str = "binary"  # "binary" or "multiclass"
    dedup: bool = True  # drop exact duplicate rows before splitting
    test_size: float = 0.2  # paper 1: stratified 80/20
    val_size: float = 0.1  # fraction of the training part held out for validation (early stopping)
    min_class_count: int = 30  # multiclass: families with fewer rows (after dedup) are merged or dropped
    rare_classes: str = "merge"  # "merge" into OtherAttack, or "drop"
    keep_identifiers: bool = False  # True leaks addresses/ports/times into the features
    drop_partial_columns: bool = True  # drop features absent from whole source files
    drop_columns: tuple[str, ...] = ()  # extra columns to leave out
    allow_columns: tuple[str, ...] = ()  # columns used as features although flagged (identifier, label leak)
    max_categories: int = 32  # one-hot: at most this many columns per categorical feature
    smote: bool = False  # paper 2: SMOTE on the training rows only (the balanced set D2)
    smote_k: int = 5
    sample_rows: int = 0  # 0 = all rows
    seed: int = 42

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> PrepConfig:
        """From notebook 01's parameters: each field is the parameter of the same name in upper case."""
        values = {f: parameters[f.upper()] for f in cls.__dataclass_fields__ if f.upper() in parameters}
        for name in ("drop_columns", "allow_columns"):
            if isinstance(values.get(name), str):
                values[name] = tuple(c.strip() for c in values[name].split(",") if c.strip())
        return cls(**values)


@dataclass
class PrepReport:
    """What :func:`prepare` did, for notebook 01's tables and ``meta.json``."""

    rows_loaded: int = 0
    rows_after_sample: int = 0
    duplicates_removed: int = 0
    conflicting_duplicates: int = 0
    rows_after_dedup: int = 0
    rows_dropped_rare: int = 0
    merged_classes: list[str] = field(default_factory=list)
    dropped_classes: list[str] = field(default_factory=list)
    split_rows: dict[str, int] = field(default_factory=dict)
    class_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)
    numeric_columns: list[str] = field(default_factory=list)
    categorical_columns: list[str] = field(default_factory=list)
    smote_rows: int = 0
    identifier_columns: list[str] = field(default_factory=list)
    label_columns: list[str] = field(default_factory=list)  # carry the label: never features
    repairs: list[dict] = field(default_factory=list)  # the loaders' repairs, one per (file, column, kind)
    imputed: dict[str, dict[str, int]] = field(default_factory=dict)  # feature -> missing / infinite values

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def row_counts(self) -> pd.DataFrame:
        """Rows at each step of :func:`prepare`, as a one-column table."""
        counts = {
            "loaded": self.rows_loaded,
            "after SAMPLE_ROWS": self.rows_after_sample,
            "exact duplicates removed": self.duplicates_removed,
            "after dedup": self.rows_after_dedup,
            "rows sharing features with another label (kept)": self.conflicting_duplicates,
            "dropped with rare classes": self.rows_dropped_rare,
            **{f"{split} rows": n for split, n in self.split_rows.items()},
        }
        return pd.Series(counts, name="rows").to_frame()

    def dropped_table(self) -> pd.DataFrame:
        """Which columns were left out, and why (``ALLOW_COLUMNS`` overrides an identifier or a label leak)."""
        rows = [{"reason": k, "columns": ", ".join(map(str, v))} for k, v in self.dropped_columns.items()]
        return pd.DataFrame(rows, columns=["reason", "columns"])

    def repairs_table(self) -> pd.DataFrame:
        """Every repair of the input, counted: the loaders' (per file and column) and the imputation of
        missing and infinite feature values (all rows; the medians come from training rows only)."""
        rows = list(self.repairs)
        for col, counts in self.imputed.items():
            for kind, n in counts.items():
                rows.append({"file": "(all)", "column": col, "repair": f"{kind} value imputed", "count": n})
        return pd.DataFrame(rows, columns=["file", "column", "repair", "count"])


# --------------------------------------------------------------------------------------------------
def sample_rows(df: pd.DataFrame, n: int, seed: int, by: str = "label", floor: int = 20) -> pd.DataFrame:
    """A stratified random subset of about ``n`` rows. Each class keeps its share of ``n`` but at least
    ``min(floor, its size)`` rows, so rare classes survive a quick run. ``n <= 0`` returns ``df``."""
    if n <= 0 or n >= len(df):
        return df
    rng = np.random.default_rng(seed)
    counts = df[by].value_counts()
    parts = []
    for cls, count in counts.items():
        take = min(count, max(int(round(n * count / len(df))), floor))
        idx = np.flatnonzero((df[by] == cls).to_numpy())
        parts.append(rng.choice(idx, size=take, replace=False))
    return df.iloc[np.sort(np.concatenate(parts))].reset_index(drop=True)


def deduplicate(df: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, int, int]:
    """Drop rows that repeat another row exactly over ``columns`` plus the label.

    Returns the frame, the number of rows removed, and the number of remaining rows whose features equal
    another row's while their labels differ (kept: they are not duplicates, but worth knowing).
    """
    keys = columns + ["label_detail"]
    dup = df.duplicated(subset=keys)
    out = df.loc[~dup].reset_index(drop=True)
    conflicting = int(out.duplicated(subset=columns, keep=False).sum())
    return out, int(dup.sum()), conflicting


def make_labels(df: pd.DataFrame, cfg: PrepConfig, report: PrepReport) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Class ids and names for ``cfg.label_mode``; Benign is class 0. May drop rare-class rows (logged)."""
    if cfg.label_mode == "binary":
        y = df["is_attack"].to_numpy().astype(np.int64)
        names = [BENIGN, "Attack"]
    elif cfg.label_mode == "multiclass":
        family = df["label"].astype(str)
        counts = family.value_counts()
        rare = [c for c, n in counts.items() if n < cfg.min_class_count and c != BENIGN]
        if rare and cfg.rare_classes == "merge":
            family = family.where(~family.isin(rare), OTHER_ATTACK)
            report.merged_classes = sorted(rare)
            log.warning(
                "multiclass: families with < %d rows merged into %s: %s", cfg.min_class_count, OTHER_ATTACK, rare
            )
            counts = family.value_counts()
        too_small = [c for c, n in counts.items() if n < cfg.min_class_count and c != BENIGN]
        if too_small:
            keep = ~family.isin(too_small).to_numpy()
            report.dropped_classes = sorted(too_small)
            report.rows_dropped_rare = int((~keep).sum())
            log.warning(
                "multiclass: dropped %d rows of classes below %d rows: %s",
                (~keep).sum(),
                cfg.min_class_count,
                too_small,
            )
            df, family = df.loc[keep].reset_index(drop=True), family[keep].reset_index(drop=True)
        others = [c for c in family.value_counts().index if c != BENIGN]
        names = ([BENIGN] if (family == BENIGN).any() else []) + others
        y = family.map({c: i for i, c in enumerate(names)}).to_numpy().astype(np.int64)
    else:
        raise ValueError(f"LABEL_MODE must be 'binary' or 'multiclass', not {cfg.label_mode!r}")
    present = np.unique(y)
    if len(present) < 2:
        files = ", ".join(sorted(map(str, df["source_file"].unique()))[:5]) if "source_file" in df else "?"
        raise datasets.DataError(
            f"only one class ({names[present[0]] if len(present) else 'none'}) in the data from {files}: a "
            f"detector cannot be trained or evaluated. Fix: add files with both benign and attack flows "
            f"(e.g. a malware scenario beside a honeypot capture), or check BENIGN_LABELS"
        )
    return df, y, names


def split_indices(y: np.ndarray, test_size: float, val_size: float, seed: int) -> dict[str, np.ndarray]:
    """Stratified train/val/test row indices: test first, then validation carved from training."""
    counts = np.bincount(y)
    if counts[counts > 0].min() < 3:
        raise datasets.DataError(
            f"a class has fewer than 3 rows (counts per class: {counts.tolist()}): a stratified train/val/test "
            f"split needs at least 3. Fix: raise SAMPLE_ROWS, use LABEL_MODE='binary', or raise MIN_CLASS_COUNT"
        )
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
    train, val = train_test_split(train, test_size=val_size, stratify=y[train], random_state=seed)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


# --------------------------------------------------------------------------------------------------
def select_features(
    df: pd.DataFrame, train_idx: np.ndarray, cfg: PrepConfig, y_train: np.ndarray | None = None
) -> tuple[list[str], list[str], dict]:
    """Numeric and categorical feature columns, chosen on training rows; ``dropped`` says why others went.

    Never features: identifiers (unless ``keep_identifiers``), columns that carry the label by name
    (:func:`lib.datasets.label_columns`) and columns that alone predict ``y_train`` perfectly
    (:func:`perfect_predictors`); ``allow_columns`` overrides the last three for the columns it names.
    """
    dropped: dict[str, list[str]] = {}
    unknown = sorted(set(cfg.drop_columns + cfg.allow_columns) - set(df.columns))
    if unknown:
        raise ValueError(f"DROP_COLUMNS/ALLOW_COLUMNS name columns that do not exist: {unknown}")
    allowed = set(cfg.allow_columns)
    ids = datasets.identifier_columns(df)
    if cfg.keep_identifiers:
        warnings.warn(
            f"KEEP_IDENTIFIERS=True: {ids} are used as features. Addresses, ports and times identify the "
            f"capture, not the behaviour: scores will be optimistic and will not transfer to other networks.",
            stacklevel=2,
        )
    else:
        dropped["identifier"] = [c for c in ids if c not in allowed]
    dropped["carries_the_label (name)"] = [c for c in datasets.label_columns(df) if c not in allowed]
    candidates = datasets.feature_columns(df, keep_identifiers=cfg.keep_identifiers)
    candidates += [c for c in df.columns if c in allowed and c not in candidates]
    dropped["asked"] = [c for c in candidates if c in cfg.drop_columns]
    candidates = [c for c in candidates if c not in cfg.drop_columns]

    empty = [c for c in candidates if df[c].isna().all()]
    if empty and len(empty) == len(candidates):
        files = ", ".join(sorted(map(str, df["source_file"].unique()))[:5])
        raise datasets.DataError(
            f"{files}: column(s) {empty} have no value in any row (all NaN/empty), so the median imputer "
            f"cannot fill them. Fix: check the delimiter and header of these files, or leave the column(s) out "
            f"with DROP_COLUMNS={','.join(empty)!r}"
        )
    if empty:
        log.warning("dropped %d feature(s) with no value in any row: %s", len(empty), empty)
        dropped["no_value_in_any_row"] = empty
        candidates = [c for c in candidates if c not in empty]
    if cfg.drop_partial_columns and "source_file" in df and df["source_file"].nunique() > 1:
        present = df[candidates].notna().groupby(df["source_file"], observed=True).any()
        partial = [c for c in candidates if not present[c].all()]
        if partial:
            log.warning("dropped %d feature(s) absent from whole source files: %s", len(partial), partial)
        dropped["absent_from_some_files"] = partial
        candidates = [c for c in candidates if c not in partial]

    train = df.iloc[train_idx]
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
    candidates = [c for c in candidates if c not in duplicate]
    if y_train is not None:
        leaks = [c for c in perfect_predictors(train[candidates], y_train) if c not in allowed]
        if leaks:
            log.warning(
                "left out %s: each alone predicts the label of every training row (a label leak). If a column is "
                "a genuine feature, keep it with ALLOW_COLUMNS=%r",
                leaks,
                ",".join(leaks),
            )
        dropped["predicts_the_label_alone"] = leaks
        candidates = [c for c in candidates if c not in leaks]
    numeric = [c for c in candidates if pd.api.types.is_numeric_dtype(df[c])]
    categorical = [c for c in candidates if c not in numeric]
    if not numeric and not categorical:
        raise datasets.DataError("no feature column is left after selection. Fix: check the files' columns")
    return numeric, categorical, {k: v for k, v in dropped.items() if v}


def perfect_predictors(train: pd.DataFrame, y: np.ndarray, max_values: int = 50, min_rows: int = 5) -> list[str]:
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


def imputation_counts(df: pd.DataFrame, numeric: list[str]) -> dict[str, dict[str, int]]:
    """Per numeric feature, the rows whose value is missing or infinite: the values the imputer fills."""
    summary = missing_summary(df, numeric).set_index("column")
    return {
        col: {k: int(row[key]) for k, key in (("missing", "nan"), ("infinite", "inf")) if row[key]}
        for col, row in summary.iterrows()
    }


def _inf_to_nan(X):
    # A fresh float64 copy, then in place: the imputer and scaler after it work in place on this copy too.
    X = np.array(X, dtype=np.float64)
    X[np.isinf(X)] = np.nan
    return X


def _to_float32(X):
    # The prepared arrays are float32: cast the scaled numeric block before the ColumnTransformer stacks it
    # with the (float32) one-hot block, instead of stacking in float64 and casting the whole matrix after.
    return np.asarray(X, dtype=np.float32)


def _as_category_strings(X):
    frame = pd.DataFrame(X)
    return frame.astype(object).where(frame.notna(), "(unset)").astype(str).to_numpy()


def build_preprocessor(numeric: list[str], categorical: list[str], max_categories: int = 32) -> ColumnTransformer:
    """inf -> NaN, median imputation, min-max scaling (numeric); one-hot encoding (categorical).

    Numeric columns are scaled in float64 (on one private copy, in place) and handed on as float32, so the
    transformer outputs float32, the dtype of the prepared arrays.
    """
    numeric_steps = Pipeline(
        [
            ("inf_to_nan", FunctionTransformer(_inf_to_nan, feature_names_out="one-to-one")),
            ("median", SimpleImputer(strategy="median", copy=False)),
            ("minmax", MinMaxScaler(copy=False)),
            ("float32", FunctionTransformer(_to_float32, feature_names_out="one-to-one")),
        ]
    )
    categorical_steps = Pipeline(
        [
            ("unset", FunctionTransformer(_as_category_strings, feature_names_out="one-to-one")),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=max_categories,
                    sparse_output=False,
                    dtype=np.float32,
                ),
            ),
        ]
    )
    parts = [("num", numeric_steps, numeric), ("cat", categorical_steps, categorical)]
    return ColumnTransformer([part for part in parts if part[2]], verbose_feature_names_out=False)


def smote(X: np.ndarray, y: np.ndarray, seed: int, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """SMOTE (imbalanced-learn) up to the majority class count. Call it on training rows only.

    This is how we build paper 2's balanced set D2: the summary of paper 2 says only that SMOTE balanced
    the BoT-IoT training data; we assume every minority class is oversampled to the majority's count
    (``sampling_strategy='auto'``) and that validation and test rows keep their natural distribution.
    ``k`` is lowered for classes with too few rows for ``k`` neighbours.
    """
    from imblearn.over_sampling import SMOTE

    smallest = np.bincount(y)[np.bincount(y) > 0].min()
    k_used = max(1, min(k, smallest - 1))
    if k_used < k:
        log.warning("SMOTE: smallest class has %d rows; k_neighbors lowered from %d to %d", smallest, k, k_used)
    X_res, y_res = SMOTE(k_neighbors=k_used, random_state=seed).fit_resample(X, y)
    return X_res.astype(np.float32), y_res.astype(np.int64)


def missing_summary(df: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
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


# --------------------------------------------------------------------------------------------------
def prepare(df: pd.DataFrame, cfg: PrepConfig) -> tuple[PreparedData, ColumnTransformer, PrepReport]:
    """Everything from a loaded frame to train/val/test arrays; fitted on training rows only."""
    report = PrepReport(rows_loaded=len(df), repairs=list(df.attrs.get("repairs", [])))
    report.identifier_columns = datasets.identifier_columns(df)
    report.label_columns = datasets.label_columns(df)
    df = sample_rows(df, cfg.sample_rows, cfg.seed)
    report.rows_after_sample = len(df)
    dedup_columns = datasets.feature_columns(df, keep_identifiers=cfg.keep_identifiers)
    if cfg.dedup:
        df, report.duplicates_removed, report.conflicting_duplicates = deduplicate(df, dedup_columns)
        log.info("dedup: %d exact duplicate rows removed, %d rows left", report.duplicates_removed, len(df))
    report.rows_after_dedup = len(df)
    df, y, class_names = make_labels(df, cfg, report)
    idx = split_indices(y, cfg.test_size, cfg.val_size, cfg.seed)
    numeric, categorical, report.dropped_columns = select_features(df, idx["train"], cfg, y[idx["train"]])
    report.numeric_columns, report.categorical_columns = numeric, categorical
    report.imputed = imputation_counts(df, numeric)

    pre = build_preprocessor(numeric, categorical, cfg.max_categories)
    features = numeric + categorical
    positions = [df.columns.get_loc(c) for c in features]  # one take of rows and columns, not two copies
    X_train = pre.fit_transform(df.iloc[idx["train"], positions]).astype(np.float32, copy=False)
    X = {"train": X_train}
    for split in ("val", "test"):
        X[split] = pre.transform(df.iloc[idx[split], positions]).astype(np.float32, copy=False)
    kept = set(registry.LABEL_COLUMNS) | set(datasets.identifier_columns(df)) | set(datasets.label_columns(df))
    keep_cols = [c for c in df.columns if c in kept]
    keep_cols += ["source_file"] if "source_file" in df and "source_file" not in keep_cols else []
    rows = {s: df.iloc[i][keep_cols].reset_index(drop=True) for s, i in idx.items()}
    for s, i in idx.items():
        report.split_rows[s] = len(i)
        report.class_counts[s] = {
            class_names[c]: int(n) for c, n in enumerate(np.bincount(y[i], minlength=len(class_names)))
        }

    data = PreparedData(
        X_train=X_train,
        y_train=y[idx["train"]],
        X_val=X["val"],
        y_val=y[idx["val"]],
        X_test=X["test"],
        y_test=y[idx["test"]],
        feature_names=[str(n) for n in pre.get_feature_names_out()],
        class_names=class_names,
        label_mode=cfg.label_mode,
        rows=rows,
    )
    if cfg.smote:
        data.X_train_smote, data.y_train_smote = smote(X_train, data.y_train, cfg.seed, cfg.smote_k)
        report.smote_rows = len(data.y_train_smote)
        report.class_counts["train_smote"] = {
            class_names[c]: int(n) for c, n in enumerate(np.bincount(data.y_train_smote, minlength=len(class_names)))
        }
    data.meta = {"config": dict(cfg.__dict__), "report": report.as_dict()}
    return data, pre, report
