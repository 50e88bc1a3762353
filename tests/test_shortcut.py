"""lib/shortcut.py and the controls' tables (lib/report/controls.py): how much of the label the file gives away."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lib import report, shortcut
from lib.preprocess import PreparedData


def _data(confounded: bool, seed: int = 0) -> PreparedData:
    """Flows from three files. Confounded: file a is all benign, file b all attack, file c mixed, and each file
    has its own feature offset (its 'layout'); else every file mixes both classes alike."""
    rng = np.random.default_rng(seed)
    splits = {}
    for split, n in (("train", 900), ("test", 300)):
        files = np.repeat(np.array(["a.log", "b.log", "c.log"]), n // 3)
        if confounded:
            y = np.where(files == "a.log", 0, np.where(files == "b.log", 1, rng.integers(0, 2, n)))
        else:
            y = rng.integers(0, 2, n)
        offset = np.select([files == "a.log", files == "b.log"], [0.0, 5.0], 10.0)
        X = np.c_[offset + rng.normal(0, 0.3, n), y + rng.normal(0, 0.3, n)].astype(np.float32)
        splits[split] = (X, y, pd.DataFrame({"source_file": files}))
    return PreparedData(
        X_train=splits["train"][0], y_train=splits["train"][1], X_val=splits["test"][0][:5], y_val=splits["test"][1][:5],
        X_test=splits["test"][0], y_test=splits["test"][1], feature_names=["layout", "signal"],
        class_names=["Benign", "Attack"], label_mode="binary",
        rows={"train": splits["train"][2], "test": splits["test"][2], "val": splits["test"][2][:5]},
    )  # fmt: skip


def test_a_confounded_data_set_is_called_confounded_and_the_file_is_named_from_the_features():
    control = shortcut.control(_data(confounded=True), seed=0, settings={"n_estimators": 20})
    assert control["source_from_features"]["accuracy"] > 0.95 and control["source_from_features"]["sources"] == 3
    label = control["label_from_source"]
    assert label["accuracy"] > 0.8 > label["chance_accuracy"]
    within = control["label_within_sources"].set_index("source")
    assert np.isnan(within.loc["a.log", "macro_f1"]) and within.loc["c.log", "macro_f1"] > 0.9  # only c mixes both
    summary, table, verdict = report.shortcut_tables(control, "r")
    assert verdict.startswith("Class and source are confounded on this data: the source file alone labels")
    assert re.search(r"macro-F1 of 9\d\.\d % in c\.log: ", verdict) and "inside a file too" in verdict
    assert (
        list(summary["Run"]) == ["r", "r"]
        and table.loc[table["Source"] == "a.log", "Macro F1 within (%)"].iloc[0] == ""
    )


def test_a_data_set_whose_files_mix_both_classes_alike_is_not_confounded():
    control = shortcut.control(_data(confounded=False), seed=0, settings={"n_estimators": 20})
    assert abs(control["label_from_source"]["accuracy"] - control["label_from_source"]["chance_accuracy"]) < 0.1
    _, _, verdict = report.shortcut_tables(control, "r")
    assert verdict.startswith("Class and source are not confounded on this data")
    assert report.controls.recovered(0.9, 0.5) == 0.8


def test_a_run_that_holds_whole_sources_out_gets_no_shortcut_verdict_and_no_error():
    data = _data(confounded=True)
    data.rows["test"] = pd.DataFrame({"source_file": np.repeat("d.log", len(data.y_test))})  # a source never trained
    control = shortcut.control(data, seed=0, settings={"n_estimators": 5})
    assert np.isnan(control["source_from_features"]["accuracy"]) and control["label_within_sources"].empty
    _, within, verdict = report.shortcut_tables(control, "r")
    assert within.empty and verdict.startswith("The shortcut control needs test flows from the sources")
