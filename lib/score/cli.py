"""The command line: ``iot-botnet score ...`` (:func:`main`, also ``python -m lib.score``) and the
``iot-botnet`` entry point (:func:`cli`: ``score``, or ``run`` for :mod:`lib.runner`). Bad input, a model
folder that cannot be scored and a stale run are exit code 2 with the message alone, no traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys

from lib.datasets import DataError
from lib.score.batch import score_file
from lib.score.follow import follow
from lib.score.inputs import BATCH_ROWS
from lib.score.model import Detector
from lib.score.outputs import format_summary

#: The exit code of a scoring refused for bad input, a model folder or a stale run.
EXIT_BAD_INPUT = 2


EPILOG = """\
examples:
  iot-botnet score --model runs/iot23 --input conn.log --output alerts.csv
  iot-botnet score --model runs/iot23 --input flows.parquet --output alerts.parquet --fpr 0.001
  iot-botnet score --model runs/iot23 --input /opt/zeek/logs/current/conn.log --output alerts.csv --follow

input: a Zeek conn log (IoT-23's labelled form or a plain conn.log; plain or gzip) or a CSV/TSV/Parquet table
  with the columns the run was trained on. Every feature column must be there: a missing one is an error that
  names it and the input's likely renamed column; no column is filled in.
output: one row per flow: row, the identifiers present (uid, ts, 5-tuple), p_attack, family, anomaly_score,
  alert (fusion, anomaly, both or empty) and, for a labelled input, true_label. A summary (flows read, scored,
  rejected and why, alerts by branch and family, values imputed, drift) is printed and written to
  <output>.summary.json. No partial output is left behind on an error.
thresholds: by default the run's saved decisions; --fpr F puts both branches at F of the run's benign
  validation flows.
follow mode: reads what Zeek appends, in pieces of at most 1 MiB, across rename rotation and copytruncate;
  Ctrl-C, SIGTERM, --max-seconds or --idle-seconds stop it with every flow read so far scored and written.
exit status: 0 scored; 2 bad input, a model folder that cannot be scored or a stale run (the message alone).
"""


def parser() -> argparse.ArgumentParser:
    """The options of ``iot-botnet score``."""
    p = argparse.ArgumentParser(
        prog="iot-botnet score",
        description="Score flows of a Zeek conn log or a flow table with a trained run (fused pipeline + anomaly branch).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, help="run folder (RUN_DIR, notebooks 01-05 run) or its fusion/pipeline")
    p.add_argument("--input", required=True, help="Zeek conn log (labelled or not), CSV/TSV or Parquet flow table")
    p.add_argument("--output", required=True, help="output .csv, .tsv or .parquet (summary: <output>.summary.json)")
    p.add_argument("--fpr", type=float, default=None, help="both branches at this FPR of the benign validation flows")
    p.add_argument("--follow", action="store_true", help="follow a Zeek log still being written (Ctrl-C stops)")
    p.add_argument("--interval", type=float, default=0.1, help="follow mode: seconds between polls of the log")
    p.add_argument("--max-seconds", type=float, default=None, help="follow mode: stop after this many seconds")
    p.add_argument("--idle-seconds", type=float, default=None, help="follow mode: stop after this long with no flow")
    p.add_argument("--batch-rows", type=int, default=BATCH_ROWS, help="flows per call of the pipeline")
    p.add_argument("--quiet", action="store_true", help="print the summary only")
    return p


def _score(args: argparse.Namespace) -> dict:
    """Load the run and score ``--input`` in batch or follow mode; the summary."""
    detector = Detector.load(args.model)
    if not args.quiet:
        print("model:", json.dumps(detector.describe(), default=str), file=sys.stderr, flush=True)
    if args.follow:
        timing = {"interval": args.interval, "max_seconds": args.max_seconds, "idle_seconds": args.idle_seconds}
        return follow(detector, args.input, args.output, fpr=args.fpr, batch_rows=args.batch_rows, **timing)
    return score_file(detector, args.input, args.output, fpr=args.fpr, batch_rows=args.batch_rows)


def main(argv: list[str] | None = None) -> int:
    """``iot-botnet score``: 0 when the input was scored (the summary printed), :data:`EXIT_BAD_INPUT` with the
    error's message when it could not be."""
    args = parser().parse_args(argv)
    from lib import run

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter is nothing a user can act on
    try:
        summary = _score(args)
    except (DataError, ValueError, FileNotFoundError, run.StaleArtefactError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(format_summary(summary), flush=True)
    return 0


def cli(argv: list[str] | None = None) -> int:
    """``iot-botnet score ...`` / ``iot-botnet run ...`` (the runner)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("score", "run"):
        print("usage: iot-botnet {score,run} ...  (iot-botnet score --help)", file=sys.stderr)
        return 2
    if argv[0] == "run":
        from lib import runner

        return runner.main(argv[1:])
    return main(argv[1:])
