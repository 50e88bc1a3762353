"""The parameters of :func:`lib.preprocess.prepare` and the names they choose from (notebook 01)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

BENIGN = "Benign"
OTHER_ATTACK = "OtherAttack"
SCALINGS = ("minmax", "log_minmax", "log_standard", "quantile")
SPLITS = ("stratified", "group", "time", "source")
SPLIT_NAMES = ("train", "val", "test")
#: ``DEDUP_DIGITS``: rows whose float features agree to this many significant digits are copies of one flow
#: (0: exactly). The loaders read numbers as float32, which keeps 7 to 8 significant digits. At eight digits the
#: CICIDS2017 mirror's redistributions of one flow collapse (even when read as float64), and on none of the three
#: mirrors does a row merge that exact equality keeps apart; seven already merges different flows (IoT-23 and
#: BoT-IoT durations a microsecond apart). Measurements: ``data/README.md``.
DEDUP_DIGITS = 8
#: ``DEDUP_CONFLICTS``: what becomes of copies with different labels: ``"majority"`` keeps one row of the
#: group's most common label (a tie drops the group), ``"drop"`` drops the whole group.
DEDUP_CONFLICT_RULES = ("majority", "drop")
DEDUP_CONFLICTS = "majority"
#: ``SPLIT="group"``/``"time"``: the largest share of rows that may lack a group key / a start time (they
#: become groups of their own / are dropped, with a warning); more is a :class:`DataError`.
MAX_SHARE_WITHOUT_KEY = 0.01
#: ``SPLIT="source"`` without ``TEST_SOURCES``: the held-out sources are drawn (seeded) among the choices whose
#: share of rows is within this distance of the closest one to ``TEST_SIZE``.
SOURCE_SHARE_TOLERANCE = 0.05
#: ``TEST_SOURCES`` that holds every source out in turn (leave one capture out): one run per source, made by the
#: runner (``lib.runner``), never by notebook 01 alone.
EACH_SOURCE = "each"
_NAME_LISTS = ("drop_columns", "allow_columns", "category_columns", "group_columns", "test_sources")
_COLUMN_LISTS = ("drop_columns", "allow_columns", "category_columns", "group_columns")


@dataclass
class PrepConfig:
    """Parameters of :func:`prepare`; notebook 01 exposes each as an UPPER_CASE parameter."""

    label_mode: str = "binary"  # "binary" or "multiclass"
    dedup: bool = True  # one row per group of copies of a flow (features only), before splitting
    dedup_digits: int = DEDUP_DIGITS  # float features compared at this many significant digits (0: exactly)
    dedup_conflicts: str = DEDUP_CONFLICTS  # copies with different labels: "majority" or "drop"
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
    test_sources: tuple[str, ...] = ()  # split="source": held-out files or days (empty: automatic, seeded;
    # "each": every source in turn, one run per source, made by the runner)
    smote: bool = False  # paper 2: SMOTE on the training rows only (the balanced set D2)
    smote_k: int = 5
    sample_rows: int = 0  # 0 = all rows
    seed: int = 42

    def __post_init__(self) -> None:
        for name in _NAME_LISTS:  # "a, b" or ["a", "b"] -> ("a", "b"); column names in Unicode NFC, as the
            value = getattr(self, name)  # readers read a header (a name typed with a decomposed é matches)
            items = value.split(",") if isinstance(value, str) else value
            form = (lambda c: unicodedata.normalize("NFC", c)) if name in _COLUMN_LISTS else str
            setattr(self, name, tuple(form(str(c).strip()) for c in items if str(c).strip()))
        if self.scaling not in SCALINGS:
            raise ValueError(f"SCALING must be one of {', '.join(SCALINGS)}, not {self.scaling!r}")
        if self.dedup_conflicts not in DEDUP_CONFLICT_RULES:
            raise ValueError(
                f"DEDUP_CONFLICTS must be one of {', '.join(DEDUP_CONFLICT_RULES)}, not {self.dedup_conflicts!r}"
            )
        if not 0 <= self.dedup_digits <= 15:
            raise ValueError(f"DEDUP_DIGITS must be 0 (exact) to 15 significant digits, not {self.dedup_digits!r}")
        if self.split not in SPLITS:
            raise ValueError(f"SPLIT must be one of {', '.join(SPLITS)}, not {self.split!r}")

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> PrepConfig:
        """From notebook 01's parameters: each field is the parameter of the same name in upper case (lists of
        names as comma-separated text)."""
        return cls(**{f: parameters[f.upper()] for f in cls.__dataclass_fields__ if f.upper() in parameters})
