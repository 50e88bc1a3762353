"""Decision fusion (Section I.C): Random Forest and XGBoost stacked on the deep models' outputs, without leakage.

Backs ``notebooks/04_decision_fusion.ipynb`` (and the supervised path of ``05_anomaly_detection.ipynb``).
Section I.C of Suryawanshi & Jagtap says the fusion layer "fuses the outputs of the CNN and LSTM models
through classifiers such as RF and XG-Boost"; it does not say which outputs or how the fusion is trained.
Here:

* **Fusion inputs** (``inputs``): ``"proba"`` = the class probabilities of every deep model (binary: P(attack)
  only, the other column is redundant), ``"embedding"`` = the CNN-LSTM's penultimate ``fully_connected``
  layer (the "fully connected layer" of Section I.B), ``"both"`` = the two side by side.
* **No leakage (stacking with out-of-fold outputs).** A deep model's output on a row it was trained on is
  over-confident; a meta-classifier fitted on such outputs learns to trust the deep model too much. So the
  training rows are split into ``k_folds`` stratified folds; for each fold, deep models are trained on the
  other folds (early stopping on the validation split, never the test split) and produce the outputs of the
  held-out fold. Every training row's meta-feature therefore comes from a model that never saw that row
  (:func:`out_of_fold`). The deep models used afterwards (validation, test, the saved pipeline) are the ones
  trained on the full training split: notebook 03's, read from the run folder, never trained a second time
  (``full_models`` of :func:`fit_fusion`). The fold models use the same configuration (notebook 03's
  :class:`lib.models.DeepConfig`) and seed.
* **Meta-classifier hyperparameters** (a small grid of trees x depth) are chosen on the validation split's
  meta-features (from the full-training deep models) by log loss, a proper scoring rule that still ranks
  models on a small validation set where F1 often ties. The test split is never seen by :func:`fit_fusion`.
* **Soft voting** (the mean of the deep models' probabilities) is the reference that needs no training.

:class:`FusionPipeline` = fitted preprocessor + deep models + meta-classifier: ``pipeline.score(raw_df)``
scores raw flows in one call; ``lib.run`` saves and loads it without pickle (``.keras``, XGBoost UBJSON,
skops with trusted types). :func:`evaluate_seeds` is notebook 04's loop over seeds; the sentences that say
whether fusion helps are in ``lib/report.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, log_loss
from sklearn.model_selection import StratifiedKFold
from tqdm.auto import tqdm

from lib import baselines, metrics, models, registry

if TYPE_CHECKING:
    from lib.preprocess import PreparedData
    from lib.run import Stage

FUSION_INPUTS = ("proba", "embedding", "both")
META_CLASSIFIERS = ("random_forest", "xgboost")
EMBEDDING_MODEL = "cnn_lstm"
EMBEDDING_LAYER = "fully_connected"


# -------------------------------------------------------------------------------------------------- deep part
def check_inputs(inputs: str, names: Sequence[str]) -> None:
    """Raise if ``inputs`` is unknown or asks for the embedding without a CNN-LSTM among ``names``."""
    if inputs not in FUSION_INPUTS:
        raise ValueError(f"FUSION_INPUTS must be one of {FUSION_INPUTS}, got {inputs!r}")
    if inputs in ("embedding", "both") and EMBEDDING_MODEL not in names:
        raise ValueError(f"FUSION_INPUTS={inputs!r} needs the {EMBEDDING_MODEL!r} model in the deep models {names}")
    if not names:
        raise ValueError("no deep model given")


def train_deep_models(
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    names: Sequence[str],
    n_classes: int,
    config: models.DeepConfig,
    seed: int,
) -> dict[str, keras.Model]:
    """One model per name in ``names``, trained with ``config`` on ``(X, y)``, early stopping on ``(X_val, y_val)``."""
    return {
        name: models.fit_config(name, X, y, X_val, y_val, n_classes=n_classes, config=config, seed=seed)[0]
        for name in names
    }


def embedding_model(model: keras.Model) -> keras.Model:
    """A model sharing ``model``'s weights that outputs its ``fully_connected`` layer (after the ReLU)."""
    return keras.Model(model.inputs, model.get_layer(EMBEDDING_LAYER).output, name=f"{model.name}_embedding")


def deep_outputs(deep_models: dict[str, keras.Model], X: np.ndarray, inputs: str) -> np.ndarray:
    """Meta-features of the rows ``X``: probabilities and/or the CNN-LSTM embedding (module docstring)."""
    check_inputs(inputs, list(deep_models))
    parts = []
    if inputs in ("proba", "both"):
        for model in deep_models.values():
            proba = models.predict_proba(model, X)
            parts.append(proba[:, 1:] if proba.shape[1] == 2 else proba)
    if inputs in ("embedding", "both"):
        extractor = embedding_model(deep_models[EMBEDDING_MODEL])
        parts.append(extractor.predict(models.as_sequence(X), batch_size=models.PREDICT_BATCH_SIZE, verbose=0))
    return np.concatenate(parts, axis=1).astype(np.float32)


def meta_feature_names(deep_models: dict[str, keras.Model], inputs: str, class_names: Sequence[str]) -> list[str]:
    """Column names of :func:`deep_outputs` (``cnn_lstm:P(Attack)``, ``cnn_lstm:fc_0``, ...)."""
    names = []
    if inputs in ("proba", "both"):
        shown = class_names[1:] if len(class_names) == 2 else class_names
        names += [f"{model}:P({c})" for model in deep_models for c in shown]
    if inputs in ("embedding", "both"):
        width = deep_models[EMBEDDING_MODEL].get_layer(EMBEDDING_LAYER).output.shape[-1]
        names += [f"{EMBEDDING_MODEL}:fc_{i}" for i in range(width)]
    return names


def soft_vote(deep_models: dict[str, keras.Model], X: np.ndarray) -> np.ndarray:
    """Mean of the deep models' class probabilities (the fusion that needs no training)."""
    return np.mean([models.predict_proba(model, X) for model in deep_models.values()], axis=0)


# ------------------------------------------------------------------------------------------- out of fold
@dataclass
class OutOfFold:
    """Out-of-fold meta-features of the training rows and the bookkeeping that proves them clean.

    ``features[i]`` came from the models of fold ``fold[i]``, which were trained on the rows
    ``train_indices[fold[i]]``; ``i`` is never among them.
    """

    features: np.ndarray
    fold: np.ndarray
    train_indices: list[np.ndarray]


def out_of_fold(
    X: np.ndarray,
    y: np.ndarray,
    fit: Callable[[np.ndarray, int], Any],
    transform: Callable[[Any, np.ndarray], np.ndarray],
    *,
    k_folds: int,
    seed: int,
) -> OutOfFold:
    """Stratified ``k_folds``-fold out-of-fold outputs: ``fit(train_rows, fold)`` then ``transform(fitted, X_held)``.

    ``fit`` gets the indices of the rows it may train on; ``transform`` is applied to the held-out rows only.
    """
    if k_folds < 2:
        raise ValueError(f"K_FOLDS must be at least 2, got {k_folds}")
    y = np.asarray(y)
    with warnings.catch_warnings():
        # a class with fewer rows than folds is simply absent from some folds' training rows
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(StratifiedKFold(n_splits=k_folds, shuffle=True, random_state=seed).split(X, y))
    features: np.ndarray | None = None
    fold_of_row = np.full(len(y), -1, dtype=np.int64)
    seen = []
    for k, (train_rows, held_rows) in enumerate(splits):
        fitted = fit(train_rows, k)
        out = np.asarray(transform(fitted, X[held_rows]))
        if features is None:
            features = np.zeros((len(y), out.shape[1]), dtype=out.dtype)
        features[held_rows] = out
        fold_of_row[held_rows] = k
        seen.append(np.asarray(train_rows))
    assert (fold_of_row >= 0).all(), "every training row belongs to exactly one held-out fold"
    return OutOfFold(features=features, fold=fold_of_row, train_indices=seen)


def fold_seed(seed: int, fold: int) -> int:
    """Seed of the deep models of fold ``fold`` (0-based) in run ``seed``: ``seed`` itself.

    The fold models and the full-training models start from the same initial weights (and differ only by
    their training rows), so that the units of their ``fully_connected`` layers start aligned: the meta-
    classifier learns on the fold models' embeddings and is applied to the full model's. Hidden units are
    not identifiable across separately trained networks, so :func:`fit_fusion` measures how well they stay
    aligned (``FusionFit.alignment``).
    """
    return seed


def column_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``a`` with the same column of ``b`` (nan where one is constant).

    Used to check that a fold model's meta-features mean the same as the full model's: near 1 for the
    probabilities, and for embedding units only if the networks kept their units aligned.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    denominator = np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=0) / denominator, np.nan)


# ------------------------------------------------------------------------------------------ meta-classifier
def meta_grid(metas: Sequence[str], trees: Sequence[int], rf_depths: Sequence[int], xgb_depths: Sequence[int]):
    """``[(meta name, hyperparameters), ...]``: trees x depth for each meta-classifier (RF depth 0 = unlimited)."""
    grid = []
    for name in metas:
        if name not in META_CLASSIFIERS:
            raise ValueError(f"unknown meta-classifier {name!r}; choose from {META_CLASSIFIERS}")
        for n in trees:
            if name == "random_forest":
                grid += [(name, {"n_estimators": int(n), "max_depth": int(d) or None}) for d in rf_depths]
            else:
                grid += [(name, {"n_estimators": int(n), "max_depth": int(d)}) for d in xgb_depths]
    return grid


def _score_on_validation(proba: np.ndarray, y_val: np.ndarray, n_classes: int) -> dict[str, float]:
    average = "binary" if n_classes == 2 else "macro"
    return {
        # float32 probabilities may miss a sum of 1 by ~1e-7, which log_loss warns about: renormalise
        "val_log_loss": float(log_loss(y_val, proba / proba.sum(axis=1, keepdims=True), labels=np.arange(n_classes))),
        "val_f1": float(f1_score(y_val, proba.argmax(axis=1), average=average, zero_division=0)),
    }


@dataclass
class FusionModel:
    """Deep models (trained on the full training split) + one meta-classifier (trained out of fold)."""

    deep_models: dict[str, keras.Model]
    meta: Any
    meta_name: str
    inputs: str
    n_classes: int

    def meta_features(self, X: np.ndarray) -> np.ndarray:
        return deep_outputs(self.deep_models, X, self.inputs)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` of the preprocessed rows ``X``."""
        return baselines.predict_proba(self.meta, self.meta_features(X), self.n_classes)


@dataclass
class FusionFit:
    """Everything :func:`fit_fusion` fitted: full deep models, the chosen meta-classifiers, the evidence."""

    deep_models: dict[str, keras.Model]
    metas: dict[str, Any]
    chosen: dict[str, dict[str, Any]]
    grid: pd.DataFrame
    oof: OutOfFold
    val_features: np.ndarray
    alignment: np.ndarray  # per meta-feature: mean correlation, fold models vs full models, on validation rows
    inputs: str
    n_classes: int

    def model(self, meta_name: str) -> FusionModel:
        return FusionModel(self.deep_models, self.metas[meta_name], meta_name, self.inputs, self.n_classes)

    def best_meta(self) -> str:
        """The meta-classifier with the lowest validation log loss."""
        chosen = self.grid[self.grid["chosen"]]
        return str(chosen.sort_values("val_log_loss").iloc[0]["meta"])


def fit_fusion(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    n_classes: int,
    names: Sequence[str],
    deep: models.DeepConfig,
    inputs: str,
    k_folds: int,
    grid: Sequence[tuple[str, dict[str, Any]]],
    seed: int,
    full_models: Mapping[str, keras.Model] | None = None,
) -> FusionFit:
    """Stack meta-classifiers on out-of-fold deep outputs; choose their hyperparameters on validation rows.

    1. :func:`out_of_fold`: ``k_folds`` x the deep models ``names``, each fold's models trained with ``deep``
       on the other folds (seed :func:`fold_seed`), give the meta-features of the training rows;
    2. the deep models trained on all training rows with ``deep`` and seed ``seed``: ``full_models`` when
       given (notebook 03's, so they are not trained twice), else trained here; their outputs on the
       validation rows are the validation meta-features;
    3. every ``(meta, hyperparameters)`` of ``grid`` is fitted on the out-of-fold features and scored on the
       validation features; per meta-classifier the lowest log loss wins.

    No test rows are passed in: nothing here can be fitted on them.
    """
    check_inputs(inputs, names)
    if full_models is not None and list(full_models) != list(names):
        raise ValueError(f"full_models has {list(full_models)}, the fusion asks for {list(names)}")
    X_train, y_train = np.asarray(X_train), np.asarray(y_train, dtype=np.int64)
    trained = dict(names=names, n_classes=n_classes, config=deep)

    fold_val_features = []

    def fit(rows: np.ndarray, k: int) -> dict[str, keras.Model]:
        fold_models = train_deep_models(X_train[rows], y_train[rows], X_val, y_val, seed=fold_seed(seed, k), **trained)
        fold_val_features.append(deep_outputs(fold_models, X_val, inputs))  # for the alignment check only
        return fold_models

    def transform(fold_models: dict[str, keras.Model], X: np.ndarray) -> np.ndarray:
        return deep_outputs(fold_models, X, inputs)

    oof = out_of_fold(X_train, y_train, fit, transform, k_folds=k_folds, seed=seed)
    if full_models is None:
        full = train_deep_models(X_train, y_train, X_val, y_val, seed=seed, **trained)
    else:
        full = dict(full_models)
    val_features = deep_outputs(full, X_val, inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a dead (always-zero) unit has no correlation: nan
        alignment = np.nanmean([column_correlation(f, val_features) for f in fold_val_features], axis=0)

    rows, fitted = [], []
    for i, (name, params) in enumerate(grid):
        meta = baselines.fit(baselines.build(name, seed, **params), oof.features, y_train)  # predicts on 1 thread
        scores = _score_on_validation(baselines.predict_proba(meta, val_features, n_classes), y_val, n_classes)
        rows.append({"meta": name, **{k: params[k] for k in ("n_estimators", "max_depth")}, **scores, "index": i})
        fitted.append(meta)
    table = pd.DataFrame(rows)
    best = table.loc[table.groupby("meta", sort=False)["val_log_loss"].idxmin()]
    table["chosen"] = table["index"].isin(best["index"])
    metas = {row.meta: fitted[row.index] for row in best.itertuples()}
    chosen = {row.meta: dict(grid[row.index][1]) for row in best.itertuples()}
    return FusionFit(full, metas, chosen, table.drop(columns="index"), oof, val_features, alignment, inputs, n_classes)


# ------------------------------------------------------------------------------------------------- pipeline
def known_unused_columns(meta: dict[str, Any]) -> list[str]:
    """Columns a raw frame of this run may hold that are not model inputs: labels, identifiers, dropped ones.

    ``meta`` is the prepared data's ``meta.json`` (``PreparedData.meta``); its report lists every column
    notebook 01 dropped and why.
    """
    dropped = meta.get("report", {}).get("dropped_columns", {})
    return sorted({*registry.LABEL_COLUMNS, "source_file", *(c for cols in dropped.values() for c in cols)})


class FusionPipeline:
    """Preprocessor + deep models + meta-classifier: :meth:`score` turns raw flows into class probabilities.

    Columns: every column the preprocessor was fitted on is required (a missing one is a ``ValueError``
    naming it). Columns that are known but unused (labels, identifiers, columns dropped in notebook 01) are
    ignored. Any other column is a ``ValueError`` naming it, because a column the pipeline has never seen
    usually means a different data set or a renamed feature; pass ``extra_columns="ignore"`` to drop them.
    """

    def __init__(
        self,
        preprocessor: Any,
        model: FusionModel,
        class_names: Sequence[str],
        ignored_columns: Sequence[str] = (),
        manifest: dict[str, Any] | None = None,
    ):
        self.preprocessor = preprocessor
        self.model = model
        self.class_names = list(class_names)
        self.feature_columns = [str(c) for c in preprocessor.feature_names_in_]
        self.ignored_columns = sorted(set(ignored_columns) - set(self.feature_columns))
        self.manifest = manifest or {}

    def check_columns(self, df: pd.DataFrame, extra_columns: str = "error") -> None:
        """Raise a ``ValueError`` naming missing feature columns (and unknown extra ones unless ignored)."""
        if extra_columns not in ("error", "ignore"):
            raise ValueError(f"extra_columns must be 'error' or 'ignore', got {extra_columns!r}")
        present = {str(c) for c in df.columns}
        missing = [c for c in self.feature_columns if c not in present]
        if missing:
            raise ValueError(
                f"the DataFrame lacks {len(missing)} column(s) the pipeline needs: {missing}. "
                f"It needs all of {self.feature_columns}"
            )
        extra = sorted(present - set(self.feature_columns) - set(self.ignored_columns))
        if extra and extra_columns == "error":
            raise ValueError(
                f"the DataFrame has {len(extra)} column(s) the pipeline was not fitted with: {extra}. "
                f"Drop them, or call score(df, extra_columns='ignore') to leave them out"
            )

    def transform(self, df: pd.DataFrame, extra_columns: str = "error") -> np.ndarray:
        """The model inputs of raw flows (after the column checks)."""
        self.check_columns(df, extra_columns)
        return np.asarray(self.preprocessor.transform(df[self.feature_columns]), dtype=np.float32)

    def score(self, df: pd.DataFrame, extra_columns: str = "error") -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` of the raw flows in ``df`` (columns in ``class_names`` order)."""
        return self.model.predict_proba(self.transform(df, extra_columns))

    def score_features(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of already preprocessed rows (the arrays of ``RUN_DIR/prepared``)."""
        return self.model.predict_proba(X)


# ------------------------------------------------------------------------------------------- notebook 04's runs
#: Display names of notebook 04's contenders (the deep models and baselines keep their Table 1 names).
CONTENDER_NAMES: dict[str, str] = {
    **metrics.MODEL_NAMES,
    "fusion_random_forest": "Fusion (RF meta)",
    "fusion_xgboost": "Fusion (XGBoost meta)",
    "soft_voting": "Soft voting",
    "random_forest": "Random Forest (features)",
    "xgboost": "XGBoost (features)",
}
#: Baselines of notebook 02 compared with the fusion (their saved predictions, not a refit).
FEATURE_BASELINES = ("random_forest", "xgboost")


@dataclass
class FusionRuns:
    """Everything notebook 04 measured: scores of every contender, the meta grids, alignment, the fits."""

    results: metrics.Results
    grid: pd.DataFrame
    alignment: pd.DataFrame
    fits: dict[int, FusionFit]

    @property
    def scores(self) -> pd.DataFrame:
        return self.results.scores_frame()

    def fit(self, seed: int) -> FusionFit:
        """The fusion fitted for ``seed`` (one of notebook 03's seeds)."""
        if seed not in self.fits:
            raise ValueError(
                f"no fusion for seed {seed}: notebook 03 trained seeds {sorted(self.fits)}; pick one as SEED"
            )
        return self.fits[seed]

    def comparisons(self, best_single: str, tie: float) -> tuple[list[dict[str, Any]], str]:
        """Each fusion against the best single deep model, soft voting and XGBoost on the features (F1, paired
        by seed), and the verdict on the best single deep model (``lib.report``'s sentences)."""
        from lib import report

        pairs = [(f"fusion_{m}", r) for m in META_CLASSIFIERS for r in (best_single, "soft_voting", "xgboost")]
        found = [report.paired_difference(self.scores, model, reference, "f1") for model, reference in pairs]
        over_single = [d for d in found if d["reference"] == best_single]
        return found, report.verdict(over_single, best_single, CONTENDER_NAMES, tie)


def check_runs(
    deep_stage: Stage, baseline_stage: Stage, *, names: Sequence[str], inputs: str, seed: int, pipeline_meta: str
) -> None:
    """Everything notebook 04 needs from notebooks 02 and 03 and from its own parameters, checked before it
    removes its previous results or trains anything: a clear error now, not after the first seed's folds."""
    check_inputs(inputs, names)
    trained, seeds = deep_stage.info["models"], deep_stage.info["seeds"]
    missing = sorted(set(names) - set(trained))
    if missing:
        raise ValueError(f"notebook 03 did not train {missing} (it trained {trained}): add them to its DEEP_MODELS")
    lacking = sorted(set(FEATURE_BASELINES) - set(baseline_stage.info["models"]))
    if lacking:
        raise ValueError(
            f"notebook 02 did not fit {lacking} (it fitted {baseline_stage.info['models']}), which notebook 04 compares "
            f"the fusion with: add them to its BASELINES"
        )
    unmatched = sorted(set(seeds) - set(baseline_stage.info["seeds"]))
    if unmatched:
        raise ValueError(
            f"notebook 03 trained seeds {seeds}, notebook 02 lacks {unmatched} (it ran {baseline_stage.info['seeds']}): "
            "run both with the same SEED and N_SEEDS"
        )
    if seed not in seeds:
        raise ValueError(f"SEED={seed} chooses the pipeline's fusion, but notebook 03 trained seeds {seeds}: pick one")
    if pipeline_meta not in ("auto", *META_CLASSIFIERS):
        raise ValueError(f"PIPELINE_META must be 'auto' or one of {META_CLASSIFIERS}, got {pipeline_meta!r}")


def evaluate_seeds(
    data: PreparedData,
    *,
    deep_stage: Stage,
    baseline_stage: Stage,
    names: Sequence[str],
    inputs: str,
    k_folds: int,
    grid: Sequence[tuple[str, dict[str, Any]]],
) -> FusionRuns:
    """Notebook 04's runs, one per seed notebook 03 trained: fit the fusion on out-of-fold outputs around 03's
    full-training models, then score every contender on the test rows (and, for model choice, validation rows):
    both fusions, soft voting, each deep model alone (03's predictions) and Random Forest and XGBoost on the
    features (02's predictions). Call :func:`check_runs` first."""
    config = models.DeepConfig.from_dict(deep_stage.info["config"])
    results, grids, alignments, fits = metrics.Results(), [], [], {}
    for seed in tqdm(deep_stage.info["seeds"], desc="fusion seeds", unit="seed"):
        full = {name: deep_stage.model(name, seed) for name in names}
        with metrics.timer() as fitting:
            fit = fits[seed] = fit_fusion(
                data.X_train, data.y_train, data.X_val, data.y_val, n_classes=data.n_classes, names=names,
                deep=config, inputs=inputs, k_folds=k_folds, grid=grid, seed=seed, full_models=full,
            )  # fmt: skip
        grids.append(fit.grid.assign(seed=seed))
        feature_names = meta_feature_names(fit.deep_models, inputs, data.class_names)
        alignments.append(pd.DataFrame({"feature": feature_names, "correlation": fit.alignment, "seed": seed}))
        test_features = deep_outputs(fit.deep_models, data.X_test, inputs)
        contenders = {
            f"fusion_{meta}": (
                baselines.predict_proba(fit.metas[meta], test_features, data.n_classes),
                baselines.predict_proba(fit.metas[meta], fit.val_features, data.n_classes),
            )
            for meta in fit.metas
        }
        contenders["soft_voting"] = (soft_vote(fit.deep_models, data.X_test), soft_vote(fit.deep_models, data.X_val))
        for name in names:
            contenders[name] = (deep_stage.prediction(name, seed, "test"), deep_stage.prediction(name, seed, "val"))
        for name in FEATURE_BASELINES:
            contenders[name] = (
                baseline_stage.prediction(name, seed, "test"),
                baseline_stage.prediction(name, seed, "val"),
            )
        for name, (proba, val_proba) in contenders.items():
            val_f1 = metrics.evaluate(data.y_val, val_proba, data.class_names)["f1"]
            result = metrics.evaluate(data.y_test, proba, data.class_names)
            results.add(name, seed, result, n_test=len(data.y_test), val_f1=val_f1)
        results.timings.append({"model": "fusion", "seed": seed, "fit_seconds": fitting.seconds})
    alignment = pd.concat(alignments, ignore_index=True)
    alignment["kind"] = np.where(
        alignment["feature"].str.contains(r":P\(", regex=True), "probability", "embedding unit"
    )
    return FusionRuns(results, pd.concat(grids, ignore_index=True), alignment, fits)


def best_single_model(scores: pd.DataFrame, names: Sequence[str]) -> str:
    """The deep model of ``names`` with the best mean *validation* F1 (never chosen on test scores)."""
    return str(scores[scores["model"].isin(names)].groupby("model")["val_f1"].mean().idxmax())
