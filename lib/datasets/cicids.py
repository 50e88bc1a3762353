"""CICIDS2017 CICFlowMeter CSVs (:func:`read_cicids_csv`)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lib import registry
from lib.datasets.csvparse import _header_names, _parse_table, _read_bytes, _sniff_delimiter, _to_float32
from lib.datasets.errors import DataError

log = logging.getLogger(__package__)  # "lib.datasets" for every file of the package


def read_cicids_csv(path: str | os.PathLike) -> pd.DataFrame:
    """One CICIDS2017 CSV, MachineLearningCVE (79 columns) or TrafficLabelling (85) or a derived sample.

    Header whitespace is stripped, the duplicated ``Fwd Header Length`` is checked and dropped,
    ``Infinity``/``NaN`` strings become ``inf``/NaN (preprocessing turns ``inf`` into NaN), the web-attack
    dash is normalised, the label column may be `` Label``, ``Label`` or ``labels``. ``label_detail`` keeps
    the fine label; ``label`` is its family from :data:`lib.registry.CICIDS_FAMILIES`.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    header = raw.split(b"\n", 1)[0].decode("utf-8", "replace")
    sep = _sniff_delimiter(header, path)
    names = _header_names(header, sep)
    label_col = next((n for n in names if n.lower() in {c.lower() for c in registry.CICIDS_LABEL_COLUMNS}), None)
    if label_col is None:
        raise DataError(
            f"{path}: no label column (looked for {', '.join(registry.CICIDS_LABEL_COLUMNS)} in the header: "
            f"{', '.join(names[:6])}, ...). Fix: this is not a labelled CICFlowMeter file; use DATASET='csv' "
            f"with LABEL_COLUMN"
        )
    ids = [n for n in names if n in registry.CICIDS_IDENTIFIERS]
    types = {n: pa.float32() for n in names if n not in ids and n != label_col}
    types[label_col] = pa.binary()  # decoded below: some copies carry latin-1 bytes in web-attack labels
    for n in ("Flow ID", "Source IP", "Destination IP", "Timestamp"):
        if n in names:
            types[n] = pa.string()
    try:
        df = _parse_table(raw, path, names, sep, types, 1, ["NaN", "nan", ""])
    except DataError as err:
        if "could not parse" not in str(err):
            raise
        df = _parse_table(raw, path, names, sep, {label_col: pa.binary()}, 1, ["NaN", "nan", ""])
        _to_float32(df, [n for n in names if n not in ids and n != label_col], path)

    fine = df.pop(label_col).map(lambda b: b.decode("utf-8", "replace") if isinstance(b, bytes) else b)
    if fine.isna().any():
        row = int(np.flatnonzero(fine.isna().to_numpy())[0])
        raise DataError(
            f"{path}, column {label_col!r}: empty label in data row {row + 1}. Fix: label or remove the row"
        )
    fine = fine.map(registry.normalise_cic_label)
    unknown = sorted(set(fine) - set(registry.CICIDS_FAMILIES))
    if unknown:
        raise DataError(
            f"{path}, column {label_col!r}: unknown CICIDS2017 label(s) {unknown[:5]}. Fix: add them to "
            f"CICIDS_FAMILIES in lib/registry.py, or use DATASET='csv' with LABEL_COLUMN/BENIGN_LABELS"
        )
    if "Fwd Header Length.1" in df:
        both = df["Fwd Header Length"].notna() & df["Fwd Header Length.1"].notna()
        if (df.loc[both, "Fwd Header Length"] == df.loc[both, "Fwd Header Length.1"]).all():
            df = df.drop(columns="Fwd Header Length.1")  # CICFlowMeter writes the same column twice
        else:
            log.warning("%s: 'Fwd Header Length.1' differs from 'Fwd Header Length'; both kept", path)
    df["label"] = pd.Categorical(fine.map(registry.CICIDS_FAMILIES))
    df["label_detail"] = pd.Categorical(fine)
    df["is_attack"] = (df["label"] != "Benign").astype(np.int8).to_numpy()
    return df


read_cicids_csv.cache_tag = "cicids"
