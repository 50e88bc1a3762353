"""Intervals that include the sampling of the test set: a bootstrap of the test rows by group, pooled with the seeds.

A score measured on one test set says nothing about how it would move on another sample of the same traffic,
and the flows of one host pair are not independent samples: a capture's thousand C&C flows are one
conversation seen a thousand times. So the test rows are resampled **by group** (:func:`test_groups`: the host
pair where a row has both addresses, else its source file, else the row alone), whole groups at a time, and
within two strata (groups that hold an attack flow and groups that do not), so that every resample keeps both
kinds of traffic at about the test set's prevalence. Each resample also draws the seeds again (with
replacement): its score is the mean over the drawn seeds of each seed's score on the resampled rows, and the 95 %
percentile interval of these scores covers both the test rows' sampling and the seeds' spread.

Two models of one run are compared on the **same** resamples and the same seed draws (a paired bootstrap): the
interval of their difference is much narrower than either interval when they err on the same flows.

Vectorised: the scores of a resample are computed from confusion counts per group (``groups × classes²``) and
the resample's group counts, never by refitting or re-predicting; 1,000 resamples of a run's test set take
milliseconds per model. Not imported by :mod:`lib.metrics` itself (the notebooks that train do not use it, so it
is not part of their stages' code: :mod:`lib.run.code`); the report uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.metrics.compare import Interval

#: Default number of resamples.
N_BOOT = 1000
#: The scores :func:`replicate_scores` computes (the names of :func:`lib.metrics.evaluate`).
SCORES = ("accuracy", "precision", "recall", "f1", "f1_macro", "fpr", "detection")


@dataclass(frozen=True)
class Resamples:
    """``n_boot`` resamples of one test set: how often each group is drawn in each (``weights``, resamples x
    groups), which seeds each draws (``seed_draws``, resamples x seeds, indices into ``seeds``), each test row's
    group (``group_of_row``) and how the groups were made, in words (``how``)."""

    group_of_row: np.ndarray
    weights: np.ndarray
    seed_draws: np.ndarray
    seeds: tuple[int, ...]
    how: str

    @property
    def n_boot(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_groups(self) -> int:
        return int(self.weights.shape[1])


def test_groups(rows: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Each test row's group for the bootstrap (ids 0..G-1) and what the groups are, in words: the unordered
    address pair (:func:`lib.preprocess.group_keys`: a host pair, or a conversation key such as ``Flow ID``)
    where a row has one, else its ``source_file``, else the row alone."""
    from lib.datasets import DataError
    from lib.preprocess.splits import group_keys  # the split's own notion of a group

    n = len(rows)
    try:
        keys, columns = group_keys(rows)
    except DataError:
        keys, columns = np.full(n, -1, dtype=np.int64), []
    groups = np.where(keys >= 0, keys, -1).astype(np.int64)
    parts = [f"{columns and '/'.join(columns)} ({int((keys >= 0).sum()):,} rows)"] if (keys >= 0).any() else []
    rest = groups < 0
    if rest.any() and "source_file" in rows:
        files = rows["source_file"].astype("string").to_numpy()
        known = rest & pd.notna(files)
        codes = pd.factorize(files[known])[0]
        groups[known] = groups.max(initial=-1) + 1 + codes
        parts.append(f"source file ({int(known.sum()):,} rows without addresses)")
        rest = groups < 0
    if rest.any():
        groups[rest] = groups.max(initial=-1) + 1 + np.arange(int(rest.sum()))
        parts.append(f"the row alone ({int(rest.sum()):,} rows)")
    return pd.factorize(groups)[0].astype(np.int64), "; ".join(parts)


def resamples(
    group_of_row: np.ndarray,
    y_true: np.ndarray,
    seeds: Sequence[int],
    n_boot: int = N_BOOT,
    seed: int = 0,
    how: str = "",
) -> Resamples:
    """``n_boot`` stratified resamples of the groups (groups holding an attack row, ``y_true != 0``, and the
    others, each stratum resampled to its own number of groups) and of ``seeds``, drawn with ``seed``."""
    if n_boot < 1:
        raise ValueError(f"the number of resamples must be at least 1, got {n_boot}")
    group_of_row, y_true = np.asarray(group_of_row, dtype=np.int64), np.asarray(y_true)
    n_groups = int(group_of_row.max()) + 1
    attack = np.zeros(n_groups, dtype=bool)
    attack[group_of_row[y_true != 0]] = True
    rng = np.random.default_rng(seed)
    weights = np.zeros((n_boot, n_groups), dtype=np.float64)
    for members in (np.flatnonzero(attack), np.flatnonzero(~attack)):
        if not len(members):
            continue
        drawn = members[rng.integers(0, len(members), size=(n_boot, len(members)))]
        np.add.at(weights, (np.repeat(np.arange(n_boot), len(members)), drawn.ravel()), 1.0)
    seed_draws = rng.integers(0, len(seeds), size=(n_boot, len(seeds)))
    said = (
        f"{n_boot:,} resamples of {n_groups:,} test groups ({int(attack.sum()):,} with attack flows) by "
        f"{how or 'group'}, seeds drawn again in each"
    )
    return Resamples(group_of_row, weights, seed_draws, tuple(int(s) for s in seeds), said)


def group_confusion(group_of_row: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion counts per group: ``(groups, n_classes * n_classes)``, true class major."""
    n_groups = int(np.asarray(group_of_row).max()) + 1
    cell = (np.asarray(group_of_row) * n_classes + np.asarray(y_true)) * n_classes + np.asarray(y_pred)
    counts = np.bincount(cell.astype(np.int64), minlength=n_groups * n_classes * n_classes)
    return counts.reshape(n_groups, n_classes * n_classes).astype(np.float64)


def scores_from_confusion(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """The scores of :data:`SCORES` from confusion matrices ``(..., K, K)`` (rows: true class), as
    :func:`lib.metrics.evaluate` defines them: binary (``K = 2``) precision, recall and F1 of the attack class,
    multi-class their macro averages over the classes present; ``f1_macro`` over the classes present;
    ``fpr`` benign rows called any attack; ``detection`` attack rows called any attack (nan without such rows)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    k = confusion.shape[-1]
    support, predicted = confusion.sum(axis=-1), confusion.sum(axis=-2)
    tp = np.diagonal(confusion, axis1=-2, axis2=-1)
    total = support.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
        present = support > 0
        n_present = present.sum(axis=-1)
        macro = lambda v: np.where(n_present > 0, (v * present).sum(axis=-1) / n_present, np.nan)  # noqa: E731
        benign = support[..., 0]
        attacks = total - benign
        out = {
            "accuracy": tp.sum(axis=-1) / total,
            "f1_macro": macro(f1),
            "fpr": np.where(benign > 0, (benign - confusion[..., 0, 0]) / benign, np.nan),
            "detection": np.where(attacks > 0, (attacks - confusion[..., 1:, 0].sum(axis=-1)) / attacks, np.nan),
        }
    if k == 2:
        out |= {"precision": precision[..., 1], "recall": recall[..., 1], "f1": f1[..., 1]}
    else:
        out |= {"precision": macro(precision), "recall": macro(recall), "f1": macro(f1)}
    return out


def replicate_scores(
    y_true: np.ndarray, predictions: Mapping[int, np.ndarray], n_classes: int, draws: Resamples
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """One model's scores: the mean over its seeds on the whole test set, and each resample's score (the mean over
    the resample's drawn seeds of each seed's score on the resampled rows). ``predictions`` maps every seed of
    ``draws`` to that seed's predicted class ids of the test rows (``argmax`` of the probabilities, or an alert
    as class 1)."""
    missing = [s for s in draws.seeds if s not in predictions]
    if missing:
        raise ValueError(f"no predictions for seed(s) {missing} (the resamples draw {list(draws.seeds)})")
    per_seed_full, per_seed_boot = [], []
    for s in draws.seeds:
        counts = group_confusion(draws.group_of_row, y_true, np.asarray(predictions[s]), n_classes)
        per_seed_full.append(counts.sum(axis=0).reshape(n_classes, n_classes))
        per_seed_boot.append((draws.weights @ counts).reshape(draws.n_boot, n_classes, n_classes))
    full = scores_from_confusion(np.stack(per_seed_full))  # score -> (seeds,)
    boot = scores_from_confusion(np.stack(per_seed_boot, axis=1))  # score -> (resamples, seeds)
    rows = np.arange(draws.n_boot)[:, None]
    point = {name: float(np.mean(values)) for name, values in full.items()}
    return point, {name: values[rows, draws.seed_draws].mean(axis=1) for name, values in boot.items()}


def percentile_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The percentile interval of resampled values (resamples where the score is undefined left out; nan, nan
    when all are)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


class PairedIntervals:
    """The paired bootstrap intervals of differences between the models of one run (the one rule's
    ``interval_of``, :func:`lib.metrics.compare.call`): every model scored on the same resamples and seed draws
    (``draws``); ``proba_of(model, seed)`` gives a model's test probabilities. A difference's interval is the
    percentile interval of the resampled differences, times ``scale`` (100: percentage points). One seed gives
    none: with one seed the rule calls no gain or loss, whatever the test rows say."""

    def __init__(self, y_true: np.ndarray, proba_of, n_classes: int, draws: Resamples, scale: float = 1.0):
        self.y_true, self.proba_of, self.n_classes, self.draws, self.scale = y_true, proba_of, n_classes, draws, scale
        self._cache: dict[str, tuple[dict[str, float], dict[str, np.ndarray]]] = {}

    def scores(self, model: str) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """:func:`replicate_scores` of ``model`` (computed once)."""
        if model not in self._cache:
            predicted = {s: np.asarray(self.proba_of(model, s)).argmax(axis=1) for s in self.draws.seeds}
            self._cache[model] = replicate_scores(self.y_true, predicted, self.n_classes, self.draws)
        return self._cache[model]

    def difference(self, model: str, reference: str, metric: str) -> tuple[float, float, float]:
        """``model`` minus ``reference`` on ``metric``: the difference of the means over seeds and its interval."""
        (a, boot_a), (b, boot_b) = self.scores(model), self.scores(reference)
        low, high = percentile_interval(boot_a[metric] - boot_b[metric])
        return self.scale * (a[metric] - b[metric]), self.scale * low, self.scale * high

    def __call__(self, diff: Mapping) -> Interval | None:
        if len(self.draws.seeds) < 2:
            return None
        _, low, high = self.difference(diff["model"], diff["reference"], diff["metric"])
        return Interval(low, high, f"95 % paired bootstrap interval ({self.draws.how})")
