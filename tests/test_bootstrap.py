"""lib/metrics/bootstrap.py: a test-set bootstrap by group, pooled with the seeds, equal to evaluate() unresampled."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lib import metrics
from lib.metrics import bootstrap


def predictions(y: np.ndarray, n_classes: int, error: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(y)) < error
    return np.where(wrong, rng.integers(0, n_classes, len(y)), y)


def one_hot(pred: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes)[pred]


@pytest.mark.parametrize("n_classes", [2, 4])
def test_unresampled_scores_are_evaluates_scores(n_classes):
    rng = np.random.default_rng(1)
    y = rng.integers(0, n_classes, 500)
    y[:5] = 0
    groups = rng.integers(0, 40, 500)
    preds = {s: predictions(y, n_classes, 0.2 + 0.05 * i, s) for i, s in enumerate((42, 43, 44))}
    draws = bootstrap.resamples(groups, y, list(preds), n_boot=5, seed=0)
    point, _ = bootstrap.replicate_scores(y, preds, n_classes, draws)
    names = [f"c{i}" for i in range(n_classes)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class never predicted: a MetricWarning, known
        found = [metrics.evaluate(y, one_hot(p, n_classes), names) for p in preds.values()]
    for score in ("accuracy", "precision", "recall", "f1", "f1_macro", "fpr"):
        assert point[score] == pytest.approx(np.mean([r[score] for r in found]), abs=1e-12), score
    identity = bootstrap.Resamples(groups, np.ones((1, groups.max() + 1)), np.array([[0]]), (42,), "")
    assert bootstrap.replicate_scores(y, preds, n_classes, identity)[1]["f1_macro"][0] == pytest.approx(
        found[0]["f1_macro"]
    )


def test_groups_are_resampled_whole_and_every_resample_keeps_attack_and_benign_groups():
    y = np.array([0] * 90 + [1] * 10)
    groups = np.repeat(np.arange(20), 5)  # groups 18 and 19 hold the attacks
    draws = bootstrap.resamples(groups, y, [1, 2], n_boot=200, seed=3)
    attack_groups = draws.weights[:, 18:].sum(axis=1)
    assert (attack_groups == 2).all() and (draws.weights[:, :18].sum(axis=1) == 18).all()
    assert set(np.unique(draws.seed_draws)) == {0, 1}
    again = bootstrap.resamples(groups, y, [1, 2], n_boot=200, seed=3)
    assert np.array_equal(draws.weights, again.weights)  # seeded


def test_an_interval_is_wider_when_the_errors_sit_in_a_few_groups():
    """The same number of errors, spread over many host pairs or packed into two: the row-wise view is the same,
    the grouped interval is not, which is why flows are resampled by host pair."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 500)
    groups = np.concatenate([np.repeat(np.arange(50), 10), 50 + np.repeat(np.arange(50), 10)])
    spread = y.copy()
    spread[rng.choice(np.arange(500, 1000), 100, replace=False)] = 0  # 100 missed attacks, everywhere
    packed = y.copy()
    packed[500:600] = 0  # the same 100 missed attacks, in ten host pairs
    draws = bootstrap.resamples(groups, y, [0], n_boot=500, seed=1)
    widths = []
    for pred in (spread, packed):
        _, boot = bootstrap.replicate_scores(y, {0: pred}, 2, draws)
        low, high = bootstrap.percentile_interval(boot["recall"])
        widths.append(high - low)
        assert low <= 0.8 <= high
    assert widths[1] > 2 * widths[0]


def test_a_paired_difference_is_narrower_than_either_interval():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 800)
    groups = rng.integers(0, 80, 800)
    a = predictions(y, 2, 0.3, 0)
    b = a.copy()
    flip = rng.choice(800, 8, replace=False)
    b[flip] = y[flip]  # b corrects 8 of a's flows
    draws = bootstrap.resamples(groups, y, [0], n_boot=400, seed=0)
    (pa, ba), (pb, bb) = (bootstrap.replicate_scores(y, {0: p}, 2, draws) for p in (a, b))
    diff = bootstrap.percentile_interval(bb["f1_macro"] - ba["f1_macro"])
    single = bootstrap.percentile_interval(ba["f1_macro"])
    assert diff[0] >= 0 and diff[1] - diff[0] < (single[1] - single[0]) / 3
    assert pb["f1_macro"] > pa["f1_macro"]


def test_test_groups_use_the_host_pair_then_the_file_then_the_row():
    rows = pd.DataFrame(
        {
            "id.orig_h": ["10.0.0.1", "10.0.0.2", "10.0.0.2", None, None, None],
            "id.resp_h": ["10.0.0.2", "10.0.0.1", "10.0.0.3", None, None, None],
            "source_file": ["a", "a", "a", "b", "b", None],
        }
    )
    groups, how = bootstrap.test_groups(rows)
    assert groups[0] == groups[1] != groups[2]  # one pair whichever the direction
    assert groups[3] == groups[4] and len(set(groups)) == 4
    assert "id.orig_h/id.resp_h (3 rows)" in how and "source file (2 rows" in how and "the row alone (1 rows)" in how
