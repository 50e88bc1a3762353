"""The reproduction report: Table 1 from the runs, the paper's claims checked against it (notebook 06).

Reads what notebooks 02–05 wrote to ``RUN_DIR`` (``metrics/*.csv``, ``predictions/*.npy``); writes nothing
but the tables the notebook asks for. Every sentence of :func:`findings` is computed from the numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lib import metrics

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
METRIC_FILES = ("baselines.csv", "deep.csv")


def load_runs(run_dir: str | Path) -> pd.DataFrame:
    """One row per (model, seed) from notebooks 02 and 03 (``metrics/baselines.csv``, ``metrics/deep.csv``)."""
    folder = Path(run_dir) / "metrics"
    frames = [pd.read_csv(folder / name) for name in METRIC_FILES if (folder / name).exists()]
    if not frames:
        raise FileNotFoundError(f"no {' or '.join(METRIC_FILES)} in {folder}: run notebooks 02 and 03 first")
    return pd.concat(frames, ignore_index=True)


def load_predictions(run_dir: str | Path, seed: int, smote: bool = False) -> dict[str, np.ndarray]:
    """Test-set probabilities of every model for one seed, from ``predictions/<model>_seed<seed>.npy``
    (``smote=True``: the models notebook 03 trained on the SMOTE set D2, ``<model>_smote_seed<seed>.npy``)."""
    found = {}
    for path in sorted((Path(run_dir) / "predictions").glob(f"*_seed{seed}.npy")):
        name = path.name.removesuffix(f"_seed{seed}.npy")
        if name.endswith("_smote") == smote:
            found[name.removesuffix("_smote")] = np.load(path)
    if not found and not smote:
        raise FileNotFoundError(f"no predictions for seed {seed} in {Path(run_dir) / 'predictions'}")
    order = list(metrics.MODEL_NAMES)
    return dict(sorted(found.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


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


def describe_stages(run_dir: str | Path) -> dict[str, str]:
    """One-line descriptions of the fusion and anomaly stages a run has fitted (for Fig. 2)."""
    run_dir = Path(run_dir)
    out = {"fusion": "RF / XGBoost (notebook 04 not run)", "anomaly": "autoencoder (notebook 05 not run)"}
    fusion = run_dir / "metrics" / "fusion.json"
    if fusion.exists():
        info = json.loads(fusion.read_text())["parameters"]
        deep = ", ".join(info.get("FUSION_DEEP_MODELS", []))
        out["fusion"] = f"RF / XGBoost over {info.get('FUSION_INPUTS', '?')} of {deep}, out-of-fold"
    anomaly = run_dir / "metrics" / "anomaly.json"
    if anomaly.exists():
        info = json.loads(anomaly.read_text())
        fpr = info["parameters"].get("TARGET_FPR")
        out["anomaly"] = f"autoencoder reconstruction error, threshold at {fpr:.1%} FPR on benign validation flows"
    return out


def zero_day_table(run_dir: str | Path) -> pd.DataFrame | None:
    """Notebook 05's zero-day results summarised per held-out family, or None if it has not run."""
    path = Path(run_dir) / "metrics" / "zero_day.csv"
    return metrics.zero_day_summary(pd.read_csv(path)) if path.exists() else None
