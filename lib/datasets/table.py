"""Any labelled flow table a user brings: CSV, TSV or Parquet (:func:`read_flow_table`)."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lib.datasets.csvparse import _header_names, _parse_table, _read_bytes, _sniff_delimiter
from lib.datasets.errors import DataError
from lib.datasets.schema import guess_identifiers

log = logging.getLogger(__package__)  # "lib.datasets" for every file of the package


def read_flow_table(
    path: str | os.PathLike,
    label_column: str,
    benign_labels: str | Iterable[str],
    id_columns: Iterable[str] | None = None,
) -> pd.DataFrame:
    """A labelled flow table a user brings. ``label_column`` holds the label; the values in
    ``benign_labels`` (comma-separated, case-insensitive) mean normal traffic. Identifier columns are those
    named in ``id_columns`` plus the known ones and names that look like addresses, ports or times.
    Non-numeric columns other than identifiers become categorical features.
    """
    path = Path(path)
    benign = {
        b.strip().lower() for b in (benign_labels.split(",") if isinstance(benign_labels, str) else benign_labels)
    }
    if path.suffix.lower() == ".parquet":
        df = pd.read_parquet(path)
        if df.empty:
            raise DataError(f"{path}: the file has no rows")
    else:
        raw = _read_bytes(path)
        header = raw.split(b"\n", 1)[0].decode("utf-8", "replace")
        sep = _sniff_delimiter(header, path)
        names = _header_names(header, sep)
        if label_column not in names:
            raise DataError(
                f"{path}: no column {label_column!r} (LABEL_COLUMN). Columns: {', '.join(names[:20])}. "
                f"Fix: set LABEL_COLUMN to one of them"
            )
        df = _parse_table(raw, path, names, sep, {label_column: pa.string()}, 1, ["", "NaN", "nan", "NA"])
    if label_column not in df:
        raise DataError(
            f"{path}: no column {label_column!r} (LABEL_COLUMN). Columns: {', '.join(map(str, df.columns[:20]))}"
        )
    labels = df.pop(label_column).astype("string").str.strip()
    if labels.isna().any():
        row = int(np.flatnonzero(labels.isna().to_numpy())[0])
        raise DataError(f"{path}, column {label_column!r}: empty label in data row {row + 1}. Fix: label or remove it")
    is_benign = labels.str.lower().isin(benign).to_numpy()
    if not is_benign.any():
        seen = ", ".join(sorted(labels.unique()[:10]))
        log.warning("%s: no row has a BENIGN_LABELS value %s (labels seen: %s)", path, sorted(benign), seen)
    ids = guess_identifiers(df.columns, id_columns)
    for col in df.columns:
        if col in ids:
            continue
        if pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            df[col] = df[col].astype(np.float32)
        else:
            df[col] = df[col].astype("category")
    df["label"] = pd.Categorical(np.where(is_benign, "Benign", labels.to_numpy(dtype=object)))
    df["label_detail"] = df["label"]
    df["is_attack"] = (~is_benign).astype(np.int8)
    df.attrs["identifier_columns"] = sorted(ids & set(df.columns))
    return df


def _flow_table_reader(label_column: str, benign_labels: str | Iterable[str]) -> Callable[[Path], pd.DataFrame]:
    def reader(path: Path) -> pd.DataFrame:
        return read_flow_table(path, label_column, benign_labels)

    reader.cache_tag = "table-" + hashlib.sha256(f"{label_column}|{benign_labels}".encode()).hexdigest()[:8]
    return reader
