"""Intervals over the test set for every score of the study, from the predictions its runs saved (notebook 06).

For each run of the study the test rows are resampled by group and the seeds drawn again
(:mod:`lib.metrics.bootstrap`: host pairs, else source files), and every model of every stage that Table 1, the
protocol table, the fusion table and the SMOTE table quote is scored on the same resamples. Two files keep what
the verdicts need, so that ``python -m lib.report`` rebuilds every verdict from the figure folder alone:

* ``intervals.csv``: per run, stage, model and score, the mean over seeds on the whole test set and the 95 %
  bootstrap interval (percent);
* ``differences.csv``: per run and pair of models that a sentence compares (Table 1's models with each other on
  accuracy, F1 and macro-F1; the fusion stage's contenders with each other and each SMOTE model with itself
  trained unbalanced, on macro-F1), the difference of the means and its paired 95 % interval (points).

:class:`Evidence` reads them back and hands the one rule (:func:`lib.metrics.compare.call`) its intervals.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from lib import metrics
from lib.metrics import bootstrap, compare
from lib.report.runs import STUDY_METRIC, TABLE1_STAGES, configuration
from lib.run import RunDir, StaleArtefactError

log = logging.getLogger(__name__)

#: The scores ``intervals.csv`` gives an interval for.
INTERVAL_SCORES = ("accuracy", "precision", "recall", "f1", "f1_macro", "fpr")
#: The scores Table 1's models are compared on (the findings' sentences).
TABLE1_DIFFERENCES = ("accuracy", "f1", "f1_macro")
#: The groups of models compared with each other: Table 1's stages, the fusion stage, SMOTE against unbalanced.
POOLS = ("table1", "fusion", "smote")
SMOTE_PREFIX = "smote:"
KEYS = ["run", "split", "configuration"]
#: How an interval reads in a sentence (the resampling itself is said once, in :func:`Evidence.describe`).
MEAN_HOW = "95 % bootstrap CI"
#: Fewer attack groups than this, or one holding more than this share of the attack flows: :meth:`Evidence.describe`
#: says why the intervals are wide.
FEW_ATTACK_GROUPS, DOMINANT_SHARE = 20, 0.2
DIFFERENCE_HOW = "95 % paired bootstrap CI"


def _reader(folder: RunDir, stages: list[str], split: str = "test") -> Callable[[str, int], np.ndarray]:
    """``(model, seed) -> probabilities on split`` for the models of ``stages`` and of Table 1's stages: a model of
    the fusion stage that notebook 03 or 02 trained is read where it was saved, ``smote:<model>`` from the SMOTE
    stages."""
    opened = {name: folder.open(name) for name in dict.fromkeys([*TABLE1_STAGES, *stages])}
    owner: dict[str, str] = {}
    for name, stage in opened.items():
        prefix = SMOTE_PREFIX if name.endswith("_smote") else ""
        saved = {f.removeprefix("predictions/") for f in stage.manifest.get("files", {})}
        for model in stage.models:
            if name == "fusion" and model in owner:
                continue  # Table 1's own predictions
            if name == "fusion" and f"{model}_seed{stage.seeds[0]}_{split}.npy" not in saved:
                raise compare_error(folder, model)
            owner[prefix + model] = name

    def read(model: str, seed: int) -> np.ndarray:
        if model not in owner:
            raise KeyError(f"no stage of {folder.path} holds predictions of {model!r} (it has {sorted(owner)})")
        return opened[owner[model]].prediction(model.removeprefix(SMOTE_PREFIX), seed, split)

    return read


def compare_error(folder: RunDir, model: str) -> StaleArtefactError:
    """The error for a fusion stage that kept no predictions of ``model`` (made before notebook 04 kept them)."""
    return StaleArtefactError(
        f"{folder.path / 'fusion'} holds no test predictions of {model!r}: notebook 04 made it before it kept its "
        f"contenders' predictions, which the test-set intervals need. Fix: {folder.fix('fusion')}"
    )


def _pairs(models: list[str]) -> list[tuple[str, str]]:
    return list(itertools.combinations(models, 2))


def _table1_members(folder: RunDir) -> tuple[list[str], list[int]]:
    """Table 1's models of ``folder`` and the seeds both its baselines and its deep models ran."""
    models = [m for s in TABLE1_STAGES for m in folder.open(s).models]
    return models, sorted(set(folder.open("deep").seeds) & set(folder.open("baselines").seeds))


def run_evidence(folder: RunDir, n_boot: int = bootstrap.N_BOOT, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(intervals, differences)`` of one run (the rows of ``intervals.csv`` and ``differences.csv``)."""
    data = folder.load_prepared()
    groups, grouped_by = bootstrap.test_groups(data.rows["test"])
    attack_sizes = np.bincount(groups[data.y_test != 0])
    attack_sizes = attack_sizes[attack_sizes > 0]
    keys = {k: v for k, v in configuration(folder).items() if k in KEYS}
    table1_models, seeds = _table1_members(folder)
    pools: dict[str, tuple[list[str], list[tuple[str, str]], tuple[str, ...], list[int], list[str]]] = {
        "table1": (list(TABLE1_STAGES), _pairs(table1_models), TABLE1_DIFFERENCES, seeds, table1_models)
    }
    if folder.has("fusion"):
        fused = folder.open("fusion")
        contenders = [m for m in metrics.CONTENDER_NAMES if m in fused.models]
        pools["fusion"] = (["fusion"], _pairs(contenders), (STUDY_METRIC,), fused.seeds, contenders)
    smote = [s for s in ("baselines_smote", "deep_smote") if folder.has(s)]
    if smote:
        opened = {s: folder.open(s) for s in smote}
        smote_models = [m for s in smote for m in opened[s].models if m in table1_models]
        smote_seeds = sorted(set.intersection(*(set(opened[s].seeds) for s in smote), seeds))
        pairs = [(SMOTE_PREFIX + m, m) for m in smote_models]
        pools["smote"] = ([*TABLE1_STAGES, *smote], pairs, (STUDY_METRIC,), smote_seeds,
                          [SMOTE_PREFIX + m for m in smote_models])  # fmt: skip
    intervals, differences = [], []
    for pool, (stages, pairs, scores, pool_seeds, members) in pools.items():
        draws = bootstrap.resamples(groups, data.y_test, pool_seeds, n_boot=n_boot, seed=seed, how=grouped_by)
        try:
            read = _reader(folder, stages)
        except StaleArtefactError as err:  # a fusion stage made before notebook 04 kept its predictions
            log.warning("test-set intervals of the %s pool left out (its verdicts use the seeds'): %s", pool, err)
            continue
        scorer = bootstrap.PairedIntervals(data.y_test, read, data.n_classes, draws, scale=100)
        common = keys | {"pool": pool, "seeds": len(pool_seeds), "test_rows": len(data.y_test),
                         "test_groups": draws.n_groups, "attack_groups": len(attack_sizes),
                         "largest_attack_share": round(float(attack_sizes.max() / attack_sizes.sum()), 4)
                         if len(attack_sizes) else 0.0, "resamples": n_boot, "grouped_by": grouped_by}  # fmt: skip
        for model in members:
            point, boot = scorer.scores(model)
            for score in INTERVAL_SCORES:
                low, high = bootstrap.percentile_interval(boot[score])
                intervals.append(common | {"model": model, "score": score, "mean": 100 * point[score],
                                           "low": 100 * low, "high": 100 * high})  # fmt: skip
        for (a, b), score in itertools.product(pairs, scores):
            mean, low, high = scorer.difference(a, b, score)
            differences.append(common | {"model": a, "reference": b, "score": score, "mean": mean, "low": low,
                                         "high": high})  # fmt: skip
    return _rounded(pd.DataFrame(intervals)), _rounded(pd.DataFrame(differences))


def seed_bound_spread(folder: RunDir, n_boot: int = bootstrap.N_BOOT, seed: int = 42) -> pd.DataFrame:
    """How far each bound of Table 1's test-set intervals moves from seed to seed: per model and score of
    :data:`INTERVAL_SCORES`, each seed's own interval on the same resampled groups as :func:`run_evidence` draws
    (that seed alone), and the standard deviation over the seeds of its ``low`` and of its ``high`` bound
    (percent; the rows of ``intervals.csv``' ``table1`` pool, with spreads where the bounds were). Empty with
    fewer than two seeds."""
    data = folder.load_prepared()
    groups, grouped_by = bootstrap.test_groups(data.rows["test"])
    models, seeds = _table1_members(folder)
    if len(seeds) < 2:
        return pd.DataFrame(columns=["run", "pool", "seeds", "model", "score", "low", "high"])
    read = _reader(folder, list(TABLE1_STAGES))
    bounds: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for one in seeds:  # the same group weights for every seed: resamples() draws them first, from ``seed``
        draws = bootstrap.resamples(groups, data.y_test, [one], n_boot=n_boot, seed=seed, how=grouped_by)
        scorer = bootstrap.PairedIntervals(data.y_test, read, data.n_classes, draws, scale=100)
        for model in models:
            _, boot = scorer.scores(model)
            for score in INTERVAL_SCORES:
                bounds.setdefault((model, score), []).append(bootstrap.percentile_interval(boot[score]))
    rows = []
    for (model, score), found in bounds.items():
        low, high = (100 * np.array(side, dtype=np.float64) for side in zip(*found, strict=True))
        spread = [float(np.std(side[np.isfinite(side)], ddof=1)) if np.isfinite(side).sum() > 1 else np.nan
                  for side in (low, high)]  # fmt: skip
        rows.append({"run": folder.name, "pool": "table1", "seeds": len(seeds), "model": model, "score": score,
                     "low": spread[0], "high": spread[1]})  # fmt: skip
    return _rounded(pd.DataFrame(rows))


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Scores in percent to 4 decimals: the files stay small and byte-stable."""
    columns = [c for c in ("mean", "low", "high") if c in frame]
    return frame.assign(**{c: frame[c].round(4) for c in columns})


def study_evidence(
    runs: dict[str, RunDir], n_boot: int = bootstrap.N_BOOT, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`run_evidence` of every run of the study, together."""
    found = [run_evidence(folder, n_boot, seed) for folder in runs.values()]
    return (pd.concat([f[0] for f in found], ignore_index=True), pd.concat([f[1] for f in found], ignore_index=True))


@dataclass(frozen=True)
class Evidence:
    """``intervals.csv`` and ``differences.csv`` read back: the intervals the one rule calls differences with."""

    intervals: pd.DataFrame
    differences: pd.DataFrame

    def _run(self, frame: pd.DataFrame, run: str, pool: str) -> pd.DataFrame:
        part = frame[(frame["run"] == run) & (frame["pool"] == pool)]
        if not len(part):
            raise KeyError(f"the evidence files hold no {pool} rows of the run {run!r}")
        return part

    def interval_of(self, run: str, pool: str = "table1", model_name: str | None = None) -> compare.IntervalOf:
        """The rule's ``interval_of`` for differences between the models of ``pool`` in ``run`` (a difference
        dict of :func:`lib.metrics.compare.paired_difference`); None with one seed. ``model_name`` (pool
        ``smote``): the model whose SMOTE and unbalanced runs the difference's ``smote``/``unbalanced`` name."""
        if not self.has(run, pool):  # no test-set intervals for this pool: the seeds' (the sentence says which)
            return compare.seed_interval
        part = self._run(self.differences, run, pool)

        def interval(diff: dict) -> compare.Interval | None:
            a, b = diff["model"], diff["reference"]
            if model_name is not None:
                names = {"smote": SMOTE_PREFIX + model_name, "unbalanced": model_name}
                a, b = names[a], names[b]
            rows = part[(part["score"] == diff["metric"])]
            found = rows[(rows["model"] == a) & (rows["reference"] == b)]
            sign = 1.0
            if not len(found):
                found, sign = rows[(rows["model"] == b) & (rows["reference"] == a)], -1.0
            if not len(found):
                raise KeyError(f"differences.csv holds no {diff['metric']} difference of {a!r} and {b!r} in {run!r}")
            row = found.iloc[0]
            if int(row["seeds"]) < 2:
                return None
            low, high = sorted((sign * float(row["low"]), sign * float(row["high"])))
            return compare.Interval(low, high, DIFFERENCE_HOW)

        return interval

    def mean_of(self, run: str, pool: str = "table1") -> Callable[[pd.DataFrame, str, str], tuple]:
        """``(runs, model, metric) -> (mean, interval)``: the mean over seeds of ``runs`` and the bootstrap
        interval of ``intervals.csv`` (None with one seed), in the place of the seeds' t-interval."""
        if not self.has(run, pool):
            return compare.mean_interval
        part = self._run(self.intervals, run, pool)

        def mean_interval(runs: pd.DataFrame, model: str, metric: str) -> tuple[float, compare.Interval | None]:
            mean = float(runs.loc[runs["model"] == model, metric].mean())
            row = part[(part["model"] == model) & (part["score"] == metric)]
            if not len(row) or int(row["seeds"].iloc[0]) < 2:
                return mean, None
            return mean, compare.Interval(float(row["low"].iloc[0]), float(row["high"].iloc[0]), MEAN_HOW)

        return mean_interval

    def has(self, run: str, pool: str) -> bool:
        """Whether the files hold test-set intervals of ``pool`` in ``run``."""
        return bool(((self.intervals["run"] == run) & (self.intervals["pool"] == pool)).any())

    def describe(self, run: str) -> str:
        """How the intervals of ``run`` were made, in one sentence, and a caution where the test set's attack flows
        come from few groups (:data:`FEW_ATTACK_GROUPS`, :data:`DOMINANT_SHARE`)."""
        row = self._run(self.intervals, run, "table1").iloc[0]
        text = (
            f"The intervals resample the {int(row['test_rows']):,} test rows {int(row['resamples']):,} times in "
            f"{int(row['test_groups']):,} groups ({row['grouped_by']}; groups with and without attack flows each "
            f"resampled apart) and draw the {int(row['seeds'])} seeds again in each resample; two models are "
            "compared on the same resamples (paired)."
        )
        groups, share = int(row.get("attack_groups", 0)), float(row.get("largest_attack_share", 0.0))
        if groups and (groups < FEW_ATTACK_GROUPS or share > DOMINANT_SHARE):
            text += (
                f" The test set's attack flows come from {groups} group(s), the largest holding {100 * share:.1f} % "
                "of them: a resample without it holds few attack flows, so the intervals are wide. That is what "
                "this test set can say about attacks from other hosts, not a flaw of the resampling."
            )
        return text

    @classmethod
    def read(cls, folder) -> Evidence | None:
        """The evidence files of a figure folder (:class:`lib.report.FigureFolder`); None where it has none."""
        if not (folder.exists("intervals.csv") and folder.exists("differences.csv")):
            return None
        return cls(pd.read_csv(folder.file("intervals.csv")), pd.read_csv(folder.file("differences.csv")))


# ------------------------------------------------------------------------------------- operating realism
#: One attack flow in this many: the prevalence an operator's network is read at (``PREVALENCE`` of notebook 06).
PREVALENCE = 0.001
#: The flows per day of data sets whose mirror holds extracts, not whole captures: (flows per day, source).
PUBLISHED_RATES = {
    "cicids2017": (
        2_273_097 / 5,
        "CICIDS2017's 2,273,097 benign flows (its eight MachineLearningCVE files, 2,830,743 flows in all) over its "
        "five capture days (Sharafaldin et al., ICISSP 2018)",
    ),
}
#: A source's own rate is measured only over at least this many seconds and with this share of its rows timed.
MIN_SPAN_SECONDS, MIN_TIMED_SHARE = 3600, 0.9


def flows_per_day(parameters: dict, dataset: str, given: float = 0.0) -> tuple[float | None, str, pd.DataFrame]:
    """The data's own rate of **benign** flows per day (the traffic false alarms come from), how it was found (a few
    words), and the rate of each source file it was measured on. For a data set whose mirror holds extracts
    (:data:`PUBLISHED_RATES`): the published total (no table). Else each source file's benign flows (all rows read,
    before dedup and sampling) over the time all its flows span, where a time column dates at least :data:`MIN_TIMED_SHARE` of them over at least
    :data:`MIN_SPAN_SECONDS`, and the median over those files; ``(None, why not, table)`` when none qualifies.
    ``parameters`` are notebook 01's (to read the data as it did); a rate ``given`` (``FLOWS_PER_DAY``) is used
    as it is, and nothing is read."""
    from lib import datasets
    from lib.datasets import times

    if given:
        return float(given), "FLOWS_PER_DAY", pd.DataFrame()
    if dataset in PUBLISHED_RATES:
        rate, source = PUBLISHED_RATES[dataset]
        return rate, source, pd.DataFrame()
    raw = datasets.load_for({**parameters, "SAMPLE_ROWS": 0})
    rows = []
    for source, part in raw.groupby("source_file", observed=True, sort=True) if "source_file" in raw else []:
        found = times.flow_times(part)
        timed = float(found.times.notna().mean()) if found.times is not None else 0.0
        span = (found.times.max() - found.times.min()).total_seconds() if timed else 0.0
        used = timed >= MIN_TIMED_SHARE and span >= MIN_SPAN_SECONDS
        benign = int((part["is_attack"] == 0).sum()) if "is_attack" in part else len(part)
        used = used and benign > 0
        rows.append({"Source file": str(source), "Flows": len(part), "Benign flows": benign,
                     "Timed (%)": f"{100 * timed:.1f}", "Hours spanned": f"{span / 3600:,.1f}",
                     "Benign flows per day": f"{benign / span * 86_400:,.0f}" if used else "",
                     "Used": "yes" if used else "no"})  # fmt: skip
    table = pd.DataFrame(rows)
    rates = [float(r.replace(",", "")) for r in table.get("Benign flows per day", []) if r]
    if not rates:
        return (
            None,
            "no source file with benign flows dates most of its flows over an hour or more: set FLOWS_PER_DAY",
            table,
        )
    return float(np.median(rates)), f"the median of {len(rates)} source files' own benign rates (flow_rates.md)", table


def operating_table(
    folder: RunDir,
    n_boot: int = bootstrap.N_BOOT,
    seed: int = 42,
    prevalence: float = PREVALENCE,
    per_day: float | None = None,
    per_day_from: str = "",
    targets: tuple[float, ...] = metrics.OPERATING_FPRS,
) -> pd.DataFrame:
    """Each model of Table 1 and of the fusion stage at each target false-positive rate: the threshold set on the
    validation benign flows (a finer rate only where at least ``1 / target`` of them exist, else said; the coarsest
    always, at the highest benign validation score where they are fewer), the
    detection rate and the false-positive rate it gives on the test rows, the precision an operator would see if
    one flow in ``1 / prevalence`` were an attack, and the false alarms per day at ``per_day`` benign flows a day
    (blank without a rate; ``per_day_from`` says where the rate comes from), each with its 95 % test-set bootstrap
    interval (means over seeds, percent), the rates' intervals widened to at least their binomial ones
    (:func:`_widened`) and the precision's to what the widened false-positive rate gives."""
    data = folder.load_prepared()
    groups, grouped_by = bootstrap.test_groups(data.rows["test"])
    y_test, y_val = (data.y_test != 0).astype(np.int64), np.asarray(data.y_val)
    stages = [*TABLE1_STAGES, *(["fusion"] if folder.has("fusion") else [])]
    read_test = _reader(folder, stages)
    read_val = _reader(folder, stages, split="val")
    members, seeds = _table1_members(folder)
    draws = bootstrap.resamples(groups, y_test, seeds, n_boot=n_boot, seed=seed, how=grouped_by)
    if "fusion" in stages:
        members += [m for m in folder.open("fusion").models if m not in members]
    benign_val = int((y_val == 0).sum())
    rows = []
    for model, target in itertools.product(members, targets):
        row = {"Model": metrics.CONTENDER_NAMES.get(model, model), "Target FPR (%)": f"{100 * target:g}",
               "Benign validation flows": benign_val, "Prevalence": f"1 in {1 / prevalence:,.0f}",
               "Benign flows per day": f"{per_day:,.0f}" if per_day else "", "From": per_day_from}  # fmt: skip
        if benign_val * target < 1 and target != max(targets):  # the coarsest rate is always set
            rows.append(row | {"Detection (%)": f"not set: {benign_val:,} benign validation flows cannot resolve it"})
            continue
        alerts = {}
        for s in seeds:
            val_score = metrics.attack_score(read_val(model, s))[y_val == 0]
            threshold = metrics.threshold_at_fpr(val_score, target)
            alerts[s] = (metrics.attack_score(read_test(model, s)) > threshold).astype(np.int64)
        point, boot = bootstrap.replicate_scores(y_test, alerts, 2, draws)
        n_attack, n_benign = int(y_test.sum()), int((y_test == 0).sum())
        detection = _widened(point["detection"], boot["detection"], n_attack)
        fpr = _widened(point["fpr"], boot["fpr"], n_benign)
        precision_point = float(_precision(point["detection"], point["fpr"], prevalence))
        low, high = bootstrap.percentile_interval(_precision(boot["detection"], boot["fpr"], prevalence))
        worst = float(_precision(point["detection"], fpr[2], prevalence))  # as many false alarms as the FPR allows
        best = float(_precision(point["detection"], fpr[1], prevalence))
        cells = {
            "Detection (%)": tuple(100 * v for v in detection),
            "Test FPR (%)": tuple(100 * v for v in fpr),
            f"Precision at 1 in {1 / prevalence:,.0f} (%)": tuple(
                100 * v for v in (precision_point, np.nanmin([low, worst]), np.nanmax([high, best]))),
        }  # fmt: skip
        if per_day:
            cells["False alarms per day"] = tuple(v * per_day for v in fpr)
        for column, (mean, low, high) in cells.items():
            decimals = 0 if column == "False alarms per day" else 1
            row[column] = f"{mean:,.{decimals}f} [{low:,.{decimals}f}, {high:,.{decimals}f}]"
        rows.append(row)
    return pd.DataFrame(rows)


def _widened(point: float, resampled: np.ndarray, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """A rate's mean and 95 % interval: the bootstrap's, widened to at least the Clopper-Pearson interval of its
    count on the ``n`` test rows. Resamples of a test set with no (or few) false alarms show none, which says
    nothing about the next thousand benign flows; the binomial interval of 0 of ``n`` does (up to about 3.7/n)."""
    low, high = bootstrap.percentile_interval(resampled, confidence)
    if not n or not np.isfinite(point):
        return point, low, high
    k, tail = round(point * n), (1 - confidence) / 2
    exact_low = float(stats.beta.ppf(tail, k, n - k + 1)) if k > 0 else 0.0
    exact_high = float(stats.beta.ppf(1 - tail, k + 1, n - k)) if k < n else 1.0
    return point, float(np.nanmin([low, exact_low])), float(np.nanmax([high, exact_high]))


def _precision(detection, fpr, prevalence: float):
    """Precision at ``prevalence``: the share of alerts that are attacks (nan where nothing is flagged)."""
    detection, fpr = np.asarray(detection, dtype=float), np.asarray(fpr, dtype=float)
    flagged = prevalence * detection + (1 - prevalence) * fpr
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(flagged > 0, prevalence * detection / flagged, np.nan)
