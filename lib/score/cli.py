"""The command line: ``iot-botnet score ...`` (:func:`main`, also ``python -m lib.score``) and the
``iot-botnet`` entry point (:func:`cli`: ``score``, or ``run`` for :mod:`lib.runner`). Every option is checked
by the parser, and the model folder, the input and the output's place are checked before the model is loaded
(:func:`check_paths`); a refusal is exit code 2 with the message alone, no traceback."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lib.datasets import DataError
from lib.score.batch import score_file
from lib.score.follow import continued_session, follow, max_line_bytes
from lib.score.inputs import BATCH_ROWS, check_input
from lib.score.model import RUNTIME_CHOICES, Detector, ScoreError, run_folder_of
from lib.score.outputs import check_output_place, format_summary

#: The exit code of a scoring refused: an option out of range, bad input, an output that would destroy data
#: or cannot be written, a model folder that cannot be scored or a stale run.
EXIT_BAD_INPUT = 2
#: The exit code of a failure while scoring that is none of those (a full disk, a file system error).
EXIT_FAILED = 1
#: The exit code of a batch scoring interrupted by Ctrl-C (nothing written); follow mode stops with 0.
EXIT_INTERRUPTED = 130
#: Follow mode's poll interval when ``--interval`` is not given.
DEFAULT_INTERVAL = 0.1


EPILOG = f"""\
examples:
  iot-botnet score --model runs/iot23 --input conn.log --output alerts.csv
  iot-botnet score --model runs/iot23 --input flows.parquet --output alerts.parquet --fpr 0.001
  iot-botnet score --model runs/iot23 --input /opt/zeek/logs/current/conn.log --output alerts.csv --follow
  iot-botnet score --model runs/iot23 --input /opt/zeek/logs/current/conn.log --output alerts.csv --follow --append

input: a Zeek conn log (IoT-23's labelled form or a plain conn.log; TSV or JSON; plain or gzip) or a
  CSV/TSV/Parquet table with the columns the run was trained on, read in the run's ENCODING. Every feature column must be there: a missing one is an error that
  names it and the input's likely renamed column; no column is filled in. The model folder, the input (a
  readable file, not a folder) and the output's place are checked before the model is loaded.
output: one row per flow: row, the identifiers present (uid, ts, 5-tuple), p_attack, family, anomaly_score,
  alert (fusion, anomaly, both or empty) and, for a labelled input, true_label. A summary (flows read, scored,
  rejected and why, alerts by branch and family, values imputed, drift) is printed and written to
  <output>.summary.json. No partial output is left behind on an error.
  Nothing is written over by accident: an --output that is the input (through a link, a relative path or
  another spelling), or whose summary would be, is refused whatever the options; an existing output is
  refused unless --overwrite (batch: replaced only once the new output is whole; follow mode: replaced when
  the first rows are written) or, in follow mode, --append; its folder must exist and be writable.
thresholds: by default the run's saved decisions; --fpr F puts both branches at F of the run's benign
  validation flows.
follow mode: reads what Zeek appends to a TSV or JSON conn log, in pieces of at most 1 MiB, across rename rotation,
  copytruncate and a file replaced or rewritten in place (each counted in the summary); a new '#' header block in
  the log switches to the fields it declares; a line longer than lib.datasets.stream.MAX_LINE_BYTES
  ({max_line_bytes():,} bytes) is an error naming its line. The summary is rewritten after every poll that scored
  flows and records where the session stopped: --append adds a new session's rows after the output's own, numbered
  on, from that place in the log if it is still the same file (else from the start of the file now under the name),
  and the summary counts every session; an output whose size differs from what its summary records (a killed
  session) is not appended to. Ctrl-C, SIGTERM, --max-seconds or --idle-seconds stop it with every flow read so far
  scored and written.
exit status: 0 scored (follow mode: also when stopped by Ctrl-C or SIGTERM); 2 refused: an option out of range
  or misused (the parser's usage message), bad input, an output that would destroy data or cannot be written,
  a model folder that cannot be scored or a stale run (the message alone); 1 a failure while scoring (e.g. a
  full disk; the message alone); 130 Ctrl-C in batch mode or while the model loads (nothing written, an
  existing output left as it was).
"""


# ------------------------------------------------------------------------------------------------ option types
def _number(text: str, kind: type, what: str) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value


def _ranged(kind: type, what: str, in_range: Callable[[Any], bool], allowed: str = "") -> Callable[[str], Any]:
    """An option type: a finite number of ``kind`` (``int`` or ``float``) for which ``in_range`` holds; else the
    parser's error, saying it is not ``what`` or is out of range (``allowed``, the range said in full, default
    ``what``)."""

    def parse(text: str) -> Any:
        value = _number(text, kind, what)
        if not in_range(value):
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            raise argparse.ArgumentTypeError(f"{shown} is out of range: {allowed or what}")
        return value

    return parse


#: ``--batch-rows``: a whole number, 1 or more.
whole_number_from_1 = _ranged(int, "a whole number of 1 or more", lambda value: value >= 1)
#: ``--interval``: a number of seconds above 0.
seconds_above_0 = _ranged(
    float, "a number of seconds above 0", lambda value: value > 0, "a number of seconds above 0 (e.g. 0.1)"
)
#: ``--max-seconds``, ``--idle-seconds``: a number of seconds, 0 or more.
seconds_from_0 = _ranged(float, "a number of seconds, 0 or more", lambda value: value >= 0)
#: ``--fpr``: a rate strictly between 0 and 1.
rate_between_0_and_1 = _ranged(
    float, "a rate between 0 and 1 (e.g. 0.001)", lambda value: 0 < value < 1,
    "a rate between 0 and 1, both excluded (e.g. 0.001)",
)  # fmt: skip


FOLLOW_ONLY = ("interval", "max_seconds", "idle_seconds", "append")


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
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing output (without it, or --append in follow mode, it is refused)",
    )
    p.add_argument(
        "--fpr",
        type=rate_between_0_and_1,
        default=None,
        help="both branches at this FPR (0 < F < 1) of benign validation flows",
    )
    p.add_argument("--follow", action="store_true", help="follow a Zeek log still being written (Ctrl-C stops)")
    p.add_argument(
        "--append", action="store_true", help="follow mode: continue an existing output where its session stopped"
    )
    p.add_argument(
        "--interval",
        type=seconds_above_0,
        default=None,
        help=f"follow mode: seconds between polls of the log, above 0 (default {DEFAULT_INTERVAL})",
    )
    p.add_argument(
        "--max-seconds", type=seconds_from_0, default=None, help="follow mode: stop after this many seconds (0 or more)"
    )
    p.add_argument(
        "--idle-seconds",
        type=seconds_from_0,
        default=None,
        help="follow mode: stop after this long with no flow (0 or more)",
    )
    p.add_argument(
        "--batch-rows",
        type=whole_number_from_1,
        default=BATCH_ROWS,
        help=f"flows per call of the pipeline, 1 or more (default {BATCH_ROWS})",
    )
    p.add_argument(
        "--runtime",
        choices=RUNTIME_CHOICES,
        default="auto",
        help="how the fusion's networks run: auto (the fastest, measured at the start on the run's validation "
        "rows, of those whose networks' outputs agree with predict's within 1e-5), predict (one network at a time), "
        "tensorflow or xla (all networks in one graph, compiled by XLA or not), stacked or stacked_xla (each "
        "network's fold copies as one network with stacked weights)",
    )
    p.add_argument("--quiet", action="store_true", help="print the summary only")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, each checked by :func:`parser`, and their combinations: ``--append``, ``--interval``,
    ``--max-seconds`` and ``--idle-seconds`` need ``--follow``; ``--overwrite`` and ``--append`` exclude each
    other. A misuse exits with code 2 and the parser's usage message. ``--model`` is made an absolute path from
    the current folder."""
    p = parser()
    args = p.parse_args(argv)
    if not args.follow:
        given = [f"--{name.replace('_', '-')}" for name in FOLLOW_ONLY if getattr(args, name) not in (None, False)]
        if given:
            p.error(f"{', '.join(given)} only with --follow (follow mode); batch mode reads the input once")
    if args.append and args.overwrite:
        p.error("--overwrite and --append exclude each other: replace the output, or add rows to it")
    if args.interval is None:
        args.interval = DEFAULT_INTERVAL
    args.model = os.path.abspath(args.model)  # from the current folder, where it is checked and loaded
    return args


# ------------------------------------------------------------------------------------------------ messages
#: What a scorer user does where a :mod:`lib.datasets` fix names a training setting (a parameter of notebook
#: 01, which the scorer takes from the run): ``{value}`` is the run's own setting.
SCORER_FIXES = {
    "DATA_FILES": "score the files the input joins one by one, each as its own --input",
    "DATASET": "score an input of the layout the run was trained on (DATASET={value}), or train a run on data of "
    "this layout",
    "ENCODING": "convert the input to the run's encoding (ENCODING={value}), e.g. iconv -f <its encoding> -t "
    "{value}, or train a run on data in this encoding",
    "MISSING_VALUES": "correct the value in the input (a value that means 'no value' written as the training "
    "data wrote it, or left empty: the run was trained with MISSING_VALUES={value}), or train a run with "
    "MISSING_VALUES set for this input",
}
#: The wording for any other training setting a fix names.
SCORER_FIX = "the run was trained with {name}={value}: fix the input to match, or train a run with {name} set for it"
#: The training settings a fix may name (those of :data:`SCORER_FIXES` first).
TRAINING_SETTINGS = (
    *SCORER_FIXES,
    "LABEL_COLUMN",
    "BENIGN_LABELS",
    "IGNORE_LABELS",
    "COLUMN_NAMES",
    "DROP_COLUMNS",
    "DATA_DIR",
    "SAMPLE_ROWS",
    "SPLIT",
)


def scorer_message(err: Exception, trained: dict[str, Any] | None = None) -> str:
    """The message of an error relayed by the scorer: a :mod:`lib.datasets` :class:`DataError` whose fix names
    a training setting (:data:`TRAINING_SETTINGS`) gets a fix a scorer user can act on (:data:`SCORER_FIXES`,
    with the run's value of the setting from ``trained``, notebook 01's parameters); any other as it is."""
    text = str(err)
    if not isinstance(err, DataError) or isinstance(err, ScoreError):
        return text
    head, said, fix = text.partition("Fix: ")
    named = [name for name in TRAINING_SETTINGS if re.search(rf"\b{name}\b", fix)] if said else []
    if not named:
        return text
    name = named[0]
    value = repr((trained or {}).get(name, "(not recorded)"))
    return head + said + SCORER_FIXES.get(name, SCORER_FIX).format(name=name, value=value)


class _OnceEach(logging.Filter):
    """Lets each distinct message through once: a repair the readers note on each read of a file (its header,
    then its rows) is said once on stderr; the summary counts every repair."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


@contextmanager
def each_warning_once(logger: str = "lib.datasets") -> Iterator[None]:
    """Within it, ``logger`` says each distinct message once (:class:`_OnceEach`)."""
    once = _OnceEach()
    logging.getLogger(logger).addFilter(once)
    try:
        yield
    finally:
        logging.getLogger(logger).removeFilter(once)


# ------------------------------------------------------------------------------------------------ checks
def check_model_folder(model: str | os.PathLike) -> Path:
    """The run folder ``--model`` names, if it is a folder this process can read with a ``fusion/`` stage;
    else a :class:`ScoreError` naming it (absolute, from the current folder), the reason and the fix. Nothing is
    loaded or created."""
    path = model = Path(model).absolute()
    fix = "pass the RUN_DIR of a run whose notebooks 01-05 have run (e.g. runs/iot23), or its fusion/pipeline folder"
    if not path.exists():
        raise ScoreError(f"--model {model}: no such folder. Fix: {fix}")
    if not path.is_dir():
        raise ScoreError(f"--model {model}: a file, not a folder. Fix: {fix}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ScoreError(f"--model {model}: the folder cannot be read (permission denied). Fix: make it readable")
    return run_folder_of(path)


def check_paths(args: argparse.Namespace) -> None:
    """Everything about the paths that can be checked without the model: the model folder, the input, the
    output's place and, for ``--append``, that the output can be continued. A :class:`ScoreError` (or a
    :class:`ValueError` for an output format) naming the path, the reason and the fix."""
    check_model_folder(args.model)
    check_input(args.input, follow=args.follow)
    check_output_place(args.output, [args.input], overwrite=args.overwrite, append=args.append, follow=args.follow)
    if args.append:
        continued_session(args.output, args.input)


def _score(args: argparse.Namespace, trained: dict[str, Any]) -> dict:
    """Check the paths, load the run and score ``--input`` in batch or follow mode; the summary. ``trained``
    receives the run's training parameters once it is loaded (for :func:`scorer_message`)."""
    check_paths(args)
    detector = Detector.load(args.model)
    trained.update(getattr(detector, "training", {}).get("parameters", {}))
    measured = detector.use_runtime(args.runtime)
    if measured and not args.quiet:
        rates = ", ".join(
            f"{r['runtime']} unavailable ({r['unavailable']})"
            if r.get("unavailable")
            else f"{r['runtime']} {r['rows_per_s']:,.0f} flows/s"
            + ("" if r["within_tolerance"] else " (outputs or scores differ from predict's)")
            for r in measured
        )
        chosen = next(r for r in measured if r.get("chosen"))
        final = chosen.get("score_max_difference")
        agree = "" if final is None else f"; its scores differ from predict's by at most {final:.2g} on those rows"
        print(f"runtime: {detector.pipeline.runtime} (measured: {rates}{agree})", file=sys.stderr, flush=True)
    if not args.quiet:
        print("model:", json.dumps(detector.describe(), default=str), file=sys.stderr, flush=True)
    if args.follow:
        timing = {"interval": args.interval, "max_seconds": args.max_seconds, "idle_seconds": args.idle_seconds}
        return follow(
            detector,
            args.input,
            args.output,
            fpr=args.fpr,
            batch_rows=args.batch_rows,
            append=args.append,
            overwrite=args.overwrite,
            **timing,
        )
    return score_file(
        detector, args.input, args.output, fpr=args.fpr, batch_rows=args.batch_rows, overwrite=args.overwrite
    )


def main(argv: list[str] | None = None) -> int:
    """``iot-botnet score``: 0 when the input was scored (the summary printed), :data:`EXIT_BAD_INPUT` with the
    error's message when it was refused, :data:`EXIT_FAILED` for another failure of the file system,
    :data:`EXIT_INTERRUPTED` for Ctrl-C in batch mode."""
    args = parse_args(argv)
    from lib import run

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter is nothing a user can act on
    refused = (
        DataError,
        ValueError,
        FileNotFoundError,
        PermissionError,
        IsADirectoryError,
        NotADirectoryError,
        run.StaleArtefactError,
    )
    trained: dict[str, Any] = {}
    try:
        with each_warning_once():
            summary = _score(args, trained)
    except refused as err:
        print(f"error: {scorer_message(err, trained)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: nothing was written (an existing output is left as it was)", file=sys.stderr)
        return EXIT_INTERRUPTED
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
