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
  (:func:`out_of_fold`). The deep models used afterwards (validation, test, the saved pipeline) are trained
  on the full training split.
* **Meta-classifier hyperparameters** (a small grid of trees x depth) are chosen on the validation split's
  meta-features (from the full-training deep models) by log loss, a proper scoring rule that still ranks
  models on a small validation set where F1 often ties. The test split is never seen by :func:`fit_fusion`.
* **Soft voting** (the mean of the deep models' probabilities) is the reference that needs no training.

:class:`FusionPipeline` = fitted preprocessor + deep models + meta-classifier: ``pipeline.score(raw_df)``
scores raw flows in one call; :func:`save_pipeline` / :func:`load_pipeline` write and read it in
``RUN_DIR/pipeline/``: Keras models as ``.keras``, XGBoost as UBJSON (``save_model``), the scikit-learn
preprocessor (and a Random Forest meta-classifier) with joblib.

**Trust note:** joblib (pickle) runs code when it loads. Only load a pipeline folder your own run wrote;
never one downloaded or received from someone else.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import keras
import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, log_loss
from sklearn.model_selection import StratifiedKFold
from xgboost import XGBClassifier

from lib import baselines, metrics, models, registry

FUSION_INPUTS = ("proba", "embedding", "both")
META_CLASSIFIERS = ("random_forest", "xgboost")
EMBEDDING_MODEL = "cnn_lstm"
EMBEDDING_LAYER = "fully_connected"
PIPELINE_FORMAT = 1


# -------------------------------------------------------------------------------------------------- deep part
@dataclass(frozen=True)
class DeepConfig:
    """Which deep models feed the fusion and how they are trained (defaults: notebook 03's)."""

    names: tuple[str, ...] = ("cnn_only", "lstm_only", "cnn_lstm")
    hyperparameters: dict[str, Any] = field(default_factory=dict)  # passed to lib.models.build
    epochs: int = 80
    batch_size: int = 256
    patience: int = 10
    learning_rate: float = 1e-3


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
    n_classes: int,
    config: DeepConfig,
    seed: int,
) -> dict[str, keras.Model]:
    """One model per name in ``config.names``, trained on ``(X, y)`` with early stopping on ``(X_val, y_val)``."""
    trained = {}
    for name in config.names:
        model = models.build(name, X.shape[1], n_classes, seed=seed, **config.hyperparameters)
        models.train(
            model,
            X,
            y,
            X_val,
            y_val,
            epochs=config.epochs,
            batch_size=config.batch_size,
            seed=seed,
            patience=config.patience,
            learning_rate=config.learning_rate,
        )
        trained[name] = model
    return trained


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
    deep: DeepConfig,
    inputs: str,
    k_folds: int,
    grid: Sequence[tuple[str, dict[str, Any]]],
    seed: int,
) -> FusionFit:
    """Stack meta-classifiers on out-of-fold deep outputs; choose their hyperparameters on validation rows.

    1. :func:`out_of_fold`: ``k_folds`` x the deep models, each fold's models trained on the other folds
       (seed :func:`fold_seed`), give the meta-features of the training rows;
    2. the deep models are trained once more on all training rows (seed ``seed``); their outputs on the
       validation rows are the validation meta-features;
    3. every ``(meta, hyperparameters)`` of ``grid`` is fitted on the out-of-fold features and scored on the
       validation features; per meta-classifier the lowest log loss wins.

    No test rows are passed in: nothing here can be fitted on them.
    """
    check_inputs(inputs, deep.names)
    X_train, y_train = np.asarray(X_train), np.asarray(y_train, dtype=np.int64)

    fold_val_features = []

    def fit(rows: np.ndarray, k: int) -> dict[str, keras.Model]:
        fold_models = train_deep_models(
            X_train[rows], y_train[rows], X_val, y_val, n_classes=n_classes, config=deep, seed=fold_seed(seed, k)
        )
        fold_val_features.append(deep_outputs(fold_models, X_val, inputs))  # for the alignment check only
        return fold_models

    def transform(fold_models: dict[str, keras.Model], X: np.ndarray) -> np.ndarray:
        return deep_outputs(fold_models, X, inputs)

    oof = out_of_fold(X_train, y_train, fit, transform, k_folds=k_folds, seed=seed)
    full = train_deep_models(X_train, y_train, X_val, y_val, n_classes=n_classes, config=deep, seed=seed)
    val_features = deep_outputs(full, X_val, inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a dead (always-zero) unit has no correlation: nan
        alignment = np.nanmean([column_correlation(f, val_features) for f in fold_val_features], axis=0)

    rows, fitted = [], []
    for i, (name, params) in enumerate(grid):
        meta = baselines.fit(baselines.build(name, seed, **params), oof.features, y_train)
        if hasattr(meta, "estimators_"):
            # a forest predicting on several threads adds the trees up in thread order: last-bit differences
            # between two calls. One thread makes its probabilities reproducible bit for bit.
            meta.set_params(n_jobs=1)
        scores = _score_on_validation(baselines.predict_proba(meta, val_features, n_classes), y_val, n_classes)
        rows.append({"meta": name, **{k: params[k] for k in ("n_estimators", "max_depth")}, **scores, "index": i})
        fitted.append(meta)
    table = pd.DataFrame(rows)
    best = table.loc[table.groupby("meta", sort=False)["val_log_loss"].idxmin()]
    table["chosen"] = table["index"].isin(best["index"])
    metas = {row.meta: fitted[row.index] for row in best.itertuples()}
    chosen = {row.meta: dict(grid[row.index][1]) for row in best.itertuples()}
    return FusionFit(full, metas, chosen, table.drop(columns="index"), oof, val_features, alignment, inputs, n_classes)


# ------------------------------------------------------------------------------------------------ reporting
def paired_difference(
    runs: pd.DataFrame, model: str, reference: str, metric: str = "f1", confidence: float = 0.95
) -> dict[str, Any]:
    """``model`` minus ``reference`` on ``metric``, paired by seed: mean, std and t-interval of the difference."""
    a = runs[runs["model"] == model].set_index("seed")[metric]
    b = runs[runs["model"] == reference].set_index("seed")[metric]
    both = a.index.intersection(b.index)
    if both.empty:
        raise ValueError(f"no seed has both {model!r} and {reference!r}")
    diff = (a[both] - b[both]).to_frame("difference").assign(model="difference")
    row = metrics.summarise(diff, metrics=["difference"], confidence=confidence).iloc[0]
    return {
        "model": model,
        "reference": reference,
        "metric": metric,
        "n": int(row["n"]),
        "model_mean": float(a[both].mean()),
        "reference_mean": float(b[both].mean()),
        "mean": float(row["mean"]),
        "std": float(row["std"]),
        "ci_low": float(row["ci_low"]),
        "ci_high": float(row["ci_high"]),
    }


def describe_difference(diff: dict[str, Any], names: dict[str, str] | None = None, tie: float = 0.0) -> str:
    """One plain sentence saying whether ``diff`` (from :func:`paired_difference`) shows a difference.

    A difference of at most ``tie`` (e.g. what two test flows are worth) is called a tie whatever its interval:
    the seeds vary the models, not the test rows, so a narrow interval around a tiny difference means little.
    """
    names = names or {}
    a, b = names.get(diff["model"], diff["model"]), names.get(diff["reference"], diff["reference"])
    head = (
        f"{a} vs {b}: {diff['metric']} {diff['model_mean']:.4f} vs {diff['reference_mean']:.4f} "
        f"(difference {diff['mean']:+.4f}"
    )
    if diff["n"] < 2:
        return head + f", {diff['n']} seed): one seed gives no interval, so this cannot tell a difference from noise."
    interval = f", 95 % CI [{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}] over {diff['n']} paired seeds)"
    if diff["mean"] == 0 and diff["std"] == 0:
        return head + interval + ": identical on every seed, no difference."
    if tie and abs(diff["mean"]) <= tie:
        return head + interval + f": at most {tie:.4f} apart (two test flows' worth), a tie."
    if diff["ci_low"] > 0:
        return head + interval + f": {a} is better; the interval lies above zero."
    if diff["ci_high"] < 0:
        return head + interval + f": {a} is worse; the interval lies below zero."
    return head + interval + ": the interval contains zero, so no measurable difference."


def verdict(over_single: list[dict[str, Any]], best_single: str, names: dict[str, str], tie: float) -> str:
    """Whether fusion adds anything over the best single deep model, from paired differences (one per meta)."""
    best = names.get(best_single, best_single)
    if not over_single or over_single[0]["n"] < 2:
        return "With a single seed this run cannot say whether fusion adds anything: rerun with N_SEEDS of 3 or more."
    better = [names.get(d["model"], d["model"]) for d in over_single if d["ci_low"] > 0 and d["mean"] > tie]
    worse = [names.get(d["model"], d["model"]) for d in over_single if d["ci_high"] < 0 and -d["mean"] > tie]
    if better:
        return f"Fusion adds something here: {', '.join(better)} beat(s) the best single deep model ({best}) on F1 beyond the seed-to-seed spread and by more than two test flows."
    if worse:
        return (
            f"Fusion costs accuracy here: {', '.join(worse)} fall(s) below the best single deep model ({best}) on F1."
        )
    return f"Fusion adds nothing measurable here: neither meta-classifier beats the best single deep model ({best}) on F1 by more than the seed-to-seed spread or two test flows."


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


def save_pipeline(pipeline: FusionPipeline, path: str | Path) -> Path:
    """Write ``pipeline`` into the folder ``path``: manifest.json, preprocessor.joblib, deep_*.keras, meta_*."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for stale in [*path.glob("deep_*.keras"), *path.glob("meta_*")]:
        stale.unlink()
    model = pipeline.model
    joblib.dump(pipeline.preprocessor, path / "preprocessor.joblib")
    for name, deep_model in model.deep_models.items():
        models.save_model(deep_model, path / f"deep_{name}.keras")
    if isinstance(model.meta, XGBClassifier):
        meta_file = "meta_xgboost.ubj"
        model.meta.save_model(path / meta_file)
    else:
        meta_file = f"meta_{model.meta_name}.joblib"
        joblib.dump(model.meta, path / meta_file)
    manifest = {
        **pipeline.manifest,
        "format": PIPELINE_FORMAT,
        "class_names": pipeline.class_names,
        "inputs": model.inputs,
        "deep_models": list(model.deep_models),
        "meta_name": model.meta_name,
        "meta_file": meta_file,
        "meta_class_ids": [int(c) for c in model.meta.class_ids_],
        "feature_columns": pipeline.feature_columns,
        "ignored_columns": pipeline.ignored_columns,
        "trust": "preprocessor.joblib and meta_*.joblib run code when loaded: load only folders your own run wrote",
    }
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return path


def load_pipeline(path: str | Path) -> FusionPipeline:
    """Read a folder written by :func:`save_pipeline`. joblib runs code on load: only load folders you wrote."""
    path = Path(path)
    if not (path / "manifest.json").exists():
        raise FileNotFoundError(
            f"{path / 'manifest.json'} not found: run notebooks/04_decision_fusion.ipynb for this RUN_DIR first"
        )
    manifest = json.loads((path / "manifest.json").read_text())
    if manifest.get("format") != PIPELINE_FORMAT:
        raise ValueError(f"{path}: pipeline format {manifest.get('format')!r}, this code reads {PIPELINE_FORMAT}")
    deep_models = {name: models.load_model(path / f"deep_{name}.keras") for name in manifest["deep_models"]}
    if manifest["meta_file"].endswith(".ubj"):
        meta = XGBClassifier()
        meta.load_model(path / manifest["meta_file"])
    else:
        meta = joblib.load(path / manifest["meta_file"])
    meta.class_ids_ = np.asarray(manifest["meta_class_ids"], dtype=np.int64)
    model = FusionModel(deep_models, meta, manifest["meta_name"], manifest["inputs"], len(manifest["class_names"]))
    preprocessor = joblib.load(path / "preprocessor.joblib")
    return FusionPipeline(preprocessor, model, manifest["class_names"], manifest["ignored_columns"], manifest)
