"""The one writer of a run's figure folder, ``figures/<run name>/`` (notebooks 06 and 07).

:class:`FigureFolder` writes tables (``.csv`` and Markdown ``.md``), Markdown texts and PNG figures, every one
atomically (:mod:`lib.io`): a reader of the folder sees an old file or a new one, never half of one. The folder
is resolved once, from ``FIGURES_DIR`` (relative: under the repository) and the run's name, so no notebook
builds a path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from lib import figures, io, paths


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    cells = [[str(c) for c in df.columns]] + [["" if pd.isna(v) else str(v) for v in row] for row in df.to_numpy()]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def write_csv(path: str | os.PathLike, df: pd.DataFrame, index: bool = False) -> Path:
    """``df`` as CSV into ``path``, atomically (pandas' defaults otherwise)."""
    return io.atomic_write(path, lambda tmp: df.to_csv(tmp, index=index))


def write_table(df: pd.DataFrame, stem: str | Path) -> tuple[Path, Path]:
    """Write ``stem.csv`` and ``stem.md`` (atomically); return both paths. Notebooks write through
    :meth:`FigureFolder.table`, which calls this."""
    stem = Path(stem)
    csv = write_csv(stem.with_suffix(".csv"), df)
    md = io.write_text(stem.with_suffix(".md"), markdown_table(df) + "\n")
    return csv, md


class FigureFolder:
    """``figures_dir/run_name``: where notebook 06 writes the paper's tables and figures for one run.

    A relative ``figures_dir`` starts at :data:`lib.paths.REPO_ROOT`, as a relative ``RUN_DIR`` does, wherever the
    process was started. Every method that writes does so atomically and returns the path(s) it wrote.
    """

    def __init__(self, figures_dir: str | os.PathLike, run_name: str):
        root = Path(figures_dir)
        self.root = root if root.is_absolute() else paths.REPO_ROOT / root
        self.name = run_name
        self.folder = self.root / run_name

    def __repr__(self) -> str:
        return f"FigureFolder({str(self.root)!r}, {self.name!r})"

    def file(self, name: str) -> Path:
        """The path of ``name`` (a plain file name) in the folder; a :class:`ValueError` for anything else."""
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"{name!r} is not a plain file name: the figure folder {self.folder} holds files only")
        return self.folder / name

    def table(self, df: pd.DataFrame, name: str) -> tuple[Path, Path]:
        """``name.csv`` (no index) and ``name.md`` (:func:`markdown_table`)."""
        return write_table(df, self.file(f"{name}.csv").with_suffix(""))

    def csv(self, df: pd.DataFrame, name: str, index: bool = True) -> Path:
        """``name.csv`` alone, with the index unless ``index=False`` (pandas' default)."""
        return write_csv(self.file(f"{name}.csv"), df, index=index)

    def text(self, markdown: str, name: str) -> Path:
        """``name.md``: ``markdown`` and a final newline."""
        return io.write_text(self.file(f"{name}.md"), markdown + "\n")

    def fig(self, fig: Any, name: str) -> Path:
        """``name.png`` through :func:`lib.figures.save_fig` (300 dpi, no varying metadata, atomic)."""
        return figures.save_fig(fig, name, self.folder)

    def remove_fig(self, name: str) -> bool:
        """Remove ``name.png`` when this run cannot draw it (:func:`lib.figures.remove_fig`), so that the folder
        never shows one left by an earlier run of the same name; return whether there was one."""
        return figures.remove_fig(self.file(f"{name}.png").stem, self.folder)

    def remove_table(self, name: str) -> bool:
        """Remove ``name.csv`` and ``name.md`` when this run has no such table; return whether one was there."""
        found = False
        for suffix in (".csv", ".md"):
            path = self.file(f"{name}{suffix}")
            found |= path.exists()
            path.unlink(missing_ok=True)
        return found

    def read(self, name: str) -> str | None:
        """The text of ``name`` in the folder, or None where it is not there (what the results page reads)."""
        path = self.file(name)
        return path.read_text() if path.is_file() else None

    def exists(self, name: str) -> bool:
        return self.file(name).is_file()
