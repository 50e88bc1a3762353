"""The exercises: Otter-Grader masters in notebooks/exercises/, student copies without solutions, and local
grading that gives a solution full marks and an untouched student copy less (every notebook, real data)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import papermill
import pytest

from lib import coursework, paths, run

MASTERS = coursework.masters()
#: rows read by every exercise notebook under test: small enough for CI, large enough for every check to hold
TEST_ROWS = 5000
SOLUTION_MARK = re.compile(r"# (BEGIN|END) SOLUTION")


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def questions(path: Path) -> list[dict]:
    """Each question of a master: its name, points, and its public and hidden check cells."""
    found, current, in_tests = [], None, False
    for cell in cells(path):
        source = "".join(cell["source"])
        if cell["cell_type"] == "raw" and source.startswith("# BEGIN QUESTION"):
            fields = dict(line.split(": ", 1) for line in source.splitlines()[1:])
            current = {"name": fields["name"], "points": float(fields["points"]), "public": [], "hidden": []}
            found.append(current)
        elif cell["cell_type"] == "raw" and source.strip() in ("# BEGIN TESTS", "# END TESTS"):
            in_tests = source.strip() == "# BEGIN TESTS"
        elif in_tests and cell["cell_type"] == "code":
            current["hidden" if "hidden: true" in source else "public"].append(source)
    return found


def test_every_numbered_notebook_has_two_to_four_exercises_with_public_and_hidden_checks():
    numbered = {p.name[:2] for p in paths.NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")}
    assert {p.name[:2] for p in MASTERS} == numbered
    names = []
    for master in MASTERS:
        asked = questions(master)
        assert 2 <= len(asked) <= 4, master.name
        for q in asked:
            assert q["public"] and q["hidden"], f"{master.name} {q['name']}: public and hidden checks"
            assert q["name"].startswith(f"e{master.name[:2]}_"), q["name"]
            names.append(q["name"])
    assert len(names) == len(set(names)), "question names are unique across notebooks (one student folder)"


def test_masters_are_committed_without_outputs_and_with_a_parameters_cell():
    for master in MASTERS:
        code = [c for c in cells(master) if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), master.name
        tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1 and "SAMPLE_ROWS" in "".join(tagged[0]["source"]), master.name


def test_assign_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "notes.txt").write_text("a teacher's file")
    with pytest.raises(FileExistsError, match="assignments.json"):
        coursework.assign(tmp_path, only=["01"], log=lambda *_: None)
    assert (tmp_path / "notes.txt").read_text() == "a teacher's file"


def test_a_notebook_without_an_assignment_name_is_a_clear_error(tmp_path):
    plain = tmp_path / "mine.ipynb"
    plain.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    with pytest.raises(ValueError, match="no otter assignment name"):
        coursework.grade(tmp_path, plain)


# ------------------------------------------------------------------ made and graded (real data)
@pytest.fixture(scope="module")
def made(tmp_path_factory, mirror):
    out = tmp_path_factory.mktemp("dist")
    cli = [sys.executable, "-m", "lib.coursework"]
    subprocess.run([*cli, "assign", "--out", str(out), "--only", "01"], check=True, capture_output=True)
    # a second run replaces its own earlier output (the manifest marks the folder as its own)
    subprocess.run([*cli, "assign", "--out", str(out)], check=True, capture_output=True, cwd=paths.REPO_ROOT)
    env = os.environ | {"IOT_BOTNET_DATA_DIR": str(mirror)}

    def graded(part_and_master):
        part, master = part_and_master
        # a student's file renamed: the notebook's metadata, not its name, says which checks grade it
        submission = out / "submissions" / part / ("my work.ipynb" if part == "student" else master.name)
        submission.parent.mkdir(parents=True, exist_ok=True)
        source = out / part / master.name
        rows = run.notebook_defaults(source)["SAMPLE_ROWS"]  # 0: every row (a small data set's notebook)
        small = {"SAMPLE_ROWS": min(rows, TEST_ROWS) if rows else 0}
        papermill.execute_notebook(source, submission, parameters=small, prepare_only=True)
        done = subprocess.run(
            [*cli, "grade", "--out", str(out), str(submission)], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr[-3000:]
        score, out_of = re.fullmatch(r"(\S+) / (\S+)", done.stdout.strip().splitlines()[-1]).groups()
        return (part, master.name), (float(score), float(out_of), done.stdout)

    jobs = [(part, m) for m in MASTERS for part in ("solution", "student")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        grades = dict(pool.map(graded, jobs))
    return out, grades


@pytest.mark.smoke
@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem)
def test_a_solution_gets_full_marks_and_the_untouched_student_copy_less(made, master):
    out, grades = made
    points = sum(q["points"] for q in questions(master))
    score, out_of, printed = grades[("solution", master.name)]
    assert out_of == points and score == points, printed
    score, out_of, printed = grades[("student", master.name)]
    assert out_of == points and score < points, printed


@pytest.mark.smoke
def test_student_copies_hold_no_solution_and_keep_the_public_checks(made):
    out, _ = made
    for master in MASTERS:
        student = json.loads((out / "student" / master.name).read_text())
        text = json.dumps(student)
        assert not SOLUTION_MARK.search(text), master.name
        code = "\n".join("".join(c["source"]) for c in student["cells"] if c["cell_type"] == "code")
        tests = student["metadata"]["otter"]["tests"]
        for q in questions(master):
            cases = [c for suite in tests[q["name"]]["suites"] for c in suite["cases"]]
            assert len(cases) == len(q["public"]) and not any(c["hidden"] for c in cases), q["name"]
        solution_only = [
            line.strip()
            for cell in cells(master)
            if cell["cell_type"] == "code" and SOLUTION_MARK.search("".join(cell["source"]))
            for solution, prompt in ["".join(cell["source"]).split("# END SOLUTION")]
            for line in solution.splitlines()[1:]
            if "=" in line and "..." not in line and line not in prompt  # the prompt's lines are the student's
        ]
        assert solution_only and not [line for line in solution_only if line in code], master.name
    manifest = json.loads((out / coursework.MANIFEST).read_text())
    assert manifest["student"] == [m.name for m in MASTERS]
    assert manifest["autograder"] == [f"{m.stem}.zip" for m in MASTERS]


def test_timings_take_each_notebooks_last_complete_execution_into_the_file_and_the_page(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "notebooks").mkdir(parents=True)
    (run_dir / "notebooks" / "wall_times.csv").write_text(
        "notebook,started_utc,seconds,status\n"
        "01_data_preparation.ipynb,2026-01-01T00:00:00+00:00,7.5,complete\n"
        "02_baselines.ipynb,2026-01-01T00:00:08+00:00,40.0,complete\n"
        "01_data_preparation.ipynb,2026-01-01T01:00:00+00:00,0.0,reused\n"
        "02_baselines.ipynb,2026-01-01T01:00:00+00:00,90.0,complete\n"
    )
    assert coursework.run_times(run_dir) == {"01_data_preparation": 7.5, "02_baselines": 90.0}
    page = tmp_path / "README.md"
    start, end = coursework.TIMINGS_BLOCK
    page.write_text(f"# Teaching\n\n{start}\nold table\n{end}\n\nafter\n")
    rows = [
        {"profile": "quick", "dataset": "iot23", "notebook": nb, "seconds": s, "machine": "2 cores", "measured": "x"}
        for nb, s in coursework.run_times(run_dir).items()
    ]
    coursework.write_timings(rows, tmp_path / "timings.csv", page)
    text = page.read_text()
    assert "old table" not in text and text.endswith(f"{end}\n\nafter\n")
    assert "| `02_baselines` | 1.5 |" in text and "| `01_data_preparation` | 0.1 |" in text
    assert (tmp_path / "timings.csv").read_text().splitlines()[2].startswith("quick,iot23,02_baselines,90.0,")
    page.write_text("# no block\n")
    with pytest.raises(ValueError, match="timings: start"):
        coursework.write_timings(rows, tmp_path / "timings.csv", page)
    with pytest.raises(FileNotFoundError, match="wall_times.csv"):
        coursework.run_times(tmp_path / "elsewhere")
