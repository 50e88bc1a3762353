"""Copies of one flow on the whole mirrors: what notebook 01's dedup keeps and removes at each ``DEDUP_DIGITS``.

For each registered data set of the mirror (``$IOT_BOTNET_DATA_DIR``; CICIDS2017, IoT-23, BoT-IoT) the whole
data set is loaded (``SAMPLE_ROWS=0``, through the loaders' Parquet cache) and taken through notebook 01's
steps before the split: :func:`lib.preprocess.sample_rows` (nothing drawn at ``SAMPLE_ROWS=0``), the feature
columns without identifiers (``KEEP_IDENTIFIERS=False``), then :func:`lib.preprocess.deduplicate` at each
``DEDUP_DIGITS`` of ``--digits`` under both ``DEDUP_CONFLICTS`` rules. Recorded per digit count and rule:
rows before and after, rows removed per class and rule (exact copies, rounded copies, conflicting rows
dropped), rows kept per class and per ``label_detail``, the conflict groups and rows and what the rule keeps
of them (and of which labels the groups are made), the groups of copies that join rows exact equality keeps
apart (how many, how many within one file, a few examples with the values that differ), and for the class of
``FOCUS`` (CICIDS2017's ``WebAttack``) how many files each group of its copies spans. Also: the key notebook 01
used before (features and ``label_detail``, exact), and the float64 check (``--float64``, default on): the
CICIDS2017 files read again as float64 from their CSV text, and how many of the grouped file's ``FOCUS`` rows
equal another file's row, exactly and at each digit count, against the loaders' float32.

Dedup takes well under a second per call on the mirrors, so ``--quick`` and ``--full`` run the same sizes.
Writes ``benchmarks/results/bench_dedup.json`` and prints its tables; data/README.md quotes it.

Usage: ``python benchmarks/bench_dedup.py [--digits 0,4,5,6,7,8] [--datasets cicids2017,iot23,botiot]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DATASETS = ("cicids2017", "iot23", "botiot")
DIGITS = (0, 4, 5, 6, 7, 8)
RULES = ("majority", "drop")
#: the class whose copies the README follows, per data set, and the file that labels it by family only
FOCUS = {"cicids2017": "WebAttack"}
GROUPED = {"cicids2017": "grouped_label_sample/CICIDS2017_sample_6311rows_grouped_labels_no_dstport.csv"}
EXAMPLES = 3  # groups of rounded copies shown per data set and digit count
EXAMPLE_ROWS = 6  # rows of such a group whose differing values are shown


# --------------------------------------------------------------------------------------------------
# Notebook 01's steps before the split
# --------------------------------------------------------------------------------------------------
def load_frame(name: str) -> tuple[pd.DataFrame, list[str], float]:
    """The whole data set as notebook 01 holds it before dedup, its dedup columns and the load's seconds."""
    from lib import datasets, preprocess

    start = time.perf_counter()
    df = datasets.load(name, common.mirror(), sample_rows=0, seed=common.SEED)
    df = preprocess.sample_rows(df, 0, common.SEED)  # SAMPLE_ROWS=0: every row, as in notebook 01
    seconds = time.perf_counter() - start
    return df, datasets.feature_columns(df, keep_identifiers=False), seconds


def class_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Rows per ``label`` (classes without a row left out)."""
    counts = frame["label"].astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.sort_index().items() if v}


def detail_counts(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Rows per ``label`` and ``label_detail`` (pairs without a row left out)."""
    pairs = frame.groupby([frame["label"].astype(str), frame["label_detail"].astype(str)]).size()
    out: dict[str, dict[str, int]] = {}
    for (label, detail), n in pairs.items():
        if n:
            out.setdefault(str(label), {})[str(detail)] = int(n)
    return out


def run_rule(df: pd.DataFrame, columns: list[str], digits: int, rule: str) -> dict[str, Any]:
    """:func:`lib.preprocess.deduplicate` under one rule: its counts, its seconds, rows kept per detail."""
    from lib import preprocess

    start = time.perf_counter()
    out, counts = preprocess.deduplicate(df, columns, digits, rule)
    return {**counts, "seconds": time.perf_counter() - start, "after_by_detail": detail_counts(out)}


def old_key(df: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """The key notebook 01 used before: a row goes when it repeats another over the features and
    ``label_detail``, exactly (so a flow labelled by family in one file and finely in another stays twice)."""
    from lib import preprocess

    kept = df.loc[~preprocess.duplicated(df, [*columns, "label_detail"], digits=0)]
    return {
        "rule": "features + label_detail, exact",
        "rows_after": len(kept),
        "per_class": class_counts(kept),
        "after_by_detail": detail_counts(kept),
    }


# --------------------------------------------------------------------------------------------------
# What the groups of copies are made of
# --------------------------------------------------------------------------------------------------
def conflict_patterns(df: pd.DataFrame, leader: np.ndarray) -> list[dict[str, Any]]:
    """The groups of copies with more than one ``label``, by the set of labels they hold: groups, rows, rows
    per label, and the label ``majority`` keeps a row of (``tie``: the group is dropped)."""
    rows = pd.DataFrame({"group": leader, "label": df["label"].astype(str).to_numpy()})
    mixed = rows[rows.groupby("group")["label"].transform("nunique") > 1]
    if mixed.empty:
        return []
    sizes = mixed.groupby(["group", "label"]).size().rename("rows").reset_index()
    top = sizes[sizes["rows"] == sizes.groupby("group")["rows"].transform("max")]
    winners = top.groupby("group")["label"].agg(lambda s: s.iloc[0] if len(s) == 1 else "tie")
    labels = sizes.groupby("group")["label"].agg(lambda s: " + ".join(sorted(s)))
    groups = pd.DataFrame({"labels": labels, "kept": winners})
    out = []
    for pattern, part in groups.groupby("labels"):
        members = sizes[sizes["group"].isin(part.index)]
        out.append(
            {
                "labels": pattern,
                "groups": len(part),
                "rows": int(members["rows"].sum()),
                "rows_per_label": {str(k): int(v) for k, v in members.groupby("label")["rows"].sum().items()},
                "majority_keeps": {str(k): int(v) for k, v in part["kept"].value_counts().items()},
            }
        )
    return sorted(out, key=lambda p: (-p["groups"], p["labels"]))


def merged_groups(df: pd.DataFrame, columns: list[str], rounded: np.ndarray, exact: np.ndarray) -> dict[str, Any]:
    """The groups of rounded copies that hold rows exact equality keeps apart: how many, their rows, how many
    lie within one file, and the first :data:`EXAMPLES` with the columns whose values differ."""
    rows = pd.DataFrame({"group": rounded, "exact": exact, "file": df["source_file"].astype(str).to_numpy()})
    joined = rows.groupby("group")["exact"].nunique()
    joined = joined.index[joined > 1]
    part = rows[rows["group"].isin(joined)]
    one_file = part.groupby("group")["file"].nunique().eq(1)
    examples = [_example(df, columns, np.flatnonzero(rounded == g)) for g in joined[:EXAMPLES]]
    return {
        "groups": len(joined),
        "rows": len(part),
        "groups_within_one_file": int(one_file.sum()),
        "examples": examples,
    }


def _example(df: pd.DataFrame, columns: list[str], positions: np.ndarray) -> dict[str, Any]:
    """One group of rounded copies: its rows, their labels and files (counted), and the values of the columns
    that differ in its first :data:`EXAMPLE_ROWS` rows (float32 values as their shortest text)."""
    rows = df.iloc[positions]
    differ = [c for c in columns if rows[c].nunique(dropna=False) > 1]
    shown = rows.iloc[:EXAMPLE_ROWS]
    return {
        "rows": len(rows),
        "labels": {str(k): int(v) for k, v in rows["label_detail"].astype(str).value_counts().items()},
        "files": {str(k): int(v) for k, v in rows["source_file"].astype(str).value_counts().items()},
        "differ": {c: [str(v) for v in shown[c].to_numpy()] for c in differ},
    }


def files_per_group(df: pd.DataFrame, leader: np.ndarray, label: str) -> dict[str, int]:
    """Over the groups of copies holding a row of ``label``: how many groups span 1, 2, ... files."""
    rows = pd.DataFrame({"group": leader, "file": df["source_file"].astype(str).to_numpy()})
    groups = np.unique(leader[(df["label"].astype(str) == label).to_numpy()])
    spans = rows[rows["group"].isin(groups)].groupby("group")["file"].nunique().value_counts().sort_index()
    return {str(k): int(v) for k, v in spans.items()}


def measure_digits(df: pd.DataFrame, columns: list[str], digits: int, exact: np.ndarray, focus: str | None) -> dict:
    """Everything recorded for one digit count of one data set."""
    from lib import preprocess

    rounded = preprocess.duplicate_groups(df, columns, digits)
    patterns = conflict_patterns(df, rounded)
    out: dict[str, Any] = {"digits": digits, "rules": {rule: run_rule(df, columns, digits, rule) for rule in RULES}}
    majority = out["rules"]["majority"]
    kept_here = sum(n for p in patterns for k, n in p["majority_keeps"].items() if k != "tie")
    out["conflict_patterns"] = patterns
    out["conflict_patterns_agree"] = (
        sum(p["groups"] for p in patterns) == majority["conflict_groups"]
        and kept_here == majority["conflict_rows_kept"]
    )  # the patterns group by label; deduplicate by label and is_attack: equal on the mirrors
    out["merged"] = merged_groups(df, columns, rounded, exact)
    if focus:
        out["focus_files_per_group"] = files_per_group(df, rounded, focus)
    return out


def measure(name: str, digits: list[int]) -> dict[str, Any]:
    """One data set: the load, the old key, then :func:`measure_digits` at each digit count."""
    from lib import preprocess

    print(f"[bench_dedup] {name} ...", flush=True)
    df, columns, load_s = load_frame(name)
    exact = preprocess.duplicate_groups(df, columns, 0)
    focus = FOCUS.get(name)
    return {
        "dataset": name,
        "rows_loaded": len(df),
        "files": int(df["source_file"].nunique()),
        "feature_columns": len(columns),
        "load_s": load_s,
        "focus": focus,
        "per_class_before": class_counts(df),
        "before_by_detail": detail_counts(df),
        "focus_by_file": _focus_by_file(df, focus) if focus else None,
        "old_key": old_key(df, columns),
        "by_digits": [measure_digits(df, columns, d, exact, focus) for d in digits],
    }


def _focus_by_file(df: pd.DataFrame, label: str) -> dict[str, dict[str, int]]:
    """Rows of ``label`` per source file and ``label_detail``."""
    rows = df[(df["label"].astype(str) == label).to_numpy()]
    pairs = rows.groupby([rows["source_file"].astype(str), rows["label_detail"].astype(str)]).size()
    out: dict[str, dict[str, int]] = {}
    for (file, detail), n in pairs.items():
        if n:
            out.setdefault(str(file), {})[str(detail)] = int(n)
    return out


# --------------------------------------------------------------------------------------------------
# The float64 check
# --------------------------------------------------------------------------------------------------
def raw_float64(path: Path, columns: list[str]) -> tuple[pd.DataFrame, int]:
    """``columns`` of one CSV read as float64 from its text (Python's correctly rounded parse; ``Infinity``,
    ``NaN`` and blanks as the loader reads them), NaN for a column the file lacks, and the number of data
    rows."""
    from lib.datasets.csvparse import header_names, sniff_delimiter

    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
    sep = sniff_delimiter(header, path)
    names = header_names(header, sep)
    text = pd.read_csv(
        path, sep=sep, header=0, names=names, dtype=str, keep_default_na=False, encoding_errors="replace"
    )
    out = {}
    for column in columns:
        if column not in text:
            out[column] = np.full(len(text), np.nan)
            continue
        cells = text[column].str.strip().replace({"": "nan", "NaN": "nan"})
        out[column] = np.asarray(cells.to_numpy(), dtype=np.float64)
    return pd.DataFrame(out), len(text)


def float64_frame(df: pd.DataFrame, columns: list[str], root: Path) -> tuple[pd.DataFrame, int]:
    """The loaded frame's feature columns read again as float64, file by file in the frame's order (its rows
    line up with the frame's), and the number of cells whose float32 differs from the loader's value."""
    files = df["source_file"].astype(str).to_numpy()
    starts = np.flatnonzero(np.r_[True, files[1:] != files[:-1]])
    if len(starts) != len(set(files)):
        raise ValueError("the loaded frame's files are not contiguous: cannot line up the float64 rows")
    parts, differ = [], 0
    for start, end in zip(starts, [*starts[1:], len(df)], strict=True):
        raw, n = raw_float64(root / files[start], columns)
        if n != end - start:
            raise ValueError(f"{files[start]}: {n} rows read as text, {end - start} loaded; cannot line them up")
        loaded = df[columns].iloc[start:end].to_numpy(dtype=np.float32)
        as32 = raw.to_numpy().astype(np.float32)
        differ += int((~((as32 == loaded) | (np.isnan(as32) & np.isnan(loaded)))).sum())
        parts.append(raw)
    return pd.concat(parts, ignore_index=True), differ


def float64_check(name: str, digits: list[int]) -> dict[str, Any] | None:
    """How many of the grouped file's ``FOCUS`` rows equal a row of another file, float64 from the text
    against the loaders' float32, exactly (0) and at each digit count."""
    from lib import preprocess

    grouped, label = GROUPED.get(name), FOCUS.get(name)
    if not grouped or not label:
        return None
    df, columns, _ = load_frame(name)
    root = common.mirror() / name
    if not (root / grouped).exists():
        return {"skipped": f"{grouped} not in the mirror"}
    wide, differ = float64_frame(df, columns, root)
    files = df["source_file"].astype(str).to_numpy()
    mine = (files == grouped) & (df["label"].astype(str) == label).to_numpy()
    rows, by_file = [], {}
    for d in sorted({0, *digits}):
        row = {"digits": d}
        for kind, frame in (("float64", wide), ("float32", df)):
            leader = preprocess.duplicate_groups(frame, columns, d)
            row[kind] = int(np.isin(leader[mine], np.unique(leader[files != grouped])).sum())
            if d == 0:  # exact equality: which files the matches are in (a row may match in several)
                found = {f: int(np.isin(leader[mine], np.unique(leader[files == f])).sum()) for f in set(files)}
                by_file[kind] = {f: n for f, n in sorted(found.items()) if n and f != grouped}
        rows.append(row)
    return {
        "file": grouped,
        "label": label,
        "rows": int(mine.sum()),
        "cells_float32_differ": differ,
        "matches": rows,
        "exact_matches_by_file": by_file,
    }


# --------------------------------------------------------------------------------------------------
# Tables and the results file
# --------------------------------------------------------------------------------------------------
def _per_class(per_class: dict[str, dict[str, int]], fate: str) -> str:
    parts = [f"{k} {v[fate]:,}" for k, v in sorted(per_class.items(), key=lambda kv: -kv[1][fate]) if v[fate]]
    return ", ".join(parts) or "0"


def table_rows(results: list[dict]) -> list[dict]:
    """One row per data set and digit count."""
    rows = []
    for result in results:
        focus = result["focus"]
        for entry in result["by_digits"]:
            majority, drop = entry["rules"]["majority"], entry["rules"]["drop"]
            row = {
                "data": result["dataset"],
                "digits": entry["digits"],
                "rows": majority["rows_before"],
                "kept (majority)": majority["rows_after"],
                "kept (drop)": drop["rows_after"],
                "exact removed": majority["exact copies removed"],
                "rounded removed": _per_class(majority["per_class"], "rounded copies removed"),
                "conflict groups / rows": f"{majority['conflict_groups']:,} / {majority['conflict_rows']:,}",
                "majority keeps / tied groups": f"{majority['conflict_rows_kept']:,} / "
                f"{majority['conflict_groups_tied']:,}",
                "groups joining exact groups (one file)": f"{entry['merged']['groups']:,} "
                f"({entry['merged']['groups_within_one_file']:,})",
                "focus kept": majority["per_class"][focus]["after"] if focus else None,
                "focus, old key": result["old_key"]["per_class"].get(focus) if focus else None,
            }
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", default=",".join(map(str, DIGITS)), help="DEDUP_DIGITS values to measure")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="registered data sets of the mirror")
    parser.add_argument("--no-float64", action="store_true", help="skip the float64 check")
    parser.add_argument("--name", default="bench_dedup", help="results file name")
    size = parser.add_mutually_exclusive_group()  # run_all.py passes one of these; both measure the same
    size.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    size.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    digits = [int(d) for d in args.digits.split(",")]
    from lib import preprocess

    start = time.perf_counter()
    results = [measure(name, digits) for name in args.datasets.split(",")]
    checks = {} if args.no_float64 else {n: float64_check(n, digits) for n in args.datasets.split(",")}
    rows = table_rows(results)
    print(common.table(rows))
    for name, check in checks.items():
        if check and "matches" in check:
            print(f"\n{name}: {check['rows']:,} {check['label']} rows of {check['file']} equal to another file's row")
            print(common.table(check["matches"]))
    payload = {
        "versions": common.versions(),
        "defaults": {"digits": preprocess.DEDUP_DIGITS, "conflicts": preprocess.DEDUP_CONFLICTS},
        "digits": digits,
        "seconds": time.perf_counter() - start,
        "results": results,
        "float64_check": {n: c for n, c in checks.items() if c},
        "table": rows,
    }
    out = common.write_results(args.name, payload)
    print(f"wrote {out.relative_to(common.REPO_ROOT)}")
    return payload


if __name__ == "__main__":
    main()
