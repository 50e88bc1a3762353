"""Preprocessing as paper 1 (section II.A) describes it, fitted on training rows only (notebook 01).

Order of operations, each step logged with its counts:

1. optional stratified subsample (``SAMPLE_ROWS``, quick runs only);
2. copies of one flow removed before splitting (``DEDUP``): rows whose features agree, float features rounded
   to ``DEDUP_DIGITS`` significant digits, whatever their labels; one row of each group is kept (copies with
   different labels: ``DEDUP_CONFLICTS``), every removal counted per class and rule;
3. labels: ``binary`` (Benign vs Attack) or ``multiclass`` (attack families; rare families merged into
   ``OtherAttack`` or dropped);
4. the train/validation/test split (``SPLIT``):

   * ``stratified`` (paper 1, the default): stratified 80/20, then a stratified validation part carved
     from training;
   * ``group``: every flow of a host pair (the unordered source/destination address pair) on one side only;
     a conversation key (CICFlowMeter ``Flow ID``) where the data has no addresses, or ``GROUP_COLUMNS``;
     folds of scikit-learn's ``StratifiedGroupKFold`` (classes balanced as far as the groups allow), the
     validation part carved by group too;
   * ``time``: ordered by the flow's start time (Zeek ``ts``, CICFlowMeter ``Timestamp``, Argus ``stime``,
     parsed file by file: :mod:`lib.datasets.times`; CICIDS2017's 12-hour clock without AM/PM has its
     afternoon hours 1-7 read as 13-19, a repair counted in ``report.repairs`` and in the split info),
     training on the earlier part, testing on the later; validation is the latest part of the training period;
   * ``source``: whole capture files held out (IoT-23 scenario by scenario, CICIDS2017 day by day, the day
     read from the file names or, for a CICIDS2017 file whose name names none, from each row's own
     ``Timestamp``: :func:`lib.datasets.schema.capture_sources`; a row dated neither way keeps its file as its
     source, and the split info says how many rows were dated by their time and which files stayed sources of
     their own), named by ``TEST_SOURCES`` or chosen automatically (seeded, about ``TEST_SIZE`` of the rows,
     benign and attack rows on both sides where possible; ``each``: every source in turn, one run per source,
     which the runner makes); validation rows are carved from the training sources by host pair (or
     conversation), row by row only where the data has no such key.

   Class ids are the same in every split; a class missing from training (possible under ``group``, ``time``
   and ``source``) is logged, and every split's rows, classes, groups, time range and sources are recorded
   (:meth:`PrepReport.split_table`);
5. feature selection on training rows: identifiers out (unless kept, with a warning that it leaks; the
   columns a split groups or orders by are out in any case), columns absent from the training rows of whole
   source files out, constant and duplicate columns out;
6. scikit-learn pipelines over the feature columns (:class:`ColumnPipelines`), fitted on training rows: ``inf`` -> NaN, median imputation and
   scaling (``SCALING``: min-max as in paper 1; sign-preserving ``log1p`` then min-max or standard scaling;
   or a quantile transform) for numeric columns; one-hot encoding for categorical columns (protocol; Zeek
   ``service``, ``conn_state``, ``history``; Argus ``flgs``, ``state``, ``dir``; a user's text columns) and
   for the numeric columns named in ``CATEGORY_COLUMNS`` (whose scaled value stays a feature too);
7. optional SMOTE on the transformed training rows only; this is how we build paper 2's balanced set D2.

Class id 0 is always ``Benign``.

The modules, one step each: :mod:`~lib.preprocess.config` (:class:`PrepConfig`), :mod:`~lib.preprocess.labels`
(steps 1 and 3), :mod:`~lib.preprocess.dedup` (step 2), :mod:`~lib.preprocess.splits` (step 4),
:mod:`~lib.preprocess.selection` (step 5), :mod:`~lib.preprocess.features` (step 6 and the preprocessor's skops
file), :mod:`~lib.preprocess.prepared` (:func:`prepare`, :class:`PreparedData`, step 7),
:mod:`~lib.preprocess.prep_report` (:class:`PrepReport`) and :mod:`~lib.preprocess.held_out` (steps 5-6 fitted
again without some attack families: notebook 05's zero-day test, :func:`prepare_without`).
"""

from lib.preprocess.config import (
    BENIGN,
    DEDUP_CONFLICT_RULES,
    DEDUP_CONFLICTS,
    DEDUP_DIGITS,
    EACH_SOURCE,
    MAX_SHARE_WITHOUT_KEY,
    OTHER_ATTACK,
    SCALINGS,
    SOURCE_SHARE_TOLERANCE,
    SPLIT_NAMES,
    SPLITS,
    PrepConfig,
)
from lib.preprocess.dedup import deduplicate, duplicate_groups, duplicated, kept_rows, round_significant
from lib.preprocess.features import (
    SKOPS_TYPES,
    ArrayFile,
    ColumnPipelines,
    as_category_strings,
    build_preprocessor,
    inf_to_nan,
    load_preprocessor,
    save_preprocessor,
    signed_log1p,
    to_float32,
    transform_rows,
)
from lib.preprocess.held_out import (
    HeldOutFrame,
    check_same_features,
    check_same_split,
    prepare_without,
    reread,
    row_table_difference,
    rows_without,
)
from lib.preprocess.labels import make_labels, sample_rows
from lib.preprocess.prep_report import PrepReport
from lib.preprocess.prepared import PreparedData, SplitFrame, fit_prepared, prepare, smote, split_frame
from lib.preprocess.selection import (
    RowView,
    category_features,
    check_column_names,
    imputation_counts,
    missing_columns_table,
    missing_summary,
    perfect_predictors,
    select_features,
)
from lib.preprocess.splits import (
    choose_test_sources,
    describe_split,
    flow_start_times,
    group_keys,
    group_split_indices,
    source_split_indices,
    split_indices,
    split_rows,
    time_split_indices,
)

# The names preprocessors saved before this package existed refer to (features.EARLIER_SKOPS_TYPES): a run
# trained then still loads.
_as_category_strings, _inf_to_nan, _signed_log1p, _to_float32 = (
    as_category_strings,
    inf_to_nan,
    signed_log1p,
    to_float32,
)

__all__ = [
    "BENIGN",
    "DEDUP_CONFLICTS",
    "DEDUP_CONFLICT_RULES",
    "DEDUP_DIGITS",
    "EACH_SOURCE",
    "MAX_SHARE_WITHOUT_KEY",
    "OTHER_ATTACK",
    "SCALINGS",
    "SKOPS_TYPES",
    "SOURCE_SHARE_TOLERANCE",
    "SPLITS",
    "SPLIT_NAMES",
    "ArrayFile",
    "ColumnPipelines",
    "HeldOutFrame",
    "PrepConfig",
    "PrepReport",
    "PreparedData",
    "RowView",
    "SplitFrame",
    "as_category_strings",
    "build_preprocessor",
    "category_features",
    "check_same_features",
    "check_same_split",
    "check_column_names",
    "choose_test_sources",
    "deduplicate",
    "describe_split",
    "duplicate_groups",
    "duplicated",
    "fit_prepared",
    "flow_start_times",
    "group_keys",
    "group_split_indices",
    "imputation_counts",
    "inf_to_nan",
    "kept_rows",
    "load_preprocessor",
    "make_labels",
    "missing_columns_table",
    "missing_summary",
    "perfect_predictors",
    "prepare",
    "prepare_without",
    "reread",
    "row_table_difference",
    "rows_without",
    "round_significant",
    "sample_rows",
    "save_preprocessor",
    "select_features",
    "signed_log1p",
    "smote",
    "source_split_indices",
    "split_indices",
    "split_frame",
    "split_rows",
    "time_split_indices",
    "to_float32",
    "transform_rows",
]
