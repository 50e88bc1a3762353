"""The four benign-trained anomaly detectors, each a scorer that saves and loads itself, and :class:`Detector`.

A scorer has ``score(X)`` (higher = less like the benign training rows), a ``name`` (the detector's key),
the ``FILES`` it writes, ``save(folder)`` (returning what it adds to the folder's manifest) and a classmethod
``load(folder)`` that reads them through a checked :class:`lib.io.ModelFolder` (each file's bytes checked
against the sha256 the folder's manifest records, then parsed from those bytes): the dense autoencoder (:class:`DenseAutoencoder`, ``.keras``), the KitNET-style
ensemble (:class:`KitNET`, two ``.keras`` files and its normalisation arrays), the nearest benign flows
(:class:`NearestBenign`, its own reference rows as ``.npy``) and the Isolation Forest
(:class:`IsolationForestScorer`, skops). :mod:`lib.anomaly.persist` writes and reads the whole folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
from sklearn.ensemble import IsolationForest

from lib import io, metrics, models

PREDICT_BATCH_SIZE = models.PREDICT_BATCH_SIZE
#: What remakes a detector folder (said by every error about one).
FIX = "rerun notebooks/05_anomaly_detection.ipynb, which writes the folder"


def benign_rows(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The rows of ``X`` whose class id is 0 (benign)."""
    return np.asarray(X)[np.asarray(y) == 0]


def config_label(detector: str, params: Any) -> str:
    """A detector at one grid point in tables, e.g. ``knn(k=5)`` (``params``: ``(key, value)`` pairs)."""
    inner = ", ".join(f"{key}={value}" for key, value in params)
    return f"{detector}({inner})" if inner else detector


@dataclass(frozen=True)
class Training:
    """How the autoencoders (the dense one and KitNET's) are trained: Adam, early stopping on benign validation loss.

    ``learning_rate`` is the dense autoencoder's; KitNET's small sigmoid autoencoders learn at :func:`fit_kitnet`'s
    own, larger rate (1e-2; not tuned).
    """

    epochs: int
    batch_size: int
    patience: int
    learning_rate: float = 1e-3


# ------------------------------------------------------------------------------------------ the dense autoencoder
def autoencoder(
    n_features: int, *, hidden_units: int = 32, code_units: int = 8, seed: int | None = None
) -> keras.Model:
    """Dense autoencoder: n_features -> hidden -> code -> hidden -> n_features (ReLU inside, linear output).

    The paper gives no anomaly detector; 32/8 units is a small default for a few dozen scaled inputs. The output
    is linear: inputs need not lie in [0, 1], and test rows may fall outside the range of the training rows.
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(n_features,), name="flow_features")
    x = keras.layers.Dense(hidden_units, activation="relu", name="encoder_dense")(inputs)
    code = keras.layers.Dense(code_units, activation="relu", name="code")(x)
    x = keras.layers.Dense(hidden_units, activation="relu", name="decoder_dense")(code)
    outputs = keras.layers.Dense(n_features, activation="linear", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="autoencoder")


def reconstruction_error(model: keras.Model, X: np.ndarray) -> np.ndarray:
    """Mean squared reconstruction error of every row of ``X``."""
    X = np.asarray(X, dtype=np.float32)
    reconstructed = models.forward(model, X, PREDICT_BATCH_SIZE)
    return np.mean((reconstructed.astype(np.float64) - X) ** 2, axis=1)


def _fit_reconstruction(
    model: keras.Model, x: Any, x_val: Any, training: Training, seed: int
) -> dict[str, list[float]]:
    """Train ``model`` to reproduce ``x`` (an array or a list of arrays), early stopping on ``x_val``."""
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=training.learning_rate), loss="mse")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=training.patience, restore_best_weights=True)
    history = model.fit(
        x,
        x,
        validation_data=(x_val, x_val),
        epochs=training.epochs,
        batch_size=training.batch_size,
        callbacks=[stop],
        shuffle=True,
        verbose=0,
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def _load_keras(folder: io.ModelFolder, name: str) -> keras.Model:
    """A ``.keras`` file of a detector folder, its bytes checked, read in Keras' safe mode (no code from the file
    runs; :func:`lib.models.read_keras`)."""
    return models.read_keras(folder.path / name, folder.read(name, suffixes=(".keras",)))


class DenseAutoencoder:
    """The dense :func:`autoencoder` as a scorer: a flow's score is its mean squared reconstruction error."""

    name = "autoencoder"
    FILES = ("autoencoder.keras",)

    def __init__(self, model: keras.Model):
        self.model = model

    def score(self, X: np.ndarray) -> np.ndarray:
        return reconstruction_error(self.model, X)

    def save(self, folder: str | os.PathLike) -> dict[str, Any]:
        """Write the Keras model into ``folder``; nothing to add to the manifest."""
        self.model.save(Path(folder) / "autoencoder.keras")
        return {}

    @classmethod
    def load(cls, folder: io.ModelFolder) -> DenseAutoencoder:
        return cls(_load_keras(folder, "autoencoder.keras"))


# ------------------------------------------------------------------------------------------ KitNET
def feature_groups(
    X_benign: np.ndarray, max_group_size: int, *, max_rows: int = 100_000, seed: int = 0
) -> list[list[int]]:
    """KitNET's feature map: the columns clustered by correlation on benign rows, every group at most
    ``max_group_size`` columns, every column in exactly one group.

    Average-linkage hierarchical clustering on the distance ``1 - |r|`` (a constant column is at distance 1
    from every other); the tree is cut top-down, each node small enough becoming a group. At most ``max_rows``
    rows (a seeded subsample) are read.
    """
    from scipy.cluster.hierarchy import linkage, to_tree
    from scipy.spatial.distance import squareform

    if max_group_size < 1:
        raise ValueError(f"max_group_size must be at least 1, got {max_group_size}")
    X = np.asarray(X_benign, dtype=np.float64)
    if len(X) > max_rows:
        X = X[np.sort(np.random.default_rng(seed).choice(len(X), max_rows, replace=False))]
    n_features = X.shape[1]
    if n_features <= max_group_size:
        return [list(range(n_features))]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(X, rowvar=False)
    distance = np.clip(1.0 - np.abs(np.nan_to_num(corr, nan=0.0)), 0.0, 1.0)
    distance = (distance + distance.T) / 2
    np.fill_diagonal(distance, 0.0)
    tree = to_tree(linkage(squareform(distance, checks=False), method="average"))
    groups, stack = [], [tree]
    while stack:
        node = stack.pop()
        if node.get_count() <= max_group_size:
            groups.append(sorted(node.pre_order()))
        else:
            stack += [node.get_right(), node.get_left()]
    return sorted(groups)


def _min_max(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column minimum and range of ``X`` (a range of 0 becomes 1)."""
    low = X.min(axis=0)
    span = X.max(axis=0) - low
    return low, np.where(span > 0, span, 1.0)


def _sigmoid_autoencoder(inputs: Any, n: int, hidden_ratio: float, prefix: str) -> Any:
    hidden = keras.layers.Dense(max(1, int(np.ceil(hidden_ratio * n))), activation="sigmoid", name=f"{prefix}_hidden")
    return keras.layers.Dense(n, activation="sigmoid", name=f"{prefix}_output")(hidden(inputs))


def _rmse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean((np.asarray(a, dtype=np.float64) - b) ** 2, axis=1))


def _checked_groups(groups: Any, where: str) -> list[list[int]]:
    """KitNET's feature groups as a manifest holds them: a list of lists of column numbers, else an error."""
    if (
        not isinstance(groups, list)
        or not groups
        or not all(
            isinstance(group, list) and group and all(type(i) is int and i >= 0 for i in group) for group in groups
        )
    ):
        raise ValueError(f"{where}: 'groups' must be lists of column numbers, not {groups!r}. Fix: {FIX}")
    return groups


class KitNET:
    """A fitted KitNET-style ensemble (see :func:`fit_kitnet`): ``score(X)`` is the output autoencoder's RMSE.

    ``groups`` are the feature groups, ``low``/``span`` the benign training rows' per-column minimum and range,
    ``ensemble`` the group autoencoders (one Keras model), ``error_low``/``error_span`` the range of their errors
    on the benign training rows and ``output`` the output autoencoder.
    """

    name = "kitnet"
    FILES = ("kitnet_ensemble.keras", "kitnet_output.keras", "kitnet.npz")
    ARRAYS = ("low", "span", "error_low", "error_span")

    def __init__(
        self,
        groups: list[list[int]],
        low: np.ndarray,
        span: np.ndarray,
        ensemble: keras.Model,
        error_low: np.ndarray | None = None,
        error_span: np.ndarray | None = None,
        output: keras.Model | None = None,
    ):
        self.groups, self.low, self.span, self.ensemble = groups, low, span, ensemble
        self.error_low, self.error_span, self.output = error_low, error_span, output

    def _parts(self, X: np.ndarray) -> list[np.ndarray]:
        Z = ((np.asarray(X, dtype=np.float64) - self.low) / self.span).astype(np.float32)
        return [Z[:, group] for group in self.groups]

    def group_errors(self, X: np.ndarray) -> np.ndarray:
        """RMSE of every row within every feature group, shape ``(n_rows, n_groups)``."""
        parts = self._parts(X)
        reconstructed = models.forward(self.ensemble, parts, PREDICT_BATCH_SIZE)
        reconstructed = reconstructed if isinstance(reconstructed, list | tuple) else [reconstructed]
        return np.column_stack([_rmse(r, p) for r, p in zip(reconstructed, parts, strict=True)])

    def normalised_errors(self, X: np.ndarray) -> np.ndarray:
        return ((self.group_errors(X) - self.error_low) / self.error_span).astype(np.float32)

    def score(self, X: np.ndarray) -> np.ndarray:
        E = self.normalised_errors(X)
        return _rmse(models.forward(self.output, E, PREDICT_BATCH_SIZE), E)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The normalisation arrays (what ``kitnet.npz`` holds; the groups go to the manifest)."""
        return {key: np.asarray(getattr(self, key)) for key in self.ARRAYS}

    @classmethod
    def from_arrays(
        cls, groups: list[list[int]], arrays: dict[str, np.ndarray], ensemble: keras.Model, output: keras.Model
    ) -> KitNET:
        """The ensemble again from :meth:`to_arrays`' arrays, its groups and its two Keras models."""
        missing = sorted(set(cls.ARRAYS) - set(arrays))
        if missing:
            raise ValueError(f"KitNET arrays {missing} missing (it holds {sorted(arrays)}). Fix: {FIX}")
        low, span, error_low, error_span = (arrays[key] for key in cls.ARRAYS)
        return cls(groups, low, span, ensemble, error_low=error_low, error_span=error_span, output=output)

    def save(self, folder: str | os.PathLike) -> dict[str, Any]:
        """Write the two Keras models and ``kitnet.npz`` into ``folder``; the groups go to the manifest."""
        folder = Path(folder)
        self.ensemble.save(folder / "kitnet_ensemble.keras")
        self.output.save(folder / "kitnet_output.keras")
        np.savez(folder / "kitnet.npz", **self.to_arrays())
        return {"groups": [[int(i) for i in group] for group in self.groups]}

    @classmethod
    def load(cls, folder: io.ModelFolder) -> KitNET:
        groups = _checked_groups(folder.manifest.get("groups"), str(folder.path / io.MANIFEST))
        arrays = folder.arrays("kitnet.npz")
        ensemble = _load_keras(folder, "kitnet_ensemble.keras")
        return cls.from_arrays(groups, arrays, ensemble, _load_keras(folder, "kitnet_output.keras"))


# ------------------------------------------------------------------------------------------ kNN, Isolation Forest
class NearestBenign:
    """Mean Euclidean distance from a flow to its ``k`` nearest reference (benign training) flows.

    The reference rows are kept here (``reference``, float32): they are what the detector saves."""

    name = "knn"
    FILES = ("reference.npy",)

    def __init__(self, reference: np.ndarray, k: int):
        from sklearn.neighbors import NearestNeighbors

        self.reference = np.asarray(reference, dtype=np.float32)
        self.k = int(min(k, len(self.reference)))
        self.n_reference = len(self.reference)
        self.index = NearestNeighbors(n_neighbors=self.k).fit(self.reference)

    def score(self, X: np.ndarray) -> np.ndarray:
        distances, _ = self.index.kneighbors(np.asarray(X, dtype=np.float32), n_neighbors=self.k)
        return distances.astype(np.float64).mean(axis=1)

    def save(self, folder: str | os.PathLike) -> dict[str, Any]:
        """Write the reference rows as ``reference.npy`` (``k`` is in the detector's configuration)."""
        np.save(Path(folder) / "reference.npy", self.reference)
        return {}

    @classmethod
    def load(cls, folder: io.ModelFolder) -> NearestBenign:
        k = folder.manifest.get("config", {}).get("k")
        if type(k) is not int or k < 1:
            raise ValueError(
                f"{folder.path / io.MANIFEST}: the kNN's 'k' must be a whole number >= 1, not {k!r}. Fix: {FIX}"
            )
        return cls(folder.array("reference.npy"), k)


class IsolationForestScorer:
    """scikit-learn's Isolation Forest as a scorer: a flow's score is minus ``score_samples``."""

    name = "isolation_forest"
    FILES = ("isolation_forest.skops",)
    #: The types an Isolation Forest's skops file holds beyond skops' defaults.
    SKOPS_TYPES = frozenset({"sklearn.tree._tree.Tree"})

    def __init__(self, forest: IsolationForest):
        self.forest = forest

    def score(self, X: np.ndarray) -> np.ndarray:
        return -self.forest.score_samples(np.asarray(X, dtype=np.float32))

    def save(self, folder: str | os.PathLike) -> dict[str, Any]:
        io.dump_skops(self.forest, Path(folder) / "isolation_forest.skops")
        return {}

    @classmethod
    def load(cls, folder: io.ModelFolder) -> IsolationForestScorer:
        return cls(folder.skops("isolation_forest.skops", cls.SKOPS_TYPES))


#: Every scorer class by detector name: what a saved folder's ``detector`` may name.
SCORERS: dict[str, Any] = {cls.name: cls for cls in (DenseAutoencoder, KitNET, NearestBenign, IsolationForestScorer)}


# ------------------------------------------------------------------------------------------ the detector
@dataclass
class Detector:
    """A fitted anomaly scorer and its threshold: ``score(X)`` (higher = more anomalous), ``predict(X)`` -> bool.

    ``config`` holds the grid values it was fitted with. The scores of the last few arrays are kept (by
    identity), so that scoring the same validation or test array again costs nothing: arrays are not modified
    after they were scored.
    """

    name: str
    scorer: Any
    threshold: float = float("nan")
    history: dict[str, list[float]] | None = None
    n_fit_rows: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    _scored: list[tuple[Any, np.ndarray]] = field(default_factory=list, repr=False, compare=False)

    @property
    def label(self) -> str:
        return config_label(self.name, tuple(self.config.items()))

    def score(self, X: np.ndarray) -> np.ndarray:
        for seen, scores in self._scored:
            if seen is X:
                return scores
        scores = self.scorer.score(X)
        self._scored = [(X, scores), *self._scored[:3]]
        return scores

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.score(X) > self.threshold


def _benign_pair(X_train, y_train, X_val, y_val, what: str) -> tuple[np.ndarray, np.ndarray]:
    benign_train, benign_val = benign_rows(X_train, y_train), benign_rows(X_val, y_val)
    if len(benign_train) == 0 or len(benign_val) == 0:
        raise ValueError(f"the {what} needs benign rows in both the training and the validation split")
    return benign_train, benign_val


def _thresholded(detector: Detector, benign_val: np.ndarray, target_fpr: float) -> Detector:
    detector.threshold = metrics.threshold_at_fpr(detector.score(benign_val), target_fpr)
    return detector


# ------------------------------------------------------------------------------------------ fitting
def fit_autoencoder(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    target_fpr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    hidden_units: int = 32,
    code_units: int = 8,
    patience: int = 3,
    learning_rate: float = 1e-3,
) -> Detector:
    """Fit the :func:`autoencoder` on benign training rows (early stopping on benign validation rows) and
    threshold its reconstruction error at ``target_fpr`` of the benign validation rows.

    Only rows with class id 0 are passed to Keras: no attack row is ever seen.
    """
    benign_train, benign_val = _benign_pair(X_train, y_train, X_val, y_val, "autoencoder")
    model = autoencoder(benign_train.shape[1], hidden_units=hidden_units, code_units=code_units, seed=seed)
    history = _fit_reconstruction(
        model, benign_train, benign_val, Training(epochs, batch_size, patience, learning_rate), seed
    )
    detector = Detector(
        "autoencoder",
        DenseAutoencoder(model),
        history=history,
        n_fit_rows=len(benign_train),
        config={"code_units": code_units},
    )
    return _thresholded(detector, benign_val, target_fpr)


def fit_kitnet(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    target_fpr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    max_group_size: int = 10,
    patience: int = 3,
    learning_rate: float = 1e-2,
    hidden_ratio: float = 0.75,
) -> Detector:
    """An ensemble of small autoencoders over feature groups in the style of Kitsune's KitNET (Mirsky et al.,
    NDSS 2018; our own code) on benign training rows, thresholded at ``target_fpr`` of the benign validation rows.

    The features are clustered by correlation into groups of at most ``max_group_size`` (:func:`feature_groups`);
    each group's features are min-max normalised on benign training rows and reconstructed by a one-hidden-layer
    sigmoid autoencoder (``hidden_ratio`` as many hidden units as features); the groups' RMSEs, normalised the
    same way, feed an output autoencoder whose RMSE is the score. A value outside the benign training range
    cannot be reproduced by a sigmoid output, which is what flags it. The group autoencoders are independent
    branches of one Keras model, trained together (their losses add up; no weight is shared, and Adam scales
    each weight's step on its own); then the output autoencoder is trained on the benign training rows'
    normalised group errors. Both stop early on benign validation rows.
    """
    benign_train, benign_val = _benign_pair(X_train, y_train, X_val, y_val, "KitNET ensemble")
    groups = feature_groups(benign_train, max_group_size, seed=seed)
    low, span = _min_max(np.asarray(benign_train, dtype=np.float64))
    keras.utils.set_random_seed(seed)
    inputs = [keras.Input(shape=(len(group),), name=f"group{i}") for i, group in enumerate(groups)]
    outputs = [
        _sigmoid_autoencoder(x, len(g), hidden_ratio, f"group{i}")
        for i, (x, g) in enumerate(zip(inputs, groups, strict=True))
    ]
    kitnet = KitNET(groups, low, span, keras.Model(inputs, outputs, name="kitnet_ensemble"))
    training = Training(epochs, batch_size, patience, learning_rate)
    history = _fit_reconstruction(
        kitnet.ensemble, kitnet._parts(benign_train), kitnet._parts(benign_val), training, seed
    )
    kitnet.error_low, kitnet.error_span = _min_max(kitnet.group_errors(benign_train))
    keras.utils.set_random_seed(seed)
    code = keras.Input(shape=(len(groups),), name="group_errors")
    kitnet.output = keras.Model(
        code, _sigmoid_autoencoder(code, len(groups), hidden_ratio, "output"), name="kitnet_output"
    )
    _fit_reconstruction(
        kitnet.output, kitnet.normalised_errors(benign_train), kitnet.normalised_errors(benign_val), training, seed
    )
    detector = Detector(
        "kitnet", kitnet, history=history, n_fit_rows=len(benign_train), config={"max_group_size": max_group_size}
    )
    return _thresholded(detector, benign_val, target_fpr)


def fit_knn(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    target_fpr: float,
    seed: int,
    k: int = 5,
    max_rows: int = 20_000,
) -> Detector:
    """Mean distance to the ``k`` nearest of at most ``max_rows`` benign training rows (a seeded subsample),
    thresholded at ``target_fpr`` of the benign validation rows."""
    benign_train, benign_val = _benign_pair(X_train, y_train, X_val, y_val, "nearest-neighbour detector")
    if 0 < max_rows < len(benign_train):
        benign_train = benign_train[
            np.sort(np.random.default_rng(seed).choice(len(benign_train), max_rows, replace=False))
        ]
    detector = Detector("knn", NearestBenign(benign_train, k), n_fit_rows=len(benign_train), config={"k": k})
    return _thresholded(detector, benign_val, target_fpr)


def fit_isolation_forest(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    target_fpr: float,
    seed: int,
    n_estimators: int = 100,
) -> Detector:
    """Isolation Forest on benign training rows, thresholded at ``target_fpr`` of the benign validation rows."""
    benign_train, benign_val = _benign_pair(X_train, y_train, X_val, y_val, "Isolation Forest")
    forest = IsolationForest(n_estimators=n_estimators, random_state=seed, n_jobs=-1)
    forest.fit(np.asarray(benign_train, dtype=np.float32))
    detector = Detector(
        "isolation_forest",
        IsolationForestScorer(forest),
        n_fit_rows=len(benign_train),
        config={"n_estimators": n_estimators},
    )
    return _thresholded(detector, benign_val, target_fpr)
