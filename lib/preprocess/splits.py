"""The train/validation/test split of notebook 01: ``SPLIT`` = stratified, group, time or source.

:func:`split_rows` runs the chosen split and describes it (:func:`describe_split`) by every key the data has:
host pairs or conversations, start times and capture sources.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from lib import datasets
from lib.datasets import schema, times
from lib.preprocess.config import EACH_SOURCE, MAX_SHARE_WITHOUT_KEY, SOURCE_SHARE_TOLERANCE, PrepConfig
from lib.preprocess.prep_report import PrepReport, short_list

log = logging.getLogger(__name__)


def split_indices(y: np.ndarray, test_size: float, val_size: float, seed: int) -> dict[str, np.ndarray]:
    """Stratified train/val/test row indices: test first, then validation carved from training."""
    counts = np.bincount(y)
    if counts[counts > 0].min() < 3:
        raise datasets.DataError(
            f"a class has fewer than 3 rows (counts per class: {counts.tolist()}): a stratified train/val/test "
            f"split needs at least 3. Fix: raise SAMPLE_ROWS, use LABEL_MODE='binary', or raise MIN_CLASS_COUNT"
        )
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
    train, val = train_test_split(train, test_size=val_size, stratify=y[train], random_state=seed)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def _files_of(df: pd.DataFrame, rows: np.ndarray) -> str:
    """The source files of ``rows`` (a boolean mask), for error messages."""
    if "source_file" not in df:
        return "the data"
    return short_list(sorted(map(str, df.loc[rows, "source_file"].unique())), most=4)


def group_keys(df: pd.DataFrame, columns: tuple[str, ...] = ()) -> tuple[np.ndarray, list[str]]:
    """Per row, the id of its group for ``SPLIT="group"`` (-1 where a key column is empty), and the columns used.

    ``columns`` (``GROUP_COLUMNS``) override the automatic choice: the unordered source/destination address
    pair (a host pair: :func:`lib.datasets.schema.host_pair_columns`), else a conversation key such as
    CICFlowMeter's ``Flow ID`` (:func:`lib.datasets.schema.conversation_columns`). Two given columns that are an
    address pair are taken unordered too; other columns are combined as they are.
    """
    if columns:
        unknown = [c for c in columns if c not in df.columns]
        if unknown:
            raise datasets.DataError(
                f"GROUP_COLUMNS names columns that do not exist: {unknown}. Fix: choose among the identifier "
                f"columns {datasets.identifier_columns(df)}"
            )
        pair = schema.host_pair_columns(columns) if len(columns) == 2 else None
    else:
        pair = schema.host_pair_columns(df.columns)
        columns = pair or tuple(schema.conversation_columns(df.columns))
    if not columns:
        raise datasets.DataError(
            f"SPLIT='group' needs the flows' addresses (a source/destination pair such as id.orig_h/id.resp_h, "
            f"Source IP/Destination IP, saddr/daddr, srcip/dstip) or a conversation key (Flow ID); the data "
            f"has none of them (its identifier columns: {datasets.identifier_columns(df)}). "
            f"Fix: name the column(s) that identify a conversation with GROUP_COLUMNS, or use SPLIT='source' "
            f"(whole capture files held out) or SPLIT='stratified'"
        )
    if pair:  # one code per address, whichever side it is on; a pair is (smaller code, larger code)
        codes, uniques = pd.factorize(pd.concat([df[pair[0]], df[pair[1]]], ignore_index=True).astype("string"))
        source, destination = codes[: len(df)].astype(np.int64), codes[len(df) :].astype(np.int64)
        key = np.minimum(source, destination) * (len(uniques) + 1) + np.maximum(source, destination)
        key[(source < 0) | (destination < 0)] = -1
    else:
        key = df[list(columns)].astype("string").groupby(list(columns), sort=False, dropna=True).ngroup().to_numpy()
    groups = np.full(len(df), -1, dtype=np.int64)
    groups[key >= 0] = pd.factorize(key[key >= 0])[0]
    return groups, list(columns)


def flow_start_times(df: pd.DataFrame, notes: list[dict] | None = None) -> tuple[pd.Series | None, str | None, str]:
    """Each flow's start time for ``SPLIT="time"``: of the identifier columns named like a start time
    (:func:`lib.datasets.times.time_columns`; a feature such as ``response_time`` is a duration), the one that
    parses for most rows, each file parsed apart (:func:`lib.datasets.times.times_by_file`). Returns
    ``(times, column, how it was read)``, NaT where a row has no time; ``(None, None, why not)`` when no column
    parses. ``notes`` (a list) receives the repairs made in reading the chosen column (CICIDS2017's afternoon
    hours, per file)."""
    files = df["source_file"] if "source_file" in df else None
    best: tuple[pd.Series | None, str | None, str] = (None, None, "")
    best_notes: list[dict] = []
    failures = []
    for column in times.time_columns(datasets.identifier_columns(df)):
        column_notes: list[dict] = []
        parsed, read, failed = times.times_by_file(df[column], files, column_notes)
        n = int(parsed.notna().sum())
        if n and (best[0] is None or n > int(best[0].notna().sum())):
            best = (parsed, str(column), short_list(sorted(set(read.values())), most=3))
            best_notes = column_notes
        elif not n:
            failures.append(short_list(sorted(set(failed.values())), most=2))
    if best[0] is None:
        looked = ", ".join(times.TIME_COLUMNS)
        return None, None, "; ".join(failures) or f"no identifier column is named like a start time ({looked})"
    if notes is not None:
        notes.extend(best_notes)
    return best


def _hold_out_groups(
    pool: np.ndarray, y: np.ndarray, groups: np.ndarray, size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, held_out)`` rows of ``pool``, whole groups on each side, about ``size`` of them held out.

    scikit-learn's ``StratifiedGroupKFold`` (shuffled with ``seed``) cuts the pool into about ``2 / size`` folds
    (at most 20) whose class mixes are as alike as the groups allow; the held-out part is the union of the one to
    three folds that comes nearest to ``size`` and that, in this order, keeps every class of the pool on the
    kept side, holds out between half and 1.5 times ``size`` of the rows, holds out as many classes as it can,
    and comes nearest to ``size``. (One huge group, such as one infected host's C&C channel, can still take a
    class to one side: that is what a group split measures.)
    """
    n_groups = len(np.unique(groups[pool]))
    if n_groups < 2:
        raise datasets.DataError(
            f"SPLIT='group': the {len(pool):,} rows to split form only {n_groups} group(s), so no group can be held "
            f"out. Fix: use GROUP_COLUMNS that tell conversations apart, or SPLIT='stratified'"
        )
    n_folds = min(n_groups, 20, max(2, int(round(2 / size))))
    with warnings.catch_warnings():  # "the least populated class has only n members": known, scored below
        warnings.simplefilter("ignore", UserWarning)
        cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        folds = [held for _, held in cv.split(pool, y[pool], groups[pool])]
    counts = np.array([np.bincount(y[pool[f]], minlength=int(y.max()) + 1) for f in folds])
    total = counts.sum(axis=0)
    present = total > 0
    best_score, best = None, None
    sizes = sorted({min(max(1, int(round(size * n_folds)) + d), n_folds - 1) for d in (-1, 0, 1)})
    for m in sizes:
        for combo in itertools.combinations(range(n_folds), m):
            held = counts[list(combo)].sum(axis=0)
            share = held.sum() / total.sum()
            score = (
                int((present & (held == total)).sum()),
                not size / 2 <= share <= 1.5 * size,
                int((present & (held == 0)).sum()),
                abs(share - size),
            )
            if best_score is None or score < best_score:
                best_score, best = score, combo
    held_rows = np.zeros(len(pool), dtype=bool)
    held_rows[np.concatenate([folds[i] for i in best])] = True
    return np.sort(pool[~held_rows]), np.sort(pool[held_rows])


def group_split_indices(
    y: np.ndarray, groups: np.ndarray, test_size: float, val_size: float, seed: int
) -> dict[str, np.ndarray]:
    """Train/val/test row indices with every group on one side only (test first, then validation carved from
    training, both by group: :func:`_hold_out_groups`). Rows of group -1 (no key) are groups of their own."""
    groups = groups.copy()
    keyless = groups < 0
    groups[keyless] = groups.max(initial=-1) + 1 + np.arange(int(keyless.sum()))
    rest, test = _hold_out_groups(np.arange(len(y)), y, groups, test_size, seed)
    train, val = _hold_out_groups(rest, y, groups, val_size, seed)
    return {"train": train, "val": val, "test": test}


def time_split_indices(start: np.ndarray, test_size: float, val_size: float) -> dict[str, np.ndarray]:
    """Train/val/test row indices in time order: test = the latest ``test_size`` of the rows, validation = the
    latest ``val_size`` of the rest, training = the earliest (ties keep the rows' order)."""
    order = np.argsort(start, kind="stable")
    n_test = min(max(1, int(round(len(order) * test_size))), len(order) - 2)
    rest, test = order[: len(order) - n_test], order[len(order) - n_test :]
    n_val = min(max(1, int(round(len(rest) * val_size))), len(rest) - 1)
    train, val = rest[: len(rest) - n_val], rest[len(rest) - n_val :]
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def _carve(pool: np.ndarray, y: np.ndarray, size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, held_out)`` rows of ``pool``, stratified by class as far as the classes allow (classes with one
    row are stratified together, and stay in ``kept`` if alone)."""
    labels = y[pool].copy()
    counts = np.bincount(labels)
    lonely = counts[labels] < 2
    if lonely.any():
        labels[lonely] = -1 if lonely.sum() >= 2 else np.bincount(y[pool]).argmax()
    try:
        kept, held = train_test_split(pool, test_size=size, stratify=labels, random_state=seed)
    except ValueError:  # fewer held-out rows than classes: a plain random carve
        kept, held = train_test_split(pool, test_size=size, random_state=seed)
    return np.sort(kept), np.sort(held)


def choose_test_sources(stats: pd.DataFrame, test_size: float, seed: int) -> list[str]:
    """Held-out sources for ``SPLIT="source"`` without ``TEST_SOURCES``.

    ``stats``: per source (index) its ``benign`` and ``attack`` rows, and any further columns the rows per class
    (``class_0``, ``class_1`` ...). Of the proper subsets of sources (all of them up to 16 sources, else 20,000
    drawn at random), those that leave benign and attack rows on both sides are preferred (all subsets when none
    does); of these, those whose share of rows is within :data:`SOURCE_SHARE_TOLERANCE` of the closest to
    ``test_size``; of these, those that leave the fewest classes without a training row; among them one is drawn
    with ``seed``.
    """
    n = len(stats)
    if n < 2:
        raise datasets.DataError(
            f"SPLIT='source' needs at least two capture files (or days); the data has {n}: {list(stats.index)}. "
            f"Fix: add files, or use SPLIT='stratified', 'group' or 'time'"
        )
    rng = np.random.default_rng(seed)
    width = min(n, 62)
    masks = np.arange(1, 2**n - 1, dtype=np.int64) if n <= 16 else rng.integers(1, 2**width - 1, size=20_000)
    member = ((masks[:, None] >> np.arange(width)) & 1).astype(np.int64)
    member = np.hstack([member, np.zeros((len(masks), n - width), dtype=np.int64)])  # sources past 62: training
    rows = stats[["benign", "attack"]].sum(axis=1).to_numpy(dtype=np.int64)
    benign, attack = (stats[k].to_numpy(dtype=np.int64) for k in ("benign", "attack"))
    held_benign, held_attack = member @ benign, member @ attack
    both_sides = (held_benign > 0) & (held_attack > 0) & (held_benign < benign.sum()) & (held_attack < attack.sum())
    if not both_sides.any():
        log.warning("SPLIT='source': no choice of held-out sources leaves benign and attack rows on both sides")
        both_sides[:] = True
    error = np.abs(member @ rows / rows.sum() - test_size)
    error[~both_sides] = np.inf
    near = error <= error.min() + SOURCE_SHARE_TOLERANCE
    per_class = stats[[c for c in stats.columns if c not in ("benign", "attack")]].to_numpy(dtype=np.int64)
    total = per_class.sum(axis=0)
    untrained = ((member @ per_class == total) & (total > 0)).sum(axis=1) if per_class.size else np.zeros(len(masks))
    best = np.flatnonzero(near & (untrained == untrained[near].min()))
    chosen = member[rng.choice(best)].astype(bool)
    return [str(s) for s, held_out in zip(stats.index, chosen, strict=True) if held_out]


def _match_sources(names: tuple[str, ...], sources: pd.Series, files: pd.Series | None) -> list[str]:
    """The sources that ``TEST_SOURCES`` names: a source's name, one of its files, or a folder or file name of one
    (case-insensitive). A name matching none is a :class:`DataError` listing the sources."""
    pairs = pd.DataFrame({"source": sources.astype(str), "file": (files if files is not None else sources).astype(str)})
    pairs = pairs.drop_duplicates()
    aliases: dict[str, set[str]] = {}
    for source, file in pairs.itertuples(index=False):
        for alias in (source, file, *file.split("/")):
            aliases.setdefault(alias.lower(), set()).add(source)
    unknown = [n for n in names if n.lower() not in aliases]
    if unknown:
        raise datasets.DataError(
            f"TEST_SOURCES names {unknown}, which are neither sources nor files of the data. The sources are: "
            f"{sorted(pairs['source'].unique())}. Fix: name some of them (comma-separated), or leave TEST_SOURCES "
            f"empty for an automatic choice"
        )
    return sorted({s for n in names for s in aliases[n.lower()]})


def source_split_indices(
    sources: pd.Series,
    y: np.ndarray,
    is_attack: np.ndarray,
    cfg: PrepConfig,
    files: pd.Series | None = None,
    groups: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], list[str], str]:
    """Train/val/test row indices with whole sources held out for testing (``cfg.test_sources``, else
    :func:`choose_test_sources`), the held-out sources, and how the validation rows were carved from the training
    sources: by group where ``groups`` (:func:`group_keys`; -1: no key, a group of its own) give the training
    rows at least two groups (:func:`_hold_out_groups`: a host pair's flows are never on both sides of the
    early stopping and the thresholds), else row by row, stratified (:func:`_carve`)."""
    sources = sources.astype(str).reset_index(drop=True)
    if [s.lower() for s in cfg.test_sources] == [EACH_SOURCE]:
        raise datasets.DataError(
            f"TEST_SOURCES={EACH_SOURCE!r} holds every source out in turn, one run per source: the runner makes "
            f"those runs (python -m lib.runner --dataset ... -p SPLIT source -p TEST_SOURCES {EACH_SOURCE}). "
            f"Fix: run it through the runner, or name the held-out source(s) here"
        )
    if cfg.test_sources:
        test_sources = _match_sources(cfg.test_sources, sources, files)
    else:
        attack = pd.Series(np.asarray(is_attack, dtype=np.int64))
        stats = pd.crosstab(sources, attack).reindex(columns=[0, 1], fill_value=0)
        stats.columns = ["benign", "attack"]
        classes = pd.crosstab(sources, pd.Series(y)).add_prefix("class_")
        test_sources = choose_test_sources(stats.join(classes), cfg.test_size, cfg.seed)
    held = sources.isin(test_sources).to_numpy()
    if held.all():
        raise datasets.DataError(
            f"TEST_SOURCES={','.join(cfg.test_sources)!r} holds out every source ({test_sources}): nothing is left "
            f"to train on. Fix: name fewer sources"
        )
    pool = np.flatnonzero(~held)
    if groups is not None:
        groups = groups.copy()
        keyless = groups < 0
        groups[keyless] = groups.max(initial=-1) + 1 + np.arange(int(keyless.sum()))
    if groups is not None and len(np.unique(groups[pool])) >= 2:
        train, val = _hold_out_groups(pool, y, groups, cfg.val_size, cfg.seed)
        how = "by group"
    else:
        train, val = _carve(pool, y, cfg.val_size, cfg.seed)
        how = "row by row (no host pair or conversation key)"
    return {"train": train, "val": val, "test": np.flatnonzero(held)}, test_sources, how


def _iso(value: pd.Timestamp) -> str:
    return pd.Timestamp(value).isoformat(timespec="seconds")


def _values_at(values: pd.Series | np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``np.asarray(values, dtype=object)[rows]`` without an object per row of ``values`` (a categorical is read
    by its codes)."""
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        return np.asarray(pd.Series(values).iloc[np.flatnonzero(rows)], dtype=object)
    return np.asarray(values, dtype=object)[rows]


def _value_counts(codes: np.ndarray, names: tuple[str, ...]) -> dict[str, int]:
    """``{name: rows}`` of the codes ``codes`` (of ``names``) as pandas' ``value_counts`` orders the names' texts
    (most rows first, a tie in the order of first appearance), from the codes alone."""
    present, first, counts = np.unique(codes[codes >= 0], return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    return {names[present[k]]: int(counts[k]) for k in order}


def describe_split(
    idx: dict[str, np.ndarray],
    kind: str,
    groups: np.ndarray | None = None,
    group_columns: list[str] | None = None,
    start: pd.Series | None = None,
    time_column: str | None = None,
    sources: pd.Series | None = None,
    source_found: pd.Series | None = None,
    files: pd.Series | None = None,
    time_how: str | None = None,
    time_repairs: list[dict] | None = None,
) -> dict[str, Any]:
    """What a split did, for ``meta.json`` and :meth:`PrepReport.split_table`: its kind; with ``groups`` (-1: no
    key) the group columns, the number of groups per split, how many of them a split shares with training and
    the rows without a key; with ``start`` times the time column, how it was read (``time_how``), the values
    whose reading was repaired (``time_repairs``: CICIDS2017's afternoon hours), the time range per split and
    the rows with a time; with ``sources`` the sources of each split and, with ``source_found``
    (:func:`lib.datasets.schema.capture_sources`), how the rows' sources were found per split, the rows whose
    day came from their start time (per file of ``files``) and the files that stayed sources of their own. Any
    split kind can be described by any key: a stratified split shares host pairs and time with its test rows,
    and this says how many."""
    info: dict[str, Any] = {"kind": kind}
    if groups is not None:
        present = {s: set(np.unique(groups[i][groups[i] >= 0]).tolist()) for s, i in idx.items()}
        info["group_columns"] = list(group_columns or [])
        info["groups"] = {s: len(g) for s, g in present.items()}
        info["groups_shared_with_train"] = {s: len(g & present["train"]) for s, g in present.items() if s != "train"}
        info["rows_without_group"] = int((groups < 0).sum())
    if start is not None:
        info["time_column"] = time_column
        info["time_read_as"] = time_how
        info["time_values_repaired"] = {n["file"]: n["count"] for n in time_repairs or []}  # file -> values
        info["time_range"] = {}
        info["rows_with_time"] = {}
        for s, i in idx.items():
            part = start.iloc[i].dropna()
            info["time_range"][s] = [_iso(part.min()), _iso(part.max())] if len(part) else None
            info["rows_with_time"][s] = len(part)
    if sources is not None:
        info["sources"] = {s: sorted(map(str, sources.iloc[i].unique())) for s, i in idx.items()}
    if sources is not None and source_found is not None:
        found = np.asarray(pd.Categorical(source_found, categories=schema.FOUND_BY).codes)  # codes, not texts
        info["sources_found_by"] = {s: _value_counts(found[i], schema.FOUND_BY) for s, i in idx.items()}
        by_time = found == schema.FOUND_BY.index("start time")
        info["rows_with_day_from_time"] = int(by_time.sum())
        if files is not None:
            counts = pd.Series(_values_at(files, by_time)).value_counts()
            info["day_from_time"] = {str(f): int(n) for f, n in counts.sort_index().items()}
        own = found == schema.FOUND_BY.index("own file")
        info["files_as_sources"] = sorted(map(str, pd.unique(_values_at(sources, own))))
    return info


def _group_split(
    df: pd.DataFrame, y: np.ndarray, cfg: PrepConfig
) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    """``SPLIT="group"``: the row indices per split, each row's group (:func:`group_keys`) and the group columns.
    More than :data:`MAX_SHARE_WITHOUT_KEY` of the rows without a key is a :class:`DataError`."""
    groups, group_columns = group_keys(df, cfg.group_columns)
    keyless = groups < 0
    if keyless.mean() > MAX_SHARE_WITHOUT_KEY:
        raise datasets.DataError(
            f"SPLIT='group': {keyless.sum():,} of {len(df):,} rows (from {_files_of(df, keyless)}) have no "
            f"value in {group_columns}, so their conversations cannot be kept apart. Fix: read only files that "
            f"have these columns (DATA_FILES; for CICIDS2017 the TrafficLabelling CSVs have addresses, the "
            f"MachineLearningCVE CSVs do not), name other GROUP_COLUMNS, or use SPLIT='source'"
        )
    if keyless.any():
        log.warning("SPLIT='group': %d rows without %s are groups of their own", keyless.sum(), group_columns)
    idx = group_split_indices(y, groups, cfg.test_size, cfg.val_size, cfg.seed)
    return idx, groups, group_columns


def _time_split(
    df: pd.DataFrame, y: np.ndarray, cfg: PrepConfig, report: PrepReport, time_notes: list[dict]
) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray], tuple[pd.Series, str, str]]:
    """``SPLIT="time"``: the frame and labels without the rows that lack a start time (more than
    :data:`MAX_SHARE_WITHOUT_KEY` of them is a :class:`DataError`), the row indices per split and the start
    times read (:func:`flow_start_times`, its repairs added to ``time_notes``). Fills ``report.rows_without_time``."""
    start, time_column, how = flow_start_times(df, time_notes)
    if start is None:
        raise datasets.DataError(
            f"SPLIT='time' needs each flow's start time, and no column gives it: {how}. Fix: use files with a "
            f"time column (Zeek ts, CICFlowMeter Timestamp, Argus stime), or SPLIT='source' (whole capture "
            f"files or days held out)"
        )
    missing = start.isna().to_numpy()
    if missing.mean() > MAX_SHARE_WITHOUT_KEY:
        raise datasets.DataError(
            f"SPLIT='time': {missing.sum():,} of {len(df):,} rows (from {_files_of(df, missing)}) have no start "
            f"time in {time_column!r} (the others read as {how}). Fix: read only files with times (DATA_FILES; "
            f"for CICIDS2017 the TrafficLabelling CSVs have a Timestamp, the MachineLearningCVE CSVs do not), "
            f"or use SPLIT='source'"
        )
    if missing.any():
        log.warning("SPLIT='time': %d rows without a start time in %r dropped", missing.sum(), time_column)
        df, y, start = df.loc[~missing].reset_index(drop=True), y[~missing], start[~missing].reset_index(drop=True)
    report.rows_without_time = int(missing.sum())
    idx = time_split_indices(start.to_numpy(), cfg.test_size, cfg.val_size)
    return df, y, idx, (start, time_column, how)


def _source_split(
    df: pd.DataFrame, y: np.ndarray, cfg: PrepConfig
) -> tuple[dict[str, np.ndarray], tuple[pd.Series, pd.Series], list[str], tuple[np.ndarray | None, list[str]], str]:
    """``SPLIT="source"``: the row indices per split, the rows' sources and how each was found
    (:func:`lib.datasets.schema.capture_sources`), the held-out sources, the rows' groups (:func:`group_keys`;
    ``None`` where the data has no key) by which the validation rows were carved, and how they were."""
    found = schema.capture_sources(df)
    if found is None:
        raise datasets.DataError(
            "SPLIT='source' needs the rows' source files (column source_file, which the loaders add). Fix: "
            "load the data with lib.datasets.load, or use another SPLIT"
        )
    try:
        groups, group_columns = group_keys(df, cfg.group_columns)
    except datasets.DataError:
        groups, group_columns = None, []
    idx, test_sources, how = source_split_indices(
        found[0], y, df["is_attack"].to_numpy(), cfg, df["source_file"], groups
    )
    log.info("SPLIT='source': held out %s; validation rows carved %s", test_sources, how)
    return idx, found, test_sources, (groups, group_columns), how


def _describe_by_every_key(
    df: pd.DataFrame,
    idx: dict[str, np.ndarray],
    cfg: PrepConfig,
    group_keys_found: tuple[np.ndarray | None, list[str]],
    start_times: tuple[pd.Series | None, str | None, str | None],
    found: tuple[pd.Series, pd.Series] | None,
    time_notes: list[dict],
    report: PrepReport,
) -> dict[str, Any]:
    """:func:`describe_split` of any split by every key the data has: the groups, start times and sources the
    split itself did not read are read here. Adds the repairs made in reading the start times to
    ``report.repairs``."""
    groups, group_columns = group_keys_found
    start, time_column, how = start_times
    if groups is None:
        try:
            groups, group_columns = group_keys(df, cfg.group_columns)
        except datasets.DataError:
            groups = None
    if start is None:
        start, time_column, how = flow_start_times(df, time_notes)
    if cfg.split != "source":
        found = schema.capture_sources(df)
    sources, source_found = found if found is not None else (None, None)
    report.repairs.extend(time_notes)
    return describe_split(
        idx,
        cfg.split,
        groups,
        group_columns,
        start,
        time_column,
        sources,
        source_found,
        df["source_file"] if "source_file" in df else None,
        how,
        time_notes,
    )


def split_rows(
    df: pd.DataFrame, y: np.ndarray, cfg: PrepConfig, report: PrepReport
) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray], list[str]]:
    """The ``cfg.split`` of ``df``'s rows into train/val/test (see :mod:`lib.preprocess`). Returns the frame and
    labels (``SPLIT="time"`` drops the few rows without a start time), the row indices per split and the
    columns the split used (never features). Fills ``report.split`` (:func:`describe_split`) and
    ``report.rows_without_time``, and adds the repairs made in reading the start times to ``report.repairs``."""
    groups = found = None
    group_columns: list[str] = []
    start_times: tuple[pd.Series | None, str | None, str | None] = (None, None, None)
    time_notes: list[dict] = []  # repairs made in reading the start times
    used: list[str] = []
    if cfg.split == "group":
        idx, groups, group_columns = _group_split(df, y, cfg)
        used = group_columns
    elif cfg.split == "time":
        df, y, idx, start_times = _time_split(df, y, cfg, report, time_notes)
        used = [start_times[1]]
    elif cfg.split == "source":
        idx, found, test_sources, (groups, group_columns), validation_how = _source_split(df, y, cfg)
    else:
        idx = split_indices(y, cfg.test_size, cfg.val_size, cfg.seed)
    report.split = _describe_by_every_key(df, idx, cfg, (groups, group_columns), start_times, found, time_notes, report)
    if cfg.split == "source":
        report.split["test_sources"] = test_sources
        columns = "/".join(group_columns)
        report.split["validation_carved"] = f"{validation_how} ({columns})" if groups is not None else validation_how
    return df, y, idx, used
