"""Exercises for a course: student copies, solutions and local grading, made with Otter-Grader.

Each notebook of ``notebooks/exercises/`` is one Otter-Grader *master* notebook: the exercises of one numbered
notebook, each with its solution and its checks written once, in the same cells. From them::

    python -m lib.coursework assign --out dist            # make assignments OUT=dist
    python -m lib.coursework grade --out dist sub.ipynb   # make grade OUT=dist SUBMISSION=sub.ipynb

``assign`` writes ``OUT/student/`` (the notebooks without solutions; the public checks stay, so a student runs
``grader.check("e01_copies")`` in JupyterLab), ``OUT/solution/`` (the notebooks with their solutions) and
``OUT/autograder/`` (one Otter configuration zip per notebook, with the hidden checks). ``grade`` runs one
submitted notebook against its notebook's checks, public and hidden, locally (``otter run``: no Docker, no
database) and prints its score as ``N / M``.

Why Otter-Grader rather than nbgrader: one master notebook per assignment holds the prose, the solution and
the checks (nbgrader keeps a course folder, a database and a release/collect/autograde cycle per student),
checks a student can run inside the notebook, and local grading of a single file without a container.

Grading runs the submitted notebook's code with the grader's rights: grade a student's file as you would run
their program (a throwaway account or a container). Otter passes its own results between its processes with
``dill`` (pickle) inside its temporary folder; this module reads only the ``results.json`` it writes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lib import paths, run

EXERCISE_DIR = paths.NOTEBOOK_DIR / "exercises"
#: What ``assign`` writes into ``OUT`` beside the three folders: the mark of a folder it may replace.
MANIFEST = "assignments.json"
PARTS = ("student", "solution", "autograder")


def preparer(dataset: str, data_dir: str, sample_rows: int, seed: int):
    """What every exercise notebook starts from: the flows of ``dataset`` (a sample of ``sample_rows``, read as
    notebook 01 reads them) and ``prepared(**changes)``, notebook 01's preparation of those flows with some of
    its parameters changed (``prepared(DEDUP=False)``, ``prepared(SCALING="log_standard")``, ...)."""
    from lib import datasets, preprocess

    flows = datasets.load_for({"DATASET": dataset, "DATA_DIR": data_dir, "SAMPLE_ROWS": sample_rows, "SEED": seed})

    def prepared(**changes):
        parameters = {"SAMPLE_ROWS": sample_rows, "SEED": seed} | changes
        return preprocess.prepare(flows, preprocess.PrepConfig.from_parameters(parameters))[0]

    return prepared


def masters(only: list[str] | None = None) -> list[Path]:
    """The exercise notebooks (``NN_name.ipynb``) in order; ``only`` keeps those starting with one of them."""
    found = sorted(EXERCISE_DIR.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if p.name.startswith(tuple(only))]
        if not found:
            raise ValueError(f"no exercise notebook starts with {only}; there are {[p.name for p in masters()]}")
    return found


def _otter(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "otter", *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def _claim(out: Path) -> None:
    """Refuse a non-empty ``out`` that an earlier ``assign`` did not write (nothing of the user's is replaced)."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file: give --out a folder (it is created if missing)")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise FileExistsError(
            f"{out} is not empty and holds no {MANIFEST}: it was not written by `make assignments`. "
            "Give an empty or new folder as OUT, or remove this one yourself"
        )


def _swap_in(staged: Path, out: Path, names: list[str]) -> None:
    """Put ``staged/<name>`` in place of ``out/<name>`` for each name; if a move fails, the earlier parts are
    put back, so ``out`` holds either the old assignments or the new ones (nothing else of ``out`` is touched)."""
    old = out / f".{MANIFEST}.old"
    shutil.rmtree(old, ignore_errors=True)
    old.mkdir()
    moved: list[str] = []
    try:
        for name in names:
            if (out / name).exists():
                os.replace(out / name, old / name)
            moved.append(name)
            shutil.move(str(staged / name), out / name)
    except OSError as err:
        for name in moved:
            if not (old / name).exists():
                continue
            if (out / name).is_dir():
                shutil.rmtree(out / name)
            else:
                (out / name).unlink(missing_ok=True)
            os.replace(old / name, out / name)
        raise RuntimeError(f"{out}: could not put the new assignments in place ({err}); the old ones are kept") from err
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _assign_one(master: Path, made: Path) -> Path:
    _otter("assign", "--no-run-tests", "--no-pdfs", str(master), str(made))
    return made


def assign(out: str | Path, only: list[str] | None = None, log=print) -> dict[str, list[str]]:
    """Write ``out/student/``, ``out/solution/`` and ``out/autograder/`` from the exercise notebooks; return
    the files written per part (relative to ``out``). An earlier output of this function in ``out`` is replaced."""
    out = Path(out).resolve()
    _claim(out)
    books = masters(only)
    with tempfile.TemporaryDirectory(prefix="assign-") as tmp:
        staged = Path(tmp) / "out"
        for part in PARTS:
            (staged / part).mkdir(parents=True)
        with ThreadPoolExecutor(max_workers=2) as pool:  # each otter process is mostly its own start-up
            made_all = list(pool.map(lambda m: _assign_one(m, Path(tmp) / m.stem), books))
        for master, made in zip(books, made_all, strict=True):
            log(f"{master.name}: student copy, solution, autograder")
            shutil.copy2(made / "student" / master.name, staged / "student" / master.name)
            shutil.copy2(made / "autograder" / master.name, staged / "solution" / master.name)
            (zipped,) = (made / "autograder").glob("*.zip")
            shutil.copy2(zipped, staged / "autograder" / f"{master.stem}.zip")
        written = {part: sorted(p.name for p in (staged / part).iterdir()) for part in PARTS}
        (staged / MANIFEST).write_text(json.dumps({"notebooks": [b.name for b in books], **written}, indent=1) + "\n")
        out.mkdir(parents=True, exist_ok=True)
        _swap_in(staged, out, [*PARTS, MANIFEST])
    log(f"student notebooks: {out / 'student'}\nsolutions: {out / 'solution'}\nautograder: {out / 'autograder'}")
    return written


@dataclass
class Grade:
    """A graded notebook: points per question (``{name: (score, out_of)}``) and the totals."""

    notebook: str
    questions: dict[str, tuple[float, float]]

    @property
    def score(self) -> float:
        return sum(s for s, _ in self.questions.values())

    @property
    def out_of(self) -> float:
        return sum(m for _, m in self.questions.values())

    def __str__(self) -> str:
        lines = [f"  {name}: {s:g} / {m:g}" for name, (s, m) in self.questions.items()]
        return "\n".join([f"{self.notebook}:", *lines, f"{self.score:g} / {self.out_of:g}"])


def assignment_name(submission: Path) -> str:
    """The exercise notebook a submission answers: Otter's ``assignment_name`` in its metadata (a renamed file
    still grades against the right checks)."""
    try:
        notebook = json.loads(submission.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(
            f"{submission}: not a readable notebook ({err}); give the .ipynb file the student saved"
        ) from err
    name = notebook.get("metadata", {}).get("otter", {}).get("assignment_name")
    if not name:
        raise ValueError(
            f"{submission}: no otter assignment name in its metadata: grade a notebook made from a student copy "
            "of `make assignments` (OUT/student/)"
        )
    return name


def grade(out: str | Path, submission: str | Path) -> Grade:
    """Grade one submitted notebook with the checks of ``out/autograder/`` (public and hidden), locally."""
    out, submission = Path(out).resolve(), Path(submission).resolve()
    if not submission.is_file():
        raise FileNotFoundError(f"{submission}: no such notebook")
    name = assignment_name(submission)
    zipped = out / "autograder" / f"{name}.zip"
    if not zipped.is_file():
        there = sorted(p.name for p in (out / "autograder").glob("*.zip")) if (out / "autograder").is_dir() else []
        raise FileNotFoundError(
            f"{zipped}: no autograder for {name!r} (found {there or 'none'}): run `make assignments OUT={out}` first"
        )
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        _otter("run", "--no-logo", "-a", str(zipped), "-o", tmp, str(submission), cwd=Path(tmp))
        results = json.loads((Path(tmp) / "results.json").read_text())
    questions = {
        test["name"]: (float(test.get("score") or 0.0), float(test["max_score"]))
        for test in results["tests"]
        if test.get("max_score") is not None
    }
    return Grade(name, questions)


# ------------------------------------------------------------------ the teacher's page: time per notebook
TIMINGS = paths.NOTEBOOK_DIR / "timings.csv"
TEACHER_PAGE = paths.NOTEBOOK_DIR / "README.md"
TIMINGS_BLOCK = ("<!-- timings: start (python -m lib.coursework timings) -->", "<!-- timings: end -->")


def machine() -> str:
    """This machine in a few words: cores and processor model (Linux), for the timings' record."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    return f"{os.cpu_count()} cores{', ' + model if model else ''}"


def run_times(run_dir: str | Path) -> dict[str, float]:
    """Seconds of each notebook's last complete execution in a run (the runner's ``notebooks/wall_times.csv``;
    reused stages are not executions)."""
    path = Path(run_dir) / "notebooks" / "wall_times.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no wall times: give a run folder the runner executed (runs/<name>)")
    times: dict[str, float] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["status"] == "complete":
                times[row["notebook"].removesuffix(".ipynb")] = float(row["seconds"])
    return times


def exercise_times(out: str | Path) -> dict[str, float]:
    """Seconds to execute each solution notebook of ``out/solution/`` at its default size, one after another."""
    import papermill

    times = {}
    with tempfile.TemporaryDirectory(prefix="exercise-times-") as tmp:
        for solution in sorted((Path(out) / "solution").glob("*.ipynb")):
            start = time.perf_counter()
            papermill.execute_notebook(solution, Path(tmp) / solution.name, progress_bar=False, cwd=tmp)
            times[f"exercises/{solution.stem}"] = round(time.perf_counter() - start, 1)
    return times


def write_timings(rows: list[dict], csv_path: Path = TIMINGS, page: Path = TEACHER_PAGE) -> None:
    """``rows`` (profile, dataset, notebook, seconds, machine, measured) into ``csv_path``, and the page's table
    of minutes per notebook (between :data:`TIMINGS_BLOCK`) generated from that file."""
    if not rows:
        raise ValueError("no timings to write: give at least one --run PROFILE:DATASET:RUN_DIR or --exercises OUT")
    text = page.read_text()
    start, end = TIMINGS_BLOCK
    if start not in text or end not in text:
        raise ValueError(f"{page}: the lines {start!r} and {end!r} mark where the timings go; they are missing")
    fields = ["profile", "dataset", "notebook", "seconds", "machine", "measured"]
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    head, rest = text.split(start, 1)
    page.write_text(head + start + "\n" + timings_table(rows) + "\n" + end + rest.split(end, 1)[1])


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}" if seconds >= 6 else "< 0.1"


def _table(rows: list[dict], first: str) -> list[str]:
    columns = list(dict.fromkeys((r["profile"], r["dataset"]) for r in rows))
    cell = {(r["notebook"], r["profile"], r["dataset"]): float(r["seconds"]) for r in rows}
    # a study step's pass of a notebook (02_baselines.smote) right after the notebook itself
    notebooks = sorted(dict.fromkeys(r["notebook"] for r in rows), key=lambda nb: (nb.split(".")[0], nb))
    lines = [
        f"| {first} | " + " | ".join(f"{p}, {d} (min)" for p, d in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for nb in notebooks:
        values = [cell.get((nb, p, d)) for p, d in columns]
        lines.append(f"| `{nb}` | " + " | ".join("" if v is None else _minutes(v) for v in values) + " |")
    return lines


def timings_table(rows: list[dict]) -> str:
    """Markdown: minutes per notebook, one column per profile and data set; then the exercise notebooks."""
    exercises = [r for r in rows if r["notebook"].startswith("exercises/")]
    lines = _table([r for r in rows if r not in exercises], "notebook")
    if exercises:
        lines += ["", "| exercise notebook | data set | rows read | min |", "|---|---|---|---:|"]
        for r in sorted(exercises, key=lambda r: r["notebook"]):
            rows_read = r["profile"].removeprefix("exercises (SAMPLE_ROWS ").removesuffix(")")
            rows_read = "all" if rows_read == "0" else f"{int(rows_read):,}"
            lines.append(f"| `{r['notebook']}` | {r['dataset']} | {rows_read} | {_minutes(float(r['seconds']))} |")
    machines = sorted({f"{r['machine']}, {r['measured']}" for r in rows})
    lines += ["", "Measured on " + "; ".join(machines) + ". Source: [`timings.csv`](timings.csv)."]
    return "\n".join(lines)


def timings(runs: list[str], exercises: str | None = None, note: str = "") -> list[dict]:
    """Gather the rows of :func:`write_timings` from runs (``PROFILE:DATASET:RUN_DIR``) and the exercises, and
    write them."""
    here = machine() + (f" ({note})" if note else "")
    rows = []
    for spec in runs:
        parts = spec.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"--run {spec!r}: give PROFILE:DATASET:RUN_DIR, e.g. quick:iot23:runs/quick-iot23")
        profile, dataset, run_dir = parts
        times = run_times(run_dir)
        measured = datetime.fromtimestamp(Path(run_dir, "notebooks", "wall_times.csv").stat().st_mtime, UTC)
        for notebook, seconds in times.items():
            rows.append(
                {
                    "profile": profile,
                    "dataset": dataset,
                    "notebook": notebook,
                    "seconds": seconds,
                    "machine": here,
                    "measured": measured.date().isoformat(),
                }
            )
    if exercises:
        today = datetime.now(UTC).date().isoformat()
        for notebook, seconds in exercise_times(exercises).items():
            defaults = run.notebook_defaults(
                Path(exercises).resolve() / "solution" / f"{notebook.split('/')[-1]}.ipynb"
            )
            profile = f"exercises (SAMPLE_ROWS {defaults['SAMPLE_ROWS']})"
            rows.append(
                {
                    "profile": profile,
                    "dataset": defaults["DATASET"],
                    "notebook": notebook,
                    "seconds": seconds,
                    "machine": here,
                    "measured": today,
                }
            )
    write_timings(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.coursework", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("assign", help="write OUT/student, OUT/solution and OUT/autograder")
    a.add_argument("--out", default="dist")
    a.add_argument("--only", nargs="*", help="exercise notebooks to include, e.g. 01 02 (default: all)")
    g = sub.add_parser("grade", help="grade one notebook and print its score as N / M")
    g.add_argument("--out", default="dist")
    g.add_argument("submission")
    t = sub.add_parser("timings", help="notebooks/timings.csv and the teacher page's table from executed runs")
    t.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="PROFILE:DATASET:RUN_DIR",
        help="a run the runner executed at a profile, e.g. quick:iot23:runs/quick-iot23 (repeatable)",
    )
    t.add_argument("--exercises", metavar="OUT", help="also time the solution notebooks of OUT/solution/")
    t.add_argument("--note", default="", help="what else ran on the machine meanwhile (kept with each row)")
    args = parser.parse_args(argv)
    try:
        if args.command == "assign":
            assign(args.out, args.only)
        elif args.command == "timings":
            timings(args.run, args.exercises, args.note)
        else:
            print(grade(args.out, args.submission))
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
