"""Anomaly detection trained on benign traffic only, the OR with the supervised fusion, and a zero-day test.

Backs ``notebooks/05_anomaly_detection.ipynb``. The paper's title promises "anomaly detection" and its
introduction a method that detects "existing and emerging botnet threats", but it describes no anomaly
detector. We compare four, each fitted on BENIGN training rows only (a flow's score is higher the less it
looks like benign training traffic), and none assuming min-max [0, 1] inputs (they read whatever notebook 01's
``SCALING`` made). One module per job:

* ``detectors``: the four detectors and :class:`Detector` (a scorer and its threshold):

  - ``autoencoder``: a dense **autoencoder** (Keras, Functional API); score = mean squared reconstruction error;
  - ``kitnet``: an **ensemble of small autoencoders over feature groups** in the style of Kitsune's KitNET
    (Mirsky et al., NDSS 2018; our own code, :func:`fit_kitnet`): features clustered by correlation on benign
    training rows (:func:`feature_groups`), one small sigmoid autoencoder per group and an output autoencoder
    over the groups' errors, whose RMSE is the score;
  - ``knn``: the mean Euclidean **distance to the k nearest benign training flows** (over a seeded subsample
    of at most ``max_rows`` benign training rows: bounded cost);
  - ``isolation_forest``: an **Isolation Forest**, the classical reference; score = minus ``score_samples``;

* ``choice``: each detector's small grid (:func:`candidate_grid`) and the choice of its setting and of the
  **anomaly branch** on validation rows only (:func:`choose`, :func:`compare`, :class:`Comparison`);
* ``zero_day``: the leave-one-family-out test, each family in a preprocessing and detectors fitted without it
  (:func:`zero_day_refit`), with XGBoost on the features and the fusion as supervised baselines;
* ``summary``: the notebook's findings in words (:func:`anomaly_summary`, :func:`zero_day_reason`);
* ``persist``: the branch saved for ``iot-botnet score`` (:func:`save_detector`, :func:`load_detector`).

**Thresholds at a target false-positive rate.** A detector flags a flow when its score is above a threshold
chosen on the BENIGN validation rows so that at most ``target_fpr`` of them are flagged
(:func:`lib.metrics.threshold_at_fpr`). The supervised fusion's attack score (1 - P(benign)) is thresholded
the same way when the detectors are compared at equal false-alarm rates. The realised rate on benign *test*
rows is always reported: it is the honest number.

**Combined decision:** attack if the supervised path says attack OR the anomaly score is above its threshold.
An OR can only add false alarms (up to the sum of the two rates); :func:`detection_rates` measures the cost.
"""

from lib.anomaly.choice import (
    DETECTORS,
    VALIDATION_COLUMNS,
    Candidate,
    Choice,
    Comparison,
    candidate_grid,
    choose,
    compare,
    describe,
    detection_rates,
    detector_table,
    fit_candidate,
    histories,
    or_with_supervised,
    validation_table,
)
from lib.anomaly.detectors import (
    PREDICT_BATCH_SIZE,
    SCORERS,
    DenseAutoencoder,
    Detector,
    IsolationForestScorer,
    KitNET,
    NearestBenign,
    Training,
    autoencoder,
    benign_rows,
    feature_groups,
    fit_autoencoder,
    fit_isolation_forest,
    fit_kitnet,
    fit_knn,
    reconstruction_error,
)
from lib.anomaly.persist import (
    DETECTOR_FILES,
    DETECTOR_FORMAT,
    load_detector,
    save_detector,
    scoring_bundle,
)
from lib.anomaly.summary import anomaly_summary, zero_day_reason
from lib.anomaly.zero_day import (
    LEVEL_COLUMNS,
    OVERALL,
    SUPERVISED_NAMES,
    ZERO_DAY_GRIDS,
    Scored,
    SupervisedFit,
    ZeroDay,
    ZeroDaySetup,
    eligible_families,
    family_counts,
    fusion_attack_scorer,
    xgboost_attack_scorer,
    xgboost_basis,
    zero_day_by_detector,
    zero_day_deep_configs,
    zero_day_grid,
    zero_day_per_seed,
    zero_day_refit,
)

__all__ = [
    "anomaly_summary",
    "zero_day_reason",
    "Candidate",
    "Choice",
    "Comparison",
    "DETECTORS",
    "DETECTOR_FILES",
    "DETECTOR_FORMAT",
    "DenseAutoencoder",
    "Detector",
    "IsolationForestScorer",
    "KitNET",
    "LEVEL_COLUMNS",
    "NearestBenign",
    "OVERALL",
    "PREDICT_BATCH_SIZE",
    "SCORERS",
    "SUPERVISED_NAMES",
    "Scored",
    "SupervisedFit",
    "Training",
    "VALIDATION_COLUMNS",
    "ZERO_DAY_GRIDS",
    "ZeroDay",
    "ZeroDaySetup",
    "autoencoder",
    "benign_rows",
    "candidate_grid",
    "choose",
    "compare",
    "describe",
    "detection_rates",
    "detector_table",
    "eligible_families",
    "family_counts",
    "feature_groups",
    "fit_autoencoder",
    "fit_candidate",
    "fit_isolation_forest",
    "fit_kitnet",
    "fit_knn",
    "fusion_attack_scorer",
    "histories",
    "load_detector",
    "or_with_supervised",
    "reconstruction_error",
    "save_detector",
    "scoring_bundle",
    "validation_table",
    "xgboost_attack_scorer",
    "xgboost_basis",
    "zero_day_by_detector",
    "zero_day_deep_configs",
    "zero_day_grid",
    "zero_day_per_seed",
    "zero_day_refit",
]
