"""Does the data set carry the answer? A shortcut control: how much of the label the source file gives away.

Backs notebook 06's "shortcut control" section. On a mirror whose benign rows come from some files and whose
attack rows come from others, a model can score well by recognising the file (its layout, its capture's hosts and
rates) instead of the attack. Three measurements on a run's own split and features, each with a seed:

* **the file from the features**: notebook 02's XGBoost (same settings) trained to predict each training row's
  source (IoT-23 capture, CICIDS2017 day, a user's file: :func:`lib.datasets.schema.capture_sources`) instead of
  its label, scored on the test rows, beside chance (always the most common training source);
* **the label from the file alone**: each test flow labelled with the most common label of its source's training
  rows, beside chance (always the most common training label): what a model learns if it only learns the file;
* **the label within one file**: the same XGBoost trained and tested on the rows of one source at a time, for each
  source whose training and test rows both hold benign and attack flows (at least :data:`MIN_ROWS` of each in
  training, :data:`MIN_TEST_ROWS` in test): if the features still separate attacks from benign flows inside a file, the model learns more than
  the file.

No TensorFlow here; nothing is saved (the control is measured again on each run of notebook 06).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from lib import baselines, metrics
from lib.datasets import schema
from lib.preprocess import PreparedData

#: A source is tried alone only where its training rows hold this many benign and attack flows ...
MIN_ROWS = 20
#: ... and its test rows this many of each.
MIN_TEST_ROWS = 5


def row_sources(data: PreparedData) -> dict[str, np.ndarray]:
    """Each split's rows' sources (:func:`lib.datasets.schema.capture_sources` of the run's row tables)."""
    found = {}
    for split in ("train", "test"):
        sources = schema.capture_sources(data.rows[split])
        if sources is None:
            raise ValueError("the run's rows have no source_file column: the shortcut control needs each row's file")
        found[split] = sources[0].astype(str).to_numpy()
    return found


def _xgboost(seed: int, settings: Mapping[str, Any] | None) -> Any:
    return baselines.build("xgboost", seed, **dict(settings or {}))


def source_from_features(data: PreparedData, sources: dict[str, np.ndarray], seed: int, settings=None) -> dict:
    """XGBoost predicting each test row's source from its features: accuracy, chance and the sources' count."""
    names, train = np.unique(sources["train"], return_inverse=True)
    known = np.isin(sources["test"], names)
    test = np.searchsorted(names, sources["test"][known])
    if len(names) < 2 or not known.any():  # one training source, or none of the test rows' (SPLIT=source)
        return {"sources": len(names), "accuracy": float("nan"), "chance": float("nan"),
                "test_rows_of_unseen_sources": int((~known).sum())}  # fmt: skip
    model = baselines.fit(_xgboost(seed, settings), data.X_train, train)
    predicted = baselines.predict_proba(model, data.X_test[known], len(names)).argmax(axis=1)
    chance = float(np.mean(test == np.bincount(train).argmax()))
    return {"sources": len(names), "accuracy": float(np.mean(predicted == test)), "chance": chance,
            "test_rows_of_unseen_sources": int((~known).sum())}  # fmt: skip


def label_from_source(data: PreparedData, sources: dict[str, np.ndarray]) -> dict:
    """Each test flow labelled with its source's most common training label: accuracy and macro-F1, beside always
    the most common training label (and a source unseen in training gets that label too)."""
    train = pd.DataFrame({"source": sources["train"], "y": data.y_train})
    by_source = train.groupby("source")["y"].agg(lambda y: np.bincount(y).argmax())
    majority = int(np.bincount(data.y_train).argmax())
    predicted = pd.Series(sources["test"]).map(by_source).fillna(majority).to_numpy(dtype=np.int64)
    y = data.y_test
    return {
        "accuracy": float(np.mean(predicted == y)),
        "macro_f1": metrics.macro_f1(y, predicted),
        "chance_accuracy": float(np.mean(y == majority)),
        "chance_macro_f1": metrics.macro_f1(y, np.full(len(y), majority)),
    }


def label_within_sources(data: PreparedData, sources: dict[str, np.ndarray], seed: int, settings=None) -> pd.DataFrame:
    """For each source whose training rows hold at least :data:`MIN_ROWS` benign and attack flows and whose test
    rows hold both: XGBoost trained on that source's training rows alone, its macro-F1 on that source's test rows
    (benign vs attack), and the rows it had."""
    rows = []
    attack_train, attack_test = data.y_train != 0, data.y_test != 0
    for source in sorted(set(sources["train"]) & set(sources["test"])):
        tr, te = sources["train"] == source, sources["test"] == source
        counts = (int((~attack_train[tr]).sum()), int(attack_train[tr].sum()))
        tested = (int((~attack_test[te]).sum()), int(attack_test[te].sum()))
        row = {"source": source, "train_benign": counts[0], "train_attack": counts[1], "test_benign": tested[0],
               "test_attack": tested[1]}  # fmt: skip
        if min(counts) < MIN_ROWS or min(tested) < MIN_TEST_ROWS:
            rows.append(row | {"macro_f1": np.nan})
            continue
        model = baselines.fit(_xgboost(seed, settings), data.X_train[tr], attack_train[tr].astype(np.int64))
        predicted = baselines.predict_proba(model, data.X_test[te], 2).argmax(axis=1)
        rows.append(row | {"macro_f1": metrics.macro_f1(attack_test[te].astype(np.int64), predicted)})
    return pd.DataFrame(rows, columns=["source", "train_benign", "train_attack", "test_benign", "test_attack",
                                       "macro_f1"])  # fmt: skip


def control(data: PreparedData, seed: int, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The three measurements of the module (``settings``: notebook 02's XGBoost settings)."""
    sources = row_sources(data)
    return {
        "source_from_features": source_from_features(data, sources, seed, settings),
        "label_from_source": label_from_source(data, sources),
        "label_within_sources": label_within_sources(data, sources, seed, settings),
    }
