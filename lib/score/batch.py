"""Batch mode: every flow of one input scored into one output file (:func:`score_file`), written to a
temporary file beside it and put in place only when whole: an error leaves no output behind, and an existing
output is replaced only when asked (``overwrite``), at that last step."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from lib.score.inputs import BATCH_ROWS, check_input, input_columns, read_batches
from lib.score.model import Detector, ScoreError, Thresholds
from lib.score.outputs import OUTPUT_COLUMNS, Tally, Writer, check_output_place, write_summary


def score_file(
    detector: Detector,
    source: str | os.PathLike,
    output: str | os.PathLike,
    fpr: float | None = None,
    batch_rows: int = BATCH_ROWS,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Score every flow of ``source`` into ``output``; returns the summary (also written to
    ``<output>.summary.json``). The input and the output's place are checked first
    (:func:`lib.score.inputs.check_input`, :func:`lib.score.outputs.check_output_place`: an existing output is
    refused unless ``overwrite``), then the header's columns, before any row is read; on an error no output
    file is left behind and an existing one is left as it was."""
    source, output = Path(source), Path(output)
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be 1 or more, not {batch_rows}")
    check_input(source)
    check_output_place(output, [source], overwrite=overwrite)
    thresholds = detector.thresholds(fpr)
    detector.check_columns([str(c) for c in input_columns(source, detector.encoding)], str(source))
    tally, start = Tally(files=[str(source)]), time.perf_counter()
    valued: Counter = Counter()
    batches = read_batches(
        source,
        tally,
        batch_rows,
        detector.benign_labels,
        set(detector.numeric_columns),
        encoding=detector.encoding,
        non_negative=detector.non_negative,
    )
    _write_whole(output, overwrite, lambda tmp: _write_scores(tmp, detector, batches, thresholds, tally, valued))
    tally.blank = [c for c in detector.numeric_columns if tally.read and valued[c] == 0]
    summary = tally.summary(thresholds, time.perf_counter() - start) | {
        "output": str(output),
        "pipeline_fingerprint": detector.manifest.get("pipeline_fingerprint"),
    }
    write_summary(output, summary)
    return summary


def _write_whole(output: Path, overwrite: bool, write: Any) -> None:
    """``write(tmp)`` into a temporary file beside ``output``, then put in its place: with ``overwrite`` by a
    rename over it; else by a hard link that fails if a file appeared at ``output`` meanwhile (a file system
    without hard links: a rename after checking that none did)."""
    tmp = output.with_name(f".{output.stem}.{os.getpid()}.partial{output.suffix}")
    try:
        write(tmp)
        if overwrite:
            os.replace(tmp, output)
            return
        try:
            os.link(tmp, output)
        except FileExistsError:
            raise ScoreError(
                f"--output {output}: the file appeared while the input was scored (another process?); it is not "
                f"written over. Fix: choose another --output, or pass --overwrite"
            ) from None
        except OSError:  # no hard links here (some network and FAT file systems)
            if os.path.lexists(output):
                raise ScoreError(
                    f"--output {output}: the file appeared while the input was scored; it is not written over. "
                    f"Fix: choose another --output, or pass --overwrite"
                ) from None
            os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


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
