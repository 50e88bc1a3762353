"""lib/metrics/compare.py: the one rule that calls a difference (gain, loss, level with, not separable here, one
seed) and a paper's number (reproduces, not supported, does not reproduce), its sentences and the fusion verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib import metrics
from lib.metrics import compare
from lib.metrics.compare import Interval


@pytest.mark.parametrize(
    ("mean", "low", "high", "expected"),
    [
        (0.5, 0.3, 0.7, compare.GAIN),  # excludes zero, beyond the tie margin
        (-0.5, -0.7, -0.3, compare.LOSS),
        (0.06, 0.06, 0.06, compare.LEVEL),  # a zero-width interval above zero, but under two flows: level
        (0.0, -0.1, 0.1, compare.LEVEL),
        (0.1, 0.05, 0.25, compare.WIDE),  # excludes zero, under the margin, wider than it
        (8.5, -20.0, 37.0, compare.WIDE),  # a large mean gap inside a wide interval is not a gain
        (0.2, -0.1, 0.5, compare.WIDE),
    ],
)
def test_a_difference_is_a_gain_or_a_loss_only_beyond_its_interval_and_the_tie_margin(mean, low, high, expected):
    assert compare.call(mean, Interval(low, high, "test"), tie=0.12) == expected


def test_one_seed_is_never_a_gain_or_a_loss():
    assert compare.call(30.0, None, tie=0.0) == compare.ONE_SEED
    one = compare.seed_interval({"n": 1, "ci_low": float("nan"), "ci_high": float("nan")})
    assert one is None and compare.claim_call([compare.GAIN, compare.ONE_SEED]) == compare.ONE_SEED_WORDS


def test_the_interval_is_an_input_a_bootstrap_can_replace():
    diff = {"model": "a", "reference": "b", "metric": "f1", "n": 3, "model_mean": 0.9, "reference_mean": 0.8,
            "mean": 0.1, "std": 0.01, "ci_low": 0.08, "ci_high": 0.12}  # fmt: skip
    assert "a is better than b" in compare.describe_difference(diff, tie=0.01)
    wide = compare.describe_difference(diff, tie=0.01, interval_of=lambda d: Interval(-0.2, 0.4, "bootstrap"))
    assert "bootstrap [-0.2000, +0.4000]" in wide and "a is not separable here from b" in wide


@pytest.mark.parametrize(
    ("mean", "low", "high", "paper", "expected"),
    [
        (94.5, 94.4, 94.6, 95.0, compare.NOT_REPRODUCED),  # outside the interval (and the margin)
        (97.3, 95.9, 98.8, 89.5, compare.NOT_REPRODUCED),  # ours higher: the paper's number is not reproduced either
        (80.0, 63.7, 96.2, 95.0, compare.NOT_SUPPORTED),  # lower, but the interval reaches it
        (95.5, 93.1, 97.9, 95.0, compare.REPRODUCES),
        (94.95, 94.9, 94.95, 95.0, compare.REPRODUCES),  # within the tie margin of the paper
    ],
)
def test_a_papers_number_does_not_reproduce_only_outside_our_interval(mean, low, high, paper, expected):
    assert compare.paper_call(mean, Interval(low, high, "test"), paper, tie=0.12) == expected


def test_a_difference_the_seeds_do_not_vary_is_not_separable_unless_it_is_a_tie():
    # XGBoost's histogram trees give the same model on every seed: an interval of no width is no evidence
    no_width = Interval(1.5, 1.5, "95 % CI over 3 paired seeds")
    assert compare.call(1.5, no_width, tie=0.12) == compare.NO_SPREAD
    assert compare.call(0.1, Interval(0.1, 0.1, "same"), tie=0.12) == compare.LEVEL  # within two flows: level
    assert compare.paper_call(90.0, Interval(90.0, 90.0, "same"), 95.0, tie=0.12) == compare.NO_SPREAD_WORDS
    assert compare.paper_call(95.0, Interval(95.0, 95.0, "same"), 95.0, tie=0.12) == compare.REPRODUCES
    assert compare.claim_call([compare.GAIN, compare.NO_SPREAD]) == compare.NOT_SUPPORTED
    runs = pd.DataFrame({"model": ["a"] * 3 + ["b"] * 3, "seed": [1, 2, 3] * 2, "f1": [0.9] * 3 + [0.8] * 3})
    diff = metrics.paired_difference(runs, "a", "b", "f1")
    assert "a is not separable (the seeds do not vary it) from b" in compare.describe_difference(diff, tie=0.01)


def test_a_claim_reproduces_only_when_every_difference_is_a_gain():
    assert compare.claim_call([compare.GAIN, compare.GAIN]) == compare.REPRODUCES
    assert compare.claim_call([compare.GAIN, compare.LEVEL]) == compare.NOT_SUPPORTED
    assert compare.claim_call([compare.WIDE, compare.LOSS]) == compare.NOT_REPRODUCED
    with pytest.raises(ValueError, match="at least one difference"):
        compare.claim_call([])


def test_paired_difference_sentences():
    seeds = [1, 2, 3, 4]
    runs = pd.DataFrame(
        [{"model": "fusion", "seed": s, "f1": 0.90 + 0.001 * s} for s in seeds]
        + [{"model": "single", "seed": s, "f1": 0.80 + 0.002 * s} for s in seeds]
        + [{"model": "same", "seed": s, "f1": 0.90 + 0.001 * s} for s in seeds]
    )
    better = metrics.paired_difference(runs, "fusion", "single")
    assert better["n"] == 4 and better["ci_low"] > 0
    assert "fusion is better than single" in metrics.describe_difference(better)
    assert "single is worse than fusion" in metrics.describe_difference(
        metrics.paired_difference(runs, "single", "fusion")
    )
    assert "level with" in metrics.describe_difference(metrics.paired_difference(runs, "fusion", "same"))
    one = metrics.paired_difference(runs[runs["seed"] == 1], "fusion", "single")
    assert "one seed: not separable" in metrics.describe_difference(one)
    noisy = runs.assign(f1=runs["f1"] + np.r_[[0.05, -0.05, 0.04, -0.04], np.zeros(8)])
    assert "not separable here" in metrics.describe_difference(metrics.paired_difference(noisy, "fusion", "same"))
    macro = metrics.paired_difference(runs.rename(columns={"f1": "f1_macro"}), "fusion", "single", "f1_macro")
    assert metrics.describe_difference(macro).startswith("fusion vs single: macro-F1 ")
    with pytest.raises(ValueError, match="no 'f1_macro' column"):
        metrics.paired_difference(runs, "fusion", "single", "f1_macro")


def test_a_difference_of_a_test_flow_is_level_not_a_win():
    runs = pd.DataFrame(
        {"model": ["fusion_xgboost"] * 3 + ["cnn_lstm"] * 3, "seed": [1, 2, 3] * 2, "f1": [0.9453] * 3 + [0.9448] * 3}
    )
    diff = metrics.paired_difference(runs, "fusion_xgboost", "cnn_lstm")
    assert diff["ci_low"] > 0  # a zero-width interval above zero ...
    assert "level with" in metrics.describe_difference(diff, tie=2 / 1663)  # ... but under two of 1,663 test flows
    assert metrics.verdict([diff], "cnn_lstm", {}, tie=2 / 1663).startswith("Fusion adds nothing measurable")
    no_margin = metrics.verdict([diff], "cnn_lstm", {}, tie=0.0)  # the seeds do not vary it: no evidence either way
    assert no_margin.startswith("Fusion adds nothing measurable") and "(the seeds do not vary it)" in no_margin
    varied = runs.assign(f1=runs["f1"] + [0.0, 0.0001, 0.0002, 0.0, 0.0, 0.0])
    gain = metrics.paired_difference(varied, "fusion_xgboost", "cnn_lstm")
    assert metrics.verdict([gain], "cnn_lstm", {}, tie=0.0).startswith("Fusion adds something")


def test_verdict_compares_with_the_best_single_deep_model_and_with_xgboost():
    seeds = [1, 2, 3]
    f1 = {"fusion_xgboost_features": 0.99, "fusion_xgboost": 0.95, "cnn_lstm": 0.90, "xgboost": 0.97}
    spread = {"fusion_xgboost_features": 0.2, "fusion_xgboost": 0.0, "cnn_lstm": 0.5, "xgboost": 1.0}  # per seed
    runs = pd.DataFrame(
        [{"model": m, "seed": s, "f1_macro": v + 0.001 * s * spread[m]} for m, v in f1.items() for s in seeds]
    )
    found = [
        metrics.paired_difference(runs, fused, reference, "f1_macro")
        for fused in ("fusion_xgboost", "fusion_xgboost_features")
        for reference in ("cnn_lstm", "xgboost")
    ]
    names = metrics.CONTENDER_NAMES
    text = metrics.verdict(found, "cnn_lstm", names, tie=0.001)
    assert text.startswith("Fusion adds something here, on macro-F1 against the best single deep model (CNN-LSTM")
    assert "better than CNN-LSTM Hybrid: Fusion (XGBoost meta), Fusion + features (XGBoost meta)." in text
    assert text.endswith(
        "Against XGBoost (features): better than XGBoost (features): Fusion + features (XGBoost meta); "
        "worse than XGBoost (features): Fusion (XGBoost meta)."
    )
    one_seed = [metrics.paired_difference(runs[runs["seed"] == 1], "fusion_xgboost", "cnn_lstm", "f1_macro")]
    text = metrics.verdict(one_seed, "cnn_lstm", names, tie=0.0)
    assert text.startswith("One seed: not separable") and "XGBoost (features)" in text


def test_the_tie_margin_is_two_test_flows():
    assert compare.tie_margin(1663, scale=100) == pytest.approx(200 / 1663)
    assert compare.tie_margin(0) == 0.0
