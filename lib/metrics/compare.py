"""Is one model better than another? Paired differences over seeds, one sentence per difference, one verdict.

The one rule the project uses to call a difference: better or worse only beyond the seed-to-seed spread (the
interval excludes zero) and a tie margin (what two test flows are worth); anything else is a tie. Notebook 04's
fusion verdict and notebook 06's findings both read it from here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lib.metrics.scores import summarise


def paired_difference(
    runs: pd.DataFrame, model: str, reference: str, metric: str = "f1", confidence: float = 0.95
) -> dict[str, Any]:
    """``model`` minus ``reference`` on ``metric``, paired by seed: mean, std and t-interval of the difference."""
    if metric not in runs:
        raise ValueError(f"the scores have no {metric!r} column (they have {list(runs.columns)})")
    a = runs[runs["model"] == model].set_index("seed")[metric]
    b = runs[runs["model"] == reference].set_index("seed")[metric]
    both = a.index.intersection(b.index)
    if both.empty:
        raise ValueError(f"no seed has both {model!r} and {reference!r}")
    diff = (a[both] - b[both]).to_frame("difference").assign(model="difference")
    row = summarise(diff, metrics=["difference"], confidence=confidence).iloc[0]
    return {
        "model": model,
        "reference": reference,
        "metric": metric,
        "n": int(row["n"]),
        "model_mean": float(a[both].mean()),
        "reference_mean": float(b[both].mean()),
        "mean": float(row["mean"]),
        "std": float(row["std"]),
        "ci_low": float(row["ci_low"]),
        "ci_high": float(row["ci_high"]),
    }


def describe_difference(diff: dict[str, Any], names: dict[str, str] | None = None, tie: float = 0.0) -> str:
    """One plain sentence saying whether ``diff`` (from :func:`paired_difference`) shows a difference.

    A difference of at most ``tie`` (e.g. what two test flows are worth) is called a tie whatever its interval:
    the seeds vary the models, not the test rows, so a narrow interval around a tiny difference means little.
    """
    names = names or {}
    a, b = names.get(diff["model"], diff["model"]), names.get(diff["reference"], diff["reference"])
    metric = {"f1": "F1", "f1_macro": "macro-F1"}.get(diff["metric"], diff["metric"])
    head = (
        f"{a} vs {b}: {metric} {diff['model_mean']:.4f} vs {diff['reference_mean']:.4f} (difference {diff['mean']:+.4f}"
    )
    if diff["n"] < 2:
        return head + f", {diff['n']} seed): one seed gives no interval, so this cannot tell a difference from noise."
    interval = f", 95 % CI [{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}] over {diff['n']} paired seeds)"
    if diff["mean"] == 0 and diff["std"] == 0:
        return head + interval + ": identical on every seed, no difference."
    if tie and abs(diff["mean"]) <= tie:
        return head + interval + f": at most {tie:.4f} apart (the tie margin), a tie."
    if diff["ci_low"] > 0:
        return head + interval + f": {a} is better; the interval lies above zero."
    if diff["ci_high"] < 0:
        return head + interval + f": {a} is worse; the interval lies below zero."
    return head + interval + ": the interval contains zero, so no measurable difference."


def verdict(
    differences: list[dict[str, Any]], best_single: str, names: dict[str, str], tie: float, baseline: str = "xgboost"
) -> str:
    """Whether fusion beats the best single deep model, then whether it beats ``baseline`` (XGBoost on the
    features), from paired differences (:func:`paired_difference`, one per fusion and reference; differences
    against other references are ignored). Better or worse counts only beyond the seed-to-seed spread (the
    interval excludes zero) and the tie margin ``tie``."""
    best, base = names.get(best_single, best_single), names.get(baseline, baseline)
    over_single = [d for d in differences if d["reference"] == best_single]
    over_base = [d for d in differences if d["reference"] == baseline]
    if not over_single or over_single[0]["n"] < 2:
        return (
            f"With a single seed this run cannot say whether fusion beats the best single deep model ({best}) or "
            f"{base}: rerun with N_SEEDS of 3 or more."
        )
    metric = {"f1": "F1", "f1_macro": "macro-F1"}.get(over_single[0]["metric"], over_single[0]["metric"])
    sides = []
    for found in (over_single, over_base):
        better = [names.get(d["model"], d["model"]) for d in found if d["ci_low"] > 0 and d["mean"] > tie]
        worse = [names.get(d["model"], d["model"]) for d in found if d["ci_high"] < 0 and -d["mean"] > tie]
        sides.append((", ".join(better), ", ".join(worse)))
    (better, worse), (above_base, below_base) = sides
    if better:
        also_worse = f", while {worse} fall(s) below it" if worse else ""
        text = (
            f"Fusion adds something here: {better} beat(s) the best single deep model ({best}) on {metric} beyond "
            f"the seed-to-seed spread and the tie margin{also_worse}."
        )
    elif worse:
        text = f"Fusion costs accuracy here: {worse} fall(s) below the best single deep model ({best}) on {metric}."
    else:
        text = (
            f"Fusion adds nothing measurable here: no fusion beats the best single deep model ({best}) on {metric} "
            "by more than the seed-to-seed spread and the tie margin."
        )
    if not over_base:
        return text
    if above_base:
        also_below = f", while {below_base} fall(s) below it" if below_base else ""
        return text + f" Against {base}: {above_base} beat(s) it on {metric}{also_below}."
    if below_base:
        return text + f" Against {base}: {below_base} fall(s) below it on {metric}."
    return text + f" Against {base}: no fusion differs from it by more than the seed-to-seed spread and the tie margin."


def describe_differences(
    differences: list[dict[str, Any]], names: dict[str, str] | None = None, tie: float = 0.0
) -> str:
    """:func:`describe_difference` of each difference, one bullet line each."""
    return "\n".join(f"* {describe_difference(diff, names, tie=tie)}" for diff in differences)
