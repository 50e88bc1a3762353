"""The fitted column transformer of notebook 01 (impute, scale, one-hot encode) and its skops file.

The transformer's functions are stored in a skops file by their qualified names: :data:`SKOPS_TYPES` lists
them, and :func:`load_preprocessor` refuses a file that holds any other type.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
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

    The scaled numeric block is cast before the ``ColumnTransformer`` stacks it with the (float32) one-hot
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


NUMERIC_BLOCK = 8  # numeric columns per fitted block of the preprocessor (see build_preprocessor)


def build_preprocessor(
    numeric: list[str],
    categorical: list[str],
    max_categories: int = 32,
    scaling: str = "minmax",
    category_columns: list[str] | tuple[str, ...] = (),
    seed: int = 0,
    n_rows: int | None = None,
) -> ColumnTransformer:
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
    return ColumnTransformer([part for part in parts if part[2]], verbose_feature_names_out=False)


TRANSFORM_BATCH = 131_072  # rows per call of the fitted preprocessor when writing the prepared arrays


def transform_rows(
    pre: ColumnTransformer, df: pd.DataFrame, rows: np.ndarray, columns: list[int], batch: int = TRANSFORM_BATCH
) -> np.ndarray:
    """``pre.transform(df.iloc[rows, columns])`` as float32, ``batch`` rows at a time into one array: every
    row is transformed on its own (fitted medians, scales and categories), so the result is the same as one
    call's, while the float64 working copies are those of one batch, not of the whole split."""
    out = None
    for start in range(0, len(rows), batch):
        part = pre.transform(df.iloc[rows[start : start + batch], columns])
        if out is None:
            out = np.empty((len(rows), part.shape[1]), dtype=np.float32)
        out[start : start + len(part)] = part
    if out is None:  # no row: the width from the fitted transformer
        out = np.empty((0, len(pre.get_feature_names_out())), dtype=np.float32)
    return out


def fit_rows(pre: ColumnTransformer, df: pd.DataFrame, rows: np.ndarray, columns: list[int]) -> np.ndarray:
    """Fit ``pre`` on ``df.iloc[rows, columns]`` (the training rows) and return their transform as float32.

    ``ColumnTransformer.fit`` transforms the rows anyway (it is ``fit_transform``, the output dropped), so the
    training matrix is kept from that one pass instead of being transformed a second time; each row's result
    is the fitted transform of that row, as :func:`transform_rows` gives it."""
    out = pre.fit_transform(df.iloc[rows, columns])
    return np.asarray(out, dtype=np.float32)


def _qualified_name(function: Any) -> str:
    return f"{function.__module__}.{function.__name__}"


#: Every type a saved preprocessor holds beyond skops' own defaults: the functions above, by qualified name,
#: and ``numpy.dtype`` (the one-hot encoder's). :func:`load_preprocessor` refuses any other.
SKOPS_TYPES = frozenset(
    {*map(_qualified_name, (inf_to_nan, to_float32, as_category_strings, signed_log1p)), "numpy.dtype"}
)
#: The same functions under the names preprocessors saved before ``lib.preprocess`` became a package hold
#: (``lib.preprocess`` keeps them importable), so a run trained then still loads and scores.
EARLIER_SKOPS_TYPES = frozenset(
    f"lib.preprocess._{function.__name__}" for function in (inf_to_nan, to_float32, as_category_strings, signed_log1p)
)


def save_preprocessor(preprocessor: ColumnTransformer, path: str | os.PathLike) -> Path:
    """Write the fitted preprocessor of :func:`build_preprocessor` to ``path`` (skops, atomically)."""
    return io.dump_skops(preprocessor, path)


def load_preprocessor(path: str | os.PathLike, data: bytes | None = None) -> ColumnTransformer:
    """The fitted preprocessor that :func:`save_preprocessor` wrote to ``path``. A file holding a type outside
    :data:`SKOPS_TYPES` (the earlier names of the same functions and skops' defaults aside) is refused with a
    ``ValueError``: it was not written by this code. ``data``: the file's bytes, already read and checked (a
    model folder's, :class:`lib.io.ModelFolder`); they are what is loaded, ``path`` only names the file."""
    return io.load_skops(path, trusted=SKOPS_TYPES | EARLIER_SKOPS_TYPES, data=data)
