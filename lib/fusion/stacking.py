"""The cross-fitted stacking of :mod:`lib.fusion`: fold models, meta-features, meta-classifier grid, :class:`FusionModel`."""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from lib import baselines, metrics, models, progress

FUSION_INPUTS = ("proba", "embedding", "both")
META_CLASSIFIERS = ("random_forest", "xgboost")
EMBEDDING_MODEL = "cnn_lstm"
EMBEDDING_LAYER = "fully_connected"
FEATURES_SUFFIX = "_features"


def contender_name(meta_name: str, with_features: bool) -> str:
    """``fusion_<meta>`` (deep outputs only) or ``fusion_<meta>_features`` (deep outputs + the features)."""
    return f"fusion_{meta_name}{FEATURES_SUFFIX if with_features else ''}"


#: Every fusion contender -> (its meta-classifier, whether the preprocessed features follow the deep outputs).
FUSION_CONTENDERS: dict[str, tuple[str, bool]] = {
    contender_name(meta, with_features): (meta, with_features)
    for with_features in (False, True)
    for meta in META_CLASSIFIERS
}


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
    config: models.DeepConfig | Mapping[str, models.DeepConfig],
    seed: int,
) -> dict[str, keras.Model]:
    """One model per name in ``names``, trained with its configuration (:func:`lib.models.per_model`) on ``(X, y)``,
    early stopping on ``(X_val, y_val)``."""
    configs = models.per_model(config, names)
    return {
        name: models.fit_config(name, X, y, X_val, y_val, n_classes=n_classes, config=configs[name], seed=seed)[0]
        for name in names
    }


_EMBEDDING_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def embedding_model(model: keras.Model) -> keras.Model:
    """A model sharing ``model``'s weights that outputs its ``fully_connected`` layer (after the ReLU); built once
    per model and kept while the model lives (a new one per call would trace its predict function again each
    time: about 0.5 s per call, which dominated scoring small batches)."""
    if model not in _EMBEDDING_MODELS:
        _EMBEDDING_MODELS[model] = keras.Model(
            model.inputs, model.get_layer(EMBEDDING_LAYER).output, name=f"{model.name}_embedding"
        )
    return _EMBEDDING_MODELS[model]


def deep_outputs(deep_models: dict[str, keras.Model], X: np.ndarray, inputs: str) -> np.ndarray:
    """Meta-features of the rows ``X``: probabilities and/or the CNN-LSTM embedding (module docstring). With
    ``inputs="both"`` the CNN-LSTM's probabilities and embedding come from one pass of it (:func:`_proba_and_embedding`)."""
    check_inputs(inputs, list(deep_models))
    parts, embedding = [], None
    if inputs in ("proba", "both"):
        for name, model in deep_models.items():
            if name == EMBEDDING_MODEL and inputs == "both":
                proba, embedding = _proba_and_embedding(model, X)
            else:
                proba = models.predict_proba(model, X)
            parts.append(proba[:, 1:] if proba.shape[1] == 2 else proba)
    if inputs == "embedding":
        extractor = embedding_model(deep_models[EMBEDDING_MODEL])
        embedding = models.forward(extractor, models.as_sequence(X))
    if embedding is not None:
        parts.append(np.asarray(embedding, dtype=np.float32))  # bfloat16 under a mixed-precision policy
    return np.concatenate(parts, axis=1).astype(np.float32)


_BOTH_OUTPUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _proba_and_embedding(model: keras.Model, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`lib.models.predict_proba` and the :func:`embedding_model` output of ``X`` from one forward pass
    (a model with both outputs, sharing ``model``'s weights, built once per model): the same numbers as two
    passes, at the cost of one."""
    if model not in _BOTH_OUTPUTS:
        outputs = [model.outputs[0], model.get_layer(EMBEDDING_LAYER).output]
        _BOTH_OUTPUTS[model] = keras.Model(model.inputs, outputs, name=f"{model.name}_and_embedding")
    raw, embedding = models.forward(_BOTH_OUTPUTS[model], models.as_sequence(X))
    return models.proba_from_output(raw), embedding


def meta_features(outputs: np.ndarray, X: np.ndarray, with_features: bool) -> np.ndarray:
    """The meta-classifier's input for the rows ``X``: their deep ``outputs`` (:func:`deep_outputs`), followed by
    the preprocessed rows ``X`` themselves when ``with_features``."""
    if not with_features:
        return outputs
    if len(outputs) != len(X):
        raise ValueError(f"{len(outputs)} rows of deep outputs for {len(X)} feature rows")
    return np.concatenate([outputs, np.asarray(X, dtype=outputs.dtype)], axis=1)


def meta_feature_names(
    deep_models: dict[str, keras.Model],
    inputs: str,
    class_names: Sequence[str],
    feature_names: Sequence[str] = (),
) -> list[str]:
    """Column names of :func:`meta_features` (``cnn_lstm:P(Attack)``, ``cnn_lstm:fc_0``, ..., then
    ``feature_names`` for the variant with the features)."""
    names = []
    if inputs in ("proba", "both"):
        shown = class_names[1:] if len(class_names) == 2 else class_names
        names += [f"{model}:P({c})" for model in deep_models for c in shown]
    if inputs in ("embedding", "both"):
        width = deep_models[EMBEDDING_MODEL].get_layer(EMBEDDING_LAYER).output.shape[-1]
        names += [f"{EMBEDDING_MODEL}:fc_{i}" for i in range(width)]
    return names + list(feature_names)


def soft_vote(probabilities: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of several deep models' class probabilities (the fusion that needs no training)."""
    return np.mean(np.stack(probabilities), axis=0)


# ------------------------------------------------------------------------------------------- out of fold
@dataclass
class OutOfFold:
    """Out-of-fold meta-features of the training rows and the bookkeeping that proves them clean.

    ``features[i]`` came from ``fitted[fold[i]]`` (the models of fold ``fold[i]``), which were trained on the
    rows ``train_indices[fold[i]]``; ``i`` is never among them.
    """

    features: np.ndarray
    fold: np.ndarray
    train_indices: list[np.ndarray]
    fitted: list[Any]


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
    seen, fitted_folds = [], []
    for k, (train_rows, held_rows) in enumerate(progress.bar(splits, desc="out-of-fold", unit="fold", leave=False)):
        fitted = fit(train_rows, k)
        out = np.asarray(transform(fitted, X[held_rows]))
        if features is None:
            features = np.zeros((len(y), out.shape[1]), dtype=out.dtype)
        features[held_rows] = out
        fold_of_row[held_rows] = k
        seen.append(np.asarray(train_rows))
        fitted_folds.append(fitted)
    assert (fold_of_row >= 0).all(), "every training row belongs to exactly one held-out fold"
    return OutOfFold(features=features, fold=fold_of_row, train_indices=seen, fitted=fitted_folds)


def fold_seed(seed: int, fold: int) -> int:
    """Seed of the deep models of fold ``fold`` (0-based) in run ``seed``: ``seed`` itself.

    The fold models of a seed start from the same initial weights and differ only by their training rows, so
    the units of their ``fully_connected`` layers start aligned: the one meta-classifier reads the embeddings
    of every fold's models, in training (each fold's held-out rows) as at test time (every row, each fold).
    """
    return seed


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


def average_proba(meta: Any, fold_features: Sequence[np.ndarray], n_classes: int) -> np.ndarray:
    """``meta`` applied to each fold's meta-features of the same rows, class probabilities averaged over folds."""
    return np.mean([baselines.predict_proba(meta, features, n_classes) for features in fold_features], axis=0)


def macro_f1(y: np.ndarray, proba: np.ndarray) -> float:
    """Macro-F1 of the most probable class over the classes in ``y`` (:func:`lib.metrics.macro_f1`)."""
    return metrics.macro_f1(y, proba.argmax(axis=1))


def _score_on_validation(proba: np.ndarray, y_val: np.ndarray, n_classes: int) -> dict[str, float]:
    return {
        # float32 probabilities may miss a sum of 1 by ~1e-7, which log_loss warns about: renormalise
        "val_log_loss": float(log_loss(y_val, proba / proba.sum(axis=1, keepdims=True), labels=np.arange(n_classes))),
        "val_f1_macro": macro_f1(y_val, proba),
    }


@dataclass
class FusionModel:
    """The fold models + one meta-classifier fitted on their out-of-fold outputs (module docstring).

    ``fold_models[k]`` holds the deep models of fold ``k`` by name. A row goes through every fold's models, each
    fold's meta-features (:func:`meta_features`) through ``meta``, and the class probabilities are averaged
    over the folds.
    """

    fold_models: list[dict[str, keras.Model]]
    meta: Any
    meta_name: str
    inputs: str
    n_classes: int
    with_features: bool = False

    def __post_init__(self) -> None:
        if not self.fold_models:
            raise ValueError("a fusion needs the deep models of at least one fold")
        names = [list(fold) for fold in self.fold_models]
        if any(n != names[0] for n in names):
            raise ValueError(f"every fold must hold the same deep models, got {names}")
        check_inputs(self.inputs, names[0])

    @property
    def contender(self) -> str:
        """``fusion_<meta>`` or ``fusion_<meta>_features``."""
        return contender_name(self.meta_name, self.with_features)

    @property
    def names(self) -> list[str]:
        """The deep models of each fold."""
        return list(self.fold_models[0])

    def fold_outputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Each fold's deep outputs of the preprocessed rows ``X`` (:func:`deep_outputs`)."""
        return [deep_outputs(fold, X, self.inputs) for fold in self.fold_models]

    def predict_proba(self, X: np.ndarray, fold_outputs: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` of the preprocessed rows ``X``: the mean over the folds of
        ``meta`` applied to each fold's meta-features. ``fold_outputs``: :meth:`fold_outputs` of ``X``, when
        already computed (several meta-classifiers share them)."""
        outputs = self.fold_outputs(X) if fold_outputs is None else fold_outputs
        features = [meta_features(out, X, self.with_features) for out in outputs]
        return average_proba(self.meta, features, self.n_classes)


@dataclass
class FusionFit:
    """Everything :func:`fit_fusion` fitted: the fold models, the chosen meta-classifier of each contender
    (``fusion_<meta>``, ``fusion_<meta>_features``) and the evidence for them."""

    fold_models: list[dict[str, keras.Model]]
    metas: dict[str, Any]  # contender -> its meta-classifier (hyperparameters chosen on validation rows)
    chosen: dict[str, dict[str, Any]]  # contender -> the chosen hyperparameters
    grid: pd.DataFrame  # every (contender, hyperparameters) with its validation log loss and macro-F1
    oof: OutOfFold  # the training rows' out-of-fold deep outputs (without the features)
    val_outputs: list[np.ndarray]  # per fold: the deep outputs of the validation rows
    val_proba: dict[str, np.ndarray]  # contender -> fold-averaged validation probabilities
    folds: pd.DataFrame  # validation macro-F1 of each fold's deep models and of each fusion on one fold alone
    inputs: str
    n_classes: int

    def model(self, meta_name: str, with_features: bool = False) -> FusionModel:
        """The fusion with meta-classifier ``meta_name`` (and the features after the deep outputs, or not)."""
        contender = contender_name(meta_name, with_features)
        if contender not in self.metas:
            raise ValueError(f"no {contender} was fitted; the fusions fitted are {list(self.metas)}")
        return FusionModel(
            self.fold_models, self.metas[contender], meta_name, self.inputs, self.n_classes, with_features
        )

    def contender_model(self, contender: str) -> FusionModel:
        """The fusion of contender ``contender`` (``fusion_xgboost``, ``fusion_random_forest_features``, ...)."""
        if contender not in self.metas:
            raise ValueError(f"no {contender!r} was fitted; the fusions fitted are {list(self.metas)}")
        return self.model(*FUSION_CONTENDERS[contender])

    def best_contender(self) -> str:
        """The fusion contender with the lowest validation log loss."""
        chosen = self.grid[self.grid["chosen"]]
        return str(chosen.sort_values("val_log_loss", kind="stable").iloc[0]["contender"])

    def pipeline_model(self, choice: str) -> FusionModel:
        """The fusion of a saved pipeline: ``"auto"`` = :meth:`best_contender`, else the contender named."""
        return self.contender_model(self.best_contender() if choice == "auto" else choice)

    def fold_outputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Each fold's deep outputs of the rows ``X``, to share between contenders (:meth:`FusionModel.predict_proba`)."""
        return [deep_outputs(fold, X, self.inputs) for fold in self.fold_models]


def _fold_scores(
    fold_models: list[dict[str, keras.Model]],
    val_outputs: list[np.ndarray],
    metas: dict[str, Any],
    X_val: np.ndarray,
    y_val: np.ndarray,
    n_classes: int,
) -> pd.DataFrame:
    """Validation macro-F1 of each fold's deep models alone and of each fusion fed one fold's outputs alone."""
    rows = []
    for k, (fold, outputs) in enumerate(zip(fold_models, val_outputs, strict=True)):
        for name, model in fold.items():
            rows.append({"fold": k, "model": name, "val_f1_macro": macro_f1(y_val, models.predict_proba(model, X_val))})
        for contender, meta in metas.items():
            features = meta_features(outputs, X_val, FUSION_CONTENDERS[contender][1])
            proba = baselines.predict_proba(meta, features, n_classes)
            rows.append({"fold": k, "model": contender, "val_f1_macro": macro_f1(y_val, proba)})
    return pd.DataFrame(rows)


def _choose_metas(
    oof_features: np.ndarray,
    val_outputs: Sequence[np.ndarray],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    grid: Sequence[tuple[str, dict[str, Any]]],
    variants: Sequence[bool],
    *,
    seed: int,
    n_classes: int,
) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, dict[str, Any]], pd.DataFrame]:
    """Every meta-classifier of ``grid`` fitted on the out-of-fold meta-features (each variant: the deep outputs
    alone, or followed by the features), scored on the validation rows by the log loss of its fold-averaged
    probabilities; per contender the lowest wins. Returns the chosen metas, their validation probabilities,
    their settings and the grid table (``chosen`` marks the winners)."""
    rows, metas, val_proba, chosen, best_row = [], {}, {}, {}, {}
    for with_features in variants:
        train_features = meta_features(oof_features, X_train, with_features)
        val_features = [meta_features(out, X_val, with_features) for out in val_outputs]
        for name, params in grid:
            contender = contender_name(name, with_features)
            meta = baselines.fit(baselines.build(name, seed, **params), train_features, y_train)  # 1-thread predict
            proba = average_proba(meta, val_features, n_classes)
            rows.append({"contender": contender, "meta": name, "features": with_features, **params})
            rows[-1] |= _score_on_validation(proba, y_val, n_classes)
            if contender not in best_row or rows[-1]["val_log_loss"] < rows[best_row[contender]]["val_log_loss"]:
                # keep only the best meta-classifier of each contender (a forest can be large)
                metas[contender], val_proba[contender], chosen[contender] = meta, proba, dict(params)
                best_row[contender] = len(rows) - 1
    table = pd.DataFrame(rows)
    table["chosen"] = table.index.isin(list(best_row.values()))
    return metas, val_proba, chosen, table


def fit_fusion(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    n_classes: int,
    names: Sequence[str],
    deep: models.DeepConfig | Mapping[str, models.DeepConfig],
    inputs: str,
    k_folds: int,
    grid: Sequence[tuple[str, dict[str, Any]]],
    seed: int,
    features_variant: bool = False,
) -> FusionFit:
    """Cross-fitted stacking: meta-classifiers on out-of-fold deep outputs, applied to the same fold models.

    1. :func:`out_of_fold`: ``k_folds`` x the deep models ``names``, each fold's models trained on the other
       folds with their configuration (``deep``: one shared :class:`lib.models.DeepConfig` or one per name)
       and seed :func:`fold_seed`, give the meta-features of the training rows;
    2. the same fold models give the validation rows' deep outputs, one set per fold;
    3. every ``(meta, hyperparameters)`` of ``grid`` is fitted on the out-of-fold meta-features and scored on
       the validation rows by the log loss of its probabilities averaged over the folds; per contender the
       lowest log loss wins. ``features_variant`` also fits every meta-classifier on the deep outputs
       followed by the preprocessed features (contenders ``fusion_<meta>_features``), with the same fold models.

    No test rows are passed in: nothing here can be fitted on them.
    """
    check_inputs(inputs, names)
    configs = models.per_model(deep, names)
    X_train, y_train = np.asarray(X_train), np.asarray(y_train, dtype=np.int64)
    X_val, y_val = np.asarray(X_val), np.asarray(y_val, dtype=np.int64)

    def fit(rows: np.ndarray, k: int) -> dict[str, keras.Model]:
        return train_deep_models(
            X_train[rows], y_train[rows], X_val, y_val, names=names, n_classes=n_classes, config=configs,
            seed=fold_seed(seed, k),
        )  # fmt: skip

    def transform(fold_models: dict[str, keras.Model], X: np.ndarray) -> np.ndarray:
        return deep_outputs(fold_models, X, inputs)

    oof = out_of_fold(X_train, y_train, fit, transform, k_folds=k_folds, seed=seed)
    val_outputs = [deep_outputs(fold, X_val, inputs) for fold in oof.fitted]

    variants = (False, True) if features_variant else (False,)
    metas, val_proba, chosen, table = _choose_metas(
        oof.features, val_outputs, X_train, y_train, X_val, y_val, grid, variants, seed=seed, n_classes=n_classes
    )
    folds = _fold_scores(oof.fitted, val_outputs, metas, X_val, y_val, n_classes)
    return FusionFit(oof.fitted, metas, chosen, table, oof, val_outputs, val_proba, folds, inputs, n_classes)
