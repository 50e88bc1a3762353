"""The papermill harness: every notebook in notebooks/ runs, in order, at tiny parameters; reruns and kills
leave a consistent run or an error naming the stale artefact.

A notebook joins these tests by existing. Every parameter passed is first checked against the notebook's
parameters cell (papermill alone would only warn about a misspelt name). The smoke tests read what the
notebooks wrote (scores, tables, manifests), not only the names of the files.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from lib import baselines, figures, fusion, metrics, models, report, run, runner

# Tiny values for notebook-specific parameters; names a notebook lacks are not passed to it.
TINY = {
    "EPOCHS": 1,
    "AE_EPOCHS": 1,
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
    "AE_CODE_UNITS": "8",  # one setting per detector (the grids are unit-tested in tests/test_anomaly.py)
    "KITNET_MAX_GROUPS": "10",
    "KNN_KS": "5",
    "N_BOOT": 200,  # the test-set bootstrap (its statistics are unit-tested in tests/test_bootstrap.py)
}
#: The chain alone also takes the tuned path of notebook 03: a search, then each model's best settings.
TUNED = {"TUNE": "search", "TUNE_TRIALS": 2, "TUNE_EPOCHS": 1, "TUNED_EPOCHS": 1, "SCALING": "log_standard"}
SAMPLE_ROWS = 4000


def tiny_for(path, **extra) -> dict:
    """The TINY values (and ``extra``) that the notebook at ``path`` declares."""
    declared = runner.notebook_parameters(path)
    return {k: v for k, v in (TINY | extra).items() if k in declared}


def tiny_per_notebook(**extra) -> dict[str, dict]:
    return {p.name[:2]: tiny_for(p, **extra) for p in runner.notebooks(every=True)}


def run_iot23(mirror: Path, run_dir: Path, only=None, resume=False, **params) -> list[Path]:
    """The notebooks ``only`` (default all) on the IoT-23 mirror at tiny size, through the runner."""
    base = {"DATA_DIR": str(mirror), "RUN_DIR": str(run_dir)}
    per = tiny_per_notebook(FIGURES_DIR=str(run_dir.parent / "figures"))
    return runner.run("iot23", base | params, only=only, per_notebook=per, log=lambda *_: None, resume=resume)


# ---------------------------------------------------------------------------------------------- static checks
def test_every_notebook_has_the_shared_parameters():
    shared = {"DATASET", "RUN_DIR", "SEED"}
    books = runner.notebooks(every=True)
    assert books and books[0].name == "01_data_preparation.ipynb"
    for path in books:
        missing = shared - set(runner.notebook_parameters(path))
        assert not missing, f"{path.name} lacks shared parameter(s) {sorted(missing)}"


def test_papermill_sees_every_parameter_line():
    """papermill silently skips a parameter line it cannot parse (e.g. a comment holding '='); catch it."""
    for path in runner.notebooks(every=True):
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assigned = {node.target.id for node in ast.parse(cell.source).body if isinstance(node, ast.AnnAssign)}
        assert assigned == set(runner.notebook_parameters(path)), f"{path.name}: papermill misses some parameters"


#: Calls that write or remove files: a notebook writes through its stage, ``figures.save_fig`` or the report's
#: writer, never directly.
WRITES = {"write_text", "write_bytes", "to_csv", "to_parquet", "to_json", "to_excel", "to_pickle", "savefig", "save",
          "dump", "mkdir", "unlink", "rmdir", "rmtree", "touch"}  # fmt: skip
#: Names that build or reach paths: a notebook gets its places from ``RunDir``/``Stage`` and the writers.
PATH_NAMES = {"Path", "PurePath", "pathlib", "os", "shutil", "REPO_ROOT", "sys"}
LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _builds_a_path(node: ast.AST) -> bool:
    """``a / b`` where either side is text or a name that holds a place (``DIR``, ``ROOT``, ``path``, ``folder``)."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)):
        return False
    for side in (node.left, node.right):
        if isinstance(side, ast.JoinedStr) or (isinstance(side, ast.Constant) and isinstance(side.value, str)):
            return True
        text = ast.unparse(side)
        if any(word in text for word in ("DIR", "ROOT", "path", "folder", "OUT")):
            return True
    return False


def notebook_cell_problems(source: str) -> list[str]:
    """What a code cell of a notebook must not do, read from its AST (the parameters cell aside)."""
    problems = []
    if len(source.splitlines()) > 12:
        problems.append(f"{len(source.splitlines())} lines (at most 12: the rest belongs in lib/)")
    if "fmt: skip" in source or "fmt: off" in source:
        problems.append("a formatter pragma packs the cell")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, LOOPS):
            problems.append(f"a {type(node).__name__} (loops and definitions belong in lib/)")
        elif isinstance(node, COMPREHENSIONS):
            problems.append(f"a {type(node).__name__} (loops belong in lib/)")
        elif isinstance(node, ast.Attribute) and (node.attr in WRITES or node.attr == "path"):
            problems.append(f"'.{node.attr}' (files are written and found through the run folder and the writers)")
        elif isinstance(node, ast.Name) and (node.id in PATH_NAMES or node.id == "open"):
            problems.append(f"'{node.id}' (no path is built and no file opened in a notebook)")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = {(node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else ""}
            names |= {alias.name.split(".")[0] for alias in node.names}
            if names & PATH_NAMES:
                problems.append(f"imports {sorted(names & PATH_NAMES)}")
        elif _builds_a_path(node):
            problems.append(f"builds a path: {ast.unparse(node)}")
    return problems


def test_notebooks_are_thin_build_no_path_and_write_no_file():
    """Code cells stay short and straight (loops live in lib/), get every place from the run folder and write
    through it, ``figures.save_fig`` or the report's writer, and import the installed lib as it is."""
    found = []
    for path in runner.notebooks(every=True):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            if "parameters" not in cell.metadata.get("tags", []):
                found += [f"{path.name}, code cell {i}: {p}" for p in notebook_cell_problems(cell.source)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "source, problem",
    [
        ("x = [a for a in b]", "ListComp"),
        ("print(', '.join(str(a) for a in b))", "GeneratorExp"),
        ("x = {k: v for k, v in d.items()}", "DictComp"),
        ("for a in b:\n    print(a)", "For"),
        ("OUT = session.REPO_ROOT / FIGURES_DIR / name", "REPO_ROOT"),
        ("target = out_dir / 'table1.md'", "builds a path"),
        ("(OUT / 'findings.md').write_text(text)", "write_text"),
        ("importance.to_csv(target)", "to_csv"),
        ("frame = pd.read_csv(stage.path)", ".path"),
        ("f(a,\n  b)  # fmt: skip", "formatter pragma"),
        ("from pathlib import Path", "imports"),
        ("handle = open('x.txt', 'w')", "'open'"),
        ("\n".join(["x = 1"] * 13), "13 lines"),
    ],
)
def test_the_notebook_guard_catches_each_kind_of_problem(source, problem):
    assert any(problem in found for found in notebook_cell_problems(source)), notebook_cell_problems(source)


def test_the_notebook_guard_lets_a_thin_cell_through():
    cell = 'tie = 2 / len(data.y_test)\nstage.save_results(results)\nfigures.save_fig(fig, "fig05_roc", out.folder)'
    assert notebook_cell_problems(cell) == []


def test_unknown_parameter_is_refused():
    with pytest.raises(ValueError, match=r"01_data_preparation\.ipynb: parameter\(s\) \['EPOCHZ'\] are not in"):
        runner.check_parameters(runner.notebooks(["01"])[0], {"EPOCHZ": 1})


def test_a_parameter_that_reaches_none_of_the_notebooks_run_is_refused(tmp_path):
    """`--only 02 -p SAMPLE_ROWS 3000` would run 02 on the rows 01 prepared before: an error, before any run."""
    with pytest.raises(ValueError, match=r"\['SAMPLE_ROWS'\] reach none of the notebooks run \(02\); they belong to"):
        runner.run("iot23", {"RUN_DIR": str(tmp_path), "SAMPLE_ROWS": 3000}, only=["02"], log=lambda *_: None)


def test_notebooks_are_committed_clean():
    """No outputs or execution counts in the repository; the first code cell is tagged `parameters`."""
    for path in runner.notebooks(every=True):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), f"{path.name}: first code cell is not tagged"
        for cell in code:
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: committed with outputs"


# ---------------------------------------------------------------------------------------------- the chain
@pytest.fixture(scope="module")
def chain(mirror, tmp_path_factory) -> Path:
    """01 -> last notebook on the real IoT-23 mirror at tiny parameters, through the runner, once."""
    run_dir = tmp_path_factory.mktemp("chain") / "run"
    executed = run_iot23(mirror, run_dir, SAMPLE_ROWS=SAMPLE_ROWS, **TUNED)
    assert [p.name for p in executed] == [p.name for p in runner.notebooks()]
    assert all(p.parent == run_dir / "notebooks" for p in executed)
    return run_dir


@pytest.mark.smoke
def test_all_notebooks_in_order_on_iot23(chain):
    folder = run.RunDir(chain)
    data = folder.load_prepared()
    assert data.class_names == ["Benign", "Attack"] and len(data.y_test) > 0
    assert data.meta["report"]["rows_after_sample"] <= SAMPLE_ROWS + 100
    assert folder.open("prepared").parameters["SAMPLE_ROWS"] == SAMPLE_ROWS  # recorded from papermill's values
    n_test = len(data.y_test)
    for stage, names in {
        "baselines": {"random_forest", "svm", "xgboost"},
        "deep": {"cnn_only", "lstm_only", "cnn_lstm", "mlp"},
    }.items():
        scores = folder.open(stage).scores()
        assert set(scores["model"]) == names and (scores["n_test"] == n_test).all()
        assert scores["f1"].between(0, 1).all() and "train_seconds" not in scores
    deep = folder.open("deep")  # searched (TINY's TUNE): each model trained with its own recorded settings
    assert set(deep.info["configs"]) == set(deep.info["models"]) == set(deep.json("tuning")["configs"])
    fusion_scores = folder.open("fusion").scores()
    assert {"fusion_random_forest", "fusion_xgboost", "soft_voting", "cnn_lstm"} <= set(fusion_scores["model"])
    assert metrics.DEPLOY_CONTENDER in set(fusion_scores["model"])  # distilled, scored beside the fusions
    zero_day = folder.open("anomaly").table("zero_day")
    assert {"family", "recall_supervised", "recall_autoencoder"} <= set(zero_day.columns) and len(zero_day)
    written = {p.name for p in (chain.parent / "figures" / "iot23").glob("*.png")}
    assert {"fig01_botnet_lifecycle.png", "fig04_confusion_matrix.png", "fig08b_model_comparison.png"} <= written
    table1 = pd.read_csv(chain.parent / "figures" / "iot23" / "table1.csv")
    assert {"Random Forest", "CNN-LSTM Hybrid", "XGBoost"} <= set(table1["Model"])
    assert table1["Macro F1 95 % CI"].str.match(r"\[\d+\.\d, \d+\.\d\]").all()  # the test-set intervals
    out = report.FigureFolder(chain.parent / "figures", "iot23")
    page = out.read("README.md")
    assert report.unsourced_numbers(page, out.folder) == {}  # every number of the page, new sections too
    for name in ("operating_realism", "shortcut_control", "intervals", "differences", "deploy_variant"):
        assert out.exists(f"{name}.csv"), name
    deployed = pd.read_csv(out.folder / "deploy_variant.csv", keep_default_na=False)
    assert deployed["Model"].iloc[-1] == metrics.CONTENDER_NAMES[metrics.DEPLOY_CONTENDER] and len(deployed) >= 2
    agreement = folder.open("fusion").table("deploy")["agreement"]  # one seed (TINY): the cell is its value
    assert deployed["Agreement with the fusion"].iloc[-1] == f"{100 * agreement.iloc[0]:.2f}"
    assert "## The deployment variant beside the full fusion" in page
    assert "The intervals resample the" not in out.read("findings.md")  # one seed (TINY): no interval, no call
    written_verdicts = {name: out.read(f"{name}.md") for name in ("findings", "protocol_findings", "fusion_verdicts")}
    assert report.rewrite_verdicts(out, "iot23")  # python -m lib.report: the same verdicts from the folder alone
    assert {name: out.read(f"{name}.md") for name in written_verdicts} == written_verdicts
    times = folder.wall_times()  # the runner's record, and each kernel's own log beside its notebook
    assert list(times["notebook"]) == [p.name for p in runner.notebooks()] and (times["status"] == "complete").all()
    assert all((chain / "notebooks" / p.name).with_suffix(".log").is_file() for p in runner.notebooks())


@pytest.mark.smoke
def test_resume_skips_each_stage_made_by_the_same_code_and_parameters_and_only_those(chain, mirror, monkeypatch):
    ran = []
    monkeypatch.setattr(runner.papermill, "execute_notebook", lambda source, target, **_: ran.append(Path(source).name))
    main_run = ["01", "02", "03", "04", "05"]
    run_iot23(mirror, chain, only=main_run, resume=True, SAMPLE_ROWS=SAMPLE_ROWS, **TUNED)
    assert ran == [] and (run.RunDir(chain).wall_times().tail(5)["status"] == "reused").all()
    run_iot23(mirror, chain, only=main_run, resume=True, SAMPLE_ROWS=SAMPLE_ROWS, **TUNED | {"TUNE_TRIALS": 3})
    assert ran == ["03_cnn_lstm.ipynb"]  # searched with 2 trials before (mocked here, so 04 and 05 stay current)
    run_iot23(mirror, chain, only=["06"], resume=True)
    assert ran[-1] == "06_results_and_figures.ipynb"  # writes figures, not a stage: always runs
    monkeypatch.setattr(run.folder, "code_fingerprint", lambda notebook: "edited")  # what RunDir.reusable calls
    assert run.RunDir(chain).reusable("prepared", run.RunDir(chain).open("prepared").parameters) is None


@pytest.mark.smoke
def test_the_scorer_runs_the_fold_networks_as_asked_and_calibrates_on_the_runs_validation_rows(chain, monkeypatch):
    from lib import score
    from lib.fusion import runtime
    from lib.score.model import CALIBRATION_ROWS

    detector = score.Detector.load(chain)
    X = run.RunDir(chain).load_prepared().X_test[:300]
    by_predict = detector.pipeline.fold_outputs(X)
    assert detector.use_runtime("tensorflow") == [] and detector.describe()["runtime"] == "tensorflow"
    assert runtime.max_difference(detector.pipeline.fold_outputs(X), by_predict) <= runtime.TOLERANCE
    seen = []
    monkeypatch.setattr(type(detector.pipeline), "use_runtime", lambda self, name, rows: seen.append(rows) or [])
    detector.use_runtime("auto")
    X_val = run.RunDir(chain).load_prepared().X_val  # fewer rows than one batch here: repeated up to one
    assert len(X_val) < CALIBRATION_ROWS
    assert seen[0].shape == (CALIBRATION_ROWS, X_val.shape[1]) and seen[0].dtype == np.float32
    np.testing.assert_array_equal(seen[0][: len(X_val)], X_val.astype(np.float32))
    np.testing.assert_array_equal(seen[0][len(X_val) : 2 * len(X_val)], X_val[: CALIBRATION_ROWS - len(X_val)])


@pytest.mark.smoke
def test_later_notebooks_reuse_what_earlier_ones_fitted(chain):
    """Notebook 04's soft voting averages notebook 03's saved predictions, and its pipeline holds its own K fold
    models per fused network (cross-fitting), not notebook 03's; Fig. 7's forest is notebook 02's forest."""
    folder = run.RunDir(chain)
    deep, fusion_stage = folder.open("deep"), folder.open("fusion")
    seed = deep.info["seeds"][0]
    data = folder.load_prepared()
    pipeline = fusion.load_pipeline(fusion_stage.file("pipeline"))
    assert fusion_stage.info["seeds"] == deep.info["seeds"]
    k_folds, fused = fusion_stage.parameters["K_FOLDS"], fusion_stage.parameters["FUSION_DEEP_MODELS"].split(",")
    assert len(pipeline.model.fold_models) == k_folds == pipeline.manifest["k_folds"]
    assert all(list(models) == fused for models in pipeline.model.fold_models)
    own, trained = (
        pipeline.model.fold_models[0][fused[0]].get_weights(),
        models.load_model(deep.model_stem(fused[0], seed)).get_weights(),
    )
    assert any(not np.array_equal(a, b) for a, b in zip(own, trained, strict=True))
    voted = np.mean([deep.prediction(name, seed, "test") for name in fused], axis=0)
    scores = fusion_stage.scores().set_index(["model", "seed"])
    expected = metrics.evaluate(data.y_test, voted, data.class_names)["f1_macro"]
    assert scores.loc[("soft_voting", seed), "f1_macro"] == pytest.approx(expected)
    distilled = fusion_stage.table("deploy").set_index("seed").loc[seed]  # the variant's decisions vs its fusion's
    ours, theirs = (fusion_stage.prediction(m, seed) for m in (metrics.DEPLOY_CONTENDER, distilled["distilled_from"]))
    assert distilled["agreement"] == pytest.approx(
        np.mean(ours.argmax(axis=1) == theirs.argmax(axis=1)), abs=2 / len(ours)
    )
    assert pipeline.manifest["variant"] == "full" and fusion_stage.info["variant"] == "full"  # PIPELINE's default
    forest = baselines.load_model(folder.open("baselines").model_stem("random_forest", seed))
    originals = data.meta["report"]["numeric_columns"] + data.meta["report"]["categorical_columns"]
    expected = figures.group_importances(forest.feature_importances_, data.feature_names, originals)
    drawn = pd.read_csv(chain.parent / "figures" / "iot23" / "feature_importance.csv", index_col=0)
    np.testing.assert_allclose(drawn["Random Forest (impurity)"].sort_index(), expected.sort_index())
    proba = baselines.predict_proba(forest, data.X_test, data.n_classes)
    np.testing.assert_array_equal(proba.astype(np.float32), folder.open("baselines").prediction("random_forest", seed))


@pytest.mark.smoke
def test_same_seed_gives_byte_identical_score_files(chain, mirror, tmp_path):
    again = tmp_path / "again"
    run_iot23(mirror, again, only=["01", "02", "03"], SAMPLE_ROWS=SAMPLE_ROWS, **TUNED)
    for stage in ("baselines", "deep"):
        for name in ("scores.csv", "details.json"):
            assert (again / stage / name).read_bytes() == (chain / stage / name).read_bytes(), f"{stage}/{name}"
    assert run.RunDir(again).open("deep").fingerprint == run.RunDir(chain).open("deep").fingerprint


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc): the runner's kernel must die with it, as in a real kill."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _writing_models(stage_dir: Path) -> bool:
    try:
        running = json.loads((stage_dir / "manifest.json").read_text())["status"] == "running"
    except (OSError, ValueError, KeyError):
        return False
    return running and any((stage_dir / "models").glob("*.keras"))


@pytest.mark.smoke
def test_a_killed_notebook_03_is_an_error_downstream_not_a_mixed_run(chain, mirror, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(chain, copy)
    command = [sys.executable, "-m", "lib.runner", "--only", "03", "-p", "RUN_DIR", str(copy), "-p", "EPOCHS", "3"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not _writing_models(copy / "deep"):  # killed once the new 03 has saved a model, before it finishes
        assert proc.poll() is None and time.time() < deadline, "notebook 03 ended before it could be killed"
        time.sleep(0.2)
    for pid in [*_descendants(proc.pid), proc.pid]:
        os.kill(pid, signal.SIGKILL)
    proc.wait()
    with pytest.raises(run.StaleArtefactError, match=r"deep is incomplete: 03_cnn_lstm\.ipynb started writing it"):
        run.RunDir(copy).open("deep")
    with pytest.raises(RuntimeError, match=r"06_results_and_figures.ipynb failed .*deep is incomplete"):
        run_iot23(mirror, copy, only=["06"])
    assert not (tmp_path / "figures").exists()  # 06 checks every stage before it writes anything


@pytest.mark.smoke
def test_rerunning_03_with_fewer_models_leaves_no_old_file_and_makes_04_stale(chain, mirror, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(chain, copy)
    run_iot23(mirror, copy, only=["03"], DEEP_MODELS="cnn_lstm")
    deep = run.RunDir(copy).open("deep")
    assert {p.name.split("_seed")[0] for p in (deep.path / "predictions").iterdir()} == {"cnn_lstm"}
    assert set(deep.scores()["model"]) == {"cnn_lstm"} and deep.info["models"] == ["cnn_lstm"]
    assert {p.name.split("_seed")[0] for p in (deep.path / "models").iterdir()} == {"cnn_lstm"}
    with pytest.raises(run.StaleArtefactError, match=r"fusion \(made by 04_decision_fusion\.ipynb\) is stale"):
        run.RunDir(copy).open("fusion")
    with pytest.raises(RuntimeError, match=r"06_results_and_figures.ipynb failed .*is stale"):
        run_iot23(mirror, copy, only=["06"])
    assert not (tmp_path / "figures").exists()  # 06 checks every stage before it writes anything


@pytest.mark.smoke
def test_a_changed_sample_rows_between_01_and_02_is_an_error_naming_the_stale_stage(chain, mirror, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(chain, copy)
    run_iot23(mirror, copy, only=["01"], SAMPLE_ROWS=3000)
    with pytest.raises(run.StaleArtefactError, match=r"baselines \(made by 02_baselines\.ipynb\) is stale"):
        run.RunDir(copy).open("baselines")
    with pytest.raises(RuntimeError, match=r"04_decision_fusion.ipynb failed .*is stale"):
        run_iot23(mirror, copy, only=["04"])
    manifest = json.loads((copy / "fusion" / "manifest.json").read_text())
    assert manifest["status"] == "complete"  # the failed 04 removed nothing of the old (stale) fusion: it checks first


# ---------------------------------------------------------------------------------------------- other data
@pytest.mark.smoke
@pytest.mark.parametrize(
    ("dataset", "params", "classes"),
    [
        (
            "cicids2017",
            {"LABEL_MODE": "multiclass", "SAMPLE_ROWS": 0},  # every row (cicids2017.yaml samples 20,000)
            {"Benign", "WebAttack", "DoS", "Bot", "PortScan", "BruteForce", "Infiltration"},
        ),
        ("botiot", {"SMOTE": True}, {"Benign", "Attack"}),
    ],
)
def test_notebook_01_on_other_datasets(mirror, tmp_path, dataset, params, classes):
    run_dir = tmp_path / dataset
    runner.run(dataset, {"DATA_DIR": str(mirror), "RUN_DIR": str(run_dir), **params}, only=["01"], log=lambda *_: None)
    data = run.RunDir(run_dir).load_prepared()
    assert set(data.class_names) == classes
    assert data.meta["dataset"] == dataset
    assert len(data.meta["files"]) == len([p for p in (mirror / dataset).rglob("*.*sv")])
    if params.get("SMOTE"):
        assert len(data.y_train_smote) > len(data.y_train) and len(set(np.bincount(data.y_train_smote))) == 1


@pytest.mark.smoke
def test_notebook_01_on_a_plain_csv(tmp_path):
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
    data = run.RunDir(tmp_path / "run").load_prepared()
    assert data.class_names == ["Benign", "Attack"]
    assert "src_ip" not in data.feature_names and {"proto_tcp", "proto_udp"} <= set(data.feature_names)
