"""When a flow started: the time column of a flow table and its parsing (notebook 01's ``SPLIT="time"``, Fig. 1).

:func:`flow_times` finds and parses the start time in a run's row tables (``lib.figures`` draws Fig. 1 with
it); :func:`times_by_file` parses one column file by file, because files combined into one data set may
write their times in different ways (epoch seconds in one, ``7/7/2017 8:59`` in another); ``lib.preprocess``
orders flows by it for the time split. Nothing here draws, so preprocessing does not import matplotlib.

CICFlowMeter as CICIDS2017 ran it writes a flow's start as ``d/m/Y h:mm`` on a 12-hour clock without AM/PM and
without seconds: ``7/7/2017 8:59`` is 08:59, but the Friday DDoS attack (15:56-16:16) is written ``7/7/2017 3:56``
and PortScan flows ``7/7/2017 1:05``. The captures ran from about 08:00 to 17:00, so in a column of that format whose
hours all lie in 1-12 (a 24-hour clock would show 0 or 13-23 somewhere) the hours 1-7 are read as 13-19
(:data:`AFTERNOON_HOURS`): ``7/7/2017 3:56`` is 15:56. This is a repair of the data, and it is said and counted:
the sentence :func:`parse_times` returns says so, and given a list of ``notes`` :func:`parse_times` and
:func:`times_by_file` record it per file with the number of values moved (:func:`lib.datasets.errors.note_repair`),
which ``lib.preprocess`` adds to the run's repairs and split info in ``meta.json``. Times with seconds
(CSE-CIC-IDS2018's ``14/02/2018 08:31:01``), with AM/PM, ISO times and epoch times are read as written. (A
24-hour capture in ``d/m/Y H:M`` that ran only between 01:00 and 12:59 would be misread; no known data set is one.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.datasets.errors import note_repair

#: Names of a flow's start time in the formats the loaders read, in order of preference (case-insensitive):
#: Zeek and TON_IoT ``ts``, Argus/BoT-IoT ``stime`` and UNSW-NB15 ``Stime``, CICFlowMeter ``Timestamp``.
TIME_COLUMNS = ("ts", "stime", "timestamp", "start_time", "starttime", "flow_start", "datetime", "date_time", "time")
_TIME_NAME = re.compile(r"(^|[\s_.-])(ts|time|timestamp|datetime|date)$", re.I)
_END_TIME_NAME = re.compile(r"^(ltime|etime|end|last|stop)|(^|[\s_.-])(end|last|stop)", re.I)
#: Text formats tried on a column of strings; the one that parses most values wins, the first on a tie (day
#: first before month first: CICFlowMeter writes ``14/02/2018 08:31:01`` in CSE-CIC-IDS2018 and ``7/7/2017 8:59``,
#: day first, in CICIDS2017; the latter on a 12-hour clock, see :data:`TWELVE_HOUR_FORMAT`).
TIME_FORMATS = (
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p",
    "%d-%m-%Y %H:%M:%S", "%d-%b-%y %H:%M:%S", "ISO8601",
)  # fmt: skip
#: CICIDS2017's CICFlowMeter format: day first, no seconds, a 12-hour clock without AM/PM (``7/7/2017 3:56`` is
#: 15:56). A column in it whose hours all lie in 1-12 has its :data:`AFTERNOON_HOURS` moved 12 hours on.
TWELVE_HOUR_FORMAT = "%d/%m/%Y %H:%M"
#: The hours of :data:`TWELVE_HOUR_FORMAT` that are afternoon hours (1-7 -> 13-19): the CICIDS2017 captures ran
#: from about 08:00 to 17:00, so 8-11 are morning hours and 12 is noon.
AFTERNOON_HOURS = range(1, 8)
TWELVE_HOUR_REPAIR = "12-hour clock without AM/PM (CICFlowMeter d/m/Y h:mm): hour 1-7 read as 13-19"
_EPOCH_SECONDS = (631_152_000, 4_102_444_800)  # 1990-01-01 to 2100-01-01: what a capture's epoch time can be
_EPOCH_UNITS = (("s", 1.0), ("ms", 1e3), ("us", 1e6), ("ns", 1e9))


@dataclass(frozen=True)
class FlowTimes:
    """A time column found in a run's rows: its name, the parsed times (aligned with the rows, NaT where a
    value does not parse) and how they were read; or ``column=None``, ``times=None`` and why not."""

    column: str | None
    times: pd.Series | None
    how: str


def _afternoon(times: pd.Series) -> tuple[pd.Series, int]:
    """``times`` read in :data:`TWELVE_HOUR_FORMAT` with the :data:`AFTERNOON_HOURS` moved 12 hours on, and how
    many moved; unchanged (0) when an hour of 0 or 13-23 shows the clock to be a 24-hour one."""
    hours = times.dt.hour
    if not hours.notna().any() or ((hours == 0) | (hours > 12)).any():
        return times, 0
    afternoon = hours.isin(AFTERNOON_HOURS)
    return times.mask(afternoon, times + pd.Timedelta(hours=12)), int(afternoon.sum())


def _text_times(text: pd.Series) -> list[tuple[pd.Series, str, int]]:
    """The text values read in the first of :data:`TIME_FORMATS` that parses most of a sample of them (none if
    no format parses any): ``[(times, how, afternoon hours moved)]``."""
    if not text.notna().any():
        return []
    sample = text.dropna().iloc[:: max(1, int(text.notna().sum()) // 2000)]
    shares = {fmt: float(pd.to_datetime(sample, format=fmt, errors="coerce").notna().mean()) for fmt in TIME_FORMATS}
    best = max(TIME_FORMATS, key=lambda fmt: shares[fmt])  # max keeps the first of equal shares
    if shares[best] <= 0:
        return []
    times = pd.to_datetime(text, format=best, errors="coerce")
    moved = 0
    if best == TWELVE_HOUR_FORMAT:
        times, moved = _afternoon(times)
    clock = TWELVE_HOUR_REPAIR if moved else "clock as recorded"
    return [(times, f"text as {best}, {clock}, no time zone", moved)]


def parse_times(
    values: pd.Series, min_share: float = 0.5, *, notes: list[dict] | None = None, file: object = "(all rows)"
) -> tuple[pd.Series | None, str]:
    """Times from one column: datetimes as they are; numbers as epoch seconds (or ms, µs, ns, told apart by
    their size; UTC); text in the first of :data:`TIME_FORMATS` that parses most values (clock as recorded, no
    time zone; CICIDS2017's 12-hour clock without AM/PM, :data:`TWELVE_HOUR_FORMAT`, with its afternoon hours
    1-7 read as 13-19, said in ``how`` and, with ``notes``, recorded as a repair of ``file``'s column:
    :func:`lib.datasets.errors.note_repair`). A column mixing numbers and text is read the way that parses more
    values. Returns ``(times, how)``, NaT where a value does not parse, or ``(None, why not)`` when under
    ``min_share`` of its non-empty values parse."""
    name = values.name
    n_present = int(values.notna().sum())
    if not n_present:
        return None, f"{name!r} is empty"
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, f"{name!r} (datetimes)"
    numbers = (values if pd.api.types.is_numeric_dtype(values) else pd.to_numeric(values, errors="coerce")).astype(
        "float64"
    )
    attempts: list[tuple[pd.Series, str, int]] = []  # times, how, afternoon hours moved
    not_epoch = ""
    if numbers.notna().any():
        median = float(np.nanmedian(np.abs(numbers)))
        unit = next((u for u, scale in _EPOCH_UNITS if _EPOCH_SECONDS[0] <= median / scale <= _EPOCH_SECONDS[1]), "")
        if unit:
            scale = dict(_EPOCH_UNITS)[unit]
            plausible = numbers.where((numbers / scale).between(*_EPOCH_SECONDS))
            epoch = pd.to_datetime(plausible, unit=unit, utc=True, errors="coerce")
            attempts.append((epoch, f"epoch {unit}, UTC", 0))
        else:
            not_epoch = f"numbers that are not epoch times (median {median:g})"
    attempts += _text_times(values.astype("string").str.strip().where(numbers.isna()))
    times, how, moved = max(attempts, key=lambda a: int(a[0].notna().sum()), default=(None, "", 0))
    parsed = int(times.notna().sum()) if times is not None else 0
    if parsed >= min_share * n_present:
        if notes is not None:
            note_repair(notes, file, str(name), TWELVE_HOUR_REPAIR, moved)
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


def times_by_file(
    values: pd.Series, files: pd.Series | None, notes: list[dict] | None = None
) -> tuple[pd.Series, dict[str, str], dict[str, str]]:
    """:func:`parse_times` of ``values`` file by file (``files`` aligned with them; None: one file), so that each
    file's own way of writing times is found. Returns the times as one ``datetime64[ns]`` series aligned with
    ``values`` (epoch times converted from UTC to a clock without time zone, text clocks as recorded but for the
    afternoon hours of CICIDS2017's 12-hour clock; NaT where a value, or a whole file's column, does not parse),
    how each file's values were read, and why the others' were not (file -> sentence). ``notes`` (a list)
    receives each file's repairs (:func:`lib.datasets.errors.note_repair`: the afternoon hours moved)."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]", name=values.name)
    if files is None:
        positions = {"(all rows)": np.arange(len(values))}
    else:
        positions = pd.Series(np.asarray(files, dtype=object)).groupby(np.asarray(files, dtype=object)).indices
    read: dict[str, str] = {}
    failed: dict[str, str] = {}
    for file, where in positions.items():
        times, how = parse_times(values.iloc[where], notes=notes, file=file)
        if times is None:
            failed[str(file)] = how
            continue
        read[str(file)] = how
        times = pd.DatetimeIndex(times)
        if times.tz is not None:
            times = times.tz_convert(None)
        out.iloc[where] = times.as_unit("ns").to_numpy()
    return out, read, failed
