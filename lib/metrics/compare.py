"""Is one model better than another, and does a paper's number reproduce? The one rule every sentence uses.

The rule (notebook 04's fusion verdict, notebook 06's findings, protocol findings and fusion verdicts):

* a difference is a **gain** or a **loss** only when its interval excludes zero *and* its size exceeds the tie
  margin (what two test flows are worth, :func:`tie_margin`);
* otherwise it is **level with** (the whole interval lies within the tie margin) or **not separable here**
  (the interval is wider than the tie margin);
* one seed gives no interval: **one seed: not separable**, never a gain or a loss; a difference the same on
  every seed (a model the seeds do not vary) gives an interval of no width, which says nothing about the
  test rows: **not separable (the seeds do not vary it)** unless it lies within the tie margin.

The interval is an input (:class:`Interval`): today the seeds' paired t-interval (:func:`seed_interval`), which
varies the models but not the test rows; a test-set bootstrap can be passed in its place. Against a paper's
number: **does not reproduce** only when the paper's number lies outside our interval by more than the tie
margin; **not supported** when ours is lower (by more than the tie margin) but the interval reaches it;
**reproduces** otherwise (:func:`paper_call`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lib.metrics.scores import summarise

#: A difference of at most this many test flows' worth is a tie (:func:`tie_margin`).
TIE_FLOWS = 2
GAIN, LOSS, LEVEL, WIDE, ONE_SEED = "gain", "loss", "level", "not separable", "one seed"
#: A difference that is the same on every seed (a model the seeds do not vary, e.g. XGBoost's histogram trees
#: without subsampling): its seed interval has no width and says nothing about the test rows' sampling.
NO_SPREAD = "no spread"
#: How a call reads between two names: "<a> is <word> <b>".
CALL_WORDS = {
    GAIN: "better than",
    LOSS: "worse than",
    LEVEL: "level with",
    WIDE: "not separable here from",
    ONE_SEED: "not separable (one seed) from",
    NO_SPREAD: "not separable (the seeds do not vary it) from",
}
REPRODUCES, NOT_SUPPORTED, NOT_REPRODUCED = "reproduces", "not supported", "does not reproduce"
ONE_SEED_WORDS = "one seed: not separable"
NO_SPREAD_WORDS = "the seeds do not vary it: not separable"
METRIC_NAMES = {"f1": "F1", "f1_macro": "macro-F1", "accuracy": "accuracy"}


@dataclass(frozen=True)
class Interval:
    """An interval around a mean or a difference, and how it was made (e.g. "95 % CI over 3 paired seeds")."""

    low: float
    high: float
    how: str


def tie_margin(n_test: int, scale: float = 1.0, flows: int = TIE_FLOWS) -> float:
    """What ``flows`` test flows are worth in a score (``scale=100``: in percentage points); 0 without rows."""
    return scale * flows / n_test if n_test else 0.0


def seed_interval(diff: dict[str, Any]) -> Interval | None:
    """The seeds' paired t-interval of a :func:`paired_difference` (None with one seed: no interval)."""
    if diff["n"] < 2 or not (math.isfinite(diff["ci_low"]) and math.isfinite(diff["ci_high"])):
        return None
    return Interval(diff["ci_low"], diff["ci_high"], f"95 % CI over {diff['n']} paired seeds")


def call(mean: float, interval: Interval | None, tie: float) -> str:
    """The rule: :data:`GAIN` or :data:`LOSS` only when ``interval`` excludes zero and ``|mean|`` exceeds ``tie``;
    else :data:`LEVEL` (the interval lies within ±``tie``) or :data:`WIDE`; :data:`ONE_SEED` without interval,
    :data:`NO_SPREAD` for an interval of no width around a difference beyond ``tie``."""
    if interval is None:
        return ONE_SEED
    if interval.low == interval.high and abs(mean) > tie:
        return NO_SPREAD
    if interval.low > 0 and mean > tie:
        return GAIN
    if interval.high < 0 and -mean > tie:
        return LOSS
    if -tie <= interval.low and interval.high <= tie:
        return LEVEL
    return WIDE


def paper_call(mean: float, interval: Interval | None, paper: float, tie: float) -> str:
    """Our ``mean`` (with its ``interval``) against a paper's number: :data:`NOT_REPRODUCED` when the paper's
    number lies outside the interval by more than ``tie``, :data:`NOT_SUPPORTED` when ours is lower by more
    than ``tie`` but the interval reaches it, :data:`REPRODUCES` otherwise; one seed: :data:`ONE_SEED_WORDS`; an
    interval of no width more than ``tie`` from the paper's number: :data:`NO_SPREAD_WORDS`."""
    if interval is None:
        return ONE_SEED_WORDS
    if interval.low == interval.high and abs(paper - mean) > tie:
        return NO_SPREAD_WORDS
    if paper < interval.low - tie or paper > interval.high + tie:
        return NOT_REPRODUCED
    return NOT_SUPPORTED if mean < paper - tie else REPRODUCES


def claim_call(calls: Sequence[str]) -> str:
    """A claim that one model beats each of others, from the calls of its differences against them:
    :data:`REPRODUCES` when every one is a gain, :data:`NOT_REPRODUCED` when one is a loss, one seed's words
    with one seed, :data:`NOT_SUPPORTED` otherwise (level with, or not separable from, some)."""
    if not calls:
        raise ValueError("a claim needs at least one difference")
    if ONE_SEED in calls:
        return ONE_SEED_WORDS
    if LOSS in calls:
        return NOT_REPRODUCED
    return REPRODUCES if all(c == GAIN for c in calls) else NOT_SUPPORTED


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


def mean_interval(
    runs: pd.DataFrame, model: str, metric: str, confidence: float = 0.95
) -> tuple[float, Interval | None]:
    """``model``'s mean ``metric`` over its seeds and the t-interval of that mean (None with one seed)."""
    row = summarise(runs[runs["model"] == model], metrics=[metric], confidence=confidence).iloc[0]
    if row["n"] < 2 or not math.isfinite(row["ci_low"]):
        return float(row["mean"]), None
    return float(row["mean"]), Interval(float(row["ci_low"]), float(row["ci_high"]), f"95 % CI over {row['n']} seeds")


IntervalOf = Callable[[dict[str, Any]], "Interval | None"]


def describe_difference(
    diff: dict[str, Any], names: dict[str, str] | None = None, tie: float = 0.0, interval_of: IntervalOf = seed_interval
) -> str:
    """One plain sentence: ``diff`` (from :func:`paired_difference`) with its interval and its :func:`call`."""
    names = names or {}
    a, b = names.get(diff["model"], diff["model"]), names.get(diff["reference"], diff["reference"])
    metric = METRIC_NAMES.get(diff["metric"], diff["metric"])
    head = (
        f"{a} vs {b}: {metric} {diff['model_mean']:.4f} vs {diff['reference_mean']:.4f} (difference {diff['mean']:+.4f}"
    )
    interval = interval_of(diff)
    if interval is None:
        return head + f", {diff['n']} seed): {ONE_SEED_WORDS} (no interval)."
    found = call(diff["mean"], interval, tie)
    text = head + f", {interval.how} [{interval.low:+.4f}, {interval.high:+.4f}], tie margin {tie:.4f}): "
    return text + f"{a} is {CALL_WORDS[found]} {b}."


def describe_differences(
    differences: list[dict[str, Any]], names: dict[str, str] | None = None, tie: float = 0.0
) -> str:
    """:func:`describe_difference` of each difference, one bullet line each."""
    return "\n".join(f"* {describe_difference(diff, names, tie=tie)}" for diff in differences)


def _by_call(found: list[dict[str, Any]], names: dict[str, str], tie: float, interval_of: IntervalOf) -> dict:
    """The models of ``found`` grouped by their :func:`call`, by name, in order."""
    grouped: dict[str, list[str]] = {}
    for d in found:
        grouped.setdefault(call(d["mean"], interval_of(d), tie), []).append(names.get(d["model"], d["model"]))
    return {k: ", ".join(v) for k, v in grouped.items()}


def _side(grouped: dict[str, str], reference: str) -> str:
    """ "better than <reference>: A; level with it: B; ..." for the calls present."""
    words = {GAIN: f"better than {reference}", LOSS: f"worse than {reference}", LEVEL: "level with it"}
    words |= {WIDE: "not separable here from it", NO_SPREAD: "not separable from it (the seeds do not vary it)"}
    return "; ".join(f"{words[k]}: {grouped[k]}" for k in (GAIN, LOSS, LEVEL, WIDE, NO_SPREAD) if k in grouped)


def verdict(
    differences: list[dict[str, Any]],
    best_single: str,
    names: dict[str, str],
    tie: float,
    baseline: str = "xgboost",
    interval_of: IntervalOf = seed_interval,
) -> str:
    """Whether fusion beats the best single deep model, then whether it beats ``baseline`` (XGBoost on the
    features), from paired differences (:func:`paired_difference`, one per fusion and reference; differences
    against other references are ignored), each called by :func:`call` with ``interval_of`` and ``tie``."""
    best, base = names.get(best_single, best_single), names.get(baseline, baseline)
    over_single = [d for d in differences if d["reference"] == best_single]
    over_base = [d for d in differences if d["reference"] == baseline]
    if not over_single or any(interval_of(d) is None for d in over_single):
        return (
            f"{ONE_SEED_WORDS.capitalize()}: this run cannot say whether fusion beats the best single deep model "
            f"({best}) or {base}: rerun with N_SEEDS of 3 or more."
        )
    metric = METRIC_NAMES.get(over_single[0]["metric"], over_single[0]["metric"])
    single = _by_call(over_single, names, tie, interval_of)
    if GAIN in single:
        lead = "Fusion adds something here"
    elif LOSS in single:
        lead = "Fusion costs accuracy here"
    else:
        lead = "Fusion adds nothing measurable here"
    text = f"{lead}, on {metric} against the best single deep model ({best}): {_side(single, best)}."
    if not over_base:
        return text
    return text + f" Against {base}: {_side(_by_call(over_base, names, tie, interval_of), base)}."
