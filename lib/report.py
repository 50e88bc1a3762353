"""The reproduction report: Table 1 from the runs, the paper's claims checked against it (notebook 06), and
the sentences that say whether decision fusion helps (notebook 04).

Reads what notebooks 02–05 wrote, through the stages of :class:`lib.run.RunDir` (checked for staleness);
writes nothing but the tables the notebook asks for. Every sentence here is computed from the numbers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib import metrics, session
from lib.run import RunDir, StaleArtefactError

log = logging.getLogger(__name__)

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
TABLE1_STAGES = ("baselines", "deep")


def load_runs(run: RunDir) -> pd.DataFrame:
    """One row per (model, seed) from notebooks 02 and 03 (their ``scores.csv``), both checked current."""
    return pd.concat([run.open(stage).scores() for stage in TABLE1_STAGES], ignore_index=True)


def load_predictions(run: RunDir, seed: int, smote: bool = False) -> dict[str, np.ndarray]:
    """Test-set probabilities of every model of notebooks 02 and 03 for one seed, in Table 1's order.

    ``smote=True``: the models trained on paper 2's SMOTE set D2 (stages ``*_smote``), an optional extra: a
    SMOTE stage that never ran, did not finish, is stale or lacks ``seed`` is left out with a logged reason.
    """
    found = {}
    for stage in TABLE1_STAGES:
        if not smote:
            found |= run.open(stage).predictions(seed)
            continue
        if not run.has(f"{stage}_smote"):
            continue
        try:
            opened = run.open(f"{stage}_smote")
        except StaleArtefactError as err:
            log.warning("SMOTE runs left out: %s", err)
            continue
        if seed not in opened.info.get("seeds", []):
            log.warning("SMOTE runs of %s left out: they have seeds %s, not %d", stage, opened.info.get("seeds"), seed)
            continue
        found |= opened.predictions(seed)
    order = list(metrics.MODEL_NAMES)
    return dict(sorted(found.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def smote_pairs(probas: dict[str, np.ndarray], smote_probas: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each model trained on SMOTE (paper 2's D2) beside the same model trained on the unbalanced rows."""
    paired = {}
    for name, proba in smote_probas.items():
        if name not in probas:
            log.warning("%s was trained on SMOTE only: no unbalanced run to compare it with", name)
            continue
        label = metrics.MODEL_NAMES.get(name, name)
        paired |= {f"{label}, unbalanced": probas[name], f"{label}, SMOTE (D2)": proba}
    return paired


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    cells = [[str(c) for c in df.columns]] + [["" if pd.isna(v) else str(v) for v in row] for row in df.to_numpy()]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def write_table(df: pd.DataFrame, stem: str | Path) -> tuple[Path, Path]:
    """Write ``stem.csv`` and ``stem.md``; return both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(stem.with_suffix(".csv"), index=False)
    stem.with_suffix(".md").write_text(markdown_table(df) + "\n")
    return stem.with_suffix(".csv"), stem.with_suffix(".md")


def as_percent(df: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """``df`` with every float column (fractions: recall, FPR) in percent, rounded to ``digits``, its name
    followed by ``(%)``: the form a reader's table wants (the run's own tables keep the fractions)."""
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
    out = df.copy()
    out[floats] = (100 * out[floats]).round(digits)
    return out.rename(columns={c: f"{c} (%)" for c in floats})


def table1_summary(runs: pd.DataFrame, label_mode: str) -> pd.DataFrame:
    """Long table for Fig. 8b: model (Table 1 name), metric (Table 1 column), mean, std, ci in percent; binary
    runs add Macro F1 (see :func:`lib.metrics.table1_columns`)."""
    columns = metrics.table1_columns(runs, label_mode)
    summary = metrics.summarise(runs, metrics=list(columns.values()))
    names = {v: k for k, v in columns.items()}
    summary["metric"] = summary["metric"].map(names)
    summary["model"] = summary["model"].map(lambda m: metrics.MODEL_NAMES.get(m, m))
    for col in ("mean", "std", "ci_low", "ci_high"):
        summary[col] = 100 * summary[col]
    order = list(metrics.MODEL_NAMES.values())
    return summary.sort_values(
        "model", key=lambda s: s.map(lambda m: order.index(m) if m in order else len(order)), kind="stable"
    )


def _stats(runs: pd.DataFrame, model: str, metric: str) -> tuple[float, float, float, int]:
    row = metrics.summarise(runs[runs["model"] == model], metrics=[metric]).iloc[0]
    return 100 * row["mean"], 100 * row["ci_low"], 100 * row["ci_high"], int(row["n"])


def _hybrid_verdict(
    f1: dict[str, tuple[float, float, float, int]], tie: float, one_seed: bool, verbs: tuple[str, str]
) -> str:
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
        if within:
            return "not settled by one seed: on it the hybrid and the others are within two test flows of each other"
        if hybrid[0] > f1[best][0]:
            return (
                "not settled by one seed: the hybrid has the best F1 on it, and one seed gives no spread to judge it by"
            )
        return (
            f"not settled by one seed: {name[best]} has the best F1 on it, {f1[best][0] - hybrid[0]:.2f} points above "
            "the hybrid, and one seed gives no spread to judge that gap by"
        )
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
    label = metrics.MODEL_NAMES
    n_test = int(runs["n_test"].iloc[0]) if "n_test" in runs else 0
    tie = 200 / n_test if n_test else 0.0  # two test flows, in percentage points
    flows = (
        f"On {n_test:,} test flows one flow is {100 / n_test:.2f} points; differences under two flows "
        f"({tie:.2f} points) are called ties." if n_test else ""
    )  # fmt: skip
    if one_seed:
        lines += [
            "With one seed no interval or spread can be given, so no sentence below claims that a difference is "
            "real: rerun with N_SEEDS of 3 or more to measure the seed-to-seed spread. " + flows,
            "",
        ]
    else:
        lines += [
            "Seeds vary the models' initialisation and training order; the train/test split is the one notebook 01 "
            "made, so the intervals leave out test-set sampling. " + flows,
            "",
        ]
    if "cnn_lstm" in present:
        ranked = sorted(present, key=lambda m: -f1[m][0])
        scores = (
            "F1 on the one seed: " + "; ".join(f"{label[m]} {f1[m][0]:.2f}" for m in ranked)
            if one_seed
            else "Mean F1 (95 % CI): "
            + "; ".join(f"{label[m]} {f1[m][0]:.2f} ({f1[m][1]:.2f}–{f1[m][2]:.2f})" for m in ranked)
        )
        lines.append(
            f"- *The CNN-LSTM hybrid has the best F1 of the paper's four models* — "
            f"{_hybrid_verdict(f1, tie, one_seed, verbs)}. {scores}."
        )
    if len(present) > 1:
        ranking = sorted(present, key=lambda m: acc[m][0])
        same = [m for m in PAPER_MODELS if m in present] == ranking
        verdict = ("matches" if same else "does not match") + " on this one seed" if one_seed else verbs[not same]
        lines.append(
            f"- *Accuracy ranks RF < CNN-only < LSTM-only < CNN-LSTM* — {verdict}: "
            f"ours ranks " + " < ".join(f"{label[m]} ({acc[m][0]:.2f})" for m in ranking) + "."
        )
    if in_paper:
        for m in present:
            paper = metrics.PAPER1_TABLE1[PAPER_MODELS[m]]
            lines.append(
                f"- {label[m]}: accuracy {acc[m][0]:.1f} % vs the paper's {paper['Accuracy']:.1f} % "
                f"({acc[m][0] - paper['Accuracy']:+.1f} points); F1 {f1[m][0]:.1f} % vs {paper['F1-Score']:.1f} %."
            )
    extra = [m for m in set(runs["model"]) - set(PAPER_MODELS) if m in metrics.MODEL_NAMES]
    for m in sorted(extra):
        mean = _stats(runs, m, "f1")[0]
        lines.append(f"- {label[m]} (not in the paper's table): F1 {mean:.1f} %.")
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


def open_run(run: RunDir, parameters: dict[str, Any], main_model: str) -> dict[str, Any]:
    """Every stage notebook 06 reads, opened (and so checked) before it writes a single figure or table.

    ``prepared``, ``baselines`` and ``deep`` are required; ``fusion`` and ``anomaly`` are read when their
    notebooks have run (a stale or unfinished one is an error, never silently left out).
    """
    run.check_data_parameters("06_results_and_figures.ipynb", parameters)
    stages = {name: run.open(name) for name in ("prepared", "baselines", "deep")}
    stages |= {name: run.open(name) for name in ("fusion", "anomaly") if run.has(name)}
    trained = stages["deep"].info["models"]
    if main_model not in trained:
        raise ValueError(f"MAIN_MODEL={main_model!r} was not trained by notebook 03 (it trained {trained})")
    return stages


# ------------------------------------------------------------------------------------------------ Fig. 1
def lifecycle_figure(prepared: Any, data: Any, *, scenario: str, data_dir: str, name: str) -> tuple[Any, str]:
    """Fig. 1 of this run, and one sentence saying what it shows or why it is skipped: ``(figure or None, text)``.

    IoT-23: the raw flows of capture ``scenario`` (all of them, before deduplication, by detailed label) when
    that capture is among the run's data files. Otherwise, on any data set: the run's own prepared rows (all
    splits, after deduplication and sampling) over time by label, read from the first time column that parses
    (:func:`lib.figures.flow_times`); when none does, no figure and the reason. ``prepared`` is the prepared
    stage (its parameters say where the raw files are; ``data_dir`` overrides its ``DATA_DIR``).
    """
    from lib import figures

    splits = [s for s in ("train", "val", "test") if s in data.rows]
    rows = pd.concat([data.rows[s] for s in splits], ignore_index=True) if splits else pd.DataFrame()
    fallback = ""
    if prepared.parameters.get("DATASET") == "iot23" and scenario:
        capture, fallback = _iot23_capture(prepared, rows, scenario, data_dir)
        if capture is not None:
            fig = figures.botnet_lifecycle(capture, f"{name}, capture {scenario}: flows over time by detailed label")
            return fig, f"Fig. 1: IoT-23 capture {scenario}, all {len(capture):,} of its flows (before deduplication)."
    if rows.empty:
        return None, f"{fallback}Fig. 1 skipped: the prepared stage holds no row tables (rerun notebook 01)."
    found = figures.flow_times(rows)
    if found.times is None:
        return None, f"{fallback}Fig. 1 skipped: {found.how}."
    fig = figures.flows_over_time(found.times, rows["label"], f"{name}: flows over time by label")
    return fig, (
        f"{fallback}Fig. 1: the run's prepared flows (all splits, after deduplication and sampling; "
        f"{int(found.times.notna().sum()):,} of {len(rows):,} have a time) by label, time from {found.how}."
    )


def _iot23_capture(prepared: Any, rows: pd.DataFrame, scenario: str, data_dir: str) -> tuple[pd.DataFrame | None, str]:
    """The raw flows of IoT-23 capture ``scenario`` if the run read it, else None and why (one sentence)."""
    from lib import datasets, registry

    if "scenario" not in rows or scenario not in set(rows["scenario"].astype(str)):
        return (
            None,
            f"Capture {scenario} (LIFECYCLE_SCENARIO) is not among this run's data files: drawn from its rows. ",
        )
    files = prepared.parameters.get("DATA_FILES") or ""
    folder = data_dir or prepared.parameters.get("DATA_DIR") or None
    try:
        paths = (
            datasets.expand_files(files, registry.DATASETS["iot23"].file_glob)
            if files
            else datasets.locate("iot23", folder, download=False)
        )
        found = [str(p) for p in paths if scenario in p.resolve().parts]
        if not found:
            raise FileNotFoundError(f"none of the run's {len(paths)} files belongs to it")
        return datasets.load("iot23", folder, files=found), ""
    except (FileNotFoundError, datasets.DataError) as err:
        return None, f"The raw file of capture {scenario} could not be read ({err}): drawn from the run's rows. "


def forests(baseline_stage: Any, seed: int) -> dict[str, Any]:
    """Notebook 02's fitted Random Forest and XGBoost for ``seed`` (those it fitted), labelled for Fig. 7."""
    labels = {"random_forest": "Random Forest (impurity)", "xgboost": "XGBoost (gain)"}
    fitted = baseline_stage.info["models"]
    return {label: baseline_stage.model(name, seed) for name, label in labels.items() if name in fitted}


def describe_stages(stages: dict[str, Any]) -> dict[str, str]:
    """One-line descriptions of the fusion and anomaly stages a run has fitted (for Fig. 2)."""
    out = {"fusion": "RF / XGBoost (notebook 04 not run)", "anomaly": "autoencoder (notebook 05 not run)"}
    if "fusion" in stages:
        parameters = stages["fusion"].parameters
        features = " (+ features)" if parameters.get("FUSION_WITH_FEATURES") else ""
        out["fusion"] = (
            f"RF / XGBoost over {parameters['FUSION_INPUTS']} of "
            f"{', '.join(session.split_list(parameters['FUSION_DEEP_MODELS']))}{features}, "
            f"averaged over {parameters.get('K_FOLDS', '?')} fold models"
        )
    if "anomaly" in stages:
        fpr = stages["anomaly"].parameters["TARGET_FPR"]
        branch = stages["anomaly"].info.get("anomaly_branch", {}).get("description")  # the validation-chosen one
        out["anomaly"] = (
            branch or f"autoencoder reconstruction error, threshold at {fpr:.1%} FPR on benign validation flows"
        )
    return out


def _table_or_empty(stage: Any, name: str) -> pd.DataFrame:
    """A stage's table; an empty frame where the CSV holds nothing at all (not even a header)."""
    try:
        return stage.table(name)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


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
            f"{head}: the rows name a single attack family ({str(family['family'])!r}, {int(family['n_test'])} test rows), "
            "and without it no attack would be left to train the supervised path on (a label column that names "
            "the attack families, not only attack vs benign, makes this test possible)."
        )
    groups = []
    for reason, rows in eligibility.groupby("reason", sort=False):
        families = ", ".join(
            f"{r.family} ({int(r.n_test)} test, {int(r.n_train)} training rows)" for r in rows.itertuples()
        )
        groups.append(f"{families}: {reason}")
    hint = f" (MIN_FAMILY_ROWS={min_family_rows}: lower it, or prepare more rows with SAMPLE_ROWS)" if any(
        str(r).startswith("fewer than") for r in eligibility["reason"]
    ) else ""  # fmt: skip
    return f"{head}: " + "; ".join(groups) + hint + "."


def zero_day_table(stages: dict[str, Any]) -> tuple[pd.DataFrame | None, str]:
    """Notebook 05's zero-day results summarised per held-out family, and why there are none: ``(table, "")``,
    or ``(None, reason)`` when notebook 05 has not run or held no family out (the reason read from its tables)."""
    if "anomaly" not in stages:
        return None, "Notebook 05 has not run for this RUN_DIR: no zero-day results."
    anomaly = stages["anomaly"]
    zero_day = _table_or_empty(anomaly, "zero_day")
    if len(zero_day) and "family" in zero_day:
        return metrics.zero_day_summary(zero_day), ""
    eligibility = _table_or_empty(anomaly, "eligibility")
    reason = (
        zero_day_reason(eligibility, anomaly.parameters.get("MIN_FAMILY_ROWS", 0)) if "family" in eligibility else ""
    )
    return None, reason or "Notebook 05 wrote no zero-day results for this run."


# ------------------------------------------------------------------------------------ does fusion help?
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
    row = metrics.summarise(diff, metrics=["difference"], confidence=confidence).iloc[0]
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


# ------------------------------------------------------------------------------------------------ Fig. 7
def importance_table(
    data: Any, forests: dict[str, Any], predict_proba: Any, model_label: str, *, rows: int, repeats: int, seed: int
) -> pd.DataFrame:
    """Importance per original feature: the impurity/gain importance of notebook 02's fitted ``forests``
    (``{column label: model}``) and the permutation importance (drop in accuracy on ``rows`` test rows) of the
    model behind ``predict_proba``. One-hot columns are summed back to their original column."""
    from lib import figures

    originals = data.meta["report"]["numeric_columns"] + data.meta["report"]["categorical_columns"]
    picked = np.random.default_rng(seed).permutation(len(data.y_test))[:rows]

    def accuracy(X: np.ndarray, y: np.ndarray) -> float:
        return float((predict_proba(X).argmax(axis=1) == y).mean())

    table = {
        label: figures.group_importances(model.feature_importances_, data.feature_names, originals)
        for label, model in forests.items()
    }
    table[model_label] = figures.permutation_importance_grouped(
        accuracy, data.X_test[picked], data.y_test[picked], data.feature_names, originals, seed, repeats
    )
    importance = pd.DataFrame(table).fillna(0)
    return importance.sort_values(model_label, ascending=False)


# ------------------------------------------------------------------------------------------------ notebook 05
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
    means = combined.groupby("decision", sort=False)[["recall", "fpr"]].mean()
    alone, both = means.loc["fusion alone"], means.loc[f"fusion OR {branch}"]
    lines.append(
        f"* Fusion alone: recall {alone['recall']:.3f}, FPR {alone['fpr']:.3%}; fusion OR {branch}: recall "
        f"{both['recall']:.3f}, FPR {both['fpr']:.3%}: the OR costs {both['fpr'] - alone['fpr']:+.3%} false alarms "
        f"for {both['recall'] - alone['recall']:+.3f} recall."
    )
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
    if not len(zero_day):
        lines.append(f"* {no_zero_day or 'No family was held out in the zero-day test.'}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ operating points
def detection_rows(run: RunDir, targets: tuple[float, ...] = metrics.OPERATING_FPRS) -> pd.DataFrame:
    """Every Table 1 model and seed at each target FPR: detection rate and realised FPR on the test rows, the
    threshold set on the validation benign rows (:func:`lib.metrics.detection_at_fpr`)."""
    data = run.load_prepared()
    rows = []
    for stage_name in TABLE1_STAGES:
        stage = run.open(stage_name)
        for seed in stage.info["seeds"]:
            for model in stage.info["models"]:
                val, test = stage.prediction(model, seed, "val"), stage.prediction(model, seed, "test")
                for row in metrics.detection_at_fpr(data.y_val, val, data.y_test, test, targets):
                    rows.append({"model": model, "seed": seed, **row})
    return pd.DataFrame(rows)


def detection_table(rows: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """Table 1's companion: per model, the detection rate and the realised test FPR at each target FPR, in
    percent (mean over seeds; ± std with several)."""
    out = []
    for model in sorted(rows["model"].unique(), key=metrics._model_order_id):
        cells: dict[str, Any] = {"Model": metrics.MODEL_NAMES.get(model, model)}
        for target, part in rows[rows["model"] == model].groupby("target_fpr"):
            label = f"{100 * target:g} % FPR"
            for key, column in (("detection_rate", f"Detection @ {label}"), ("test_fpr", f"Test FPR @ {label}")):
                values = 100 * part[key].to_numpy(dtype=float)
                cells[column] = metrics._cell(
                    values.mean(), values.std(ddof=1) if len(values) > 1 else np.nan, decimals
                )
        out.append(cells)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------ the study
#: The score every study table compares: macro-F1 (binary: mean of benign and attack F1; multiclass: over classes).
STUDY_METRIC = "f1_macro"
SPLIT_NAMES = {
    "stratified": "stratified 80/20 (paper 1)",
    "group": "host pairs kept apart",
    "time": "earlier → later",
    "source": "captures / days held out",
}


def study_runs(run: RunDir, others: str) -> dict[str, RunDir]:
    """This run and the runs named in ``others`` (comma-separated run folders, or names under ``runs/``), by name.

    Every one must have been prepared from the same data set as ``run`` (checked), and must have finished
    notebooks 02 and 03 (opening their stages checks they are current)."""
    found = {run.name: run}
    dataset = run.open("prepared").parameters.get("DATASET")
    for item in session.split_list(others):
        path = Path(item) if len(Path(item).parts) > 1 else Path("runs") / item
        path = path if path.is_absolute() else session.REPO_ROOT / path
        if not (path / "prepared").is_dir():  # checked first: RunDir would create the folder
            raise FileNotFoundError(f"STUDY_RUNS names {item!r}, but {path} holds no prepared run")
        folder = RunDir(path)
        theirs = folder.open("prepared").parameters.get("DATASET")
        if theirs != dataset:
            raise ValueError(f"STUDY_RUNS: {item!r} was prepared from {theirs!r}, this run from {dataset!r}")
        for stage in TABLE1_STAGES:
            folder.open(stage)
        if folder.name in found:
            raise ValueError(f"STUDY_RUNS: {item!r} has the name {folder.name!r} of another run of the study")
        found[folder.name] = folder
    return found


def configuration(run: RunDir) -> dict[str, Any]:
    """What makes a run of a study differ: its split protocol, scaling, feature engineering and deep tuning."""
    prepared = run.open("prepared").parameters
    deep = run.open("deep").parameters
    tune = str(deep.get("TUNE", "off"))
    tuned = tune != "off" or prepared.get("SCALING", "minmax") != "minmax" or bool(prepared.get("CATEGORY_COLUMNS"))
    return {
        "run": run.name,
        "split": prepared.get("SPLIT", "stratified"),
        "scaling": prepared.get("SCALING", "minmax"),
        "category_columns": prepared.get("CATEGORY_COLUMNS", ""),
        "tune": "search" if tune not in ("off", "search") else tune,  # a reused record is a search made earlier
        "configuration": "tuned" if tuned else "paper-faithful",
        "seeds": len(run.open("deep").info["seeds"]),
    }


def study_overview(runs: dict[str, RunDir]) -> pd.DataFrame:
    """One row per run of a study: :func:`configuration`."""
    return pd.DataFrame([configuration(folder) for folder in runs.values()])


def _with_runs(runs: dict[str, RunDir]) -> pd.DataFrame:
    frames = []
    for folder in runs.values():
        described = configuration(folder)
        frames.append(load_runs(folder).assign(**{k: described[k] for k in ("run", "split", "configuration")}))
    return pd.concat(frames, ignore_index=True)


def configurations_table(runs: dict[str, RunDir], dataset: str, label_mode: str) -> pd.DataFrame:
    """Table 1 for the paper-faithful and the tuned configuration side by side (stratified split only): one
    row per model, one column per configuration (macro-F1, mean ± std over seeds, in percent), the paper's F1."""
    scores = _with_runs(runs)
    scores = scores[scores["split"] == "stratified"]
    out = pd.DataFrame(
        {"Model": sorted({metrics.MODEL_NAMES.get(m, m) for m in scores["model"]}, key=metrics._model_order)}
    )
    for config, part in scores.groupby("configuration", sort=False):
        table = metrics.table1(part, columns={f"Macro F1, {config}": STUDY_METRIC})
        out = out.merge(table, on="Model", how="left")
    if metrics.paper_reports(dataset):
        paper = metrics.paper_table1(dataset).set_index("Model")["F1-Score"]
        out["F1 (paper)"] = out["Model"].map(paper).map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    return out.fillna("")


def protocol_rows(runs: dict[str, RunDir]) -> pd.DataFrame:
    """One row per run, model and seed: split, configuration, macro-F1 and FPR at the operating point (argmax)."""
    scores = _with_runs(runs)
    return scores[["run", "split", "configuration", "model", "seed", STUDY_METRIC, "fpr"]]


def protocol_table(rows: pd.DataFrame, dataset: str, decimals: int = 1) -> pd.DataFrame:
    """Each model's macro-F1 and FPR (mean ± std over seeds, in percent) under each protocol, with the paper's
    F1 beside the stratified row of the paper-faithful configuration."""
    out = []
    order = list(SPLIT_NAMES)
    keys = sorted(
        rows.groupby(["split", "configuration", "run"]).groups,
        key=lambda k: (order.index(k[0]) if k[0] in order else len(order), k[1] != "paper-faithful", k[2]),
    )
    paper = metrics.paper_table1(dataset).set_index("Model")["F1-Score"] if metrics.paper_reports(dataset) else None
    for split, config, run_name in keys:
        part = rows[(rows["split"] == split) & (rows["configuration"] == config) & (rows["run"] == run_name)]
        for model in sorted(part["model"].unique(), key=metrics._model_order_id):
            values = part[part["model"] == model]
            cells = {"Protocol": SPLIT_NAMES.get(split, split), "Configuration": config, "Run": run_name}
            cells["Model"] = metrics.MODEL_NAMES.get(model, model)
            cells["Seeds"] = len(values)
            for key, column in ((STUDY_METRIC, "Macro F1"), ("fpr", "FPR")):
                v = 100 * values[key].to_numpy(dtype=float)
                cells[column] = metrics._cell(v.mean(), v.std(ddof=1) if len(v) > 1 else np.nan, decimals)
            is_paper_row = paper is not None and split == "stratified" and config == "paper-faithful"
            cells["F1 (paper)"] = f"{paper[cells['Model']]:.1f}" if is_paper_row and cells["Model"] in paper else ""
            out.append(cells)
    return pd.DataFrame(out)


def _points(gap: float, other: str) -> str:
    """``gap`` (percentage points) in words: "2.5 points above <other>", "below", or "level with" at 0.0."""
    if round(gap, 1) == 0:
        return f"level with {other} (within 0.05 points)"
    return f"{abs(gap):.1f} points {'above' if gap > 0 else 'below'} {other}"


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
        lines.append(head + "; ".join(parts) + ("." if n > 1 else " (one seed: no spread)."))
    return "\n".join(lines)


def fusion_study(runs: dict[str, RunDir], decimals: int = 1) -> tuple[pd.DataFrame, str]:
    """Notebook 04's contenders in every run of the study that ran it: macro-F1 (mean ± std over seeds, in
    percent), one column per run; and each run's verdict (its ``comparisons.json``), as Markdown bullets."""
    columns, verdicts = {}, []
    for name, folder in runs.items():
        if not folder.has("fusion"):
            continue
        stage = folder.open("fusion")
        described = configuration(folder)
        label = f"{name} ({described['configuration']}, {described['split']})"
        scores = stage.scores()
        cells = {}
        for model, part in scores.groupby("model"):
            values = 100 * part[STUDY_METRIC].to_numpy(dtype=float)
            cells[model] = metrics._cell(values.mean(), values.std(ddof=1) if len(values) > 1 else np.nan, decimals)
        columns[label] = cells
        verdicts.append(f"- {label}: {stage.json('comparisons')['verdict']}")
    if not columns:
        return pd.DataFrame(), "No run of the study ran notebook 04."
    table = pd.DataFrame(columns)
    order = list(metrics.CONTENDER_NAMES)
    table = table.loc[sorted(table.index, key=lambda m: order.index(m) if m in order else len(order))]
    table.index = [metrics.CONTENDER_NAMES.get(m, m) for m in table.index]
    return table.rename_axis("Contender").reset_index().fillna(""), "\n".join(verdicts)
