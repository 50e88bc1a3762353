"""When a flow started: the time column of a flow table and its parsing (notebook 01's ``SPLIT="time"``, Fig. 1).

:func:`flow_times` finds and parses the start time in a run's row tables (``lib.figures`` draws Fig. 1 with
it); :func:`times_by_file` parses one column file by file, because files combined into one data set may
write their times in different ways (epoch seconds in one, ``7/7/2017 8:59`` in another); ``lib.preprocess``
orders flows by it for the time split. Nothing here draws, so preprocessing does not import matplotlib.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Names of a flow's start time in the formats the loaders read, in order of preference (case-insensitive):
#: Zeek and TON_IoT ``ts``, Argus/BoT-IoT ``stime`` and UNSW-NB15 ``Stime``, CICFlowMeter ``Timestamp``.
TIME_COLUMNS = ("ts", "stime", "timestamp", "start_time", "starttime", "flow_start", "datetime", "date_time", "time")
_TIME_NAME = re.compile(r"(^|[\s_.-])(ts|time|timestamp|datetime|date)$", re.I)
_END_TIME_NAME = re.compile(r"^(ltime|etime|end|last|stop)|(^|[\s_.-])(end|last|stop)", re.I)
#: Text formats tried on a column of strings; the one that parses most values wins, the first on a tie (day
#: first before month first: CICFlowMeter writes ``14/02/2018 08:31:01`` in CSE-CIC-IDS2018 and ``7/7/2017 8:59``,
#: day first, in CICIDS2017).
TIME_FORMATS = (
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p",
    "%d-%m-%Y %H:%M:%S", "%d-%b-%y %H:%M:%S", "ISO8601",
)  # fmt: skip
_EPOCH_SECONDS = (631_152_000, 4_102_444_800)  # 1990-01-01 to 2100-01-01: what a capture's epoch time can be
_EPOCH_UNITS = (("s", 1.0), ("ms", 1e3), ("us", 1e6), ("ns", 1e9))


@dataclass(frozen=True)
class FlowTimes:
    """A time column found in a run's rows: its name, the parsed times (aligned with the rows, NaT where a
    value does not parse) and how they were read; or ``column=None``, ``times=None`` and why not."""

    column: str | None
    times: pd.Series | None
    how: str


def parse_times(values: pd.Series, min_share: float = 0.5) -> tuple[pd.Series | None, str]:
    """Times from one column: datetimes as they are; numbers as epoch seconds (or ms, µs, ns, told apart by
    their size; UTC); text in the first of :data:`TIME_FORMATS` that parses most values (clock as recorded, no
    time zone). A column mixing numbers and text is read the way that parses more values. Returns
    ``(times, how)``, NaT where a value does not parse, or ``(None, why not)`` when under ``min_share`` of its
    non-empty values parse."""
    name = values.name
    n_present = int(values.notna().sum())
    if not n_present:
        return None, f"{name!r} is empty"
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, f"{name!r} (datetimes)"
    numbers = (values if pd.api.types.is_numeric_dtype(values) else pd.to_numeric(values, errors="coerce")).astype(
        "float64"
    )
    attempts: list[tuple[pd.Series, str]] = []
    not_epoch = ""
    if numbers.notna().any():
        median = float(np.nanmedian(np.abs(numbers)))
        unit = next((u for u, scale in _EPOCH_UNITS if _EPOCH_SECONDS[0] <= median / scale <= _EPOCH_SECONDS[1]), "")
        if unit:
            scale = dict(_EPOCH_UNITS)[unit]
            plausible = numbers.where((numbers / scale).between(*_EPOCH_SECONDS))
            attempts.append((pd.to_datetime(plausible, unit=unit, utc=True, errors="coerce"), f"epoch {unit}, UTC"))
        else:
            not_epoch = f"numbers that are not epoch times (median {median:g})"
    text = values.astype("string").str.strip().where(numbers.isna())
    if text.notna().any():
        sample = text.dropna().iloc[:: max(1, int(text.notna().sum()) // 2000)]
        shares = {
            fmt: float(pd.to_datetime(sample, format=fmt, errors="coerce").notna().mean()) for fmt in TIME_FORMATS
        }
        best = max(TIME_FORMATS, key=lambda fmt: shares[fmt])  # max keeps the first of equal shares
        if shares[best] > 0:
            times = pd.to_datetime(text, format=best, errors="coerce")
            attempts.append((times, f"text as {best}, clock as recorded, no time zone"))
    times, how = max(attempts, key=lambda a: int(a[0].notna().sum()), default=(None, ""))
    parsed = int(times.notna().sum()) if times is not None else 0
    if parsed >= min_share * n_present:
        return times, f"{name!r} ({how})"
    unparsed = values[values.notna() & (times.isna() if times is not None else True)]
    examples = ", ".join(repr(str(v)) for v in unparsed.iloc[:3])
    if parsed:
        return (
            None,
            f"only {parsed:,} of the {n_present:,} values of {name!r} parse as times ({how}; others: {examples})",
        )
    if not_epoch and numbers.notna().sum() >= min_share * n_present:
        return None, f"{name!r} holds {not_epoch}"
    return None, f"{name!r} holds text no known time format parses (e.g. {examples})"


def time_columns(columns: Iterable[object]) -> list:
    """The columns named like a flow's start time, best first: :data:`TIME_COLUMNS` (any case), then any name
    ending in time, date or ts; end times (``ltime``, ``end_time`` ...) are left out."""
    columns = list(columns)
    lower = {str(c).lower(): c for c in columns}
    candidates = [lower[n] for n in TIME_COLUMNS if n in lower]
    candidates += [
        c for c in columns
        if c not in candidates and _TIME_NAME.search(str(c)) and not _END_TIME_NAME.search(str(c))
    ]  # fmt: skip
    return candidates


def flow_times(rows: pd.DataFrame) -> FlowTimes:
    """The start time of each flow in a run's row tables (``PreparedData.rows``): the first column named like a
    time (:func:`time_columns`) that parses (:func:`parse_times`)."""
    candidates = time_columns(rows.columns)
    if not candidates:
        return FlowTimes(
            None,
            None,
            f"no time column among the run's row columns {[str(c) for c in rows.columns]} (looked for "
            f"{', '.join(TIME_COLUMNS)} or a name ending in time, date or ts)",
        )
    failures = []
    for column in candidates:
        times, how = parse_times(rows[column])
        if times is not None:
            return FlowTimes(str(column), times, how)
        failures.append(how)
    return FlowTimes(None, None, "no time column of the run's rows parses: " + "; ".join(failures))


def times_by_file(values: pd.Series, files: pd.Series | None) -> tuple[pd.Series, dict[str, str], dict[str, str]]:
    """:func:`parse_times` of ``values`` file by file (``files`` aligned with them; None: one file), so that each
    file's own way of writing times is found. Returns the times as one ``datetime64[ns]`` series aligned with
    ``values`` (epoch times converted from UTC to a clock without time zone, text clocks as recorded; NaT where
    a value, or a whole file's column, does not parse), how each file's values were read, and why the others'
    were not (file -> sentence)."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]", name=values.name)
    if files is None:
        positions = {"(all rows)": np.arange(len(values))}
    else:
        positions = pd.Series(np.asarray(files, dtype=object)).groupby(np.asarray(files, dtype=object)).indices
    read: dict[str, str] = {}
    failed: dict[str, str] = {}
    for file, where in positions.items():
        times, how = parse_times(values.iloc[where])
        if times is None:
            failed[str(file)] = how
            continue
        read[str(file)] = how
        times = pd.DatetimeIndex(times)
        if times.tz is not None:
            times = times.tz_convert(None)
        out.iloc[where] = times.as_unit("ns").to_numpy()
    return out, read, failed
