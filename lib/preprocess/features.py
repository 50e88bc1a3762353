"""The fitted column transformer of notebook 01 (impute, scale, one-hot encode) and its skops file.

The transformer's functions are stored in a skops file by their qualified names: :data:`SKOPS_TYPES` lists
them, and :func:`load_preprocessor` refuses a file that holds any other type.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, QuantileTransformer, StandardScaler

from lib import io
from lib.preprocess.config import SCALINGS


def inf_to_nan(X: Any) -> np.ndarray:
    """A fresh float64 copy of ``X`` with every ``+/-inf`` made NaN (the imputer fills it next).

    The copy is made here, then changed in place: the imputer and scaler after it work in place on this copy
    too."""
    X = np.array(X, dtype=np.float64)
    X[np.isinf(X)] = np.nan
    return X


def to_float32(X: Any) -> np.ndarray:
    """``X`` as float32, the dtype of the prepared arrays.

    The scaled numeric block is cast before the preprocessor stacks it with the (float32) one-hot
    block, instead of stacking in float64 and casting the whole matrix after."""
    return np.asarray(X, dtype=np.float32)


def as_category_strings(X: Any) -> np.ndarray:
    """The values of ``X`` as text for the one-hot encoder, a missing value as ``"(unset)"``."""
    frame = pd.DataFrame(X)
    return frame.astype(object).where(frame.notna(), "(unset)").astype(str).to_numpy()


def signed_log1p(X: Any) -> np.ndarray:
    """``sign(x) * log1p(|x|)`` of the imputed float64 copy: heavy tails shrink, zero stays zero, signs are
    kept."""
    return np.copysign(np.log1p(np.abs(X)), X)


def _numeric_steps(scaling: str, seed: int, n_rows: int | None) -> list[tuple[str, Any]]:
    """The scaling steps of :func:`build_preprocessor` for ``scaling`` (one of :data:`SCALINGS`)."""
    log1p = ("signed_log1p", FunctionTransformer(signed_log1p, feature_names_out="one-to-one"))
    if scaling == "minmax":
        return [("minmax", MinMaxScaler(copy=False))]
    if scaling == "log_minmax":
        return [log1p, ("minmax", MinMaxScaler(copy=False))]
    if scaling == "log_standard":
        return [log1p, ("standard", StandardScaler(copy=False))]
    if scaling == "quantile":
        quantiles = min(1000, n_rows) if n_rows else 1000
        return [("quantile", QuantileTransformer(n_quantiles=quantiles, random_state=seed, copy=False))]
    raise ValueError(f"SCALING must be one of {', '.join(SCALINGS)}, not {scaling!r}")


def _one_hot(max_categories: int) -> Pipeline:
    return Pipeline(
        [
            ("unset", FunctionTransformer(as_category_strings, feature_names_out="one-to-one")),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=max_categories,
                    sparse_output=False,
                    dtype=np.float32,
                ),
            ),
        ]
    )


NUMERIC_BLOCK = 4  # numeric columns per fitted block of the preprocessor (see build_preprocessor)


class ColumnPipelines:
    """Fitted scikit-learn pipelines, each over its own columns, their outputs side by side in float32: what
    scikit-learn's ``ColumnTransformer`` with ``verbose_feature_names_out=False`` computes from the same
    pipelines (the same values and names, bit for bit: ``tests/test_prepare_positions.py``), fitted one pipeline at a
    time on the training rows of a frame (:meth:`fit_rows`), so that no copy of every training row is made.

    ``transformers`` lists ``(name, pipeline, columns)``; once fitted, ``transformers_`` lists the same, fitted
    (as a ``ColumnTransformer`` names them). :meth:`transform` takes a frame with (at least) the fitted columns,
    or an array of them in the order of ``feature_names_in_``."""

    def __init__(self, transformers: list[tuple[str, Any, list[str]]]):
        self.transformers = [(name, part, list(columns)) for name, part, columns in transformers]

    @property
    def named_transformers_(self) -> dict[str, Any]:
        return {name: part for name, part, _ in self.transformers_}

    def fit_rows(self, df: pd.DataFrame, rows: np.ndarray) -> ColumnPipelines:
        """Fit each pipeline on its columns of the rows at positions ``rows`` of ``df`` (one block of columns
        copied at a time); returns ``self``."""
        features = list(dict.fromkeys(c for _, _, columns in self.transformers for c in columns))
        fitted, widths = [], []
        for name, part, columns in self.transformers:
            block = df.iloc[rows, [df.columns.get_loc(c) for c in columns]]
            part.fit(block)
            widths.append(len(part.get_feature_names_out(columns)))
            fitted.append((name, part, columns))
            del block
        self.transformers_ = fitted
        self.feature_names_in_ = np.asarray(features, dtype=object)
        self.n_features_in_ = len(features)
        names = self.get_feature_names_out()
        if len(set(names)) < len(names):
            repeated = sorted({n for n in names if list(names).count(n) > 1})
            raise ValueError(f"the preprocessor's output names repeat: {repeated}")
        self.widths_ = widths
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = [n for _, part, columns in self.transformers_ for n in part.get_feature_names_out(columns)]
        return np.asarray(names, dtype=object)

    def transform(self, X: Any) -> np.ndarray:
        """The fitted parts' outputs side by side, float32. The numeric parts that impute and scale by per-column
        numbers (min-max or standard scaling, with or without the signed ``log1p``) are computed in one pass over
        all their columns from those numbers (:meth:`_numeric_plan`): the operations each part's steps make, in
        the same order and float64, so the same bits (tested against the parts' own ``transform``), without a
        call of each step of each part (which dominated a small batch)."""
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X), columns=list(self.feature_names_in_))
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"the rows lack {len(missing)} column(s) the preprocessor was fitted on: {missing}")
        out = np.empty((len(X), sum(self.widths_)), dtype=np.float32)
        plan = self._numeric_plan() if len(X) else None
        if plan is not None:
            values = np.array(X[plan.columns], dtype=np.float64)  # as inf_to_nan copies
            values[np.isinf(values)] = np.nan
            missing_at = np.isnan(values)
            if missing_at.any():  # as the imputer fills: each column's training median
                values[missing_at] = np.broadcast_to(plan.fill, values.shape)[missing_at]
            if plan.log:
                values = signed_log1p(values)
            if plan.kind == "minmax":  # MinMaxScaler.transform
                values *= plan.scale
                values += plan.shift
            else:  # StandardScaler.transform
                values -= plan.shift
                values /= plan.scale
            out[:, plan.positions] = values.astype(np.float32)
        done = set(plan.parts) if plan is not None else set()
        start = 0
        for i, ((_, part, columns), width) in enumerate(zip(self.transformers_, self.widths_, strict=True)):
            if i not in done:
                out[:, start : start + width] = part.transform(X[columns])
            start += width
        return out

    def _numeric_plan(self) -> NumericPlan | None:
        """The numeric parts :meth:`transform` computes in one pass (:class:`NumericPlan`), made once and kept out
        of the saved file; None when no part qualifies. A part qualifies when its steps are ``inf_to_nan``,
        ``median`` (every column with a finite median, no indicator), optionally ``signed_log1p``, ``minmax`` (no
        clipping) or ``standard``, then ``float32``, all parts of one kind."""
        if "_plan" in self.__dict__:
            return self._plan
        parts, columns, positions, fill, scale, shift, kinds = [], [], [], [], [], [], set()
        start = 0
        for i, ((_, part, cols), width) in enumerate(zip(self.transformers_, self.widths_, strict=True)):
            kind = _scaling_kind(part)
            if kind is not None and width == len(cols):
                steps = part.named_steps
                scaler = steps[kind[1]]
                parts.append(i)
                columns += list(cols)
                positions += list(range(start, start + width))
                fill.append(np.asarray(steps["median"].statistics_, dtype=np.float64))
                if kind[1] == "minmax":
                    scale.append(scaler.scale_)
                    shift.append(scaler.min_)
                else:
                    scale.append(scaler.scale_ if scaler.with_std else np.ones(width))
                    shift.append(scaler.mean_ if scaler.with_mean else np.zeros(width))
                kinds.add(kind)
            start += width
        self._plan = None
        if parts and len(kinds) == 1:
            ((log, kind_name),) = kinds
            self._plan = NumericPlan(
                parts,
                columns,
                np.asarray(positions),
                np.concatenate(fill),
                log,
                np.concatenate(scale).astype(np.float64),
                np.concatenate(shift).astype(np.float64),
                kind_name,
            )
        return self._plan

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_plan"}


class NumericPlan(NamedTuple):
    """The numeric parts of a :class:`ColumnPipelines` computed in one pass: which parts, their input columns,
    output positions, imputed values (the training medians), whether the signed ``log1p`` applies, the scaler's
    two vectors (min-max: ``scale_`` and ``min_``; standard: ``scale_`` and ``mean_``) and its kind."""

    parts: list[int]
    columns: list[str]
    positions: np.ndarray
    fill: np.ndarray
    log: bool
    scale: np.ndarray
    shift: np.ndarray
    kind: str


def _scaling_kind(part: Any) -> tuple[bool, str] | None:
    """``(with the signed log1p, "minmax" or "standard")`` when ``part`` is a numeric pipeline of
    :func:`build_preprocessor` that :meth:`ColumnPipelines.transform` computes from its numbers; else None."""
    names = [name for name, _ in getattr(part, "steps", [])]
    log = "signed_log1p" in names
    for kind in ("minmax", "standard"):
        expected = ["inf_to_nan", "median", *(["signed_log1p"] if log else []), kind, "float32"]
        if names != expected:
            continue
        imputer, scaler = part.named_steps["median"], part.named_steps[kind]
        if getattr(imputer, "add_indicator", False) or not np.isfinite(imputer.statistics_).all():
            return None
        if kind == "minmax" and getattr(scaler, "clip", False):
            return None
        return log, kind
    return None


def build_preprocessor(
    numeric: list[str],
    categorical: list[str],
    max_categories: int = 32,
    scaling: str = "minmax",
    category_columns: list[str] | tuple[str, ...] = (),
    seed: int = 0,
    n_rows: int | None = None,
) -> ColumnPipelines:
    """inf -> NaN, median imputation, scaling (numeric); one-hot encoding (categorical, and the numeric
    ``category_columns`` once more, as categories: at most ``max_categories`` columns each, rarer values
    ``infrequent``).

    ``scaling``: ``minmax`` (paper 1), ``log_minmax`` / ``log_standard`` (sign-preserving ``log1p`` after the
    imputation, then min-max or standard scaling), ``quantile`` (scikit-learn's ``QuantileTransformer`` to a
    uniform [0, 1], at most 1,000 quantiles or ``n_rows``, subsampled with ``seed``). Numeric columns are scaled
    in float64 (on one private copy, in place) and handed on as float32, so the transformer outputs float32,
    the dtype of the prepared arrays.
    """

    def numeric_steps() -> Pipeline:
        return Pipeline(
            [
                ("inf_to_nan", FunctionTransformer(inf_to_nan, feature_names_out="one-to-one")),
                ("median", SimpleImputer(strategy="median", copy=False)),
                *_numeric_steps(scaling, seed, n_rows),
                ("float32", FunctionTransformer(to_float32, feature_names_out="one-to-one")),
            ]
        )

    # Every step works column by column, so the numeric columns are fitted and transformed in blocks of
    # NUMERIC_BLOCK: the float64 working copies are those of one block, not of every numeric column at once
    # (the same output, in the same column order; the first block keeps the name "num").
    blocks = [numeric[i : i + NUMERIC_BLOCK] for i in range(0, len(numeric), NUMERIC_BLOCK)]
    parts = [("num" if i == 0 else f"num_{i + 1}", numeric_steps(), block) for i, block in enumerate(blocks)]
    parts += [
        ("cat", _one_hot(max_categories), categorical),
        ("num_cat", _one_hot(max_categories), list(category_columns)),
    ]
    return ColumnPipelines([part for part in parts if part[2]])


TRANSFORM_BATCH = 131_072  # rows per call of the fitted preprocessor when writing the prepared arrays


def transform_rows(
    pre: Any,
    df: pd.DataFrame,
    rows: np.ndarray,
    columns: list[int],
    batch: int = TRANSFORM_BATCH,
    out: Callable[[tuple[int, int]], Any] | None = None,
) -> np.ndarray:
    """``pre.transform(df.iloc[rows, columns])`` as float32, ``batch`` rows at a time: every row is transformed
    on its own (fitted medians, scales and categories), so the result is the same as one call's, while the
    working copies are those of one batch, not of the whole split. ``out(shape)``: where the rows go (an
    :class:`ArrayFile` that writes each batch to disk as it comes); a new array in memory if not given."""
    width = len(pre.get_feature_names_out())
    target = out((len(rows), width)) if out is not None else np.empty((len(rows), width), dtype=np.float32)
    for start in range(0, len(rows), batch):
        part = pre.transform(df.iloc[rows[start : start + batch], columns])
        target[start : start + len(part)] = part
    return target.close() if isinstance(target, ArrayFile) else target


class ArrayFile:
    """A ``.npy`` file of a known shape and dtype written in consecutive slices (``f[a:b] = rows``) with plain
    file writes: the rows go to disk as they come and never stay in this process's memory (a memory map would
    keep every written page resident). :meth:`close` checks that every row was written and returns the file as
    a read-only memory map."""

    def __init__(self, path: str | os.PathLike, shape: tuple[int, ...], dtype: Any = np.float32):
        self.path, self.shape, self.dtype = Path(path), tuple(shape), np.dtype(dtype)
        self._fh = open(self.path, "wb")  # noqa: SIM115 (closed by close())
        np.lib.format.write_array_header_1_0(
            self._fh, {"descr": self.dtype.str, "fortran_order": False, "shape": self.shape}
        )
        self._rows = 0

    def __setitem__(self, key: slice, values: np.ndarray) -> None:
        if not isinstance(key, slice) or key.start != self._rows or key.step not in (None, 1):
            raise ValueError(f"{self.path}: rows are written in order, from row {self._rows}, not at {key}")
        values = np.ascontiguousarray(values, dtype=self.dtype)
        if values.shape[1:] != self.shape[1:] or self._rows + len(values) > self.shape[0]:
            raise ValueError(f"{self.path}: rows of shape {values.shape} do not fit an array of shape {self.shape}")
        self._fh.write(values.tobytes())
        self._rows += len(values)

    def close(self) -> np.ndarray:
        self._fh.close()
        if self._rows != self.shape[0]:
            raise ValueError(f"{self.path}: {self._rows} of {self.shape[0]} rows written")
        if self.shape[0] == 0:
            return np.load(self.path)
        return np.load(self.path, mmap_mode="r")


def _qualified_name(function: Any) -> str:
    return f"{function.__module__}.{function.__name__}"


#: Every type a saved preprocessor holds beyond skops' own defaults: the functions above, by qualified name,
#: and ``numpy.dtype`` (the one-hot encoder's). :func:`load_preprocessor` refuses any other.
SKOPS_TYPES = frozenset(
    {
        *map(_qualified_name, (inf_to_nan, to_float32, as_category_strings, signed_log1p)),
        f"{ColumnPipelines.__module__}.{ColumnPipelines.__qualname__}",
        "numpy.dtype",
    }
)
#: The same functions under the names preprocessors saved before ``lib.preprocess`` became a package hold
#: (``lib.preprocess`` keeps them importable), so a run trained then still loads and scores.
EARLIER_SKOPS_TYPES = frozenset(
    f"lib.preprocess._{function.__name__}" for function in (inf_to_nan, to_float32, as_category_strings, signed_log1p)
)


def save_preprocessor(preprocessor: Any, path: str | os.PathLike) -> Path:
    """Write the fitted preprocessor of :func:`build_preprocessor` to ``path`` (skops, atomically)."""
    return io.dump_skops(preprocessor, path)


def load_preprocessor(path: str | os.PathLike, data: bytes | None = None) -> Any:
    """The fitted preprocessor that :func:`save_preprocessor` wrote to ``path``. A file holding a type outside
    :data:`SKOPS_TYPES` (the earlier names of the same functions and skops' defaults aside) is refused with a
    ``ValueError``: it was not written by this code. ``data``: the file's bytes, already read and checked (a
    model folder's, :class:`lib.io.ModelFolder`); they are what is loaded, ``path`` only names the file. A run
    prepared before :class:`ColumnPipelines` existed holds scikit-learn's ``ColumnTransformer`` of the same
    pipelines, which loads and transforms as it did."""
    return io.load_skops(path, trusted=SKOPS_TYPES | EARLIER_SKOPS_TYPES, data=data)
