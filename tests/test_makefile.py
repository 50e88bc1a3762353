"""Makefile: DATA_DIR and NAME reach Python as one argument each, spaces and apostrophes included, and never as
Python source. Runs ``make`` with a stand-in for the virtual environment's python that records what it got."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

DATA_DIR = "/tmp/a b/x"
NAME = "it's a run"


def make(*args: str, venv=None) -> str:
    extra = [f"VENV={venv}"] if venv else []
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO_ROOT), *extra, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


@pytest.fixture
def venv(tmp_path):
    """A virtual environment that is up to date for make and whose python writes its argv and environment."""
    folder = tmp_path / "venv"
    (folder / "bin").mkdir(parents=True)
    python = folder / "bin" / "python"
    python.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "with open(os.environ['ARGV_OUT'], 'w') as fh:\n"
        "    json.dump({'argv': sys.argv[1:], 'DATA_DIR': os.environ.get('DATA_DIR')}, fh)\n"
    )
    python.chmod(0o755)
    (folder / ".installed").touch()  # newer than requirements.txt: `setup` has nothing to do
    return folder


def command_of(dry_run: str, program: str) -> list[str]:
    (line,) = [line for line in dry_run.splitlines() if program in line]
    return shlex.split(line)


def test_reproduce_passes_data_dir_and_name_as_one_argument_each(tmp_path, venv, monkeypatch):
    argv = command_of(make("-n", "reproduce", f"DATA_DIR={DATA_DIR}", f"NAME={NAME}", venv=venv), "lib.runner")
    assert argv[argv.index("DATA_DIR") + 1] == DATA_DIR and argv[argv.index("NAME") + 1] == NAME
    monkeypatch.setenv("ARGV_OUT", str(tmp_path / "argv.json"))
    make("reproduce", f"DATA_DIR={DATA_DIR}", f"NAME={NAME}", "PARAMS=-p SAMPLE_ROWS 100", venv=venv)
    got = json.loads((tmp_path / "argv.json").read_text())["argv"]
    assert got == ["-m", "lib.runner", "--dataset", "iot23", "-p", "DATA_DIR", DATA_DIR, "-p", "NAME", NAME] + [
        "-p",
        "SAMPLE_ROWS",
        "100",
    ]


def test_reproduce_without_data_dir_or_name_passes_neither(tmp_path, venv, monkeypatch):
    monkeypatch.setenv("ARGV_OUT", str(tmp_path / "argv.json"))
    make("reproduce", venv=venv)
    assert json.loads((tmp_path / "argv.json").read_text())["argv"] == ["-m", "lib.runner", "--dataset", "iot23"]


def test_data_reads_the_folder_from_the_environment_not_from_python_source(tmp_path, venv, monkeypatch):
    argv = command_of(make("-n", "data", f"DATA_DIR={DATA_DIR}", venv=venv), "python")
    assert f"DATA_DIR={DATA_DIR}" in argv and not any(DATA_DIR in word for word in argv if "import" in word)
    monkeypatch.setenv("ARGV_OUT", str(tmp_path / "argv.json"))
    make("data", f"DATA_DIR={DATA_DIR}", venv=venv)
    got = json.loads((tmp_path / "argv.json").read_text())
    assert got["DATA_DIR"] == DATA_DIR and got["argv"][0] == "-c" and "os.environ" in got["argv"][1]


def test_verify_passes_the_data_set_data_dir_and_params_to_lib_verify(tmp_path, venv, monkeypatch):
    monkeypatch.setenv("ARGV_OUT", str(tmp_path / "argv.json"))
    make("verify", f"DATA_DIR={DATA_DIR}", "PARAMS=-p N_SEEDS 1", venv=venv)
    got = json.loads((tmp_path / "argv.json").read_text())["argv"]
    assert got == ["-m", "lib.verify", "--dataset", "iot23", "-p", "DATA_DIR", DATA_DIR, "-p", "N_SEEDS", "1"]
