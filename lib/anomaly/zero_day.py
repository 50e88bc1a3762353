"""The zero-day test in a space that never saw the held-out family: everything refitted per family.

For each held-out family, notebook 01's preprocessing is fitted again without the family's training and
validation rows (:meth:`lib.preprocess.HeldOutFrame.prepared_without`: features, imputer, scaler, one-hot
vocabulary), and in that space, per seed (:func:`zero_day_refit`):

* every benign-only detector of the grid is fitted again on the benign training rows and thresholded on the
  benign validation rows; each detector's setting and the anomaly branch are chosen on the validation rows of
  the OTHER families (:meth:`lib.anomaly.Comparison.choose`), or fall back to the grid's first setting where no
  other family has enough validation rows, and the tables say which (column ``chosen_on``);
* the supervised baselines are trained on the training rows without the family: XGBoost on the features
  (:func:`xgboost_attack_scorer`) and the decision fusion (:func:`lib.anomaly.fusion_attack_scorer`), each
  thresholded at the target FPR on the benign validation rows;
* recall is measured on the family's test flows (the run's own test rows, checked) and the false-positive rate
  on the benign test flows, at the target FPR (:attr:`ZeroDay.table`) and at every level of ``fpr_levels``
  (:attr:`ZeroDay.levels`, :func:`zero_day_by_detector`, :func:`zero_day_per_seed`).

No test row and no row of the held-out family reaches any fit, threshold or choice.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lib import baselines, fusion, metrics, models, preprocess, progress
from lib.anomaly.choice import Candidate, Choice, compare
from lib.anomaly.detectors import Training, benign_rows

#: A supervised fit of the zero-day test: ``fit(X_train, y_train, X_val, y_val, seed)`` returns a function giving
#: the attack score (1 - P(benign)) of rows.
SupervisedFit = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], Callable[[np.ndarray], np.ndarray]]

#: The supervised baselines' names: key in the wide table (``recall_<key>``) -> name in the long tables.
SUPERVISED_NAMES = {"supervised": "supervised fusion", "xgboost": "supervised XGBoost"}
#: The columns of :attr:`ZeroDay.levels`: one row per family, seed, model and FPR level.
LEVEL_COLUMNS = [
    "family",
    "seed",
    "detector",
    "kind",
    "candidate",
    "chosen_on",
    "fpr_target",
    "threshold",
    "val_fpr",
    "recall",
    "test_fpr",
    "n_test_family",
]
OVERALL = "overall (mean of families)"


# ------------------------------------------------------------------------------------------ the families
SPLITS = preprocess.SPLIT_NAMES


def family_counts(rows: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows per ``label`` (attack family or Benign) in each split: one column per split, 0 where none."""
    counts = {split: rows[split]["label"].astype(str).value_counts() for split in SPLITS}
    return pd.DataFrame(counts).fillna(0).astype(int)


def eligible_families(
    rows: dict[str, pd.DataFrame], y: dict[str, np.ndarray], min_family_rows: int
) -> tuple[list[str], pd.DataFrame]:
    """Attack families (``rows[split]["label"]`` of non-benign rows) that can be held out, and why others cannot.

    A family qualifies with at least ``min_family_rows`` test rows, at least one training row (otherwise it
    is unseen anyway) and at least one attack training row of another family (so a supervised model can
    still be trained without it).
    """
    labels = {split: rows[split]["label"].astype(str).to_numpy() for split in ("train", "test")}
    attack = {split: np.asarray(y[split]) != 0 for split in ("train", "test")}
    families = sorted(set(labels["train"][attack["train"]]) | set(labels["test"][attack["test"]]))
    table, keep = [], []
    for family in families:
        n_test = int((attack["test"] & (labels["test"] == family)).sum())
        n_train = int((attack["train"] & (labels["train"] == family)).sum())
        n_other = int((attack["train"] & (labels["train"] != family)).sum())
        if n_test < min_family_rows:
            reason = f"fewer than {min_family_rows} test rows"
        elif n_train == 0:
            reason = "no training rows (unseen already)"
        elif n_other == 0:
            reason = "the only attack family in training"
        else:
            reason = ""
            keep.append(family)
        table.append({"family": family, "n_train": n_train, "n_test": n_test, "held_out": not reason, "reason": reason})
    return keep, pd.DataFrame(table, columns=["family", "n_train", "n_test", "held_out", "reason"])


# ------------------------------------------------------------------------------------------ the supervised side
def fusion_attack_scorer(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    seed: int,
    *,
    n_classes: int,
    names: Sequence[str],
    deep: models.DeepConfig,
    inputs: str,
    k_folds: int,
    grid: Sequence[tuple[str, dict[str, Any]]],
    meta: str = "xgboost",
    max_train_rows: int = 0,
) -> Callable[[np.ndarray], np.ndarray]:
    """The supervised path of the zero-day test: :func:`lib.fusion.fit_fusion`, returned as an attack scorer.

    Use it through ``functools.partial`` as a :data:`SupervisedFit` of :class:`ZeroDaySetup` (key
    ``"supervised"``). A cheaper configuration than notebook 04's is fine here (e.g. the CNN-LSTM alone, an XGBoost
    meta-classifier and ``k_folds=3``), with the deep configuration of :func:`zero_day_deep_configs`;
    ``max_train_rows > 0`` fits on a stratified subsample of the training rows.
    """
    X_fit, y_fit = baselines.stratified_subsample(X_train, y_train, max_train_rows, seed)
    fitted = fusion.fit_fusion(
        X_fit,
        y_fit,
        X_val,
        y_val,
        n_classes=n_classes,
        names=names,
        deep=deep,
        inputs=inputs,
        k_folds=k_folds,
        grid=grid,
        seed=seed,
    )
    model = fitted.model(meta)
    return lambda X: metrics.attack_score(model.predict_proba(X))


def xgboost_attack_scorer(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    seed: int,
    *,
    n_classes: int,
    max_train_rows: int = 0,
    **hyperparameters: Any,
) -> Callable[[np.ndarray], np.ndarray]:
    """XGBoost on the features (:func:`lib.baselines.xgboost` with ``hyperparameters``: notebook 02's settings,
    its defaults where none are given) as an attack scorer, 1 - P(benign); ``max_train_rows > 0`` fits a stratified subsample. The
    validation rows are not read (no early stopping): they only set the threshold, outside."""
    X_fit, y_fit = baselines.stratified_subsample(X_train, y_train, max_train_rows, seed)
    model = baselines.fit(baselines.build("xgboost", seed, **hyperparameters), X_fit, y_fit)
    return lambda X: metrics.attack_score(baselines.predict_proba(model, X, n_classes))


def zero_day_deep_configs(
    info: Mapping[str, Any], parameters: Mapping[str, Any], names: Sequence[str]
) -> tuple[dict[str, models.DeepConfig], str]:
    """The deep models' configuration for the zero-day fusion, and how the fusion's settings were set, in words.

    Notebook 03 records its parameters cell (``info["config"]``) and each model's configuration (``info["configs"]``).
    Where those came from a hyperparameter search (``TUNE`` other than ``"off"``: a search, or the record of an
    earlier one), the search chose on validation rows that held the family now left out, so the zero-day test
    uses notebook 03's parameters cell instead, for every model: none of its values came from a search.
    """
    tune = str(parameters.get("TUNE", "off"))
    source = "meta-classifier grid chosen on validation rows without the family; deep models: "
    if tune == "off":
        configs = models.stage_configs(info)
        source += "notebook 03's configuration (its parameters cell, TUNE='off': no search)"
    else:
        configs = dict.fromkeys(names, models.DeepConfig.from_dict(info["config"]))
        source += (
            f"notebook 03's parameters cell, not its searched configurations (TUNE={tune!r}: that search chose on "
            "validation rows holding the family now left out)"
        )
    missing = [name for name in names if name not in configs]
    if missing:
        raise ValueError(
            f"notebook 03 trained {sorted(configs)}, not {missing}: set ZERO_DAY_DEEP_MODELS within those, or rerun "
            "notebook 03 with these models in DEEP_MODELS"
        )
    return {name: configs[name] for name in names}, source


def xgboost_basis(hyperparameters: Mapping[str, Any] | None = None) -> str:
    """How the zero-day XGBoost is set, in words: notebook 02's XGBoost settings ``hyperparameters`` (from
    :func:`lib.baselines.hyperparameters_from` of its parameters; None: :func:`lib.baselines.xgboost`'s defaults,
    which are also notebook 02's), so that it is Table 1's XGBoost trained without the family."""
    settings = {k: v.default for k, v in inspect.signature(baselines.xgboost).parameters.items()}
    settings |= dict(hyperparameters or {})
    return (
        f"notebook 02's settings ({settings['n_estimators']} trees, depth {settings['max_depth']}, learning rate "
        f"{settings['learning_rate']}), no choice; all training rows without the family"
    )


# ------------------------------------------------------------------------------------------ one family, one seed
@dataclass
class Scored:
    """One model of the zero-day test for one family and seed: ``name`` (a detector, ``"branch"``, or the supervised
    key), ``kind`` (``"benign-only"`` or ``"supervised"``), ``candidate`` (a detector's setting; empty for a
    supervised baseline), ``chosen_on`` (how it was set, in words), the threshold at the target FPR, and its scores
    on the benign validation rows and on the test rows."""

    name: str
    kind: str
    candidate: str
    chosen_on: str
    threshold: float
    val_scores: np.ndarray
    test_scores: np.ndarray


@dataclass
class ZeroDaySetup:
    """What every family's retraining uses: the seeds, the detectors' grid (:func:`zero_day_grid`), the supervised
    fits (key ``"supervised"``: the fusion; ``"xgboost"``) and how each one's settings were set (in words), the FPR
    levels of the long tables, what a detector with a single setting says of it, then the settings of
    :func:`lib.anomaly.compare` (the target FPR, the detectors' training, ...)."""

    seeds: list[int]
    grid: list[Candidate]
    supervised: dict[str, SupervisedFit]
    supervised_basis: dict[str, str]
    fpr_levels: list[float | str]
    single_setting: str
    target_fpr: float
    training: Training
    ae_hidden_units: int = 32
    knn_max_rows: int = 20_000
    min_choice_rows: int = 1

    def __post_init__(self) -> None:
        self.fpr_levels = [float(level) for level in self.fpr_levels]  # a notebook's comma-separated text, split


#: The zero-day test's detector grids (:func:`zero_day_grid`).
ZERO_DAY_GRIDS = ("grid", "first")


def zero_day_grid(grid: Sequence[Candidate], mode: str) -> tuple[list[Candidate], str]:
    """The detectors' grid of the zero-day test and what a detector with one setting says of it (``chosen_on``):
    ``"grid"`` every setting of ``grid`` (each chosen per family on the other families' validation rows), or
    ``"first"`` the first setting of each detector's grid alone (cheaper by the grid's size; a default, no choice).
    """
    if mode == "grid":
        return list(grid), "the only setting of its grid"
    if mode == "first":
        first: dict[str, Candidate] = {}
        for candidate in grid:
            first.setdefault(candidate.detector, candidate)
        return list(first.values()), "default: the first setting of its grid (ZERO_DAY_GRID='first')"
    raise ValueError(f"ZERO_DAY_GRID must be one of {ZERO_DAY_GRIDS}, not {mode!r}")


def _chosen_on(choice: Choice, grid: Sequence[Candidate], detector: str, single_setting: str) -> str:
    """How ``detector``'s setting (``"branch"``: the branch) was set in ``choice``, in words."""
    if detector != "branch" and sum(c.detector == detector for c in grid) == 1:
        return single_setting
    return choice.source


def _detectors(comparison, choice: Choice, seed: int, X: tuple[np.ndarray, np.ndarray], single: str) -> list[Scored]:
    """Each detector at its setting in ``choice`` and (name ``"branch"``) the branch, scored on ``X``: the benign
    validation rows and the test rows."""
    picked = choice.per_detector | {"branch": choice.branch}
    out = []
    for name, label in picked.items():
        detector, how = comparison.fitted[seed][label], _chosen_on(choice, comparison.grid, name, single)
        scores = (detector.score(X[0]), detector.score(X[1]))
        out.append(Scored(name, "benign-only", label, how, detector.threshold, *scores))
    return out


def _supervised(setup: ZeroDaySetup, X, y, seed: int, benign_val: np.ndarray) -> list[Scored]:
    """Each supervised model trained on the rows without the family, thresholded on the benign validation rows."""
    out = []
    for key, fit in setup.supervised.items():
        score = fit(X["train"], y["train"], X["val"], y["val"], seed)
        val_scores, test_scores = score(benign_val), score(X["test"])
        threshold = metrics.threshold_at_fpr(val_scores, setup.target_fpr)
        out.append(
            Scored(key, "supervised", "", setup.supervised_basis.get(key, ""), threshold, val_scores, test_scores)
        )
    return out


def _wide_row(scored: list[Scored], held_out: np.ndarray, benign: np.ndarray) -> dict[str, Any]:
    """The target-FPR columns of one family and seed: each model's threshold, recall and FPR, and the OR of the
    supervised fusion (key ``"supervised"``) with each detector."""
    flags = {s.name: s.test_scores > s.threshold for s in scored}
    row: dict[str, Any] = {}
    for s in scored:
        if s.kind == "supervised":
            row[f"threshold_{s.name}"] = s.threshold
        row[f"recall_{s.name}"] = float(flags[s.name][held_out].mean())
        row[f"fpr_{s.name}"] = float(flags[s.name][benign].mean())
    fusion = flags.get("supervised")
    for s in scored:
        if s.kind != "supervised" and fusion is not None:
            either = fusion | flags[s.name]
            row[f"recall_or_{s.name}"] = float(either[held_out].mean())
            row[f"fpr_or_{s.name}"] = float(either[benign].mean())
    return row


def _level_rows(scored: list[Scored], levels: Sequence[float], held_out: np.ndarray, benign: np.ndarray) -> list[dict]:
    """One row per model and FPR level: threshold on the benign validation scores, recall and test FPR."""
    out = []
    for s in scored:
        for level in levels:
            threshold = metrics.threshold_at_fpr(s.val_scores, level)
            flagged = s.test_scores > threshold
            out.append(
                {
                    "detector": SUPERVISED_NAMES.get(s.name, s.name) if s.kind == "supervised" else s.name,
                    "kind": s.kind,
                    "candidate": s.candidate,
                    "chosen_on": s.chosen_on,
                    "fpr_target": float(level),
                    "threshold": threshold,
                    "val_fpr": metrics.flag_rate(s.val_scores, threshold),
                    "recall": float(flagged[held_out].mean()),
                    "test_fpr": float(flagged[benign].mean()),
                    "n_test_family": int(held_out.sum()),
                }
            )
    return out


# ------------------------------------------------------------------------------------------ every family
@dataclass
class ZeroDay:
    """The zero-day test's tables: ``table`` one row per family and seed at the target FPR (``recall_supervised``
    the fusion, ``recall_xgboost``, ``recall_<detector>``, ``recall_branch``, ``recall_or_<detector>``: the fusion
    OR it; ``branch`` and ``chosen_on`` how the branch was chosen); ``levels`` one row per family, seed, model and
    FPR level; ``inputs`` per family, the preprocessing fitted without it beside the run's."""

    table: pd.DataFrame
    levels: pd.DataFrame
    inputs: pd.DataFrame


def _inputs_row(family: str, data: preprocess.PreparedData, run: preprocess.PreparedData) -> dict[str, Any]:
    """The refitted preprocessing of ``family`` beside the run's: rows, features, what differs."""
    ours, theirs = set(data.feature_names), set(run.feature_names)
    return {
        "family": family,
        "n_train_run": len(run.y_train),
        "n_train_without": len(data.y_train),
        "n_val_without": len(data.y_val),
        "n_test": len(data.y_test),
        "n_features_run": len(theirs),
        "n_features_without": len(ours),
        "features_only_in_run": ", ".join(sorted(theirs - ours)),
        "features_only_without": ", ".join(sorted(ours - theirs)),
        "test_rows_as_run": True,  # checked: _check_test_rows
    }


def _check_test_rows(family: str, data: preprocess.PreparedData, run: preprocess.PreparedData) -> None:
    """Refuse a refit whose test rows are not the run's (same class ids and row tables, in order)."""
    same = np.array_equal(data.y_test, run.y_test) and (
        "test" not in run.rows or not preprocess.row_table_difference(data.rows["test"], run.rows["test"])
    )
    if not same:
        raise ValueError(
            f"the preprocessing refitted without {family!r} does not give the run's test rows: the zero-day test "
            "would measure other rows. Fix: rerun notebook 01 and the notebooks after it (the data or the code "
            "changed since it ran)"
        )


def _one_family(
    family: str, data: preprocess.PreparedData, setup: ZeroDaySetup
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The wide and the long rows of one held-out family, every seed, in the space fitted without it."""
    X, y = data.arrays()
    comparison = compare(
        X, y, data.rows["val"]["label"], setup.seeds, setup.grid, target_fpr=setup.target_fpr, training=setup.training,
        ae_hidden_units=setup.ae_hidden_units, knn_max_rows=setup.knn_max_rows, min_choice_rows=setup.min_choice_rows,
    )  # fmt: skip
    label = data.rows["test"]["label"].astype(str).to_numpy()
    benign, benign_val = np.asarray(y["test"]) == 0, benign_rows(X["val"], y["val"])
    held_out = (label == family) & ~benign
    wide, long = [], []
    for seed in setup.seeds:
        choice = comparison.choose(exclude=family, seed=seed)
        detectors = _detectors(comparison, choice, seed, (benign_val, X["test"]), setup.single_setting)
        scored = _supervised(setup, X, y, seed, benign_val) + detectors
        head = {
            "family": family,
            "seed": seed,
            "n_test_family": int(held_out.sum()),
            "n_test_benign": int(benign.sum()),
        }
        head |= {"n_train_without": len(y["train"]), "n_features": X["train"].shape[1]}
        head |= {"branch": choice.branch, "chosen_on": choice.source}
        wide.append(head | _wide_row(scored, held_out, benign))
        long += [{"family": family, "seed": seed} | r for r in _level_rows(scored, setup.fpr_levels, held_out, benign)]
    return wide, long


def zero_day_refit(
    frame: preprocess.HeldOutFrame, run: preprocess.PreparedData, families: Sequence[str], setup: ZeroDaySetup
) -> ZeroDay:
    """The zero-day test of every family of ``families``, each in the preprocessing fitted without it
    (``frame``: the run's data read again and checked, :func:`lib.preprocess.reread`; ``run``: the run's
    prepared data, whose test rows every refit must reproduce). Empty tables when ``families`` is empty."""
    wide, long, inputs = [], [], []
    for family in progress.bar(list(families), desc="zero-day families", unit="family"):
        data, _ = frame.prepared_without(family)
        _check_test_rows(family, data, run)
        inputs.append(_inputs_row(family, data, run))
        rows = _one_family(family, data, setup)
        wide += rows[0]
        long += rows[1]
    table = pd.DataFrame(wide) if wide else pd.DataFrame(columns=["family", "seed"])
    return ZeroDay(table, pd.DataFrame(long, columns=LEVEL_COLUMNS), pd.DataFrame(inputs))


# ------------------------------------------------------------------------------------------ the long tables
def _percent(level: float) -> str:
    return f"{level * 100:g} %"


def _wide_levels(levels: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """``levels`` with one column per (recall | test FPR, level), means over what ``keys`` leave out, and the
    setting (``setting``) and how it was set (``chosen_on``): the distinct values, joined."""
    means = levels.groupby(keys, sort=False)[["recall", "test_fpr"]].mean().unstack("fpr_target")
    means.columns = [
        f"{'recall' if what == 'recall' else 'test FPR'} at {_percent(lv)} FPR" for what, lv in means.columns
    ]
    ordered = [
        f"{w} at {_percent(lv)} FPR" for w in ("recall", "test FPR") for lv in sorted(levels["fpr_target"].unique())
    ]
    named = [k for k in keys if k != "fpr_target"]
    joined = levels.groupby(named, sort=False)[["kind", "candidate", "chosen_on"]].agg(
        lambda c: "; ".join(dict.fromkeys(c.astype(str)))
    )
    wide = means[ordered].join(joined.rename(columns={"candidate": "setting"})).reset_index()
    return wide[[*named, "kind", *ordered, "setting", "chosen_on"]], ordered


def zero_day_by_detector(levels: pd.DataFrame) -> pd.DataFrame:
    """:attr:`ZeroDay.levels` as one line per held-out family and model (means over seeds): recall and test FPR at
    each level, the ``setting`` and how it was set (``chosen_on``: chosen on the validation rows of which other
    families, or a default and why); then per model an overall line, the mean over the families."""
    if not len(levels):
        return pd.DataFrame(columns=["family", "detector"])
    wide, ordered = _wide_levels(levels, ["family", "detector", "fpr_target"])
    overall = wide.groupby("detector", sort=False)[ordered].mean().reset_index().assign(family=OVERALL)
    overall["kind"] = overall["detector"].map(wide.drop_duplicates("detector").set_index("detector")["kind"])
    overall["setting"] = overall["chosen_on"] = ""
    return pd.concat([wide, overall[wide.columns]], ignore_index=True)


def zero_day_per_seed(levels: pd.DataFrame) -> pd.DataFrame:
    """:attr:`ZeroDay.levels` as one line per held-out family, seed and model: recall and test FPR at each level,
    the setting and how it was set (``chosen_on``)."""
    if not len(levels):
        return pd.DataFrame(columns=["family", "seed", "detector"])
    return _wide_levels(levels, ["family", "seed", "detector", "fpr_target"])[0]
