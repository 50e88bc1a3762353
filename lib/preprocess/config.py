"""The parameters of :func:`lib.preprocess.prepare` and the names they choose from (notebook 01)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BENIGN = "Benign"
OTHER_ATTACK = "OtherAttack"
SCALINGS = ("minmax", "log_minmax", "log_standard", "quantile")
SPLITS = ("stratified", "group", "time", "source")
SPLIT_NAMES = ("train", "val", "test")
#: ``SPLIT="group"``/``"time"``: the largest share of rows that may lack a group key / a start time (they
#: become groups of their own / are dropped, with a warning); more is a :class:`DataError`.
MAX_SHARE_WITHOUT_KEY = 0.01
#: ``SPLIT="source"`` without ``TEST_SOURCES``: the held-out sources are drawn (seeded) among the choices whose
#: share of rows is within this distance of the closest one to ``TEST_SIZE``.
SOURCE_SHARE_TOLERANCE = 0.05
_NAME_LISTS = ("drop_columns", "allow_columns", "category_columns", "group_columns", "test_sources")


@dataclass
class PrepConfig:
    """Parameters of :func:`prepare`; notebook 01 exposes each as an UPPER_CASE parameter."""

    label_mode: str = "binary"  # "binary" or "multiclass"
    dedup: bool = True  # drop exact duplicate rows before splitting
    test_size: float = 0.2  # paper 1: stratified 80/20
    val_size: float = 0.1  # fraction of the training part held out for validation (early stopping)
    min_class_count: int = 30  # multiclass: families with fewer rows (after dedup) are merged or dropped
    rare_classes: str = "merge"  # "merge" into OtherAttack, or "drop"
    keep_identifiers: bool = False  # True leaks addresses/ports/times into the features
    drop_partial_columns: bool = True  # drop features absent from whole source files
    drop_columns: tuple[str, ...] = ()  # extra columns to leave out
    allow_columns: tuple[str, ...] = ()  # columns used as features although flagged (identifier, label leak)
    max_categories: int = 32  # one-hot: at most this many columns per categorical feature
    scaling: str = "minmax"  # numeric columns: minmax (paper 1), log_minmax, log_standard or quantile
    category_columns: tuple[str, ...] = ()  # numeric columns also one-hot encoded (values as categories)
    split: str = "stratified"  # stratified (paper 1), group, time or source
    group_columns: tuple[str, ...] = ()  # split="group": the columns that key a group (empty: automatic)
    test_sources: tuple[str, ...] = ()  # split="source": held-out files or days (empty: automatic, seeded)
    smote: bool = False  # paper 2: SMOTE on the training rows only (the balanced set D2)
    smote_k: int = 5
    sample_rows: int = 0  # 0 = all rows
    seed: int = 42

    def __post_init__(self) -> None:
        for name in _NAME_LISTS:  # "a, b" or ["a", "b"] -> ("a", "b")
            value = getattr(self, name)
            items = value.split(",") if isinstance(value, str) else value
            setattr(self, name, tuple(str(c).strip() for c in items if str(c).strip()))
        if self.scaling not in SCALINGS:
            raise ValueError(f"SCALING must be one of {', '.join(SCALINGS)}, not {self.scaling!r}")
        if self.split not in SPLITS:
            raise ValueError(f"SPLIT must be one of {', '.join(SPLITS)}, not {self.split!r}")

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> PrepConfig:
        """From notebook 01's parameters: each field is the parameter of the same name in upper case (lists of
        names as comma-separated text)."""
        return cls(**{f: parameters[f.upper()] for f in cls.__dataclass_fields__ if f.upper() in parameters})
