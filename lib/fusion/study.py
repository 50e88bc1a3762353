"""Notebook 04's loop of :mod:`lib.fusion`: the checks on notebooks 02-03, every contender per seed, the comparisons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lib import metrics, models, progress
from lib.fusion import deploy
from lib.fusion.stacking import (
    FUSION_CONTENDERS,
    META_CLASSIFIERS,
    FusionFit,
    FusionModel,
    check_inputs,
    fit_fusion,
    meta_grid,
    soft_vote,
)
from lib.metrics import compare

if TYPE_CHECKING:
    from lib.preprocess import PreparedData

#: Display names of notebook 04's contenders (the deep models and baselines keep their Table 1 names).
CONTENDER_NAMES: dict[str, str] = metrics.CONTENDER_NAMES
#: Baselines of notebook 02 compared with the fusion (their saved predictions, not a refit).
FEATURE_BASELINES = ("random_forest", "xgboost")
#: The score the fusion is compared on: macro-F1 (for a binary run too, where ``f1`` is the attack class's F1).
COMPARISON_METRIC = "f1_macro"


@dataclass
class FusionRuns:
    """Everything notebook 04 measured: scores of every contender, the meta grids, the per-fold scores, the fits."""

    results: metrics.Results
    grid: pd.DataFrame
    folds: pd.DataFrame
    fits: dict[int, FusionFit]
    students: dict[int, deploy.DistilledModel] = field(default_factory=dict)

    @property
    def scores(self) -> pd.DataFrame:
        return self.results.scores_frame()

    def fit(self, seed: int) -> FusionFit:
        """The fusion fitted for ``seed`` (one of notebook 03's seeds)."""
        if seed not in self.fits:
            raise ValueError(
                f"no fusion for seed {seed}: notebook 03 trained seeds {sorted(self.fits)}; pick one as SEED"
            )
        return self.fits[seed]

    def saved_model(self, pipeline: str, pipeline_meta: str, seed: int) -> FusionModel | deploy.DistilledModel:
        """The model of the pipeline saved for ``seed``: the fusion ``pipeline_meta`` names (``pipeline="full"``) or
        the deployment variant distilled from it (``"deploy"``, :func:`distil_seeds` first)."""
        if pipeline == "full":
            return self.fit(seed).pipeline_model(pipeline_meta)
        if seed not in self.students:
            raise ValueError(f"no deployment variant for seed {seed}: distil it first (lib.fusion.distil_seeds)")
        return self.students[seed]

    @property
    def contenders(self) -> list[str]:
        """The fusion contenders scored, in :data:`FUSION_CONTENDERS` order."""
        return [c for c in FUSION_CONTENDERS if c in set(self.scores["model"])]

    def fold_table(self) -> pd.DataFrame:
        """Validation macro-F1 (mean over seeds) of every fold's deep models and of each fusion fed one fold's
        outputs alone, beside the contender as scored: the fusion averaged over folds, notebook 03's deep model
        trained on all training rows. What cross-fitting costs (fold models see ``(k-1)/k`` of the rows) and
        what averaging over folds gains."""
        per_fold = self.folds.groupby(["model", "fold"])["val_f1_macro"].mean().unstack("fold")
        per_fold.columns = [f"fold {k}" for k in per_fold.columns]
        scored = self.scores.groupby("model")["val_f1_macro"].mean().rename("as scored")
        return per_fold.join(scored)

    def test_proba(self, model: str, seed: int, deep: metrics.Trained, baselines_run: metrics.Trained) -> np.ndarray:
        """A contender's probabilities on the test rows: a fusion's or soft voting's from this run, a deep model's
        from notebook 03 (``deep``), a baseline's from notebook 02 (``baselines_run``)."""
        if (model, seed, "test") in self.results.predictions:
            return self.results.predictions[(model, seed, "test")]
        return (baselines_run if model in FEATURE_BASELINES else deep).prediction(model, seed, "test")

    def comparisons(
        self, best_single: str, tie: float, interval_of: compare.IntervalOf = compare.seed_interval
    ) -> tuple[list[dict[str, Any]], str]:
        """Each fusion against the best single deep model, soft voting and XGBoost on the features (macro-F1,
        paired by seed), each with the interval ``interval_of`` gives it (``interval``: low, high and how; none
        with one seed), and the verdict against the best single deep model and XGBoost
        (:func:`lib.metrics.verdict`, with ``interval_of``)."""
        pairs = [(c, r) for c in self.contenders for r in (best_single, "soft_voting", "xgboost")]
        found = self._differences(pairs, interval_of)
        verdict = metrics.verdict(found, best_single, CONTENDER_NAMES, tie, baseline="xgboost", interval_of=interval_of)
        return found, verdict

    def deploy_comparisons(self, interval_of: compare.IntervalOf = compare.seed_interval) -> list[dict[str, Any]]:
        """The deployment variant against each fusion it was distilled from (macro-F1, paired by seed), with the
        intervals of ``interval_of``, as :meth:`comparisons` gives them. :func:`distil_seeds` first."""
        if "deploy" not in self.results.tables:
            raise ValueError("no deployment variant: distil it first (lib.fusion.distil_seeds)")
        teachers = self.results.tables["deploy"]["distilled_from"].unique()
        return self._differences([(deploy.CONTENDER, str(t)) for t in teachers], interval_of)

    def _differences(self, pairs: list[tuple[str, str]], interval_of: compare.IntervalOf) -> list[dict[str, Any]]:
        """:func:`lib.metrics.paired_difference` of each ``(model, reference)`` on macro-F1, its ``interval``
        (low, high and how; none where ``interval_of`` gives none) added."""
        found = [metrics.paired_difference(self.scores, c, r, COMPARISON_METRIC) for c, r in pairs]
        for d in found:
            interval = interval_of(d)
            d["interval"] = (
                None if interval is None else {"low": interval.low, "high": interval.high, "how": interval.how}
            )
        return found


def describe_comparisons(
    comparisons: list[dict[str, Any]], tie: float, interval_of: compare.IntervalOf = compare.seed_interval
) -> str:
    """:func:`lib.metrics.compare.describe_difference` of each comparison (:meth:`FusionRuns.comparisons`), one
    bullet line each, with the intervals of ``interval_of``."""
    return "\n".join(f"* {compare.describe_difference(d, CONTENDER_NAMES, tie, interval_of)}" for d in comparisons)


def check_runs(
    deep: metrics.Trained,
    baselines_run: metrics.Trained,
    *,
    names: Sequence[str],
    inputs: str,
    seed: int,
    pipeline_meta: str,
    pipeline: str = "full",
    features_variant: bool = False,
) -> None:
    """Everything notebook 04 needs from notebooks 02 and 03 and from its own parameters, checked before it
    removes its previous results or trains anything: a clear error now, not after the first seed's folds."""
    check_inputs(inputs, names)
    trained, seeds = list(deep.models), list(deep.seeds)
    missing = sorted(set(names) - set(trained))
    if missing:
        raise ValueError(f"notebook 03 did not train {missing} (it trained {trained}): add them to its DEEP_MODELS")
    models.per_model(models.stage_configs(deep.info), names)  # every fused model has its configuration
    lacking = sorted(set(FEATURE_BASELINES) - set(baselines_run.models))
    if lacking:
        raise ValueError(
            f"notebook 02 did not fit {lacking} (it fitted {list(baselines_run.models)}), which notebook 04 compares "
            f"the fusion with: add them to its BASELINES"
        )
    unmatched = sorted(set(seeds) - set(baselines_run.seeds))
    if unmatched:
        raise ValueError(
            f"notebook 03 trained seeds {seeds}, notebook 02 lacks {unmatched} (it ran {list(baselines_run.seeds)}): "
            "run both with the same SEED and N_SEEDS"
        )
    if seed not in seeds:
        raise ValueError(f"SEED={seed} chooses the pipeline's fusion, but notebook 03 trained seeds {seeds}: pick one")
    if pipeline not in deploy.PIPELINES:
        raise ValueError(
            f"PIPELINE must be one of {', '.join(deploy.PIPELINES)} (the paper's fusion or its distilled deployment "
            f"variant), got {pipeline!r}"
        )
    fitted = [c for c, (_, with_features) in FUSION_CONTENDERS.items() if features_variant or not with_features]
    if pipeline_meta not in ("auto", *fitted):
        raise ValueError(
            f"PIPELINE_META must be 'auto' or a fusion this run fits, one of {fitted}, got {pipeline_meta!r}"
            + ("" if features_variant else " (the *_features fusions need FUSION_WITH_FEATURES=True)")
        )


def evaluate_seeds(
    data: PreparedData,
    *,
    deep: metrics.Trained,
    baselines_run: metrics.Trained,
    names: Sequence[str],
    inputs: str,
    k_folds: int,
    grid: Sequence[tuple[str, dict[str, Any]]],
    features_variant: bool = False,
) -> FusionRuns:
    """Notebook 04's runs, one per seed notebook 03 trained: the cross-fitted fusion (:func:`fit_fusion`, fold
    models trained here with notebook 03's per-model configurations), then every contender scored on the test
    rows (and, for model choice, on the validation rows): each fusion, soft voting and each deep model alone
    (notebook 03's predictions of its full-training models) and Random Forest and XGBoost on the features
    (notebook 02's predictions). The fusions' and soft voting's probabilities on the test and validation rows
    are kept in the results (the deep models' and the baselines' are in their own stages). Call
    :func:`check_runs` first."""
    configs = models.stage_configs(deep.info)
    results, grids, folds, fits = metrics.Results(), [], [], {}
    for seed in progress.bar(list(deep.seeds), desc="fusion seeds", unit="seed"):
        with metrics.timer() as fitting:
            fit = fits[seed] = fit_fusion(
                data.X_train, data.y_train, data.X_val, data.y_val, n_classes=data.n_classes, names=names,
                deep=configs, inputs=inputs, k_folds=k_folds, grid=grid, seed=seed, features_variant=features_variant,
            )  # fmt: skip
        grids.append(fit.grid.assign(seed=seed))
        folds.append(fit.folds.assign(seed=seed))
        test_outputs = fit.fold_outputs(data.X_test)
        contenders = {
            contender: (fit.contender_model(contender).predict_proba(data.X_test, test_outputs), val_proba)
            for contender, val_proba in fit.val_proba.items()
        }
        for name in names:
            contenders[name] = (deep.prediction(name, seed, "test"), deep.prediction(name, seed, "val"))
        contenders["soft_voting"] = tuple(soft_vote([contenders[n][i] for n in names]) for i in (0, 1))
        for name in FEATURE_BASELINES:
            contenders[name] = (
                baselines_run.prediction(name, seed, "test"),
                baselines_run.prediction(name, seed, "val"),
            )
        for name, (proba, val_proba) in contenders.items():
            keep = name not in names and name not in FEATURE_BASELINES  # the others' are their own stages' files
            _add_scores(results, data, name, seed, proba, val_proba, keep=keep)
        results.timings.append({"model": "fusion", "seed": seed, "fit_seconds": fitting.seconds})
    return FusionRuns(results, pd.concat(grids, ignore_index=True), pd.concat(folds, ignore_index=True), fits)


def _add_scores(
    results: metrics.Results, data: PreparedData, name: str, seed: int, proba: np.ndarray, val_proba: np.ndarray,
    *, keep: bool,
) -> None:  # fmt: skip
    """One contender's test scores (and validation F1s, for model choice) into ``results``; its probabilities too
    when ``keep`` (those of the deep models and baselines are their own stages' files)."""
    if keep:
        results.predictions |= {(name, seed, "test"): proba, (name, seed, "val"): val_proba}
    val = metrics.evaluate(data.y_val, val_proba, data.class_names)
    result = metrics.evaluate(data.y_test, proba, data.class_names)
    results.add(name, seed, result, n_test=len(data.y_test), val_f1=val["f1"], val_f1_macro=val["f1_macro"])


def distil_seeds(
    fused: FusionRuns, data: PreparedData, pipeline_meta: str, config: dict[str, Any] | None = None
) -> pd.DataFrame:
    """The deployment variant of every seed (:func:`lib.fusion.deploy.distil`): one small model trained on the
    class probabilities that seed's saved fusion (``pipeline_meta``, as :meth:`FusionRuns.saved_model` picks it)
    gives the training rows, early stopping on its probabilities of the validation rows. Each is scored on the
    test rows as the contender :data:`lib.fusion.deploy.CONTENDER` (probabilities kept, so it has intervals and
    operating points like every fusion) into ``fused.results``, kept in ``fused.students``. Returns, per seed, the
    fusion it was distilled from, the share of test rows (and validation rows) on which its decision is that
    fusion's (``agreement``), the student kept, its epochs (rounds for trees) and every student's validation
    cross-entropy to the fusion (its seconds of training go to the timings); the same table is
    ``fused.results.tables["deploy"]``."""
    rows = []
    for seed in progress.bar(sorted(fused.fits), desc="deployment variant", unit="seed"):
        teacher = fused.fit(seed).pipeline_model(pipeline_meta)
        with metrics.timer() as fitting:
            student = fused.students[seed] = deploy.distil(teacher, data.X_train, data.X_val, seed, config)
        proba, val_proba = student.predict_proba(data.X_test), student.predict_proba(data.X_val)
        _add_scores(fused.results, data, deploy.CONTENDER, seed, proba, val_proba, keep=True)
        fused.results.histories[deploy.CONTENDER, seed] = student.history
        fused.results.timings.append({"model": deploy.CONTENDER, "seed": seed, "fit_seconds": fitting.seconds})
        teacher_of = {split: fused.results.predictions[teacher.contender, seed, split] for split in ("test", "val")}
        rows.append(
            {
                "seed": seed,
                "distilled_from": teacher.contender,
                "agreement": deploy.agreement(proba, teacher_of["test"]),
                "val_agreement": deploy.agreement(val_proba, teacher_of["val"]),
                "student": student.kind,
                "epochs": len(student.history.get("loss", [])),
                **{f"val_cross_entropy_{kind}": loss for kind, loss in student.tried.items()},
            }
        )
    table = fused.results.tables["deploy"] = pd.DataFrame(rows)
    return table


def deploy_table(fused: FusionRuns, data: PreparedData, target_fpr: float = 0.01) -> pd.DataFrame:
    """The deployment variant beside each fusion it was distilled from, mean over seeds: test macro-F1, detection
    rate and realised test FPR at ``target_fpr`` (the threshold set on the validation benign rows,
    :func:`lib.metrics.detection_at_fpr`) and, for the variant, the share of test rows whose decision is the
    fusion's. :func:`distil_seeds` first."""
    distilled = fused.results.tables["deploy"]
    scores = fused.scores.set_index(["model", "seed"])["f1_macro"]
    rows = []
    for model in [*dict.fromkeys(distilled["distilled_from"]), deploy.CONTENDER]:
        seeds = sorted(fused.fits)
        points = [
            metrics.detection_at_fpr(
                data.y_val, fused.results.predictions[model, seed, "val"],
                data.y_test, fused.results.predictions[model, seed, "test"], (target_fpr,),
            )[0]
            for seed in seeds
        ]  # fmt: skip
        label = f"{100 * target_fpr:g} % FPR"
        rows.append(
            {
                "model": CONTENDER_NAMES[model],
                "f1_macro": float(np.mean([scores[model, seed] for seed in seeds])),
                f"detection @ {label}": float(np.mean([p["detection_rate"] for p in points])),
                f"test FPR @ {label}": float(np.mean([p["test_fpr"] for p in points])),
                "agreement": float(distilled["agreement"].mean()) if model == deploy.CONTENDER else np.nan,
            }
        )
    return pd.DataFrame(rows)


def best_single_model(scores: pd.DataFrame, names: Sequence[str]) -> str:
    """The deep model of ``names`` with the best mean *validation* macro-F1 (never chosen on test scores)."""
    return str(scores[scores["model"].isin(names)].groupby("model")["val_f1_macro"].mean().idxmax())


def grid_from(trees: str, rf_depths: str, xgb_depths: str, metas: Sequence[str] = META_CLASSIFIERS):
    """:func:`meta_grid` from notebook 04's comma-separated parameters (``META_TREES="100,300"``, ...)."""
    numbers = [[int(v.strip()) for v in str(text).split(",") if v.strip()] for text in (trees, rf_depths, xgb_depths)]
    return meta_grid(metas, *numbers)


def grid_frame(grid: Sequence[tuple[str, dict[str, Any]]]) -> pd.DataFrame:
    """The meta grid, one row per setting: the meta-classifier and its hyperparameters."""
    return pd.DataFrame([{"meta": name, **params} for name, params in grid])


def with_probabilities(frame: pd.DataFrame, proba: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """``frame`` with one ``P(<class>)`` column per class of ``proba`` (rows in the same order)."""
    return frame.assign(**{f"P({c})": proba[:, i] for i, c in enumerate(class_names)})


def describe_saved(model: FusionModel | deploy.DistilledModel) -> str:
    """What a saved pipeline runs after its preprocessor: the fold models and meta-classifier of a fusion, or the
    one network of the deployment variant."""
    if isinstance(model, deploy.DistilledModel):
        return f"{CONTENDER_NAMES[model.contender]}: {model.describe()}"
    return (
        f"{CONTENDER_NAMES[model.contender]}: {len(model.fold_models)} folds of {model.names}, then its meta-classifier"
    )


def summary(
    fused: FusionRuns, summarised: pd.DataFrame, best_single: str, verdict: str,
    saved: FusionModel | deploy.DistilledModel, *, inputs: str, names: Sequence[str], k_folds: int, seed: int,
) -> str:  # fmt: skip
    """Notebook 04's summary: what was fused, the test macro-F1 of each fusion beside the best single deep model
    and XGBoost on the features (means over seeds, from ``summarised``: :func:`lib.metrics.summarise`), the
    verdict, the deployment variant beside the fusion it was distilled from (when :func:`distil_seeds` ran), and
    the pipeline saved."""
    mean_f1 = summarised[summarised["metric"] == "f1_macro"].set_index("model")["mean"]
    fusions = ", ".join(f"{CONTENDER_NAMES[m]} {mean_f1[m]:.4f}" for m in fused.contenders)
    lines = [
        f"* {len(fused.fits)} seed(s), fusion inputs {inputs!r} from {list(names)}, cross-fitted over {k_folds} folds.",
        f"* Test macro-F1: {fusions}; best single deep model ({CONTENDER_NAMES[best_single]}) "
        f"{mean_f1[best_single]:.4f}; XGBoost on the features {mean_f1['xgboost']:.4f}.",
        f"* {verdict}",
    ]
    distilled = fused.results.tables.get("deploy")
    if distilled is not None and deploy.CONTENDER in mean_f1:
        teachers = ", ".join(CONTENDER_NAMES[t] for t in distilled["distilled_from"].unique())
        lines.append(
            f"* Deployment variant (one network distilled from {teachers}): test macro-F1 "
            f"{mean_f1[deploy.CONTENDER]:.4f}; its decision is the fusion's on {100 * distilled['agreement'].mean():.2f} % "
            "of the test rows (mean over seeds)."
        )
    lines.append(f"* Saved pipeline (seed {seed}): {describe_saved(saved)}.")
    return "\n".join(lines)
