"""IoT-23 and other labelled Zeek conn logs (:func:`read_zeek_conn`)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lib import registry
from lib.datasets.csvparse import NEWLINE, _parse_table, _read_bytes
from lib.datasets.errors import DataError
from lib.datasets.files import _constant_categorical

log = logging.getLogger(__package__)  # "lib.datasets" for every file of the package

_ZEEK_FLOAT = {"interval", "double", "count", "int", "port"}
_ZEEK_CATEGORICAL = ("proto", "service", "conn_state", "history")


def read_zeek_conn(path: str | os.PathLike, background: str = "drop") -> pd.DataFrame:
    """One labelled Zeek ``conn.log`` (IoT-23 ``conn.log.labeled`` or another CTU capture).

    Handles both layouts of the last fields (``tunnel_parents   label   detailed-label`` inside one tab
    field, or real tab fields with the last one named ``det_label``), ``#`` header and ``#close`` footer
    lines (with trailing junk), ``-`` for unset and label case. ``Background`` flows (unlabelled traffic
    in other CTU captures) are dropped with a log line (``background="drop"``) or kept as their own label
    (``"keep"``).
    """
    path = Path(path)
    raw = _read_bytes(path)
    header: dict[str, list[str]] = {}
    body_start = 0
    for line in raw.split(b"\n", 20):
        if not line.startswith(b"#"):
            break
        body_start += len(line) + 1
        key, _, value = line.decode("utf-8", "replace").rstrip("\r").partition("\t")
        if key == "#separator":
            key, value = "#separator", line.split(b" ", 1)[-1].decode().strip()
        header[key] = [part for field in value.split("\t") for part in field.split("   ")]
    if "#fields" not in header:
        raise DataError(f"{path}, line 1: no '#fields' header line. Fix: this is not a Zeek log; use DATASET='csv'")
    names = ["detailed-label" if n == "det_label" else n for n in header["#fields"]]
    zeek_types = dict(zip(names, header.get("#types", []), strict=False))
    unset = (header.get("#unset_field") or ["-"])[0]
    for required in ("label", "detailed-label"):
        if required not in names:
            raise DataError(
                f"{path}: the #fields line has no {required!r} column. Fix: use a labelled log "
                f"(conn.log.labeled), not a plain conn.log"
            )
    body = _cut_footer(raw[body_start:])  # '#close' footer: sliced off, without splitting the log into lines
    if b"\n#" in body or body.startswith(b"#"):  # logs concatenated with their headers
        body = b"\n".join(line for line in body.split(b"\n") if not line.startswith(b"#"))
    body = body.replace(b"   ", b"\t")
    if not body.strip():
        raise DataError(f"{path}: the log has a header but no flow records. Fix: download the file again")
    types = {
        n: pa.float64() if t == "time" else pa.float32() if t in _ZEEK_FLOAT else pa.string()
        for n, t in zeek_types.items()
    }
    n_header_lines = raw.count(NEWLINE, 0, body_start)
    df = _parse_table(body, path, names, "\t", types, 0, [unset, "(empty)"], line_offset=n_header_lines)

    raw_label = df.pop("label").fillna(unset).astype(str)
    detailed = df.pop("detailed-label")
    lowered = raw_label.str.strip().str.lower()
    unknown = sorted(set(raw_label[~lowered.isin(["benign", "malicious", "background"])]))
    if unknown:
        raise DataError(
            f"{path}, column 'label': unexpected value(s) {unknown[:5]}; expected Benign/Malicious (or Background). "
            f"Fix: use DATASET='csv' with LABEL_COLUMN and BENIGN_LABELS for other labellings"
        )
    background_rows = lowered.eq("background")
    if background_rows.any() and background == "drop":
        log.warning("%s: dropped %d Background flows (unlabelled traffic)", path, int(background_rows.sum()))
        keep = ~background_rows.to_numpy()
        df, lowered, detailed = df[keep].reset_index(drop=True), lowered[keep], detailed[keep]
    df["label"] = _iot23_families(lowered, detailed.fillna(unset))
    df["label_detail"] = pd.Categorical(
        np.where(detailed.fillna(unset).isin([unset, ""]).to_numpy(), df["label"].astype(str), detailed.to_numpy())
    )
    df["is_attack"] = lowered.eq("malicious").astype(np.int8).to_numpy()
    df["scenario"] = _constant_categorical(_scenario_name(path), len(df))
    for col in _ZEEK_CATEGORICAL:
        if col in df:
            df[col] = df[col].astype("category")
    for col, t in zeek_types.items():
        if col in df and t in ("string", "addr", "bool", "set[string]", "enum") and col not in _ZEEK_CATEGORICAL:
            df[col] = df[col].astype("string")
    return df


read_zeek_conn.cache_tag = "zeek"


def _cut_footer(body: bytes) -> bytes:
    """``body`` without its trailing ``#`` lines (the Zeek ``#close`` footer)."""
    while True:
        end = len(body.rstrip(b"\r\n"))
        start = body.rfind(NEWLINE, 0, end) + 1
        if start >= end or not body.startswith(b"#", start):
            return body
        body = body[:start]


def _iot23_families(lowered: pd.Series, detailed: pd.Series) -> pd.Categorical:
    """:func:`registry.iot23_family` of every row (``Background`` for background flows), computed once per
    distinct (label, detailed-label) pair instead of once per row."""
    lab_codes, lab_values = pd.factorize(lowered, use_na_sentinel=False)
    det_codes, det_values = pd.factorize(detailed, use_na_sentinel=False)
    pair_codes, pairs = pd.factorize(lab_codes.astype(np.int64) * len(det_values) + det_codes)
    families = [
        "Background"
        if lab_values[p // len(det_values)] == "background"
        else registry.iot23_family(lab_values[p // len(det_values)], det_values[p % len(det_values)])
        for p in pairs
    ]
    categories = sorted(set(families))
    codes = np.array([categories.index(f) for f in families], dtype=np.int32)[pair_codes]
    return pd.Categorical.from_codes(codes, categories=categories)


def _scenario_name(path: Path) -> str:
    parts = path.resolve().parts
    return parts[-3] if len(parts) >= 3 and parts[-2] == "bro" else path.parent.name
