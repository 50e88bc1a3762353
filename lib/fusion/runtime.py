"""Every network of a fusion scored in one call (:class:`SideBySide`), and the runtime chosen by measurement.

A fusion's pipeline holds ``k`` folds of up to four networks each, all over one input (a flow's preprocessed
features as a sequence). Called one by one, each network costs a call of its own and runs alone on the cores.
:class:`SideBySide` runs them all as one TensorFlow graph (``tf.function``): one call per batch, the networks
independent branches the executor runs side by side, on float32 batches of fixed sizes made once (a batch is
cut into pieces of those sizes, so a graph is traced once per size; only a last piece of under 64 rows is
padded). Its runtimes (:data:`RUNTIMES`):

* ``tensorflow``: the graph as TensorFlow runs it;
* ``xla``: the same graph compiled by XLA (``jit_compile=True``), which fuses the operations of each network;
* ``stacked`` and ``stacked_xla``: the ``k`` fold copies of each network as one network whose layers hold the
  ``k`` sets of weights (:mod:`lib.fusion.stacked`: one batched operation per layer instead of ``k``), without and
  with XLA. A pipeline whose networks cannot be stacked (a layer or precision :mod:`lib.fusion.stacked` does not
  compute) keeps the other runtimes.

:func:`choose_runtime` measures each on rows of the data to be scored, refuses one whose deep outputs, or the final
scores made from them, differ from those of the networks' own ``predict`` by more than :data:`TOLERANCE`, and
returns the fastest with what it measured.
The deep outputs are assembled exactly as :func:`lib.fusion.stacking.deep_outputs` assembles them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from lib import models
from lib.fusion.stacked import StackedNetworks
from lib.fusion.stacking import EMBEDDING_LAYER, EMBEDDING_MODEL, check_inputs, deep_outputs

RUNTIMES = ("tensorflow", "xla", "stacked", "stacked_xla")
#: The runtimes compiled by XLA.
COMPILED = ("xla", "stacked_xla")
#: The largest difference allowed between a runtime's deep outputs and those of the networks' own ``predict``.
TOLERANCE = 1e-5
#: The batch sizes a graph is traced for (an XLA program has fixed shapes: a few sizes, each traced once, instead
#: of one per length). A batch is cut into pieces of the largest size, then of each smaller size that fits what is
#: left; only a last piece under the smallest size is padded (at most 63 rows computed for nothing per batch).
BATCH_SIZES = (64, 128, 256, 512, 1024, 2048, 4096)


def pieces(n: int) -> list[tuple[int, int, int]]:
    """``(start, rows, size)`` of each piece :class:`SideBySide` cuts ``n`` rows into: ``rows`` of the batch
    from ``start``, run as a batch of ``size`` (``rows`` padded up to it only for the last piece)."""
    out, start = [], 0
    while start < n:
        left = n - start
        size = next((s for s in reversed(BATCH_SIZES) if s <= left), BATCH_SIZES[0])
        rows = min(size, left)
        out.append((start, rows, size))
        start += rows
    return out


def _outputs_of(model: keras.Model, with_embedding: bool) -> keras.Model:
    """``model``, or a model sharing its weights with its output and its ``fully_connected`` layer's."""
    if not with_embedding:
        return model
    outputs = [model.outputs[0], model.get_layer(EMBEDDING_LAYER).output]
    return keras.Model(model.inputs, outputs, name=f"{model.name}_and_embedding")


class SideBySide:
    """The networks of every fold of ``fold_models`` as one graph over the shared input: :meth:`fold_outputs` is
    :func:`lib.fusion.stacking.deep_outputs` of each fold (the same numbers, within :data:`TOLERANCE`) from one
    call per batch. ``runtime``: one of :data:`RUNTIMES`."""

    def __init__(self, fold_models: Sequence[dict[str, keras.Model]], inputs: str, runtime: str = "tensorflow"):
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
        names = list(fold_models[0])
        check_inputs(inputs, names)
        self.inputs, self.runtime, self.n_folds = inputs, runtime, len(fold_models)
        self.n_features = int(fold_models[0][names[0]].inputs[0].shape[1])
        embedded = inputs in ("embedding", "both")
        self.layout: list[tuple[int, str, bool]] = []  # (fold, network, with its embedding) per network called
        self._networks = []
        for k, fold in enumerate(fold_models):
            for name in names:
                if inputs == "embedding" and name != EMBEDDING_MODEL:
                    continue
                with_embedding = embedded and name == EMBEDDING_MODEL
                self._networks.append(_outputs_of(fold[name], with_embedding))
                self.layout.append((k, name, with_embedding))
        self._stacks: dict[str, StackedNetworks] = {}
        if runtime.startswith("stacked"):  # NotStackable when a layer or precision cannot be
            called = dict.fromkeys(name for _, name, _ in self.layout)
            embedding = {name: with_embedding for _, name, with_embedding in self.layout}
            self._stacks = {
                name: StackedNetworks(
                    [fold[name] for fold in fold_models], EMBEDDING_LAYER if embedding[name] else None
                )
                for name in called
            }
        spec = tf.TensorSpec([None, self.n_features, 1], tf.float32)
        self._call = tf.function(self._forward, input_signature=[spec], jit_compile=runtime in COMPILED)
        self._buffers: dict[int, np.ndarray] = {}

    def _forward(self, x: tf.Tensor) -> list[tf.Tensor]:
        outputs = []
        if self._stacks:
            stacked = {name: stack(x) for name, stack in self._stacks.items()}
            for k, name, with_embedding in self.layout:
                out, embedding = stacked[name]
                outputs.extend([out[k], embedding[k]] if with_embedding else [out[k]])
            return outputs
        for network in self._networks:
            out = network(x, training=False)
            outputs.extend(out if isinstance(out, list | tuple) else [out])
        return outputs

    def _batch(self, X: np.ndarray, size: int) -> list[np.ndarray]:
        """Every network's outputs of at most ``size`` rows, run as a batch of ``size`` (padded with zeros)."""
        n = len(X)
        if size not in self._buffers:  # one float32 batch per size, made once and reused
            self._buffers[size] = np.zeros((size, self.n_features, 1), dtype=np.float32)
        batch = self._buffers[size]
        batch[:n] = X
        batch[n:] = 0.0
        return [np.asarray(out)[:n] for out in self._call(batch)]

    def raw_outputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Each called network's outputs of the rows ``X`` (in :attr:`layout` order; a network with its
        embedding gives two arrays), float32."""
        X = models.as_sequence(X)
        if X.shape[1] != self.n_features:
            raise ValueError(f"rows of {X.shape[1]} features, the networks take {self.n_features}")
        parts = [self._batch(X[start : start + rows], size) for start, rows, size in pieces(len(X))]
        if not parts:
            parts = [[np.asarray(out) for out in self._call(np.zeros((0, self.n_features, 1), np.float32))]]
        return [np.concatenate(chunks, axis=0) for chunks in zip(*parts, strict=True)]

    def fold_outputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Each fold's deep outputs of the preprocessed rows ``X``, as :func:`deep_outputs` gives them."""
        raw = iter(self.raw_outputs(X))
        folds: list[list[np.ndarray]] = [[] for _ in range(self.n_folds)]
        embeddings: list[np.ndarray | None] = [None] * self.n_folds
        for k, _, with_embedding in self.layout:
            out = next(raw)
            if with_embedding:
                embeddings[k] = next(raw)
            if self.inputs in ("proba", "both"):  # a sigmoid head's P(attack), or every class's (2: the attack's)
                folds[k].append(out[:, 1:] if out.shape[1] == 2 else out)
        return [
            np.concatenate(parts + ([embeddings[k]] if embeddings[k] is not None else []), axis=1).astype(np.float32)
            for k, parts in enumerate(folds)
        ]


def max_difference(ours: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> float:
    """The largest absolute difference between two lists of arrays of the same shapes."""
    return max(float(np.max(np.abs(a - b), initial=0.0)) for a, b in zip(ours, reference, strict=True))


def reference_outputs(fold_models: Sequence[dict[str, keras.Model]], X: np.ndarray, inputs: str) -> list[np.ndarray]:
    """Each fold's deep outputs from the networks' own ``predict``, one network at a time."""
    return [deep_outputs(fold, X, inputs) for fold in fold_models]


def choose_runtime(
    fold_models: Sequence[dict[str, keras.Model]],
    X: np.ndarray,
    inputs: str,
    repeats: int = 3,
    final: Callable[[list[np.ndarray]], np.ndarray] | None = None,
) -> tuple[SideBySide | None, list[dict[str, Any]]]:
    """Measure the networks' own ``predict`` (one at a time) and :class:`SideBySide` under each of
    :data:`RUNTIMES` on the rows ``X``: rows per second (the best of ``repeats`` timed calls, after one that
    traces or compiles) and the largest difference from ``predict``'s outputs. ``final`` (the fold outputs ->
    the final scores, e.g. through a meta-classifier) adds ``score_max_difference``, the largest difference of
    the final scores from those of ``predict``'s outputs: a meta-classifier's trees can turn a difference in the
    last bits of an output into another branch, so a runtime is kept only when both are within
    :data:`TOLERANCE`. Returns the fastest :class:`SideBySide` within tolerance (None if ``predict`` itself is the
    fastest) and one record per contender: ``runtime``, ``rows_per_s``, ``max_difference``
    (``score_max_difference``), ``within_tolerance``, ``chosen`` (and, for a runtime the networks cannot run under,
    None for the numbers and why in ``unavailable``)."""
    reference = reference_outputs(fold_models, X, inputs)
    reference_scores = final(reference) if final is not None else None

    def score_difference(outputs: list[np.ndarray]) -> dict[str, float]:
        if reference_scores is None:
            return {}
        return {"score_max_difference": float(np.max(np.abs(final(outputs) - reference_scores), initial=0.0))}

    def rate(call) -> float:
        call()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - start)
        return len(X) / best

    records = [
        {
            "runtime": "predict, one network at a time",
            "rows_per_s": rate(lambda: reference_outputs(fold_models, X, inputs)),
            "max_difference": 0.0,
        }
        | ({} if final is None else {"score_max_difference": 0.0})  # the reference's own scores
        | {"within_tolerance": True}
    ]
    scorers: list[SideBySide | None] = [None]
    for runtime in RUNTIMES:
        try:  # a runtime that cannot run these networks here (a layer it does not compute, XLA refusing an
            # operation) is left out, never the end of scoring: predict always runs
            scorer = SideBySide(fold_models, inputs, runtime)
            outputs = scorer.fold_outputs(X)
            difference, scores = max_difference(outputs, reference), score_difference(outputs)
            measured = rate(lambda s=scorer: s.fold_outputs(X))
        except Exception as err:  # noqa: BLE001 (recorded and printed, the other runtimes kept)
            records.append({"runtime": runtime, "rows_per_s": None, "max_difference": None, "within_tolerance": False,
                            "unavailable": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"})  # fmt: skip
            scorers.append(None)
            continue
        within = difference <= TOLERANCE and scores.get("score_max_difference", 0.0) <= TOLERANCE
        records.append(
            {"runtime": runtime, "rows_per_s": measured, "max_difference": difference} | scores
            | {"within_tolerance": within}
        )  # fmt: skip
        scorers.append(scorer)
    best = max((i for i, r in enumerate(records) if r["within_tolerance"]), key=lambda i: records[i]["rows_per_s"])
    for i, record in enumerate(records):
        record["chosen"] = i == best
    return scorers[best], records
