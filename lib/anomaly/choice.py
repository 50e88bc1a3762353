"""Candidates, their grids, and the choice of each detector's setting and of the anomaly branch on validation rows.

Every candidate is thresholded at ``target_fpr`` of the BENIGN validation rows; its recall on each attack
family's VALIDATION rows is averaged over the families (macro recall, so a large family does not outvote a
small one; ties broken by the macro ROC-AUC of benign against family validation rows, then by grid order); a
family with fewer than ``min_rows`` validation rows does not count (:func:`choose`). The best candidate of
each detector is that detector's configuration; the best of those is the **anomaly branch**
(:meth:`Comparison.branch_record`). Where no validation attack row is left, every detector keeps the first
setting of its grid and the branch is the first detector, and the choice table says so.

The combined decision of notebook 05 flags a flow if the supervised path says attack OR the anomaly score is
above its threshold: an OR can only add false alarms (up to the sum of the two rates); :func:`detection_rates`
measures the cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from lib import metrics, progress
from lib.anomaly.detectors import (
    Detector,
    Training,
    benign_rows,
    config_label,
    fit_autoencoder,
    fit_isolation_forest,
    fit_kitnet,
    fit_knn,
)

DETECTORS = ("autoencoder", "kitnet", "knn", "isolation_forest")


@dataclass(frozen=True)
class Candidate:
    """One detector at one point of its grid; ``label`` names it in tables, e.g. ``knn(k=5)``."""

    detector: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def label(self) -> str:
        return config_label(self.detector, self.params)


def candidate_grid(
    detectors: Sequence[str],
    *,
    ae_code_units: Sequence[int | str],
    kitnet_max_groups: Sequence[int | str],
    knn_ks: Sequence[int | str],
    iforest_trees: int,
) -> list[Candidate]:
    """Every detector of ``detectors`` at every point of its (small) grid, in that order.

    The autoencoder's bottleneck width, KitNET's largest feature group and the kNN's ``k`` are chosen on
    validation rows (:func:`choose`); the Isolation Forest has one setting. The grid values are whole numbers
    or their text (a notebook's comma-separated parameter, split).
    """
    unknown = sorted(set(detectors) - set(DETECTORS))
    if unknown or not detectors:
        raise ValueError(f"unknown or no detector(s) {unknown or list(detectors)}: choose from {list(DETECTORS)}")
    grids = {
        "autoencoder": [(("code_units", int(units)),) for units in ae_code_units],
        "kitnet": [(("max_group_size", int(size)),) for size in kitnet_max_groups],
        "knn": [(("k", int(k)),) for k in knn_ks],
        "isolation_forest": [(("n_estimators", int(iforest_trees)),)],
    }
    empty = [name for name in detectors if not grids[name]]
    if empty:
        raise ValueError(f"empty grid for detector(s) {empty}")
    return [Candidate(name, params) for name in dict.fromkeys(detectors) for params in grids[name]]


def fit_candidate(
    candidate: Candidate,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    target_fpr: float,
    seed: int,
    training: Training,
    ae_hidden_units: int = 32,
    knn_max_rows: int = 20_000,
) -> Detector:
    """Fit one :class:`Candidate` on the benign training rows (thresholded on the benign validation rows)."""
    split = (X_train, y_train, X_val, y_val)
    config, common = candidate.config, {"target_fpr": target_fpr, "seed": seed}
    keras_training = {"epochs": training.epochs, "batch_size": training.batch_size, "patience": training.patience}
    if candidate.detector == "autoencoder":
        dense = {"hidden_units": ae_hidden_units, "learning_rate": training.learning_rate}
        return fit_autoencoder(*split, **common, **keras_training, **dense, **config)
    if candidate.detector == "kitnet":
        return fit_kitnet(*split, **common, **keras_training, **config)
    if candidate.detector == "knn":
        return fit_knn(*split, **common, max_rows=knn_max_rows, **config)
    if candidate.detector == "isolation_forest":
        return fit_isolation_forest(*split, **common, **config)
    raise ValueError(f"unknown detector {candidate.detector!r}: choose from {list(DETECTORS)}")


# ------------------------------------------------------------------------------------------- the choice
VALIDATION_COLUMNS = ["seed", "detector", "candidate", "family", "n_val", "recall", "auc", "val_fpr", "threshold"]


def validation_table(
    fitted: dict[int, dict[str, Detector]], X_val: np.ndarray, y_val: np.ndarray, val_labels: Sequence[str]
) -> pd.DataFrame:
    """What the choice reads: per seed, candidate and attack family of the VALIDATION rows, the recall at the
    candidate's threshold and the ROC-AUC of benign against that family's validation rows (``val_labels``:
    the family of each validation row)."""
    y_val, labels = np.asarray(y_val), np.asarray(val_labels).astype(str)
    benign = y_val == 0
    families = sorted(set(labels[~benign]))
    rows = []
    for seed, candidates in fitted.items():
        for label, detector in candidates.items():
            scores = detector.score(X_val)
            flagged = scores > detector.threshold
            for family in families:
                member = ~benign & (labels == family)
                truth = np.r_[np.zeros(benign.sum()), np.ones(member.sum())]
                rows.append(
                    {
                        "seed": seed,
                        "detector": detector.name,
                        "candidate": label,
                        "family": family,
                        "n_val": int(member.sum()),
                        "recall": float(flagged[member].mean()),
                        "auc": float(roc_auc_score(truth, np.r_[scores[benign], scores[member]])),
                        "val_fpr": float(flagged[benign].mean()),
                        "threshold": detector.threshold,
                    }
                )
    return pd.DataFrame(rows, columns=VALIDATION_COLUMNS)


@dataclass
class Choice:
    """Each detector's configuration and the anomaly branch, chosen on validation rows (:func:`choose`).

    ``table``: one row per candidate (grid order) with its validation macro recall and AUC, ``chosen`` (best of
    its detector) and ``branch`` (best of all); ``per_detector``: detector -> chosen candidate label;
    ``branch``: the branch's candidate label; ``basis``: on which rows it was chosen, in words; ``source``: the
    same in a table cell's few words, ``"validation: ..."`` or, where no family counted and every detector kept
    the first setting of its grid, ``"default: ..."`` and why.
    """

    table: pd.DataFrame
    per_detector: dict[str, str]
    branch: str
    basis: str
    source: str = ""

    @property
    def branch_detector(self) -> str:
        return self.table.set_index("candidate").loc[self.branch, "detector"]

    @property
    def on_validation(self) -> bool:
        """Whether the settings were chosen on validation rows (False: the grids' defaults, no family counted)."""
        return not self.source.startswith("default")


def _basis(rows: pd.DataFrame, exclude: str | None, min_rows: int) -> str:
    """On which validation rows a choice was made, in words (:func:`choose`)."""
    families = sorted(rows["family"].unique())
    without = f", {exclude} left out" if exclude is not None else ""
    if not len(rows):
        return (
            f"no attack family with at least {min_rows} validation rows{without}: every detector keeps its first "
            "grid setting, the branch is the first detector"
        )
    n_rows = int(rows.groupby("family")["n_val"].first().sum())
    return (
        f"macro recall at the target FPR over the validation rows of {len(families)} attack famil"
        f"{'y' if len(families) == 1 else 'ies'} ({', '.join(families)}; {n_rows} "
        f"rows{without}; families with fewer than {min_rows} validation rows do not count)"
    )


def _source(rows: pd.DataFrame, exclude: str | None, min_rows: int) -> str:
    """:func:`_basis` in a table cell's few words: ``"validation: <families> (<rows> rows)"`` or ``"default: ..."``."""
    if not len(rows):
        which = f"no family other than {exclude}" if exclude is not None else "no attack family"
        return f"default: {which} has >= {min_rows} validation rows"
    n_rows = int(rows.groupby("family")["n_val"].first().sum())
    return f"validation: {', '.join(sorted(rows['family'].unique()))} ({n_rows} rows)"


def choose(
    validation: pd.DataFrame, grid: Sequence[Candidate], exclude: str | None = None, min_rows: int = 1
) -> Choice:
    """The best candidate per detector and overall, from :func:`validation_table` rows (all seeds in it), the
    rows of family ``exclude`` left out, and families with fewer than ``min_rows`` validation rows too (two
    flows of a family would otherwise weigh as much as hundreds of another's).

    Criterion: recall at the target FPR averaged over the validation families, then over seeds; ties go to the
    higher macro ROC-AUC, then to the earlier grid entry. Without any such family, each detector keeps its
    first grid entry and the branch is the first detector of the grid.
    """
    rows = validation if exclude is None else validation[validation["family"] != exclude]
    rows = rows[rows["n_val"] >= min_rows]
    macro = rows.groupby(["candidate", "seed"])[["recall", "auc"]].mean().groupby("candidate").mean()
    table = pd.DataFrame(
        {"detector": [c.detector for c in grid], "candidate": [c.label for c in grid], "order": range(len(grid))}
    )
    table["n_families"] = table["candidate"].map(rows.groupby("candidate")["family"].nunique()).fillna(0).astype(int)
    table["val_macro_recall"] = table["candidate"].map(macro["recall"])
    table["val_macro_auc"] = table["candidate"].map(macro["auc"])
    ranked = table.assign(r=table["val_macro_recall"].fillna(-1), a=table["val_macro_auc"].fillna(-1))
    ranked = ranked.sort_values(["r", "a", "order"], ascending=[False, False, True])
    best = ranked.drop_duplicates("detector").set_index("detector")["candidate"]
    per_detector = {name: best[name] for name in dict.fromkeys(c.detector for c in grid)}
    branch = str(ranked["candidate"].iloc[0])
    table["chosen"] = table["candidate"].isin(per_detector.values())
    table["branch"] = table["candidate"] == branch
    basis, source = _basis(rows, exclude, min_rows), _source(rows, exclude, min_rows)
    return Choice(table.drop(columns="order"), per_detector, branch, basis, source)


def describe(candidate: Candidate | Detector) -> str:
    """A detector configuration in words (for the stage record and Fig. 2)."""
    name = candidate.detector if isinstance(candidate, Candidate) else candidate.name
    config = candidate.config
    return {
        "autoencoder": f"dense autoencoder, reconstruction error (bottleneck of {config.get('code_units')} units)",
        "kitnet": "KitNET-style ensemble of small autoencoders over correlated feature groups (at most "
        f"{config.get('max_group_size')} features each), output autoencoder's RMSE",
        "knn": f"mean distance to the {config.get('k')} nearest benign training flows",
        "isolation_forest": f"Isolation Forest ({config.get('n_estimators')} trees)",
    }.get(name, name)


@dataclass
class Comparison:
    """Every candidate of ``grid`` fitted per seed (``fitted[seed][candidate label]``), the validation rows'
    table the choices read (:func:`validation_table`) and the fewest validation rows with which a family counts."""

    grid: list[Candidate]
    fitted: dict[int, dict[str, Detector]]
    validation: pd.DataFrame
    min_rows: int = 1

    def choose(self, exclude: str | None = None, seed: int | None = None) -> Choice:
        """:func:`choose` over every seed, or over ``seed`` alone (families with at least ``min_rows`` rows)."""
        rows = self.validation if seed is None else self.validation[self.validation["seed"] == seed]
        return choose(rows, self.grid, exclude, self.min_rows)

    def chosen(self, choice: Choice) -> dict[int, dict[str, Detector]]:
        """Per seed, each detector at the configuration ``choice`` gives it."""
        return {
            seed: {name: fitted[label] for name, label in choice.per_detector.items()}
            for seed, fitted in self.fitted.items()
        }

    def branch_of_seed(self, choice: Choice, seed: int) -> Detector:
        """The anomaly branch fitted with ``seed`` (the seed of notebook 04's saved pipeline, for scoring)."""
        if seed not in self.fitted:
            raise ValueError(
                f"the saved pipeline is notebook 04's seed {seed}, and this notebook fitted seeds {sorted(self.fitted)}: "
                f"run it with SEED={seed} (or notebook 04 with one of these)"
            )
        return self.fitted[seed][choice.branch]

    def branch_record(self, choice: Choice, target_fpr: float) -> dict[str, Any]:
        """What notebook 05 records about the anomaly branch (stage info and ``anomaly_branch.json``)."""
        candidate = next(c for c in self.grid if c.label == choice.branch)
        row = choice.table.set_index("candidate").loc[choice.branch]
        return {
            "detector": candidate.detector,
            "candidate": candidate.label,
            "config": candidate.config,
            "target_fpr": target_fpr,
            "thresholds": {str(seed): fitted[candidate.label].threshold for seed, fitted in self.fitted.items()},
            "chosen_on": choice.basis,
            "validation_macro_recall": float(row["val_macro_recall"]),
            "validation_macro_auc": float(row["val_macro_auc"]),
            "per_detector": choice.per_detector,
            "chosen_on_validation": choice.on_validation,
            "description": f"{describe(candidate)}, threshold at {target_fpr:.1%} FPR on benign validation flows "
            + ("(chosen on validation rows)" if choice.on_validation else f"({choice.source}: the grid's first)"),
        }


def compare(
    X: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    val_labels: Sequence[str],
    seeds: Sequence[int],
    grid: Sequence[Candidate],
    *,
    target_fpr: float,
    training: Training,
    ae_hidden_units: int = 32,
    knn_max_rows: int = 20_000,
    min_choice_rows: int = 1,
) -> Comparison:
    """Fit every candidate of ``grid`` for every seed on the benign training rows (thresholds on the benign
    validation rows) and score the validation rows for the choice (families with at least ``min_choice_rows``
    validation rows count). No test row is read."""
    fitted: dict[int, dict[str, Detector]] = {seed: {} for seed in seeds}
    fits = progress.bar(list(product(seeds, grid)), desc="benign-only detectors", unit="fit")
    settings = {"target_fpr": target_fpr, "training": training, "ae_hidden_units": ae_hidden_units}
    for seed, candidate in fits:
        fits.set_postfix_str(f"seed {seed}, {candidate.label}")
        fitted[seed][candidate.label] = fit_candidate(
            candidate, X["train"], y["train"], X["val"], y["val"], seed=seed, knn_max_rows=knn_max_rows, **settings
        )
    return Comparison(list(grid), fitted, validation_table(fitted, X["val"], y["val"], val_labels), min_choice_rows)


# ------------------------------------------------------------------------------------------- notebook 05's tables
def detection_rates(flags: dict[str, np.ndarray], y: np.ndarray) -> pd.DataFrame:
    """Recall on attack rows and false-positive rate on benign rows of each boolean decision in ``flags``."""
    y = np.asarray(y)
    attack, benign = y != 0, y == 0
    rows = []
    for name, flagged in flags.items():
        flagged = np.asarray(flagged, dtype=bool)
        rows.append(
            {
                "decision": name,
                "recall": float(flagged[attack].mean()) if attack.any() else float("nan"),
                "fpr": float(flagged[benign].mean()) if benign.any() else float("nan"),
                "n_attack": int(attack.sum()),
                "n_benign": int(benign.sum()),
            }
        )
    return pd.DataFrame(rows)


def histories(detectors: dict[str, Detector]) -> dict[str, dict[str, list[float]]]:
    """The training histories of the detectors that have one (the autoencoders), by detector name."""
    return {f"{d.label}": d.history for d in detectors.values() if d.history}


def detector_table(
    detectors: dict[int, dict[str, Detector]], X: dict[str, np.ndarray], y: dict[str, np.ndarray]
) -> pd.DataFrame:
    """One row per detector and seed: its chosen candidate, threshold, realised FPR on benign validation and
    test rows, test recall and ROC-AUC on all test rows."""
    benign_val = benign_rows(X["val"], y["val"])
    rows = []
    for seed, fitted in detectors.items():
        for name, detector in fitted.items():
            scores = detector.score(X["test"])
            rates = detection_rates({name: scores > detector.threshold}, y["test"]).iloc[0]
            rows.append(
                {
                    "model": name,
                    "candidate": detector.label,
                    "seed": seed,
                    "n_fit_rows": detector.n_fit_rows,
                    "threshold": detector.threshold,
                    "val_fpr": metrics.flag_rate(detector.score(benign_val), detector.threshold),
                    "test_fpr": rates["fpr"],
                    "test_recall": rates["recall"],
                    "roc_auc": roc_auc_score(np.asarray(y["test"]) != 0, scores),
                }
            )
    return pd.DataFrame(rows)


def or_with_supervised(
    supervised_flags: np.ndarray, detectors: dict[int, dict[str, Detector]], X_test: np.ndarray, y_test: np.ndarray
) -> pd.DataFrame:
    """Recall and FPR on the test rows of the supervised decision alone, each detector alone and their OR."""
    tables = []
    for seed, fitted in detectors.items():
        flags = {"fusion alone": supervised_flags}
        for name, detector in fitted.items():
            flags[f"{name} alone"] = detector.predict(X_test)
            flags[f"fusion OR {name}"] = supervised_flags | flags[f"{name} alone"]
        tables.append(detection_rates(flags, y_test).assign(seed=seed))
    return pd.concat(tables, ignore_index=True)
