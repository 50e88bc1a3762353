"""Getting the data and reading it in its original formats (notebook ``01_data_preparation.ipynb``).

Every loader returns one tidy DataFrame, one row per flow:

* numeric features as ``float32``, categorical features (protocol, Zeek service/conn_state, Argus flags
  and state) as ``category``;
* ``label`` (attack family, ``"Benign"`` for normal traffic), ``label_detail`` (the finest label the
  source has) and ``is_attack`` (0/1);
* identifier columns (addresses, ports, timestamps, flow ids, Zeek uid, ``source_file``, IoT-23
  ``scenario``) kept for analysis but listed by :func:`identifier_columns`, so that they are never used
  as features unless asked for.

Formats: IoT-23 Zeek ``conn.log.labeled`` (:func:`read_zeek_conn`), CICIDS2017 CICFlowMeter CSVs
(:func:`read_cicids_csv`), BoT-IoT Argus CSVs (:func:`read_botiot_csv`) and any labelled flow table
(:func:`read_flow_table`). :func:`load` reads a whole data set from ``DATA_DIR`` (a mirror folder with the
layout of ``shared/data``), downloading files that have an official address and checking their sha256.
Parsed files are cached as Parquet keyed by the source file's sha256.
"""

from __future__ import annotations

import glob
import hashlib
import io
import logging
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from tqdm import tqdm

from lib import registry

log = logging.getLogger(__name__)

DATA_DIR_ENV = "IOT_BOTNET_DATA_DIR"
CACHE_DIR_ENV = "IOT_BOTNET_CACHE_DIR"
REPO_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
NEWLINE = b"\n"
PARSER_VERSION = "1"  # bump when a reader's output changes, so cached Parquet files are rebuilt


class DataError(ValueError):
    """Bad input data. The message names the file, the line or column, and how to fix it."""


# --------------------------------------------------------------------------------------------------
# Where the data is
# --------------------------------------------------------------------------------------------------
def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else ``$IOT_BOTNET_DATA_DIR``, else the project's ``data/`` folder."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or REPO_DATA_DIR
    return Path(chosen).expanduser().resolve()


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or REPO_DATA_DIR / "cache")


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    downloader: Callable | None = None,
) -> list[Path]:
    """Make sure every registry file of ``dataset`` with an official address is in ``data_dir``.

    Missing files are downloaded with pooch and their sha256 checked; a file already present is checked
    too. ``downloader`` is passed on to :func:`pooch.retrieve` (tests use it to serve bytes locally).
    """
    import pooch  # only needed when something has to be fetched

    info = registry.DATASETS[dataset]
    root = resolve_data_dir(data_dir) / dataset
    paths = []
    for remote in tqdm(info.files, desc=f"fetch {dataset}", unit="file", disable=not info.files):
        target = root / remote.relpath
        if target.exists():
            verify_checksum(target, remote.sha256)
        else:
            try:
                pooch.retrieve(
                    remote.url,
                    known_hash=f"sha256:{remote.sha256}" if remote.sha256 else None,
                    fname=target.name,
                    path=target.parent,
                    downloader=downloader,
                    progressbar=downloader is None,
                )
            except ValueError as err:  # pooch reports a hash mismatch as ValueError
                raise DataError(
                    f"download of {remote.url} failed its checksum: {err}. The file on the server differs from "
                    f"the one this project was built on; nothing was kept. Fix: retry later, or put a verified "
                    f"copy at {target}"
                ) from err
        paths.append(target)
    return paths


def verify_checksum(path: Path, expected: str | None) -> str:
    """sha256 of ``path``; :class:`DataError` if it is not ``expected`` (when one is known)."""
    actual = sha256_file(path)
    if expected and actual != expected:
        raise DataError(
            f"{path}: sha256 {actual} does not match the official {expected}. The file is corrupted or was "
            f"modified (line endings?). Fix: delete it and download it again."
        )
    return actual


def locate(dataset: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> list[Path]:
    """Every data file of ``dataset`` under ``<data_dir>/<dataset>/`` (downloading it if allowed and possible)."""
    info = registry.DATASETS[dataset]
    root = resolve_data_dir(data_dir) / dataset
    found = sorted(p for p in root.glob(info.file_glob) if p.is_file())
    if found:
        return found
    if info.files and download:
        return fetch(dataset, data_dir)
    how = info.manual_download or f"download it (`make data DATASET={dataset}`) or set {DATA_DIR_ENV}"
    raise FileNotFoundError(f"no {dataset} files found under {root}. {how}")


def expand_files(spec: str | Iterable[str | os.PathLike], folder_glob: str | None = None) -> list[Path]:
    """Paths from a comma-separated string or a list; glob patterns are expanded, and folders searched for
    ``folder_glob`` (default: CSV, TSV and Parquet files)."""
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [str(s) for s in spec]
    paths: list[Path] = []
    for item in filter(None, items):
        p = Path(item).expanduser()
        if p.is_dir() and folder_glob:
            paths += sorted(q for q in p.glob(folder_glob) if q.is_file())
        elif p.is_dir():
            paths += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in {".csv", ".tsv", ".parquet"})
        elif any(ch in item for ch in "*?["):
            paths += sorted(Path(m) for m in glob.glob(item, recursive=True))
        elif p.exists():
            paths.append(p)
        else:
            raise FileNotFoundError(f"{item}: no such file. Fix: check DATA_FILES (comma-separated paths or globs)")
    if not paths:
        raise FileNotFoundError(f"DATA_FILES={spec!r} matched no file")
    return paths


# --------------------------------------------------------------------------------------------------
# Loading a whole data set
# --------------------------------------------------------------------------------------------------
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


def _display_name(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return path.name


def _read_cached(path: Path, reader: Callable[[Path], pd.DataFrame], use_cache: bool, display: str) -> pd.DataFrame:
    if not use_cache:
        frame = reader(path)
    else:
        key = f"{getattr(reader, 'cache_tag', reader.__name__)}-{sha256_file(path)[:24]}-v{PARSER_VERSION}.parquet"
        cached = cache_dir() / key
        if cached.exists():
            frame = pd.read_parquet(cached)
        else:
            frame = reader(path)
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            frame.to_parquet(tmp, index=False)
            tmp.replace(cached)
    frame["source_file"] = _constant_categorical(display, len(frame))
    return frame


def _constant_categorical(value: str, n: int) -> pd.Categorical:
    """``pd.Categorical([value] * n)`` without building the list."""
    if n == 0:
        return pd.Categorical([])
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def harmonise(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate frames into one schema (union of columns), logging which files lack which column.

    A column a file lacks is NaN for that file's rows; ``frame.attrs["missing_columns"]`` records
    ``{column: [files]}`` so that notebook 01 can show it and preprocessing can drop such columns.
    """
    if not frames:
        raise DataError("no data files were read")
    columns: list[str] = []
    for frame in sorted(frames, key=lambda f: -f.shape[1]):
        columns += [c for c in frame.columns if c not in columns]
    missing: dict[str, list[str]] = {}
    for frame in frames:
        name = str(frame["source_file"].iloc[0]) if len(frame) else "?"
        for col in columns:
            if col not in frame.columns:
                missing.setdefault(col, []).append(name)
    by_file: dict[str, list[str]] = {}
    for col, names in missing.items():
        for name in names:
            by_file.setdefault(name, []).append(col)
    for name, cols in by_file.items():
        log.warning("%s lacks %d column(s) other files have (NaN there): %s", name, len(cols), ", ".join(cols))
    dtypes: dict[str, object] = {}
    for frame in frames:
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                dtypes[col] = "category"
            else:
                dtypes.setdefault(col, frame[col].dtype)
    if len(frames) == 1 and list(frames[0].columns) == columns:  # one file: nothing to align, no copy
        out = frames[0].reset_index(drop=True)
    else:
        out = pd.concat([f.reindex(columns=columns) for f in frames], ignore_index=True)
    for col, dtype in dtypes.items():  # a column missing in a file comes back as float64/object: restore it
        integer_with_gaps = pd.api.types.is_integer_dtype(dtype) and out[col].isna().any()
        if out[col].dtype != dtype and not integer_with_gaps:
            out[col] = out[col].astype(dtype)
    out.attrs["missing_columns"] = missing
    out.attrs["files"] = [str(f["source_file"].iloc[0]) for f in frames if len(f)]
    return out


def identifier_columns(df: pd.DataFrame) -> list[str]:
    """Columns of ``df`` that identify a flow (addresses, ports, times, ids): never features by default."""
    extra = set(df.attrs.get("identifier_columns", ()))
    return [c for c in df.columns if c in registry.IDENTIFIER_COLUMNS or c in extra]


def feature_columns(df: pd.DataFrame, keep_identifiers: bool = False) -> list[str]:
    """Candidate feature columns: everything but the labels and (unless kept) the identifiers."""
    ids = set() if keep_identifiers else set(identifier_columns(df))
    return [c for c in df.columns if c not in ids and c not in registry.LABEL_COLUMNS and c != "source_file"]


# --------------------------------------------------------------------------------------------------
# Shared CSV machinery
# --------------------------------------------------------------------------------------------------
def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: the file is empty. Fix: download it again or remove it from the data folder")
    return raw


def _sniff_delimiter(header: str, path: Path) -> str:
    counts = {sep: header.count(sep) for sep in (",", "\t", ";")}
    sep = max(counts, key=counts.get)
    if counts[sep] == 0:
        raise DataError(
            f"{path}: the header line has a single column ({header[:80]!r}); no comma, tab or semicolon "
            f"delimiter found. Fix: save the file as CSV/TSV with a header row"
        )
    return sep


def _header_names(header: str, sep: str) -> list[str]:
    """Column names stripped of whitespace and quotes, duplicates numbered like pandas (``name.1``)."""
    names, seen = [], {}
    for raw in header.rstrip("\r\n").split(sep):
        name = raw.strip().strip('"').strip()
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def _parse_table(
    data: bytes,
    path: Path,
    names: list[str],
    sep: str,
    types: dict[str, pa.DataType],
    skip_rows: int,
    nulls: Iterable[str],
    line_offset: int = 0,
) -> pd.DataFrame:
    """Parse delimited ``data`` with pyarrow; a ragged line becomes a :class:`DataError` with its line number."""
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip_rows, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, quote_char='"' if sep != "\t" else False),
            convert_options=pacsv.ConvertOptions(
                column_types=types, null_values=list(nulls), strings_can_be_null=True, quoted_strings_can_be_null=True
            ),
        )
    except pa.ArrowInvalid as err:
        raise _explain_parse_error(err, data, path, len(names), sep, line_offset) from err
    # One block per column, the Arrow buffers freed as they are converted: lower peak memory, and a later
    # drop of a column does not copy the whole frame.
    return table.to_pandas(types_mapper=None, split_blocks=True, self_destruct=True)


def _explain_parse_error(
    err: Exception, data: bytes, path: Path, n_columns: int, sep: str, line_offset: int
) -> DataError:
    text = str(err)
    where = ""
    m = re.search(r"Expected (\d+) columns, got (\d+): (.*)", text, re.S)
    if m:
        snippet = m.group(3).strip()[:60].encode()
        pos = data.find(snippet)
        if pos >= 0:
            where = f", line {data.count(NEWLINE, 0, pos) + 1 + line_offset}"
        sep_name = {"\t": "tab", ",": "comma", ";": "semicolon"}[sep]
        return DataError(
            f"{path}{where}: expected {n_columns} {sep_name}-separated fields as the header says, found "
            f"{m.group(2)} ({m.group(3).strip()[:80]!r}). The line is truncated or the file was cut or edited. "
            f"Fix: download the file again (or repair that line); nothing was dropped"
        )
    m = re.search(r"column '?([^']+?)'?: (.*)", text)
    column = f", column {m.group(1)!r}" if m else ""
    return DataError(f"{path}{column}: could not parse ({text.splitlines()[0][:200]}). Fix: check the file's format")


def _to_float32(df: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    for col in columns:
        if df[col].dtype == np.float32:
            continue
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path}, column {col!r}: non-numeric value {df[col].iloc[row]!r} (data row {row + 1}). "
                f"Fix: correct the file, or pass the column as an identifier/categorical"
            )
        df[col] = values.astype(np.float32)


# --------------------------------------------------------------------------------------------------
# IoT-23 and other labelled Zeek conn logs
# --------------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------------
# CICIDS2017
# --------------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------------
# BoT-IoT
# --------------------------------------------------------------------------------------------------
def read_botiot_csv(path: str | os.PathLike) -> pd.DataFrame:
    """One BoT-IoT CSV: 10-best Training/Testing (comma or tab), full 35-column (with or without header),
    or an official ground-truth file (semicolon-separated, quoted). ``label`` is ``category`` (Normal ->
    Benign), ``label_detail`` is ``category/subcategory``, ``is_attack`` is the ``attack`` column.
    """
    path = Path(path)
    raw = _read_bytes(path)
    first = raw.split(b"\n", 1)[0].decode("utf-8", "replace")
    sep = _sniff_delimiter(first, path)
    tokens = _header_names(first, sep)
    has_header = "attack" in tokens or "category" in tokens
    if has_header:
        names, skip = tokens, 1
    elif len(tokens) == len(registry.BOTIOT_FULL_COLUMNS):
        names, skip = list(registry.BOTIOT_FULL_COLUMNS), 0
    else:
        raise DataError(
            f"{path}, line 1: no header row and {len(tokens)} fields, not the {len(registry.BOTIOT_FULL_COLUMNS)} "
            f"of the full-dataset layout. Fix: add the header row of the file you downloaded"
        )
    for required in ("attack", "category"):
        if required not in names:
            raise DataError(f"{path}: no {required!r} column in the header. Fix: use DATASET='csv' with LABEL_COLUMN")
    types = {n: pa.string() for n in names if n in registry.IDENTIFIER_COLUMNS or n in registry.BOTIOT_CATEGORICAL}
    types.update({n: pa.string() for n in ("category", "subcategory") if n in names})
    types.update({n: pa.binary() for n in registry.BOTIOT_DROPPED if n in names})
    df = _parse_table(raw, path, names, sep, types, skip, ["", "NaN", "nan"])
    dropped = [c for c in registry.BOTIOT_DROPPED if c in df]
    if dropped:
        log.info("%s: dropped raw Argus column(s) %s", path, dropped)
        df = df.drop(columns=dropped)
    category = df.pop("category").astype(str).str.strip()
    sub = df.pop("subcategory").astype(str).str.strip() if "subcategory" in df else category
    attack = pd.to_numeric(df.pop("attack"), errors="coerce")
    if attack.isna().any() or not attack.isin([0, 1]).all():
        raise DataError(f"{path}, column 'attack': values other than 0/1. Fix: check the delimiter and header")
    normal = category.str.lower().eq("normal")
    if (normal == attack.astype(bool)).any():
        row = int(np.flatnonzero((normal == attack.astype(bool)).to_numpy())[0])
        raise DataError(
            f"{path}, data row {row + 1}: attack={int(attack.iloc[row])} but category={category.iloc[row]!r}"
        )
    df["label"] = pd.Categorical(np.where(normal, "Benign", category))
    df["label_detail"] = pd.Categorical(np.where(normal, "Benign", category + "/" + sub))
    df["is_attack"] = attack.astype(np.int8).to_numpy()
    numeric = [c for c in df.columns if c not in types and c not in registry.LABEL_COLUMNS]
    _to_float32(df, numeric, path)
    for col in registry.BOTIOT_CATEGORICAL:
        if col in df:
            df[col] = df[col].astype("category")
    for col in df.columns:
        if col in registry.IDENTIFIER_COLUMNS and col not in ("stime", "ltime", "pkSeqID", "seq"):
            df[col] = df[col].astype("string")
    _to_float32(df, [c for c in ("seq",) if c in df], path)
    for col in ("stime", "ltime", "pkSeqID"):
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(np.float64)
    return df


read_botiot_csv.cache_tag = "botiot"


# --------------------------------------------------------------------------------------------------
# Any labelled flow table (CSV, TSV or Parquet)
# --------------------------------------------------------------------------------------------------
_ID_NAME = re.compile(r"(^|[\s_.-])(ip|addr|address|port|mac|uid|flow[\s_]?id|timestamp|time|ts)$", re.I)


def guess_identifiers(columns: Iterable[str], extra: Iterable[str] | None = None) -> set[str]:
    """Known identifier names, names that look like addresses, ports or times, and ``extra``."""
    return set(extra or ()) | {c for c in columns if c in registry.IDENTIFIER_COLUMNS or _ID_NAME.search(str(c))}


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


_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "iot23": read_zeek_conn,
    "cicids2017": read_cicids_csv,
    "botiot": read_botiot_csv,
}
