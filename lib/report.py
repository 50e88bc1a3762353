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


def table1_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Long table for Fig. 8b: model (Table 1 name), metric (Table 1 column), mean, std, ci in percent."""
    summary = metrics.summarise(runs, metrics=list(metrics.TABLE1_COLUMNS.values()))
    names = {v: k for k, v in metrics.TABLE1_COLUMNS.items()}
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


def findings(runs: pd.DataFrame, dataset: str, label_mode: str) -> str:
    """The paper's Table 1 claims, checked one by one against ``runs``; Markdown, every number computed."""
    present = [m for m in PAPER_MODELS if m in set(runs["model"])]
    lines = [f"**{dataset}, {label_mode}, {runs['seed'].nunique()} seed(s).**", ""]
    if not present:
        return "\n".join(lines + ["None of the paper's Table 1 models were run."])
    acc = {m: _stats(runs, m, "accuracy") for m in present}
    f1 = {m: _stats(runs, m, "f1") for m in present}
    name = metrics.MODEL_NAMES
    n_test = int(runs["n_test"].iloc[0]) if "n_test" in runs else 0
    tie = 200 / n_test if n_test else 0.0  # two test flows, in percentage points
    lines += [
        "Seeds vary the models' initialisation and training order; the train/test split is the one notebook 01 "
        "made, so the intervals leave out test-set sampling. "
        + (f"On {n_test:,} test flows one flow is {100 / n_test:.2f} points; differences under two flows "
           f"({tie:.2f} points) are called ties." if n_test else ""),
        "",
    ]  # fmt: skip
    if "cnn_lstm" in present:
        hybrid = f1["cnn_lstm"]
        others = [m for m in present if m != "cnn_lstm"]
        beaten = [m for m in others if hybrid[0] > f1[m][0]]
        clearly_beaten = [m for m in beaten if hybrid[1] > f1[m][2] and hybrid[0] - f1[m][0] > tie]
        clearly_better = [m for m in others if f1[m][1] > hybrid[2] and f1[m][0] - hybrid[0] > tie]
        if len(clearly_beaten) == len(others):
            verdict = "reproduces: the hybrid is best, with 95 % intervals clear of every other model's"
        elif clearly_better:
            verdict = f"does not reproduce: {', '.join(name[m] for m in clearly_better)} beat(s) the hybrid beyond the intervals"
        elif not clearly_beaten and all(abs(f1[m][0] - hybrid[0]) <= tie for m in others):
            verdict = "does not reproduce: the hybrid ties with the others (all within two test flows)"
        elif len(beaten) == len(others):
            verdict = "reproduces only on the mean: the hybrid is best, but its interval overlaps " + ", ".join(
                name[m] for m in others if m not in clearly_beaten
            )
        else:
            best = max(others, key=lambda m: f1[m][0])
            verdict = (
                f"does not reproduce: {name[best]} has the best mean F1, {f1[best][0] - hybrid[0]:.2f} points above the "
                "hybrid, a difference inside the seed-to-seed spread or under two test flows"
            )
        lines.append(
            f"- *The CNN-LSTM hybrid has the best F1 of the paper's four models* — {verdict}. Mean F1 (95 % CI): "
            + "; ".join(
                f"{name[m]} {f1[m][0]:.2f} ({f1[m][1]:.2f}–{f1[m][2]:.2f})"
                for m in sorted(present, key=lambda m: -f1[m][0])
            )
            + "."
        )
    ranking = sorted(present, key=lambda m: acc[m][0])
    paper_rank = list(PAPER_MODELS)
    same = [m for m in paper_rank if m in present] == ranking
    lines.append(
        f"- *Accuracy ranks RF < CNN-only < LSTM-only < CNN-LSTM* — {'reproduces' if same else 'does not reproduce'}: "
        f"ours ranks " + " < ".join(f"{name[m]} ({acc[m][0]:.2f})" for m in ranking) + "."
    )
    for m in present:
        paper = metrics.PAPER1_TABLE1[PAPER_MODELS[m]]
        lines.append(
            f"- {name[m]}: accuracy {acc[m][0]:.1f} % vs the paper's {paper['Accuracy']:.1f} % "
            f"({acc[m][0] - paper['Accuracy']:+.1f} points); F1 {f1[m][0]:.1f} % vs {paper['F1-Score']:.1f} %."
        )
    extra = [m for m in set(runs["model"]) - set(PAPER_MODELS) if m in metrics.MODEL_NAMES]
    for m in sorted(extra):
        mean = _stats(runs, m, "f1")[0]
        lines.append(f"- {name[m]} (not in the paper's table): F1 {mean:.1f} %.")
    return "\n".join(lines)


def importance_vs_paper(importance: pd.DataFrame, top: int = 5) -> str:
    """Our top features per method next to the paper's claim (packet size, duration, protocol, bytes)."""
    lines = ["The paper ranks packet size, flow duration, protocol types and byte counts highest. Ours:", ""]
    for method in importance.columns:
        ranked = importance[method].sort_values(ascending=False).index[:top]
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
        out["fusion"] = (
            f"RF / XGBoost over {parameters['FUSION_INPUTS']} of "
            f"{', '.join(session.split_list(parameters['FUSION_DEEP_MODELS']))}, out-of-fold"
        )
    if "anomaly" in stages:
        fpr = stages["anomaly"].parameters["TARGET_FPR"]
        out["anomaly"] = f"autoencoder reconstruction error, threshold at {fpr:.1%} FPR on benign validation flows"
    return out


def zero_day_table(stages: dict[str, Any]) -> pd.DataFrame | None:
    """Notebook 05's zero-day results summarised per held-out family (None if it has not run or held none out)."""
    if "anomaly" not in stages:
        return None
    summary = metrics.zero_day_summary(stages["anomaly"].table("zero_day"))
    return summary if len(summary) else None


# ------------------------------------------------------------------------------------ does fusion help?
def paired_difference(
    runs: pd.DataFrame, model: str, reference: str, metric: str = "f1", confidence: float = 0.95
) -> dict[str, Any]:
    """``model`` minus ``reference`` on ``metric``, paired by seed: mean, std and t-interval of the difference."""
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
    head = (
        f"{a} vs {b}: {diff['metric']} {diff['model_mean']:.4f} vs {diff['reference_mean']:.4f} "
        f"(difference {diff['mean']:+.4f}"
    )
    if diff["n"] < 2:
        return head + f", {diff['n']} seed): one seed gives no interval, so this cannot tell a difference from noise."
    interval = f", 95 % CI [{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}] over {diff['n']} paired seeds)"
    if diff["mean"] == 0 and diff["std"] == 0:
        return head + interval + ": identical on every seed, no difference."
    if tie and abs(diff["mean"]) <= tie:
        return head + interval + f": at most {tie:.4f} apart (two test flows' worth), a tie."
    if diff["ci_low"] > 0:
        return head + interval + f": {a} is better; the interval lies above zero."
    if diff["ci_high"] < 0:
        return head + interval + f": {a} is worse; the interval lies below zero."
    return head + interval + ": the interval contains zero, so no measurable difference."


def verdict(over_single: list[dict[str, Any]], best_single: str, names: dict[str, str], tie: float) -> str:
    """Whether fusion adds anything over the best single deep model, from paired differences (one per meta)."""
    best = names.get(best_single, best_single)
    if not over_single or over_single[0]["n"] < 2:
        return "With a single seed this run cannot say whether fusion adds anything: rerun with N_SEEDS of 3 or more."
    better = [names.get(d["model"], d["model"]) for d in over_single if d["ci_low"] > 0 and d["mean"] > tie]
    worse = [names.get(d["model"], d["model"]) for d in over_single if d["ci_high"] < 0 and -d["mean"] > tie]
    if better:
        return f"Fusion adds something here: {', '.join(better)} beat(s) the best single deep model ({best}) on F1 beyond the seed-to-seed spread and by more than two test flows."
    if worse:
        return (
            f"Fusion costs accuracy here: {', '.join(worse)} fall(s) below the best single deep model ({best}) on F1."
        )
    return f"Fusion adds nothing measurable here: neither meta-classifier beats the best single deep model ({best}) on F1 by more than the seed-to-seed spread or two test flows."


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
    detection: pd.DataFrame, combined: pd.DataFrame, zero_day: pd.DataFrame, target_fpr: float, n_benign_val: int
) -> str:
    """Notebook 05's findings as Markdown bullets, every number computed from its tables."""
    lines = [
        f"* Target FPR {target_fpr:.2%} on {n_benign_val} benign validation rows, {detection['seed'].nunique()} seed(s)."
    ]
    if target_fpr * n_benign_val < 10:
        lines.append(
            f"* Caution: {n_benign_val} benign validation rows allow only {int(target_fpr * n_benign_val)} false "
            "alarm(s) at this target, so the threshold is a noisy extreme quantile and the test FPR can differ "
            "widely from the target."
        )
    for name, row in detection.groupby("model")[["test_recall", "test_fpr", "roc_auc"]].mean().iterrows():
        lines.append(
            f"* {name}: recall {row['test_recall']:.3f} on all test attacks at a realised test FPR of "
            f"{row['test_fpr']:.3%} (ROC-AUC {row['roc_auc']:.3f})."
        )
    means = combined.groupby("decision", sort=False)[["recall", "fpr"]].mean()
    alone, both = means.loc["fusion alone"], means.loc["fusion OR autoencoder"]
    lines.append(
        f"* Fusion alone: recall {alone['recall']:.3f}, FPR {alone['fpr']:.3%}; fusion OR autoencoder: recall "
        f"{both['recall']:.3f}, FPR {both['fpr']:.3%}: the OR costs {both['fpr'] - alone['fpr']:+.3%} false alarms "
        f"for {both['recall'] - alone['recall']:+.3f} recall."
    )
    for row in zero_day.itertuples():
        gain = row.recall_or_autoencoder_mean - row.recall_supervised_mean
        lines.append(
            f"* Zero-day {row.family}: supervised recall {row.recall_supervised_mean:.3f}, autoencoder "
            f"{row.recall_autoencoder_mean:.3f}, OR {row.recall_or_autoencoder_mean:.3f} ({gain:+.3f} from the "
            f"anomaly branch) at a test FPR of {row.fpr_or_autoencoder_mean:.3%}."
        )
    if not len(zero_day):
        lines.append("* No family was held out in the zero-day test (see the eligibility table for why).")
    return "\n".join(lines)
