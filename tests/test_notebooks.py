"""The papermill harness: every notebook in notebooks/ runs, in order, at tiny parameters.

A notebook joins this test by existing. Every parameter passed is first checked against the notebook's
parameters cell (papermill alone would only warn about a misspelt name).
"""

from __future__ import annotations

import json

import pytest

from lib import artifacts, runner

# Tiny values for notebook-specific parameters, by notebook name prefix; names a notebook lacks are not passed.
TINY = {
    "EPOCHS": 1,
    "N_SEEDS": 1,
    "BATCH_SIZE": 256,
    "SVM_MAX_ROWS": 2000,
    "SVM_N_COMPONENTS": 50,
    "RF_TREES": 20,
    "XGB_TREES": 20,
    "PERMUTATION_ROWS": 200,
    "PERMUTATION_REPEATS": 1,
    "K_FOLDS": 2,
    "ZERO_DAY_K_FOLDS": 2,
    "META_TREES": "20",
    "RF_MAX_DEPTHS": "0",
    "XGB_MAX_DEPTHS": "3",
    "SCORE_DEMO_ROWS": 200,
    "MIN_FAMILY_ROWS": 10,
    "IFOREST_TREES": 50,
    "FUSION_DEEP_MODELS": "cnn_only,cnn_lstm",
}


def tiny_for(path, **extra) -> dict:
    """The TINY values (and ``extra``) that the notebook at ``path`` declares."""
    declared = runner.notebook_parameters(path)
    return {k: v for k, v in (TINY | extra).items() if k in declared}


def test_every_notebook_has_the_shared_parameters():
    shared = {"DATASET", "DATA_DIR", "RUN_DIR", "SEED", "SAMPLE_ROWS", "DATA_FILES", "LABEL_COLUMN", "BENIGN_LABELS"}
    books = runner.notebooks()
    assert books and books[0].name == "01_data_preparation.ipynb"
    for path in books:
        missing = shared - set(runner.notebook_parameters(path))
        assert not missing, f"{path.name} lacks shared parameter(s) {sorted(missing)}"


def test_papermill_sees_every_parameter_line():
    """papermill silently skips a parameter line it cannot parse (e.g. a comment holding '='); catch it."""
    import ast

    import nbformat

    for path in runner.notebooks():
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assigned = {node.target.id for node in ast.parse(cell.source).body if isinstance(node, ast.AnnAssign)}
        assert assigned == set(runner.notebook_parameters(path)), f"{path.name}: papermill misses some parameters"


def test_unknown_parameter_is_refused():
    with pytest.raises(ValueError, match=r"01_data_preparation\.ipynb: parameter\(s\) \['EPOCHZ'\] are not in"):
        runner.check_parameters(runner.notebooks(["01"])[0], {"EPOCHZ": 1})


def test_all_notebooks_in_order_on_iot23(mirror, tmp_path):
    """01 -> last notebook on the real IoT-23 mirror at tiny parameters, through the runner."""
    params = {"DATA_DIR": str(mirror), "RUN_DIR": str(tmp_path / "run"), "SAMPLE_ROWS": 4000}
    per_notebook = {p.name[:2]: tiny_for(p, FIGURES_DIR=str(tmp_path / "figures")) for p in runner.notebooks()}
    executed = runner.run("iot23", params, per_notebook=per_notebook, log=lambda *_: None)
    assert [p.name for p in executed] == [p.name for p in runner.notebooks()]
    data = artifacts.load_prepared(tmp_path / "run")
    assert data.class_names == ["Benign", "Attack"] and len(data.y_test) > 0
    meta = json.loads((tmp_path / "run" / "prepared" / "meta.json").read_text())
    assert meta["report"]["rows_after_sample"] <= 4000 + 100
    if any(p.name.startswith("06") for p in executed):
        written = {p.name for p in (tmp_path / "figures" / "iot23").glob("*.png")}
        assert {"fig01_botnet_lifecycle.png", "fig04_confusion_matrix.png", "fig08b_model_comparison.png"} <= written


@pytest.mark.parametrize(
    ("dataset", "params", "classes"),
    [
        (
            "cicids2017",
            {"LABEL_MODE": "multiclass"},
            {"Benign", "WebAttack", "DoS", "Bot", "PortScan", "BruteForce", "Infiltration"},
        ),
        ("botiot", {"SMOTE": True}, {"Benign", "Attack"}),
    ],
)
def test_notebook_01_on_other_datasets(mirror, tmp_path, dataset, params, classes):
    run_dir = tmp_path / dataset
    runner.run(dataset, {"DATA_DIR": str(mirror), "RUN_DIR": str(run_dir), **params}, only=["01"], log=lambda *_: None)
    data = artifacts.load_prepared(run_dir)
    assert set(data.class_names) == classes
    assert data.meta["dataset"] == dataset
    assert len(data.meta["files"]) == len([p for p in (mirror / dataset).rglob("*.*sv")])


def test_notebook_01_on_a_plain_csv(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 400
    attack = rng.random(n) < 0.3
    pd.DataFrame(
        {
            "src_ip": [f"10.1.0.{i % 11}" for i in range(n)],
            "pkts": rng.poisson(5, n) + 20 * attack,
            "proto": rng.choice(["tcp", "udp"], n),
            "class": np.where(attack, "botnet", "Normal"),
        }
    ).to_csv(tmp_path / "flows.csv", index=False)
    params = {
        "DATA_FILES": str(tmp_path / "flows.csv"),
        "LABEL_COLUMN": "class",
        "BENIGN_LABELS": "normal",
        "RUN_DIR": str(tmp_path / "run"),
    }
    runner.run("csv", params, only=["01"], log=lambda *_: None)
    data = artifacts.load_prepared(tmp_path / "run")
    assert data.class_names == ["Benign", "Attack"]
    assert "src_ip" not in data.feature_names and {"proto_tcp", "proto_udp"} <= set(data.feature_names)


def test_notebooks_are_committed_clean():
    """No outputs or execution counts in the repository; the first code cell is tagged `parameters`."""
    import nbformat

    for path in runner.notebooks():
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), f"{path.name}: first code cell is not tagged"
        for cell in code:
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: committed with outputs"
