"""The ``k`` fold copies of one network run as one network whose every layer holds the ``k`` sets of weights.

A fusion's pipeline holds ``k`` folds of each deep model: the same architecture ``k`` times, trained on different
rows. Run one by one (or side by side), each copy's every layer is a small operation of its own. Here each layer
is one operation over all the copies at once: the fold axis comes first (``(k, rows, ...)``) and each weight is
stacked along it, so a Dense layer is one batched matrix product (``einsum``) instead of ``k`` small ones, a
convolution one batched product per tap of its kernel, an LSTM step one batched product per step.

:class:`StackedNetworks` reads the layers of the copies (``Conv1D`` with ``same`` padding, ``MaxPooling1D``,
``LSTM``, ``Flatten``, ``Dense``, ``Dropout``: the layers of :mod:`lib.models`), checks that they are the same
architecture in float32, and computes their outputs (and, where asked, the ``fully_connected`` layer's) as
Keras computes them: the same formulas, so the same numbers to float32 rounding (tested against ``predict``).
Any other layer, setting or precision is a :class:`NotStackable` error naming it; the caller keeps the other
runtimes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

#: Activations a stacked Dense or Conv1D layer applies, by Keras' name.
ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "linear": lambda x: x,
    "relu": tf.nn.relu,
    "sigmoid": tf.sigmoid,
    "tanh": tf.tanh,
    "softmax": lambda x: tf.nn.softmax(x, axis=-1),
}


class NotStackable(ValueError):
    """The copies cannot run stacked: another architecture, a layer or setting this module does not compute."""


def _config(layer: keras.layers.Layer) -> dict:
    config = dict(layer.get_config())
    config.pop("name", None)
    config.pop("trainable", None)
    return config


def _check_same(copies: Sequence[keras.Model]) -> None:
    first = copies[0]
    for other in copies[1:]:
        if len(other.layers) != len(first.layers):
            raise NotStackable(f"{first.name} and {other.name} have different numbers of layers")
        for a, b in zip(first.layers, other.layers, strict=True):
            if type(a) is not type(b) or _config(a) != _config(b):
                raise NotStackable(f"layer {a.name} of {first.name} is not the same in {other.name}")


def _activation(layer: keras.layers.Layer, key: str = "activation") -> Callable[[tf.Tensor], tf.Tensor]:
    name = layer.get_config()[key]
    name = name if isinstance(name, str) else str(name.get("config", {}).get("name", name))
    if name not in ACTIVATIONS:
        raise NotStackable(f"layer {layer.name}: activation {name!r} is not computed stacked")
    return ACTIVATIONS[name]


def _stacked(copies: Sequence[keras.Model], index: int) -> list[tf.Tensor]:
    """Each weight of layer ``index`` of the copies, stacked along a first axis (the fold)."""
    weights = [copy.layers[index].get_weights() for copy in copies]
    return [tf.constant(np.stack(parts).astype(np.float32)) for parts in zip(*weights, strict=True)]


class StackedNetworks:
    """The copies ``copies`` (one architecture, ``k`` sets of weights) as one computation: :meth:`__call__` maps
    rows ``(n, n_features, 1)`` to the copies' outputs ``(k, n, outputs)`` and, with ``embedding_layer``, that
    layer's outputs ``(k, n, units)`` too."""

    def __init__(self, copies: Sequence[keras.Model], embedding_layer: str | None = None):
        if not copies:
            raise NotStackable("no network to stack")
        _check_same(copies)
        self.k, self.name, self.embedding_layer = len(copies), copies[0].name, embedding_layer
        self.steps: list[Callable[[tf.Tensor], tf.Tensor]] = []
        self.embedding_step: int | None = None
        for index, layer in enumerate(copies[0].layers):
            policy = getattr(layer, "dtype_policy", None)
            if policy is not None and getattr(policy, "compute_dtype", "float32") != "float32":
                raise NotStackable(f"layer {layer.name} computes in {policy.compute_dtype}, not float32")
            step = self._step(layer, copies, index)
            if step is not None:
                self.steps.append(step)
            if layer.name == embedding_layer:
                self.embedding_step = len(self.steps)
        if embedding_layer is not None and self.embedding_step is None:
            raise NotStackable(f"{self.name} has no layer {embedding_layer!r}")

    def _step(self, layer: keras.layers.Layer, copies: Sequence[keras.Model], index: int):
        """The computation of one layer over the fold axis, or None for a layer that computes nothing at
        inference (the input, dropout)."""
        if isinstance(layer, keras.layers.InputLayer | keras.layers.Dropout):
            return None
        if isinstance(layer, keras.layers.Dense):
            kernel, bias = self._weights(layer, copies, index, 2)
            act = _activation(layer)
            return lambda x: act(tf.einsum("kbi,kio->kbo", x, kernel) + bias[:, None, :])
        if isinstance(layer, keras.layers.Conv1D):
            return self._conv(layer, copies, index)
        if isinstance(layer, keras.layers.MaxPooling1D):
            config = layer.get_config()
            if config.get("data_format", "channels_last") != "channels_last":
                raise NotStackable(f"layer {layer.name}: only channels_last pooling is computed stacked")
            size, stride = int(np.ravel(config["pool_size"])[0]), int(np.ravel(config["strides"])[0])
            padding = str(config["padding"]).upper()

            def pool(x: tf.Tensor) -> tf.Tensor:
                shape = tf.shape(x)
                flat = tf.reshape(x, [-1, x.shape[2], x.shape[3]])  # (k * rows, steps, channels)
                pooled = tf.nn.max_pool1d(flat, size, stride, padding)
                return tf.reshape(pooled, [shape[0], shape[1], pooled.shape[1], x.shape[3]])

            return pool
        if isinstance(layer, keras.layers.Flatten):
            return lambda x: tf.reshape(x, [self.k, -1, int(np.prod(x.shape[2:]))])
        if isinstance(layer, keras.layers.LSTM):
            return self._lstm(layer, copies, index)
        raise NotStackable(f"layer {layer.name} ({type(layer).__name__}) is not computed stacked")

    @staticmethod
    def _weights(layer: keras.layers.Layer, copies: Sequence[keras.Model], index: int, count: int) -> list[tf.Tensor]:
        weights = _stacked(copies, index)
        if len(weights) != count:
            raise NotStackable(f"layer {layer.name} has {len(weights)} weights, {count} expected (a bias off?)")
        return weights

    def _conv(self, layer: keras.layers.Layer, copies: Sequence[keras.Model], index: int):
        config = layer.get_config()
        kernel_size = int(np.ravel(config["kernel_size"])[0])
        if (
            config["padding"] != "same"
            or int(np.ravel(config["strides"])[0]) != 1
            or int(np.ravel(config["dilation_rate"])[0]) != 1
            or config.get("groups", 1) != 1
            or config.get("data_format", "channels_last") != "channels_last"
        ):
            raise NotStackable(f"layer {layer.name}: only stride 1, same padding, ungrouped Conv1D is computed stacked")
        kernel, bias = self._weights(layer, copies, index, 2)  # (k, width, channels, filters), (k, filters)
        act = _activation(layer)
        left = (kernel_size - 1) // 2  # TensorFlow's "same": the extra padding goes to the right

        def conv(x: tf.Tensor) -> tf.Tensor:
            # one batched product per tap of the kernel, summed: no (k, rows, steps, width x channels) copy
            steps = x.shape[2]
            padded = tf.pad(x, [[0, 0], [0, 0], [left, kernel_size - 1 - left], [0, 0]])
            total = bias[:, None, None, :]
            for tap in range(kernel_size):
                total = total + tf.einsum("kbsc,kcf->kbsf", padded[:, :, tap : tap + steps, :], kernel[:, tap])
            return act(total)

        return conv

    def _lstm(self, layer: keras.layers.Layer, copies: Sequence[keras.Model], index: int):
        config = layer.get_config()
        settings = ("return_sequences", "return_state", "go_backwards", "stateful")
        if any(config.get(key) for key in settings) or not config.get("use_bias", True):
            raise NotStackable(f"layer {layer.name}: only a forward LSTM returning its last output is computed stacked")
        act, recurrent_act = _activation(layer), _activation(layer, "recurrent_activation")
        kernel, recurrent, bias = self._weights(layer, copies, index, 3)  # (k, in, 4u), (k, u, 4u), (k, 4u)
        units = int(config["units"])

        def lstm(x: tf.Tensor) -> tf.Tensor:
            projected = tf.einsum("kbsc,kcg->kbsg", x, kernel) + bias[:, None, None, :]
            h = tf.zeros_like(projected[:, :, 0, :units])
            c = h
            for step in range(x.shape[2]):  # the gates in Keras' order: input, forget, cell, output
                z = projected[:, :, step, :] + tf.einsum("kbu,kug->kbg", h, recurrent)
                i, f, g, o = tf.split(z, 4, axis=-1)
                c = recurrent_act(f) * c + recurrent_act(i) * act(g)
                h = recurrent_act(o) * act(c)
            return h

        return lstm

    def __call__(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor | None]:
        """``(outputs, embedding)`` of rows ``x`` ``(n, n_features, 1)``: ``(k, n, outputs)`` and ``(k, n, units)``
        (None without ``embedding_layer``)."""
        h = tf.broadcast_to(x[None], [self.k, tf.shape(x)[0], x.shape[1], x.shape[2]])
        embedding = None
        for position, step in enumerate(self.steps, start=1):
            h = step(h)
            if position == self.embedding_step:
                embedding = h
        return h, embedding
