"""Every verdict of notebook 06 and the tables behind it, from one file of per-seed scores.

Notebook 06 gathers every score of the study, seed by seed, into ``seed_scores.csv`` (:func:`seed_scores`: the
Table 1 stages, the fusion stage and the SMOTE stages of every run), and writes from that frame alone
(:func:`from_scores`) the findings, the protocol findings, the fusion comparisons and verdicts and the SMOTE
table, each difference called by the one rule of :mod:`lib.metrics.compare`. So every verdict of a results page
can be rebuilt from the committed figure folder (``python -m lib.report``), and a test can check that it was.
The per-class scores of every run (:func:`per_class_table`) are read from the stages' full evaluations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lib import metrics
from lib.metrics import compare
from lib.report.evidence import Evidence
from lib.report.findings import findings, in_percent, protocol_findings, tie_points
from lib.report.runs import STUDY_METRIC, TABLE1_STAGES, configuration
from lib.run import RunDir

#: The stages whose per-seed scores ``seed_scores.csv`` holds: Table 1's, the fusion's and the SMOTE runs'.
SCORE_STAGES = (*TABLE1_STAGES, "fusion", "baselines_smote", "deep_smote")
#: The columns of ``seed_scores.csv`` that say where a row comes from (the scores follow).
KEYS = ["run", "split", "configuration", "stage", "model", "seed"]
#: What notebook 04 compares each fusion with (the best single deep model is chosen on validation rows).
FUSION_REFERENCES = ("soft_voting", "xgboost")
NOT_DEEP = {"soft_voting", "random_forest", "xgboost"}


def seed_scores(runs: dict[str, RunDir]) -> pd.DataFrame:
    """One row per run, stage (:data:`SCORE_STAGES`, those that ran), model and seed: where it comes from
    (:data:`KEYS`) and every score and row count the stage recorded."""
    frames = []
    for folder in runs.values():
        described = configuration(folder)
        for stage in SCORE_STAGES:
            if stage not in TABLE1_STAGES and not folder.has(stage):
                continue
            scores = folder.open(stage).scores()
            keys = {"run": described["run"], "split": described["split"], "configuration": described["configuration"]}
            frames.append(scores.assign(**keys, stage=stage))
    found = pd.concat(frames, ignore_index=True)
    return found[KEYS + [c for c in found.columns if c not in KEYS]]


def _table1_rows(scores: pd.DataFrame) -> pd.DataFrame:
    return scores[scores["stage"].isin(TABLE1_STAGES)]


def label_mode(scores: pd.DataFrame) -> str:
    """``binary`` when the scores carry a benign F1 (binary runs do), else ``multiclass``."""
    return "binary" if "f1_benign" in scores and scores["f1_benign"].notna().any() else "multiclass"


# ------------------------------------------------------------------------------------------ fusion
def best_single(fused: pd.DataFrame) -> str:
    """The deep model of the fusion stage with the best mean *validation* macro-F1 (notebook 04's choice)."""
    deep = fused[~fused["model"].isin(NOT_DEEP) & ~fused["model"].str.startswith("fusion_")]
    return str(deep.groupby("model")["val_f1_macro"].mean().idxmax())


def fusion_comparisons(scores: pd.DataFrame, evidence: Evidence | None = None) -> tuple[pd.DataFrame, str]:
    """Each run's fusions against the best single deep model, soft voting and XGBoost on the features (macro-F1,
    paired by seed, in percent), every difference called by :func:`lib.metrics.compare.call` (tie: two of the
    run's test flows) with the paired test-set bootstrap of ``evidence`` (without it, the seeds' t-interval);
    and each run's verdict (:func:`lib.metrics.compare.verdict`), as Markdown bullets."""
    rows, verdicts = [], []
    fused_all = scores[scores["stage"] == "fusion"]
    for (name, split, config), fused in fused_all.groupby(["run", "split", "configuration"], sort=False):
        fused = in_percent(fused)
        tie, single = tie_points(fused), best_single(fused)
        interval_of = compare.seed_interval if evidence is None else evidence.interval_of(name, "fusion")
        contenders = [  # the fusions; the distilled deployment variant is set beside its fusion elsewhere
            m for m in metrics.CONTENDER_NAMES
            if m.startswith("fusion_") and m != metrics.DEPLOY_CONTENDER and m in set(fused["model"])
        ]  # fmt: skip
        found = [
            compare.paired_difference(fused, c, r, STUDY_METRIC)
            for c in contenders
            for r in (single, *FUSION_REFERENCES)
        ]
        for d in found:
            interval = interval_of(d)
            rows.append(
                {
                    "Run": name,
                    "Contender": metrics.CONTENDER_NAMES[d["model"]],
                    "Reference": metrics.CONTENDER_NAMES.get(d["reference"], d["reference"]),
                    "Seeds": d["n"],
                    "Difference (points)": f"{d['mean']:+.2f}",
                    "95 % CI": "" if interval is None else f"[{interval.low:+.2f}, {interval.high:+.2f}]",
                    "Interval": "one seed" if interval is None else interval.how,
                    "Tie margin (points)": f"{tie:.2f}",
                    "Call": compare.CALL_WORDS[compare.call(d["mean"], interval, tie)],
                }
            )
        text = compare.verdict(found, single, metrics.CONTENDER_NAMES, tie, baseline="xgboost", interval_of=interval_of)
        verdicts.append(f"- {name} ({config}, {split}): {text}")
    if not verdicts:
        return pd.DataFrame(), "No run of the study ran notebook 04."
    return pd.DataFrame(rows), "\n".join(verdicts)


# ------------------------------------------------------------------------------------------- SMOTE
def _cell(values: pd.Series) -> str:
    values = values.dropna().to_numpy(dtype=float)
    if not len(values):
        return ""
    return metrics.cell(values.mean(), values.std(ddof=1) if len(values) > 1 else np.nan, 1)


def smote_table(scores: pd.DataFrame, run_name: str, evidence: Evidence | None = None) -> pd.DataFrame:
    """Paper 2's D2 in ``run_name``: each model trained on the unbalanced rows and on the SMOTE set, macro-F1 and
    ROC-AUC (mean ± std over seeds, percent), training rows, and the SMOTE − unbalanced macro-F1 difference
    (paired by seed) called by the one rule, with the paired test-set bootstrap of ``evidence`` (without it, the
    seeds' t-interval). Empty when the run has no SMOTE stage."""
    own = in_percent(scores[scores["run"] == run_name])
    smote = own[own["stage"].str.endswith("_smote")]
    if not len(smote):
        return pd.DataFrame()
    tie, rows = tie_points(own), []
    for model in sorted(set(smote["model"]), key=metrics.model_order_id):
        both = own[(own["model"] == model) & own["stage"].isin([*TABLE1_STAGES, *set(smote["stage"])])]
        sides = both.assign(model=np.where(both["stage"].str.endswith("_smote"), "smote", "unbalanced"))
        if set(sides["model"]) != {"smote", "unbalanced"}:
            continue
        d = compare.paired_difference(sides, "smote", "unbalanced", STUDY_METRIC)
        interval_of = compare.seed_interval if evidence is None else evidence.interval_of(run_name, "smote", model)
        interval = interval_of(d)
        found = compare.call(d["mean"], interval, tie)
        ci = "one seed" if interval is None else f"[{interval.low:+.2f}, {interval.high:+.2f}]"
        row: dict[str, Any] = {"Model": metrics.MODEL_NAMES.get(model, model), "Seeds": d["n"]}
        for side, label in (("unbalanced", "unbalanced"), ("smote", "SMOTE (D2)")):
            part = sides[sides["model"] == side]
            row[f"Macro F1, {label}"] = _cell(part[STUDY_METRIC])
            row[f"ROC-AUC, {label}"] = _cell(100 * part["roc_auc"]) if "roc_auc" in part else ""
            row[f"Training rows, {label}"] = f"{int(part['n_train'].iloc[0]):,}" if "n_train" in part else ""
        row["SMOTE − unbalanced, macro F1 (points)"] = f"{d['mean']:+.2f} {ci}: {compare.CALL_WORDS[found]} unbalanced"
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------- per class
def per_class_table(runs: dict[str, RunDir]) -> pd.DataFrame:
    """Every run's per-class scores of the Table 1 models: test rows of the class, recall and F1 (mean ± std
    over seeds, percent); a class with no test row has no recall or F1 (blank), whatever a model predicts."""
    rows = []
    for folder in runs.values():
        described = configuration(folder)
        for stage in TABLE1_STAGES:
            for key, result in folder.open(stage).details().items():
                model, seed = key.rsplit("_seed", 1)
                for name, cls in result.get("per_class", {}).items():
                    rows.append({"run": described["run"], "split": described["split"], "model": model,
                                 "seed": int(seed), "class": name, **cls})  # fmt: skip
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    out = []
    for (name, split, model, cls), part in frame.groupby(["run", "split", "model", "class"], sort=False):
        present = part["support"].max() > 0
        out.append({"Run": name, "Protocol": split, "Model": metrics.MODEL_NAMES.get(model, model), "Class": cls,
                    "Test rows": int(part["support"].iloc[0]), "Recall": _cell(100 * part["recall"]) if present else "",
                    "F1": _cell(100 * part["f1"]) if present else ""})  # fmt: skip
    table = pd.DataFrame(out)
    order = {m: i for i, m in enumerate(metrics.MODEL_NAMES.values())}
    return table.sort_values(["Run", "Model", "Class"], key=lambda s: s.map(order) if s.name == "Model" else s,
                             kind="stable").reset_index(drop=True)  # fmt: skip


# ----------------------------------------------------------------------------------------- together
def from_scores(
    scores: pd.DataFrame, dataset: str, run_name: str, evidence: Evidence | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Every table and text of verdicts notebook 06 writes, from ``seed_scores.csv`` and the test-set intervals of
    ``evidence`` (``intervals.csv``, ``differences.csv``; without them the seeds' t-intervals): the tables
    ``fusion_comparisons`` and ``smote`` (empty when no run has them) and the texts ``findings`` (the run
    ``run_name``), ``protocol_findings`` and ``fusion_verdicts``."""
    table1 = _table1_rows(scores)
    main = table1[table1["run"] == run_name].drop(columns=["run", "split", "configuration", "stage"])
    if not len(main):
        raise ValueError(
            f"seed_scores.csv holds no Table 1 score of the run {run_name!r} (it has {set(scores['run'])})"
        )
    comparisons, verdict_text = fusion_comparisons(scores, evidence)
    tables = {"fusion_comparisons": comparisons, "smote": smote_table(scores, run_name, evidence)}
    texts = {
        "findings": findings(main, dataset, label_mode(main), name=run_name, evidence=evidence),
        "protocol_findings": protocol_findings(table1, dataset, evidence),
        "fusion_verdicts": verdict_text,
    }
    return tables, texts
