"""One IoT-23 capture's raw flows, read from the files a run was prepared from (Fig. 1 of notebook 06).

A run's prepared rows are deduplicated and sampled; Fig. 1 draws every flow of one capture as the loader reads
it. :func:`load_capture` finds that capture's file among the run's data files (``DATA_FILES``, else every
IoT-23 file under ``DATA_DIR``) and reads it with :func:`lib.datasets.load`, so the figure sees the same
parsing, repairs and cache as notebook 01.
"""

from __future__ import annotations

import os

import pandas as pd

from lib import registry


def capture_files(scenario: str, data_dir: str | os.PathLike | None = None, files: str = "") -> list[str]:
    """The data files of IoT-23 capture ``scenario`` (those with a folder of that name in their path) among
    ``files`` (comma-separated, globs, folders) or, when empty, among the IoT-23 files under ``data_dir``.
    Never downloads; a :class:`FileNotFoundError` when none belongs to the capture."""
    from lib import datasets

    paths = (
        datasets.expand_files(files, registry.DATASETS["iot23"].file_glob)
        if files
        else datasets.locate("iot23", data_dir, download=False)
    )
    found = [str(p) for p in paths if scenario in p.resolve().parts]
    if not found:
        raise FileNotFoundError(f"none of the run's {len(paths)} files belongs to it")
    return found


def load_capture(scenario: str, data_dir: str | os.PathLike | None = None, files: str = "") -> pd.DataFrame:
    """Every raw flow of IoT-23 capture ``scenario`` (before deduplication), read by :func:`lib.datasets.load`
    from :func:`capture_files`. Raises :class:`FileNotFoundError` or :class:`lib.datasets.DataError`."""
    from lib import datasets

    return datasets.load("iot23", data_dir, files=capture_files(scenario, data_dir, files))
