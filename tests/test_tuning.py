"""Tests of lib/tuning.py: the search reads no test row, is seeded, prunes, is recorded and reused without searching."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest

from lib import metrics, models, preprocess, run, tuning

# Keras reads the scheduled learning rate through a NumPy call that NumPy 2 flags as deprecated: not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

BASE = models.DeepConfig(filters=4, lstm_units=4, dense_units=4, mlp_units=4, dropout=0.0, epochs=3, patience=1)
SEARCH = {"trials": 2, "epochs": 2, "final_epochs": 5, "seed": 3}


def separable(n: int, n_classes: int, seed: int, n_features: int = 6):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    X = rng.normal(size=(n, n_features)) * 0.05 + (y[:, None] + 1) / (n_classes + 1)
    return X.astype(np.float32), y.astype(np.int64)


class NoTestRows:
    """Stands for the test rows: any use of it is a failure."""

    def _read(self, *_args, **_kwargs):
        raise AssertionError("the test rows were read")

    __array__ = __len__ = __getitem__ = __iter__ = _read

    def __getattr__(self, name):
        self._read()


def tiny_data(test_rows=None) -> preprocess.PreparedData:
    X, y = separable(150, 3, seed=0)
    X_val, y_val = separable(60, 3, seed=1)
    X_test, y_test = separable(30, 3, seed=2) if test_rows is None else (test_rows, test_rows)
    return preprocess.PreparedData(
        X, y, X_val, y_val, X_test, y_test, feature_names=[f"f{i}" for i in range(6)],
        class_names=["Benign", "A", "B"], label_mode="multiclass",
    )  # fmt: skip


def deep_stage(tmp_path, dataset: str = "synthetic") -> run.Stage:
    """A begun notebook-03 stage whose prepared input has a fingerprint that depends on ``dataset``."""
    folder = run.RunDir(tmp_path)
    if not folder.has("prepared"):
        folder.begin("prepared", {"DATASET": dataset}).finish()
    return folder.begin("deep", {"DATASET": dataset}, inputs=["prepared"])


def without_seconds(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "seconds"}


def test_the_search_never_reads_the_test_rows():
    data = tiny_data(test_rows=NoTestRows())
    configs, record, _ = tuning.choose_configs(data, tune="search", names=["mlp"], base=BASE, **SEARCH)
    assert set(configs) == {"mlp"} and len(record["trials"]) == 2
    assert record["settings"]["n_val_rows"] == len(data.y_val)


def test_same_seed_gives_the_same_trials_and_best_trial():
    X, y = separable(150, 3, seed=0)
    X_val, y_val = separable(60, 3, seed=1)
    first, again = (
        tuning.search(X, y, X_val, y_val, names=["mlp", "cnn_only"], n_classes=3, base=BASE, **SEARCH) for _ in range(2)
    )
    assert without_seconds(first) == without_seconds(again)
    assert first["best"]["mlp"]["trial"] == again["best"]["mlp"]["trial"]
    assert {"filters", "n_conv", "dense_units"} <= set(first["best"]["cnn_only"]["params"])  # its own space
    assert "filters" not in first["best"]["mlp"]["params"] and "mlp_units" in first["best"]["mlp"]["params"]
    other = tuning.search(X, y, X_val, y_val, names=["mlp"], n_classes=3, base=BASE, **(SEARCH | {"seed": 4}))
    assert other["trials"][0]["learning_rate"] != first["trials"][0]["learning_rate"]


def test_the_chosen_configuration_is_the_best_trials_with_the_final_budget():
    X, y = separable(150, 3, seed=0)
    X_val, y_val = separable(60, 3, seed=1)
    record = tuning.search(X, y, X_val, y_val, names=["mlp"], n_classes=3, base=BASE, **SEARCH)
    best = record["best"]["mlp"]
    assert best["value"] == max(t["value"] for t in record["trials"])
    chosen = models.DeepConfig.from_dict(record["configs"]["mlp"])
    assert chosen.epochs == 5 and chosen.learning_rate == best["params"]["learning_rate"]
    assert chosen.lr_patience in tuning.LR_PATIENCES and chosen.patience > chosen.lr_patience
    assert chosen.kernel_size == BASE.kernel_size  # not searched: the parameters cell's value


def test_configure_keeps_early_stopping_patient_enough_for_the_schedule():
    config = tuning.configure(BASE, {"lr_patience": 3, "learning_rate": 0.01}, epochs=9)
    assert (config.epochs, config.patience, config.lr_patience, config.learning_rate) == (9, 7, 3, 0.01)
    assert tuning.configure(models.DeepConfig(patience=10), {"lr_patience": 2}, epochs=9).patience == 10


def test_stratified_subsample_keeps_every_class():
    y = np.array([0] * 90 + [1] * 9 + [2] * 1)
    rows = tuning.stratified_subsample(y, 20, seed=0)
    assert np.bincount(y[rows]).tolist() == [18, 2, 1] and np.all(np.diff(rows) > 0)
    assert len(tuning.stratified_subsample(y, 0, seed=0)) == 100
    data = tiny_data()
    _, record, _ = tuning.choose_configs(data, tune="search", names=["mlp"], base=BASE, max_rows=40, **SEARCH)
    assert 40 <= record["settings"]["n_train_rows"] <= 42


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


def test_a_pruned_trial_stops_after_its_first_report():
    X, y = separable(150, 3, seed=0)
    X_val, y_val = separable(60, 3, seed=1)
    objective = tuning._objective("mlp", (X, y, X_val, y_val), n_classes=3, base=BASE, epochs=4, seed=0)
    study = optuna.create_study(direction="maximize", pruner=AlwaysPrune())
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED and trial.user_attrs["epochs_run"] == 1
    assert list(trial.intermediate_values) == [0] and 0 <= trial.value <= 1


def test_a_record_is_saved_and_reused_without_searching(tmp_path, monkeypatch):
    data = tiny_data()
    stage = deep_stage(tmp_path)
    fingerprint = stage.input_fingerprint("prepared")
    configs, record, kept = tuning.choose_configs(
        data, tune="search", names=["mlp"], base=BASE, prepared_fingerprint=fingerprint, **SEARCH
    )
    assert (
        set(kept.tables) == {"tuning"}
        and set(kept.records) == {"tuning"}
        and set(kept.timing_tables) == {"tuning_timings"}
    )
    assert kept.records["tuning"] is record and not kept.scores and not kept.predictions
    stage.save_results(kept)
    assert set(stage.table("tuning")["model"]) == {"mlp"} and len(stage.table("tuning")) == 2
    assert stage.json("tuning")["configs"] == record["configs"]
    assert record["data_fingerprint"] == stage.manifest["inputs"]["prepared"]
    assert "seconds" not in stage.json("tuning")  # wall-clock: in a table outside the fingerprint instead
    assert list(stage.table("tuning_timings")["model"]) == ["mlp"]
    stage.finish()
    recorded = json.loads((stage.path / "manifest.json").read_text())["files"]
    assert {"tuning.json", "tables/tuning.csv"} <= set(recorded) and "tables/tuning_timings.csv" not in recorded

    path = "tuning.json"
    tune = str(stage.path / path)
    reused = tuning.read_record(tune)  # before begin(), which empties the stage folder that holds it
    again = deep_stage(tmp_path)
    assert not (again.path / path).exists()
    monkeypatch.setattr(tuning, "search", lambda *a, **k: pytest.fail("searched again"))
    same, copied, kept_again = tuning.choose_configs(
        data, tune=tune, names=["mlp"], base=BASE, reused=reused, prepared_fingerprint=fingerprint
    )
    assert same == configs and not kept_again.timing_tables  # no search: no search time
    again.save_results(kept_again)
    assert again.json("tuning")["configs"] == record["configs"] and copied["reused_from"] == tune
    assert again.table("tuning").equals(stage.table("tuning"))
    assert not (again.path / "tables" / "tuning_timings.csv").exists()
    assert tuning.read_record(str(again.path)) == tuning.read_record(tune) | {"reused_from": tune}  # a folder works
    with pytest.raises(ValueError, match=r"names a tuning record: pass what tuning\.read_record\(TUNE\) read"):
        tuning.choose_configs(data, tune=tune, names=["mlp"], base=BASE)


def test_a_record_for_other_models_is_refused_and_other_data_warned_about(tmp_path):
    record = {"format": 1, "configs": {"mlp": BASE.as_dict()}, "data_fingerprint": "a" * 64, "reused_from": "x.json"}
    with pytest.raises(ValueError, match=r"x\.json was made for the models \['mlp'\], not for \['cnn_lstm'\]"):
        tuning.check_record(record, ["mlp", "cnn_lstm"])
    with pytest.warns(UserWarning, match="searched on other prepared data"):
        tuning.check_record(record, ["mlp"], fingerprint="b" * 64)
    data, stage = tiny_data(), deep_stage(tmp_path / "other", dataset="other")
    with pytest.warns(UserWarning, match="searched on other prepared data"):
        configs, _, _ = tuning.choose_configs(
            data, tune="x.json", names=["mlp"], base=BASE, reused=record,
            prepared_fingerprint=stage.input_fingerprint("prepared"),
        )  # fmt: skip
    assert configs == {"mlp": BASE}
    with pytest.warns(UserWarning, match=r"searched on TRAIN_SPLIT='train_smote', this run trains on 'train'"):
        tuning.check_record(record | {"settings": {"train_split": "train_smote"}}, ["mlp"], train_split="train")


def test_settings_from_notebook_03s_parameters():
    params = {"TUNE": "search", "TUNE_TRIALS": 4, "TUNE_EPOCHS": 6, "TUNE_MAX_ROWS": 100, "TUNED_EPOCHS": 9}
    params |= {"SEED": 11, "TRAIN_SPLIT": "train_smote", "RUN_DIR": "runs/x", "EPOCHS": 80}
    settings = tuning.settings_from(params)
    assert settings == {
        "tune": "search", "trials": 4, "epochs": 6, "max_rows": 100, "final_epochs": 9, "seed": 11,
        "train_split": "train_smote",
    }  # fmt: skip
    configs, record, kept = tuning.choose_configs(
        tiny_data(NoTestRows()), names=["mlp"], base=BASE, **settings | {"tune": "off"}
    )  # every setting is a keyword of choose_configs
    assert configs == {"mlp": BASE} and record is None


def test_read_record_and_off(tmp_path):
    assert tuning.read_record("off") is None and tuning.read_record("search") is None
    with pytest.raises(FileNotFoundError, match="neither 'off' nor 'search' nor an existing tuning record"):
        tuning.read_record(str(tmp_path / "missing.json"))
    (tmp_path / "other.json").write_text(json.dumps({"models": ["mlp"]}))
    with pytest.raises(ValueError, match="is not a tuning record"):
        tuning.read_record(str(tmp_path / "other.json"))
    configs, record, kept = tuning.choose_configs(
        tiny_data(NoTestRows()), tune="off", names=["mlp", "cnn_lstm"], base=BASE
    )
    assert configs == {"mlp": BASE, "cnn_lstm": BASE} and record is None
    assert kept == metrics.Results()  # nothing for the stage to keep
    assert tuning.trials_frame(record).empty and tuning.best_frame(record).empty
