"""Preprocessing as paper 1 (section II.A) describes it, fitted on training rows only (notebook 01).

Order of operations, each step logged with its counts:

1. optional stratified subsample (``SAMPLE_ROWS``, quick runs only);
2. exact duplicate rows removed before splitting (over the feature columns and the label);
3. labels: ``binary`` (Benign vs Attack) or ``multiclass`` (attack families; rare families merged into
   ``OtherAttack`` or dropped);
4. the train/validation/test split (``SPLIT``):

   * ``stratified`` (paper 1, the default): stratified 80/20, then a stratified validation part carved
     from training;
   * ``group``: every flow of a host pair (the unordered source/destination address pair) on one side only;
     a conversation key (CICFlowMeter ``Flow ID``) where the data has no addresses, or ``GROUP_COLUMNS``;
     folds of scikit-learn's ``StratifiedGroupKFold`` (classes balanced as far as the groups allow), the
     validation part carved by group too;
   * ``time``: ordered by the flow's start time (Zeek ``ts``, CICFlowMeter ``Timestamp``, Argus ``stime``,
     parsed file by file: :mod:`lib.datasets.times`; CICIDS2017's 12-hour clock without AM/PM has its
     afternoon hours 1-7 read as 13-19, a repair counted in ``report.repairs`` and in the split info),
     training on the earlier part, testing on the later; validation is the latest part of the training period;
   * ``source``: whole capture files held out (IoT-23 scenario by scenario, CICIDS2017 day by day, the day
     read from the file names or, for a CICIDS2017 file whose name names none, from each row's own
     ``Timestamp``: :func:`lib.datasets.schema.capture_sources`; a row dated neither way keeps its file as its
     source, and the split info says how many rows were dated by their time and which files stayed sources of
     their own), named by ``TEST_SOURCES`` or chosen automatically (seeded, about ``TEST_SIZE`` of the rows,
     benign and attack rows on both sides where possible); validation rows are carved from the training
     sources.

   Class ids are the same in every split; a class missing from training (possible under ``group``, ``time``
   and ``source``) is logged, and every split's rows, classes, groups, time range and sources are recorded
   (:meth:`PrepReport.split_table`);
5. feature selection on training rows: identifiers out (unless kept, with a warning that it leaks; the
   columns a split groups or orders by are out in any case), columns absent from whole source files out,
   constant and duplicate columns out;
6. a scikit-learn ``ColumnTransformer`` fitted on training rows: ``inf`` -> NaN, median imputation and
   scaling (``SCALING``: min-max as in paper 1; sign-preserving ``log1p`` then min-max or standard scaling;
   or a quantile transform) for numeric columns; one-hot encoding for categorical columns (protocol; Zeek
   ``service``, ``conn_state``, ``history``; Argus ``flgs``, ``state``, ``dir``; a user's text columns) and
   for the numeric columns named in ``CATEGORY_COLUMNS`` (whose scaled value stays a feature too);
7. optional SMOTE on the transformed training rows only; this is how we build paper 2's balanced set D2.

Class id 0 is always ``Benign``.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedGroupKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, QuantileTransformer, StandardScaler

from lib import datasets, registry
from lib.datasets import sampling, schema, times

log = logging.getLogger(__name__)

BENIGN = "Benign"
OTHER_ATTACK = "OtherAttack"
SCALINGS = ("minmax", "log_minmax", "log_standard", "quantile")
SPLITS = ("stratified", "group", "time", "source")
SPLIT_NAMES = ("train", "val", "test")
#: ``SPLIT="group"``/``"time"``: the largest share of rows that may lack a group key / a start time (they
#: become groups of their own / are dropped, with a warning); more is a :class:`DataError`.
MAX_SHARE_WITHOUT_KEY = 0.01
#: ``SPLIT="source"`` without ``TEST_SOURCES``: the held-out sources are drawn (seeded) among the choices whose
#: share of rows is within this distance of the closest one to ``TEST_SIZE``.
SOURCE_SHARE_TOLERANCE = 0.05
_NAME_LISTS = ("drop_columns", "allow_columns", "category_columns", "group_columns", "test_sources")


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
    scaling: str = "minmax"  # numeric columns: minmax (paper 1), log_minmax, log_standard or quantile
    category_columns: tuple[str, ...] = ()  # numeric columns also one-hot encoded (values as categories)
    split: str = "stratified"  # stratified (paper 1), group, time or source
    group_columns: tuple[str, ...] = ()  # split="group": the columns that key a group (empty: automatic)
    test_sources: tuple[str, ...] = ()  # split="source": held-out files or days (empty: automatic, seeded)
    smote: bool = False  # paper 2: SMOTE on the training rows only (the balanced set D2)
    smote_k: int = 5
    sample_rows: int = 0  # 0 = all rows
    seed: int = 42

    def __post_init__(self) -> None:
        for name in _NAME_LISTS:  # "a, b" or ["a", "b"] -> ("a", "b")
            value = getattr(self, name)
            items = value.split(",") if isinstance(value, str) else value
            setattr(self, name, tuple(str(c).strip() for c in items if str(c).strip()))
        if self.scaling not in SCALINGS:
            raise ValueError(f"SCALING must be one of {', '.join(SCALINGS)}, not {self.scaling!r}")
        if self.split not in SPLITS:
            raise ValueError(f"SPLIT must be one of {', '.join(SPLITS)}, not {self.split!r}")

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> PrepConfig:
        """From notebook 01's parameters: each field is the parameter of the same name in upper case (lists of
        names as comma-separated text)."""
        return cls(**{f: parameters[f.upper()] for f in cls.__dataclass_fields__ if f.upper() in parameters})


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
    category_columns: list[str] = field(default_factory=list)  # numeric columns also one-hot encoded
    rows_without_time: int = 0  # SPLIT="time": rows dropped for want of a start time
    split: dict[str, Any] = field(default_factory=dict)  # what the split did: describe_split()
    classes_absent: dict[str, list[str]] = field(default_factory=dict)  # split -> classes without a row there

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
            **(
                {"dropped without a start time (SPLIT='time')": self.rows_without_time}
                if self.rows_without_time
                else {}
            ),
            **{f"{split} rows": n for split, n in self.split_rows.items()},
        }
        return pd.Series(counts, name="rows").to_frame()

    def split_table(self) -> pd.DataFrame:
        """One row per split: rows, classes present (and absent), and what the split kept apart: groups (and how
        many the split shares with training), the time range, the sources (and, where not every row's source is
        its file's day or scenario, how many rows of each split found it by ``file name``, by ``start time`` or
        are of an ``own file``, a source of its own)."""
        info = self.split
        table = pd.DataFrame(index=pd.Index(list(self.split_rows), name=f"split ({info.get('kind', '?')})"))
        table["rows"] = pd.Series(self.split_rows)
        counts = {s: c for s, c in self.class_counts.items() if s in self.split_rows}
        table["classes"] = pd.Series({s: sum(n > 0 for n in c.values()) for s, c in counts.items()})
        table["classes absent"] = pd.Series({s: ", ".join(self.classes_absent.get(s, [])) for s in counts})
        if "groups" in info:
            without = f"; {info['rows_without_group']:,} rows have none" if info["rows_without_group"] else ""
            table[f"groups ({'/'.join(info['group_columns'])}{without})"] = pd.Series(info["groups"])
            shared = info["groups_shared_with_train"]
            table["of them also in train"] = pd.Series({s: shared.get(s, "") for s in self.split_rows})
        if "time_range" in info:
            ranges = info["time_range"]
            table[f"first {info['time_column']}"] = pd.Series({s: r[0] if r else "" for s, r in ranges.items()})
            table[f"last {info['time_column']}"] = pd.Series({s: r[1] if r else "" for s, r in ranges.items()})
            if info["rows_with_time"] != self.split_rows:
                table["rows with a time"] = pd.Series(info["rows_with_time"])
        if "sources" in info:
            every = set().union(*map(set, info["sources"].values()))
            table["sources"] = pd.Series(
                {s: f"all {len(v)}" if set(v) == every else _short_list(v) for s, v in info["sources"].items()}
            )
        found = info.get("sources_found_by", {})
        if info.get("rows_with_day_from_time") or len({k for c in found.values() for k in c}) > 1:
            table["sources found by"] = pd.Series(
                {s: "; ".join(f"{k} {n:,}" for k, n in c.items()) for s, c in found.items()}
            )
        return table

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
def sample_rows(df: pd.DataFrame, n: int, seed: int, by: str = "label", floor: int = sampling.FLOOR) -> pd.DataFrame:
    """A stratified random subset of about ``n`` rows. Each class keeps its share of ``n`` but at least
    ``min(floor, its size)`` rows, so rare classes survive a quick run. ``n <= 0`` returns ``df``.

    A frame that :func:`lib.datasets.load` already sampled (``attrs["sample"]``, drawn from the files' labels
    without loading them) is returned as it is when it is this sample, the same rows this function would
    draw; another ``n`` or ``seed`` is an error."""
    drawn = df.attrs.get("sample")
    if drawn:
        if (drawn["sample_rows"], drawn["seed"]) != (n, seed):
            raise ValueError(
                f"the frame is already a sample (SAMPLE_ROWS={drawn['sample_rows']}, SEED={drawn['seed']}) of "
                f"{drawn['rows_read']:,} rows, not SAMPLE_ROWS={n}, SEED={seed}. Fix: load it again with "
                f"datasets.load(..., sample_rows={n}, seed={seed}), or with sample_rows=0 to sample here"
            )
        return df
    positions = sampling.stratified_positions(df[by], n, seed, floor)
    if positions is None:
        return df
    return df.iloc[positions].reset_index(drop=True)


def deduplicate(df: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, int, int]:
    """Drop rows that repeat another row exactly over ``columns`` plus the label.

    Returns the frame, the number of rows removed, and the number of remaining rows whose features equal
    another row's while their labels differ (kept: they are not duplicates, but worth knowing).
    """
    keys = columns + ["label_detail"]
    dup = duplicated(df, keys)
    out = df.loc[~dup].reset_index(drop=True)
    conflicting = int(duplicated(out, columns, keep=False).sum())
    return out, int(dup.sum()), conflicting


_HASH_MIX = np.uint64(0x9E3779B97F4A7C15)


def duplicated(df: pd.DataFrame, columns: list[str], keep: str | bool = "first") -> np.ndarray:
    """``df.duplicated(subset=columns, keep=keep).to_numpy()``, in the memory of a few row-length arrays.

    pandas factorises every column of the subset and keeps all the codes at once (about 1 GiB more than the
    frame for 2.8 M rows of 78 columns); here each column is hashed in turn into one 64-bit hash per row, rows
    with a hash seen twice are the candidates, and each candidate is compared value by value with the first row
    of its hash, so a hash collision can never merge two different rows (collided rows fall back to pandas).
    Values are equal as pandas counts them (each column's ``pd.factorize`` codes: NaN equals NaN)."""
    if keep not in ("first", False):
        raise ValueError(f"keep must be 'first' or False, not {keep!r}")
    n = len(df)
    hashes = np.zeros(n, dtype=np.uint64)
    for column in columns:
        with np.errstate(over="ignore"):
            hashes = (hashes * _HASH_MIX) ^ pd.util.hash_array(_canonical(df[column]))
    candidates = np.flatnonzero(pd.Series(hashes).duplicated(keep=False).to_numpy())
    out = np.zeros(n, dtype=bool)
    if not len(candidates):
        return out
    order = candidates[np.argsort(hashes[candidates], kind="stable")]  # by hash, then by position
    starts = np.r_[True, hashes[order][1:] != hashes[order][:-1]]
    leader = order[np.flatnonzero(starts)[np.cumsum(starts) - 1]]  # the first row of each row's hash group
    same = np.ones(len(order), dtype=bool)
    for column in columns:
        codes = _canonical(df[column])
        same &= codes[order] == codes[leader]
    group = np.cumsum(starts) - 1
    collided = np.zeros(group[-1] + 1, dtype=bool)
    np.logical_or.at(collided, group, ~same)
    clean = ~collided[group]
    if keep == "first":
        out[order[clean & ~starts]] = True
    else:
        out[order[clean]] = True
    if collided.any():  # two different rows with one hash: decide those rows the slow, exact way
        rows = np.sort(order[~clean])
        out[rows] = df.iloc[rows].duplicated(subset=columns, keep=keep).to_numpy()
    return out


def _canonical(column: pd.Series) -> np.ndarray:
    """The column's values as codes that are equal exactly when pandas counts the values as duplicates
    (``pd.factorize``, which ``DataFrame.duplicated`` itself uses: NaN equals NaN)."""
    return pd.factorize(column)[0]


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


def _short_list(values: list[str], most: int = 6) -> str:
    shown = ", ".join(map(str, values[:most]))
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")


def _files_of(df: pd.DataFrame, rows: np.ndarray) -> str:
    """The source files of ``rows`` (a boolean mask), for error messages."""
    if "source_file" not in df:
        return "the data"
    return _short_list(sorted(map(str, df.loc[rows, "source_file"].unique())), most=4)


def group_keys(df: pd.DataFrame, columns: tuple[str, ...] = ()) -> tuple[np.ndarray, list[str]]:
    """Per row, the id of its group for ``SPLIT="group"`` (-1 where a key column is empty), and the columns used.

    ``columns`` (``GROUP_COLUMNS``) override the automatic choice: the unordered source/destination address
    pair (a host pair: :func:`lib.datasets.schema.host_pair_columns`), else a conversation key such as
    CICFlowMeter's ``Flow ID`` (:func:`lib.datasets.schema.conversation_columns`). Two given columns that are an
    address pair are taken unordered too; other columns are combined as they are.
    """
    if columns:
        unknown = [c for c in columns if c not in df.columns]
        if unknown:
            raise datasets.DataError(
                f"GROUP_COLUMNS names columns that do not exist: {unknown}. Fix: choose among the identifier "
                f"columns {datasets.identifier_columns(df)}"
            )
        pair = schema.host_pair_columns(columns) if len(columns) == 2 else None
    else:
        pair = schema.host_pair_columns(df.columns)
        columns = pair or tuple(schema.conversation_columns(df.columns))
    if not columns:
        raise datasets.DataError(
            f"SPLIT='group' needs the flows' addresses (a source/destination pair such as id.orig_h/id.resp_h, "
            f"Source IP/Destination IP, saddr/daddr, srcip/dstip) or a conversation key (Flow ID); the data "
            f"has none of them (its identifier columns: {datasets.identifier_columns(df)}). "
            f"Fix: name the column(s) that identify a conversation with GROUP_COLUMNS, or use SPLIT='source' "
            f"(whole capture files held out) or SPLIT='stratified'"
        )
    if pair:  # one code per address, whichever side it is on; a pair is (smaller code, larger code)
        codes, uniques = pd.factorize(pd.concat([df[pair[0]], df[pair[1]]], ignore_index=True).astype("string"))
        source, destination = codes[: len(df)].astype(np.int64), codes[len(df) :].astype(np.int64)
        key = np.minimum(source, destination) * (len(uniques) + 1) + np.maximum(source, destination)
        key[(source < 0) | (destination < 0)] = -1
    else:
        key = df[list(columns)].astype("string").groupby(list(columns), sort=False, dropna=True).ngroup().to_numpy()
    groups = np.full(len(df), -1, dtype=np.int64)
    groups[key >= 0] = pd.factorize(key[key >= 0])[0]
    return groups, list(columns)


def flow_start_times(df: pd.DataFrame, notes: list[dict] | None = None) -> tuple[pd.Series | None, str | None, str]:
    """Each flow's start time for ``SPLIT="time"``: of the identifier columns named like a start time
    (:func:`lib.datasets.times.time_columns`; a feature such as ``response_time`` is a duration), the one that
    parses for most rows, each file parsed apart (:func:`lib.datasets.times.times_by_file`). Returns
    ``(times, column, how it was read)``, NaT where a row has no time; ``(None, None, why not)`` when no column
    parses. ``notes`` (a list) receives the repairs made in reading the chosen column (CICIDS2017's afternoon
    hours, per file)."""
    files = df["source_file"] if "source_file" in df else None
    best: tuple[pd.Series | None, str | None, str] = (None, None, "")
    best_notes: list[dict] = []
    failures = []
    for column in times.time_columns(datasets.identifier_columns(df)):
        column_notes: list[dict] = []
        parsed, read, failed = times.times_by_file(df[column], files, column_notes)
        n = int(parsed.notna().sum())
        if n and (best[0] is None or n > int(best[0].notna().sum())):
            best = (parsed, str(column), _short_list(sorted(set(read.values())), most=3))
            best_notes = column_notes
        elif not n:
            failures.append(_short_list(sorted(set(failed.values())), most=2))
    if best[0] is None:
        looked = ", ".join(times.TIME_COLUMNS)
        return None, None, "; ".join(failures) or f"no identifier column is named like a start time ({looked})"
    if notes is not None:
        notes.extend(best_notes)
    return best


def _hold_out_groups(
    pool: np.ndarray, y: np.ndarray, groups: np.ndarray, size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, held_out)`` rows of ``pool``, whole groups on each side, about ``size`` of them held out.

    scikit-learn's ``StratifiedGroupKFold`` (shuffled with ``seed``) cuts the pool into about ``2 / size`` folds
    (at most 20) whose class mixes are as alike as the groups allow; the held-out part is the union of the one to
    three folds that comes nearest to ``size`` and that, in this order, keeps every class of the pool on the
    kept side, holds out between half and 1.5 times ``size`` of the rows, holds out as many classes as it can,
    and comes nearest to ``size``. (One huge group, such as one infected host's C&C channel, can still take a
    class to one side: that is what a group split measures.)
    """
    n_groups = len(np.unique(groups[pool]))
    if n_groups < 2:
        raise datasets.DataError(
            f"SPLIT='group': the {len(pool):,} rows to split form only {n_groups} group(s), so no group can be held "
            f"out. Fix: use GROUP_COLUMNS that tell conversations apart, or SPLIT='stratified'"
        )
    n_folds = min(n_groups, 20, max(2, int(round(2 / size))))
    with warnings.catch_warnings():  # "the least populated class has only n members": known, scored below
        warnings.simplefilter("ignore", UserWarning)
        cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        folds = [held for _, held in cv.split(pool, y[pool], groups[pool])]
    counts = np.array([np.bincount(y[pool[f]], minlength=int(y.max()) + 1) for f in folds])
    total = counts.sum(axis=0)
    present = total > 0
    best_score, best = None, None
    sizes = sorted({min(max(1, int(round(size * n_folds)) + d), n_folds - 1) for d in (-1, 0, 1)})
    for m in sizes:
        for combo in itertools.combinations(range(n_folds), m):
            held = counts[list(combo)].sum(axis=0)
            share = held.sum() / total.sum()
            score = (
                int((present & (held == total)).sum()),
                not size / 2 <= share <= 1.5 * size,
                int((present & (held == 0)).sum()),
                abs(share - size),
            )
            if best_score is None or score < best_score:
                best_score, best = score, combo
    held_rows = np.zeros(len(pool), dtype=bool)
    held_rows[np.concatenate([folds[i] for i in best])] = True
    return np.sort(pool[~held_rows]), np.sort(pool[held_rows])


def group_split_indices(
    y: np.ndarray, groups: np.ndarray, test_size: float, val_size: float, seed: int
) -> dict[str, np.ndarray]:
    """Train/val/test row indices with every group on one side only (test first, then validation carved from
    training, both by group: :func:`_hold_out_groups`). Rows of group -1 (no key) are groups of their own."""
    groups = groups.copy()
    keyless = groups < 0
    groups[keyless] = groups.max(initial=-1) + 1 + np.arange(int(keyless.sum()))
    rest, test = _hold_out_groups(np.arange(len(y)), y, groups, test_size, seed)
    train, val = _hold_out_groups(rest, y, groups, val_size, seed)
    return {"train": train, "val": val, "test": test}


def time_split_indices(start: np.ndarray, test_size: float, val_size: float) -> dict[str, np.ndarray]:
    """Train/val/test row indices in time order: test = the latest ``test_size`` of the rows, validation = the
    latest ``val_size`` of the rest, training = the earliest (ties keep the rows' order)."""
    order = np.argsort(start, kind="stable")
    n_test = min(max(1, int(round(len(order) * test_size))), len(order) - 2)
    rest, test = order[: len(order) - n_test], order[len(order) - n_test :]
    n_val = min(max(1, int(round(len(rest) * val_size))), len(rest) - 1)
    train, val = rest[: len(rest) - n_val], rest[len(rest) - n_val :]
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def _carve(pool: np.ndarray, y: np.ndarray, size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, held_out)`` rows of ``pool``, stratified by class as far as the classes allow (classes with one
    row are stratified together, and stay in ``kept`` if alone)."""
    labels = y[pool].copy()
    counts = np.bincount(labels)
    lonely = counts[labels] < 2
    if lonely.any():
        labels[lonely] = -1 if lonely.sum() >= 2 else np.bincount(y[pool]).argmax()
    try:
        kept, held = train_test_split(pool, test_size=size, stratify=labels, random_state=seed)
    except ValueError:  # fewer held-out rows than classes: a plain random carve
        kept, held = train_test_split(pool, test_size=size, random_state=seed)
    return np.sort(kept), np.sort(held)


def choose_test_sources(stats: pd.DataFrame, test_size: float, seed: int) -> list[str]:
    """Held-out sources for ``SPLIT="source"`` without ``TEST_SOURCES``.

    ``stats``: per source (index) its ``benign`` and ``attack`` rows, and any further columns the rows per class
    (``class_0``, ``class_1`` ...). Of the proper subsets of sources (all of them up to 16 sources, else 20,000
    drawn at random), those that leave benign and attack rows on both sides are preferred (all subsets when none
    does); of these, those whose share of rows is within :data:`SOURCE_SHARE_TOLERANCE` of the closest to
    ``test_size``; of these, those that leave the fewest classes without a training row; among them one is drawn
    with ``seed``.
    """
    n = len(stats)
    if n < 2:
        raise datasets.DataError(
            f"SPLIT='source' needs at least two capture files (or days); the data has {n}: {list(stats.index)}. "
            f"Fix: add files, or use SPLIT='stratified', 'group' or 'time'"
        )
    rng = np.random.default_rng(seed)
    width = min(n, 62)
    masks = np.arange(1, 2**n - 1, dtype=np.int64) if n <= 16 else rng.integers(1, 2**width - 1, size=20_000)
    member = ((masks[:, None] >> np.arange(width)) & 1).astype(np.int64)
    member = np.hstack([member, np.zeros((len(masks), n - width), dtype=np.int64)])  # sources past 62: training
    rows = stats[["benign", "attack"]].sum(axis=1).to_numpy(dtype=np.int64)
    benign, attack = (stats[k].to_numpy(dtype=np.int64) for k in ("benign", "attack"))
    held_benign, held_attack = member @ benign, member @ attack
    both_sides = (held_benign > 0) & (held_attack > 0) & (held_benign < benign.sum()) & (held_attack < attack.sum())
    if not both_sides.any():
        log.warning("SPLIT='source': no choice of held-out sources leaves benign and attack rows on both sides")
        both_sides[:] = True
    error = np.abs(member @ rows / rows.sum() - test_size)
    error[~both_sides] = np.inf
    near = error <= error.min() + SOURCE_SHARE_TOLERANCE
    per_class = stats[[c for c in stats.columns if c not in ("benign", "attack")]].to_numpy(dtype=np.int64)
    total = per_class.sum(axis=0)
    untrained = ((member @ per_class == total) & (total > 0)).sum(axis=1) if per_class.size else np.zeros(len(masks))
    best = np.flatnonzero(near & (untrained == untrained[near].min()))
    chosen = member[rng.choice(best)].astype(bool)
    return [str(s) for s, held_out in zip(stats.index, chosen, strict=True) if held_out]


def _match_sources(names: tuple[str, ...], sources: pd.Series, files: pd.Series | None) -> list[str]:
    """The sources that ``TEST_SOURCES`` names: a source's name, one of its files, or a folder or file name of one
    (case-insensitive). A name matching none is a :class:`DataError` listing the sources."""
    pairs = pd.DataFrame({"source": sources.astype(str), "file": (files if files is not None else sources).astype(str)})
    pairs = pairs.drop_duplicates()
    aliases: dict[str, set[str]] = {}
    for source, file in pairs.itertuples(index=False):
        for alias in (source, file, *file.split("/")):
            aliases.setdefault(alias.lower(), set()).add(source)
    unknown = [n for n in names if n.lower() not in aliases]
    if unknown:
        raise datasets.DataError(
            f"TEST_SOURCES names {unknown}, which are neither sources nor files of the data. The sources are: "
            f"{sorted(pairs['source'].unique())}. Fix: name some of them (comma-separated), or leave TEST_SOURCES "
            f"empty for an automatic choice"
        )
    return sorted({s for n in names for s in aliases[n.lower()]})


def source_split_indices(
    sources: pd.Series, y: np.ndarray, is_attack: np.ndarray, cfg: PrepConfig, files: pd.Series | None = None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Train/val/test row indices with whole sources held out for testing (``cfg.test_sources``, else
    :func:`choose_test_sources`); validation rows carved from the training sources (:func:`_carve`)."""
    sources = sources.astype(str).reset_index(drop=True)
    if cfg.test_sources:
        test_sources = _match_sources(cfg.test_sources, sources, files)
    else:
        attack = pd.Series(np.asarray(is_attack, dtype=np.int64))
        stats = pd.crosstab(sources, attack).reindex(columns=[0, 1], fill_value=0)
        stats.columns = ["benign", "attack"]
        classes = pd.crosstab(sources, pd.Series(y)).add_prefix("class_")
        test_sources = choose_test_sources(stats.join(classes), cfg.test_size, cfg.seed)
    held = sources.isin(test_sources).to_numpy()
    if held.all():
        raise datasets.DataError(
            f"TEST_SOURCES={','.join(cfg.test_sources)!r} holds out every source ({test_sources}): nothing is left "
            f"to train on. Fix: name fewer sources"
        )
    train, val = _carve(np.flatnonzero(~held), y, cfg.val_size, cfg.seed)
    return {"train": train, "val": val, "test": np.flatnonzero(held)}, test_sources


def _iso(value: pd.Timestamp) -> str:
    return pd.Timestamp(value).isoformat(timespec="seconds")


def describe_split(
    idx: dict[str, np.ndarray],
    kind: str,
    groups: np.ndarray | None = None,
    group_columns: list[str] | None = None,
    start: pd.Series | None = None,
    time_column: str | None = None,
    sources: pd.Series | None = None,
    source_found: pd.Series | None = None,
    files: pd.Series | None = None,
    time_how: str | None = None,
    time_repairs: list[dict] | None = None,
) -> dict[str, Any]:
    """What a split did, for ``meta.json`` and :meth:`PrepReport.split_table`: its kind; with ``groups`` (-1: no
    key) the group columns, the number of groups per split, how many of them a split shares with training and
    the rows without a key; with ``start`` times the time column, how it was read (``time_how``), the values
    whose reading was repaired (``time_repairs``: CICIDS2017's afternoon hours), the time range per split and
    the rows with a time; with ``sources`` the sources of each split and, with ``source_found``
    (:func:`lib.datasets.schema.capture_sources`), how the rows' sources were found per split, the rows whose
    day came from their start time (per file of ``files``) and the files that stayed sources of their own. Any
    split kind can be described by any key: a stratified split shares host pairs and time with its test rows,
    and this says how many."""
    info: dict[str, Any] = {"kind": kind}
    if groups is not None:
        present = {s: set(np.unique(groups[i][groups[i] >= 0]).tolist()) for s, i in idx.items()}
        info["group_columns"] = list(group_columns or [])
        info["groups"] = {s: len(g) for s, g in present.items()}
        info["groups_shared_with_train"] = {s: len(g & present["train"]) for s, g in present.items() if s != "train"}
        info["rows_without_group"] = int((groups < 0).sum())
    if start is not None:
        info["time_column"] = time_column
        info["time_read_as"] = time_how
        info["time_values_repaired"] = {n["file"]: n["count"] for n in time_repairs or []}  # file -> values
        info["time_range"] = {}
        info["rows_with_time"] = {}
        for s, i in idx.items():
            part = start.iloc[i].dropna()
            info["time_range"][s] = [_iso(part.min()), _iso(part.max())] if len(part) else None
            info["rows_with_time"][s] = len(part)
    if sources is not None:
        info["sources"] = {s: sorted(map(str, sources.iloc[i].unique())) for s, i in idx.items()}
    if sources is not None and source_found is not None:
        found = source_found.astype(str).reset_index(drop=True)
        info["sources_found_by"] = {
            s: {k: int(n) for k, n in found.iloc[i].value_counts().items() if n} for s, i in idx.items()
        }
        by_time = found.eq("start time").to_numpy()
        info["rows_with_day_from_time"] = int(by_time.sum())
        if files is not None:
            counts = pd.Series(np.asarray(files, dtype=object)[by_time]).value_counts()
            info["day_from_time"] = {str(f): int(n) for f, n in counts.sort_index().items()}
        own = found.eq("own file").to_numpy()
        info["files_as_sources"] = sorted(map(str, pd.unique(np.asarray(sources, dtype=object)[own])))
    return info


def split_rows(
    df: pd.DataFrame, y: np.ndarray, cfg: PrepConfig, report: PrepReport
) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray], list[str]]:
    """The ``cfg.split`` of ``df``'s rows into train/val/test (see the module docstring). Returns the frame and
    labels (``SPLIT="time"`` drops the few rows without a start time), the row indices per split and the
    columns the split used (never features). Fills ``report.split`` (:func:`describe_split`) and
    ``report.rows_without_time``, and adds the repairs made in reading the start times to ``report.repairs``."""
    groups = start = None
    group_columns: list[str] = []
    time_column = how = None
    time_notes: list[dict] = []  # repairs made in reading the start times
    used: list[str] = []
    if cfg.split == "group":
        groups, group_columns = group_keys(df, cfg.group_columns)
        keyless = groups < 0
        if keyless.mean() > MAX_SHARE_WITHOUT_KEY:
            raise datasets.DataError(
                f"SPLIT='group': {keyless.sum():,} of {len(df):,} rows (from {_files_of(df, keyless)}) have no "
                f"value in {group_columns}, so their conversations cannot be kept apart. Fix: read only files that "
                f"have these columns (DATA_FILES; for CICIDS2017 the TrafficLabelling CSVs have addresses, the "
                f"MachineLearningCVE CSVs do not), name other GROUP_COLUMNS, or use SPLIT='source'"
            )
        if keyless.any():
            log.warning("SPLIT='group': %d rows without %s are groups of their own", keyless.sum(), group_columns)
        idx = group_split_indices(y, groups, cfg.test_size, cfg.val_size, cfg.seed)
        used = group_columns
    elif cfg.split == "time":
        start, time_column, how = flow_start_times(df, time_notes)
        if start is None:
            raise datasets.DataError(
                f"SPLIT='time' needs each flow's start time, and no column gives it: {how}. Fix: use files with a "
                f"time column (Zeek ts, CICFlowMeter Timestamp, Argus stime), or SPLIT='source' (whole capture "
                f"files or days held out)"
            )
        missing = start.isna().to_numpy()
        if missing.mean() > MAX_SHARE_WITHOUT_KEY:
            raise datasets.DataError(
                f"SPLIT='time': {missing.sum():,} of {len(df):,} rows (from {_files_of(df, missing)}) have no start "
                f"time in {time_column!r} (the others read as {how}). Fix: read only files with times (DATA_FILES; "
                f"for CICIDS2017 the TrafficLabelling CSVs have a Timestamp, the MachineLearningCVE CSVs do not), "
                f"or use SPLIT='source'"
            )
        if missing.any():
            log.warning("SPLIT='time': %d rows without a start time in %r dropped", missing.sum(), time_column)
            df, y, start = df.loc[~missing].reset_index(drop=True), y[~missing], start[~missing].reset_index(drop=True)
        report.rows_without_time = int(missing.sum())
        idx = time_split_indices(start.to_numpy(), cfg.test_size, cfg.val_size)
        used = [time_column]
    elif cfg.split == "source":
        found = schema.capture_sources(df)
        if found is None:
            raise datasets.DataError(
                "SPLIT='source' needs the rows' source files (column source_file, which the loaders add). Fix: "
                "load the data with lib.datasets.load, or use another SPLIT"
            )
        idx, test_sources = source_split_indices(found[0], y, df["is_attack"].to_numpy(), cfg, df["source_file"])
        log.info("SPLIT='source': held out %s", test_sources)
    else:
        idx = split_indices(y, cfg.test_size, cfg.val_size, cfg.seed)

    if groups is None:  # described by every key the data has, whatever the split
        try:
            groups, group_columns = group_keys(df, cfg.group_columns)
        except datasets.DataError:
            groups = None
    if start is None:
        start, time_column, how = flow_start_times(df, time_notes)
    if cfg.split != "source":
        found = schema.capture_sources(df)
    sources, source_found = found if found is not None else (None, None)
    report.repairs.extend(time_notes)
    report.split = describe_split(
        idx, cfg.split, groups, group_columns, start, time_column, sources, source_found,
        df["source_file"] if "source_file" in df else None, how, time_notes,
    )  # fmt: skip
    if cfg.split == "source":
        report.split["test_sources"] = test_sources
    return df, y, idx, used


# --------------------------------------------------------------------------------------------------
def check_column_names(df: pd.DataFrame, cfg: PrepConfig) -> None:
    """``DROP_COLUMNS``, ``ALLOW_COLUMNS`` and ``CATEGORY_COLUMNS`` must name columns of ``df``: a
    ``ValueError`` naming the others (a typo must not pass silently)."""
    for names, what in (
        (cfg.drop_columns + cfg.allow_columns, "DROP_COLUMNS/ALLOW_COLUMNS"),
        (cfg.category_columns, "CATEGORY_COLUMNS"),
    ):
        unknown = sorted(set(names) - set(df.columns))
        if unknown:
            raise ValueError(f"{what} name columns that do not exist: {unknown}")


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
    names.
    """
    dropped: dict[str, list[str]] = {}
    check_column_names(df, cfg)
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
    dropped["used_by_the_split"] = [c for c in candidates if c in split_columns]
    dropped["asked"] = [c for c in candidates if c in cfg.drop_columns and c not in split_columns]
    candidates = [c for c in candidates if c not in cfg.drop_columns and c not in split_columns]

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


def _signed_log1p(X):
    # sign(x) * log1p(|x|) on the imputed float64 copy: heavy tails shrink, zero stays zero, signs are kept
    return np.copysign(np.log1p(np.abs(X)), X)


def _numeric_steps(scaling: str, seed: int, n_rows: int | None) -> list[tuple[str, Any]]:
    """The scaling steps of :func:`build_preprocessor` for ``scaling`` (one of :data:`SCALINGS`)."""
    log1p = ("signed_log1p", FunctionTransformer(_signed_log1p, feature_names_out="one-to-one"))
    if scaling == "minmax":
        return [("minmax", MinMaxScaler(copy=False))]
    if scaling == "log_minmax":
        return [log1p, ("minmax", MinMaxScaler(copy=False))]
    if scaling == "log_standard":
        return [log1p, ("standard", StandardScaler(copy=False))]
    if scaling == "quantile":
        quantiles = min(1000, n_rows) if n_rows else 1000
        return [("quantile", QuantileTransformer(n_quantiles=quantiles, random_state=seed, copy=False))]
    raise ValueError(f"SCALING must be one of {', '.join(SCALINGS)}, not {scaling!r}")


def _one_hot(max_categories: int) -> Pipeline:
    return Pipeline(
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


NUMERIC_BLOCK = 8  # numeric columns per fitted block of the preprocessor (see build_preprocessor)


def build_preprocessor(
    numeric: list[str],
    categorical: list[str],
    max_categories: int = 32,
    scaling: str = "minmax",
    category_columns: list[str] | tuple[str, ...] = (),
    seed: int = 0,
    n_rows: int | None = None,
) -> ColumnTransformer:
    """inf -> NaN, median imputation, scaling (numeric); one-hot encoding (categorical, and the numeric
    ``category_columns`` once more, as categories: at most ``max_categories`` columns each, rarer values
    ``infrequent``).

    ``scaling``: ``minmax`` (paper 1), ``log_minmax`` / ``log_standard`` (sign-preserving ``log1p`` after the
    imputation, then min-max or standard scaling), ``quantile`` (scikit-learn's ``QuantileTransformer`` to a
    uniform [0, 1], at most 1,000 quantiles or ``n_rows``, subsampled with ``seed``). Numeric columns are scaled
    in float64 (on one private copy, in place) and handed on as float32, so the transformer outputs float32,
    the dtype of the prepared arrays.
    """

    def numeric_steps() -> Pipeline:
        return Pipeline(
            [
                ("inf_to_nan", FunctionTransformer(_inf_to_nan, feature_names_out="one-to-one")),
                ("median", SimpleImputer(strategy="median", copy=False)),
                *_numeric_steps(scaling, seed, n_rows),
                ("float32", FunctionTransformer(_to_float32, feature_names_out="one-to-one")),
            ]
        )

    # Every step works column by column, so the numeric columns are fitted and transformed in blocks of
    # NUMERIC_BLOCK: the float64 working copies are those of one block, not of every numeric column at once
    # (the same output, in the same column order; the first block keeps the name "num").
    blocks = [numeric[i : i + NUMERIC_BLOCK] for i in range(0, len(numeric), NUMERIC_BLOCK)]
    parts = [("num" if i == 0 else f"num_{i + 1}", numeric_steps(), block) for i, block in enumerate(blocks)]
    parts += [
        ("cat", _one_hot(max_categories), categorical),
        ("num_cat", _one_hot(max_categories), list(category_columns)),
    ]
    return ColumnTransformer([part for part in parts if part[2]], verbose_feature_names_out=False)


TRANSFORM_BATCH = 131_072  # rows per call of the fitted preprocessor when writing the prepared arrays


def transform_rows(
    pre: ColumnTransformer, df: pd.DataFrame, rows: np.ndarray, columns: list[int], batch: int = TRANSFORM_BATCH
) -> np.ndarray:
    """``pre.transform(df.iloc[rows, columns])`` as float32, ``batch`` rows at a time into one array: every
    row is transformed on its own (fitted medians, scales and categories), so the result is the same as one
    call's, while the float64 working copies are those of one batch, not of the whole split."""
    out = None
    for start in range(0, len(rows), batch):
        part = pre.transform(df.iloc[rows[start : start + batch], columns])
        if out is None:
            out = np.empty((len(rows), part.shape[1]), dtype=np.float32)
        out[start : start + len(part)] = part
    if out is None:  # no row: the width from the fitted transformer
        out = np.empty((0, len(pre.get_feature_names_out())), dtype=np.float32)
    return out


def fit_rows(pre: ColumnTransformer, df: pd.DataFrame, rows: np.ndarray, columns: list[int]) -> np.ndarray:
    """Fit ``pre`` on ``df.iloc[rows, columns]`` (the training rows) and return their transform as float32.

    ``ColumnTransformer.fit`` transforms the rows anyway (it is ``fit_transform``, the output dropped), so the
    training matrix is kept from that one pass instead of being transformed a second time; each row's result
    is the fitted transform of that row, as :func:`transform_rows` gives it."""
    out = pre.fit_transform(df.iloc[rows, columns])
    return np.asarray(out, dtype=np.float32)


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
    check_column_names(df, cfg)  # before the work: a misspelt column name is an error at once
    rows_read = df.attrs.get("sample", {}).get("rows_read", len(df))  # a sample drawn while loading: all rows
    report = PrepReport(rows_loaded=rows_read, repairs=list(df.attrs.get("repairs", [])))
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
    df, y, idx, split_columns = split_rows(df, y, cfg, report)
    numeric, categorical, report.dropped_columns = select_features(
        df, idx["train"], cfg, y[idx["train"]], split_columns
    )
    report.numeric_columns, report.categorical_columns = numeric, categorical
    report.category_columns = category_features(cfg, numeric, categorical, report.dropped_columns)
    report.imputed = imputation_counts(df, numeric)

    pre = build_preprocessor(
        numeric, categorical, cfg.max_categories, cfg.scaling, report.category_columns, cfg.seed, len(idx["train"])
    )
    features = numeric + categorical
    positions = [df.columns.get_loc(c) for c in features]  # one take of rows and columns, not two copies
    X = {"train": fit_rows(pre, df, idx["train"], positions)}
    X |= {split: transform_rows(pre, df, idx[split], positions) for split in ("val", "test")}
    X_train = X["train"]
    kept = set(registry.LABEL_COLUMNS) | set(datasets.identifier_columns(df)) | set(datasets.label_columns(df))
    kept |= set(split_columns)
    keep_cols = [c for c in df.columns if c in kept]
    keep_cols += ["source_file"] if "source_file" in df and "source_file" not in keep_cols else []
    rows = {s: df.iloc[i][keep_cols].reset_index(drop=True) for s, i in idx.items()}
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
