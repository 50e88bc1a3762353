"""``SAMPLE_ROWS``: a stratified sample of a data set, drawn from its labels alone.

:func:`stratified_positions` picks the rows from the ``label`` column only, so :func:`lib.datasets.load` can
draw the sample from the Parquet cache entries' label columns and then read just those rows, file by file and
row group by row group: a 10 GB conn log is sampled in the memory its labels take (a code per row), never
loaded whole. The in-memory path (:func:`lib.preprocess.sample_rows`
on a loaded frame) calls the same function on the same labels in the same order, so both give the same rows for
a seed (tested). Classes of equal size draw in name order; before this module they drew in the order pandas'
``value_counts`` left them, which gave the same rows on the three mirrors (checked for seeds 42 and 43).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLOOR = 20  # rows every class keeps at least (or all of its rows), so rare classes survive a quick run


def class_order(labels: pd.Series) -> pd.Series:
    """Rows per class, largest first, ties by class name: the order in which classes draw their rows (a total
    order, so the sample never depends on how the labels were stored)."""
    counts = labels.value_counts(sort=False)
    counts = counts[counts > 0]
    order = sorted(counts.index, key=lambda c: (-int(counts[c]), str(c)))
    return counts.loc[order]


def stratified_positions(labels: pd.Series, n: int, seed: int, floor: int = FLOOR) -> np.ndarray | None:
    """Sorted positions of a stratified random subset of about ``n`` rows of ``labels``; ``None`` when every
    row is kept (``n <= 0`` or ``n >= len(labels)``).

    Each class keeps its share of ``n`` (rounded) but at least ``min(floor, its size)`` rows. Classes draw in the
    order of :func:`class_order` from one ``numpy`` generator seeded with ``seed`` (:func:`stratified_rows`).
    """
    if n <= 0 or n >= len(labels):
        return None
    return stratified_rows(labels, n, seed, floor=floor)


#: How a class's share ``n * count / len(labels)`` becomes a whole number of rows (:func:`stratified_rows`).
ROUNDINGS = {"round": round, "floor": np.floor, "ceil": np.ceil}


def stratified_rows(
    labels: pd.Series | np.ndarray,
    n: int,
    seed: int,
    *,
    floor: int = FLOOR,
    rounding: str = "round",
    order: str = "size",
) -> np.ndarray:
    """Sorted positions of a stratified random subset of about ``n`` of ``labels`` (``0 < n < len(labels)``): the
    one stratified subsampler of the project (``SAMPLE_ROWS``, the SVM's ``SVM_MAX_ROWS``, the tuning trials'
    rows, the zero-day models' training rows).

    Each class keeps ``rounding(n * count / len(labels))`` rows (``"round"``, ``"floor"`` or ``"ceil"``), but at
    least ``min(floor, count)``. Classes draw in ``order``: ``"size"`` (:func:`class_order`: largest first, ties by
    name) or ``"value"`` (ascending label), each class's rows from one ``numpy`` generator seeded with ``seed``.
    """
    if rounding not in ROUNDINGS or order not in ("size", "value"):
        raise ValueError(f"rounding must be one of {sorted(ROUNDINGS)} and order 'size' or 'value'")
    labels = labels if isinstance(labels, pd.Series) else pd.Series(np.asarray(labels))
    rng = np.random.default_rng(seed)
    categorical = isinstance(labels.dtype, pd.CategoricalDtype)
    values = labels.cat.codes.to_numpy() if categorical else labels.to_numpy()  # codes: no strings per row
    counts = class_order(labels) if order == "size" else labels.value_counts(sort=False).sort_index()
    parts = []
    for cls, count in counts[counts > 0].items():
        take = min(int(count), max(int(ROUNDINGS[rounding](n * int(count) / len(labels))), floor))
        # which of the class's rows, by rank (the draw numpy makes from the array of the class's positions),
        # then those ranks' positions found block by block: no position array of the whole class
        ranks = np.sort(rng.choice(int(count), size=take, replace=False))
        parts.append(_positions_of_ranks(values, labels.cat.categories.get_loc(cls) if categorical else cls, ranks))
    return np.sort(np.concatenate(parts))


BLOCK = 1 << 23  # rows scanned at a time when ranks are turned into positions


def _positions_of_ranks(values: np.ndarray, value: object, ranks: np.ndarray) -> np.ndarray:
    """Positions of the ``ranks``-th (sorted, 0-based) occurrences of ``value`` in ``values``."""
    out, seen = [], 0
    for start in range(0, len(values), BLOCK):
        if not len(ranks):
            break
        here = np.flatnonzero(values[start : start + BLOCK] == value)
        cut = np.searchsorted(ranks, seen + len(here))
        out.append(start + here[ranks[:cut] - seen])
        ranks, seen = ranks[cut:], seen + len(here)
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)
