"""Batch mode: every flow of one input scored into one output file (:func:`score_file`), written to a
temporary file put in place at the end (:func:`lib.io.atomic_write`): an error leaves no output behind."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from lib import io
from lib.score.inputs import BATCH_ROWS, input_columns, read_batches
from lib.score.model import Detector, ScoreError, Thresholds
from lib.score.outputs import OUTPUT_COLUMNS, Tally, Writer, check_output, write_summary


def score_file(
    detector: Detector,
    source: str | os.PathLike,
    output: str | os.PathLike,
    fpr: float | None = None,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, Any]:
    """Score every flow of ``source`` into ``output``; returns the summary (also written to
    ``<output>.summary.json``). The header's columns are checked before any row is read; on an error no output
    file is left behind."""
    source, output = Path(source), Path(output)
    thresholds = detector.thresholds(fpr)
    if not source.exists():
        raise ScoreError(f"{source}: no such file. Fix: check the --input path")
    detector.check_columns([str(c) for c in input_columns(source)], str(source))
    check_output(output)
    tally, start = Tally(files=[str(source)]), time.perf_counter()
    valued: Counter = Counter()
    batches = read_batches(source, tally, batch_rows, detector.benign_labels, set(detector.numeric_columns))
    io.atomic_write(output, lambda tmp: _write_scores(tmp, detector, batches, thresholds, tally, valued))
    tally.blank = [c for c in detector.numeric_columns if tally.read and valued[c] == 0]
    summary = tally.summary(thresholds, time.perf_counter() - start) | {"output": str(output)}
    write_summary(output, summary)
    return summary


def _write_scores(
    path: Path,
    detector: Detector,
    batches: Iterable[pd.DataFrame],
    thresholds: Thresholds,
    tally: Tally,
    valued: Counter,
) -> None:
    """The output rows of every batch into ``path``; ``valued`` counts the values each numeric feature had."""
    writer = Writer(path)
    try:
        for batch in batches:
            valued.update({c: int(batch[c].notna().sum()) for c in detector.numeric_columns})
            writer.write(detector.score(batch, thresholds, tally))
        writer.close(OUTPUT_COLUMNS)
    except BaseException:
        writer.abandon()
        raise
