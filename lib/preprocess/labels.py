"""Rows and labels before the split (notebook 01): the quick-run sample, exact duplicates, class ids."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from lib import datasets
from lib.datasets import sampling
from lib.preprocess.config import BENIGN, OTHER_ATTACK, PrepConfig
from lib.preprocess.prep_report import PrepReport

log = logging.getLogger(__name__)


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
