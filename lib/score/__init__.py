"""Score new traffic with a trained run: ``iot-botnet score`` / ``python -m lib.score`` (notebook 07,
``07_detect_new_traffic.ipynb``).

    iot-botnet score --model runs/iot23 --input conn.log --output alerts.csv
    iot-botnet score --model runs/iot23 --input flows.csv --output scored.parquet --fpr 0.001
    iot-botnet score --model runs/iot23 --input /var/zeek/logs/current/conn.log --output alerts.csv --follow

``--model`` is a run folder (or its ``fusion/pipeline`` folder) whose notebooks 01-05 have run: notebook 04
saved the fused pipeline (preprocessor, fold models, meta-classifier), notebook 05 the anomaly branch and the
benign validation scores its thresholds come from (:class:`Detector`). Both are loaded without pickle
(:func:`lib.fusion.load_pipeline`, :func:`lib.anomaly.load_detector`) from folders :class:`lib.run.RunDir`
checks current; the manifest (data set, parameters, fingerprints, thresholds, the pipeline's ``variant``: the
full fusion or the deployment variant notebook 04 saves with ``PIPELINE=deploy``) is printed first.
``--runtime`` says how a full pipeline's fold networks run: ``auto`` (the default) times each runtime of
:mod:`lib.fusion.runtime` on the run's validation rows and keeps the fastest whose networks' outputs and final scores
agree with ``predict``'s within 1e-5 (the chosen one's largest difference of the final scores is printed);
``predict``, ``tensorflow``, ``xla``, ``stacked`` or ``stacked_xla`` name one.

**Input**: a Zeek conn log (TSV with its ``#fields`` header or JSON, told by its content whatever its name;
labelled or not, plain or gzip), or a flow table (CSV/TSV/Parquet) with the columns the run was trained on (a
CICFlowMeter CSV for a CICIDS2017 run), read by :mod:`lib.datasets`' own readers (``lib/datasets/zeek.py``,
``lib/datasets/table.py``) with the run's ``ENCODING``, and its values by training's rules (negative counts,
sizes and durations of the data set's schema missing, counted in the summary). The input
must carry every feature column of the pipeline: a missing one is an error naming it, the closest column of
the input and the fix (never a whole column of medians). Values are read as training read them: unset
(``-``), empty and ``NaN`` values are imputed with the training median (counted per column in the summary);
a value that is not a number in a numeric column rejects its row (counted, with the column). A numeric feature
of the model's input far outside the training range (more than :data:`DRIFT_MARGIN` training spans beyond it)
is counted per column and reported as a drift warning; so are categories never seen in training.

**Output** (CSV or Parquet, by the suffix), one row per input flow scored: ``row`` (its 1-based number among
the input's flow records), the identifiers the input has (Zeek ``uid``, ``ts`` and 5-tuple; CICFlowMeter's
flow id, addresses, ports and time), ``p_attack`` (1 - P(benign) of the fused pipeline), ``family`` (the
pipeline's predicted class), ``anomaly_score``, ``alert`` (``fusion``, ``anomaly``, ``both`` or empty) and,
when the input is labelled, ``true_label``. Decisions: the fusion alerts on its predicted class (argmax, as
notebook 05 combines it), the anomaly branch above the threshold notebook 05 chose at ``TARGET_FPR`` of the
benign validation flows. ``--fpr F`` puts both at ``F`` of the benign validation flows instead (the fusion's
family is then the likeliest attack class of an alert). A JSON summary (flows read, scored, rejected and why,
alerts by family and branch, drift) is written beside the output and printed.

**Follow mode** (``--follow``, Zeek logs, TSV or JSON): the log is read as Zeek appends to it, micro-batches are scored and
written as they come (CSV, flushed per batch), memory bounded by the batch; when Zeek rotates the log (renames
it and starts a new file under the same name), the old file is read to its end and the new one followed from
its header; a log cut short or rewritten in place is read again from its start, and a new header block in it
switches to the fields it declares. Ctrl-C (or ``--max-seconds``) stops it cleanly: everything read so far is
scored and written; ``--append`` continues such an output later, from where its session stopped.

**Safety**: the model folder, the input and the output's place are checked before the model is loaded
(:func:`check_paths`); an output that is the input (or whose summary would be) is refused, an existing one
unless ``--overwrite`` (batch: replaced once the new one is whole) or ``--append`` (follow mode).

**Modules**: ``model.py`` (the trained run, its decisions), ``inputs.py`` (reading inputs), ``outputs.py``
(writers, the tally and its summary), ``batch.py`` (a whole input into one output), ``follow.py`` (follow
mode), ``cli.py`` (the command line, exit codes), ``notebook.py`` (notebook 07's helpers). Every name is
re-exported here: ``from lib import score; score.Detector``. (``score.follow`` and ``score.cli`` are the
functions; their modules are ``lib.score.follow`` and ``lib.score.cli`` in :data:`sys.modules`.)
"""

from __future__ import annotations

from lib.datasets.table import MISSING_TOKENS  # what a table reads as missing (the datasets reader's)
from lib.score.batch import score_file
from lib.score.cli import EXIT_BAD_INPUT, check_paths, cli, main, parse_args, parser
from lib.score.follow import FOLLOW_READ_BYTES, LogFollower, continued_session, follow, max_line_bytes
from lib.score.inputs import BATCH_ROWS, check_input, input_columns, read_batches, read_input
from lib.score.model import DRIFT_MARGIN, Detector, ScoreError, Thresholds, identifiers, import_keras_quietly
from lib.score.notebook import (
    alerts_by_true_label,
    describe_text,
    detection_summary,
    files_to_score,
    format_summaries,
    fpr_options,
    held_out_files,
    outcome,
    run_command,
    score_into,
)
from lib.score.outputs import (
    ALERTS,
    OUTPUT_COLUMNS,
    FollowWriter,
    Tally,
    Writer,
    check_output_place,
    format_summary,
    read_summary,
    same_file,
    summary_path,
    write_summary,
)

__all__ = [
    # the trained run
    "Detector",
    "Thresholds",
    "ScoreError",
    "DRIFT_MARGIN",
    "identifiers",
    "import_keras_quietly",
    # inputs
    "BATCH_ROWS",
    "MISSING_TOKENS",
    "check_input",
    "input_columns",
    "read_batches",
    "read_input",
    # outputs
    "ALERTS",
    "OUTPUT_COLUMNS",
    "Tally",
    "Writer",
    "FollowWriter",
    "check_output_place",
    "same_file",
    "format_summary",
    "summary_path",
    "read_summary",
    "write_summary",
    # batch and follow mode
    "score_file",
    "follow",
    "LogFollower",
    "FOLLOW_READ_BYTES",
    "max_line_bytes",
    "continued_session",
    # command line
    "cli",
    "main",
    "parser",
    "parse_args",
    "check_paths",
    "EXIT_BAD_INPUT",
    # notebook 07
    "held_out_files",
    "files_to_score",
    "fpr_options",
    "describe_text",
    "run_command",
    "score_into",
    "format_summaries",
    "outcome",
    "alerts_by_true_label",
    "detection_summary",
]
