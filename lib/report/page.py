"""The results page of a run, ``figures/<run name>/README.md``, and the README's headline block.

Notebook 06 calls :func:`write_page` last: the page puts together what the notebook wrote into the folder
(Table 1 with the paper's numbers, its companion at fixed false-positive rates, the findings, every figure with a
caption, the study's tables, zero-day, the study's wall times) with the fixed prose of :mod:`lib.report.prose`.
Every number on the page is read from those files (or from the runs' ``wall_times.csv``); none is typed. For a
run the repository's README shows (:data:`README_RUNS`), it also rewrites the README's block between
:data:`RESULTS_START` and :data:`RESULTS_END` from those runs' ``table1.csv``.

``python -m lib.report figures/iot23 figures/cicids2017`` (:func:`main`) writes the same pages from the folders alone
(the wall times are read from ``runs/<name>/`` where those run folders exist).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from lib import io, paths
from lib.report import prose
from lib.report.findings import importance_vs_paper
from lib.report.writer import FigureFolder, markdown_table
from lib.run import RunDir

#: The page's name in a run's figure folder (``README.md``: what a reader browsing ``figures/`` sees first).
PAGE = "README"
#: The runs whose Table 1 the repository's README shows, in its headline block.
README_RUNS = ("iot23", "cicids2017")
RESULTS_START, RESULTS_END = "<!-- results:start -->", "<!-- results:end -->"
#: The first line of ``findings.md``: ``**<name>, <label mode>, <n> seed(s).**``.
FINDINGS_HEAD = re.compile(r"^\*\*(?P<name>.+), (?P<mode>binary|multiclass), (?P<seeds>\d+) seed\(s\)\.\*\*")
#: Figures of the "Figures" section, in the paper's order (Fig. 7 has its own section, Fig. 8b is Table 1's).
PAPER_FIGURES = (
    "fig01_botnet_lifecycle",
    "fig02_architecture",
    "fig03_cnn_lstm_layers",
    "fig04_confusion_matrix",
    "fig05_roc",
    "fig06_pr",
    "fig08_training_curves",
)


# ------------------------------------------------------------------------------------------ pieces
def _note(dataset: str, key: str) -> list[str]:
    """The data set's note for ``key`` (:data:`lib.report.prose.DATA_NOTES`), as a paragraph, or nothing."""
    note = prose.DATA_NOTES.get(dataset, {}).get(key)
    return [note] if note else []


def _file(out: FigureFolder, name: str, missing: str) -> str:
    """The Markdown file ``name.md`` of the folder as it is, or one italic sentence saying it is not there."""
    text = out.read(f"{name}.md") or ""
    if not re.search(r"\w", text):  # no file, or an empty one (a table with no column is "|  |" and "|")
        return f"*`{name}.md` is not in this folder, or empty: {missing}*"
    return text.strip()


def _figure(out: FigureFolder, name: str, dataset: str) -> list[str]:
    """``name.png`` inline with its one-line caption, or the sentence saying why this run has none."""
    caption, absent = prose.FIGURES[name]
    if out.exists(f"{name}.png"):
        return [f"![{name}]({name}.png)", f"*{caption}*"]
    if not absent:
        absent = f"`{name}.png` is not in this folder: rerun notebook 06."
    return [f"*{absent}*", *_note(dataset, name)]


def findings_head(out: FigureFolder) -> dict[str, str]:
    """The run's name, label mode and number of seeds, from the first line of its ``findings.md`` (empty when
    the file is missing or its first line is not the one :func:`lib.report.findings` writes)."""
    text = out.read("findings.md") or ""
    found = FINDINGS_HEAD.match(text)
    return found.groupdict() if found else {}


def read_csv(out: FigureFolder, name: str, **kwargs) -> pd.DataFrame | None:
    """``name.csv`` of the folder with every cell kept as the text it is (``""`` for an empty one), or None."""
    if not out.exists(f"{name}.csv"):
        return None
    return pd.read_csv(out.file(f"{name}.csv"), dtype=str, keep_default_na=False, **kwargs)


# ---------------------------------------------------------------------------------------- sections
def _table1_section(out: FigureFolder, dataset: str) -> list[str]:
    head = findings_head(out)
    seeds = f" Label mode: {head['mode']}; {head['seeds']} seed(s)." if head else ""
    return [
        "## Table 1: our runs beside the paper's",
        prose.TABLE1 + seeds,
        _file(out, "table1", "notebook 06 writes it from notebooks 02 and 03's scores."),
        *_figure(out, "fig08b_model_comparison", dataset),
        *_note(dataset, "table1"),
    ]


def _findings_section(out: FigureFolder) -> list[str]:
    return [
        "## What reproduces and what does not",
        prose.FINDINGS,
        _file(out, "findings", "notebook 06 writes it with Table 1."),
    ]


def _detection_section(out: FigureFolder) -> list[str]:
    return [
        "## Table 1's companion: detection at fixed false-positive rates",
        prose.DETECTION,
        _file(out, "table1_detection_at_fpr", "notebook 06 writes it from the saved validation and test predictions."),
    ]


def _figures_section(out: FigureFolder, dataset: str) -> list[str]:
    lines = ["## The paper's figures, drawn from this run"]
    for name in PAPER_FIGURES:
        lines += _figure(out, name, dataset)
    return lines


def _importance_section(out: FigureFolder, dataset: str) -> list[str]:
    lines = ["## Feature importance (Fig. 7)", prose.IMPORTANCE]
    if out.exists("feature_importance.csv"):
        importance = pd.read_csv(out.file("feature_importance.csv"), index_col=0)
        lines.append(importance_vs_paper(importance, dataset))
    return lines + _figure(out, "fig07_feature_importance", dataset)


def _study_section(out: FigureFolder, dataset: str) -> list[str]:
    verdicts = out.read("fusion_verdicts.md")
    return [
        "## The study: configurations and split protocols",
        prose.STUDY,
        "### The paper-faithful and the tuned configuration (stratified split)",
        prose.CONFIGURATIONS,
        _file(out, "table1_configurations", "notebook 06 writes it from the runs of the study."),
        "### Every split protocol",
        prose.PROTOCOLS,
        *_note(dataset, "protocols"),
        _file(out, "protocols", "notebook 06 writes it from the runs of the study."),
        _file(out, "protocol_findings", "notebook 06 writes it with the protocol table."),
        "### Decision fusion in each run of the study",
        prose.FUSION,
        _file(out, "fusion_study", "no run of the study ran notebook 04."),
        verdicts.strip()
        if verdicts
        else "The verdicts' file (`fusion_verdicts.md`, the sentence each run's notebook 04 wrote) is not in this "
        "folder yet: notebook 06 writes it when it reads the study's run folders.",
    ]


def _zero_day_section(out: FigureFolder, dataset: str) -> list[str]:
    missing = "notebook 05 did not run for this run, or held no attack family out (notebook 06 prints why)."
    return [
        "## Zero-day: attack families the supervised models never saw (notebook 05)",
        prose.ZERO_DAY,
        *_note(dataset, "zero_day"),
        _file(out, "zero_day_by_detector", missing),
        *_figure(out, "fig09_zero_day_recall", dataset),
    ]


def _smote_section(out: FigureFolder, dataset: str) -> list[str]:
    lines = ["## Paper 2: with and without SMOTE", prose.SMOTE, *_figure(out, "fig10_smote_roc", dataset)]
    return lines + (_figure(out, "fig10_smote_pr", dataset) if out.exists("fig10_smote_pr.png") else [])


def wall_times_table(wall_times: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per run and executed notebook: its latest complete execution (else its latest), from the runner's
    records (:meth:`lib.run.RunDir.wall_times`), in the order the notebooks first ran."""
    rows = []
    for run_name, table in wall_times.items():
        table = table.reset_index(drop=True)
        complete = table[table["status"] == "complete"].drop_duplicates("notebook", keep="last")
        rest = table[~table["notebook"].isin(complete["notebook"])].drop_duplicates("notebook", keep="last")
        first = table.drop_duplicates("notebook")["notebook"].tolist()
        latest = pd.concat([complete, rest]).sort_values("notebook", key=lambda s: s.map(first.index), kind="stable")
        for row in latest.to_dict("records"):
            seconds = float(row["seconds"])
            cells = {"Run": run_name, "Notebook": row["notebook"], "Started (UTC)": row["started_utc"]}
            rows.append(cells | {"Seconds": f"{seconds:,.1f}", "Status": row["status"]})
    return pd.DataFrame(rows, columns=["Run", "Notebook", "Started (UTC)", "Seconds", "Status"])


def _wall_times_section(wall_times: Mapping[str, pd.DataFrame] | None) -> list[str]:
    lines = ["## Wall times of the study"]
    table = wall_times_table(wall_times or {})
    if not len(table):
        return lines + [prose.NO_WALL_TIMES]
    total = sum(float(s.replace(",", "")) for s in table["Seconds"])
    return lines + [prose.WALL_TIMES, markdown_table(table), f"In all: {total:,.1f} s of notebooks."]


# ------------------------------------------------------------------------------------------- the page
def results_page(out: FigureFolder, dataset: str, wall_times: Mapping[str, pd.DataFrame] | None = None) -> str:
    """The Markdown of ``out``'s results page: the files notebook 06 wrote into the folder, each with its prose
    (:mod:`lib.report.prose`; notes for ``dataset`` where it has some), and ``wall_times`` (run name -> the
    runner's records, :func:`lib.report.study_wall_times`), then how the numbers were made."""
    head = [
        f"# Results: {out.name}",
        f"Data set `{dataset}`. Written by notebook 06 (`lib/report/page.py`) from the files of this folder; do not "
        f"edit by hand: rerun notebook 06, or `python -m lib.report <this folder>`. " + prose.INTRO,
    ]
    sections = [
        _table1_section(out, dataset),
        _findings_section(out),
        _detection_section(out),
        _figures_section(out, dataset),
        _importance_section(out, dataset),
        _study_section(out, dataset),
        _zero_day_section(out, dataset),
        _smote_section(out, dataset),
        _wall_times_section(wall_times),
        ["## How these numbers were made", prose.METHOD.strip()],
    ]
    return "\n\n".join(head + [block for section in sections for block in section])


def write_page(out: FigureFolder, dataset: str, wall_times: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write ``out``'s results page (``README.md``, :func:`results_page`) and, when ``out`` is the repository's
    figure folder of a run the README shows, the README's headline block (:func:`refresh_readme`)."""
    path = out.text(results_page(out, dataset, wall_times), PAGE)
    refresh_readme(out)
    return path


# ------------------------------------------------------------------------------------ the README block
def headline_table(figures_root: str | Path, names: Sequence[str] = README_RUNS) -> pd.DataFrame:
    """Each run's F1 from its ``table1.csv`` (the text of the cells, unchanged), one column per run, and the
    paper's F1 (the first table's that has one for the model); models in the order the tables list them. Runs
    without ``table1.csv`` are left out."""
    columns: dict[str, pd.Series] = {}
    paper = pd.Series(dtype=str)
    for name in names:
        table = read_csv(FigureFolder(figures_root, name), "table1")
        if table is None or "F1-Score (ours)" not in table:
            continue
        columns[f"F1, {name} (ours)"] = table.set_index("Model")["F1-Score (ours)"]
        if "F1-Score (paper)" in table:
            theirs = table.set_index("Model")["F1-Score (paper)"]
            paper = pd.concat([paper, theirs[(theirs != "") & ~theirs.index.isin(paper.index)]])
    models = list(dict.fromkeys(m for column in columns.values() for m in column.index))
    out = pd.DataFrame({"Model": models})
    for column, values in columns.items():
        out[column] = out["Model"].map(values)
    if len(paper):
        out["F1 (paper)"] = out["Model"].map(paper)
    return out.fillna("")


def readme_block(figures_root: str | Path, names: Sequence[str] = README_RUNS) -> str:
    """The README's results block (markers included): :func:`headline_table` and one line per run saying what
    its F1 is, with a link to its results page."""
    root = FigureFolder(figures_root, "").root
    folders = {name: FigureFolder(root, name) for name in names}
    sources = " and ".join(f"`{root.name}/{name}/table1.csv`" for name in names)
    lines = [
        f"Generated by `lib/report/page.py` from {sources} (notebook 06 of those runs, or `python -m "
        f"lib.report {' '.join(f'{root.name}/{n}' for n in names)}`); do not edit by hand.",
        "",
        markdown_table(headline_table(root, names)),
        "",
    ]
    for name, out in folders.items():
        head = findings_head(out)
        what = {"binary": "binary, F1 of the attack class", "multiclass": "multi-class, F1 averaged over the classes"}
        described = f": {what[head['mode']]}, mean ± std over {head['seeds']} seed(s), in percent" if head else ""
        lines.append(f"- [`{name}`]({root.name}/{name}/{PAGE}.md){described}.")
    return "\n".join([RESULTS_START, *lines, RESULTS_END])


def replace_block(text: str, block: str, start: str = RESULTS_START, end: str = RESULTS_END) -> str:
    """``text`` with everything from ``start`` to ``end`` (both included) replaced by ``block``; a
    :class:`ValueError` when either marker is missing, or ``end`` comes first."""
    if start not in text or end not in text or text.index(end) < text.index(start):
        raise ValueError(f"no {start} ... {end} block to replace: add the two markers, in that order, where it goes")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + block + tail


def refresh_readme(out: FigureFolder, readme: str | Path | None = None) -> Path | None:
    """Rewrite the README's results block (:func:`readme_block`) when ``out`` is the repository's figure folder
    (:data:`lib.paths.FIGURES_DIR`) of a run it shows (:data:`README_RUNS`); return the README's path, or None
    when the run is not one of those (a test's or a user's run never touches the README)."""
    if out.name not in README_RUNS or out.root.resolve() != paths.FIGURES_DIR.resolve():
        return None
    readme = Path(readme) if readme else paths.REPO_ROOT / "README.md"
    return io.write_text(readme, replace_block(readme.read_text(), readme_block(out.root)))


# ------------------------------------------------------------------------------------------ command
def recorded_wall_times(out: FigureFolder, runs_dir: str | Path = "runs") -> dict[str, pd.DataFrame]:
    """The wall times of the runs ``out``'s protocol table names (else of ``out``'s run), read from the run
    folders under ``runs_dir`` that exist (relative: under the repository)."""
    root = Path(runs_dir) if Path(runs_dir).is_absolute() else paths.REPO_ROOT / runs_dir
    protocols = read_csv(out, "protocols")
    names = list(dict.fromkeys(protocols["Run"])) if protocols is not None and "Run" in protocols else [out.name]
    found = {}
    for name in names:
        if (root / name / "prepared").is_dir():  # checked first: RunDir would create the folder
            table = RunDir(root / name).wall_times()
            if len(table):
                found[name] = table
    return found


def main(argv: list[str] | None = None) -> list[Path]:
    """``python -m lib.report FOLDER...``: write each folder's results page (and the README block)."""
    parser = argparse.ArgumentParser(description="Write figures/<name>/README.md from the files notebook 06 wrote.")
    parser.add_argument("folders", nargs="+", help="figure folders, e.g. figures/iot23")
    parser.add_argument("--dataset", default="", help="the runs' data set (default: each folder's name)")
    parser.add_argument("--runs-dir", default="runs", help="where the study's run folders are (for wall times)")
    args = parser.parse_args(argv)
    written = []
    for folder in args.folders:
        path = Path(folder).resolve() if not Path(folder).is_absolute() else Path(folder)
        out = FigureFolder(path.parent, path.name)
        written.append(write_page(out, args.dataset or out.name, recorded_wall_times(out, args.runs_dir)))
        print(f"wrote {written[-1]}")
    return written
