"""A run's executed notebooks, published beside its figures for a reader: ``figures/<run name>/notebooks/``.

GitHub renders ``.ipynb`` files, so a student reads the whole reproduction, cell by cell with its outputs, without
running anything. :func:`publish` copies the executed notebooks 01–06 that a run folder's ``notebooks/`` holds
(:data:`PUBLISHED`; the copies a study step of the same run labelled, such as ``02_baselines.smote.ipynb``,
included; notebook 07, the kernels' logs, ``wall_times.csv`` and ``numerics.json`` not) into the figure folder's
``notebooks/``. The runner calls :func:`publish_run` after notebook 06 of a main run (:mod:`lib.runner`);
``python -m lib.runner --publish RUN_DIR`` publishes an existing run folder without running anything.

**Kept:** every cell, its source and tags, its outputs (text, tables, Markdown, figures inline as PNG), the
execution counts as the kernel numbered them, the parameters each notebook ran with (papermill's ``parameters``,
``default_parameters``, ``input_path``, ``output_path``, ``version``, ``exception``).

**Removed or rewritten** (each counted in :attr:`Published.removed` and :attr:`Published.replaced`):

* the machine's absolute paths, in sources, outputs and metadata alike (:func:`machine_paths`). A path in the
  repository the run was executed in (read from papermill's ``input_path``) or in this one becomes relative to it
  (``runs/iot23/prepared``; the root itself ``.``); outside a repository, the run folder becomes ``$RUN_DIR``,
  the data folder (the notebooks' ``DATA_DIR``, the prepared data's, ``$IOT_BOTNET_DATA_DIR``) ``$DATA_DIR``,
  the cache (``$IOT_BOTNET_CACHE_DIR``) ``$CACHE_DIR``, Python's environment ``$PYTHON``, the home folder ``~``
  and the temporary folder ``$TMPDIR``. Where two apply, the longer (more specific) path wins. Base64 images
  are not searched (their text is not a path);
* the times of the execution: papermill's metadata of each cell (start, end, duration, status, exception), the
  kernel's message time stamps of each cell (``execution``), and papermill's start, end and duration of the
  notebook;
* progress bars: tqdm's lines in standard-error streams (a stream left empty goes), widget views and the
  notebook's widget state (``widgets``), which a page cannot show;
* what differs from one execution to the next without saying anything: the time stamp and thread id of
  TensorFlow's C++ log lines (``I0000 00:00:1796592774.344410   13818 port.cc:153] ...`` becomes
  ``I port.cc:153] ...``; the kernel's log in the run folder keeps them whole) and the memory addresses in
  objects' representations (``<function f at 0x7f59c2fb65c0>`` becomes ``<function f at 0x...>``).

**Not removed:** a time a notebook prints as a result (``read in 0.3 s``, fitting and prediction times, the
throughput and timing tables of notebooks 02–05) stays as it ran: it is a measurement of the run, like a score.

Each published notebook is under :data:`MAX_BYTES`; a larger one is an error that names it, its size and its
biggest outputs (nothing is dropped to make it fit). The same run folder gives the same bytes (keys sorted, the
layout nbformat writes), and the folder ``notebooks/`` is replaced whole (:func:`lib.io.atomic_folder`: an
earlier publication's notebooks do not stay behind); nothing else of the figure folder is touched.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib import io, paths
from lib.datasets import files
from lib.report import page
from lib.report.writer import FigureFolder
from lib.run import MANIFEST, RunDir

#: The notebooks published: the chain of a main run (notebook 07 scores new traffic in a run of its own).
PUBLISHED = ("01", "02", "03", "04", "05", "06")
#: The largest notebook published, in bytes (GitHub stops rendering large notebooks; a repository grows with each).
MAX_BYTES = 8 * 1024 * 1024
#: Python installations shared by every user of a machine: not replaced (they name no user and no project).
SYSTEM_PREFIXES = ("/", "/usr", "/usr/local")

#: Output types whose text is base64, never searched for paths.
BINARY = re.compile(r"^(?:image/(?!svg)|application/(?:pdf|octet-stream)$)")
#: A tqdm progress bar's meter: ``[00:01<00:02, 30.12it/s]``, ``[00:00<?, ?it/s]``, ``[00:05, 1.2s/it]``.
PROGRESS_BAR = re.compile(
    r"\[(?:\d+d, )?(?:\d+:)?\d{2}:\d{2}(?:<(?:(?:\d+d, )?(?:\d+:)?\d{2}:\d{2}|\?))?, *(?:\?|\d[\d.]*)[^\]/]*/[^\]]*\]"
)
#: The time stamp and thread id of a C++ log line in absl's format (TensorFlow's start-up lines).
LOG_STAMP = re.compile(r"^([IWEF])\d{4} \d{2}:\d{2}:\d+\.\d+ +\d+ (?=\S+:\d+\] )", re.MULTILINE)
#: A memory address in an object's representation (``at 0x7f59c2fb65c0``, or cut short: ``at 0x7f59c...``).
ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]+(?:\.\.\.)?")
#: A widget's view in an output (its state is not published: nothing could draw it).
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: papermill's times of a whole notebook.
NOTEBOOK_TIMES = ("start_time", "end_time", "duration")


@dataclass(frozen=True)
class Published:
    """One published notebook: where it went, its size in bytes, the machine paths replaced (path: how many
    times) and what else was removed or rewritten (what: how many)."""

    path: Path
    size: int
    replaced: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ finding
def executed_notebooks(run_dir: str | os.PathLike, prefixes: Sequence[str] = PUBLISHED) -> list[Path]:
    """The executed notebooks of ``run_dir/notebooks/`` whose number is one of ``prefixes`` (``NN_name.ipynb``
    and labelled copies ``NN_name.label.ipynb``), in order of name."""
    folder = Path(run_dir) / "notebooks"
    found = folder.glob("[0-9][0-9]_*.ipynb") if folder.is_dir() else []
    return sorted(p for p in found if p.name[:2] in prefixes and p.is_file())


def _forms(path: str | os.PathLike) -> set[str]:
    """A folder as given and as resolved (symbolic links followed), without a trailing separator."""
    path = Path(path).expanduser()
    if not path.is_absolute():
        return set()
    forms = {str(path), os.path.realpath(path)}
    return {f.rstrip("/") for f in forms if f.rstrip("/")}


def _within(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root + "/") for root in roots)


def _recorded_data_dirs(run_dir: Path, notebooks: Iterable[dict]) -> list[str]:
    """The ``DATA_DIR`` values the notebooks ran with (papermill's parameters) and the prepared data's."""
    values = [nb.get("metadata", {}).get("papermill", {}).get("parameters", {}).get("DATA_DIR") for nb in notebooks]
    try:
        manifest = json.loads((run_dir / "prepared" / MANIFEST).read_bytes())
        values.append(manifest.get("parameters", {}).get("DATA_DIR"))
    except (OSError, ValueError, AttributeError):
        pass
    return [v for v in values if isinstance(v, str) and v]


def _executed_roots(notebooks: Iterable[dict]) -> list[str]:
    """The repository each notebook was executed in: the folder above ``notebooks/`` of papermill's input."""
    roots = []
    for nb in notebooks:
        source = nb.get("metadata", {}).get("papermill", {}).get("input_path")
        if isinstance(source, str) and Path(source).is_absolute() and Path(source).parent.name == "notebooks":
            roots.append(str(Path(source).parent.parent))
    return roots


def machine_paths(run_dir: str | os.PathLike, notebooks: Iterable[dict] = ()) -> dict[str, str]:
    """Each absolute folder of this machine that a published notebook must not show, and what replaces it: ``""``
    (a path relative to it) for a repository, a symbol (``$DATA_DIR``, ``~``, ...) for the others. See the
    module's docstring for the list; a folder inside a repository is left to the repository's relative form."""
    notebooks = list(notebooks)
    run_dir = Path(run_dir)
    roots = {form for root in [paths.REPO_ROOT, *_executed_roots(notebooks)] for form in _forms(root)}
    symbols: dict[str, str] = {}

    def add(folder: str | os.PathLike | None, symbol: str) -> None:
        for form in _forms(folder) if folder else ():
            if not _within(form, roots) and form not in SYSTEM_PREFIXES:
                symbols.setdefault(form, symbol)

    add(run_dir, "$RUN_DIR")
    for data_dir in [*_recorded_data_dirs(run_dir, notebooks), os.environ.get(files.DATA_DIR_ENV)]:
        add(data_dir, "$DATA_DIR")
    add(os.environ.get(files.CACHE_DIR_ENV), "$CACHE_DIR")
    add(sys.prefix, "$PYTHON")
    add(sys.base_prefix, "$PYTHON")
    add(Path.home(), "~")
    add(tempfile.gettempdir(), "$TMPDIR")
    found = {root: "" for root in roots} | symbols
    return dict(sorted(found.items(), key=lambda item: (-len(item[0]), item[0])))


# ------------------------------------------------------------------------------------------ cleaning
def _path_replacer(machine: dict[str, str], counts: Counter) -> Callable[[str], str]:
    """A function that rewrites every path of ``machine`` in a text (not inside a longer name), counting each."""
    if not machine:
        return lambda text: text
    alternatives = "|".join(re.escape(p) for p in machine)  # longest first: the most specific wins
    # the path, then a separator (taken with it) or the end of the name (not ``/work/x-old`` for ``/work/x``)
    pattern = re.compile(rf"(?<![\w.\-~$])({alternatives})(/)?(?(2)|(?![\w\-]|\.[\w\-]))")

    def replace(match: re.Match) -> str:
        found, slash = match.group(1), match.group(2) or ""
        counts[found] += 1
        if machine[found]:
            return machine[found] + slash
        follows = match.string[match.end() : match.end() + 1]
        return "" if slash and re.match(r"[\w.\-~$]", follows) else "." + slash  # the root itself: "."

    def rewrite(text: str) -> str:
        return pattern.sub(replace, text) if "/" in text else text

    return rewrite


def _map_strings(value: Any, rewrite: Callable[[str], str]) -> Any:
    """``value`` (JSON) with ``rewrite`` applied to every string, base64 outputs (:data:`BINARY`) left alone."""
    if isinstance(value, str):
        return rewrite(value)
    if isinstance(value, list):
        return [_map_strings(v, rewrite) for v in value]
    if isinstance(value, dict):
        return {k: v if BINARY.match(k) else _map_strings(v, rewrite) for k, v in value.items()}
    return value


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _like(original: str | list[str], text: str) -> str | list[str]:
    """``text`` in the form of ``original``: one string, or its lines (nbformat's layout of a multi-line text)."""
    return text if isinstance(original, str) else text.splitlines(keepends=True)


def _without_bars(text: str) -> tuple[str, int]:
    """``text`` without tqdm's progress-bar lines (a bar redraws after a carriage return); how many went."""
    kept, dropped = [], 0
    lines = text.split("\n")
    for i, line in enumerate(lines):
        end = "\n" if i < len(lines) - 1 else ""
        parts = line.split("\r")
        rest = [p for p in parts if not PROGRESS_BAR.search(p)]
        if len(rest) == len(parts):
            kept.append(line + end)
            continue
        dropped += len(parts) - len(rest)
        rest = [p for p in rest if p.strip()]
        if rest:
            kept.append("\n".join(rest) + end)
    return "".join(kept), dropped


def _clean_output(output: dict, removed: Counter) -> dict | None:
    """One output without progress bars, widget views, log time stamps and memory addresses; None when nothing of
    it is left."""
    output = dict(output)
    if output.get("output_type") == "stream":
        text = _text(output.get("text", ""))
        if output.get("name") == "stderr":
            text, bars = _without_bars(text)
            removed["progress-bar lines"] += bars
            text, stamps = LOG_STAMP.subn(r"\1 ", text)
            removed["log time stamps"] += stamps
            if not text.strip():
                removed["empty streams"] += 1
                return None
        text, addresses = ADDRESS.subn("at 0x...", text)
        removed["memory addresses"] += addresses
        if text != _text(output.get("text", "")):
            output["text"] = _like(output["text"], text)
        return output
    if "data" in output:
        data = dict(output["data"])
        if data.pop(WIDGET_VIEW, None) is not None:
            removed["widget views"] += 1
            plain = _text(data.get("text/plain", ""))
            if set(data) <= {"text/plain"} and (not plain.strip() or PROGRESS_BAR.search(plain)):
                return None
        for mime in ("text/plain", "text/html"):
            if mime in data:
                text, addresses = ADDRESS.subn("at 0x...", _text(data[mime]))
                removed["memory addresses"] += addresses
                if addresses:
                    data[mime] = _like(data[mime], text)
        output["data"] = data
    return output


def clean(notebook: dict, machine: dict[str, str]) -> tuple[dict, Counter, Counter]:
    """A copy of an executed ``notebook`` (its JSON) as :func:`publish` writes it (the module's docstring says
    what goes), with the machine paths replaced (path: count) and the rest removed (what: count)."""
    removed: Counter = Counter()
    notebook = dict(notebook)
    metadata = dict(notebook.get("metadata", {}))
    if "widgets" in metadata:
        del metadata["widgets"]
        removed["widget state"] += 1
    if isinstance(metadata.get("papermill"), dict):
        papermill = dict(metadata["papermill"])
        for key in NOTEBOOK_TIMES:
            if key in papermill:
                del papermill[key]
                removed["notebook times"] += 1
        metadata["papermill"] = papermill
    notebook["metadata"] = metadata
    cells = []
    for cell in notebook.get("cells", []):
        cell = dict(cell)
        cell_metadata = dict(cell.get("metadata", {}))
        for key, what in (("papermill", "cell times (papermill)"), ("execution", "cell times (kernel)")):
            if key in cell_metadata:
                del cell_metadata[key]
                removed[what] += 1
        cell["metadata"] = cell_metadata
        if "outputs" in cell:
            outputs = [_clean_output(o, removed) for o in cell["outputs"]]
            cell["outputs"] = [o for o in outputs if o is not None]
        cells.append(cell)
    notebook["cells"] = cells
    replaced: Counter = Counter()
    notebook = _map_strings(notebook, _path_replacer(machine, replaced))
    return notebook, replaced, +removed


def dumps(notebook: dict) -> str:
    """A notebook's JSON as nbformat lays it out on disk (keys sorted, one-space indent, UTF-8), newline-ended."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def biggest_outputs(notebook: dict, n: int = 3) -> list[str]:
    """The ``n`` largest outputs of ``notebook``, each as ``cell <position> (In [<count>]): <kind>, <size>``."""
    found = []
    for position, cell in enumerate(notebook.get("cells", []), 1):
        for output in cell.get("outputs", []):
            size = len(dumps(output).encode())
            data = output.get("data") or {}
            kind = (
                max(data, key=lambda mime: len(dumps(data[mime])))
                if data
                else f"{output.get('output_type')} {output.get('name', '')}".strip()
            )
            found.append((size, f"cell {position} (In [{cell.get('execution_count')}]): {kind}, {_size(size)}"))
    return [text for _, text in sorted(found, key=lambda item: -item[0])[:n]]


# ------------------------------------------------------------------------------------------ publishing
def publish(
    run_dir: str | os.PathLike, figure_folder: str | os.PathLike, max_bytes: int = MAX_BYTES
) -> list[Published]:
    """Write the cleaned copies of ``run_dir``'s executed notebooks (:func:`executed_notebooks`, :func:`clean`)
    into ``figure_folder/notebooks/``, replacing that folder whole; return what was written. A
    :class:`FileNotFoundError` when the run folder has no executed notebook to publish, a :class:`ValueError`
    (before anything is written) when a copy would reach ``max_bytes`` or a file is not a notebook."""
    run_dir = Path(run_dir)
    target = Path(figure_folder) / page.NOTEBOOKS
    sources = executed_notebooks(run_dir)
    if not sources:
        raise FileNotFoundError(
            f"{run_dir / 'notebooks'} holds no executed notebook {', '.join(PUBLISHED)} to publish: run the "
            f"notebooks first (python -m lib.runner), or name the run folder they were written to"
        )
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ValueError(f"{target} is not a folder: remove it, and publish again (the folder is written whole)")
    notebooks = {}
    for source in sources:
        try:
            notebook = json.loads(source.read_bytes())
        except (OSError, ValueError) as err:
            raise ValueError(f"{source} is not a readable notebook ({io.short_reason(err)}): rerun it") from err
        if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
            raise ValueError(f"{source} is not a notebook (no list of cells): rerun it")
        notebooks[source.name] = notebook
    machine = machine_paths(run_dir, notebooks.values())
    cleaned, too_big = {}, []
    for name, notebook in notebooks.items():
        copy, replaced, removed = clean(notebook, machine)
        text = dumps(copy).encode()
        cleaned[name] = (text, replaced, removed)
        if len(text) >= max_bytes:
            too_big.append(f"{name} is {_size(len(text))} (its biggest outputs: {'; '.join(biggest_outputs(copy))})")
    if too_big:
        raise ValueError(
            f"cannot publish the notebooks of {run_dir} into {target}: each must be under {_size(max_bytes)}, and "
            f"{' and '.join(too_big)}. Fix: make that notebook show less (a shorter table, a smaller figure), rerun "
            f"it, and publish again; nothing was written"
        )

    def write(folder: Path) -> None:
        for name, (text, _, _) in cleaned.items():
            (folder / name).write_bytes(text)

    io.atomic_folder(target, write)
    return [
        Published(target / name, len(text), dict(sorted(replaced.items())), dict(sorted(removed.items())))
        for name, (text, replaced, removed) in cleaned.items()
    ]


def publish_run(
    run_dir: str | os.PathLike, figures_dir: str | os.PathLike = "figures", dataset: str = ""
) -> list[Published]:
    """Publish the executed notebooks of ``run_dir`` (relative: to the repository) into its figure folder,
    ``figures_dir/<run name>/notebooks/`` (the name notebook 06 gives it: :attr:`lib.run.RunDir.name`), then
    write the folder's results page again where there is one, so that it links them
    (:func:`lib.report.page.rewrite_page`, with ``dataset``, else the data set the page names)."""
    path = Path(run_dir) if Path(run_dir).is_absolute() else paths.REPO_ROOT / run_dir
    if not path.is_dir():
        raise FileNotFoundError(f"no run folder {path}: name the RUN_DIR the notebooks were run with (runs/<name>)")
    out = FigureFolder(figures_dir, RunDir(path).name)
    published = publish(path, out.folder)
    page.rewrite_page(out, dataset)
    return published


def summary(published: Sequence[Published]) -> str:
    """One line: each notebook's size, then the paths replaced and what was removed, in all."""
    replaced, removed = Counter(), Counter()
    for p in published:
        replaced.update(p.replaced)
        removed.update(p.removed)
    sizes = ", ".join(f"{p.path.name} {_size(p.size)}" for p in published)
    paths_text = ", ".join(f"{k or '.'} x{v}" for k, v in sorted(replaced.items())) or "none"
    removed_text = ", ".join(f"{k} x{v}" for k, v in sorted(removed.items())) or "nothing"
    return f"{sizes}; machine paths replaced: {paths_text}; removed: {removed_text}"
