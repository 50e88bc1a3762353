"""Values the readers of :mod:`lib.datasets` read the same way whatever the format: numbers written with a
thousands separator (:func:`thousands_numbers`), negative counts, sizes and durations (:func:`negatives_to_missing`,
the columns per schema in :data:`lib.datasets.schema.NON_NEGATIVE_COLUMNS`) and attack labels spelt more than one
way (:func:`label_spellings`, :func:`apply_label_spellings`). Each change is counted with
:func:`lib.datasets.errors.note_repair`.

**Thousands separators.** A text column is read as numbers when every value that is not missing is a number in
one writing: digit groups of three after a first group of one to three digits, separated by a comma (decimal
point ``.``), a point (decimal comma ``,``) or a space (plain, no-break or narrow no-break; decimal point or
comma), or a plain number in the same writing (``12.5`` with the comma writing, ``12,5`` with the point
writing). The writing must be unambiguous in the column: a space is never a decimal mark, so a space group
always is one; a comma or a point is read as a separator only if some value of the column holds it twice
(``4,052,919``, ``4.052.919``) or together with the other mark (``4,052.5``, ``4.052,5``), and a point not
when every value that holds one could be an IPv4 address (``192.168.100.147``). A column whose values are all
like ``80,443`` (the number 80443, the decimal 80.443 or the ports 80 and 443?) is not read as numbers:
:func:`thousands_ambiguous` finds it, and the table reader refuses it unless the column is named as text
(``table.py``); a ``;``-separated file reads ``0,5`` as 0.5 first (a decimal comma, ``table.py``). The rules
that weigh values (how many hold a separator, at least half) take an optional weight per value, so that a
reader may apply them to a column's distinct values, each weighted by its rows. A column at least half of
whose values are in an unambiguous writing, but with a value that is neither in it nor a plain number, is a
:class:`~lib.datasets.errors.DataError` for its reader (:func:`thousands_conflict` names the first such value).

**Negative counts, sizes and durations** are impossible values (a clock stepping back, an integer overflow in
the tool that wrote the file): in the columns a schema declares non-negative, a negative value becomes
missing (imputed by the median later), counted per file and column.

**Label spellings.** Attack labels that differ only by case or surrounding space (``DoS``, ``dos``, `` DoS ``)
are one label. Rule: within each group of spellings the most frequent spelling wins (its surrounding space
removed); a tie goes to the spelling seen first (files in load order, rows in file order). Every other
spelling is read as the winner, counted per file, column and spelling. ``Benign`` (normal traffic, whose
spellings the readers already fold through ``BENIGN_LABELS``) is never merged with anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lib.datasets.errors import note_repair

# ------------------------------------------------------------------------------------------ thousands
#: The writings of a number with a thousands separator: (name, separator characters, decimal mark).
_SPACES = " \u00a0\u202f"
THOUSANDS_WRITINGS = (
    ("comma", ",", "."),
    ("point", ".", ","),
    ("space", _SPACES, "."),
    ("space", _SPACES, ","),
)


def _writing_pattern(separators: str, decimal: str) -> re.Pattern:
    sep = f"[{re.escape(separators)}]"
    return re.compile(rf"[+-]?(?:\d{{1,3}}(?:{sep}\d{{3}})+|\d+)(?:{re.escape(decimal)}\d+)?")


_PATTERNS = [(name, seps, dec, _writing_pattern(seps, dec)) for name, seps, dec in THOUSANDS_WRITINGS]


@dataclass(frozen=True)
class ThousandsReading:
    """A text column read as numbers with a thousands separator: the numbers (float64, NaN where missing), the
    writing's name (``comma``, ``point``, ``space``) and how many values held a separator."""

    numbers: pd.Series
    writing: str
    count: int

    @property
    def repair(self) -> str:
        mark = {"comma": "','", "point": "'.'", "space": "space"}[self.writing]
        return f"thousands separator ({mark}) removed: number read as written"


_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _evidence(text: pd.Series, separators: str, decimal: str) -> tuple[np.ndarray, bool]:
    """Per value, whether it holds a separator; and whether the column shows the writing unambiguously (a
    column whose grouped values could all be IPv4 addresses, ``192.168.100.147``, does not)."""
    sep = f"[{re.escape(separators)}]"
    grouped = text.str.contains(sep, regex=True).to_numpy(dtype=bool)
    if separators == _SPACES:
        return grouped, bool(grouped.any())
    if separators == "." and grouped.any() and text[grouped].str.fullmatch(_IPV4).all():
        return grouped, False
    twice = text.str.count(sep).to_numpy() >= 2
    both = grouped & text.str.contains(re.escape(decimal), regex=True).to_numpy(dtype=bool)
    return grouped, bool((twice | both).any())


def _weights(text: pd.Series, weights: np.ndarray | None) -> np.ndarray:
    """The weight of each value of ``text`` that is not missing (1 each without ``weights``)."""
    kept = text.notna().to_numpy()
    return np.ones(int(kept.sum()), dtype=np.int64) if weights is None else np.asarray(weights, np.int64)[kept]


def thousands_numbers(text: pd.Series, weights: np.ndarray | None = None) -> ThousandsReading | None:
    """``text`` (stripped, missing values as NA) read as numbers with a thousands separator, if every value that
    is not missing is written in one unambiguous writing (module docstring); else None. ``weights`` (per value
    of ``text``: the rows a distinct value stands for) weigh the count of values that held a separator."""
    present = text.dropna()
    if present.empty:
        return None
    present, weight = present.astype(str), _weights(text, weights)
    for name, separators, decimal, pattern in _PATTERNS:
        if not present.str.fullmatch(pattern).all():
            continue
        grouped, unambiguous = _evidence(present, separators, decimal)
        if not unambiguous:
            continue
        plain = present.str.replace(f"[{re.escape(separators)}]", "", regex=True).str.replace(decimal, ".")
        numbers = pd.to_numeric(plain, errors="coerce").reindex(text.index)
        return ThousandsReading(numbers.astype(np.float64), name, int(weight[grouped].sum()))
    return None


def thousands_conflict(text: pd.Series, weights: np.ndarray | None = None) -> tuple[int, str] | None:
    """The position (in ``text``) of the first value that breaks the column's thousands writing, and a value
    written in it: at least half of the values (weighted by ``weights``, if given) are in one writing, some of
    them unambiguously with a separator (module docstring), and this one is neither in that writing nor a plain
    number in it. None if the column is not such a column."""
    present, weight = text.dropna().astype(str), _weights(text, weights)
    for _, separators, decimal, pattern in _PATTERNS:
        fits = present.str.fullmatch(pattern).to_numpy(dtype=bool)
        if weight[fits].sum() < max(1, weight.sum() / 2):
            continue
        grouped, unambiguous = _evidence(present[fits], separators, decimal)
        if unambiguous and not fits.all():
            first = present.index[np.flatnonzero(~fits)[0]]
            return int(text.index.get_loc(first)), str(present[fits][grouped].iloc[0])
    return None


def thousands_ambiguous(text: pd.Series) -> int | None:
    """The position (in ``text``) of the first value holding a separator, when every value that is not missing
    is written in a comma or point writing but none shows it unambiguously (``269,828``, ``1,024``: one group
    each, thousands or a list such as ``80,443``?) and the values are not IPv4 addresses; else None."""
    present = text.dropna().astype(str)
    if present.empty:
        return None
    for _, separators, decimal, pattern in _PATTERNS:
        if separators == _SPACES or not present.str.fullmatch(pattern).all():
            continue
        grouped, unambiguous = _evidence(present, separators, decimal)
        address = separators == "." and grouped.any() and present[grouped].str.fullmatch(_IPV4).all()
        if grouped.any() and not unambiguous and not address:
            return int(text.index.get_loc(present.index[np.flatnonzero(grouped)[0]]))
    return None


# ------------------------------------------------------------------------------------------ negatives
NEGATIVE_REPAIR = "negative count, size or duration set to missing (imputed)"


def negatives_to_missing(df: pd.DataFrame, columns: Iterable[str], file: object, notes: list[dict]) -> pd.DataFrame:
    """``df`` with the negative values of ``columns`` (those it has, as floats) set to NaN, in place, each column's
    count recorded in ``notes``."""
    for column in columns:
        if column not in df or not pd.api.types.is_float_dtype(df[column]):
            continue
        values = df[column].to_numpy()
        negative = values < 0
        if negative.any():
            df[column] = pd.Series(np.where(negative, np.nan, values).astype(values.dtype), index=df.index)
            note_repair(notes, file, column, NEGATIVE_REPAIR, int(negative.sum()))
    return df


def apply_non_negative(frame: pd.DataFrame, columns: Iterable[str], file: object) -> pd.DataFrame:
    """:func:`negatives_to_missing` of a reader's frame, its counts added to ``frame.attrs["repairs"]`` (for a
    caller that reads frames itself, as the scorer does)."""
    notes = frame.attrs.setdefault("repairs", [])
    return negatives_to_missing(frame, columns, file, notes)


# ------------------------------------------------------------------------------------------ label spellings
BENIGN = "Benign"


def _key(value: str) -> str:
    return value.strip().casefold()


@dataclass
class LabelSpellings:
    """The spellings to read as another, per label column (``{column: {spelling: winner}}``), and the repair
    records that count them per file (:func:`label_spellings`)."""

    mappings: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[dict] = field(default_factory=list)


#: Rows counted at a time by :func:`spelling_counts` (its memory: a block, never a copy of the whole column).
COUNT_BLOCK = 1 << 22


def _codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """A column's category codes (-1: missing) and its categories as text."""
    labels = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    return labels.cat.codes.to_numpy(), [str(c) for c in labels.cat.categories]


def spelling_counts(values: pd.Series, files: pd.Series | None = None, offset: int = 0) -> pd.DataFrame:
    """How often each value of ``values`` occurs (per file of ``files``, if given; else one file, ``""``), and the
    position of its first row (plus ``offset``): columns ``file``, ``value``, ``rows``, ``first``. Counted
    :data:`COUNT_BLOCK` rows at a time, on the category codes."""
    codes, categories = _codes(values)
    file_codes, file_names = _codes(files) if files is not None else (None, [""])
    k = len(categories)
    counts = np.zeros(len(file_names) * k, dtype=np.int64)
    first = np.full(k, -1, dtype=np.int64)
    for start in range(0, len(codes), COUNT_BLOCK):
        part = codes[start : start + COUNT_BLOCK].astype(np.int64)
        present = part >= 0
        where = file_codes[start : start + COUNT_BLOCK].astype(np.int64) * k if file_codes is not None else 0
        counts += np.bincount((part + where)[present], minlength=len(counts))
        for code in np.flatnonzero((first < 0) & (np.bincount(part[present], minlength=k) > 0)):
            first[code] = start + int(np.argmax(part == code)) + offset
    rows = [(file_names[p // k], categories[p % k], int(counts[p]), int(first[p % k])) for p in np.flatnonzero(counts)]
    return pd.DataFrame(rows, columns=["file", "value", "rows", "first"])


def label_spellings(counts: dict[str, pd.DataFrame]) -> LabelSpellings:
    """The rule of the module docstring applied to ``{column: spelling_counts}`` of the whole data: which
    spellings become which, and one repair record per file, column and spelling read as another."""
    out = LabelSpellings()
    for column, table in counts.items():
        if table.empty:
            continue
        totals = table.groupby("value", sort=False).agg(rows=("rows", "sum"), first=("first", "min"))
        keys = pd.Series([_key(v) for v in totals.index], index=totals.index)
        mapping: dict[str, str] = {}
        for key, spellings in totals.groupby(keys.to_numpy(), sort=False):
            if key == BENIGN.casefold():
                continue
            ordered = spellings.assign(order=-spellings["first"]).sort_values(["rows", "order"], ascending=False)
            winner = str(ordered.index[0]).strip()
            mapping |= {str(v): winner for v in spellings.index if str(v) != winner}
        if not mapping:
            continue
        out.mappings[column] = mapping
        changed = table[table["value"].isin(list(mapping))]
        for row in changed.itertuples(index=False):
            note_repair(
                out.notes, row.file, column,
                f"label {row.value!r} read as {mapping[row.value]!r} (spellings differing only by case or surrounding "
                f"space are one label; the most frequent spelling wins)",
                row.rows,
            )  # fmt: skip
    return out


def apply_label_spellings(df: pd.DataFrame, spellings: LabelSpellings) -> pd.DataFrame:
    """``df`` with each label column's spellings read as their winners (categories merged, codes kept), in place."""
    for column, mapping in spellings.mappings.items():
        if column not in df:
            continue
        labels = df[column] if isinstance(df[column].dtype, pd.CategoricalDtype) else df[column].astype("category")
        old = [str(c) for c in labels.cat.categories]
        new = [mapping.get(c, c) for c in old]
        if new == old:
            continue
        categories = sorted(set(new))
        where = {c: i for i, c in enumerate(categories)}
        remap = np.array([where[c] for c in new] + [-1], dtype=np.int64)  # code -1 (missing) stays missing
        codes = labels.cat.codes.to_numpy().astype(np.int64)
        df[column] = pd.Categorical.from_codes(remap[codes], categories=categories)
    return df
