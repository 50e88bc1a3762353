"""Notebook 07 (``07_detect_new_traffic.ipynb``): the capture files a run held out, each scored by the
command in a child process as a user runs it (:func:`score_into`), and the alerts judged against the
capture's own labels (:func:`outcome`, :func:`alerts_by_true_label`, :func:`detection_summary`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib import preprocess
from lib.datasets import files
from lib.datasets.zeek import scenario_name
from lib.score.model import Detector, ScoreError
from lib.score.outputs import format_summary, summary_path


def held_out_files(detector: Detector) -> list[Path]:
    """The capture files the run held out whole (``SPLIT="source"``): their flows reached no training or
    validation row, so scoring them is scoring traffic the detector never saw. Empty for other splits."""
    from lib import datasets

    training = detector.training
    sources = [str(s) for s in training.get("test_sources", [])]
    parameters = training.get("parameters", {})
    if not sources:
        return []
    dataset, data_files = parameters.get("DATASET"), parameters.get("DATA_FILES")
    if data_files:
        paths = files.expand_files(data_files)
    else:
        paths = datasets.locate(dataset, parameters.get("DATA_DIR") or None, download=False)
    found = [path for path in paths if {path.name, scenario_name(path), str(path)} & set(sources)]
    if not found:
        raise ScoreError(
            f"{detector.run_dir}: the held-out sources {sources} match none of the run's files ({len(paths)} found). "
            f"Fix: pass the files to score (SCORE_FILES / --input)"
        )
    return found


def files_to_score(named: list[str], detector: Detector) -> list[str]:
    """``named`` (notebook 07's ``SCORE_FILES``, split) or, when empty, the files the run held out
    (:func:`held_out_files`); a :class:`ValueError` when there are none."""
    found = [str(path) for path in (named or held_out_files(detector))]
    if not found:
        raise ValueError(
            f"{detector.run_dir} held no capture out (SPLIT is not 'source'): name the files to score in SCORE_FILES"
        )
    return found


def fpr_options(fpr: float) -> list[str]:
    """The command's options for notebook 07's ``FPR``: none for 0 (the run's saved decisions)."""
    return ["--fpr", str(fpr)] if fpr else []


def describe_text(detector: Detector) -> str:
    """What the run was trained on and with (:meth:`Detector.describe`, its feature columns left out), as
    indented JSON."""
    described = detector.describe()
    described.pop("feature_columns")
    return json.dumps(described, indent=1, default=str)


def run_command(model: str | os.PathLike, source: str | os.PathLike, output: str | os.PathLike, *options: str) -> dict:
    """``python -m lib.score --model ... --input ... --output ...`` in a child process, as a user runs it;
    its summary. A failure is a ``RuntimeError`` with the command's own error message."""
    command = [
        sys.executable,
        "-m",
        "lib.score",
        "--model",
        str(model),
        "--input",
        str(source),
        "--output",
        str(output),
    ]
    done = subprocess.run([*command, *options], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(summary_path(output).read_text())


def score_into(stage: Any, model: str | os.PathLike, sources: list, *options: str) -> tuple[dict, pd.DataFrame]:
    """Notebook 07: each of ``sources`` scored by the command (:func:`run_command`) into the stage's
    ``scored/flows_<i>.csv`` (:meth:`lib.run.Stage.output_file`, then counted among its results with
    :meth:`lib.run.Stage.adopt`); the summaries by source and every output row in one frame."""
    summaries, frames = {}, []
    for i, source in enumerate(sources):
        relpath = f"scored/flows_{i}.csv"
        summaries[str(source)] = run_command(model, source, stage.output_file(relpath), *options)
        frames.append(pd.read_csv(stage.adopt(relpath), keep_default_na=False, na_values=[""]))
    return summaries, pd.concat(frames, ignore_index=True)


def format_summaries(summaries: dict[str, dict]) -> str:
    """Each source's summary (:func:`lib.score.format_summary`) under its name."""
    return "\n\n".join(f"{source}:\n{format_summary(summary)}" for source, summary in summaries.items())


def _confusion_row(name: str, flagged: np.ndarray, attack: np.ndarray) -> dict[str, Any]:
    """One row of :func:`outcome`: the decision ``name`` (``flagged`` flows) against the ``attack`` flows."""
    tp, fp = int((flagged & attack).sum()), int((flagged & ~attack).sum())
    fn, tn = int((~flagged & attack).sum()), int((~flagged & ~attack).sum())
    return {
        "decision": name,
        "attack flows": tp + fn,
        "benign flows": fp + tn,
        "true positives": tp,
        "false negatives": fn,
        "false positives": fp,
        "true negatives": tn,
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "fpr": fp / (fp + tn) if fp + tn else float("nan"),
    }


def outcome(scored: pd.DataFrame) -> pd.DataFrame:
    """Per decision (fusion, anomaly, either): true/false positives and negatives against the input's labels
    (``true_label``: anything but Benign is an attack), recall and false-positive rate."""
    if "true_label" not in scored:
        raise ValueError("the scored input had no labels: nothing to compare the alerts with")
    attack = scored["true_label"].astype(str).ne(preprocess.BENIGN).to_numpy()
    alert = scored["alert"].fillna("").astype(str)
    decisions = {
        "fusion": alert.isin(["fusion", "both"]).to_numpy(),
        "anomaly": alert.isin(["anomaly", "both"]).to_numpy(),
        "fusion OR anomaly": alert.ne("").to_numpy(),
    }
    return pd.DataFrame([_confusion_row(name, flagged, attack) for name, flagged in decisions.items()])


def alerts_by_true_label(scored: pd.DataFrame) -> pd.DataFrame:
    """Flows by true label (rows) and alert (columns, ``(none)`` for no alert), with totals."""
    alert = scored["alert"].fillna("").replace("", "(none)")
    return pd.crosstab(scored["true_label"], alert, margins=True)


def detection_summary(scored: pd.DataFrame, confusion: pd.DataFrame, summaries: dict[str, dict], sources: list) -> str:
    """Notebook 07's summary: the flows of ``sources`` scored, the decision, and the recall and false-positive
    rate of the two branches together (:func:`outcome`)."""
    either = confusion.set_index("decision").loc["fusion OR anomaly"]
    decision = next(iter(summaries.values()))["decision"]
    return (
        f"* {len(scored):,} flows of {len(sources)} held-out file(s) scored; decision: {decision}.\n"
        f"* Fusion OR anomaly: recall {either['recall']:.3f} on {int(either['attack flows']):,} attack flows, "
        f"FPR {either['fpr']:.3f} on {int(either['benign flows']):,} benign flows."
    )
