"""Rows and labels before the split (notebook 01): the quick-run sample and class ids (copies of a flow:
:mod:`lib.preprocess.dedup`)."""

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


#: How many labels (the most frequent) the error of :func:`require_benign` names, with their counts.
LABELS_SHOWN = 5


def require_benign(df: pd.DataFrame) -> None:
    """A :class:`~lib.datasets.DataError` when no row of ``df`` is labelled ``Benign``: class 0 is Benign for every
    detector, the anomaly branch (fitted on benign rows) and the scorer, so data without normal traffic, or whose
    normal label ``BENIGN_LABELS`` does not name, cannot be prepared. The error names the labels seen, the
    most frequent first, with their counts."""
    labels = df["label"]
    if len(labels) and (labels == BENIGN).any():
        return
    counts = labels.astype(str).value_counts()
    shown = ", ".join(f"{label!r} ({n:,})" for label, n in counts.head(LABELS_SHOWN).items())
    more = f" and {len(counts) - LABELS_SHOWN} more" if len(counts) > LABELS_SHOWN else ""
    files = sorted(map(str, df["source_file"].unique()))[:5] if "source_file" in df else []
    where = f" from {', '.join(files)}" if files else ""
    raise datasets.DataError(
        f"no benign row in the {len(df):,} rows{where}: every label was read as an attack (labels seen: "
        f"{shown or 'none'}{more}), so an attack family would be taken for normal traffic (class 0). Fix: set "
        f"BENIGN_LABELS to the label your data uses for normal traffic (comma-separated, any case), e.g. one of "
        f"the labels above; or add files that hold benign flows"
    )


def make_labels(df: pd.DataFrame, cfg: PrepConfig, report: PrepReport) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Class ids and names for ``cfg.label_mode``; Benign is class 0, and data without a benign row is an error
    (:func:`require_benign`). May drop rare-class rows (logged)."""
    require_benign(df)
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
