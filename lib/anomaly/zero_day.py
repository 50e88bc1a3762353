"""The zero-day test: leave one attack family out, retrain the supervised path without it, measure recall on it.

For each attack family (:func:`eligible_families`), its rows are removed from the training and validation
splits, the supervised path is retrained without them (:func:`fusion_attack_scorer`), and the recall on that
family's test flows is measured for the supervised path, every detector, the anomaly branch and the OR
(:func:`leave_one_family_out`, :func:`zero_day`). The detectors are fitted on benign rows only, so they never
see any family and need no refitting; only their choice is redone without the family, on the validation rows
of the other families (:meth:`lib.anomaly.Comparison.detectors_without`): no test row and no row of the
held-out family reaches it. :func:`zero_day_levels` gives every detector's recall at several false-positive
rates (e.g. 0.1 % and 1 %), :func:`zero_day_by_detector` one line per family and detector and an overall line
per detector.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from lib import baselines, fusion, metrics, models, preprocess, progress
from lib.anomaly.choice import Comparison
from lib.anomaly.detectors import Detector, benign_rows

SPLITS = preprocess.SPLIT_NAMES


def family_counts(rows: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows per ``label`` (attack family or Benign) in each split: one column per split, 0 where none."""
    counts = {split: rows[split]["label"].astype(str).value_counts() for split in SPLITS}
    return pd.DataFrame(counts).fillna(0).astype(int)


def eligible_families(
    rows: dict[str, pd.DataFrame], y: dict[str, np.ndarray], min_family_rows: int
) -> tuple[list[str], pd.DataFrame]:
    """Attack families (``rows[split]["label"]`` of non-benign rows) that can be held out, and why others cannot.

    A family qualifies with at least ``min_family_rows`` test rows, at least one training row (otherwise it
    is unseen anyway) and at least one attack training row of another family (so a supervised model can
    still be trained without it).
    """
    labels = {split: rows[split]["label"].astype(str).to_numpy() for split in ("train", "test")}
    attack = {split: np.asarray(y[split]) != 0 for split in ("train", "test")}
    families = sorted(set(labels["train"][attack["train"]]) | set(labels["test"][attack["test"]]))
    table, keep = [], []
    for family in families:
        n_test = int((attack["test"] & (labels["test"] == family)).sum())
        n_train = int((attack["train"] & (labels["train"] == family)).sum())
        n_other = int((attack["train"] & (labels["train"] != family)).sum())
        if n_test < min_family_rows:
            reason = f"fewer than {min_family_rows} test rows"
        elif n_train == 0:
            reason = "no training rows (unseen already)"
        elif n_other == 0:
            reason = "the only attack family in training"
        else:
            reason = ""
            keep.append(family)
        table.append({"family": family, "n_train": n_train, "n_test": n_test, "held_out": not reason, "reason": reason})
    return keep, pd.DataFrame(table, columns=["family", "n_train", "n_test", "held_out", "reason"])


SupervisedFit = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], Callable[[np.ndarray], np.ndarray]]


def _detector_columns(
    supervised: np.ndarray, detector_flags: dict[str, np.ndarray], held_out: np.ndarray, benign: np.ndarray
) -> dict[str, float]:
    """Per detector ``d``: recall on the held-out family and FPR on benign test rows of ``d`` and of the OR."""
    columns = {}
    for name, flagged in detector_flags.items():
        either = supervised | flagged
        columns |= {
            f"recall_{name}": float(flagged[held_out].mean()),
            f"fpr_{name}": float(flagged[benign].mean()),
            f"recall_or_{name}": float(either[held_out].mean()),
            f"fpr_or_{name}": float(either[benign].mean()),
        }
    return columns


def leave_one_family_out(
    X: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    rows: dict[str, pd.DataFrame],
    families: Sequence[str],
    *,
    fit_supervised: SupervisedFit,
    detectors: dict[str, Detector] | Callable[[str], dict[str, Detector]],
    target_fpr: float,
    seed: int,
) -> pd.DataFrame:
    """Recall on each held-out family's test flows and FPR on benign test flows, one row per family.

    ``X``, ``y`` and ``rows`` map ``"train"``, ``"val"``, ``"test"`` to the prepared arrays and row tables.
    For each family, ``fit_supervised(X_tr, y_tr, X_val, y_val, seed)`` gets the training and validation rows
    WITHOUT that family and returns a function giving the attack score of rows; its threshold is chosen on
    the benign validation rows at ``target_fpr``. ``detectors`` are already fitted (on benign rows) and
    thresholded: a dict, or a function of the held-out family giving the dict chosen without that family
    (:meth:`lib.anomaly.Comparison.detectors_without`). Columns: ``recall_supervised``, ``fpr_supervised`` and,
    per detector ``d``, ``recall_d``, ``fpr_d``, ``recall_or_d`` and ``fpr_or_d`` (supervised OR ``d``); where a
    detector is named ``branch`` (the anomaly branch), the column ``branch`` says which candidate it was.
    """
    label = {split: rows[split]["label"].astype(str).to_numpy() for split in SPLITS}
    benign_val = benign_rows(X["val"], y["val"])
    benign = np.asarray(y["test"]) == 0
    if not benign.any():
        raise ValueError("the test split holds no benign rows: the false-positive rate cannot be measured")
    out = []
    for family in families:
        chosen = detectors(family) if callable(detectors) else detectors
        detector_flags = {name: d.predict(X["test"]) for name, d in chosen.items()}
        keep_train, keep_val = label["train"] != family, label["val"] != family
        score = fit_supervised(
            X["train"][keep_train], y["train"][keep_train], X["val"][keep_val], y["val"][keep_val], seed
        )
        threshold = metrics.threshold_at_fpr(score(benign_val), target_fpr)
        held_out = (label["test"] == family) & (np.asarray(y["test"]) != 0)
        supervised_test = score(X["test"]) > threshold
        row = {
            "family": family,
            "seed": seed,
            "n_test_family": int(held_out.sum()),
            "n_test_benign": int(benign.sum()),
            "n_train_without": int(keep_train.sum()),
            "threshold_supervised": threshold,
            "recall_supervised": float(supervised_test[held_out].mean()),
            "fpr_supervised": float(supervised_test[benign].mean()),
        } | ({"branch": chosen["branch"].label} if "branch" in chosen else {})
        out.append(row | _detector_columns(supervised_test, detector_flags, held_out, benign))
    return pd.DataFrame(out)


def fusion_attack_scorer(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    seed: int,
    *,
    n_classes: int,
    names: Sequence[str],
    deep: models.DeepConfig,
    inputs: str,
    k_folds: int,
    grid: Sequence[tuple[str, dict[str, Any]]],
    meta: str = "xgboost",
    max_train_rows: int = 0,
) -> Callable[[np.ndarray], np.ndarray]:
    """The supervised path of the zero-day test: :func:`lib.fusion.fit_fusion`, returned as an attack scorer.

    Use it through ``functools.partial`` as ``fit_supervised`` of :func:`leave_one_family_out`. A cheaper
    configuration than notebook 04's is fine here (e.g. the CNN-LSTM alone, an XGBoost meta-classifier and
    ``k_folds=3``), with notebook 03's :class:`lib.models.DeepConfig`; ``max_train_rows > 0`` fits on a
    stratified subsample of the training rows.
    """
    X_fit, y_fit = baselines.stratified_subsample(X_train, y_train, max_train_rows, seed)
    fitted = fusion.fit_fusion(
        X_fit,
        y_fit,
        X_val,
        y_val,
        n_classes=n_classes,
        names=names,
        deep=deep,
        inputs=inputs,
        k_folds=k_folds,
        grid=grid,
        seed=seed,
    )
    model = fitted.model(meta)
    return lambda X: metrics.attack_score(model.predict_proba(X))


def zero_day(
    X: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    rows: dict[str, pd.DataFrame],
    families: Sequence[str],
    comparison: Comparison,
    *,
    fit_supervised: SupervisedFit,
    target_fpr: float,
) -> pd.DataFrame:
    """:func:`leave_one_family_out` for every seed of ``comparison``, the detectors and the branch chosen without
    the held-out family (:meth:`lib.anomaly.Comparison.detectors_without`); one table, empty when no family
    qualifies."""
    tables = []
    for seed in progress.bar(list(comparison.fitted), desc="zero-day seeds", unit="seed"):
        if not families:
            continue
        detectors = functools.partial(comparison.detectors_without, seed=seed)
        table = leave_one_family_out(
            X, y, rows, families, fit_supervised=fit_supervised, detectors=detectors, target_fpr=target_fpr, seed=seed
        )
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["family", "seed"])


LEVEL_COLUMNS = [
    "family",
    "seed",
    "detector",
    "candidate",
    "fpr_target",
    "threshold",
    "val_fpr",
    "recall",
    "test_fpr",
    "n_test_family",
]


def zero_day_levels(
    X: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    rows: dict[str, pd.DataFrame],
    families: Sequence[str],
    comparison: Comparison,
    fpr_levels: Sequence[float | str],
) -> pd.DataFrame:
    """Every detector's (and the branch's) recall on each held-out family's test flows at each false-positive
    rate of ``fpr_levels`` (numbers, or their text: a notebook's comma-separated parameter, split), thresholds
    on the benign validation rows, configurations chosen without the family. One row per family, seed,
    detector and level (no supervised retraining: the detectors never saw a family)."""
    levels = [float(level) for level in fpr_levels]
    label = rows["test"]["label"].astype(str).to_numpy()
    attack = np.asarray(y["test"]) != 0
    benign_val, out = benign_rows(X["val"], y["val"]), []
    pairs = progress.bar(list(product(families, comparison.fitted)), desc="zero-day detectors", unit="family")
    for family, seed in pairs:
        held_out = attack & (label == family)
        for name, detector in comparison.detectors_without(family, seed).items():
            val_scores, test_scores = detector.score(benign_val), detector.score(X["test"])
            for level in levels:
                threshold = metrics.threshold_at_fpr(val_scores, level)
                flagged = test_scores > threshold
                out.append(
                    {
                        "family": family,
                        "seed": seed,
                        "detector": name,
                        "candidate": detector.label,
                        "fpr_target": level,
                        "threshold": threshold,
                        "val_fpr": metrics.flag_rate(val_scores, threshold),
                        "recall": float(flagged[held_out].mean()),
                        "test_fpr": float(flagged[~attack].mean()),
                        "n_test_family": int(held_out.sum()),
                    }
                )
    return pd.DataFrame(out, columns=LEVEL_COLUMNS)


OVERALL = "overall (mean of families)"


def _percent(level: float) -> str:
    return f"{level * 100:g} %"


def zero_day_by_detector(levels: pd.DataFrame) -> pd.DataFrame:
    """:func:`zero_day_levels` as one line per held-out family and detector (means over seeds): recall and test FPR
    at each level and the ``setting`` (the candidates chosen on validation rows without the family, or the grid
    default where no validation family counted: :func:`lib.anomaly.choose`); then per detector an overall line,
    the mean over the families."""
    if not len(levels):
        return pd.DataFrame(columns=["family", "detector"])
    means = levels.groupby(["family", "detector", "fpr_target"], sort=False)[["recall", "test_fpr"]].mean()
    wide = means.unstack("fpr_target")
    wide.columns = [
        f"{'recall' if what == 'recall' else 'test FPR'} at {_percent(level)} FPR" for what, level in wide.columns
    ]
    ordered = [
        f"{what} at {_percent(level)} FPR"
        for what in ("recall", "test FPR")
        for level in sorted(levels["fpr_target"].unique())
    ]
    wide = wide[ordered]
    candidates = levels.groupby(["family", "detector"], sort=False)["candidate"].agg(
        lambda c: ", ".join(dict.fromkeys(c))
    )
    wide = wide.join(candidates.rename("setting")).reset_index()
    overall = wide.groupby("detector", sort=False)[ordered].mean().reset_index().assign(family=OVERALL)
    overall["setting"] = ""
    return pd.concat([wide, overall[wide.columns]], ignore_index=True)
