"""Scores of Section II.B-E and Table 1 of Suryawanshi & Jagtap, summaries over seeds, and timing.

Used by every notebook from 02 on. One module per job: ``scores`` (one evaluation, summaries over seeds),
``operating`` (attack score, threshold at a false-positive rate), ``tables`` (Table 1 beside the paper), ``timing``
(wall-clock times and :class:`Results`), ``compare`` (paired differences and the verdict rule), ``names``. Conventions:

* class id 0 is benign traffic; in the binary setting class 1 (attack) is the positive class, so precision,
  recall and F1 are those of the attack class, exactly the formulas of Section II.B;
* the binary setting also gives each class's scores (``precision_benign`` ... ``f1_attack``) and their macro
  average (``f1_macro``): a model that calls everything an attack keeps a fair attack-class F1 on attack-heavy
  data, but its benign F1 and macro F1 fall;
* in the multi-class setting the headline ``precision``/``recall``/``f1`` are macro averages (every class
  counts the same, so rare attacks are not hidden by the large ones); weighted averages are given too;
* macro and weighted averages run over the classes present in ``y_true`` (binary and multi-class alike): a
  prediction of an absent class counts as an error of the true class (a lower recall), not as a class of its
  own with an F1 of 0; absent classes are still listed in ``per_class``;
* ``fpr`` is the false-alarm rate: benign rows flagged as any attack, over all benign rows;
* ``roc_auc`` and ``pr_auc`` (average precision) are computed from the probabilities, one-vs-rest and
  macro-averaged over the classes present in ``y_true`` in the multi-class setting.

Degenerate cases (a single class predicted, a class absent from ``y_true``) never raise: they give a
``warnings.warn`` with the reason, a defined value (``nan`` where a score does not exist, 0 where
scikit-learn's ``zero_division`` convention applies) and a line in the result's ``notes``.

No TensorFlow here.
"""

from lib.metrics.compare import (
    describe_difference,
    describe_differences,
    paired_difference,
    verdict,
)
from lib.metrics.names import (
    CONTENDER_NAMES,
    DEPLOY_CONTENDER,
    MACRO_F1_COLUMN,
    MODEL_NAMES,
    PAPER1_DATASETS,
    PAPER1_TABLE1,
    TABLE1_COLUMNS,
    display_names,
)
from lib.metrics.operating import (
    OPERATING_FPRS,
    attack_score,
    detection_at_fpr,
    flag_rate,
    threshold_at_fpr,
)
from lib.metrics.scores import (
    MetricWarning,
    confusion_frame,
    confusion_frames,
    evaluate,
    macro_f1,
    mean_table,
    scalar_metrics,
    summarise,
)
from lib.metrics.tables import (
    cell,
    model_order,
    model_order_id,
    paper_note,
    paper_reports,
    paper_table1,
    table1,
    table1_columns,
    table1_vs_paper,
    zero_day_summary,
)
from lib.metrics.timing import (
    Results,
    Timing,
    Trained,
    throughput,
    time_inference,
    timed_predictions,
    timer,
)

__all__ = [
    "PAPER1_TABLE1",
    "PAPER1_DATASETS",
    "MODEL_NAMES",
    "display_names",
    "CONTENDER_NAMES",
    "DEPLOY_CONTENDER",
    "TABLE1_COLUMNS",
    "MACRO_F1_COLUMN",
    "MetricWarning",
    "evaluate",
    "macro_f1",
    "scalar_metrics",
    "summarise",
    "mean_table",
    "confusion_frame",
    "confusion_frames",
    "OPERATING_FPRS",
    "attack_score",
    "threshold_at_fpr",
    "flag_rate",
    "detection_at_fpr",
    "model_order",
    "model_order_id",
    "table1_columns",
    "cell",
    "table1",
    "paper_reports",
    "paper_note",
    "paper_table1",
    "table1_vs_paper",
    "zero_day_summary",
    "Timing",
    "Trained",
    "timer",
    "time_inference",
    "throughput",
    "Results",
    "timed_predictions",
    "paired_difference",
    "describe_difference",
    "describe_differences",
    "verdict",
]
