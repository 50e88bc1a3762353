"""Copies of one flow removed before the split (notebook 01, ``DEDUP``): :func:`deduplicate` and its counts.

Two rows are copies when their feature values agree after rounding every float column to ``DEDUP_DIGITS``
significant digits (0: exact equality); text, categorical and integer columns compare exactly and a missing
value equals a missing value. The rounding only builds the key: the row that is kept keeps its own values.
Labels play no part in finding copies; they decide what happens to a group of copies:

* one label (the family ``label`` and ``is_attack`` agree): one row is kept. Copies that differ only in
  ``label_detail`` (a redistribution that labels by family, ``WebAttack``, beside one with the fine label,
  ``Web Attack - XSS``) are one flow: the row kept is one with a finer ``label_detail`` than the family (the
  group's most common such detail, then the earliest row), and the group is counted as a detail variant;
* several labels (a conflict): counted, then ``DEDUP_CONFLICTS="majority"`` keeps one row of the group's most
  common label (a tie drops the group) and ``"drop"`` drops every row of the group.

One survivor per group, chosen before the split, means that no flow is both in training and in test.
Memory stays at a few row-length arrays (:func:`duplicate_groups`): the frame is never copied for the key.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lib.datasets import schema
from lib.preprocess.config import DEDUP_CONFLICT_RULES, DEDUP_CONFLICTS, DEDUP_DIGITS

#: The fates of a removed row, in the order of :meth:`PrepReport.dedup_table`'s columns.
FATES = ("exact copies removed", "rounded copies removed", "conflicting rows dropped")
_KEPT = -1
_GROUP_COUNTS = (
    "conflict_groups",
    "conflict_rows",
    "conflict_rows_kept",
    "conflict_groups_tied",
    "detail_variant_groups",
    "detail_variant_rows",
)
_HASH_MIX = np.uint64(0x9E3779B97F4A7C15)


def round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """``values`` (float64) rounded to ``digits`` significant digits; 0, NaN and inf stay as they are, and
    ``digits == 0`` returns them unchanged. Two values with the same rounded decimal give the same float."""
    if digits <= 0:
        return values
    out = values.copy()
    ok = np.isfinite(values) & (values != 0)
    finite = values[ok]
    shift = digits - 1 - np.floor(np.log10(np.abs(finite))).astype(np.int64)
    scale = 10.0 ** np.abs(shift)  # an exact power of ten up to 1e22: a division, never a multiplication by 0.1
    out[ok] = np.where(shift >= 0, np.round(finite * scale) / scale, np.round(finite / scale) * scale)
    return out


def _canonical(column: pd.Series, digits: int = 0) -> np.ndarray:
    """The column's values as codes that are equal exactly when the values are copies: ``pd.factorize`` (which
    ``DataFrame.duplicated`` itself uses: NaN equals NaN) of the values, float columns first rounded to
    ``digits`` significant digits (:func:`round_significant`)."""
    if digits and pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.factorize(round_significant(values, digits))[0]
    return pd.factorize(column)[0]


def _codes(df: pd.DataFrame, column: str, digits: int, rows: np.ndarray | None) -> np.ndarray:
    """:func:`_canonical` of ``df[column]``, of the rows at positions ``rows`` only when given."""
    return _canonical(df[column] if rows is None else df[column].iloc[rows], digits)


def duplicate_groups(
    df: pd.DataFrame, columns: list[str], digits: int = 0, rows: np.ndarray | None = None
) -> np.ndarray:
    """For each row (of ``rows``, positions in ``df``; all rows if None), the position of the first row it is a
    copy of over ``columns`` (:func:`_canonical` with ``digits``); a row without an earlier copy gets its own.

    Each column is hashed in turn into one 64-bit hash per row; rows whose hash is seen twice are compared value
    by value with the first row of their hash, so a hash collision never merges two different rows (the rows of
    a collided hash are grouped the slow, exact way). pandas' ``duplicated`` would instead hold the codes of
    every column at once (about 1 GiB more than the frame for 2.8 M rows of 78 columns)."""
    positions = np.arange(len(df)) if rows is None else np.asarray(rows, dtype=np.int64)
    rows = None if rows is None else positions
    leader = positions.copy()
    hashes = np.zeros(len(positions), dtype=np.uint64)
    for column in columns:
        with np.errstate(over="ignore"):
            hashes = (hashes * _HASH_MIX) ^ pd.util.hash_array(_codes(df, column, digits, rows))
    candidates = np.flatnonzero(pd.Series(hashes).duplicated(keep=False).to_numpy())
    if not len(candidates):
        return leader
    order = candidates[np.argsort(hashes[candidates], kind="stable")]  # by hash, then by position
    starts = np.r_[True, hashes[order][1:] != hashes[order][:-1]]
    group = np.cumsum(starts) - 1
    first = order[np.flatnonzero(starts)[group]]  # the first row of each row's hash group
    same = np.ones(len(order), dtype=bool)
    for column in columns:
        codes = _codes(df, column, digits, rows)
        same &= codes[order] == codes[first]
    collided = np.zeros(group[-1] + 1, dtype=bool)
    np.logical_or.at(collided, group, ~same)
    clean = ~collided[group]
    leader[order[clean]] = positions[first[clean]]
    if collided.any():  # two different rows with one hash: group those rows by their codes
        slow = np.sort(order[~clean])
        codes = pd.DataFrame({i: _codes(df, c, digits, rows)[slow] for i, c in enumerate(columns)})
        ids = codes.groupby(list(codes.columns), sort=False).ngroup().to_numpy()
        firsts = slow[np.unique(ids, return_index=True)[1]]  # group ids number the groups by first appearance
        leader[slow] = positions[firsts[ids]]
    return leader


def duplicated(df: pd.DataFrame, columns: list[str], keep: str | bool = "first", digits: int = 0) -> np.ndarray:
    """``df.duplicated(subset=columns, keep=keep).to_numpy()`` (with ``digits``: of the rounded values), in the
    memory of a few row-length arrays (:func:`duplicate_groups`)."""
    if keep not in ("first", False):
        raise ValueError(f"keep must be 'first' or False, not {keep!r}")
    leader = duplicate_groups(df, columns, digits)
    if keep == "first":
        return leader != np.arange(len(df))
    return np.bincount(leader, minlength=len(df))[leader] > 1


def kept_rows(
    df: pd.DataFrame, columns: list[str], digits: int = DEDUP_DIGITS, conflicts: str = DEDUP_CONFLICTS
) -> tuple[np.ndarray, dict[str, Any]]:
    """The positions of the rows of ``df`` that :func:`deduplicate` keeps, in order, and its counts: one row per
    group of copies over ``columns`` (see the module docstring), without a copy of the frame."""
    if conflicts not in DEDUP_CONFLICT_RULES:
        raise ValueError(f"DEDUP_CONFLICTS must be one of {', '.join(DEDUP_CONFLICT_RULES)}, not {conflicts!r}")
    rounded = duplicate_groups(df, columns, digits)
    members = np.flatnonzero(np.bincount(rounded, minlength=len(df))[rounded] > 1)
    exact = duplicate_groups(df, columns, 0, members) if digits else rounded[members]
    fate, stats = np.zeros(0, dtype=np.int64), dict.fromkeys(_GROUP_COUNTS, 0)
    if len(members):
        fate, stats = _resolve(df, members, rounded[members], exact, conflicts)
    keep = np.ones(len(df), dtype=bool)
    keep[members[fate != _KEPT]] = False
    kept = np.flatnonzero(keep)
    removed = pd.DataFrame({"label": df["label"].iloc[members].to_numpy(), "fate": fate})
    after = df[["label"]].iloc[kept]
    return kept, dedup_counts(df, after, removed, stats | {"digits": digits, "conflicts": conflicts})


def deduplicate(
    df: pd.DataFrame, columns: list[str], digits: int = DEDUP_DIGITS, conflicts: str = DEDUP_CONFLICTS
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One row per group of copies over ``columns`` (see the module docstring): ``(frame, counts)``, the
    frame's rows in their original order and values, ``counts`` as :func:`dedup_counts` gives them (a copy of
    the rows kept: :func:`kept_rows` gives their positions instead)."""
    kept, counts = kept_rows(df, columns, digits, conflicts)
    return df.iloc[kept].reset_index(drop=True), counts


def _resolve(
    df: pd.DataFrame, members: np.ndarray, group: np.ndarray, exact: np.ndarray, conflicts: str
) -> tuple[np.ndarray, dict[str, int]]:
    """The fate of each row of a group of copies: ``_KEPT`` or the index in :data:`FATES` of why it goes, and
    the group counts (conflicting groups and rows, ties, detail variants). Labels are handled as codes of the
    member rows only, never as text per row."""
    rows = pd.DataFrame({"pos": members, "group": group, "exact": exact})
    label, labels = pd.factorize(df["label"].iloc[members], use_na_sentinel=False)
    detail, details = label, labels
    if "label_detail" in df:  # a missing detail is no finer than the family: the family's name stands in for it
        given = df["label_detail"].iloc[members].astype(object)
        detail, details = pd.factorize(given.where(given.notna(), df["label"].iloc[members].astype(str)))
    attack = df["is_attack"].iloc[members].to_numpy() if "is_attack" in df else 0
    rows["key"] = pd.DataFrame({"label": label, "attack": attack}).groupby(["label", "attack"]).ngroup().to_numpy()
    rows["detail"] = detail
    rows["coarse"] = _normalised(details)[detail] == _normalised(labels)[label]
    conflicted = rows.groupby("group")["key"].transform("nunique").to_numpy() > 1
    rows["size"] = rows.groupby(["group", "key"])["pos"].transform("size")
    top = rows["size"] == rows.groupby("group")["size"].transform("max")
    unique_top = rows[top].groupby("group")["key"].transform("nunique").reindex(rows.index) == 1
    winner = ~conflicted | ((conflicts == "majority") & top & unique_top).to_numpy()
    rows["detail_rows"] = rows.groupby(["group", "key", "detail"])["pos"].transform("size")
    ranked = rows[winner].sort_values(["group", "coarse", "detail_rows", "pos"], ascending=[True, True, False, True])
    is_kept = np.isin(members, ranked.drop_duplicates("group")["pos"].to_numpy())
    kept_exact = np.isin(exact, exact[is_kept])
    fate = np.where(kept_exact | (members != exact), 0, 1)  # an exact copy, or a different one of the group
    fate = np.where(conflicted, 2, fate)
    fate[is_kept] = _KEPT
    variants = rows[winner].groupby("group")["detail"].nunique()
    conflict_groups = rows.loc[conflicted, "group"].nunique()
    stats = {
        "conflict_groups": int(conflict_groups),
        "conflict_rows": int(conflicted.sum()),
        "conflict_rows_kept": int((conflicted & is_kept).sum()),
        "conflict_groups_tied": int(conflict_groups - (conflicted & is_kept).sum()) if conflicts == "majority" else 0,
        "detail_variant_groups": int((variants > 1).sum()),
        "detail_variant_rows": int(rows[winner]["group"].isin(variants.index[variants > 1]).sum()),
    }
    return fate, stats


def _normalised(values: pd.Index) -> np.ndarray:
    """Each value's spelling-free form (:func:`lib.datasets.schema.normalised_name`)."""
    return np.array([schema.normalised_name(v) for v in values], dtype=object)


def _class_counts(df: pd.DataFrame) -> pd.Series:
    """Rows per ``label`` (as text), classes without a row left out; no text column per row is made."""
    counts = df["label"].value_counts()
    counts = counts[counts > 0]
    return pd.Series(counts.to_numpy(), index=counts.index.astype(str)).groupby(level=0).sum()


def dedup_counts(
    before: pd.DataFrame, after: pd.DataFrame, removed: pd.DataFrame | None = None, stats: dict | None = None
) -> dict[str, Any]:
    """What :func:`deduplicate` did, for the run's metadata (``report.dedup``): the rules (``digits``,
    ``conflicts``; absent when ``DEDUP=False``), rows before and after, rows removed per rule (:data:`FATES`),
    the conflict and detail-variant counts, and per class (``label``) the rows before, removed per rule and
    after. ``removed`` has one row per row of a group of copies: its ``label`` and ``fate``."""
    fates = removed[removed["fate"] != _KEPT] if removed is not None else pd.DataFrame({"label": [], "fate": []})
    by_rule = fates.assign(label=fates["label"].astype(str)).groupby(["label", "fate"]).size()
    per_class: dict[str, dict[str, int]] = {}
    counts_before, counts_after = _class_counts(before), _class_counts(after)
    for name, n in counts_before.items():
        per_class[str(name)] = {"before": int(n)}
        per_class[str(name)] |= {f: int(by_rule.get((name, i), 0)) for i, f in enumerate(FATES)}
        per_class[str(name)]["after"] = int(counts_after.get(name, 0))
    totals = {f: int((fates["fate"] == i).sum()) for i, f in enumerate(FATES)}
    return {"rows_before": len(before), "rows_after": len(after), **totals, **(stats or {}), "per_class": per_class}
