"""Decision fusion (Section I.C): Random Forest and XGBoost stacked on the deep models' outputs, cross-fitted.

Backs ``notebooks/04_decision_fusion.ipynb`` (and the supervised path of ``05_anomaly_detection.ipynb``).
Section I.C of Suryawanshi & Jagtap says the fusion layer "fuses the outputs of the CNN and LSTM models
through classifiers such as RF and XG-Boost"; it does not say which outputs or how the fusion is trained.
Here:

* **Fusion inputs** (``inputs``): ``"proba"`` = the class probabilities of every deep model (binary: P(attack)
  only, the other column is redundant), ``"embedding"`` = the CNN-LSTM's penultimate ``fully_connected``
  layer (the "fully connected layer" of Section I.B), ``"both"`` = the two side by side. Two variants, each
  with both meta-classifiers: the deep outputs alone (``fusion_<meta>``, the paper's fusion) and the deep
  outputs followed by the preprocessed feature row itself (``fusion_<meta>_features``: a stacking that can
  gain on XGBoost on the features only if the deep outputs carry information the features lack).
* **Cross-fitting, no leakage.** The training rows are split into ``k_folds`` stratified folds; for each fold
  ``k`` the deep models are trained on the other folds (each model with its own configuration, notebook 03's
  :func:`lib.models.stage_configs`; early stopping on the validation split, never the test split). A training
  row's deep outputs come from the fold models that never saw it (:func:`out_of_fold`), so the
  meta-classifier does not learn a deep model's over-confidence on its own training rows. The *same* fold
  models serve every other row: a validation or test row, or a flow scored by the saved pipeline, goes
  through each fold's models, each fold's meta-features through the one meta-classifier, and the ``k`` class
  probabilities are averaged (:class:`FusionModel`). A fold model meets a validation or test row as unseen
  data, as it met its held-out training rows, so the meta-classifier is applied to outputs distributed like
  those it was trained on. (Applying it to other networks, such as deep models retrained on all training
  rows, breaks this: their probabilities are sharper and their embedding units do not line up.) The fold
  models of one seed start from the same initial weights (:func:`fold_seed`). Notebook 03's models trained on
  all training rows are compared as contenders of their own, never fed to the meta-classifier.
* **Meta-classifier hyperparameters** (a small grid of trees x depth) are chosen per contender on the
  validation rows by the log loss of the fold-averaged probabilities, a proper scoring rule that still ranks
  models on a small validation set where F1 often ties. The test split is never seen by :func:`fit_fusion`.
* **Soft voting** (the mean of notebook 03's deep models' probabilities) is the reference that needs no
  training.

:class:`FusionPipeline` = fitted preprocessor + the fold models + one meta-classifier: ``pipeline.score(raw_df)``
scores raw flows in one call, exactly as the fitted fusion does; :func:`save_pipeline` and :func:`load_pipeline`
write and read it without pickle (``.keras``, XGBoost UBJSON, skops with trusted types). :func:`evaluate_seeds` is notebook 04's loop over
seeds; the sentences that say whether fusion helps are :mod:`lib.metrics.compare`'s.

The deployment variant (``PIPELINE=deploy``, :mod:`lib.fusion.deploy`): one small network or ensemble of boosted
trees distilled from the fusion's class probabilities (:func:`distil_seeds`), saved in the same folder format with the same
preprocessor. :mod:`lib.fusion.runtime` runs every fold model of a full pipeline in one graph, the runtime
chosen by measurement (:meth:`FusionPipeline.use_runtime`).
"""

from __future__ import annotations

from lib.fusion.deploy import PIPELINES, DistilledModel
from lib.fusion.pipeline import (
    PIPELINE_FORMAT,
    REMAKE,
    FusionPipeline,
    known_unused_columns,
    load_pipeline,
    save_pipeline,
)
from lib.fusion.stacking import (
    EMBEDDING_LAYER,
    EMBEDDING_MODEL,
    FEATURES_SUFFIX,
    FUSION_CONTENDERS,
    FUSION_INPUTS,
    META_CLASSIFIERS,
    FusionFit,
    FusionModel,
    OutOfFold,
    average_proba,
    check_inputs,
    contender_name,
    deep_outputs,
    embedding_model,
    fit_fusion,
    fold_seed,
    macro_f1,
    meta_feature_names,
    meta_features,
    meta_grid,
    out_of_fold,
    soft_vote,
    train_deep_models,
)
from lib.fusion.study import (
    COMPARISON_METRIC,
    CONTENDER_NAMES,
    FEATURE_BASELINES,
    FusionRuns,
    best_single_model,
    check_runs,
    deploy_table,
    describe_comparisons,
    describe_saved,
    distil_seeds,
    evaluate_seeds,
    grid_frame,
    grid_from,
    summary,
    with_probabilities,
)

__all__ = [
    "PIPELINES",
    "DistilledModel",
    "describe_comparisons",
    "grid_from",
    "grid_frame",
    "with_probabilities",
    "summary",
    "FUSION_INPUTS",
    "META_CLASSIFIERS",
    "EMBEDDING_MODEL",
    "EMBEDDING_LAYER",
    "FEATURES_SUFFIX",
    "contender_name",
    "FUSION_CONTENDERS",
    "check_inputs",
    "train_deep_models",
    "embedding_model",
    "deep_outputs",
    "meta_features",
    "meta_feature_names",
    "soft_vote",
    "OutOfFold",
    "out_of_fold",
    "fold_seed",
    "meta_grid",
    "average_proba",
    "macro_f1",
    "FusionModel",
    "FusionFit",
    "fit_fusion",
    "known_unused_columns",
    "FusionPipeline",
    "PIPELINE_FORMAT",
    "REMAKE",
    "save_pipeline",
    "load_pipeline",
    "CONTENDER_NAMES",
    "FEATURE_BASELINES",
    "COMPARISON_METRIC",
    "FusionRuns",
    "check_runs",
    "evaluate_seeds",
    "distil_seeds",
    "describe_saved",
    "deploy_table",
    "best_single_model",
]
