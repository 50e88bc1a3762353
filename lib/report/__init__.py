"""The reproduction report (notebook ``06_results_and_figures.ipynb``): Table 1 from
the runs, the paper's claims checked against it, the study's tables, and the results page of each run.

Reads what notebooks 02–05 wrote, through the stages of :class:`lib.run.RunDir` (checked for staleness); writes
only into a run's figure folder, through :class:`FigureFolder`. Every sentence is computed from the numbers. One
job per module:

* ``runs.py``: opening a run's stages, its scores and predictions, and the other runs of its study;
* ``tables.py``: Table 1's long form, its companion at fixed false-positive rates, the study's tables, zero-day;
* ``findings.py``: the sentences (the paper's claims checked, protocols), every difference called by the one rule
  of :mod:`lib.metrics.compare`;
* ``controls.py``: the shortcut control's tables and verdict, leave one capture out beside the stratified split;
* ``evidence.py``: the test-set bootstrap of every score the verdicts quote (``intervals.csv``,
  ``differences.csv``: :class:`Evidence`) and the operating table (precision and false alarms per day at a
  realistic prevalence);
* ``verdicts.py``: ``seed_scores.csv`` (every score of the study, seed by seed) and every verdict and table
  notebook 06 computes from it and the evidence files (findings, protocol findings, fusion comparisons and verdicts, SMOTE), and the
  per-class table;
* ``figure_inputs.py``: Fig. 1's flows (through :mod:`lib.datasets.capture`), Fig. 2's layers, Fig. 7's importances;
* ``writer.py``: :class:`FigureFolder`, the one atomic writer of ``figures/<run name>/``;
* ``page.py``: the results page ``figures/<run name>/README.md`` and the README's headline block
  (``python -m lib.report figures/iot23`` writes a page from a folder alone);
* ``publish.py``: the run's executed notebooks, cleaned of the machine's paths and the execution's times, into
  ``figures/<run name>/notebooks/`` (the runner calls it after notebook 06; ``python -m lib.runner --publish RUN_DIR``).

Whether decision fusion helps (notebook 04, and notebook 06 for every run of the study) is :func:`lib.metrics.verdict`.
"""

from __future__ import annotations

from lib.metrics.zero_day import zero_day_reason
from lib.report.controls import loco_beside_stratified, loco_runs, loco_table, shortcut_tables
from lib.report.evidence import (
    Evidence,
    flows_per_day,
    operating_table,
    run_evidence,
    seed_bound_spread,
    study_evidence,
)
from lib.report.figure_inputs import importance_table, layer_names, lifecycle_figure
from lib.report.findings import (
    PAPER_MODELS,
    PAPER_TOP_FEATURES,
    findings,
    importance_vs_paper,
    protocol_findings,
)
from lib.report.page import (
    README_RUNS,
    RESULTS_END,
    RESULTS_START,
    readme_block,
    refresh_readme,
    replace_block,
    results_page,
    rewrite_verdicts,
    unsourced_numbers,
    wall_times_table,
    write_page,
)
from lib.report.runs import (
    SPLIT_NAMES,
    STUDY_METRIC,
    TABLE1_STAGES,
    configuration,
    deep_model,
    describe_stages,
    forests,
    load_predictions,
    load_runs,
    open_run,
    smote_pairs,
    study_overview,
    study_runs,
    study_wall_times,
)
from lib.report.tables import (
    as_percent,
    configurations_table,
    deploy_table,
    detection_rows,
    detection_table,
    fusion_study,
    fusion_study_with_intervals,
    protocol_rows,
    protocol_table,
    protocol_table_with_intervals,
    table1_summary,
    table1_with_intervals,
    zero_day_file,
    zero_day_table,
)
from lib.report.verdicts import from_scores as verdicts_from_scores
from lib.report.verdicts import fusion_comparisons, per_class_table, seed_scores, smote_table
from lib.report.writer import FigureFolder, markdown_table, write_table

__all__ = [
    "loco_beside_stratified",
    "loco_table",
    "loco_runs",
    "shortcut_tables",
    "Evidence",
    "run_evidence",
    "seed_bound_spread",
    "study_evidence",
    "flows_per_day",
    "operating_table",
    "table1_with_intervals",
    "protocol_table_with_intervals",
    "fusion_study_with_intervals",
    # opening runs
    "TABLE1_STAGES",
    "open_run",
    "load_runs",
    "load_predictions",
    "smote_pairs",
    "deep_model",
    "forests",
    "describe_stages",
    "study_runs",
    "configuration",
    "study_overview",
    "study_wall_times",
    "STUDY_METRIC",
    "SPLIT_NAMES",
    # tables
    "as_percent",
    "table1_summary",
    "detection_rows",
    "detection_table",
    "deploy_table",
    "configurations_table",
    "protocol_rows",
    "protocol_table",
    "fusion_study",
    "zero_day_table",
    "zero_day_file",
    "per_class_table",
    # verdicts, from every score of the study
    "seed_scores",
    "verdicts_from_scores",
    "fusion_comparisons",
    "smote_table",
    # sentences
    "PAPER_MODELS",
    "PAPER_TOP_FEATURES",
    "findings",
    "importance_vs_paper",
    "protocol_findings",
    "zero_day_reason",
    # figure inputs
    "lifecycle_figure",
    "layer_names",
    "importance_table",
    # writing
    "FigureFolder",
    "markdown_table",
    "write_table",
    # the results page
    "results_page",
    "write_page",
    "rewrite_verdicts",
    "unsourced_numbers",
    "wall_times_table",
    "readme_block",
    "replace_block",
    "refresh_readme",
    "README_RUNS",
    "RESULTS_START",
    "RESULTS_END",
]
