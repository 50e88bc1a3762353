"""Check that a rerun gives the committed Table 1: ``make verify`` (``python -m lib.verify``).

    python -m lib.verify --dataset iot23 -p DATA_DIR ../shared/data     # rerun 01-03, compare with figures/iot23/
    python -m lib.verify --run-dir runs/iot23                           # compare a run that exists, rerun nothing

Notebooks 01-03 of the data set's main run (its ``notebooks/params/<dataset>.yaml``, the command line's ``-p``)
run into a fresh folder, ``runs/verify-<dataset>-<time>/`` (never a folder that exists, never ``figures/``).
Table 1 and its companion at fixed false-positive rates are then built from that run by the functions
notebook 06 uses, written into the run's ``verify/`` folder, and compared cell by cell with the committed
``figures/<name>/table1.csv`` and ``table1_detection_at_fpr.csv`` (``--run-dir``: an existing run's tables,
written into a fresh ``runs/verify-*`` folder all the same). Every cell that is not byte-identical is
printed with its difference; a cell further than the tolerance (:data:`TOLERANCES`), a missing row or column,
or a cell whose form changed fails the check (exit status 1, else 0).

The deep models are trained with oneDNN and Eigen kernels that TensorFlow picks for the CPU at hand, and their
results are reproducible for a seed on one machine only (the SVM and the forests are the same everywhere): on
another CPU each network is another draw of its training's noise, as another seed is. So a cell may move as far as
the seeds say such a draw moves it (:func:`allowance`): twice the standard error of the difference of two
means over the run's ``n`` seeds, from the seeds' own spread (a ``mean ± std`` cell: both sides' ``std``; a
test-set interval's bound: the spread of that bound over the rerun's seeds, each seed's interval on the same
resamples, :func:`lib.report.seed_bound_spread`), and never less than a fixed floor in points of a percentage
(:data:`TOLERANCES`: one for a mean, a wider one for a ``± std`` and an interval's bound). Detection at a fixed
false-positive rate reads a threshold off a handful of benign validation rows and moves further for the same
change, so its table has floors of its own.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from lib import report, runner
from lib.paths import REPO_ROOT
from lib.run import RunDir, default_name, notebook_defaults

#: The notebooks a verification reruns: Table 1 is made from notebooks 02 and 03's scores and predictions.
NOTEBOOKS = ("01", "02", "03")


@dataclass(frozen=True)
class Tolerance:
    """The least a rerun's cell may move from the committed one, in points of a percentage: its mean, and its
    ``± std`` or an interval's bound (:func:`allowance` allows more where the seeds' spread says so)."""

    mean: float
    spread: float


#: Standard errors of a difference a cell may move by (two: about 19 reruns in 20 that differ from the committed
#: run only as another draw of the seeds would).
STANDARD_ERRORS = 2.0
#: Per committed table: the floors of its cells (module docstring; tests/README.md says how they were chosen).
TOLERANCES = {
    "table1": Tolerance(mean=0.5, spread=1.0),
    "table1_detection_at_fpr": Tolerance(mean=2.0, spread=3.0),
}
#: The column that names a row in every table compared.
KEY = "Model"

_CELL = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:±\s*(\d+(?:\.\d+)?))?\s*$")
_INTERVAL = re.compile(r"^\s*\[(-?\d+(?:\.\d+)?), (-?\d+(?:\.\d+)?)\]\s*$")


def parse_cell(text: str) -> tuple[float, float | None] | None:
    """``"94.3 ± 0.2"`` -> ``(94.3, 0.2)``, ``"89.5"`` -> ``(89.5, None)``; None for text that is no number."""
    found = _CELL.match(str(text))
    if not found:
        return None
    mean, spread = found.groups()
    return float(mean), (float(spread) if spread is not None else None)


@dataclass(frozen=True)
class CellDifference:
    """One cell that is not byte-identical: where, both texts, and whether it is within the tolerance."""

    table: str
    row: str
    column: str
    committed: str
    rerun: str
    mean: float | None  # rerun minus committed (None: not two numbers); an interval's low bound
    spread: float | None  # the ± std's difference; an interval's high bound
    within: bool
    allowed: tuple[float, float] = (0.0, 0.0)  # how far the mean and the spread (the two bounds) may move

    def line(self) -> str:
        """One printed line: the cell, both texts, the differences, what each may move by and the verdict."""
        parts = [f"{self.table}: {self.row} / {self.column}: committed {self.committed!r}, rerun {self.rerun!r}"]
        interval = _INTERVAL.match(str(self.committed)) is not None
        if self.mean is not None:
            parts.append(f"{'low' if interval else 'mean'} {self.mean:+.2f} (allowed {self.allowed[0]:.2f})")
        if self.spread is not None:
            parts.append(f"{'high' if interval else '±'} {self.spread:+.2f} (allowed {self.allowed[1]:.2f})")
        if self.mean is None:
            parts.append("not comparable as numbers")
        return ", ".join(parts) + (": within" if self.within else ": OUTSIDE")


@dataclass
class Comparison:
    """The outcome of comparing one table: cells counted, the differences, and the structural errors."""

    table: str
    tolerance: Tolerance
    cells: int = 0
    identical: int = 0
    differences: list[CellDifference] | None = None
    errors: list[str] | None = None

    @property
    def passed(self) -> bool:
        return not self.errors and all(d.within for d in self.differences or [])

    def report(self) -> list[str]:
        """The lines :func:`main` prints: each error, each differing cell, then one summary line."""
        lines = [f"{self.table}: ERROR {error}" for error in self.errors or []]
        lines += [difference.line() for difference in self.differences or []]
        outside = sum(not d.within for d in self.differences or [])
        lines.append(
            f"{self.table}: {self.cells} cells, {self.identical} byte-identical, "
            f"{len(self.differences or []) - outside} within tolerance, {outside} outside, "
            f"{len(self.errors or [])} error(s): {'PASS' if self.passed else 'FAIL'}"
        )
        return lines


def allowance(floor: float, spreads: tuple[float, ...], seeds: int) -> float:
    """How far a cell may move: :data:`STANDARD_ERRORS` times the standard error of the difference of two means
    over ``seeds`` seeds whose standard deviations are ``spreads`` (one per side), or ``floor`` if that is more
    (always ``floor`` with fewer than two seeds, where no spread is measured)."""
    if seeds < 2 or not spreads:
        return floor
    return max(floor, STANDARD_ERRORS * math.sqrt(sum(s * s for s in spreads) / seeds))


def compare_cell(
    table: str,
    row: str,
    column: str,
    committed: str,
    rerun: str,
    tolerance: Tolerance,
    seeds: int = 0,
    bound_spread: tuple[float, float] | None = None,
):
    """None when the two texts are identical, else the :class:`CellDifference`. Numbers pass within their
    :func:`allowance` over ``seeds`` seeds (the floors ``tolerance``): a mean from both sides' ``± std``, an
    interval's bound from ``bound_spread`` (the spread of its low and high bound over the rerun's seeds, taken
    for both sides), a ``± std`` at its floor. A number against a blank or text fails, as does a ``± std`` on one
    side only."""
    if committed == rerun:
        return None
    bounds = [_INTERVAL.match(str(text)) for text in (committed, rerun)]
    if all(bounds):  # a test-set interval: each bound within its own allowance
        (low_old, high_old), (low_new, high_new) = ((float(a), float(b)) for a, b in (m.groups() for m in bounds))
        low, high = low_new - low_old, high_new - high_old
        spread = bound_spread or (0.0, 0.0)
        allowed = tuple(allowance(tolerance.spread, (s, s) if math.isfinite(s) else (), seeds) for s in spread)
        within = _close(low, allowed[0]) and _close(high, allowed[1])
        return CellDifference(table, row, column, committed, rerun, low, high, within, allowed)
    old, new = parse_cell(committed), parse_cell(rerun)
    if old is None or new is None or (old[1] is None) != (new[1] is None):
        return CellDifference(table, row, column, committed, rerun, None, None, False)
    mean = new[0] - old[0]
    spread = new[1] - old[1] if old[1] is not None and new[1] is not None else None
    allowed = (allowance(tolerance.mean, (old[1], new[1]) if spread is not None else (), seeds), tolerance.spread)
    within = _close(mean, allowed[0]) and (spread is None or _close(spread, allowed[1]))
    return CellDifference(table, row, column, committed, rerun, mean, spread, within, allowed)


def _close(difference: float, tolerance: float) -> bool:
    # the cells are rounded to one decimal: 0.5 - 0.0 may come out as 0.5000000000000001
    return abs(difference) <= tolerance or math.isclose(abs(difference), tolerance, abs_tol=1e-9)


def compare_tables(
    table: str,
    committed: pd.DataFrame,
    rerun: pd.DataFrame,
    tolerance: Tolerance,
    seeds: int = 0,
    bound_spreads: pd.DataFrame | None = None,
) -> Comparison:
    """Every cell of ``committed`` against the same row (by :data:`KEY`) and column of ``rerun`` (both read as
    text), over ``seeds`` seeds (:func:`compare_cell`); ``bound_spreads``: a table of the rerun's shape whose
    interval cells hold the spread of each bound over the seeds (``"[1.2, 0.3]"``). A row or column on one side
    only is an error naming it; the other cells are still compared."""
    out = Comparison(table, tolerance, differences=[], errors=[])
    for name, frame in (("committed", committed), ("rerun", rerun)):
        if KEY not in frame.columns:
            out.errors.append(f"the {name} table has no {KEY!r} column (its columns: {', '.join(frame.columns)})")
    if out.errors:
        return out
    columns = [c for c in committed.columns if c != KEY]
    out.errors += [f"column {c!r} is missing from the rerun" for c in columns if c not in rerun.columns]
    out.errors += [f"column {c!r} is new in the rerun" for c in rerun.columns if c not in committed.columns]
    old, new = committed.set_index(KEY), rerun.set_index(KEY)
    spreads = bound_spreads.set_index(KEY) if bound_spreads is not None and KEY in bound_spreads else None
    out.errors += [f"row {r!r} is missing from the rerun" for r in old.index if r not in new.index]
    out.errors += [f"row {r!r} is new in the rerun" for r in new.index if r not in old.index]
    for row in (r for r in old.index if r in new.index):
        for column in (c for c in columns if c in new.columns):
            out.cells += 1
            difference = compare_cell(table, row, column, old.at[row, column], new.at[row, column], tolerance,
                                      seeds, _bound_spread(spreads, row, column))  # fmt: skip
            if difference is None:
                out.identical += 1
            else:
                out.differences.append(difference)
    return out


def _bound_spread(spreads: pd.DataFrame | None, row: str, column: str) -> tuple[float, float] | None:
    """The spreads of a cell's two bounds, read from ``spreads``' cell ``"[low, high]"`` (None where there is none)."""
    if spreads is None or row not in spreads.index or column not in spreads.columns:
        return None
    found = _INTERVAL.match(str(spreads.at[row, column]))
    return (float(found.group(1)), float(found.group(2))) if found else None


def read_table(path: Path) -> pd.DataFrame:
    """A table CSV as text, cell for cell (a blank cell is ``""``, never NaN)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: nothing to compare with (notebook 06 of that run writes it)")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def resampling(dataset: str, run: RunDir) -> tuple[int, int]:
    """The resamples and seed of the committed Table 1's intervals: the number its ``intervals.csv`` records (else
    notebook 06's default) and the run's ``SEED`` (the one notebook 06 is given by the runner)."""
    n_boot = int(notebook_defaults("06_results_and_figures.ipynb")["N_BOOT"])
    committed = REPO_ROOT / "figures" / run.name / "intervals.csv"
    if committed.exists():
        n_boot = int(pd.read_csv(committed, usecols=["resamples"])["resamples"].iloc[0])
    return n_boot, int(run.open("prepared").parameters.get("SEED", 42))


#: The table :func:`rerun_tables` writes beside Table 1: the spread over the seeds of each interval bound.
BOUND_SPREADS = "table1_bound_spread"


def rerun_tables(run: RunDir, dataset: str, out: Path) -> tuple[dict[str, Path], int]:
    """Table 1 and its detection companion of ``run``, as notebook 06 builds them, and Table 1's shape with the
    spread over the seeds of each interval bound (:data:`BOUND_SPREADS`), written under ``out``; and the number
    of seeds they are over."""
    label_mode = run.load_prepared().label_mode
    folder = report.FigureFolder(out, "verify")
    n_boot, seed = resampling(dataset, run)
    intervals, _ = report.run_evidence(run, n_boot, seed)
    runs = report.load_runs(run)
    table1 = report.table1_with_intervals(runs, dataset, label_mode, intervals, run.name)
    written = {"table1": folder.table(table1, "table1")[0]}
    detection = report.detection_table(report.detection_rows(run))
    written["table1_detection_at_fpr"] = folder.table(detection, "table1_detection_at_fpr")[0]
    spreads = report.seed_bound_spread(run, n_boot, seed)
    table = report.table1_with_intervals(runs, dataset, label_mode, spreads, run.name)
    written[BOUND_SPREADS] = folder.table(table, BOUND_SPREADS)[0]
    seeds = int(intervals.loc[intervals["pool"] == "table1", "seeds"].max()) if len(intervals) else 0
    return written, seeds


def verify(committed_dir: Path, written: dict[str, Path], seeds: int = 0) -> list[Comparison]:
    """Each table of ``written`` compared with the one of the same name in ``committed_dir`` over ``seeds``
    seeds (Table 1's interval bounds with the spreads of ``written``'s :data:`BOUND_SPREADS`, where it has it);
    a table the committed folder lacks is skipped only where it is optional (the detection companion)."""
    results = []
    spreads = read_table(written[BOUND_SPREADS]) if BOUND_SPREADS in written else None
    for name, path in written.items():
        committed = committed_dir / path.name
        if name == BOUND_SPREADS or (name != "table1" and not committed.exists()):
            continue
        results.append(compare_tables(name, read_table(committed), read_table(path), TOLERANCES[name], seeds,
                                      spreads if name == "table1" else None))  # fmt: skip
    return results


def fresh_run_dir(dataset: str) -> Path:
    """``runs/verify-<dataset>-<UTC time>``, which must not exist yet."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = REPO_ROOT / "runs" / f"verify-{dataset}-{stamp}"
    if folder.exists():
        raise FileExistsError(f"{folder} exists: a verification never writes into an earlier run")
    return folder


def _rerun(dataset: str, parameters: dict, run_dir: Path) -> None:
    """Notebooks :data:`NOTEBOOKS` of the main run into ``run_dir`` (fresh)."""
    if run_dir.exists():
        raise FileExistsError(f"{run_dir} exists: a verification reruns into a new folder, never into an old one")
    runner.run(dataset, {**parameters, "RUN_DIR": str(run_dir)}, only=NOTEBOOKS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="iot23", help="the data set of the main run (default iot23)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument("--run-dir", default="", help="compare this existing run, rerun nothing")
    parser.add_argument("--figures", default="", help="the committed tables (default figures/<the run's name>)")
    args = parser.parse_args(argv)
    types = runner.declared_types()
    params = {name: runner.parse_value(value, types.get(name)) for name, value in args.parameter}
    name = str(params.get("NAME") or default_name(args.dataset, str(params.get("DATA_FILES", ""))))
    committed = Path(args.figures) if args.figures else REPO_ROOT / "figures" / name
    try:
        out = fresh_run_dir(args.dataset)  # the rerun, or only its tables with --run-dir
        run_dir = Path(args.run_dir) if args.run_dir else out
        if not args.run_dir:
            print(f"verify: notebooks {' '.join(NOTEBOOKS)} of {args.dataset} into {run_dir}", flush=True)
            _rerun(args.dataset, params, run_dir)
        written, seeds = rerun_tables(RunDir(run_dir), args.dataset, out)
        results = verify(committed, written, seeds)
    except (RuntimeError, ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for result in results:
        print("\n".join(result.report()))
    passed = all(r.passed for r in results)
    print(f"verify: {run_dir} against {committed}: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
