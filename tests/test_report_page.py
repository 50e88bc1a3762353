"""lib/report/writer.py and lib/report/page.py: one atomic writer of a run's figure folder, the results page built
from that folder's files alone, and the README's headline block between its markers."""

from __future__ import annotations

import re
import shutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lib import figures, paths, report  # noqa: E402
from lib.report import page, prose  # noqa: E402

README = paths.REPO_ROOT / "README.md"


def _old_write_table(df: pd.DataFrame, stem) -> None:
    """What notebook 06 wrote before the writer existed (``report.write_table`` of that time)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(stem.with_suffix(".csv"), index=False)
    stem.with_suffix(".md").write_text(report.markdown_table(df) + "\n")


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({"Model": ["Random Forest", "CNN-LSTM Hybrid"], "F1": ["94.4 ± 0.0", None], "n": [3, 3]})


@pytest.fixture
def iot23(tmp_path) -> report.FigureFolder:
    """A copy of the committed figures/iot23 (tables and texts; figures as empty files) in a tmp figures root."""
    target = tmp_path / "figures" / "iot23"
    shutil.copytree(paths.FIGURES_DIR / "iot23", target, ignore=shutil.ignore_patterns("*.png", "README.md"))
    for png in (paths.FIGURES_DIR / "iot23").glob("*.png"):
        (target / png.name).write_bytes(b"")
    return report.FigureFolder(tmp_path / "figures", "iot23")


# ------------------------------------------------------------------------------------------- the writer
def test_the_writer_writes_the_bytes_the_old_writes_did(tmp_path, table):
    old, new = tmp_path / "old", report.FigureFolder(tmp_path, "new")
    _old_write_table(table, old / "table1")
    assert new.table(table, "table1") == (new.folder / "table1.csv", new.folder / "table1.md")
    importance = pd.DataFrame({"RF": [0.5, 0.25]}, index=["proto", "duration"])
    importance.to_csv(old / "feature_importance.csv")
    new.csv(importance, "feature_importance")
    (old / "findings.md").write_text("**x, binary, 1 seed(s).**\n\n- a finding" + "\n")  # notebook 06 before
    new.text("**x, binary, 1 seed(s).**\n\n- a finding", "findings")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    figures.save_fig(fig, "fig05_roc", old)
    new.fig(fig, "fig05_roc")
    plt.close(fig)
    names = ["table1.csv", "table1.md", "feature_importance.csv", "findings.md", "fig05_roc.png"]
    for name in names:
        assert (new.folder / name).read_bytes() == (old / name).read_bytes(), name
    assert sorted(p.name for p in new.folder.iterdir()) == sorted(names)  # no temporary file left behind


def test_the_writer_removes_what_a_run_could_not_draw_and_refuses_paths(tmp_path, table):
    out = report.FigureFolder(tmp_path, "run")
    out.table(table, "zero_day_by_detector")
    out.fig(plt.figure(), "fig09_zero_day_recall")
    plt.close("all")
    assert out.remove_table("zero_day_by_detector") and out.remove_fig("fig09_zero_day_recall")
    assert not out.remove_table("zero_day_by_detector") and not list(out.folder.iterdir())
    with pytest.raises(ValueError, match="not a plain file name"):
        out.text("x", "../README")
    assert report.FigureFolder("figures", "iot23").folder == paths.FIGURES_DIR / "iot23"  # relative: the repository


def test_write_table_is_the_writers_table(tmp_path, table):
    csv, md = report.write_table(table, tmp_path / "a" / "t")
    out = report.FigureFolder(tmp_path, "b")
    out.table(table, "t")
    assert csv.read_bytes() == (out.folder / "t.csv").read_bytes() and md.read_text() == out.read("t.md")


# ----------------------------------------------------------------------------------------- the page
def _without_prose(text: str) -> str:
    """The page with every fixed sentence of lib/report/prose.py and every heading taken out."""
    fixed = [prose.INTRO, prose.METHOD.strip(), prose.NO_WALL_TIMES, prose.WALL_TIMES]
    fixed += [v for k, v in vars(prose).items() if k.isupper() and isinstance(v, str)]
    fixed += [c for pair in prose.FIGURES.values() for c in pair if c]
    fixed += [n for notes in prose.DATA_NOTES.values() for n in notes.values()]
    for sentence in sorted(set(fixed), key=len, reverse=True):
        text = text.replace(sentence, "")
    return "\n".join(line for line in text.splitlines() if not line.startswith(("#", "![", "Data set `")))


def test_every_number_of_the_page_comes_from_the_folders_files(iot23):
    text = report.results_page(iot23, "iot23")
    sources = "\n".join(p.read_text() for p in sorted(iot23.folder.iterdir()) if p.suffix in (".md", ".csv"))
    table1 = iot23.read("table1.md").strip()
    assert f"\n\n{table1}\n\n" in text  # Table 1 block = table1.md, as it is
    for name in ("table1_detection_at_fpr", "table1_configurations", "protocols", "fusion_study", "findings"):
        assert iot23.read(f"{name}.md").strip() in text, name
    for line in text.splitlines():
        if line.startswith("| "):
            assert line in sources, line  # every table row is a row of a file of the folder
    numbers = re.findall(r"\d+(?:[.,]\d+)*", _without_prose(text))
    assert numbers and [n for n in numbers if n not in sources] == []
    assert "![fig05_roc](fig05_roc.png)" in text and prose.NO_WALL_TIMES in text


def test_the_page_says_what_is_missing_and_shows_the_recorded_wall_times(iot23):
    iot23.remove_table("zero_day_by_detector")  # notebook 05 held no family out
    iot23.remove_fig("fig09_zero_day_recall")
    times = pd.DataFrame(
        {
            "notebook": ["01_data_preparation.ipynb", "03_cnn_lstm.ipynb", "03_cnn_lstm.ipynb", "06.ipynb"],
            "started_utc": ["2026-01-01T00:00:00+00:00", "t1", "t2", "t3"],
            "seconds": [4.2, 10.0, 1047.5, 25.0],
            "status": ["complete", "failed", "complete", "failed"],
        }
    )
    iot23.table(pd.DataFrame(), "fusion_study")  # what notebook 06 writes when no run ran notebook 04
    text = report.results_page(iot23, "iot23", {"iot23": times})
    assert "*`zero_day_by_detector.md` is not in this folder, or empty: notebook 05 did not run" in text
    assert "*`fusion_study.md` is not in this folder, or empty: no run of the study ran notebook 04.*" in text
    assert prose.FIGURES["fig09_zero_day_recall"][1] in text
    assert "| iot23 | 03_cnn_lstm.ipynb | t2 | 1,047.5 | complete |" in text  # the latest complete execution
    assert "| iot23 | 06.ipynb | t3 | 25.0 | failed |" in text and "In all: 1,076.7 s of notebooks." in text
    assert prose.NO_WALL_TIMES not in text


def test_the_committed_pages_are_what_the_page_code_makes_of_their_folders():
    for name in page.README_RUNS:
        out = report.FigureFolder(paths.FIGURES_DIR, name)
        committed = out.read("README.md").split("## Wall times of the study")[0]
        assert report.results_page(out, name).split("## Wall times of the study")[0] == committed, name


def test_write_page_writes_the_page_and_leaves_the_readme_of_another_folder_alone(iot23):
    before = README.read_bytes()
    path = report.write_page(iot23, "iot23")
    assert path == iot23.folder / "README.md" and path.read_text().startswith("# Results: iot23\n")
    assert report.refresh_readme(iot23) is None and README.read_bytes() == before  # not the repository's figures/


# ---------------------------------------------------------------------------------- the README block
def test_the_readme_block_is_table1s_cells_as_they_are(iot23):
    shutil.copytree(paths.FIGURES_DIR / "cicids2017", iot23.root / "cicids2017", ignore=shutil.ignore_patterns("*.png"))
    block = report.readme_block(iot23.root)
    assert block.startswith(report.RESULTS_START) and block.endswith(report.RESULTS_END)
    table = page.headline_table(iot23.root).set_index("Model")
    theirs = pd.read_csv(iot23.folder / "table1.csv", dtype=str, keep_default_na=False).set_index("Model")
    assert (table["F1, iot23 (ours)"] == theirs["F1-Score (ours)"]).all()
    assert table.loc["CNN-LSTM Hybrid", "F1 (paper)"] == theirs.loc["CNN-LSTM Hybrid", "F1-Score (paper)"]
    assert list(table.index) == list(theirs.index)  # Table 1's order, not the alphabet's
    assert "- [`cicids2017`](figures/cicids2017/README.md): multi-class" in block


def test_replacing_the_block_is_idempotent_and_refuses_missing_markers():
    start, end = report.RESULTS_START, report.RESULTS_END
    text = f"before\n{start}\nold\n{end}\nafter\n"
    block = f"{start}\nnew\n{end}"
    once = report.replace_block(text, block)
    assert once == f"before\n{block}\nafter\n" and report.replace_block(once, block) == once
    for broken in ("no markers\n", f"{start}\nonly the start\n", f"{end}\n{start}\n"):
        with pytest.raises(ValueError, match="no <!-- results:start --> ... <!-- results:end --> block"):
            report.replace_block(broken, block)


def test_the_readme_is_a_front_door_whose_results_come_from_the_figures():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    assert report.replace_block(text, report.readme_block(paths.FIGURES_DIR)) == text  # the block is up to date
    assert "make reproduce" in text and "make test" in text and "PROFILE=quick" in text
    assert "make test" in (paths.REPO_ROOT / "tests" / "README.md").read_text()
    assert not re.search(r"\b(issue|session)s?\b(?!\.py)", text.replace("lib/session.py", "").replace("`session`", ""))


def test_the_study_wall_times_are_the_runners_records(tmp_path, iot23):
    from lib import run

    folders = {"a": run.RunDir(tmp_path / "a"), "b": run.RunDir(tmp_path / "b")}
    folders["a"].record_wall_time("01_data_preparation.ipynb", 4.04, "2026-01-01T00:00:00+00:00", "complete")
    times = report.study_wall_times(folders)
    assert list(times) == ["a"]  # the runner never ran in b
    text = report.results_page(iot23, "iot23", times)
    assert "| a | 01_data_preparation.ipynb | 2026-01-01T00:00:00+00:00 | 4.0 | complete |" in text
