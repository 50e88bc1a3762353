"""lib/runner.py's study: the main command's runs, in order, with the parameters each one gets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lib import progress, run, runner

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

    def run(dataset, params, only=None, log=None, label="", defaults=None, resume=False):
        made.append((params | {"label": label, "defaults": defaults}, only))
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
    monkeypatch.setattr(runner, "run", lambda dataset, params, only=None, log=None, **_: made.append(only) or [])
    runner.run_study("csv", {"NAME": "x"})
    assert made == [None]


def test_a_profile_reaches_every_run_of_the_study_below_the_step_and_command_line(calls):
    runner.run_study("iot23", {"EPOCHS": 3}, log=lambda *_: None, defaults={"N_SEEDS": 1, "EPOCHS": 20})
    assert all(params["defaults"] == {"N_SEEDS": 1, "EPOCHS": 20} for params, _ in calls)
    assert all(params.get("EPOCHS", 3) == 3 for params, _ in calls)  # the command line's value is passed on top


def test_every_profile_names_only_notebook_parameters():
    declared = set(runner.declared_types())
    profiles = runner.yaml.safe_load(runner.PROFILES_FILE.read_text())
    assert {"quick", "paper", "full"} <= set(profiles)
    for name in profiles:
        parameters, study = runner.profile_parameters(name)
        assert set(parameters) <= declared, f"profile {name}: {set(parameters) - declared} are no notebook's"
    assert runner.profile_parameters("quick")[1] is False and runner.profile_parameters("paper") == ({}, True)
    with pytest.raises(ValueError, match="unknown profile 'fast'.*quick"):
        runner.profile_parameters("fast")


@pytest.fixture
def executions(monkeypatch, tmp_path):
    """runner.run with papermill replaced by a recorder: what each notebook was given, and how."""
    seen = []

    def execute(source, target, parameters, kernel_manager_class, **options):
        seen.append({
            "notebook": Path(source).name, "parameters": parameters, "kernel": kernel_manager_class,
            "terminal": os.environ.get(progress.TERMINAL),
            "isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        })  # fmt: skip
        Path(target).write_text("{}")

    monkeypatch.setattr(runner.papermill, "execute_notebook", execute)
    monkeypatch.setattr(runner, "_dataset_file", lambda dataset: {"EPOCHS": 50, "N_SEEDS": 2, "SAMPLE_ROWS": 7})
    monkeypatch.delenv(progress.TERMINAL, raising=False)
    return seen, tmp_path / "run"


def test_parameters_stack_data_set_file_then_profile_then_command_line(executions):
    seen, run_dir = executions
    defaults = {"N_SEEDS": 1, "EPOCHS": 20, "DETECTORS": "knn"}  # DETECTORS: 05's, not run, yet no error
    runner.run(
        "iot23", {"RUN_DIR": str(run_dir), "EPOCHS": 3}, only=["01", "03"], log=lambda *_: None, defaults=defaults
    )
    first, third = (call["parameters"] for call in seen)
    assert third["EPOCHS"] == 3 and third["N_SEEDS"] == 1 and "DETECTORS" not in third
    assert first["SAMPLE_ROWS"] == 7 and "EPOCHS" not in first


def test_each_notebook_runs_in_a_logged_kernel_with_terminal_progress_and_its_wall_time_recorded(executions):
    seen, run_dir = executions
    runner.run("iot23", {"RUN_DIR": str(run_dir)}, only=["01", "02"], log=lambda *_: None)
    assert [call["terminal"] for call in seen] == ["1", "1"] and progress.TERMINAL not in os.environ
    kernel = seen[1]["kernel"]
    assert issubclass(kernel, runner.QuietKernelManager) and kernel.log_path == run_dir / "notebooks/02_baselines.log"
    times = run.RunDir(run_dir).wall_times()
    assert list(times["notebook"]) == ["01_data_preparation.ipynb", "02_baselines.ipynb"]
    assert (times["status"] == "complete").all() and (times["seconds"] >= 0).all()


def test_a_failed_notebook_is_recorded_as_failed(executions, monkeypatch):
    _, run_dir = executions

    def fail(source, target, **_):
        raise runner.papermill.PapermillExecutionError(0, 3, "boom", "ValueError", "boom", [])

    monkeypatch.setattr(runner.papermill, "execute_notebook", fail)
    with pytest.raises(RuntimeError, match=r"01_data_preparation.ipynb failed in cell 3 .*kernel's log: .*\.log"):
        runner.run("iot23", {"RUN_DIR": str(run_dir)}, only=["01"], log=lambda *_: None)
    assert run.RunDir(run_dir).wall_times()["status"].tolist() == ["failed"]


PIN = {"ONEDNN_MAX_CPU_ISA": "AVX2"}


def test_kernels_get_the_pinned_environment_and_the_run_records_it(executions, monkeypatch):
    seen, run_dir = executions
    monkeypatch.setattr(runner, "KERNEL_ENVIRONMENT", PIN)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    runner.run("iot23", {"RUN_DIR": str(run_dir)}, only=["01", "02"], log=lambda *_: None)
    assert [call["isa"] for call in seen] == ["AVX2", "AVX2"]
    assert "ONEDNN_MAX_CPU_ISA" not in os.environ  # the runner's own environment is restored
    (recorded,) = json.loads((run_dir / "notebooks" / runner.NUMERICS).read_text())
    assert recorded["ONEDNN_MAX_CPU_ISA"] == "AVX2" and recorded["cores"] >= 1
    assert any(lib["internal_api"] == "openblas" and lib["architecture"] for lib in recorded["libraries"])


def test_a_kernel_variable_the_user_set_wins_over_the_pin(executions, monkeypatch):
    seen, run_dir = executions
    monkeypatch.setattr(runner, "KERNEL_ENVIRONMENT", PIN)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "SSE41")
    runner.run("iot23", {"RUN_DIR": str(run_dir)}, only=["01"], log=lambda *_: None)
    assert seen[0]["isa"] == "SSE41" and os.environ["ONEDNN_MAX_CPU_ISA"] == "SSE41"


def test_a_step_with_test_sources_each_holds_every_attack_capture_out_in_turn(calls, monkeypatch):
    study = {"study": STUDY["study"] | {"loco": {"notebooks": "01 02 03", "SPLIT": "source", "TEST_SOURCES": "each"}}}
    monkeypatch.setattr(runner, "_dataset_file", lambda dataset: study)
    read = []
    monkeypatch.setattr(runner, "attack_captures", lambda params: read.append(params) or ["34-1", "CTU 42/1"])
    runner.run_study("iot23", {"DATA_DIR": "/d"}, log=lambda *_: None)
    loco = [(params, only) for params, only in calls if params["NAME"].startswith("iot23-loco")]
    assert [p["NAME"] for p, _ in loco] == ["iot23-loco-34-1", "iot23-loco-CTU_42_1"]
    assert [p["TEST_SOURCES"] for p, _ in loco] == ["34-1", "CTU 42/1"] and all(
        o == ("01", "02", "03") for _, o in loco
    )
    assert read[0]["DATA_DIR"] == "/d" and read[0]["SPLIT"] == "source"  # the data read as notebook 01 will
    report = calls[-1][0]
    assert report["LOCO_RUNS"] == "iot23-loco-34-1,iot23-loco-CTU_42_1" and "loco" not in report["STUDY_RUNS"]


def test_the_captures_held_out_in_turn_are_those_with_attack_flows(mirror):
    captures = runner.attack_captures({"DATASET": "iot23", "DATA_DIR": str(mirror)})
    assert captures == ["CTU-IoT-Malware-Capture-34-1", "CTU-IoT-Malware-Capture-42-1", "CTU-IoT-Malware-Capture-44-1"]


def test_leave_one_capture_out_needs_two_captures_with_attack_flows(monkeypatch):
    import pandas as pd

    from lib import datasets

    flows = pd.DataFrame({"source_file": ["a/conn.log", "b/conn.log", "c/conn.log"], "is_attack": [1, 0, 0]})
    monkeypatch.setattr(datasets, "load_for", lambda parameters: flows)
    with pytest.raises(ValueError, match=r"needs two or more of them; the data's captures with attack flows: \['a"):
        runner.attack_captures({"DATASET": "zeek"})
