"""The sentences of the report: the paper's Table 1 claims checked one by one (notebook 06), the feature-importance
claim and which claims survive which split protocol (notebook 05's own sentences are in
:mod:`lib.anomaly.summary`). Every number in them is computed from the scores; none is typed.

Every difference is called by the one rule of :mod:`lib.metrics.compare` (a gain or a loss only when its interval
excludes zero and it exceeds the tie margin; otherwise level with, or not separable here), and every comparison
with the paper's numbers by :func:`lib.metrics.compare.paper_call`. No sentence ranks models by their means.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from lib import metrics
from lib.metrics import compare
from lib.report.evidence import Evidence
from lib.report.runs import SPLIT_NAMES, STUDY_METRIC

# The paper's Table 1 rows, in the paper's order, by our model ids.
PAPER_MODELS = {
    "random_forest": "Random Forest",
    "cnn_only": "CNN-Only",
    "lstm_only": "LSTM-Only",
    "cnn_lstm": "CNN-LSTM Hybrid",
}
# The paper's feature-importance claim (section II.F), as the words a column name would contain.
PAPER_TOP_FEATURES = {
    "packet size": ("packet length", "pkt len", "packet size", "segment size", "bytes", "mean", "max", "min"),
    "flow duration": ("duration", "dur", "flow iat"),
    "protocol": ("proto", "protocol"),
    "byte counts": ("bytes", "byts", "length of"),
}
#: The scores the sentences compare, turned into percent before any difference is taken.
PERCENT_SCORES = ("accuracy", "f1", "f1_macro")
#: A claim's verdict on data the paper reports on -> the same verdict on other data (claims about the method).
OTHER_DATA = {
    compare.REPRODUCES: "holds on this data",
    compare.NOT_REPRODUCED: "does not hold on this data",
    compare.NOT_SUPPORTED: "not supported on this data",
    compare.ONE_SEED_WORDS: compare.ONE_SEED_WORDS,
}


MeanOf = Callable[[pd.DataFrame, str, str], "tuple[float, compare.Interval | None]"]


def _intervals(evidence: Evidence | None, run: str, pool: str) -> tuple[compare.IntervalOf, MeanOf, str]:
    """The rule's intervals for ``run``: the test-set bootstrap of ``evidence`` and the sentence that says how it
    was made; without evidence the seeds' t-intervals (and no sentence: :func:`_tie_note` says what they leave
    out)."""
    if evidence is None:
        return compare.seed_interval, compare.mean_interval, ""
    return evidence.interval_of(run, pool), evidence.mean_of(run, pool), evidence.describe(run)


def in_percent(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with the scores the sentences compare (:data:`PERCENT_SCORES`) in percent."""
    out = runs.copy()
    columns = [c for c in PERCENT_SCORES if c in out]
    out[columns] = 100 * out[columns].astype(float)
    return out


def tie_points(runs: pd.DataFrame) -> float:
    """The tie margin in percentage points: two test flows of the run (0 when the scores carry no ``n_test``)."""
    n_test = int(runs["n_test"].iloc[0]) if "n_test" in runs and len(runs) else 0
    return compare.tie_margin(n_test, scale=100)


def _difference(diff: dict[str, Any], interval_of: compare.IntervalOf) -> str:
    """ "+0.06 points, 95 % CI over 3 paired seeds [+0.05, +0.07]" (or "on one seed")."""
    interval = interval_of(diff)
    if interval is None:
        return f"{diff['mean']:+.2f} points on one seed"
    return f"{diff['mean']:+.2f} points, {interval.how} [{interval.low:+.2f}, {interval.high:+.2f}]"


def _against(
    runs: pd.DataFrame, model: str, others: list[str], metric: str, tie: float, interval_of: compare.IntervalOf
) -> tuple[list[str], str]:
    """The calls of ``model`` against each of ``others`` (paired by seed), and one clause naming them all."""
    calls, parts = [], []
    for other in others:
        diff = compare.paired_difference(runs, model, other, metric)
        found = compare.call(diff["mean"], interval_of(diff), tie)
        calls.append(found)
        parts.append(f"{compare.CALL_WORDS[found]} {metrics.MODEL_NAMES[other]} ({_difference(diff, interval_of)})")
    return calls, "; ".join(parts)


def _mean_cell(runs: pd.DataFrame, model: str, metric: str, mean_of: MeanOf = compare.mean_interval) -> str:
    """ "94.48 (95 % bootstrap CI: 93.10–95.56)", or "94.48 (one seed)"."""
    mean, interval = mean_of(runs, model, metric)
    if interval is None:
        return f"{mean:.2f} (one seed)"
    return f"{mean:.2f} ({interval.how}: {interval.low:.2f}–{interval.high:.2f})"


def _tie_note(runs: pd.DataFrame, one_seed: bool, intervals_said: str = "") -> tuple[float, str]:
    """The tie margin (two test flows, in percentage points; 0 without ``n_test``) and the paragraph that says
    how the intervals were made (``intervals_said``; by default the seeds' t-intervals, which leave out the test
    rows' sampling), what a flow is worth and the rule every sentence below follows."""
    n_test = int(runs["n_test"].iloc[0]) if "n_test" in runs else 0
    tie = tie_points(runs)
    flows = f"On {n_test:,} test flows one flow is {100 / n_test:.2f} points, two flows {tie:.2f}. " if n_test else ""
    if one_seed:
        head = (
            "With one seed no interval can be given, so no sentence below calls a difference a gain or a loss "
            "(one seed: not separable): rerun with N_SEEDS of 3 or more. "
        )
    elif intervals_said:
        head = intervals_said + " "
    else:
        head = (
            "Seeds vary the models' initialisation and training order; the train/test split is the one notebook 01 "
            "made, so the intervals (over paired seeds) leave out test-set sampling. "
        )
    rule = (
        "A difference is a gain or a loss only when its 95 % interval excludes zero and it "
        "exceeds two test flows; otherwise it is level with (the interval lies within two flows) or not separable "
        "here (the interval is wider). The paper's number does not reproduce only when it lies outside our "
        "interval by more than two flows; it is not supported when ours is lower but the interval reaches it."
    )
    return tie, head + flows + rule


def _verb(found: str, in_paper: bool) -> str:
    return found if in_paper else OTHER_DATA[found]


def _hybrid_line(
    runs: pd.DataFrame, present: list[str], tie: float, in_paper: bool, interval_of, mean_of: MeanOf
) -> str:
    """The bullet on the paper's headline claim: the hybrid against each other paper model, and every F1."""
    claim = "- *The CNN-LSTM hybrid has the best F1 of the paper's four models* — "
    others = [m for m in present if m != "cnn_lstm"]
    if not others:
        return claim + "cannot be checked: none of the paper's other three models was run."
    calls, clause = _against(runs, "cnn_lstm", others, "f1", tie, interval_of)
    scores = "; ".join(f"{metrics.MODEL_NAMES[m]} {_mean_cell(runs, m, 'f1', mean_of)}" for m in present)
    return claim + f"{_verb(compare.claim_call(calls), in_paper)}: the hybrid is {clause}. F1: {scores}."


def _ranking_line(runs: pd.DataFrame, present: list[str], tie: float, in_paper: bool, interval_of) -> str:
    """The bullet on the paper's accuracy ranking: each model against the one the paper ranks just below it."""
    calls, parts = [], []
    for lower, higher in zip(present, present[1:], strict=False):
        found, clause = _against(runs, higher, [lower], "accuracy", tie, interval_of)
        calls += found
        parts.append(f"{metrics.MODEL_NAMES[higher]} is {clause}")
    verdict = _verb(compare.claim_call(calls), in_paper)
    return f"- *Accuracy ranks RF < CNN-only < LSTM-only < CNN-LSTM* — {verdict}: " + "; ".join(parts) + "."


def _paper_lines(runs: pd.DataFrame, present: list[str], tie: float, mean_of: MeanOf) -> list[str]:
    """One bullet per paper model: our accuracy and F1 (with intervals) against the paper's, each called."""
    lines = []
    for m in present:
        paper = metrics.PAPER1_TABLE1[PAPER_MODELS[m]]
        parts = []
        for metric, column, label in (("accuracy", "Accuracy", "accuracy"), ("f1", "F1-Score", "F1")):
            mean, interval = mean_of(runs, m, metric)
            found = compare.paper_call(mean, interval, paper[column], tie)
            parts.append(f"{label} {_mean_cell(runs, m, metric, mean_of)} vs the paper's {paper[column]:.1f}: {found}")
        lines.append(f"- {metrics.MODEL_NAMES[m]}: " + "; ".join(parts) + ".")
    return lines


def findings(
    runs: pd.DataFrame,
    dataset: str,
    label_mode: str,
    name: str | None = None,
    evidence: Evidence | None = None,
) -> str:
    """The paper's Table 1 claims, checked one by one against ``runs``; Markdown, every number computed.

    ``name`` (the run's name, default ``dataset``) heads the text. The paper's numbers are compared only where
    the paper reports on ``dataset`` (:func:`lib.metrics.paper_reports`); elsewhere its claims about the method
    are checked on this data with no number compared. Every difference is called by
    :func:`lib.metrics.compare.call` with the intervals of ``evidence`` (the test-set bootstrap,
    :mod:`lib.report.evidence`; without it the seeds' t-intervals, which leave out the test rows' sampling); with
    one seed no difference is called a gain or a loss.
    """
    interval_of, mean_of, said = _intervals(evidence, name or dataset, "table1")
    present = [m for m in PAPER_MODELS if m in set(runs["model"])]
    in_paper = metrics.paper_reports(dataset)
    lines = [f"**{name or dataset}, {label_mode}, {runs['seed'].nunique()} seed(s).**", ""]
    lines += [metrics.paper_note(dataset, label_mode), ""]
    if not present:
        return "\n".join(lines + ["None of the paper's Table 1 models were run."])
    pct = in_percent(runs)
    one_seed = pct.groupby("model")["seed"].nunique().min() < 2
    tie, note = _tie_note(pct, one_seed, said)
    lines += [note, ""]
    if "cnn_lstm" in present:
        lines.append(_hybrid_line(pct, present, tie, in_paper, interval_of, mean_of))
    if len(present) > 1:
        lines.append(_ranking_line(pct, present, tie, in_paper, interval_of))
    if in_paper:
        lines += _paper_lines(pct, present, tie, mean_of)
    extra = [m for m in set(runs["model"]) - set(PAPER_MODELS) if m in metrics.MODEL_NAMES]
    for m in sorted(extra, key=metrics.model_order_id):
        lines.append(f"- {metrics.MODEL_NAMES[m]} (not in the paper's table): F1 {_mean_cell(pct, m, 'f1', mean_of)}.")
    if label_mode == "binary" and {"f1_macro", "f1_benign", "recall_benign"} <= set(runs.columns):
        lines.append(_benign_and_macro(runs))
    return "\n".join(lines)


def _benign_and_macro(runs: pd.DataFrame) -> str:
    """One bullet for binary runs: each model's macro F1, benign F1 and benign recall (the paper reports none)."""
    means = runs.groupby("model")[["f1_macro", "f1_benign", "recall_benign"]].mean() * 100
    order = [m for m in metrics.MODEL_NAMES if m in means.index] + sorted(set(means.index) - set(metrics.MODEL_NAMES))
    parts = [
        f"{metrics.MODEL_NAMES.get(m, m)} {means.loc[m, 'f1_macro']:.1f} % (benign F1 "
        f"{means.loc[m, 'f1_benign']:.1f} %, benign recall {means.loc[m, 'recall_benign']:.1f} %)"
        for m in order
    ]
    flooded = [metrics.MODEL_NAMES.get(m, m) for m in order if means.loc[m, "recall_benign"] < 50]
    warning = (
        f" {', '.join(flooded)} call(s) most benign test flows attacks: their attack-class scores overstate them."
        if flooded
        else ""
    )
    return "- Macro F1, the mean of the benign and the attack F1 (the paper gives attack-class scores only): " + (
        "; ".join(parts) + "." + warning
    )


def importance_vs_paper(importance: pd.DataFrame, dataset: str, top: int = 5) -> str:
    """Our top features per method, next to the paper's claim (packet size, duration, protocol, bytes) where
    the paper reports on ``dataset``; elsewhere our ranking alone."""
    in_paper = metrics.paper_reports(dataset)
    head = (
        "The paper ranks packet size, flow duration, protocol types and byte counts highest. Ours:"
        if in_paper
        else "Paper 1 ranks features for CICIDS2017 and IoT-23 only and reports no ranking for this data, so "
        "nothing is compared. Our top features per method:"
    )
    lines = [head, ""]
    for method in importance.columns:
        ranked = importance[method].sort_values(ascending=False).index[:top]
        if not in_paper:
            lines.append(f"- {method}: {', '.join(ranked)}")
            continue
        hits = {
            claim for claim, words in PAPER_TOP_FEATURES.items() for f in ranked if any(w in f.lower() for w in words)
        }
        lines.append(
            f"- {method}: {', '.join(ranked)} (the paper's groups among them: {', '.join(sorted(hits)) or 'none'})"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ the study
def _protocol_parts(
    part: pd.DataFrame, paper_f1: float | None, interval_of: compare.IntervalOf, mean_of: MeanOf
) -> list[str]:
    """For one run's macro-F1 per model and seed (percent): the hybrid against each other paper model, each tree
    on the features against the hybrid, and the hybrid against the paper's F1, each called by the one rule."""
    tie = tie_points(part)
    models = set(part["model"])
    others = [m for m in PAPER_MODELS if m in models and m != "cnn_lstm"]
    parts = []
    if others:
        calls, clause = _against(part, "cnn_lstm", others, STUDY_METRIC, tie, interval_of)
        parts.append(f"the hybrid has the best macro-F1 of the paper's four models — {compare.claim_call(calls)}: "
                     f"the hybrid is {clause}")  # fmt: skip
    for tree in (m for m in ("random_forest", "xgboost") if m in models):
        _, clause = _against(part, tree, ["cnn_lstm"], STUDY_METRIC, tie, interval_of)
        parts.append(
            f"{metrics.MODEL_NAMES[tree]} on the features is {clause.replace('CNN-LSTM Hybrid', 'the hybrid')}"
        )
    if paper_f1 is not None:
        mean, interval = mean_of(part, "cnn_lstm", STUDY_METRIC)
        found = compare.paper_call(mean, interval, paper_f1, tie)
        parts.append(f"the hybrid's {_mean_cell(part, 'cnn_lstm', STUDY_METRIC, mean_of)} against the paper's F1 of "
                     f"{paper_f1:.1f}: {found}")  # fmt: skip
    return parts


def protocol_findings(rows: pd.DataFrame, dataset: str, evidence: Evidence | None = None) -> str:
    """Which of the paper's claims survive which protocol: for every run of the study, the hybrid against each of
    the paper's other three models, each tree on the features against the hybrid, and the hybrid's macro-F1
    against the paper's F1, every difference called by :mod:`lib.metrics.compare`'s rule (tie margin: two of the
    run's test flows), with the intervals of ``evidence`` (each run's test-set bootstrap; without it the seeds'
    t-intervals). Markdown, every number computed from ``rows`` (:func:`lib.report.protocol_rows`)."""
    kind = (
        "paired bootstrap interval over the run's test rows" if evidence is not None else "interval over paired seeds"
    )
    lines = [
        f"**Which of the paper's claims survive which protocol ({dataset}, macro-F1 in percent).** Each difference "
        f"is a gain or a loss only when its 95 % {kind} excludes zero and it exceeds two of the run's test flows; "
        "otherwise level with, or not separable here.",
        "",
    ]
    paper_f1 = metrics.PAPER1_TABLE1[PAPER_MODELS["cnn_lstm"]]["F1-Score"] if metrics.paper_reports(dataset) else None
    for (run_name, split, config), part in rows.groupby(["run", "split", "configuration"], sort=False):
        n = int(part["seed"].nunique())
        head = f"- {SPLIT_NAMES.get(split, split)}, {config} ({run_name}, {n} seed(s)): "
        if "cnn_lstm" not in set(part["model"]):
            lines.append(head + "no CNN-LSTM in this run.")
            continue
        interval_of, mean_of, _ = _intervals(evidence, run_name, "table1")
        parts = _protocol_parts(in_percent(part), paper_f1, interval_of, mean_of)
        lines.append(head + "; ".join(parts) + ".")
    return "\n".join(lines)
