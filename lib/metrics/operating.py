"""Scores at an operating point: the attack score, the alert threshold at a false-positive rate, detection there."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The false-positive rates a security operator reads a detector at (Table 1's companion table, Fig. 5's axis).
OPERATING_FPRS = (0.001, 0.01)


def attack_score(proba: np.ndarray) -> np.ndarray:
    """How much a flow looks like an attack, whatever the label mode: ``1 - P(Benign)`` (class 0 is Benign)."""
    proba = np.asarray(proba, dtype=np.float64)
    return 1.0 - proba[:, 0]


def threshold_at_fpr(benign_scores: np.ndarray, target_fpr: float) -> float:
    """The lowest alert threshold (alert when ``score > threshold``) that raises at most ``target_fpr`` of the
    given benign rows: fitted on validation rows, never on test rows. The one rule of the project: the
    supervised models' operating points, the anomaly detectors' thresholds and the scorer's ``--fpr`` all use it.

    With ``n`` benign scores, ``k = floor(target_fpr * n)`` of them may lie above the threshold, which is the
    ``(k + 1)``-th largest score: the realised rate is ``k / n`` (less if scores tie), never above the target.
    With fewer benign rows than ``1 / target_fpr`` (or ``target_fpr = 0``) this is the highest benign score.
    """
    scores = np.sort(np.asarray(benign_scores, dtype=np.float64))
    if not len(scores):
        raise ValueError("no benign rows to set a threshold on")
    if not 0 <= target_fpr < 1:
        raise ValueError(f"the target false-positive rate must lie in [0, 1), got {target_fpr}")
    allowed = int(np.floor(target_fpr * len(scores) + 1e-9))  # benign rows that may score above the threshold
    return float(scores[len(scores) - 1 - allowed])


def flag_rate(scores: np.ndarray, threshold: float) -> float:
    """Share of ``scores`` above ``threshold`` (nan for no rows)."""
    scores = np.asarray(scores)
    return float((scores > threshold).mean()) if scores.size else float("nan")


def detection_at_fpr(
    y_val: np.ndarray,
    proba_val: np.ndarray,
    y_test: np.ndarray,
    proba_test: np.ndarray,
    targets: Sequence[float] = OPERATING_FPRS,
) -> list[dict[str, float]]:
    """Detection rate (attack recall) on the test rows at thresholds set for each target false-positive rate on
    the *validation* benign rows; the realised test FPR beside it (it can exceed the target: that is the
    honest number). ``benign_val`` says how many benign rows set the threshold: below ``1 / target`` the
    target is finer than the validation rows can resolve."""
    val_score, test_score = attack_score(proba_val), attack_score(proba_test)
    y_val, y_test = np.asarray(y_val), np.asarray(y_test)
    benign_val = val_score[y_val == 0]
    rows = []
    for target in targets:
        threshold = threshold_at_fpr(benign_val, target)
        alert = test_score > threshold
        attacks, benign = y_test != 0, y_test == 0
        rows.append(
            {
                "target_fpr": float(target),
                "threshold": threshold,
                "detection_rate": float(alert[attacks].mean()) if attacks.any() else float("nan"),
                "test_fpr": float(alert[benign].mean()) if benign.any() else float("nan"),
                "benign_val": int(len(benign_val)),
            }
        )
    return rows
