"""The results page of a run, ``figures/<run name>/README.md``, and the README's headline block.

Notebook 06 calls :func:`write_page` last: the page puts together what the notebook wrote into the folder
(Table 1 with the paper's numbers, its companion at fixed false-positive rates, the findings, every figure with a
caption, the study's tables, zero-day, the study's wall times) with the fixed prose of :mod:`lib.report.prose`,
and links the run's executed notebooks where they are published beside it (``notebooks/``:
:mod:`lib.report.publish`; the runner writes the page again once it has published them, :func:`rewrite_page`).
Every number on the page is read from those files, none is typed, and each section names the files it quotes
in a ``*Source: ...*`` line (:func:`unsourced_numbers` checks that every number of a section is in them). For a
run the repository's README shows (:data:`README_RUNS`), it also rewrites the README's block between
:data:`RESULTS_START` and :data:`RESULTS_END` from those runs' ``table1.csv`` and ``findings.md``.

``python -m lib.report figures/iot23 figures/cicids2017`` (:func:`main`) writes the same pages from the folders alone;
where a folder holds ``seed_scores.csv`` it first rewrites the verdicts from it (:mod:`lib.report.verdicts`).
"""

from __future__ import annotations

import argparse
import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from lib import io, paths
from lib.report import prose
from lib.report.findings import importance_vs_paper
from lib.report.writer import FigureFolder, markdown_table

#: The page's name in a run's figure folder (``README.md``: what a reader browsing ``figures/`` sees first).
PAGE = "README"
#: The folder of a run's figure folder that holds its executed notebooks (:mod:`lib.report.publish` writes it).
NOTEBOOKS = "notebooks"
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


#: A number on a page or in a file (not one inside a word such as ``iot23`` or ``fig09``).
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
#: References that are not results: code spans, link targets, notebooks, figures, papers, sections.
REFERENCES = re.compile(
    r"`[^`]*`|\]\([^)]*\)|notebooks? \d\d(?:(?:, | and | to |–)\d\d)*|Figs?\. \d+[a-z]?(?:(?: and |–)\d+)*"
    r"|[Pp]apers? \d(?: and \d)?|Table 1|§[IV]+\.[A-Z]|Section [IV]+\.[A-Z]"
)
SOURCE = re.compile(r"^\*Source: (?P<files>.+)\.\*$")


# ------------------------------------------------------------------------------------------ pieces
def _source(*names: str) -> str:
    """The line naming the files a section quotes (:func:`unsourced_numbers` reads it)."""
    return "*Source: " + ", ".join(f"`{name}`" for name in names) + ".*"


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


def notebook_links(out: FigureFolder) -> list[str]:
    """The line linking the executed notebooks published beside the page (:mod:`lib.report.publish`), each by its
    file name; nothing where the folder has none (a run whose notebooks were not published)."""
    folder = out.folder / NOTEBOOKS
    names = sorted(p.name for p in folder.glob("*.ipynb") if p.is_file()) if folder.is_dir() else []
    if not names:
        return []
    links = ", ".join(f"[`{name}`]({NOTEBOOKS}/{name})" for name in names)
    return [
        f"The notebooks of this run as they ran, with their outputs, to read without running anything "
        f"([`{NOTEBOOKS}/`]({NOTEBOOKS}/)): {links}."
    ]


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
        *([prose.INTERVALS] if out.exists("intervals.csv") else []),
        _file(out, "table1", "notebook 06 writes it from notebooks 02 and 03's scores."),
        *_figure(out, "fig08b_model_comparison", dataset),
        *_note(dataset, "table1"),
        *([out.read("shortcut_verdict.md").strip()] if out.exists("shortcut_verdict.md") else []),
        _source("table1.md", "findings.md", *(["shortcut_verdict.md"] if out.exists("shortcut_verdict.md") else [])),
    ]


def _shortcut_section(out: FigureFolder) -> list[str]:
    if not out.exists("shortcut_control.md"):
        return []
    return [
        "## Is it the attack or the file? A shortcut control",
        prose.SHORTCUT,
        _file(out, "shortcut_control", "notebook 06 writes it."),
        _file(out, "shortcut_within_sources", "notebook 06 writes it."),
        out.read("shortcut_verdict.md").strip(),
        _source("shortcut_control.md", "shortcut_within_sources.md", "shortcut_verdict.md"),
    ]


def _loco_lines(out: FigureFolder) -> list[str]:
    if not out.exists("loco.md"):
        return []
    return [
        "### Leave one capture out",
        prose.LOCO,
        _file(out, "loco_vs_stratified", "notebook 06 writes it with the leave-one-capture-out table."),
        _file(out, "loco", "notebook 06 writes it from the study's leave-one-capture-out runs."),
        _source("loco_vs_stratified.md", "loco.md"),
    ]


def _findings_section(out: FigureFolder) -> list[str]:
    return [
        "## What reproduces and what does not",
        prose.FINDINGS,
        _file(out, "findings", "notebook 06 writes it with Table 1."),
        _source("findings.md"),
    ]


def _detection_section(out: FigureFolder) -> list[str]:
    return [
        "## Table 1's companion: detection at fixed false-positive rates",
        prose.DETECTION,
        _file(out, "table1_detection_at_fpr", "notebook 06 writes it from the saved validation and test predictions."),
        _source("table1_detection_at_fpr.md"),
    ]


def _deploy_section(out: FigureFolder) -> list[str]:
    if not out.exists("deploy_variant.md"):
        return []
    return [
        "## The deployment variant beside the full fusion",
        prose.DEPLOY,
        _file(out, "deploy_variant", "notebook 06 writes it from notebook 04's saved predictions."),
        _source("deploy_variant.md"),
    ]


def _operating_section(out: FigureFolder) -> list[str]:
    if not out.exists("operating_realism.md"):
        return []
    return [
        "## Alarms at a realistic prevalence",
        prose.OPERATING,
        _file(out, "operating_realism", "notebook 06 writes it from the saved validation and test predictions."),
        *([_file(out, "flow_rates", "")] if out.exists("flow_rates.md") else []),
        _source("operating_realism.md", *(["flow_rates.md"] if out.exists("flow_rates.md") else [])),
    ]


def leads(out: FigureFolder) -> list[str]:
    """What the page leads with when a control overturns the stratified split: the shortcut control's verdict when
    it finds class and source confounded, and every model whose mean macro-F1 over held-out captures lies below
    its stratified interval (from ``shortcut_verdict.md`` and ``loco_vs_stratified.csv``)."""
    lines, cited = [], []
    verdict = (out.read("shortcut_verdict.md") or "").strip()
    if verdict.startswith("Class and source are confounded"):
        rest = verdict.split(":", 1)[1].strip()
        lines.append(f"**{verdict.split(':')[0]}.** " + rest[:1].upper() + rest[1:])
        cited.append("shortcut_verdict.md")
    table = read_csv(out, "loco_vs_stratified")
    if table is not None and len(table):
        low = table["Stratified 95 % CI"].str.extract(r"\[(-?[\d.]+),")[0].astype(float)
        mean = table["Leave one capture out, mean"].str.extract(r"^(-?[\d.]+)")[0].astype(float)
        fallen = table[mean < low]
        if len(fallen):
            parts = "; ".join(f"{r['Model']} {r['Stratified macro F1']} → {r['Leave one capture out, mean']}"
                              for _, r in fallen.iterrows())  # fmt: skip
            lines.append(
                "**Held out a whole capture, these models score below their stratified interval** (macro-F1, "
                f"stratified → mean over held-out captures): {parts}."
            )
            cited.append("loco_vs_stratified.md")
    return lines + ([_source(*cited)] if cited else [])


def headline(out: FigureFolder) -> list[str]:
    """The page's first sentence: the false alarms per day of the model with the best precision at 1 % FPR (at
    the stated prevalence), from ``operating_realism.csv``; nothing where the folder has no such table or rate."""
    table = read_csv(out, "operating_realism")
    if table is None or "False alarms per day" not in table:
        return []
    at_one = table[(table["Target FPR (%)"] == "1") & table["False alarms per day"].str.len().gt(0)]
    if not len(at_one):
        return []
    precision = next(c for c in table.columns if c.startswith("Precision at"))
    values = pd.to_numeric(at_one[precision].str.split().str[0].str.replace(",", ""), errors="coerce")
    if not values.notna().any():
        return []
    best = at_one.loc[values.idxmax()]
    return [
        f"**At {best['Prevalence']} flows an attack and {best['Benign flows per day']} benign flows a day, the model "
        f"with the best precision at a 1 % false-positive rate, {best['Model']}, raises {best['False alarms per day']} false "
        f"alarms per day (its interval in brackets); {best[precision]} % of its alerts are attacks.**",
        _source("operating_realism.md"),
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
    return lines + _figure(out, "fig07_feature_importance", dataset) + [_source("feature_importance.csv")]


def _study_section(out: FigureFolder, dataset: str) -> list[str]:
    rerun = "notebook 06 writes it from the runs of the study."
    return [
        "## The study: configurations and split protocols",
        prose.STUDY,
        "### The paper-faithful and the tuned configuration (stratified split)",
        prose.CONFIGURATIONS,
        _file(out, "table1_configurations", rerun),
        _source("table1_configurations.md"),
        "### Every split protocol",
        prose.PROTOCOLS,
        *_note(dataset, "protocols"),
        _file(out, "protocols", rerun),
        _file(out, "protocol_findings", "notebook 06 writes it with the protocol table (from `seed_scores.csv`)."),
        _source("protocols.md", "protocol_findings.md"),
        "### Per-class scores in every run of the study",
        prose.PER_CLASS,
        _file(out, "protocol_per_class", rerun),
        _source("protocol_per_class.md"),
        *_loco_lines(out),
        "### Decision fusion in each run of the study",
        prose.FUSION,
        _file(out, "fusion_study", "no run of the study ran notebook 04."),
        _file(out, "fusion_comparisons", "no run of the study ran notebook 04, or notebook 06 predates this table."),
        _file(out, "fusion_verdicts", "no run of the study ran notebook 04, or notebook 06 predates the verdicts."),
        _source("fusion_study.md", "fusion_comparisons.md", "fusion_verdicts.md"),
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
    lines = ["## Paper 2: with and without SMOTE", prose.SMOTE]
    lines.append(
        _file(out, "smote", 'this run has no SMOTE stage (notebooks 02 and 03 with `TRAIN_SPLIT="train_smote"`).')
    )
    lines += _figure(out, "fig10_smote_roc", dataset)
    lines += _figure(out, "fig10_smote_pr", dataset) if out.exists("fig10_smote_pr.png") else []
    return lines + [_source("smote.md")]


def wall_times_table(wall_times: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per run and executed notebook: its latest complete execution (else its latest), from the runner's
    records (:meth:`lib.run.RunDir.wall_times`), in the order the notebooks first ran; a last row "In all" sums
    the seconds (no row at all without a record)."""
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
    if rows:
        total = sum(float(r["Seconds"].replace(",", "")) for r in rows)
        rows.append({"Run": "In all", "Notebook": "", "Started (UTC)": "", "Seconds": f"{total:,.1f}", "Status": ""})
    return pd.DataFrame(rows, columns=["Run", "Notebook", "Started (UTC)", "Seconds", "Status"])


def _wall_times_section(out: FigureFolder) -> list[str]:
    lines = ["## Wall times of the study"]
    text = out.read("wall_times.md") or ""
    if not re.search(r"\d", text):
        return lines + [prose.NO_WALL_TIMES]
    return lines + [prose.WALL_TIMES, text.strip(), _source("wall_times.md")]


# ------------------------------------------------------------------------------------------- the page
def results_page(out: FigureFolder, dataset: str) -> str:
    """The Markdown of ``out``'s results page: the files notebook 06 wrote into the folder (the study's wall times
    too, ``wall_times.md``), each with its prose (:mod:`lib.report.prose`; notes for ``dataset`` where it has
    some) and the line naming the files it quotes, then how the numbers were made."""
    head = [
        f"# Results: {out.name}",
        f"Data set `{dataset}`. Written by notebook 06 (`lib/report/page.py`) from the files of this folder; do not "
        f"edit by hand: rerun notebook 06, or `python -m lib.report <this folder>`. " + prose.INTRO,
    ]
    if not written_under_current_rules(out):
        head.append(prose.EARLIER_RULES)
    head += leads(out) + headline(out) + notebook_links(out)
    sections = [
        _table1_section(out, dataset),
        _findings_section(out),
        _shortcut_section(out),
        _detection_section(out),
        _deploy_section(out),
        _operating_section(out),
        _figures_section(out, dataset),
        _importance_section(out, dataset),
        _study_section(out, dataset),
        [*_zero_day_section(out, dataset), _source("zero_day_by_detector.md")],
        _smote_section(out, dataset),
        _wall_times_section(out),
        ["## How these numbers were made", prose.METHOD.strip()],
    ]
    return "\n\n".join(head + [block for section in sections for block in section])


def write_page(out: FigureFolder, dataset: str) -> Path:
    """Write ``out``'s results page (``README.md``, :func:`results_page`) and, when ``out`` is the repository's
    figure folder of a run the README shows, the README's headline block (:func:`refresh_readme`)."""
    path = out.text(results_page(out, dataset), PAGE)
    refresh_readme(out)
    return path


#: The page's line naming its data set (:func:`results_page` writes it second).
DATASET_LINE = re.compile(r"^Data set `(?P<dataset>[^`]+)`", re.MULTILINE)


def rewrite_page(out: FigureFolder, dataset: str = "") -> Path | None:
    """Write ``out``'s results page again from the folder's files (after its notebooks were published beside it:
    the page then links them), for ``dataset``, else for the data set the page names, else for the folder's name;
    None (nothing written) where the folder has no page. The README's block is left alone: it quotes no notebook."""
    text = out.read(f"{PAGE}.md")
    if text is None:
        return None
    named = DATASET_LINE.search(text)
    return out.text(results_page(out, dataset or (named["dataset"] if named else out.name)), PAGE)


# ------------------------------------------------------------------------------------ the README block
#: A README block line's note on a folder without ``seed_scores.csv`` (:data:`lib.report.prose.EARLIER_RULES`).
EARLIER_LINE = "Written under earlier rules (no `seed_scores.csv`; its page says which): rerun the study."


def written_under_current_rules(out: FigureFolder) -> bool:
    """Whether notebook 06 wrote ``out`` under the current rules: it holds ``seed_scores.csv``, from which the
    verdicts are rebuilt (:mod:`lib.report.verdicts`)."""
    return out.exists("seed_scores.csv")


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
    sources = ", ".join(f"`{root.name}/{name}/table1.csv`, `{root.name}/{name}/findings.md`" for name in names)
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
        earlier = "" if written_under_current_rules(out) else f" {EARLIER_LINE}"
        lines.append(f"- [`{name}`]({root.name}/{name}/{PAGE}.md){described}.{earlier}")
    cited = [f"{root.name}/{name}/{file}" for name in names for file in ("table1.csv", "findings.md")]
    return "\n".join([RESULTS_START, *lines, "", _source(*cited), RESULTS_END])


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
def rewrite_verdicts(out: FigureFolder, dataset: str) -> bool:
    """Rewrite the folder's verdicts and the tables behind them (:func:`lib.report.verdicts.from_scores`) from its
    ``seed_scores.csv`` and, where it has them, its ``intervals.csv`` and ``differences.csv``; False (nothing
    written) where the folder has no ``seed_scores.csv`` (written before it existed)."""
    from lib.report import verdicts  # its findings import the run layer; only here
    from lib.report.evidence import Evidence

    if not out.exists("seed_scores.csv"):
        return False
    evidence = Evidence.read(out)  # the test-set intervals, where notebook 06 wrote them
    tables, texts = verdicts.from_scores(pd.read_csv(out.file("seed_scores.csv")), dataset, out.name, evidence)
    for name, table in tables.items():
        if len(table):
            out.table(table, name)
        else:  # never an earlier run's table beside this run's verdicts
            out.remove_table(name)
    for name, text in texts.items():
        out.text(text, name)
    return True


# ------------------------------------------------------------------------------------ the sources check
def _fixed_prose() -> list[str]:
    """Every fixed sentence of :mod:`lib.report.prose` (a page's own words, not results), longest first."""
    fixed = [v for k, v in vars(prose).items() if k.isupper() and isinstance(v, str)]
    fixed += [c for pair in prose.FIGURES.values() for c in pair if c]
    fixed += [n for notes in prose.DATA_NOTES.values() for n in notes.values()]
    return sorted({f.strip() for f in fixed}, key=len, reverse=True)


def numbers(text: str) -> list[str]:
    """The numbers of ``text`` as written (``94.3``, ``1,663``), references (code, links, notebooks, figures,
    papers, sections) left out."""
    return NUMBER.findall(REFERENCES.sub(" ", text))


def sections(text: str) -> list[tuple[str, list[str], str]]:
    """A page (or the README block) cut at its headings: (heading, the files its ``*Source: ...*`` line names,
    its text without headings, figure lines, source lines or fixed prose)."""
    for sentence in _fixed_prose():
        text = text.replace(sentence, "")
    found, heading, cited, body = [], "", [], []
    for line in text.splitlines() + ["# end"]:
        if line.startswith("#"):
            found.append((heading, cited, "\n".join(body)))
            heading, cited, body = line, [], []
        elif match := SOURCE.match(line):
            cited += re.findall(r"`([^`]+)`", match["files"])
        elif not line.startswith(("![", "Data set `", "Generated by ")):
            body.append(line)
    return [s for s in found if s[0] or s[2].strip()]


def _cells(path: Path) -> str:
    """A file's text; a CSV's cells apart (``89.5,98.3`` is two numbers there, not one)."""
    if path.suffix != ".csv":
        return path.read_text()
    with path.open(newline="") as f:
        return "\n".join(" | ".join(row) for row in csv.reader(f))


def unsourced_numbers(text: str, folder: Path) -> dict[str, list[str]]:
    """Per heading of ``text`` (a results page, or the README block with ``folder`` the repository), the numbers
    that are not numbers of the files its source line names (relative to ``folder``); empty when all are."""
    missing = {}
    for heading, cited, body in sections(text):
        known = set()
        for name in cited:
            path = folder / name
            known |= set(numbers(_cells(path))) if path.is_file() else set()
        lost = [n for n in numbers(body) if n not in known]
        if lost:
            missing[heading or "(before the first heading)"] = lost
    return missing


# ------------------------------------------------------------------------------------------ command
def main(argv: list[str] | None = None) -> list[Path]:
    """``python -m lib.report FOLDER...``: rewrite each folder's verdicts from its ``seed_scores.csv`` where it
    has one, then its results page (and the README block)."""
    parser = argparse.ArgumentParser(description="Write figures/<name>/README.md from the files notebook 06 wrote.")
    parser.add_argument("folders", nargs="+", help="figure folders, e.g. figures/iot23")
    parser.add_argument("--dataset", default="", help="the runs' data set (default: each folder's name)")
    args = parser.parse_args(argv)
    written = []
    for folder in args.folders:
        path = Path(folder).resolve() if not Path(folder).is_absolute() else Path(folder)
        out = FigureFolder(path.parent, path.name)
        if not rewrite_verdicts(out, args.dataset or out.name):
            print(f"{out.folder} has no seed_scores.csv: its verdicts are left as notebook 06 wrote them")
        written.append(write_page(out, args.dataset or out.name))
        print(f"wrote {written[-1]}")
    return written
