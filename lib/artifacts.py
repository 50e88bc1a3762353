"""What one notebook hands to the next, through ``RUN_DIR`` and nothing else.

Notebook 01 (``notebooks/01_data_preparation.ipynb``) writes a prepared data set with
:func:`save_prepared`; every later notebook reads it with :func:`load_prepared`. Layout of
``RUN_DIR/prepared/``::

    X_train.npy  y_train.npy      float32 features, int64 class ids (training rows, before SMOTE)
    X_val.npy    y_val.npy        validation rows, carved from the training part
    X_test.npy   y_test.npy       the held-out 20 % test rows
    X_train_smote.npy, y_train_smote.npy   only when SMOTE was asked for (training rows + synthetic)
    rows_train.parquet, rows_val.parquet, rows_test.parquet
                                  per-row labels (``label``, ``label_detail``, ``is_attack``) and the
                                  identifier columns, aligned with the arrays (never features)
    preprocessor.joblib           the fitted scikit-learn transformer (joblib: load only files you made)
    meta.json                     feature names, class names, label mode, row counts, parameters

This module does no computing of its own and imports neither TensorFlow nor scikit-learn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

PREPARED_SUBDIR = "prepared"
SPLITS = ("train", "val", "test")


@dataclass
class PreparedData:
    """Arrays and metadata of one prepared data set (see the module docstring for the files)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    class_names: list[str]
    label_mode: str
    rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    X_train_smote: np.ndarray | None = None
    y_train_smote: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of ``"train"``, ``"val"``, ``"test"`` or ``"train_smote"``."""
        if name == "train_smote":
            if self.X_train_smote is None:
                raise ValueError("this run was prepared without SMOTE: rerun notebook 01 with SMOTE=True")
            return self.X_train_smote, self.y_train_smote
        return getattr(self, f"X_{name}"), getattr(self, f"y_{name}")


def prepared_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / PREPARED_SUBDIR


def save_prepared(run_dir: str | Path, data: PreparedData, preprocessor: Any | None = None) -> Path:
    """Write ``data`` (and the fitted ``preprocessor``) under ``RUN_DIR/prepared/``; return that folder."""
    out = prepared_dir(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        X, y = data.split(split)
        np.save(out / f"X_{split}.npy", np.ascontiguousarray(X, dtype=np.float32))
        np.save(out / f"y_{split}.npy", np.asarray(y, dtype=np.int64))
        if split in data.rows:
            data.rows[split].to_parquet(out / f"rows_{split}.parquet", index=False)
    for stale in ("X_train_smote.npy", "y_train_smote.npy"):
        (out / stale).unlink(missing_ok=True)
    if data.X_train_smote is not None:
        np.save(out / "X_train_smote.npy", data.X_train_smote.astype(np.float32))
        np.save(out / "y_train_smote.npy", data.y_train_smote.astype(np.int64))
    if preprocessor is not None:
        joblib.dump(preprocessor, out / "preprocessor.joblib")
    meta = dict(data.meta)
    meta.update(
        feature_names=list(data.feature_names),
        class_names=list(data.class_names),
        label_mode=data.label_mode,
        has_smote=data.X_train_smote is not None,
    )
    (out / "meta.json").write_text(json.dumps(meta, indent=2, default=_json_default))
    return out


def load_prepared(run_dir: str | Path) -> PreparedData:
    """Read what :func:`save_prepared` wrote; a clear error if notebook 01 has not run for ``run_dir``."""
    src = prepared_dir(run_dir)
    if not (src / "meta.json").exists():
        raise FileNotFoundError(
            f"{src / 'meta.json'} not found: run notebooks/01_data_preparation.ipynb with RUN_DIR={run_dir!s} first"
        )
    meta = json.loads((src / "meta.json").read_text())
    arrays = {name: np.load(src / f"{name}.npy") for split in SPLITS for name in (f"X_{split}", f"y_{split}")}
    rows = {
        split: pd.read_parquet(src / f"rows_{split}.parquet")
        for split in SPLITS
        if (src / f"rows_{split}.parquet").exists()
    }
    smote = {}
    if meta.get("has_smote"):
        smote = {
            "X_train_smote": np.load(src / "X_train_smote.npy"),
            "y_train_smote": np.load(src / "y_train_smote.npy"),
        }
    return PreparedData(
        **arrays,
        **smote,
        feature_names=meta["feature_names"],
        class_names=meta["class_names"],
        label_mode=meta["label_mode"],
        rows=rows,
        meta=meta,
    )


def load_preprocessor(run_dir: str | Path) -> Any:
    """The fitted preprocessor of a run. joblib runs code on load: only load files your own run wrote."""
    return joblib.load(prepared_dir(run_dir) / "preprocessor.joblib")


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (numpy scalars and arrays converted); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, default=_json_default))
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
