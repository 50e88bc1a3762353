"""lib/report/publish.py and the runner's publication: a run's executed notebooks copied beside its figures
(``figures/<name>/notebooks/``) without the machine's paths or the execution's times, each under the size limit,
the same bytes from the same run, only the main run's, and linked from the results page."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from lib import paths, report, run, runner
from lib.report import page, publish

#: A 1x1 PNG, as a notebook stores a figure (base64).
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
#: Where a run was executed by an older checkout (papermill's input_path names it); not this repository.
OLD_CHECKOUT = "/srv/old-checkout"
DATA = "/mnt/flows"
HOME = "/home/student"
BAR = "\r  0%|          | 0/3 [00:00<?, ?it/s]\r 67%|######6   | 2/3 [00:01<00:00,  1.9it/s]\r100%|##########| 3/3 [00:01<00:00,  2.9it/s]\n"
STAMPED = "I0000 00:00:1796592774.344410   13818 port.cc:153] oneDNN custom operations are on.\n"
PAPERMILL_CELL = {
    "start_time": "2026-12-06T21:32:04.175679+00:00",
    "end_time": "2026-12-06T21:32:04.191520+00:00",
    "duration": 0.015841,
    "exception": False,
    "status": "completed",
}
KERNEL_TIMES = {"iopub.execute_input": "2026-12-06T21:32:04.206066Z", "shell.execute_reply": "2026-12-06T21:32:04.2Z"}


def executed(run_dir: Path, name: str, checkout: str = OLD_CHECKOUT) -> dict:
    """An executed notebook as papermill writes it into ``run_dir/notebooks/name``: times in its metadata, the
    machine's paths in sources and outputs, a progress bar, a widget, a figure and a printed time."""
    tmp = f"{tempfile.gettempdir()}/tmpab12cd/scores.csv"
    cells = [
        v4.new_code_cell(
            f'DATA_DIR = "{DATA}"\nRUN_DIR = "{run_dir}"',
            execution_count=1,
            metadata={"tags": ["injected-parameters"]},
        ),
        v4.new_code_cell(
            "prepared = run_folder.open('prepared')",
            execution_count=2,
            outputs=[
                v4.new_output(
                    "execute_result", {"text/plain": f"Stage('prepared', '{run_dir}/prepared')"}, execution_count=2
                ),
                v4.new_output("stream", name="stdout", text=f"29,634 flows read in 1.3 s from {DATA}/iot23\n"),
                v4.new_output(
                    "stream", name="stdout", text=f"fitting time 12.0 s; cached at {tmp}; notes in {HOME}/x\n"
                ),
                v4.new_output("stream", name="stderr", text=BAR),
                v4.new_output("stream", name="stderr", text=f"{checkout}/.venv/tqdm/auto.py:21: TqdmWarning\n" + BAR),
                v4.new_output("stream", name="stderr", text=STAMPED),
                v4.new_output(
                    "display_data",
                    {
                        "application/vnd.jupyter.widget-view+json": {"model_id": "4f1c", "version_major": 2},
                        "text/plain": "  0%|          | 0/3 [00:00<?, ?it/s]",
                    },
                ),
                v4.new_output("display_data", {"image/png": PNG, "text/plain": "<Figure size 700x270 with 1 Axes>"}),
                v4.new_output(
                    "execute_result", {"text/plain": "<function inf_to_nan at 0x7f59c2fb65c0>"}, execution_count=2
                ),
                v4.new_output("stream", name="stdout", text=f"code in {paths.REPO_ROOT}/lib/report/page.py\n"),
            ],
        ),
    ]
    for cell in cells:
        cell.metadata["papermill"] = dict(PAPERMILL_CELL)
        cell.metadata["execution"] = dict(KERNEL_TIMES)
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["papermill"] = {
        "duration": 6.54,
        "start_time": "2026-12-06T21:32:03.568957+00:00",
        "end_time": "2026-12-06T21:32:10.112317+00:00",
        "exception": None,
        "input_path": f"{checkout}/notebooks/{name.split('.')[0]}.ipynb",
        "output_path": f"{run_dir}/notebooks/{name}",
        "parameters": {"DATA_DIR": DATA, "RUN_DIR": str(run_dir), "SEED": 42},
        "version": "2.7.0",
    }
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    target = run_dir / "notebooks" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return notebook


@pytest.fixture
def a_run(tmp_path, monkeypatch) -> Path:
    """A run folder with executed notebooks 01, 02, the SMOTE pass of 02, a notebook 07, and the runner's files."""
    monkeypatch.setenv("HOME", HOME)
    monkeypatch.setenv("IOT_BOTNET_DATA_DIR", DATA)
    run_dir = tmp_path / "runs" / "toy"
    for name in ("01_data_preparation.ipynb", "02_baselines.ipynb", "02_baselines.smote.ipynb", "07_detect.ipynb"):
        executed(run_dir, name)
    (run_dir / "notebooks" / "01_data_preparation.log").write_text("kernel log\n")
    (run_dir / "notebooks" / "wall_times.csv").write_text("notebook,seconds\n")
    return run_dir


def written(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((folder / "notebooks").iterdir())}


def outputs(text: str) -> list[dict]:
    return [o for cell in json.loads(text)["cells"] for o in cell.get("outputs", [])]


# ---------------------------------------------------------------------------------------------- what goes
def test_only_the_chains_executed_notebooks_are_published(a_run, tmp_path):
    published = publish.publish(a_run, tmp_path / "figures" / "toy")
    names = ["01_data_preparation.ipynb", "02_baselines.ipynb", "02_baselines.smote.ipynb"]
    assert [p.path.name for p in published] == names  # not notebook 07, the kernel's log or the wall times
    assert list(written(tmp_path / "figures" / "toy")) == names
    assert all(p.size == p.path.stat().st_size for p in published)


def test_no_absolute_path_of_the_machine_is_left_anywhere(a_run, tmp_path):
    published = publish.publish(a_run, tmp_path / "figures" / "toy")
    machine = [str(paths.REPO_ROOT), OLD_CHECKOUT, DATA, HOME, str(a_run), str(tmp_path), tempfile.gettempdir() + "/"]
    for name, text in written(tmp_path / "figures" / "toy").items():
        found = [prefix for prefix in machine if prefix in text]
        assert not found, f"{name} still has {found}"
        assert "$DATA_DIR/iot23" in text and '"DATA_DIR": "$DATA_DIR"' in text  # papermill's parameters too
        assert "Stage('prepared', '$RUN_DIR/prepared')" in text and '"output_path": "$RUN_DIR/notebooks/' in text
        assert "cached at $TMPDIR/tmpab12cd/scores.csv" in text and "notes in ~/x" in text
        assert "code in lib/report/page.py" in text  # this repository: relative
        assert '"input_path": "notebooks/' in text and ".venv/tqdm/auto.py:21: TqdmWarning" in text  # the older one
    assert published[0].replaced[DATA] == 3 and published[0].replaced[OLD_CHECKOUT] == 2


def test_a_path_is_replaced_only_where_it_ends(tmp_path, monkeypatch):
    monkeypatch.setenv("IOT_BOTNET_DATA_DIR", DATA)
    root = str(paths.REPO_ROOT)
    counts = publish.Counter()
    rewrite = publish._path_replacer(publish.machine_paths(tmp_path / "run"), counts)
    rewritten = rewrite(f"cwd {root}, then {root}/runs/x, '{root}/' and {root}-old/y")
    assert rewritten.startswith("cwd ., then runs/x, './' and ")
    # another folder whose name starts alike is not this one (it may be another rule's, e.g. under $TMPDIR)
    assert rewritten.endswith(f"{Path(root).name}-old/y") and " .-old" not in rewritten
    assert (
        rewrite(f"read from {DATA}. Not from {DATA}.bak or x{DATA}")
        == f"read from $DATA_DIR. Not from {DATA}.bak or x{DATA}"
    )
    assert rewrite(f"data/{tempfile.gettempdir().strip('/')}/x") == f"data/{tempfile.gettempdir().strip('/')}/x"
    assert counts[root] == 3


def test_the_executions_times_go_and_its_parameters_and_counts_stay(a_run, tmp_path):
    published = publish.publish(a_run, tmp_path / "figures" / "toy")
    text = written(tmp_path / "figures" / "toy")["02_baselines.ipynb"]
    notebook = json.loads(text)
    for key in ("start_time", "end_time", "duration", "iopub", "execute_reply", '"status"', '"widgets"'):
        assert key not in text, key
    assert all("papermill" not in c["metadata"] and "execution" not in c["metadata"] for c in notebook["cells"])
    assert notebook["metadata"]["papermill"]["parameters"]["SEED"] == 42
    assert notebook["metadata"]["papermill"]["version"] == "2.7.0"
    assert [c["execution_count"] for c in notebook["cells"]] == [1, 2]
    assert notebook["cells"][0]["metadata"]["tags"] == ["injected-parameters"]
    removed = published[1].removed
    assert removed["cell times (papermill)"] == 2 and removed["cell times (kernel)"] == 2
    assert removed["notebook times"] == 3 and removed["widget state"] == 1


def test_progress_bars_widgets_and_log_stamps_go_results_stay(a_run, tmp_path):
    published = publish.publish(a_run, tmp_path / "figures" / "toy")
    text = written(tmp_path / "figures" / "toy")["01_data_preparation.ipynb"]
    kept = outputs(text)
    streams = ["".join(o["text"]) for o in kept if o["output_type"] == "stream"]
    assert "it/s]" not in text and "widget-view" not in text
    assert ".venv/tqdm/auto.py:21: TqdmWarning\n" in streams  # the warning of a stream with a bar stays
    assert "I port.cc:153] oneDNN custom operations are on.\n" in streams  # its message, not its time and thread
    assert "29,634 flows read in 1.3 s from $DATA_DIR/iot23\n" in streams  # printed times are results: they stay
    assert any("fitting time 12.0 s" in s for s in streams)
    assert "<function inf_to_nan at 0x...>" in text
    assert len(kept) == 8  # of 10: the stream of a bar alone and the widget view went
    removed = published[0].removed
    assert removed["progress-bar lines"] == 6 and removed["widget views"] == 1 and removed["empty streams"] == 1
    assert removed["log time stamps"] == 1 and removed["memory addresses"] == 1


def test_figures_stay_inline_byte_for_byte(a_run, tmp_path):
    publish.publish(a_run, tmp_path / "figures" / "toy")
    text = written(tmp_path / "figures" / "toy")["01_data_preparation.ipynb"]
    figures = [o["data"]["image/png"] for o in outputs(text) if "image/png" in o.get("data", {})]
    assert figures == [PNG]


# ------------------------------------------------------------------------------------------ how it goes
def test_a_notebook_over_the_limit_is_an_error_naming_it_its_size_and_its_biggest_outputs(a_run, tmp_path):
    notebook = nbformat.read(a_run / "notebooks" / "02_baselines.ipynb", as_version=4)
    notebook.cells[1].outputs.append(v4.new_output("display_data", {"image/png": "A" * 300_000}))
    nbformat.write(notebook, a_run / "notebooks" / "02_baselines.ipynb")
    figures = tmp_path / "figures" / "toy"
    (figures / "notebooks").mkdir(parents=True)
    (figures / "notebooks" / "earlier.ipynb").write_text("{}")
    with pytest.raises(ValueError) as err:
        publish.publish(a_run, figures, max_bytes=200_000)
    message = str(err.value)
    assert "02_baselines.ipynb is 29" in message and "KiB" in message and "under 195 KiB" in message
    assert "cell 2 (In [2]): image/png, 293 KiB" in message and "01_data_preparation" not in message
    assert "Fix:" in message and "nothing was written" in message
    assert [p.name for p in (figures / "notebooks").iterdir()] == ["earlier.ipynb"]  # the old publication stays
    assert publish.MAX_BYTES == 8 * 2**20


def test_the_same_run_gives_the_same_bytes(a_run, tmp_path):
    publish.publish(a_run, tmp_path / "figures" / "toy")
    first = written(tmp_path / "figures" / "toy")
    publish.publish(a_run, tmp_path / "figures" / "toy")
    publish.publish(a_run, tmp_path / "elsewhere" / "toy")
    assert written(tmp_path / "figures" / "toy") == first == written(tmp_path / "elsewhere" / "toy")
    assert first["01_data_preparation.ipynb"].endswith("}\n") and '\n "cells": [' in first["01_data_preparation.ipynb"]


def test_the_folder_is_replaced_whole_and_nothing_else_is_touched(a_run, tmp_path):
    figures = tmp_path / "figures" / "toy"
    (figures / "notebooks").mkdir(parents=True)
    (figures / "notebooks" / "03_cnn_lstm.ipynb").write_text("{}")  # an earlier publication's
    (figures / "table1.csv").write_text("Model,F1\nRF,94.4\n")
    (figures / "notes").mkdir()
    (figures / "notes" / "x.md").write_text("mine")
    before = {p: p.read_bytes() for p in (figures / "table1.csv", figures / "notes" / "x.md")}
    publish.publish(a_run, figures)
    assert not (figures / "notebooks" / "03_cnn_lstm.ipynb").exists()
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in figures.iterdir()) == ["notebooks", "notes", "table1.csv"]  # no temporary left


def test_a_run_folder_without_executed_notebooks_is_an_error_that_removes_nothing(tmp_path):
    figures = tmp_path / "figures" / "toy"
    (figures / "notebooks").mkdir(parents=True)
    (figures / "notebooks" / "01_data_preparation.ipynb").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"runs/empty/notebooks holds no executed notebook 01, .*run the"):
        publish.publish(tmp_path / "runs" / "empty", figures)
    assert (figures / "notebooks" / "01_data_preparation.ipynb").exists()
    with pytest.raises(FileNotFoundError, match="no run folder .*nowhere: name the RUN_DIR"):
        publish.publish_run(tmp_path / "nowhere", tmp_path / "figures")


def test_a_file_that_is_not_a_notebook_is_named(a_run, tmp_path):
    (a_run / "notebooks" / "03_cnn_lstm.ipynb").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"03_cnn_lstm.ipynb is not a notebook \(no list of cells\): rerun it"):
        publish.publish(a_run, tmp_path / "figures" / "toy")


# ---------------------------------------------------------------------------------------------- the page
def test_the_results_page_links_the_published_notebooks_and_quotes_no_new_number(a_run, tmp_path):
    out = report.FigureFolder(tmp_path / "figures", "toy")
    out.text("**toy, binary, 3 seed(s).**\n\n- a finding", "findings")
    report.write_page(out, "iot23")
    assert "](notebooks/" not in out.read("README.md")  # nothing published yet: no link
    publish.publish_run(a_run, tmp_path / "figures")  # the run's name: its folder's (no prepared data here)
    text = out.read("README.md")
    assert text.startswith("# Results: toy\n\nData set `iot23`.")  # written again, for the data set it named
    line = next(line for line in text.splitlines() if "](notebooks/" in line)
    assert (
        "[`notebooks/`](notebooks/)" in line
        and "[`02_baselines.smote.ipynb`](notebooks/02_baselines.smote.ipynb)" in line
    )
    assert report.unsourced_numbers(text, out.folder) == {}
    assert page.rewrite_page(report.FigureFolder(tmp_path / "figures", "no-page")) is None


# ---------------------------------------------------------------------------------------------- the runner
def test_the_runner_publishes_after_notebook_06_of_a_main_run_only():
    report_only, chain = runner.notebooks(["06"]), runner.notebooks()
    assert runner.publishes_notebooks(report_only) and runner.publishes_notebooks(chain)
    assert not runner.publishes_notebooks(runner.notebooks(["01", "02", "03", "04", "05"]))  # the main run's 01-05
    assert not runner.publishes_notebooks(runner.notebooks(["02", "03"]), label="smote")  # a step in the same run
    assert not runner.publishes_notebooks(chain, output_dir="elsewhere")  # the copies are not in the run folder


@pytest.fixture
def papermill_writes(monkeypatch, tmp_path):
    """The runner with papermill replaced by a writer of small executed notebooks; the repository in tmp."""
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("HOME", HOME)

    def execute(source, target, parameters, **_):
        executed(Path(target).parent.parent, Path(target).name, checkout=str(tmp_path))

    monkeypatch.setattr(runner.papermill, "execute_notebook", execute)
    return tmp_path


def test_the_study_publishes_the_main_runs_notebooks_once_after_notebook_06(papermill_writes, monkeypatch):
    root = papermill_writes
    study = {"study": {"smote": {"notebooks": "02", "same_run": True, "TRAIN_SPLIT": "train_smote"},
                       "tuned": {"notebooks": "01 02", "SCALING": "log_standard"}}}  # fmt: skip
    monkeypatch.setattr(runner, "_dataset_file", lambda dataset: study)
    lines = []
    runner.run_study("iot23", {"FIGURES_DIR": str(root / "figures")}, log=lines.append)
    assert (root / "runs" / "iot23-tuned" / "notebooks" / "02_baselines.ipynb").exists()
    published = sorted(p.name for p in (root / "figures" / "iot23" / "notebooks").iterdir())
    main = [p.name for p in runner.notebooks()]
    assert published == sorted([*main, "02_baselines.smote.ipynb"])  # the main run's, not iot23-tuned's
    assert not (root / "figures" / "iot23-tuned").exists()
    assert [line for line in lines if line.startswith("published")] == [
        next(line for line in lines if line.startswith("published"))
    ]
    assert f"-> {root / 'figures' / 'iot23' / 'notebooks'}: 01_data_preparation.ipynb" in lines[-1]
    text = (root / "figures" / "iot23" / "notebooks" / "06_results_and_figures.ipynb").read_text()
    assert str(root) not in text and '"input_path": "notebooks/06_results_and_figures.ipynb"' in text


def test_a_run_without_notebook_06_publishes_nothing(papermill_writes):
    root = papermill_writes
    runner.run("iot23", {"NAME": "iot23-tuned", "FIGURES_DIR": str(root / "figures")}, only=["01", "02"], log=print)
    assert (root / "runs" / "iot23-tuned" / "notebooks" / "02_baselines.ipynb").exists()
    assert not (root / "figures").exists()


def test_publish_on_the_command_line_runs_nothing(a_run, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner.papermill, "execute_notebook", lambda *a, **k: pytest.fail("nothing runs"))
    assert runner.main(["--publish", str(a_run), "-p", "FIGURES_DIR", str(tmp_path / "figures")]) == 0
    assert (tmp_path / "figures" / "toy" / "notebooks" / "02_baselines.smote.ipynb").is_file()
    assert "published 3 executed notebook(s)" in capsys.readouterr().out
    assert runner.main(["--publish", str(a_run), "-p", "EPOCHS", "3"]) == 1
    assert "--publish runs no notebook: it takes -p FIGURES_DIR alone (given: ['EPOCHS'])" in capsys.readouterr().err
    assert runner.main(["--publish", str(tmp_path / "missing")]) == 1
    assert f"error: no run folder {tmp_path / 'missing'}" in capsys.readouterr().err
    assert run.RunDir(a_run).name == "toy"
