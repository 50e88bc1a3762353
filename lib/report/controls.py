"""The controls of the stratified result (notebook 06): the shortcut control (:mod:`lib.shortcut`) and leave one
capture out (the study's runs with ``TEST_SOURCES: each``), as tables and the sentences the results page leads
with. Every number is computed from the runs or the control; none is typed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lib import metrics
from lib.report import tables
from lib.report.runs import STUDY_METRIC, TABLE1_STAGES
from lib.report.tables import detection_rows, interval_cell
from lib.run import RunDir

#: Shares of chance's errors that the file alone puts right, from which the sources are called confounded with the
#: label (at least the first) or partly confounded (at least the second).
CONFOUNDED, PARTLY = 0.5, 0.1
#: A macro-F1 (percent) within every source tried from which the features are said to separate the classes there.
WITHIN_SEPARATES = 90.0
WITHIN_COLUMNS = ["source", "train_benign", "train_attack", "test_benign", "test_attack", "macro_f1"]


def _pct(value: float) -> str:
    return "" if value is None or not np.isfinite(value) else f"{100 * value:.1f}"


def recovered(accuracy: float, chance: float) -> float:
    """The share of the flows that always guessing the most common label gets wrong which a rule gets right."""
    return (accuracy - chance) / (1 - chance) if chance < 1 else float("nan")


def shortcut_tables(control: dict[str, Any], run: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The shortcut control of ``run`` (:func:`lib.shortcut.control`) as two tables (the measurements beside their
    chance levels, in percent; the label within each source) and the verdict sentence."""
    source, label = control["source_from_features"], control["label_from_source"]
    summary = pd.DataFrame(
        [
            {"Run": run, "Measurement": f"the source ({source['sources']} sources) from the features, XGBoost",
             "Accuracy (%)": _pct(source["accuracy"]), "Chance (%)": _pct(source["chance"]), "Macro F1 (%)": "",
             "Chance macro F1 (%)": ""},
            {"Run": run, "Measurement": "the label from the source alone (its most common training label)",
             "Accuracy (%)": _pct(label["accuracy"]), "Chance (%)": _pct(label["chance_accuracy"]),
             "Macro F1 (%)": _pct(label["macro_f1"]), "Chance macro F1 (%)": _pct(label["chance_macro_f1"])},
        ]
    )  # fmt: skip
    within = control["label_within_sources"].reindex(columns=WITHIN_COLUMNS).rename(
        columns={"source": "Source", "train_benign": "Training benign", "train_attack": "Training attack",
                 "test_benign": "Test benign", "test_attack": "Test attack", "macro_f1": "Macro F1 within (%)"}
    )  # fmt: skip
    within["Macro F1 within (%)"] = within["Macro F1 within (%)"].map(_pct)
    share = recovered(label["accuracy"], label["chance_accuracy"])
    if not np.isfinite(source["accuracy"]):  # SPLIT=source: no test row's source is a training source
        return (
            summary,
            within,
            (
                "The shortcut control needs test flows from the sources the model trained on; this run's split holds "
                "whole sources out, so it cannot say how much of the label the file gives away (the stratified run can)."
            ),
        )
    if share >= CONFOUNDED:
        lead = "Class and source are confounded on this data"
    elif share >= PARTLY:
        lead = "Class and source are partly confounded on this data"
    else:
        lead = "Class and source are not confounded on this data"
    tried = within[within["Macro F1 within (%)"] != ""]
    scores = tried["Macro F1 within (%)"].astype(float)
    if not len(tried):
        inside = (" No source holds enough benign and attack flows to train and test inside it, so nothing here "
                  "tells learning the attack from learning the file.")  # fmt: skip
    else:
        said = ", ".join(f"{v} % in {s}" for s, v in zip(tried["Source"], tried["Macro F1 within (%)"], strict=True))
        inside = (
            f" Within one source, where both kinds of flows exist, XGBoost on the features reaches a macro-F1 of {said}"
        )
        inside += (": the features separate attacks from benign flows inside a file too."
                   if (scores >= WITHIN_SEPARATES).all() else ".")  # fmt: skip
    verdict = (
        f"{lead}: the source file alone labels {_pct(label['accuracy'])} % of the test flows correctly (always the "
        f"most common label: {_pct(label['chance_accuracy'])} %), {100 * share:.0f} % of the flows that guess gets "
        f"wrong; XGBoost names a test flow's source from its features {_pct(source['accuracy'])} % of the time "
        f"(chance {_pct(source['chance'])} %).{inside}"
    )
    return summary, within, verdict


# ------------------------------------------------------------------------------------------ leave one capture out
def loco_table(loco: dict[str, RunDir], intervals: pd.DataFrame) -> pd.DataFrame:
    """One row per held-out capture and Table 1 model: the attack and benign flows it tests on, macro-F1 (mean ±
    std over seeds, in percent) and its 95 % test-set interval (``intervals``), FPR at the argmax, and the
    detection rate at a threshold set for 1 % FPR on the validation benign flows; then, per model, the mean over
    the captures."""
    rows = []
    for name, folder in loco.items():
        data = folder.load_prepared()
        capture = ", ".join(data.meta.get("report", {}).get("split", {}).get("test_sources", [])) or name
        scores = pd.concat([folder.open(s).scores() for s in TABLE1_STAGES], ignore_index=True)
        detection = detection_rows(folder, (0.01,))
        found = intervals[(intervals["run"] == name) & (intervals["pool"] == "table1")]
        for model in sorted(scores["model"].unique(), key=metrics.model_order_id):
            part = scores[scores["model"] == model]
            ci = found[(found["model"] == model) & (found["score"] == STUDY_METRIC)]
            rate = detection.loc[detection["model"] == model, "detection_rate"].to_numpy(dtype=float)
            rows.append({
                "Held-out capture": capture, "Model": metrics.MODEL_NAMES.get(model, model),
                "Attack flows (test)": int((data.y_test != 0).sum()), "Benign flows (test)": int((data.y_test == 0).sum()),
                "Macro F1": _mean_std(100 * part[STUDY_METRIC].to_numpy(dtype=float)),
                "Macro F1 95 % CI": interval_cell(ci["low"].iloc[0], ci["high"].iloc[0]) if len(ci) else "",
                "FPR": _mean_std(100 * part["fpr"].to_numpy(dtype=float)),
                "Detection @ 1 % FPR": _mean_std(100 * rate) if np.isfinite(rate).any() else "",
                "_macro": part[STUDY_METRIC].mean(), "_fpr": part["fpr"].mean(), "_det": np.nanmean(rate) if np.isfinite(rate).any() else np.nan,
            })  # fmt: skip
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows)
    means = []
    for model, part in table.groupby("Model", sort=False):
        means.append({"Held-out capture": f"mean over {len(part)} captures (flows: all of them)", "Model": model,
                      "Attack flows (test)": int(part["Attack flows (test)"].sum()),
                      "Benign flows (test)": int(part["Benign flows (test)"].sum()),
                      "Macro F1": f"{100 * part['_macro'].mean():.1f}", "Macro F1 95 % CI": "",
                      "FPR": _pct(part["_fpr"].mean()),
                      "Detection @ 1 % FPR": _pct(np.nanmean(part["_det"])) if part["_det"].notna().any() else ""})  # fmt: skip
    out = pd.concat([table, pd.DataFrame(means)], ignore_index=True)
    return out.drop(columns=["_macro", "_fpr", "_det"])


def _mean_std(values: np.ndarray) -> str:
    """:func:`lib.report.tables._mean_std` of the finite ``values`` (one decimal); "" where none is."""
    values = values[np.isfinite(values)]
    return tables._mean_std(values, 1) if len(values) else ""


def loco_beside_stratified(table1: pd.DataFrame, loco: pd.DataFrame) -> pd.DataFrame:
    """Every model's stratified macro-F1 (Table 1's cell and its test-set interval) beside its mean over the
    held-out captures and the range of the captures' means (from :func:`loco_table`)."""
    name = "Macro F1" if any(c.startswith("Macro F1") for c in table1) else "F1-Score"  # multi-class F1 is macro
    ours = f"{name} (ours)" if f"{name} (ours)" in table1 else name  # " (ours)" only beside the paper's numbers
    if not len(loco) or ours not in table1:
        return pd.DataFrame()
    per_capture = loco[~loco["Held-out capture"].str.startswith("mean over")]
    means = loco[loco["Held-out capture"].str.startswith("mean over")].set_index("Model")
    rows = []
    for _, row in table1.iterrows():
        model = row["Model"]
        if model not in means.index:
            continue
        values = per_capture.loc[per_capture["Model"] == model, "Macro F1"].map(lambda c: float(str(c).split()[0]))
        rows.append({"Model": model, "Stratified macro F1": row[ours],
                     "Stratified 95 % CI": row.get(f"{name} 95 % CI", ""),
                     "Leave one capture out, mean": means.loc[model, "Macro F1"],
                     "Captures' range": f"{values.min():.1f}–{values.max():.1f}"})  # fmt: skip
    return pd.DataFrame(rows)


def loco_runs(run: RunDir, names: str) -> dict[str, RunDir]:
    """The leave-one-capture-out runs named in ``names`` (``LOCO_RUNS``: comma-separated run folders or names
    under ``runs/``), each checked as a study run is (:func:`lib.report.study_runs`), the main run left out."""
    from lib.report.runs import study_runs

    return {name: folder for name, folder in study_runs(run, names).items() if folder.path != run.path}
