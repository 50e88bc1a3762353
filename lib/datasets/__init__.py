"""Getting the data and reading it in its original formats (notebook ``01_data_preparation.ipynb``).

Every loader returns one tidy DataFrame, one row per flow:

* numeric features as ``float32``, categorical features (protocol, Zeek service/conn_state, Argus flags
  and state) as ``category``;
* ``label`` (attack family, ``"Benign"`` for normal traffic), ``label_detail`` (the finest label the
  source has) and ``is_attack`` (0/1);
* identifier columns (addresses, ports, timestamps, flow ids, Zeek uid, ``source_file``, IoT-23
  ``scenario``) kept for analysis but listed by :func:`identifier_columns`, so that they are never used
  as features unless asked for.

Formats, one file each: IoT-23 Zeek ``conn.log.labeled`` (:func:`read_zeek_conn`, ``zeek.py``), CICIDS2017
CICFlowMeter CSVs (:func:`read_cicids_csv`, ``cicids.py``), BoT-IoT Argus CSVs (:func:`read_botiot_csv`,
``botiot.py``) and any labelled flow table (:func:`read_flow_table`, ``table.py``); the CSV machinery they
share is in ``csvparse.py``. :func:`load` (this file) reads a whole data set from ``DATA_DIR`` (a mirror
folder with the layout of ``shared/data``), downloading files that have an official address and checking
their sha256 (``files.py``). Parsed files are cached as Parquet keyed by the source file's sha256
(``files.py``). :func:`harmonise` puts the files into one schema and :func:`identifier_columns` /
:func:`feature_columns` tell identifiers from features (``schema.py``); bad input raises :class:`DataError`
(``errors.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from lib import registry
from lib.datasets.botiot import read_botiot_csv
from lib.datasets.cicids import read_cicids_csv
from lib.datasets.errors import DataError
from lib.datasets.files import (
    CACHE_DIR_ENV,
    DATA_DIR_ENV,
    PARSER_VERSION,
    REPO_DATA_DIR,
    _display_name,
    _read_cached,
    cache_dir,
    expand_files,
    fetch,
    locate,
    resolve_data_dir,
    sha256_file,
    verify_checksum,
)
from lib.datasets.schema import feature_columns, guess_identifiers, harmonise, identifier_columns
from lib.datasets.table import _flow_table_reader, read_flow_table
from lib.datasets.zeek import read_zeek_conn

__all__ = [
    # reading a whole data set
    "load",
    # readers, one per format
    "read_zeek_conn",
    "read_cicids_csv",
    "read_botiot_csv",
    "read_flow_table",
    # where the data is
    "resolve_data_dir",
    "cache_dir",
    "fetch",
    "locate",
    "verify_checksum",
    "sha256_file",
    "expand_files",
    "DATA_DIR_ENV",
    "CACHE_DIR_ENV",
    "REPO_DATA_DIR",
    "PARSER_VERSION",
    # schema
    "harmonise",
    "identifier_columns",
    "feature_columns",
    "guess_identifiers",
    # errors
    "DataError",
]

_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "iot23": read_zeek_conn,
    "cicids2017": read_cicids_csv,
    "botiot": read_botiot_csv,
}


def load(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    files: str | Iterable[str] | None = None,
    label_column: str | None = None,
    benign_labels: str | Iterable[str] | None = None,
    use_cache: bool = True,
) -> pd.DataFrame:
    """Read every file of ``dataset`` (``iot23``, ``cicids2017``, ``botiot`` or ``csv``) into one frame.

    ``files`` overrides the file list (comma-separated paths, globs or folders); for ``csv`` it is
    required, with ``label_column`` and ``benign_labels``.
    """
    if dataset == "csv":
        if not files or not label_column or not benign_labels:
            raise ValueError(
                "DATASET='csv' needs DATA_FILES (paths), LABEL_COLUMN (name of the label column) and "
                "BENIGN_LABELS (comma-separated values that mean normal traffic)"
            )
        reader = _flow_table_reader(label_column, benign_labels)
        paths = expand_files(files)
    elif dataset in registry.DATASETS:
        reader = _READERS[dataset]
        paths = expand_files(files, registry.DATASETS[dataset].file_glob) if files else locate(dataset, data_dir)
    else:
        raise ValueError(f"unknown DATASET {dataset!r}: choose one of {sorted(registry.DATASETS)} or 'csv'")
    root = resolve_data_dir(data_dir) / dataset if dataset != "csv" else Path(".").resolve()
    frames = [
        _read_cached(path, reader, use_cache=use_cache, display=_display_name(path, root))
        for path in tqdm(paths, desc=f"load {dataset}", unit="file", disable=len(paths) < 2)
    ]
    out = harmonise(frames)
    if dataset == "csv":
        out.attrs["identifier_columns"] = sorted(guess_identifiers(out.columns) - {"source_file"})
    return out
