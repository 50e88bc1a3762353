"""lib/runner.py's study: the main command's runs, in order, with the parameters each one gets."""

from __future__ import annotations

import pytest

from lib import runner

STUDY = {
    "LABEL_MODE": "binary",
    "study": {
        "smote": {"notebooks": "02 03", "same_run": True, "TRAIN_SPLIT": "train_smote", "DEEP_MODELS": "cnn_lstm"},
        "tuned": {"SCALING": "log_standard"},
        "group": {"notebooks": "01 02 03", "SPLIT": "group", "SCALING": "log_standard", "TUNE": "runs/{NAME}-tuned/x"},
    },
}


@pytest.fixture
def calls(monkeypatch):
    made = []
    monkeypatch.setattr(runner, "_dataset_file", lambda dataset: STUDY)

    def run(dataset, params, only=None, log=None, label=""):
        made.append((params | {"label": label}, only))
        return []

    monkeypatch.setattr(runner, "run", run)
    return made


def test_the_study_runs_the_main_run_then_each_step_then_notebook_06_over_all_of_them(calls):
    runner.run_study("iot23", {"SAMPLE_ROWS": 2000, "EPOCHS": 3, "MAIN_MODEL": "cnn_lstm"}, log=lambda *_: None)
    (main, only_main), smote, tuned, group, (report, only_report) = calls
    assert only_main == ["01", "02", "03", "04", "05"] and main["NAME"] == "iot23"
    assert "MAIN_MODEL" not in main and main["SAMPLE_ROWS"] == 2000  # 06's parameter waits for 06
    assert smote[0]["NAME"] == "iot23" and smote[0]["TRAIN_SPLIT"] == "train_smote" and smote[1] == ("02", "03")
    assert smote[0]["label"] == "smote" and tuned[0]["label"] == ""  # the main run's executed notebooks are kept
    assert "SAMPLE_ROWS" not in smote[0]  # notebook 01's parameter does not reach a step without 01
    assert tuned[0]["NAME"] == "iot23-tuned" and tuned[0]["SAMPLE_ROWS"] == 2000 and "RUN_DIR" not in tuned[0]
    assert group[0]["TUNE"] == "runs/iot23-tuned/x" and group[0]["SPLIT"] == "group"
    assert only_report == ["06"] and report["STUDY_RUNS"] == "iot23-tuned,iot23-group"
    assert report["MAIN_MODEL"] == "cnn_lstm" and report["NAME"] == "iot23"


def test_a_step_may_not_run_notebook_06(monkeypatch):
    monkeypatch.setattr(runner, "_dataset_file", lambda dataset: {"study": {"x": {"notebooks": "01 06"}}})
    with pytest.raises(ValueError, match="runs once, last"):
        runner.study_steps("iot23")


def test_the_study_key_is_not_a_notebook_parameter(monkeypatch):
    monkeypatch.setattr(runner, "_dataset_file", lambda dataset: STUDY)
    assert runner.dataset_parameters("iot23") == {"LABEL_MODE": "binary"}


def test_a_data_set_without_a_study_runs_once(monkeypatch):
    made = []
    monkeypatch.setattr(runner, "_dataset_file", lambda dataset: {})
    monkeypatch.setattr(runner, "run", lambda dataset, params, only=None, log=None, label="": made.append(only) or [])
    runner.run_study("csv", {"NAME": "x"})
    assert made == [None]
