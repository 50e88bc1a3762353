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
from lib import metrics as report_metrics  # noqa: E402
from lib.report import page, prose  # noqa: E402
from lib.report.evidence import Evidence

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
def _seed_scores() -> pd.DataFrame:
    """A small study, seed by seed: a main run (Table 1 stages, fusion, SMOTE) and a strict-split run."""
    rows = []
    means = {"random_forest": 0.95, "xgboost": 0.96, "cnn_only": 0.94, "lstm_only": 0.90, "cnn_lstm": 0.945}
    # every model moves a little from seed to seed (a model the seeds do not vary gives no interval)
    jitter = {"random_forest": (5, 0, 10), "xgboost": (0, 10, 5), "cnn_only": (10, 5, 0), "cnn_lstm": (0, 5, 10)}
    for run_name, split, config, shift in (
        ("toy", "stratified", "paper-faithful", 0.0),
        ("toy-group", "group", "tuned", -0.5),
    ):
        for model, value in means.items():
            stage = "baselines" if model in ("random_forest", "xgboost") else "deep"
            for seed in (1, 2, 3):
                v = (
                    value
                    + shift
                    + 0.003 * seed * (model == "lstm_only")
                    + 1e-4 * jitter.get(model, (0, 0, 0))[seed - 1]
                )
                scores = {"accuracy": v, "precision": v, "recall": v, "f1": v, "f1_macro": v, "roc_auc": v, "fpr": 0.1,
                          "f1_benign": v, "recall_benign": 0.9}  # fmt: skip
                rows.append({"run": run_name, "split": split, "configuration": config, "stage": stage, "model": model,
                             "seed": seed, "n_test": 1000, "n_train": 4000, **scores})  # fmt: skip
                if run_name == "toy" and model in ("cnn_lstm", "xgboost"):
                    rows.append(
                        rows[-1] | {"stage": f"{stage}_smote", "n_train": 6000, "f1_macro": v + 0.001 + 2e-4 * seed}
                    )
    for model, v, k in (("fusion_xgboost", 0.97, 1.0), ("cnn_lstm", 0.945, 0.5), ("soft_voting", 0.95, 0.0),
                        ("xgboost", 0.96, 0.2)):  # fmt: skip
        for seed in (1, 2, 3):
            rows.append({"run": "toy", "split": "stratified", "configuration": "paper-faithful", "stage": "fusion",
                         "model": model, "seed": seed, "n_test": 1000, "f1_macro": v + 0.001 * seed * k, "val_f1_macro": v})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def toy(tmp_path) -> report.FigureFolder:
    """A synthetic figure folder as notebook 06 writes it: seed_scores.csv, Table 1, the verdicts and the page."""
    out = report.FigureFolder(tmp_path / "figures", "toy")
    scores = _seed_scores()
    out.csv(scores, "seed_scores", index=False)
    main = scores[(scores["run"] == "toy") & scores["stage"].isin(["baselines", "deep"])]
    out.table(report_metrics.table1_vs_paper(main, "iot23", "binary"), "table1")
    assert report.rewrite_verdicts(out, "iot23")
    report.write_page(out, "iot23")
    return out


def test_a_page_built_from_a_synthetic_folder_quotes_only_the_files_each_section_cites(toy):
    text = toy.read("README.md")
    assert report.unsourced_numbers(text, toy.folder) == {}
    assert "*Source: `findings.md`.*" in text and "*Source: `smote.md`.*" in text
    for name in ("findings", "protocol_findings", "fusion_verdicts", "fusion_comparisons", "smote", "table1"):
        assert toy.read(f"{name}.md").strip() in text, name
    typed = text.replace("## Wall times of the study", "The hybrid gains 12.34 points.\n\n## Wall times of the study")
    assert report.unsourced_numbers(typed, toy.folder) == {"## Paper 2: with and without SMOTE": ["12.34"]}
    untold = text.replace("*Source: `findings.md`.*", "")  # a section that names no file: its numbers are unsourced
    assert "## What reproduces and what does not" in report.unsourced_numbers(untold, toy.folder)


def test_the_verdicts_of_a_folder_are_rebuilt_from_its_seed_scores_alone(toy):
    tables, texts = report.verdicts_from_scores(pd.read_csv(toy.folder / "seed_scores.csv"), "iot23", "toy")
    for name, text in texts.items():
        assert toy.read(f"{name}.md") == text + "\n", name
    findings = texts["findings"]
    assert findings.startswith("**toy, binary, 3 seed(s).**")
    assert "four models* — does not reproduce: the hybrid is worse than Random Forest (-0.50 points" in findings
    assert "better than CNN-Only (+0.50 points, 95 % CI over 3 paired seeds [+0.25, +0.75])" in findings
    assert "*Accuracy ranks" in findings and "best mean" not in findings
    smote = tables["smote"].set_index("Model")
    assert smote.loc["CNN-LSTM Hybrid", "Training rows, SMOTE (D2)"] == "6,000"
    assert smote.loc["CNN-LSTM Hybrid", "SMOTE − unbalanced, macro F1 (points)"].endswith("level with unbalanced")
    assert "- toy (paper-faithful, stratified): Fusion adds something here" in texts["fusion_verdicts"]


def test_every_number_of_the_page_comes_from_the_folders_files(iot23):
    text = report.results_page(iot23, "iot23")
    table1 = iot23.read("table1.md").strip()
    assert f"\n\n{table1}\n\n" in text  # Table 1 block = table1.md, as it is
    for name in ("table1_detection_at_fpr", "table1_configurations", "protocols", "fusion_study", "findings"):
        assert iot23.read(f"{name}.md").strip() in text, name
    assert report.unsourced_numbers(text, iot23.folder) == {}
    assert "![fig05_roc](fig05_roc.png)" in text
    recorded = (iot23.folder / "wall_times.md").exists()  # the study's wall times, where notebook 06 copied them
    assert iot23.read("wall_times.md").strip() in text if recorded else prose.NO_WALL_TIMES in text


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
    iot23.table(report.wall_times_table({"iot23": times}), "wall_times")
    text = report.results_page(iot23, "iot23")
    assert "*`zero_day_by_detector.md` is not in this folder, or empty: notebook 05 did not run" in text
    assert "*`fusion_study.md` is not in this folder, or empty: no run of the study ran notebook 04.*" in text
    assert prose.FIGURES["fig09_zero_day_recall"][1] in text
    assert "| iot23 | 03_cnn_lstm.ipynb | t2 | 1,047.5 | complete |" in text  # the latest complete execution
    assert "| iot23 | 06.ipynb | t3 | 25.0 | failed |" in text and "| In all |  |  | 1,076.7 |  |" in text
    assert prose.NO_WALL_TIMES not in text


def test_the_committed_pages_are_what_the_page_code_makes_of_their_folders():
    for name in page.README_RUNS:
        out = report.FigureFolder(paths.FIGURES_DIR, name)
        assert report.results_page(out, name) + "\n" == out.read("README.md"), name


# --------------------------------------------------------------------------------- the committed pages
def test_the_committed_pages_and_the_readme_block_quote_only_the_files_they_cite():
    for name in page.README_RUNS:
        out = report.FigureFolder(paths.FIGURES_DIR, name)
        assert report.unsourced_numbers(out.read("README.md"), out.folder) == {}, name
    text = README.read_text()
    block = text[text.index(report.RESULTS_START) : text.index(report.RESULTS_END)]
    assert "*Source: `figures/iot23/table1.csv`" in block
    assert report.unsourced_numbers(block, paths.REPO_ROOT) == {}


@pytest.mark.parametrize("name", page.README_RUNS)
def test_the_committed_verdicts_are_the_one_rules_verdicts_or_say_they_are_not(name):
    """A committed folder with seed_scores.csv holds exactly the verdicts lib/report/verdicts.py computes from it
    (notebook 06 writes both); one without it was written before that file existed, and its page and the README
    block say so at the top, where a reader starts."""
    out = report.FigureFolder(paths.FIGURES_DIR, name)
    text = README.read_text()
    line = next(line for line in text.splitlines() if line.startswith(f"- [`{name}`]"))
    if not out.exists("seed_scores.csv"):
        assert prose.EARLIER_RULES in out.read("README.md").split("\n## ")[0], name
        assert line.endswith(page.EARLIER_LINE), line
        return
    assert page.EARLIER_LINE not in line and prose.EARLIER_RULES not in out.read("README.md")
    evidence = Evidence.read(out)  # the test-set intervals the verdicts quote, where notebook 06 wrote them
    _, texts = report.verdicts_from_scores(pd.read_csv(out.file("seed_scores.csv")), name, name, evidence)
    for file, text in texts.items():
        assert out.read(f"{file}.md") == text + "\n", f"{name}/{file}.md"


def test_a_folder_without_seed_scores_is_marked_as_written_under_earlier_rules(toy):
    assert prose.EARLIER_RULES not in report.results_page(toy, "iot23")
    assert page.EARLIER_LINE not in report.readme_block(toy.root, ["toy"])
    toy.folder.joinpath("seed_scores.csv").unlink()
    assert prose.EARLIER_RULES in report.results_page(toy, "iot23")
    assert page.EARLIER_LINE in report.readme_block(toy.root, ["toy"])


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
    iot23.table(report.wall_times_table(times), "wall_times")
    text = report.results_page(iot23, "iot23")
    assert "| a | 01_data_preparation.ipynb | 2026-01-01T00:00:00+00:00 | 4.0 | complete |" in text
