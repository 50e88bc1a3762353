"""Where the project lives: the repository root and the folders every layer refers to.

The bottom layer with :mod:`lib.io`: it imports nothing of ``lib``. A relative ``RUN_DIR``, ``FIGURES_DIR`` or
notebook name starts at :data:`REPO_ROOT`, wherever the process was started.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
FIGURES_DIR = REPO_ROOT / "figures"
