"""Classical baselines on the same preprocessed features as the deep models: Random Forest, SVM, XGBoost.

Backs ``notebooks/02_baselines.ipynb``. Section II.B of Suryawanshi & Jagtap names Random Forest and SVM as
the "standard machine learning" baselines (Table 1 has a Random Forest row but no SVM row); XGBoost is not
a baseline of the paper (it appears in its "decision fusion layer", Section I.C) and is added here as a
strong tabular reference.

SVM at scale. A kernel (RBF) ``SVC`` costs O(n^2) memory and between O(n^2) and O(n^3) time, which rules it
out for the millions of flows of IoT-23 and CICIDS2017. :func:`svm` therefore approximates the RBF kernel:
``Nystroem`` maps each row to ``n_components`` features whose dot products approximate the RBF kernel (the
map is built from ``n_components`` training rows drawn with ``seed``), and a linear SVM (``LinearSVC``,
squared hinge loss, solved in the primal) is fitted on them. Cost is linear in the number of rows, and
with enough components the decision function is close to that of the exact kernel SVM, unlike a kernel SVC
on a small subsample, which throws most of the training data away. A linear SVM has no probabilities, so
the pipeline is wrapped in ``CalibratedClassifierCV`` (Platt/sigmoid scaling, 3 stratified folds, the same
method ``SVC(probability=True)`` uses): ``predict_proba`` then gives scores for ROC and PR curves.
:func:`stratified_subsample` can still cap the SVM's training rows on a small machine (notebook parameter
``SVM_MAX_ROWS``); by default it sees all of them.

The SVM reads its rows in float64 (:func:`model_input`). With ``gamma = 1 / n_features`` on features scaled to
[0, 1] the RBF kernel is wide, so the kernel matrix of the components has few singular values above rounding
noise; ``Nystroem`` divides by the square roots of all of them (floored at 1e-12), which scales that noise up
into features of their own. Computed in float32, those features, and so the fitted SVM, its probabilities and
the scores of Table 1, changed with the BLAS kernels the CPU chose and with the number of threads; in float64
the noise is too small to matter, and liblinear converges sooner.

No TensorFlow here. Fit with :func:`fit` and read probabilities with :func:`predict_proba`: together they
keep the columns aligned with the class ids of the prepared data even when a class is missing from the
training rows (a small sample of a multi-class data set).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.kernel_approximation import Nystroem
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
from xgboost import XGBClassifier

from lib import io, metrics, progress
from lib.datasets import sampling

if TYPE_CHECKING:
    from lib.preprocess import PreparedData

BASELINE_BUILDERS = ("random_forest", "svm", "xgboost")


def random_forest(
    seed: int,
    *,
    n_estimators: int = 100,
    max_depth: int | None = None,
    n_jobs: int = -1,
) -> RandomForestClassifier:
    """Random Forest with scikit-learn's defaults (the paper gives no settings), seeded with ``seed``."""
    return RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, n_jobs=n_jobs, random_state=seed)


def svm(
    seed: int,
    *,
    n_components: int = 300,
    gamma: float | None = None,
    C: float = 1.0,
    calibration_folds: int = 3,
) -> CalibratedClassifierCV:
    """RBF-kernel SVM approximated by ``Nystroem`` + ``LinearSVC``, calibrated to probabilities (module docstring).

    ``gamma=None`` means 1 / n_features, the usual RBF width for features scaled to [0, 1].
    ``n_components`` trades fidelity to the exact kernel against time (linear in it).
    """
    pipeline = make_pipeline(
        Nystroem(kernel="rbf", gamma=gamma, n_components=n_components, random_state=seed),
        LinearSVC(C=C, dual=False, random_state=seed),
    )
    return CalibratedClassifierCV(pipeline, method="sigmoid", cv=calibration_folds)


def xgboost(
    seed: int,
    *,
    n_estimators: int = 300,
    max_depth: int = 6,
    learning_rate: float = 0.1,
    n_jobs: int = -1,
) -> XGBClassifier:
    """Gradient-boosted trees (histogram method), a reference beside the paper's baselines."""
    return XGBClassifier(
        n_estimators=n_estimators,
        max_depth=max_depth,
        learning_rate=learning_rate,
        tree_method="hist",
        n_jobs=n_jobs,
        random_state=seed,
    )


def hyperparameters_from(parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each baseline's settings from notebook 02's parameters (``RF_TREES``, ``SVM_C``, ``XGB_MAX_DEPTH``, ...)."""
    return {
        "random_forest": {"n_estimators": parameters["RF_TREES"], "max_depth": parameters["RF_MAX_DEPTH"] or None},
        "svm": {"n_components": parameters["SVM_N_COMPONENTS"], "C": parameters["SVM_C"]},
        "xgboost": {
            "n_estimators": parameters["XGB_TREES"],
            "max_depth": parameters["XGB_MAX_DEPTH"],
            "learning_rate": parameters["XGB_LEARNING_RATE"],
        },
    }


def build(name: str, seed: int, **hyperparameters: Any) -> Any:
    """Build one of :data:`BASELINE_BUILDERS` by name with ``seed`` and the given hyperparameters."""
    if name not in BASELINE_BUILDERS:
        raise ValueError(f"unknown baseline {name!r}; choose one of {BASELINE_BUILDERS}")
    return globals()[name](seed, **hyperparameters)


def describe(names: Sequence[str], seed: int, hyperparameters: Mapping[str, Mapping[str, Any]]) -> str:
    """The estimators ``names`` would be built as (seed ``seed``), one paragraph each: what notebook 02 fits."""
    return "\n\n".join(str(build(name, seed, **hyperparameters.get(name, {}))) for name in names)


def settings_of(hyperparameters: Mapping[str, Mapping[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """The settings of the baselines ``names`` only (what a stage records of the models it fitted)."""
    return {name: hyperparameters[name] for name in names}


def fit(model: Any, X: np.ndarray, y: np.ndarray) -> Any:
    """Fit ``model`` on ``(X, y)`` and remember which class ids it saw (``model.class_ids_``); return it.

    XGBoost insists on labels 0..k-1, so when a class id is absent from ``y`` the labels are renumbered for
    the fit; :func:`predict_proba` maps the columns back.
    """
    y = np.asarray(y, dtype=np.int64)
    class_ids = np.unique(y)
    if len(class_ids) < 2:
        raise ValueError(f"the training rows hold a single class ({class_ids.tolist()}): nothing to learn")
    if isinstance(model, CalibratedClassifierCV) and isinstance(model.cv, int):
        # The strict split protocols (SPLIT=group/time/source) may leave a class only a few training rows:
        # the calibration's stratified folds cannot outnumber the rows of the smallest class.
        smallest = int(np.bincount(y)[class_ids].min())
        if smallest < 2:
            rare = [int(c) for c in class_ids if np.sum(y == c) < 2]
            raise ValueError(
                f"class id(s) {rare} have a single training row: the SVM's probability calibration needs at least "
                "2 per class. Fix: leave svm out of BASELINES, or raise MIN_CLASS_COUNT in notebook 01"
            )
        model.set_params(cv=min(model.cv, smallest))
    if isinstance(model, XGBClassifier):
        model.fit(X, np.searchsorted(class_ids, y))
    else:
        model.fit(model_input(model, X), y)
    model.class_ids_ = class_ids
    if hasattr(model, "estimators_") and hasattr(model, "n_jobs"):
        # A forest predicting on several threads adds its trees up in thread order: last-bit differences from
        # call to call. Predicting on one thread makes its probabilities, and so every score, reproducible.
        model.set_params(n_jobs=1)
    return model


def model_input(model: Any, X: np.ndarray) -> np.ndarray:
    """``X`` as ``model`` reads it: float64 for the SVM (its Nystroem map is exact only in float64: module
    docstring), unchanged for every other model."""
    return np.asarray(X, dtype=np.float64) if isinstance(model, CalibratedClassifierCV) else X


def stratified_subsample(
    X: np.ndarray, y: np.ndarray, max_rows: int, seed: int, min_per_class: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``max_rows`` rows of ``(X, y)``, every class keeping its share (``max_rows <= 0``: all rows).

    Each class keeps ``floor(count * max_rows / n)`` rows but at least ``min_per_class`` (or all it has), so a
    rare class survives and the SVM's 3-fold calibration still finds it in every fold. Rows keep their original
    order (:func:`lib.datasets.sampling.stratified_rows`).
    """
    if max_rows <= 0 or len(y) <= max_rows:
        return X, y
    rows = sampling.stratified_rows(y, max_rows, seed, floor=min_per_class, rounding="floor", order="value")
    return X[rows], np.asarray(y)[rows]


def predict_proba(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities of a model fitted by :func:`fit`, shape ``(n, n_classes)``; classes unseen in training get 0."""
    raw = np.asarray(model.predict_proba(model_input(model, X)), dtype=np.float64)
    class_ids = getattr(model, "class_ids_", None)
    if class_ids is None:
        class_ids = np.asarray(model.classes_, dtype=np.int64)
    if raw.shape[1] != len(class_ids):
        raise ValueError(f"model returned {raw.shape[1]} columns for {len(class_ids)} classes")
    if class_ids.max() >= n_classes:
        raise ValueError(f"model knows class id {class_ids.max()} but n_classes is {n_classes}")
    proba = np.zeros((raw.shape[0], n_classes))
    proba[:, class_ids] = raw
    return proba


def train_and_evaluate(
    data: PreparedData,
    *,
    names: Sequence[str],
    hyperparameters: Mapping[str, Mapping[str, Any]],
    seeds: Sequence[int],
    train_split: str = "train",
    svm_max_rows: int = 0,
    on_model: Callable[[str, int, Any], Any] | None = None,
) -> metrics.Results:
    """Notebook 02's runs: every baseline of ``names`` for every seed, fitted on ``train_split`` (the SVM on at
    most ``svm_max_rows`` of them if > 0), scored on the test rows. The results hold each fitted model and its
    validation and test probabilities, for the notebook to save. ``on_model(name, seed, model)``, when given,
    receives each fitted model as soon as it is scored instead (the notebook's saver: one model in memory at a
    time, whatever the number of seeds)."""
    X_train, y_train = data.split(train_split)
    results = metrics.Results()
    for seed, name in progress.bar(list(product(seeds, names)), desc="baselines", unit="model"):
        model = build(name, seed, **hyperparameters.get(name, {}))
        X_fit, y_fit = stratified_subsample(X_train, y_train, svm_max_rows if name == "svm" else 0, seed)
        with metrics.timer() as fitting:
            fit(model, X_fit, y_fit)
        predict = partial(predict_proba, model, n_classes=data.n_classes)
        proba, timing = metrics.timed_predictions(predict, data.X_test, fitting.seconds)
        result = metrics.evaluate(data.y_test, proba, data.class_names)
        results.add(name, seed, result, timing, n_train=len(y_fit), n_test=len(data.y_test))
        results.keep_model(name, seed, model, on_model)
        results.predictions[name, seed, "test"] = proba
        results.predictions[name, seed, "val"] = predict(data.X_val)
    return results


# ------------------------------------------------------------------------------------------------ files
#: Types a saved classifier may hold beyond skops' defaults: forest trees and the SVM's calibration.
SKOPS_TYPES = frozenset(
    {"sklearn.tree._tree.Tree", "sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration"}
)


def model_suffix(model: Any) -> str:
    """The file suffix of a fitted classifier: XGBoost's own UBJSON, else skops."""
    return ".ubj" if isinstance(model, XGBClassifier) else ".skops"


def write_classifier(model: Any, path: Path) -> None:
    """An XGBoost model in its own UBJSON format, any other scikit-learn classifier with skops (atomically)."""
    if path.suffix == ".ubj":
        io.atomic_write(path, lambda tmp: model.save_model(str(tmp)))
    else:
        io.dump_skops(model, path)


def read_classifier(path: Path, class_ids: Sequence[int], data: bytes | None = None) -> Any:
    """What :func:`write_classifier` wrote, with the class ids it was fitted on (:func:`fit`); no pickle.

    ``data``: the file's bytes, already read and checked (:meth:`lib.io.ModelFolder.read`): those are loaded,
    never the file again. A file XGBoost or skops can not read is a :class:`lib.io.ModelFileError` naming it."""
    path = Path(path)
    if path.suffix == ".ubj":
        model = read_xgboost(XGBClassifier(), path, data)
    else:
        model = io.load_skops(path, trusted=SKOPS_TYPES, data=data)
    model.class_ids_ = np.asarray(class_ids, dtype=np.int64)
    return model


def read_xgboost(model: Any, path: Path, data: bytes | None = None) -> Any:
    """``model`` (an ``XGBClassifier`` or a ``Booster``) loaded from the UBJSON file ``path``, or from ``data``, its
    bytes already read and checked. A file XGBoost can not read is a :class:`lib.io.ModelFileError` naming it."""
    try:
        model.load_model(path if data is None else bytearray(data))
    except Exception as err:  # XGBoostError and the like: the file is no model of ours
        raise io.ModelFileError(
            f"{path}: XGBoost can not read it ({io.short_reason(err)}): the file is cut, corrupted or not the "
            f"one saved. Fix: {io.RESTORE}"
        ) from None
    return model


def save_model(model: Any, stem: Path) -> Path:
    """A fitted baseline at ``stem``: ``<stem>.ubj`` or ``<stem>.skops`` and ``<stem>.json`` (its class ids)."""
    class_ids = [int(c) for c in getattr(model, "class_ids_", [])]
    io.write_json(Path(f"{stem}.json"), {"class_ids": class_ids})
    path = Path(f"{stem}{model_suffix(model)}")
    write_classifier(model, path)
    return path


def load_model(stem: Path) -> Any:
    """What :func:`save_model` wrote at ``stem`` (the format is known from the file)."""
    sidecar = io.read_json(Path(f"{stem}.json"))
    found = Path(f"{stem}.ubj")
    return read_classifier(found if found.exists() else Path(f"{stem}.skops"), sidecar["class_ids"])
