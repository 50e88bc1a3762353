"""Notebook 05's findings in words (:func:`anomaly_summary`), every number computed from its tables."""

from __future__ import annotations

import pandas as pd

from lib.metrics.zero_day import zero_day_reason

__all__ = ["anomaly_summary", "zero_day_reason"]


def anomaly_summary(
    detection: pd.DataFrame,
    combined: pd.DataFrame,
    zero_day: pd.DataFrame,
    target_fpr: float,
    n_benign_val: int,
    no_zero_day: str = "",
    branch: str = "autoencoder",
    chosen_on: str = "",
    by_detector: pd.DataFrame | None = None,
    on_validation: bool = True,
) -> str:
    """Notebook 05's findings as Markdown bullets, every number computed from its tables; ``no_zero_day`` says
    why no family was held out (:func:`zero_day_reason`). ``branch`` is the detector chosen as the anomaly
    branch (``chosen_on``: on which validation rows; ``on_validation=False``: no family counted, so the branch is
    the grid's first detector, a default), ``by_detector`` :func:`lib.anomaly.zero_day_by_detector` (its
    ``chosen_on`` column says, per family, whether each zero-day setting was chosen on validation rows)."""
    lines = [
        f"* Target FPR {target_fpr:.2%} on {n_benign_val} benign validation rows, {detection['seed'].nunique()} seed(s)."
    ]
    if target_fpr * n_benign_val < 10:
        lines.append(
            f"* Caution: {n_benign_val} benign validation rows allow only {int(target_fpr * n_benign_val)} false "
            "alarm(s) at this target, so the threshold is a noisy extreme quantile and the test FPR can differ "
            "widely from the target."
        )
    for name, row in detection.groupby("model", sort=False)[["test_recall", "test_fpr", "roc_auc"]].mean().iterrows():
        chosen = detection.loc[detection["model"] == name, "candidate"].iloc[0] if "candidate" in detection else name
        lines.append(
            f"* {chosen}: recall {row['test_recall']:.3f} on all test attacks at a realised test FPR of "
            f"{row['test_fpr']:.3%} (ROC-AUC {row['roc_auc']:.3f})."
        )
    if chosen_on and on_validation:
        lines.append(f"* Anomaly branch: **{branch}**, the best detector on validation rows ({chosen_on}).")
    elif chosen_on:
        lines.append(
            f"* Anomaly branch: **{branch}**, the first detector of the grid, not chosen on validation: {chosen_on}."
        )
    lines.append(_or_line(combined, branch))
    lines += _zero_day_lines(zero_day, by_detector)
    if not len(zero_day):
        lines.append(f"* {no_zero_day or 'No family was held out in the zero-day test.'}")
    return "\n".join(lines)


def _or_line(combined: pd.DataFrame, branch: str) -> str:
    """Fusion alone against fusion OR the anomaly branch: recall and FPR, and what the OR costs and gains."""
    means = combined.groupby("decision", sort=False)[["recall", "fpr"]].mean()
    alone, both = means.loc["fusion alone"], means.loc[f"fusion OR {branch}"]
    return (
        f"* Fusion alone: recall {alone['recall']:.3f}, FPR {alone['fpr']:.3%}; fusion OR {branch}: recall "
        f"{both['recall']:.3f}, FPR {both['fpr']:.3%}: the OR costs {both['fpr'] - alone['fpr']:+.3%} false alarms "
        f"for {both['recall'] - alone['recall']:+.3f} recall."
    )


def _how_set(by_detector: pd.DataFrame, family: str, detector: str) -> str:
    """How ``detector``'s zero-day setting was set without ``family``, in words, from the ``chosen_on`` column of
    :func:`lib.anomaly.zero_day_by_detector` ("" where the table does not say)."""
    if "chosen_on" not in by_detector:
        return ""
    rows = by_detector[(by_detector["family"].astype(str) == family) & (by_detector["detector"] == detector)]
    text = str(rows["chosen_on"].iloc[0]) if len(rows) else ""
    if text.startswith("validation: "):
        return f"chosen on the validation rows of {text.removeprefix('validation: ')}, {family} left out"
    return text


def _zero_day_lines(zero_day: pd.DataFrame, by_detector: pd.DataFrame | None) -> list[str]:
    """One bullet per held-out family (supervised fusion and XGBoost, anomaly branch, their OR), then each model's
    mean recall, then the zero-day settings that were defaults, not chosen on validation rows, and why."""
    lines = []
    table = (
        by_detector if by_detector is not None and len(by_detector) else pd.DataFrame(columns=["family", "detector"])
    )
    key = "branch" if "recall_or_branch_mean" in zero_day else "autoencoder"
    for row in zero_day.to_dict("records"):
        how = _how_set(table, str(row["family"]), key) or f"chosen without {row['family']}"
        which = f"the anomaly branch ({row['branch']}, {how})" if key == "branch" else key
        gain = row[f"recall_or_{key}_mean"] - row["recall_supervised_mean"]
        xgb = f", XGBoost {row['recall_xgboost_mean']:.3f}" if "recall_xgboost_mean" in row else ""
        lines.append(
            f"* Zero-day {row['family']}: supervised recall {row['recall_supervised_mean']:.3f} (fusion){xgb}, "
            f"{which} {row[f'recall_{key}_mean']:.3f}, fusion OR branch {row[f'recall_or_{key}_mean']:.3f} "
            f"({gain:+.3f} from the anomaly branch) at a test FPR of {row[f'fpr_or_{key}_mean']:.3%}."
        )
    for row in table[table["family"].astype(str).str.startswith("overall")].to_dict("records"):
        levels = ", ".join(f"{row[c]:.3f} {c.removeprefix('recall ')}" for c in row if str(c).startswith("recall at"))
        lines.append(f"* Zero-day recall of {row['detector']}, mean over the held-out families: {levels}.")
    if "chosen_on" in table:
        defaults = table[table["chosen_on"].astype(str).str.startswith("default")]
        for reason, rows in defaults.groupby("chosen_on", sort=False):
            said = ", ".join(f"{r.detector} ({r.family})" for r in rows.itertuples())
            lines.append(f"* Zero-day settings not chosen on validation rows: {said}: {reason}.")
    return lines
