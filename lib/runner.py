"""Run the numbered notebooks in order with papermill: the project's main command.

    python -m lib.runner --dataset iot23                      # the study: every notebook, every run (below)
    python -m lib.runner --dataset iot23 --no-study           # notebooks 01-06 once, default parameters
    python -m lib.runner --dataset cicids2017 -p SAMPLE_ROWS 20000 --only 01
    python -m lib.runner --dataset csv -p DATA_FILES my.csv -p LABEL_COLUMN label -p BENIGN_LABELS normal
    python -m lib.runner --dataset zeek -p DATA_FILES captures/         # any labelled Zeek conn logs
    python -m lib.runner --publish runs/iot23                 # publish a run's executed notebooks, running nothing

A data set's ``notebooks/params/<dataset>.yaml`` may list a *study* (:func:`run_study`): the runs besides the
main one that the paper's comparison needs (the tuned configuration, the strict split protocols, the SMOTE set, and
one run per held-out capture where a step says ``TEST_SOURCES: each``); notebook 06 of the main run then compares
them. ``--only`` and ``--no-study`` run the main run alone.

Parameters come from ``notebooks/params/<dataset>.yaml`` (if present), then from ``-p NAME VALUE``.
Each notebook is passed the names its ``parameters`` cell declares. A name that no notebook declares is an
error (papermill itself only warns about an unknown name, so a typo would pass silently), and so is a name
given with ``-p`` that none of the selected notebooks declares (``--only 03 -p SAMPLE_ROWS 2000`` would
otherwise run notebook 03 on the rows notebook 01 prepared earlier, not on 2,000). Executed notebooks go to
``RUN_DIR/notebooks/`` (``runs/<NAME>/`` by default; ``NAME`` defaults to the registered data set, or the
stem of the user's first data file, so two data sets never share a folder), one progress line per notebook; a failure names the
notebook and the cell.

Once notebook 06 of a main run has run (the last step of :func:`run_study`, or :func:`run` with notebook 06 and
no ``label``: a study's other runs never run it), the run's executed notebooks 01-06 are *published* beside its
figures, ``FIGURES_DIR/<NAME>/notebooks/``, cleaned of the machine's paths and of the execution's times
(:mod:`lib.report.publish`), and its results page links them. ``--publish RUN_DIR`` does that for a run folder
executed earlier (``-p FIGURES_DIR`` where its figures are not under ``figures/``), without running anything.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import papermill
import yaml
from jupyter_client.manager import AsyncKernelManager

from lib import io, progress
from lib.paths import NOTEBOOK_DIR, REPO_ROOT
from lib.preprocess import EACH_SOURCE
from lib.run import (
    LOCATION_PARAMETERS,
    STAGES,
    RunDir,
    default_name,
    notebook_defaults,
    notebook_parameters,
    safe_name,
    variant,
)
from lib.session import coerce, numerics

PARAMS_DIR = NOTEBOOK_DIR / "params"


#: Notebooks that run only where named (``--only``, a study step): notebook 07 scores a capture the run never
#: trained on, which only a run that held one out has (the study's ``detect`` step).
ON_REQUEST = ("07",)


def notebooks(only: Iterable[str] | None = None, every: bool = False) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order; ``only`` keeps those whose name starts with one of them.
    Without ``only``, the chain: every notebook but those of :data:`ON_REQUEST` (``every=True``: all of them)."""
    found = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if only:
        prefixes = tuple(only)
        found = [p for p in found if p.name.startswith(prefixes)]
    elif not every:
        found = [p for p in found if not p.name.startswith(ON_REQUEST)]
    return found


def check_parameters(path: Path, parameters: dict) -> None:
    """Raise if a name in ``parameters`` is not in the notebook's parameters cell."""
    declared = notebook_parameters(path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ValueError(
            f"{path.name}: parameter(s) {unknown} are not in its parameters cell (it has: {', '.join(declared)})"
        )


def _dataset_file(dataset: str) -> dict:
    path = PARAMS_DIR / f"{dataset}.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


#: The profiles of the main command (``--profile``, ``make reproduce PROFILE=...``).
PROFILES_FILE = PARAMS_DIR / "profiles.yaml"


def profile_parameters(profile: str) -> tuple[dict, bool]:
    """A profile's parameters and whether it runs the study (``notebooks/params/profiles.yaml``)."""
    profiles = yaml.safe_load(PROFILES_FILE.read_text()) or {}
    if profile not in profiles:
        raise ValueError(f"unknown profile {profile!r}: {PROFILES_FILE.name} has {', '.join(profiles)}")
    parameters = dict(profiles[profile] or {})
    return parameters, bool(parameters.pop(STUDY_KEY, True))


def dataset_parameters(dataset: str) -> dict:
    """Defaults for one data set from ``notebooks/params/<dataset>.yaml`` (empty if there is none)."""
    return {k: v for k, v in _dataset_file(dataset).items() if k != STUDY_KEY}


#: Key of ``notebooks/params/<dataset>.yaml`` that lists the study's extra runs (see :func:`run_study`).
STUDY_KEY = "study"
#: The notebook that compares the runs of a study; it runs last, once every run has finished.
REPORT_NOTEBOOK = "06"


@dataclass(frozen=True)
class StudyStep:
    """One extra run of a study: ``name``, the notebooks it runs, its own parameters, and whether it continues
    the main run's folder (``same_run``: e.g. notebooks 02 and 03 on the SMOTE set) or is a run of its own
    (``runs/<NAME>-<name>``)."""

    name: str
    notebooks: tuple[str, ...]
    parameters: dict
    same_run: bool = False


def study_steps(dataset: str) -> list[StudyStep]:
    """The study of ``notebooks/params/<dataset>.yaml`` (empty where the file has none)."""
    steps = []
    for name, spec in (_dataset_file(dataset).get(STUDY_KEY) or {}).items():
        spec = dict(spec or {})
        books = tuple(str(spec.pop("notebooks", "01 02 03 04 05")).split())
        if REPORT_NOTEBOOK in books:
            raise ValueError(
                f"{dataset}.yaml: study step {name!r} runs notebook {REPORT_NOTEBOOK}, which runs once, last"
            )
        same_run = bool(spec.pop("same_run", False))
        steps.append(StudyStep(str(name), books, spec, same_run))
    return steps


def run_study(
    dataset: str, parameters: dict | None = None, log=None, defaults: dict | None = None, resume: bool = False
) -> list[Path]:
    """The main command: the main run (notebooks 01-05), then every step of the data set's study (other
    configurations, split protocols, the SMOTE set), then notebook 06 of the main run, which compares them all
    (its ``STUDY_RUNS``), after which the main run's executed notebooks are published beside its figures (only
    the main run's: :func:`publishes_notebooks`). A data set without a study runs notebooks 01-06 once, as
    :func:`run` does.

    Each step gets the command line's parameters that its notebooks declare, then its own (which win); a value
    may name the main run as ``{NAME}`` (e.g. a tuning record to reuse). Steps of their own run are named
    ``<NAME>-<step>``. ``defaults`` (a profile's parameters) sit between the data set's file and ``parameters``."""
    log = log or functools.partial(print, flush=True)
    parameters = dict(parameters or {})
    steps = study_steps(dataset)
    if not steps:
        return run(dataset, parameters, log=log, defaults=defaults, resume=resume)
    given = {**dataset_parameters(dataset), **(defaults or {}), **parameters}
    name = safe_name(given.get("NAME") or "") or default_name(dataset, given.get("DATA_FILES", ""))
    main = [p.name[:2] for p in notebooks() if not p.name.startswith(REPORT_NOTEBOOK)]
    log(f"study {name}: the main run, then {', '.join(s.name for s in steps)}, then notebook {REPORT_NOTEBOOK}")
    first = {n for p in notebooks(main) for n in notebook_parameters(p)}
    executed = run(
        dataset,
        {k: v for k, v in parameters.items() if k in first} | {"NAME": name},
        only=main,
        log=log,
        defaults=defaults,
        resume=resume,
    )
    others, held_out = [], []
    for step in steps:
        declared = {n for p in notebooks(step.notebooks) for n in notebook_parameters(p)}
        own = {k: v.format(NAME=name) if isinstance(v, str) else v for k, v in step.parameters.items()}
        these = {k: v for k, v in parameters.items() if k in declared or k in LOCATION_PARAMETERS}
        these |= {"NAME": name, **own} if step.same_run else {"NAME": f"{name}-{step.name}", "RUN_DIR": "", **own}
        loco = not step.same_run and str(own.get("TEST_SOURCES", "")).strip().lower() == EACH_SOURCE
        runs = [these]
        if loco:
            read_as = {**dataset_parameters(dataset), **(defaults or {}), **these, "DATASET": dataset}
            captures = attack_captures(read_as)
            log(f"study step {step.name!r}: one run per capture with attack flows, held out in turn: {captures}")
            runs = [these | {"NAME": f"{these['NAME']}-{safe_name(c)}", "TEST_SOURCES": c} for c in captures]
        for these in runs:
            if not step.same_run:
                these.pop("RUN_DIR", None)
                (held_out if loco else others).append(these["NAME"])
            log(f"study step {step.name!r}: notebooks {' '.join(step.notebooks)} ({these['NAME']})")
            label = step.name if step.same_run else ""
            executed += run(dataset, these, only=step.notebooks, log=log, label=label, defaults=defaults,
                            resume=resume)  # fmt: skip
    report = {k: v for k, v in parameters.items() if k in notebook_parameters(notebooks([REPORT_NOTEBOOK])[0])}
    report |= {"NAME": name, "STUDY_RUNS": ",".join(others), "LOCO_RUNS": ",".join(held_out)}
    executed += run(dataset, report, only=[REPORT_NOTEBOOK], log=log, defaults=defaults)
    return executed


def attack_captures(parameters: dict) -> list[str]:
    """The captures (IoT-23 scenarios, CICIDS2017 days, a user's source files: :func:`lib.datasets.schema.
    capture_sources`) of the data notebook 01 reads with ``parameters`` that hold attack flows, in order: a
    leave-one-capture-out step holds each out in turn. A capture of benign flows only stays in training."""
    from lib import datasets
    from lib.datasets import schema

    raw = datasets.load_for(parameters)
    found = schema.capture_sources(raw)
    if found is None:
        raise ValueError("TEST_SOURCES=each needs the rows' source files (column source_file, which the loaders add)")
    attacks = raw["is_attack"].astype(bool).groupby(found[0].to_numpy()).sum()
    captures = sorted(str(c) for c, n in attacks.items() if n > 0)
    if len(captures) < 2:
        raise ValueError(
            f"TEST_SOURCES=each holds out each capture with attack flows while the others train, so it needs two "
            f"or more of them; the data's captures with attack flows: {captures} (of {sorted(map(str, attacks.index))})"
        )
    return captures


def run(
    dataset: str,
    parameters: dict | None = None,
    only: Iterable[str] | None = None,
    output_dir: str | Path | None = None,
    per_notebook: dict[str, dict] | None = None,
    log=None,
    label: str = "",
    defaults: dict | None = None,
    resume: bool = False,
) -> list[Path]:
    """Execute the notebooks in order; return the executed copies. ``per_notebook`` maps a notebook name
    prefix (``"03"``) to extra parameters for that notebook only. ``label`` names the executed copies
    ``<notebook>.<label>.ipynb``, so that a second pass over the same run folder (a study step such as the
    SMOTE set) keeps the first pass's executed notebooks. ``defaults`` (a profile's parameters) sit between the
    data set's file and ``parameters``; each notebook gets those it declares. With ``resume``, a notebook whose
    stage is already complete, current, and made by the same code with the same parameters is not run again
    (a long study stopped half-way goes on where it stopped, with the results an uninterrupted run gives)."""
    log = log or functools.partial(print, flush=True)
    if output_dir:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
    given = {**dataset_parameters(dataset), **(defaults or {}), **(parameters or {})}
    name = safe_name(given.get("NAME") or "") or default_name(dataset, given.get("DATA_FILES", ""))
    params = {"DATASET": dataset, "NAME": name, "RUN_DIR": f"runs/{name}", **given}
    selected = notebooks(only)
    if not selected:
        raise FileNotFoundError(f"no notebook matches {list(only or [])} in {NOTEBOOK_DIR}")
    declared = {path: notebook_parameters(path) for path in notebooks(every=True)}
    _check_names(dataset, params, parameters or {}, selected, declared)
    run_folder = RunDir(params["RUN_DIR"])
    plans = []
    for path in selected:
        extra = next((v for k, v in (per_notebook or {}).items() if path.name.startswith(k)), {})
        check_parameters(path, extra)
        # each notebook gets the shared names and those of its own it declares
        these = {k: v for k, v in params.items() if k in declared[path]} | extra
        plans.append((path, these))
    executed = []
    with _kernel_environment():
        record_numerics(run_folder)
    for i, (path, these) in enumerate(plans, 1):
        copy = f"{path.stem}.{safe_name(label)}{path.suffix}" if label else path.name
        target = Path(output_dir) / copy if output_dir else run_folder.notebook_path(copy)
        step = f"[{i}/{len(plans)}] {path.name}"
        executed.append(_execute(run_folder, path, these, target, copy, step, log, resume and declared[path]))
    if publishes_notebooks(selected, label, output_dir):
        report = next(these for path, these in plans if path.name.startswith(REPORT_NOTEBOOK))
        publish_notebooks(run_folder.path, report.get("FIGURES_DIR", ""), report.get("DATASET", dataset), log)
    return executed


def publishes_notebooks(selected: Iterable[Path], label: str = "", output_dir: str | Path | None = None) -> bool:
    """Whether :func:`run` publishes the run's executed notebooks once ``selected`` have run: when notebook 06 (the
    report, which only a main run runs) is among them, into the run folder (no ``output_dir``) and not as a
    labelled pass of a study step."""
    return not label and not output_dir and any(p.name.startswith(REPORT_NOTEBOOK) for p in selected)


def publish_notebooks(run_dir: str | Path, figures_dir: str | Path = "", dataset: str = "", log=None) -> list:
    """Publish ``run_dir``'s executed notebooks 01-06 into ``figures_dir/<run name>/notebooks/`` (notebook 06's
    ``FIGURES_DIR``; empty: its default) and write the run's results page again so that it links them
    (:func:`lib.report.publish.publish_run`); log one line with each notebook's size and what was removed."""
    from lib.report import publish  # the report layer (matplotlib and all): only where notebooks are published

    log = log or functools.partial(print, flush=True)
    report = notebooks([REPORT_NOTEBOOK])[0].name
    figures_dir = figures_dir or notebook_defaults(report).get("FIGURES_DIR", "figures")
    published = publish.publish_run(run_dir, figures_dir, dataset)
    folder = published[0].path.parent
    log(f"published {len(published)} executed notebook(s) -> {folder}: {publish.summary(published)}")
    return published


def _check_names(dataset: str, params: dict, given: dict, selected: list[Path], declared: dict) -> None:
    """Refuse a parameter no notebook declares, one that reaches none of the ``selected`` notebooks (places
    aside), and a user's data set continued without notebook 01 and without a run named."""
    unknown = sorted(set(params) - {name for names in declared.values() for name in names})
    if unknown:
        raise ValueError(
            f"parameter(s) {unknown} are in no notebook's parameters cell ({', '.join(p.name for p in declared)})"
        )
    # where things are (RUN_DIR, DATA_DIR, ...) changes no result: harmless where a notebook does not read it
    unread = sorted(set(given) - set(LOCATION_PARAMETERS) - {name for path in selected for name in declared[path]})
    if unread:
        owners = {n: [p.name[:2] for p in declared if n in declared[p]] for n in unread}
        raise ValueError(
            f"parameter(s) {unread} reach none of the notebooks run ({', '.join(p.name[:2] for p in selected)}); they "
            f"belong to {owners}. Run those notebooks too (their results feed the others), or leave the parameter(s) out"
        )
    if dataset in ("zeek", "csv") and not any(p.name.startswith("01") for p in selected):
        if not given.get("NAME") and not given.get("RUN_DIR"):
            raise ValueError(
                f"--dataset {dataset} without notebook 01: say which run to continue with -p NAME <name> (the name "
                f"notebook 01 gave it: runs/<name>) or -p RUN_DIR <folder>"
            )


def _execute(
    run_folder: RunDir, path: Path, these: dict, target: Path, copy: str, step: str, log, declared: dict | bool
) -> Path:
    """Execute one notebook into ``target`` (or reuse its stage: ``declared`` is its parameters when resuming),
    recording its wall time; a failure names the notebook, the cell and where the traceback is."""
    kernel_log = target.with_suffix(".log")
    start, started = time.perf_counter(), datetime.now(UTC).isoformat(timespec="seconds")
    reused = declared and _reusable(run_folder, path, these, declared)
    if reused:
        log(f"{step}: reused (complete, same code and parameters: {reused[:12]})")
        run_folder.record_wall_time(copy, 0.0, started, "reused")
        return target
    log(f"{step} ...")
    status = "failed"
    try:
        with _kernel_environment():
            papermill.execute_notebook(
                str(path), str(target), parameters=these, cwd=str(REPO_ROOT), progress_bar=False,
                kernel_name="python3", kernel_manager_class=_kernel_manager(kernel_log),
            )  # fmt: skip
        status = "complete"
    except papermill.PapermillExecutionError as err:
        raise RuntimeError(
            f"{path.name} failed in cell {err.exec_count} ({err.ename}: {err.evalue}). "
            f"The executed notebook with the traceback is {target} (the kernel's log: {kernel_log})"
        ) from err
    finally:
        run_folder.record_wall_time(copy, time.perf_counter() - start, started, status)
    log(f"{step} done in {time.perf_counter() - start:.0f} s -> {target}")
    return target


def _reusable(run_folder: RunDir, path: Path, given: dict, declared: dict[str, dict]) -> str | None:
    """The fingerprint of the stage notebook ``path`` would write with ``given``, if that stage is already there,
    complete, current, and made by the same code with the same parameters (:meth:`RunDir.reusable`)."""
    written = [stage for stage, (notebook, _) in STAGES.items() if notebook == path.name]
    if not written:  # notebook 06 writes figures, not a stage: always run
        return None
    defaults = notebook_defaults(path.name)
    recorded = {
        name: coerce(given.get(name, defaults.get(name)), spec["inferred_type_name"]) for name, spec in declared.items()
    }
    stage = written[0] if len(written) == 1 else variant(written[0], recorded.get("TRAIN_SPLIT", "train"))
    return run_folder.reusable(stage, recorded)


class QuietKernelManager(AsyncKernelManager):
    """The kernels that execute the notebooks: local IPC sockets (not TCP on localhost, which ipykernel warns
    about on every start) in a temporary folder of their own (a killed kernel leaves its sockets there, not in the
    folder it ran in), and their standard error appended to :attr:`log_path` instead of the terminal. That
    stream carries what a user cannot act on (TensorFlow's start-up lines); the notebook keeps its own outputs,
    and the progress bars go to the terminal through the kernel's standard output (``lib/progress.py``)."""

    log_path: Path | None = None

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        if kwargs["transport"] == "ipc":  # the sockets in a folder of their own, never the repository's root
            kwargs.setdefault("ip", str(Path(tempfile.mkdtemp(prefix="iot-botnet-kernel-")) / "kernel"))
        super().__init__(**kwargs)

    async def shutdown_kernel(self, *args, **kwargs):
        await super().shutdown_kernel(*args, **kwargs)
        if self.transport == "ipc" and Path(self.ip).parent.name.startswith("iot-botnet-kernel-"):
            shutil.rmtree(Path(self.ip).parent, ignore_errors=True)

    async def start_kernel(self, **kwargs):
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as log:  # the kernel keeps its own copy of the descriptor
                kwargs.setdefault("stderr", log)
                return await super().start_kernel(**kwargs)
        return await super().start_kernel(**kwargs)


def _kernel_manager(log_path: Path) -> type[QuietKernelManager]:
    """A :class:`QuietKernelManager` class whose kernels log to ``log_path`` (papermill builds the instance)."""
    return type("QuietKernelManager", (QuietKernelManager,), {"log_path": log_path})


#: What the runner records of the arithmetic its kernels do (:func:`lib.session.numerics`), beside the executed
#: notebooks and ``wall_times.csv``: one entry per call of :func:`run`.
NUMERICS = "numerics.json"


def record_numerics(run_folder: RunDir) -> Path:
    """Append this machine's :func:`lib.session.numerics` (CPU, kernel variables, BLAS libraries and threads, as
    the kernels inherit them) with the time to ``notebooks/numerics.json`` of ``run_folder``."""
    import scipy.linalg  # noqa: F401 - loads scipy's BLAS, which the notebooks use too, so that it is listed

    path = run_folder.notebook_path(NUMERICS)
    entries = io.read_json(path) if path.exists() else []
    entries.append({"started_utc": datetime.now(UTC).isoformat(timespec="seconds"), **numerics()})
    io.write_json(path, entries)
    return path


#: Variables the runner gives the notebooks' kernels where the user has set none (a value the user set wins),
#: recorded in ``notebooks/numerics.json`` with the rest of :func:`lib.session.numerics`. Empty: the pins measured
#: (tests/README.md) either changed no result (``TF_ENABLE_ONEDNN_OPTS=0``: TensorFlow's contractions still go
#: through oneDNN) or slowed every network's training (``ONEDNN_MAX_CPU_ISA=AVX2`` on an AVX-512 CPU).
KERNEL_ENVIRONMENT: dict[str, str] = {}


@contextlib.contextmanager
def _kernel_environment():
    """While notebooks run under the runner: :data:`KERNEL_ENVIRONMENT` where unset, and the progress bars as
    text on the terminal (``lib/progress.py``); the runner's own environment is restored afterwards."""
    wanted = {name: value for name, value in KERNEL_ENVIRONMENT.items() if name not in os.environ}
    wanted[progress.TERMINAL] = "1"
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def parse_value(text: str, type_name: str | None = None):
    """A ``-p`` value as the type its parameter declares (``type_name``, papermill's inferred type): the text
    itself for ``str`` parameters (``-p BENIGN_LABELS 0`` is the label "0", ``0,1`` two labels), else a
    Python literal (numbers, True/False), else the raw string."""
    if type_name == "str":
        return text
    if type_name in ("bool", "int"):
        return coerce(text, type_name)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def declared_types() -> dict[str, str]:
    """Each parameter name of any notebook and its declared type (``str``, ``int``, ...)."""
    return {
        name: spec["inferred_type_name"]
        for path in notebooks(every=True)
        for name, spec in notebook_parameters(path).items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset", default="iot23", help="iot23, cicids2017, botiot, zeek (any labelled Zeek conn log) or csv"
    )
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument("--only", nargs="*", help="notebook name prefixes to run, e.g. 01 02 (the main run only)")
    parser.add_argument(
        "--no-study", action="store_true", help="run notebooks 01-06 once, without the data set's study runs"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip notebooks whose results are complete, with the same code and parameters",
    )
    parser.add_argument("--profile", default="", help="quick, paper or full (notebooks/params/profiles.yaml)")
    parser.add_argument(
        "--publish",
        metavar="RUN_DIR",
        default="",
        help="run nothing: publish RUN_DIR's executed notebooks into FIGURES_DIR/<name>/notebooks/ (-p FIGURES_DIR)",
    )
    args = parser.parse_args(argv)
    types = declared_types()
    params = {name: parse_value(value, types.get(name)) for name, value in args.parameter}
    try:
        if args.publish:
            others = sorted(set(params) - {"FIGURES_DIR"})
            if others or args.only or args.no_study or args.resume or args.profile:
                raise ValueError(
                    f"--publish runs no notebook: it takes -p FIGURES_DIR alone (given: {others or 'a run option'})"
                )
            publish_notebooks(args.publish, params.get("FIGURES_DIR", ""))
            return 0
        defaults, study = profile_parameters(args.profile) if args.profile else ({}, True)
        if args.only or args.no_study or not study:
            run(args.dataset, params, only=args.only, defaults=defaults, resume=args.resume)
        else:
            run_study(args.dataset, params, defaults=defaults, resume=args.resume)
    except (RuntimeError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
