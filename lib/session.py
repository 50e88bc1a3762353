"""Set-up shared by every notebook's second cell: repository paths, one seed, library versions."""

from __future__ import annotations

import importlib
import os
import random
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
FIGURES_DIR = REPO_ROOT / "figures"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and, if it is already imported, Keras/TensorFlow from one ``seed``.

    Modules that train networks call this again after importing Keras, so data work never has to
    import TensorFlow just to be seeded.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds libraries that still draw from the global state
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)


def resolve_run_dir(run_dir: str | Path) -> Path:
    """``RUN_DIR`` as an absolute path (relative paths are taken from the repository root) and created."""
    path = Path(run_dir)
    path = path if path.is_absolute() else REPO_ROOT / path
    path.mkdir(parents=True, exist_ok=True)
    return path


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def versions(*names: str) -> dict[str, str]:
    """Installed versions of the named packages (those already imported or importable)."""
    found = {"python": sys.version.split()[0]}
    for name in names:
        try:
            found[name] = getattr(importlib.import_module(name), "__version__", "?")
        except ImportError:
            found[name] = "not installed"
    return found
