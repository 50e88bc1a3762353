"""The sentences of the report: the paper's Table 1 claims checked one by one (notebook 06), the feature-importance
claim, which claims survive which split protocol, why no family was held out for the zero-day test, and
notebook 05's summary. Every number in them is computed from the scores; none is typed.
"""

from __future__ import annotations

import pandas as pd

from lib import metrics
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
Stats = tuple[float, float, float, int]  # mean, ci_low, ci_high (percent), number of seeds


def _stats(runs: pd.DataFrame, model: str, metric: str) -> Stats:
    row = metrics.summarise(runs[runs["model"] == model], metrics=[metric]).iloc[0]
    return 100 * row["mean"], 100 * row["ci_low"], 100 * row["ci_high"], int(row["n"])


def _one_seed_verdict(f1: dict[str, Stats], best: str, within: bool) -> str:
    """What one seed shows about the hybrid's F1 against the best other model, claiming nothing about a spread."""
    hybrid = f1["cnn_lstm"]
    if within:
        return "not settled by one seed: on it the hybrid and the others are within two test flows of each other"
    if hybrid[0] > f1[best][0]:
        return "not settled by one seed: the hybrid has the best F1 on it, and one seed gives no spread to judge it by"
    return (
        f"not settled by one seed: {metrics.MODEL_NAMES[best]} has the best F1 on it, "
        f"{f1[best][0] - hybrid[0]:.2f} points above the hybrid, and one seed gives no spread to judge that gap by"
    )


def _hybrid_verdict(f1: dict[str, Stats], tie: float, one_seed: bool, verbs: tuple[str, str]) -> str:
    """Whether the CNN-LSTM hybrid has the best F1 of the paper's models run (``f1``: mean, ci_low, ci_high, n)."""
    yes, no = verbs
    name = metrics.MODEL_NAMES
    hybrid = f1["cnn_lstm"]
    others = [m for m in f1 if m != "cnn_lstm"]
    if not others:
        return "cannot be checked: none of the paper's other three models was run"
    best = max(others, key=lambda m: f1[m][0])
    within = all(abs(f1[m][0] - hybrid[0]) <= tie for m in others)
    if one_seed:  # no interval: say what this seed shows, claim nothing that needs the spread
        return _one_seed_verdict(f1, best, within)
    beaten = [m for m in others if hybrid[0] > f1[m][0]]
    clearly_beaten = [m for m in beaten if hybrid[1] > f1[m][2] and hybrid[0] - f1[m][0] > tie]
    clearly_better = [m for m in others if f1[m][1] > hybrid[2] and f1[m][0] - hybrid[0] > tie]
    if len(clearly_beaten) == len(others):
        return f"{yes}: the hybrid is best, with 95 % intervals clear of every other model's"
    if clearly_better:
        return f"{no}: {', '.join(name[m] for m in clearly_better)} beat(s) the hybrid beyond the intervals"
    if not clearly_beaten and within:
        return f"{no}: the hybrid ties with the others (all within two test flows)"
    if len(beaten) == len(others):
        overlapping = ", ".join(name[m] for m in others if m not in clearly_beaten)
        return f"{yes} only on the mean: the hybrid is best, but its interval overlaps {overlapping}"
    gap = f1[best][0] - hybrid[0]
    why = (
        "under two test flows"
        if gap <= tie
        else f"but the 95 % intervals over seeds overlap (the hybrid {hybrid[1]:.2f}–{hybrid[2]:.2f}, "
        f"{name[best]} {f1[best][1]:.2f}–{f1[best][2]:.2f}), so the seeds do not settle it"
    )
    return f"{no}: {name[best]} has the best mean F1, {gap:.2f} points above the hybrid, {why}"


def _tie_note(runs: pd.DataFrame, one_seed: bool) -> tuple[float, str]:
    """The tie margin (two test flows, in percentage points; 0 without ``n_test``) and the paragraph that says
    what the seeds vary and what a flow is worth."""
    n_test = int(runs["n_test"].iloc[0]) if "n_test" in runs else 0
    tie = 200 / n_test if n_test else 0.0
    flows = ""
    if n_test:
        flows = (
            f"On {n_test:,} test flows one flow is {100 / n_test:.2f} points; differences under two flows "
            f"({tie:.2f} points) are called ties."
        )
    if one_seed:
        head = (
            "With one seed no interval or spread can be given, so no sentence below claims that a difference is "
            "real: rerun with N_SEEDS of 3 or more to measure the seed-to-seed spread. "
        )
    else:
        head = (
            "Seeds vary the models' initialisation and training order; the train/test split is the one notebook 01 "
            "made, so the intervals leave out test-set sampling. "
        )
    return tie, head + flows


def _hybrid_line(f1: dict[str, Stats], tie: float, one_seed: bool, verbs: tuple[str, str]) -> str:
    """The bullet on the paper's headline claim, with every model's F1 (and 95 % CI over seeds)."""
    label = metrics.MODEL_NAMES
    ranked = sorted(f1, key=lambda m: -f1[m][0])
    if one_seed:
        scores = "F1 on the one seed: " + "; ".join(f"{label[m]} {f1[m][0]:.2f}" for m in ranked)
    else:
        scores = "Mean F1 (95 % CI): " + "; ".join(
            f"{label[m]} {f1[m][0]:.2f} ({f1[m][1]:.2f}–{f1[m][2]:.2f})" for m in ranked
        )
    return (
        f"- *The CNN-LSTM hybrid has the best F1 of the paper's four models* — "
        f"{_hybrid_verdict(f1, tie, one_seed, verbs)}. {scores}."
    )


def _ranking_line(acc: dict[str, Stats], one_seed: bool, verbs: tuple[str, str]) -> str:
    """The bullet on the paper's accuracy ranking of its four models."""
    ranking = sorted(acc, key=lambda m: acc[m][0])
    same = [m for m in PAPER_MODELS if m in acc] == ranking
    verdict = ("matches" if same else "does not match") + " on this one seed" if one_seed else verbs[not same]
    return (
        f"- *Accuracy ranks RF < CNN-only < LSTM-only < CNN-LSTM* — {verdict}: "
        f"ours ranks " + " < ".join(f"{metrics.MODEL_NAMES[m]} ({acc[m][0]:.2f})" for m in ranking) + "."
    )


def _paper_lines(acc: dict[str, Stats], f1: dict[str, Stats]) -> list[str]:
    """One bullet per paper model: our accuracy and F1 beside the paper's."""
    lines = []
    for m in acc:
        paper = metrics.PAPER1_TABLE1[PAPER_MODELS[m]]
        lines.append(
            f"- {metrics.MODEL_NAMES[m]}: accuracy {acc[m][0]:.1f} % vs the paper's {paper['Accuracy']:.1f} % "
            f"({acc[m][0] - paper['Accuracy']:+.1f} points); F1 {f1[m][0]:.1f} % vs {paper['F1-Score']:.1f} %."
        )
    return lines


def findings(runs: pd.DataFrame, dataset: str, label_mode: str, name: str | None = None) -> str:
    """The paper's Table 1 claims, checked one by one against ``runs``; Markdown, every number computed.

    ``name`` (the run's name, default ``dataset``) heads the text. The paper's numbers are compared only where
    the paper reports on ``dataset`` (:func:`lib.metrics.paper_reports`); elsewhere its claims about the method
    are checked on this data with no number compared. With one seed no interval exists, and no sentence
    claims more than that seed shows.
    """
    present = [m for m in PAPER_MODELS if m in set(runs["model"])]
    in_paper = metrics.paper_reports(dataset)
    lines = [f"**{name or dataset}, {label_mode}, {runs['seed'].nunique()} seed(s).**", ""]
    lines += [metrics.paper_note(dataset, label_mode), ""]
    if not present:
        return "\n".join(lines + ["None of the paper's Table 1 models were run."])
    acc = {m: _stats(runs, m, "accuracy") for m in present}
    f1 = {m: _stats(runs, m, "f1") for m in present}
    one_seed = min(n for *_, n in f1.values()) < 2
    verbs = ("reproduces", "does not reproduce") if in_paper else ("holds on this data", "does not hold on this data")
    tie, note = _tie_note(runs, one_seed)
    lines += [note, ""]
    if "cnn_lstm" in present:
        lines.append(_hybrid_line(f1, tie, one_seed, verbs))
    if len(present) > 1:
        lines.append(_ranking_line(acc, one_seed, verbs))
    if in_paper:
        lines += _paper_lines(acc, f1)
    extra = [m for m in set(runs["model"]) - set(PAPER_MODELS) if m in metrics.MODEL_NAMES]
    for m in sorted(extra):
        mean = _stats(runs, m, "f1")[0]
        lines.append(f"- {metrics.MODEL_NAMES[m]} (not in the paper's table): F1 {mean:.1f} %.")
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
def _points(gap: float, other: str) -> str:
    """``gap`` (percentage points) in words: "2.5 points above <other>", "below", or "level with" at 0.0."""
    if round(gap, 1) == 0:
        return f"level with {other} (within 0.05 points)"
    return f"{abs(gap):.1f} points {'above' if gap > 0 else 'below'} {other}"


def _protocol_parts(means: pd.Series, paper_f1: float | None) -> list[str]:
    """For one run's mean macro-F1 per model (percent): whether the hybrid is best of the paper's four models,
    how the best tree on the features compares with it, and how far it is from the paper's F1."""
    hybrid = means["cnn_lstm"]
    four = [m for m in PAPER_MODELS if m in means and m != "cnn_lstm"]
    best = max(four, key=lambda m: means[m]) if four else None
    trees = [m for m in ("random_forest", "xgboost") if m in means]
    best_tree = max(trees, key=lambda m: means[m]) if trees else None
    parts = []
    if best is not None:
        won = hybrid >= means[best]
        parts.append(
            f"the hybrid {'has' if won else 'does not have'} the best macro-F1 of the paper's four models "
            f"({hybrid:.1f} vs {metrics.MODEL_NAMES[best]} {means[best]:.1f})"
        )
    if best_tree is not None:
        tree = metrics.MODEL_NAMES[best_tree]
        parts.append(f"{tree} on the features is {_points(means[best_tree] - hybrid, 'the hybrid')}")
    if paper_f1 is not None:
        paper = f"the paper's F1 of {paper_f1:.1f}"
        parts.append(f"the hybrid is {_points(hybrid - paper_f1, paper)}")
    return parts


def protocol_findings(rows: pd.DataFrame, dataset: str) -> str:
    """Which of the paper's claims survive which protocol: for every run of the study, whether the hybrid has the
    best macro-F1 of the paper's four models, whether it beats the trees on the features, and how far its
    macro-F1 lies from the paper's F1. Markdown, every number computed."""
    lines = [f"**Which of the paper's claims survive which protocol ({dataset}, macro-F1).**", ""]
    paper_f1 = metrics.PAPER1_TABLE1[PAPER_MODELS["cnn_lstm"]]["F1-Score"] if metrics.paper_reports(dataset) else None
    for (run_name, split, config), part in rows.groupby(["run", "split", "configuration"], sort=False):
        means = part.groupby("model")[STUDY_METRIC].mean() * 100
        n = int(part["seed"].nunique())
        head = f"- {SPLIT_NAMES.get(split, split)}, {config} ({run_name}, {n} seed(s)): "
        if "cnn_lstm" not in means:
            lines.append(head + "no CNN-LSTM in this run.")
            continue
        parts = _protocol_parts(means, paper_f1)
        lines.append(head + "; ".join(parts) + ("." if n > 1 else " (one seed: no spread)."))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ zero-day
def zero_day_reason(eligibility: pd.DataFrame, min_family_rows: int) -> str:
    """Why notebook 05 held no attack family out, in one sentence, from its eligibility table
    (:func:`lib.anomaly.eligible_families`); empty when some family was held out."""
    if len(eligibility) and eligibility["held_out"].astype(bool).any():
        return ""
    head = "No attack family could be held out for the zero-day test"
    if not len(eligibility):
        return f"{head}: the training and test rows hold no attack rows at all."
    if len(eligibility) == 1:
        family = eligibility.iloc[0]
        return (
            f"{head}: the rows name a single attack family ({str(family['family'])!r}, {int(family['n_test'])} test "
            "rows), and without it no attack would be left to train the supervised path on (a label column that "
            "names the attack families, not only attack vs benign, makes this test possible)."
        )
    groups = []
    for reason, rows in eligibility.groupby("reason", sort=False):
        families = ", ".join(
            f"{r.family} ({int(r.n_test)} test, {int(r.n_train)} training rows)" for r in rows.itertuples()
        )
        groups.append(f"{families}: {reason}")
    too_few = any(str(r).startswith("fewer than") for r in eligibility["reason"])
    hint = f" (MIN_FAMILY_ROWS={min_family_rows}: lower it, or prepare more rows with SAMPLE_ROWS)" if too_few else ""
    return f"{head}: " + "; ".join(groups) + hint + "."


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
) -> str:
    """Notebook 05's findings as Markdown bullets, every number computed from its tables; ``no_zero_day`` says
    why no family was held out (:func:`zero_day_reason`). ``branch`` is the detector chosen as the anomaly
    branch (``chosen_on``: on which validation rows), ``by_detector`` :func:`lib.anomaly.zero_day_by_detector`."""
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
    if chosen_on:
        lines.append(f"* Anomaly branch: **{branch}**, the best detector on validation rows ({chosen_on}).")
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


def _zero_day_lines(zero_day: pd.DataFrame, by_detector: pd.DataFrame | None) -> list[str]:
    """One bullet per held-out family (supervised, anomaly branch, their OR), then each detector's mean recall."""
    lines = []
    key = "branch" if "recall_or_branch_mean" in zero_day else "autoencoder"
    for row in zero_day.to_dict("records"):
        which = f"the anomaly branch ({row['branch']}, chosen without {row['family']})" if key == "branch" else key
        gain = row[f"recall_or_{key}_mean"] - row["recall_supervised_mean"]
        lines.append(
            f"* Zero-day {row['family']}: supervised recall {row['recall_supervised_mean']:.3f}, {which} "
            f"{row[f'recall_{key}_mean']:.3f}, OR {row[f'recall_or_{key}_mean']:.3f} ({gain:+.3f} from the "
            f"anomaly branch) at a test FPR of {row[f'fpr_or_{key}_mean']:.3%}."
        )
    overall = by_detector if by_detector is not None and len(by_detector) else pd.DataFrame(columns=["family"])
    for row in overall[overall["family"].astype(str).str.startswith("overall")].to_dict("records"):
        levels = ", ".join(f"{row[c]:.3f} {c.removeprefix('recall ')}" for c in row if str(c).startswith("recall at"))
        lines.append(f"* Zero-day recall of {row['detector']}, mean over the held-out families: {levels}.")
    return lines
