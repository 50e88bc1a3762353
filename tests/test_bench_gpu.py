"""The verdicts of ``benchmarks/bench_gpu.py``: mixed precision "within seed noise", tiling, refused precisions."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench_gpu(benchmark_script):
    return benchmark_script("bench_gpu")


def rows(model, precision, scores):
    return [{"model": model, "precision": precision, "seed": 42 + i, "f1_macro": s} for i, s in enumerate(scores)]


def test_a_difference_inside_the_seed_spread_is_within_noise(bench_gpu):
    verdict = bench_gpu.seed_noise(
        rows("mlp", "float32", [0.80, 0.82, 0.84]) + rows("mlp", "mixed_float16", [0.81, 0.83, 0.85])
    )
    assert len(verdict) == 1
    assert verdict[0]["difference"] == pytest.approx(1.0)
    assert verdict[0]["within seed noise"]


def test_a_difference_beyond_the_seed_spread_is_not(bench_gpu):
    verdict = bench_gpu.seed_noise(
        rows("mlp", "float32", [0.80, 0.81, 0.80]) + rows("mlp", "mixed_bfloat16", [0.70, 0.71, 0.70])
    )
    assert verdict[0]["difference"] == pytest.approx(-10.0)
    assert not verdict[0]["within seed noise"]


def test_refused_precisions_and_single_seeds_get_no_verdict(bench_gpu):
    refused = [
        {"model": "lstm_only", "precision": "mixed_bfloat16", "seed": s, "error": "ValueError"} for s in (42, 43)
    ]
    one_seed = rows("cnn_only", "float32", [0.9, 0.91]) + rows("cnn_only", "mixed_float16", [0.9])
    assert bench_gpu.seed_noise(rows("lstm_only", "float32", [0.6, 0.62]) + refused + one_seed) == []


def test_tile_repeats_rows_in_order(bench_gpu):
    X, y = np.arange(6).reshape(3, 2), np.array([0, 1, 2])
    Xt, yt = bench_gpu.tile(X, y, 7)
    assert Xt.shape == (7, 2) and list(yt) == [0, 1, 2, 0, 1, 2, 0]
    assert (Xt[3] == X[0]).all()
