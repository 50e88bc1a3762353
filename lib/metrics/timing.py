"""Wall-clock timing of training and inference, and :class:`Results`: scores, timings and details of a loop over models and seeds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lib.metrics.scores import scalar_metrics


@dataclass
class Timing:
    """Wall-clock seconds of a ``with timer() as t:`` block (``t.seconds``, set when the block ends)."""

    seconds: float = float("nan")


@contextmanager
def timer() -> Iterator[Timing]:
    """Time a block: ``with metrics.timer() as t: model.fit(X, y)`` then read ``t.seconds``."""
    timing = Timing()
    start = time.perf_counter()
    try:
        yield timing
    finally:
        timing.seconds = time.perf_counter() - start


def time_inference(
    predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, warmup_rows: int = 256
) -> dict[str, Any]:
    """Run ``predict(X)`` once, timed; return ``{"proba": output, "seconds": s, "flows_per_s": len(X) / s}``.

    ``predict`` is first called, untimed, on ``warmup_rows`` and then ``warmup_rows // 2`` rows, so one-off
    costs do not count as inference time: Keras traces its graph for the first batch shape and once more, as a
    shape-agnostic graph, for the second; thread pools start too.
    """
    for rows in (warmup_rows, warmup_rows // 2):
        if rows > 0:
            predict(X[:rows])
    with timer() as t:
        output = predict(X)
    return {"proba": output, "seconds": t.seconds, "flows_per_s": throughput(len(X), t.seconds)}


def throughput(n_rows: int, seconds: float) -> float:
    """Rows (flows) per second; nan when ``seconds`` is not positive."""
    return float(n_rows / seconds) if seconds > 0 else float("nan")


@dataclass
class Results:
    """What a learner returns: scores, timings and full evaluations of a loop over models and seeds, kept apart,
    and what the run keeps of it (predictions, training histories, trained models, tables and records).

    ``scores`` rows are what two runs with the same seed reproduce bit for bit (one row per model and seed);
    ``timings`` rows are wall-clock measurements, which never do; ``details`` holds each :func:`evaluate`
    result by ``<model>_seed<seed>``. ``predictions`` maps ``(model, seed, split)`` to class probabilities,
    ``histories`` and ``models`` map ``(model, seed)`` to a training history and the trained model; ``tables``
    and ``records`` are further result tables and JSON records by name, ``timing_tables`` tables of wall-clock
    times. The learner never writes them: the notebook hands the object to ``lib.run.Stage.save_results``
    (and the models to ``Stage.save_models`` with the learner's own ``save_model``).
    """

    scores: list[dict[str, Any]] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    predictions: dict[tuple[str, int, str], np.ndarray] = field(default_factory=dict)
    histories: dict[tuple[str, int], dict[str, list[float]]] = field(default_factory=dict)
    models: dict[tuple[str, int], Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    records: dict[str, Any] = field(default_factory=dict)
    timing_tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def add(
        self,
        model: str,
        seed: int,
        result: dict[str, Any],
        timing: dict[str, float] | None = None,
        **extra: Any,
    ) -> None:
        """Record one model and seed: ``result`` from :func:`evaluate`, ``extra`` columns (row counts, epochs)."""
        self.scores.append({"model": model, "seed": seed, **extra, **scalar_metrics(result)})
        self.details[f"{model}_seed{seed}"] = result
        if timing:
            self.timings.append({"model": model, "seed": seed, **timing})

    def keep_model(self, name: str, seed: int, model: Any, on_model: Callable[[str, int, Any], Any] | None) -> None:
        """Hand a trained model to ``on_model(name, seed, model)`` when given (the notebook's saver), else keep it."""
        if on_model is None:
            self.models[name, seed] = model
        else:
            on_model(name, seed, model)

    def histories_of(self, seed: int) -> dict[str, dict[str, list[float]]]:
        """The training histories of every model for ``seed``, by model id."""
        return {model: history for (model, at), history in self.histories.items() if at == seed}

    def scores_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.scores)

    def timings_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.timings, columns=None if self.timings else ["model", "seed"])


def timed_predictions(
    predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, fit_seconds: float
) -> tuple[np.ndarray, dict[str, float]]:
    """``predict(X)`` timed as by :func:`time_inference`; return the output and the timing columns of a run."""
    timed = time_inference(predict, X)
    timing = {"train_seconds": fit_seconds, "inference_seconds": timed["seconds"], "flows_per_s": timed["flows_per_s"]}
    return timed["proba"], timing


@dataclass(frozen=True)
class Trained:
    """What a training notebook (02, 03) left for the notebooks after it, read back: which models, which seeds,
    what it recorded (``info``) and a reader of each model's probabilities on a split (``read(model, seed,
    split)``). ``lib.run.Stage.trained`` makes one; the learners that build on earlier models (fusion) read
    through it and never see the run folder."""

    models: tuple[str, ...]
    seeds: tuple[int, ...]
    info: Mapping[str, Any]
    read: Callable[[str, int, str], np.ndarray]

    def prediction(self, model: str, seed: int, split: str = "test") -> np.ndarray:
        return self.read(model, seed, split)
