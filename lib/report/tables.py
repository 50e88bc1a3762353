"""The tables of notebook 06, built from the scores and predictions notebooks 02–05 wrote: Table 1's long form for
Fig. 8b, its companion at fixed false-positive rates, the study's configuration, protocol and fusion tables,
and notebook 05's zero-day summary. Every cell is computed; nothing here writes a file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lib import metrics
from lib.metrics.zero_day import zero_day_reason
from lib.report.runs import SPLIT_NAMES, STUDY_METRIC, TABLE1_STAGES, configuration, with_runs
from lib.run import RunDir


def as_percent(df: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """``df`` with every float column (fractions: recall, FPR) in percent, rounded to ``digits``, its name
    followed by ``(%)``: the form a reader's table wants (the run's own tables keep the fractions)."""
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
    out = df.copy()
    out[floats] = (100 * out[floats]).round(digits)
    return out.rename(columns={c: f"{c} (%)" for c in floats})


def _mean_std(values: np.ndarray, decimals: int) -> str:
    """``mean ± std`` of ``values`` (sample std; none for one value), by :func:`lib.metrics.cell`."""
    return metrics.cell(values.mean(), values.std(ddof=1) if len(values) > 1 else np.nan, decimals)


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
    for model in sorted(rows["model"].unique(), key=metrics.model_order_id):
        cells: dict[str, Any] = {"Model": metrics.MODEL_NAMES.get(model, model)}
        for target, part in rows[rows["model"] == model].groupby("target_fpr"):
            label = f"{100 * target:g} % FPR"
            for key, column in (("detection_rate", f"Detection @ {label}"), ("test_fpr", f"Test FPR @ {label}")):
                cells[column] = _mean_std(100 * part[key].to_numpy(dtype=float), decimals)
        out.append(cells)
    return pd.DataFrame(out)


def deploy_table(run: RunDir, intervals: pd.DataFrame, name: str, target_fpr: float = 0.01,
                 decimals: int = 1) -> pd.DataFrame:  # fmt: skip
    """Notebook 04's deployment variant beside each fusion it was distilled from (its ``deploy`` table): per model,
    test macro-F1 (mean ± std over seeds) and its 95 % test-set interval (``intervals``, the run ``name``, fusion
    pool), detection rate and realised test FPR at ``target_fpr`` (threshold on the validation benign rows), and
    for the variant the share of test rows whose decision is the fusion's; all in percent. Empty when the run's
    notebook 04 distilled none."""
    if not run.has("fusion") or "tables/deploy.csv" not in run.open("fusion").files("tables"):
        return pd.DataFrame()
    stage, data = run.open("fusion"), run.load_prepared()
    distilled, scores = stage.table("deploy"), stage.scores().set_index(["model", "seed"])[STUDY_METRIC]
    found, seeds = _interval_lookup(intervals, name, "fusion"), [int(s) for s in distilled["seed"]]
    label = f"{100 * target_fpr:g} % FPR"
    rows = []
    for model in [*dict.fromkeys(distilled["distilled_from"]), metrics.DEPLOY_CONTENDER]:
        points = [
            metrics.detection_at_fpr(data.y_val, stage.prediction(model, seed, "val"), data.y_test,
                                     stage.prediction(model, seed, "test"), (target_fpr,))[0]
            for seed in seeds
        ]  # fmt: skip
        agree = distilled["agreement"].to_numpy(dtype=float) if model == metrics.DEPLOY_CONTENDER else None
        rows.append(
            {
                "Model": metrics.CONTENDER_NAMES.get(model, model),
                "Macro F1": _mean_std(100 * np.array([scores[model, seed] for seed in seeds]), decimals),
                "Macro F1 95 % CI": found.get((model, STUDY_METRIC), ""),
                f"Detection @ {label}": _mean_std(100 * np.array([p["detection_rate"] for p in points]), decimals),
                f"Test FPR @ {label}": _mean_std(100 * np.array([p["test_fpr"] for p in points]), decimals),
                "Agreement with the fusion": "" if agree is None else _mean_std(100 * agree, 2),
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ the study
def configurations_table(runs: dict[str, RunDir], dataset: str, label_mode: str) -> pd.DataFrame:
    """Table 1 for the paper-faithful and the tuned configuration side by side (stratified split only): one
    row per model, one column per configuration (macro-F1, mean ± std over seeds, in percent), the paper's F1."""
    scores = with_runs(runs)
    scores = scores[scores["split"] == "stratified"]
    out = pd.DataFrame(
        {"Model": sorted({metrics.MODEL_NAMES.get(m, m) for m in scores["model"]}, key=metrics.model_order)}
    )
    for config, part in scores.groupby("configuration", sort=False):
        table = metrics.table1(part, columns={f"Macro F1, {config}": STUDY_METRIC})
        out = out.merge(table, on="Model", how="left")
    if metrics.paper_reports(dataset):
        paper = metrics.paper_table1(dataset).set_index("Model")["F1-Score"]
        out["F1 (paper)"] = out["Model"].map(paper).map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    return out.fillna("")


def protocol_rows(runs: dict[str, RunDir]) -> pd.DataFrame:
    """One row per run, model and seed: split, configuration, macro-F1 and FPR at the operating point (argmax), and
    the test rows (``n_test``, the tie margin of :func:`lib.report.protocol_findings`) where the scores have them."""
    scores = with_runs(runs)
    columns = ["run", "split", "configuration", "model", "seed", STUDY_METRIC, "fpr"]
    return scores[columns + (["n_test"] if "n_test" in scores else [])]


def _protocol_keys(rows: pd.DataFrame) -> list[tuple[str, str, str]]:
    """The (split, configuration, run) groups of ``rows``: protocols in :data:`SPLIT_NAMES` order, the
    paper-faithful configuration first, then by run name."""
    order = list(SPLIT_NAMES)
    return sorted(
        rows.groupby(["split", "configuration", "run"]).groups,
        key=lambda k: (order.index(k[0]) if k[0] in order else len(order), k[1] != "paper-faithful", k[2]),
    )


def protocol_table(rows: pd.DataFrame, dataset: str, decimals: int = 1) -> pd.DataFrame:
    """Each model's macro-F1 and FPR (mean ± std over seeds, in percent) under each protocol, with the paper's
    F1 beside the stratified row of the paper-faithful configuration."""
    out = []
    paper = metrics.paper_table1(dataset).set_index("Model")["F1-Score"] if metrics.paper_reports(dataset) else None
    for split, config, run_name in _protocol_keys(rows):
        part = rows[(rows["split"] == split) & (rows["configuration"] == config) & (rows["run"] == run_name)]
        for model in sorted(part["model"].unique(), key=metrics.model_order_id):
            values = part[part["model"] == model]
            cells = {"Protocol": SPLIT_NAMES.get(split, split), "Configuration": config, "Run": run_name}
            cells["Model"] = metrics.MODEL_NAMES.get(model, model)
            cells["Seeds"] = len(values)
            for key, column in ((STUDY_METRIC, "Macro F1"), ("fpr", "FPR")):
                cells[column] = _mean_std(100 * values[key].to_numpy(dtype=float), decimals)
            is_paper_row = paper is not None and split == "stratified" and config == "paper-faithful"
            cells["F1 (paper)"] = f"{paper[cells['Model']]:.1f}" if is_paper_row and cells["Model"] in paper else ""
            out.append(cells)
    return pd.DataFrame(out)


def fusion_study(runs: dict[str, RunDir], decimals: int = 1) -> pd.DataFrame:
    """Notebook 04's contenders in every run of the study that ran it: macro-F1 (mean ± std over seeds, in
    percent), one column per run (empty when no run ran it). The verdicts: :func:`lib.report.verdicts.fusion_comparisons`."""
    columns = {}
    for name, folder in runs.items():
        if not folder.has("fusion"):
            continue
        stage = folder.open("fusion")
        described = configuration(folder)
        label = f"{name} ({described['configuration']}, {described['split']})"
        scores = stage.scores()
        cells = {}
        for model, part in scores.groupby("model"):
            cells[model] = _mean_std(100 * part[STUDY_METRIC].to_numpy(dtype=float), decimals)
        columns[label] = cells
    if not columns:
        return pd.DataFrame()
    table = pd.DataFrame(columns)
    order = list(metrics.CONTENDER_NAMES)
    table = table.loc[sorted(table.index, key=lambda m: order.index(m) if m in order else len(order))]
    table.index = [metrics.CONTENDER_NAMES.get(m, m) for m in table.index]
    return table.rename_axis("Contender").reset_index().fillna("")


# ------------------------------------------------------------------------------------------ zero-day
def _table_or_empty(stage: Any, name: str) -> pd.DataFrame:
    """A stage's table; an empty frame where the CSV holds nothing at all (not even a header)."""
    try:
        return stage.table(name)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def zero_day_table(stages: dict[str, Any]) -> tuple[pd.DataFrame | None, str]:
    """Notebook 05's zero-day results summarised per held-out family, and why there are none: ``(table, "")``,
    or ``(None, reason)`` when notebook 05 has not run or held no family out (the reason read from its tables)."""
    if "anomaly" not in stages:
        return None, "Notebook 05 has not run for this RUN_DIR: no zero-day results."
    anomaly = stages["anomaly"]
    zero_day = _table_or_empty(anomaly, "zero_day")
    if len(zero_day) and "family" in zero_day:
        summary = metrics.zero_day_summary(zero_day)
        if "chosen_on" in zero_day:  # how the branch was set without each family: on validation rows, or a default
            chosen_on = zero_day.groupby("family", sort=False)["chosen_on"].agg(lambda c: "; ".join(dict.fromkeys(c)))
            summary.insert(1, "chosen_on", summary["family"].map(chosen_on))
        return summary, ""
    eligibility = _table_or_empty(anomaly, "eligibility")
    reason = (
        zero_day_reason(eligibility, anomaly.parameters.get("MIN_FAMILY_ROWS", 0)) if "family" in eligibility else ""
    )
    return None, reason or "Notebook 05 wrote no zero-day results for this run."


#: Notebook 05's zero-day tables that notebook 06 copies into the figure folder (in percent).
ZERO_DAY_FILES = ("zero_day_by_detector", "zero_day_per_seed")


def zero_day_file(stages: dict[str, Any], name: str) -> pd.DataFrame | None:
    """Notebook 05's zero-day table ``name`` (:data:`ZERO_DAY_FILES`: per family and model, or per family, seed and
    model) in percent (:func:`as_percent`), for the figure folder; None when no family was held out
    (:func:`zero_day_table`), so that notebook 06 removes an earlier run's copy. A stage made before notebook 05
    wrote the table is an error naming the command that remakes it (:meth:`lib.run.Stage.file`)."""
    if zero_day_table(stages)[0] is None:
        return None
    return as_percent(stages["anomaly"].table(name))


# -------------------------------------------------------------------------------- test-set intervals
def interval_cell(low: float, high: float, decimals: int = 1) -> str:
    """ "[93.1, 95.6]": a 95 % interval in percent ("" where it is undefined)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return f"[{low:.{decimals}f}, {high:.{decimals}f}]"


def _interval_lookup(intervals: pd.DataFrame, run: str, pool: str = "table1") -> dict[tuple[str, str], str]:
    part = intervals[(intervals["run"] == run) & (intervals["pool"] == pool)]
    return {(r.model, r.score): interval_cell(r.low, r.high) for r in part.itertuples()}


def table1_with_intervals(runs: pd.DataFrame, dataset: str, label_mode: str, intervals: pd.DataFrame,
                          run: str) -> pd.DataFrame:  # fmt: skip
    """Table 1 beside the paper (:func:`lib.metrics.table1_vs_paper`), each of our columns followed by its 95 %
    test-set bootstrap interval (``intervals``: :func:`lib.report.evidence.run_evidence`, the run ``run``)."""
    table = metrics.table1_vs_paper(runs, dataset, label_mode)
    found = _interval_lookup(intervals, run)
    ids = {name: model for model, name in metrics.MODEL_NAMES.items()}
    out = pd.DataFrame({"Model": table["Model"]})
    scores = metrics.table1_columns(runs, label_mode)  # column -> score key; " (ours)" where the paper has a table
    for column in table.columns[1:]:
        out[column] = table[column]
        name = column.removesuffix(" (ours)")
        if name in scores and not column.endswith(" (paper)"):
            out[f"{name} 95 % CI"] = [found.get((ids.get(m, m), scores[name]), "") for m in table["Model"]]
    return out


def protocol_table_with_intervals(table: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """:func:`protocol_table` with each run's macro-F1 and FPR followed by their 95 % test-set intervals."""
    ids = {name: model for model, name in metrics.MODEL_NAMES.items()}
    out = table.copy()
    for column, score in (("Macro F1", STUDY_METRIC), ("FPR", "fpr")):
        cells = [
            _interval_lookup(intervals, r["Run"]).get((ids.get(r["Model"], r["Model"]), score), "")
            for _, r in table.iterrows()
        ]
        out.insert(list(out.columns).index(column) + 1, f"{column} 95 % CI", cells)
    return out


def fusion_study_with_intervals(table: pd.DataFrame, runs: dict[str, RunDir], intervals: pd.DataFrame) -> pd.DataFrame:
    """:func:`fusion_study` with each cell followed by its 95 % test-set interval (macro-F1, percent)."""
    if not len(table):
        return table
    names = {v: k for k, v in metrics.CONTENDER_NAMES.items()}
    out = table.copy()
    for name in runs:
        column = next((c for c in table.columns if c.startswith(f"{name} (")), None)
        if column is None:
            continue
        found = _interval_lookup(intervals, name, "fusion")
        out[column] = [
            f"{cell} {found.get((names.get(c, c), STUDY_METRIC), '')}".strip() if cell else ""
            for c, cell in zip(table["Contender"], table[column], strict=True)
        ]
    return out
