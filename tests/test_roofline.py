"""``forward_flops`` of ``benchmarks/bench_roofline.py`` against FLOPs counted by hand on tiny models."""

from __future__ import annotations

import keras
import pytest

from lib import models


@pytest.fixture(scope="module")
def roofline(benchmark_script):
    return benchmark_script("bench_roofline")


def test_mlp_is_the_sum_of_its_dense_layers(roofline):
    model = models.build("mlp", 10, 3, seed=0, mlp_units=8, dense_units=4)
    # Dense 10->8, Dense 8->4, Dense 4->3 (softmax); flatten and dropout cost nothing
    assert roofline.forward_flops(model) == 2 * 10 * 8 + 2 * 8 * 4 + 2 * 4 * 3


def test_cnn_lstm_counts_convolutions_lstm_steps_and_head(roofline):
    model = models.build(
        "cnn_lstm", 10, 2, seed=0, filters=4, kernel_size=3, n_conv=2, pool_size=2, lstm_units=5, dense_units=6
    )
    conv1 = 2 * 3 * 1 * 4 * 10  # kernel x in_channels x filters x length ("same" padding keeps 10)
    conv2 = 2 * 3 * 4 * 4 * 10
    lstm = 5 * (2 * 4 * 5 * (4 + 5) + 10 * 5)  # MaxPool(2) -> 5 steps of 4 channels, 5 units
    head = 2 * 5 * 6 + 2 * 6 * 1  # Dense 5->6, sigmoid unit
    assert roofline.forward_flops(model) == conv1 + conv2 + lstm + head
    assert roofline.lstm_steps(model) == 5


def test_a_larger_pool_shortens_the_lstm_sequence(roofline):
    settings = {"filters": 4, "lstm_units": 5, "dense_units": 6}
    pool2 = models.build("cnn_lstm", 12, 2, seed=0, pool_size=2, **settings)
    pool4 = models.build("cnn_lstm", 12, 2, seed=0, pool_size=4, **settings)
    assert (roofline.lstm_steps(pool2), roofline.lstm_steps(pool4)) == (6, 3)
    lstm_step = 2 * 4 * 5 * (4 + 5) + 10 * 5
    assert roofline.forward_flops(pool2) - roofline.forward_flops(pool4) == 3 * lstm_step


def test_mixed_precision_does_not_change_the_count(roofline):
    settings = {"filters": 4, "lstm_units": 5, "dense_units": 6}
    f32 = models.build("cnn_lstm", 10, 3, seed=0, **settings)
    bf16 = models.build("cnn_lstm", 10, 3, seed=0, precision="mixed_bfloat16", **settings)
    assert roofline.forward_flops(f32) == roofline.forward_flops(bf16)


def test_a_layer_without_a_formula_is_an_error(roofline):
    inputs = keras.Input(shape=(10, 1))
    x = keras.layers.GRU(4, name="gru")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    with pytest.raises(ValueError, match="gru"):
        roofline.forward_flops(model)
