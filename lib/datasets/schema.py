"""One schema for many files (:func:`harmonise`), which columns are identifiers and which are features, and the
identifiers a strict split groups flows by: host pairs (:func:`host_pair_columns`), conversations
(:func:`conversation_columns`) and capture files or days (:func:`source_names`, :func:`capture_sources`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from lib import registry
from lib.datasets import times
from lib.datasets.errors import DataError

log = logging.getLogger(__package__)  # "lib.datasets" for every file of the package

# names that end like an address, port or point in time ("time" alone, start_time and end_time are in the
# registry's spellings; a "response_time" is a duration, a feature)
_ID_NAME = re.compile(r"(^|[\s_.-])(ip|addr|address|port|mac|uid|flow[\s_]?id|timestamp|ts)$", re.I)


# ------------------------------------------------------------------ counts, sizes and durations (never negative)
# A negative value in one of these columns is impossible (a clock that stepped back, an integer overflow in the
# tool that wrote the file): the readers make it missing, counted (lib.datasets.values.negatives_to_missing).
# Only columns that are non-negative by definition are listed: counts, sizes and durations. Rates, ratios,
# standard deviations and markers are not.

#: Zeek conn.log: the connection's duration and its byte and packet counts.
ZEEK_CONN_NON_NEGATIVE = frozenset(
    {"duration", "orig_bytes", "resp_bytes", "missed_bytes", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes"}
)
#: Argus (BoT-IoT): the record's duration (``dur``) and the mean, sum, minimum and maximum of the aggregated
#: records' durations, packet and byte counts (total, source, destination), and the 10-best files' counts of
#: inbound connections and totals of bytes and packets per address, protocol and port. ``rate``/``srate``/``drate``
#: (rates), ``stddev`` (a spread) and ``seq`` (Argus' sequence number) are not listed.
ARGUS_NON_NEGATIVE = frozenset(
    {
        "dur", "mean", "sum", "min", "max", "pkts", "bytes", "spkts", "dpkts", "sbytes", "dbytes",
        "N_IN_Conn_P_SrcIP", "N_IN_Conn_P_DstIP", "TnBPSrcIP", "TnBPDstIP", "TnP_PSrcIP", "TnP_PDstIP",
        "TnP_PerProto", "TnP_Per_Dport",
    }
)  # fmt: skip
#: CICFlowMeter (CICIDS2017), after header whitespace is stripped. Listed, with what the mirror holds
#: (``shared/data/cicids2017``, 83,553 flows):
#:
#: * durations: ``Flow Duration`` (2 values of -1 µs: a clock step), the inter-arrival times (``Flow IAT Min``
#:   holds 160 negatives down to -14 µs, packets timestamped out of order; ``Flow IAT Mean``/``Max`` 2 each), and
#:   the active and idle times;
#: * packet counts and flag counts (none negative);
#: * sizes: byte totals, packet lengths, segment sizes, and the header lengths: ``Fwd Header Length`` (29
#:   negatives, down to -32,212,234,240) and ``Bwd Header Length`` (21) and ``min_seg_size_forward`` (29, on
#:   the same rows as ``Fwd Header Length``) hold CICFlowMeter's integer overflows of these sums.
#:
#: Not listed: ``Init_Win_bytes_forward``/``Init_Win_bytes_backward``, whose -1 is CICFlowMeter's "no TCP
#: window seen" marker (a value, not an error); the rates (``Flow Bytes/s``, ``Flow Packets/s``, ``Fwd/Bwd
#: Packets/s``, bulk rates), which are quotients, so their negatives follow a negative duration and are left as
#: they are; ``Down/Up Ratio``; the standard deviations and variances; the per-bulk averages.
CICFLOWMETER_NON_NEGATIVE = frozenset(
    {
        # durations and inter-arrival times (µs)
        "Flow Duration", "Flow IAT Mean", "Flow IAT Max", "Flow IAT Min",
        "Fwd IAT Total", "Fwd IAT Mean", "Fwd IAT Max", "Fwd IAT Min",
        "Bwd IAT Total", "Bwd IAT Mean", "Bwd IAT Max", "Bwd IAT Min",
        "Active Mean", "Active Max", "Active Min", "Idle Mean", "Idle Max", "Idle Min",
        # packet and flag counts
        "Total Fwd Packets", "Total Backward Packets", "Subflow Fwd Packets", "Subflow Bwd Packets",
        "act_data_pkt_fwd", "Fwd PSH Flags", "Bwd PSH Flags", "Fwd URG Flags", "Bwd URG Flags",
        "FIN Flag Count", "SYN Flag Count", "RST Flag Count", "PSH Flag Count", "ACK Flag Count",
        "URG Flag Count", "CWE Flag Count", "ECE Flag Count",
        # sizes (bytes)
        "Total Length of Fwd Packets", "Total Length of Bwd Packets", "Subflow Fwd Bytes", "Subflow Bwd Bytes",
        "Fwd Packet Length Max", "Fwd Packet Length Min", "Fwd Packet Length Mean",
        "Bwd Packet Length Max", "Bwd Packet Length Min", "Bwd Packet Length Mean",
        "Min Packet Length", "Max Packet Length", "Packet Length Mean", "Average Packet Size",
        "Avg Fwd Segment Size", "Avg Bwd Segment Size", "Fwd Header Length", "Bwd Header Length",
        "min_seg_size_forward",
    }
)  # fmt: skip
#: The non-negative columns of each data set's schema. A user's table (``csv``) declares none: no column is
#: assumed to be a count.
NON_NEGATIVE_COLUMNS: dict[str, frozenset[str]] = {
    "iot23": ZEEK_CONN_NON_NEGATIVE,
    "zeek": ZEEK_CONN_NON_NEGATIVE,
    "cicids2017": CICFLOWMETER_NON_NEGATIVE,
    "botiot": ARGUS_NON_NEGATIVE,
    "csv": frozenset(),
}


def non_negative_columns(dataset: str) -> frozenset[str]:
    """The columns of ``dataset``'s schema that are counts, sizes or durations (:data:`NON_NEGATIVE_COLUMNS`;
    none for a user's table or an unknown name)."""
    return NON_NEGATIVE_COLUMNS.get(dataset, frozenset())


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
        name = source_file_name(frame)
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


def source_file_name(frame: pd.DataFrame) -> str:
    """The ``source_file`` of one file's frame (its category when the frame has no row)."""
    column = frame["source_file"]
    if len(column):
        return str(column.iloc[0])
    categories = getattr(getattr(column, "cat", None), "categories", [])
    return str(categories[0]) if len(categories) else "?"


def constant_categorical(value: str, n: int) -> pd.Categorical:
    """``pd.Categorical([value] * n)`` without building the list (with ``value`` as its category even when
    ``n`` is 0, so an empty frame still names its file)."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def identifier_columns(df: pd.DataFrame) -> list[str]:
    """Columns of ``df`` that identify a flow (addresses, ports, times, ids): never features by default."""
    if "identifier_columns" in df.attrs:  # a user's data: guessed by the loader (guess_identifiers)
        named = set(df.attrs["identifier_columns"]) | {"source_file"}
    else:
        named = registry.IDENTIFIER_COLUMNS
    return [c for c in df.columns if c in named]


def label_columns(df: pd.DataFrame) -> list[str]:
    """Columns of ``df`` other than the label that carry it (an attack category, a detailed label): never
    features, whatever ``KEEP_IDENTIFIERS`` says."""
    return [c for c in df.columns if c in set(df.attrs.get("label_columns", ()))]


def feature_columns(df: pd.DataFrame, keep_identifiers: bool = False) -> list[str]:
    """Candidate feature columns: everything but the labels, the columns that carry the label and (unless
    kept) the identifiers."""
    out = set(label_columns(df)) | (set() if keep_identifiers else set(identifier_columns(df)))
    return [c for c in df.columns if c not in out and c not in registry.LABEL_COLUMNS and c != "source_file"]


def normalised_name(name: object) -> str:
    """``"Src IP"``, ``"src_ip"``, ``"srcip"`` -> ``"srcip"``: the spelling-free form of a column name."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def guess_identifiers(columns: Iterable[str], extra: Iterable[str] | None = None) -> set[str]:
    """Known identifier names in any common spelling (:data:`lib.registry.IDENTIFIER_SPELLINGS`: ``srcip``,
    ``Src IP``, ``id.orig_h``, ``dsport``, ``Stime``, ``Flow ID`` ...), names that end like an address, port
    or time (``..._ip``, ``... Port``, ``...Timestamp``), and ``extra``."""
    # CICIDS2017's "Protocol" is an identifier only so that its two layouts share one feature set; in a user's
    # table the protocol is a feature, as paper 1 has it (one-hot encoded)
    named = (registry.IDENTIFIER_SPELLINGS | registry.IDENTIFIER_COLUMNS) - {"Protocol"}
    known = {normalised_name(n) for n in named}
    return set(extra or ()) | {c for c in columns if normalised_name(c) in known or _ID_NAME.search(str(c))}


def label_like_columns(columns: Iterable[str]) -> list[str]:
    """Columns whose name says they hold a label (:data:`lib.registry.LABEL_LIKE_NAMES`, any spelling)."""
    known = {normalised_name(n) for n in registry.LABEL_LIKE_NAMES}
    return [c for c in columns if normalised_name(re.sub(r"\.\d+$", "", str(c))) in known]  # "Label.1": a copy


def host_pair_columns(columns: Iterable[object]) -> tuple[str, str] | None:
    """The source and destination address columns among ``columns`` (:data:`lib.registry.ADDRESS_PAIR_SPELLINGS`,
    any spelling: ``id.orig_h``/``id.resp_h``, ``Source IP``/``Destination IP``, ``saddr``/``daddr`` ...), or None."""
    by_form: dict[str, str] = {}
    for c in columns:
        by_form.setdefault(normalised_name(c), c)
    for source, destination in registry.ADDRESS_PAIR_SPELLINGS:
        if source in by_form and destination in by_form:
            return by_form[source], by_form[destination]
    return None


def conversation_columns(columns: Iterable[object]) -> list[str]:
    """The column that keys a conversation where a table has no addresses (CICFlowMeter ``Flow ID``), if any."""
    known = set(registry.CONVERSATION_KEY_SPELLINGS)
    return [c for c in columns if normalised_name(c) in known][:1]


def source_name(file: str, scenario: str | None = None) -> str:
    """The capture a file belongs to: its day when the file name says it (CICIDS2017 ``Tuesday-WorkingHours...``
    -> ``Tuesday``; :data:`lib.registry.CAPTURE_DAY`), else its ``scenario`` (IoT-23), else the file itself."""
    day = registry.CAPTURE_DAY.search(PurePosixPath(str(file)).name)
    if day:
        return day.group(1).title() + (f"-{day.group(2)}" if day.group(2) else "")
    return str(scenario) if scenario else str(file)


#: How :func:`capture_sources` found a row's capture: the day its file name names, its file's IoT-23 scenario, the
#: CICIDS2017 day of its own start time, or none of these (its file is a source of its own).
FOUND_BY = ("file name", "scenario", "start time", "own file")


def capture_sources(df: pd.DataFrame) -> tuple[pd.Series, pd.Series] | None:
    """Per row, the capture it belongs to and how that was found (:data:`FOUND_BY`), or None without a
    ``source_file`` column.

    The capture is the day its file's name names (CICIDS2017 ``Tuesday-WorkingHours...`` -> ``Tuesday``), else
    its file's ``scenario`` (IoT-23), else, for a row whose start time (:func:`lib.datasets.times.times_by_file`
    on the identifier columns named like one) falls in the CICIDS2017 capture week
    (:data:`lib.registry.CICIDS_CAPTURE_WEEK`), that day's name (``7/7/2017 3:56`` -> ``Friday``: an attack
    extract or a sample mixing days joins the day files of its day), else its file.
    """
    if "source_file" not in df:
        return None
    files = df["source_file"].astype("category")
    files_in = files.cat.categories
    scenarios = df.groupby(files, observed=True)["scenario"].first().astype(str).to_dict() if "scenario" in df else {}
    names = [source_name(f, scenarios.get(f)) for f in files_in]
    found_by = [
        "file name"
        if registry.CAPTURE_DAY.search(PurePosixPath(str(f)).name)
        else ("scenario" if name != str(f) else "own file")
        for f, name in zip(files_in, names, strict=True)
    ]
    # codes per row, never a text per row (2.8 M CICIDS2017 rows: a few row-length integer arrays)
    file_codes = files.cat.codes.to_numpy()
    found = np.asarray([FOUND_BY.index(f) for f in found_by] + [-1], dtype=np.int8)[file_codes]
    own = found == FOUND_BY.index("own file")
    days = None
    if own.any():
        days = _days_from_start_times(
            df.loc[own], files[own], time_candidates=times.time_columns(identifier_columns(df))
        )
    dated = np.zeros(0, dtype=bool) if days is None else days.notna().to_numpy()
    day_names = [] if days is None else days[dated].unique().tolist()
    categories = sorted({*names, *map(str, day_names)})
    lookup = {name: i for i, name in enumerate(categories)}
    sources = np.asarray([lookup[n] for n in names] + [-1], dtype=np.int64)[file_codes]
    if days is not None and dated.any():
        where = np.flatnonzero(own)[dated]
        sources[where] = days[dated].map(lookup).to_numpy(dtype=np.int64)
        found[where] = FOUND_BY.index("start time")
    used = np.unique(sources[sources >= 0])  # the sources some row has, as the rows' own values would give them
    remap = np.full(len(categories) + 1, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    sources, categories = remap[sources], [categories[i] for i in used]
    index = df.index
    return (
        pd.Series(
            pd.Categorical.from_codes(sources, categories=pd.Index(categories, dtype=str if categories else object)),
            index=index,
            name="source",
        ),
        pd.Series(pd.Categorical.from_codes(found, dtype=pd.CategoricalDtype(FOUND_BY)), index=index, name="found by"),
    )


def _days_from_start_times(rows: pd.DataFrame, files: pd.Series, time_candidates: list) -> pd.Series:
    """Per row of ``rows``, the weekday name of its start time where that falls in the CICIDS2017 capture week
    (:data:`lib.registry.CICIDS_CAPTURE_WEEK`), else None; from the candidate column that dates most rows."""
    first, last = (pd.Timestamp(d) for d in registry.CICIDS_CAPTURE_WEEK)
    best = pd.Series(None, index=rows.index, dtype=object)
    for column in time_candidates:
        parsed, _, _ = times.times_by_file(rows[column], files)
        days = parsed.dt.day_name().where(parsed.dt.normalize().between(first, last))
        if days.notna().sum() > best.notna().sum():
            best = days.astype(object)
    return best


def source_names(df: pd.DataFrame) -> pd.Series | None:
    """Per row, the capture it belongs to (:func:`capture_sources`), or None without a ``source_file`` column."""
    found = capture_sources(df)
    return None if found is None else found[0]
