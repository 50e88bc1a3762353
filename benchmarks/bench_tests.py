"""Wall time of the README's test command (``make test``: ruff, then the whole pytest suite) on a clean clone.

The clone (``git clone <repo> <tmp>/main``) holds committed files only: uncommitted work in the tree is not
measured. ``<tmp>/shared`` is a symlink to the real ``shared`` folder so that the tests find the data
mirror (``../shared/data``) as they would in CI. The clone uses the project's existing virtualenv
(``make VENV=<repo>/.venv``, with ``-o <venv>/.installed`` so that make does not reinstall it): the figure
is the suite's run time, not pip's. Repeats run on the same clone (pytest's own caches are deleted
between runs; each run parses into a fresh Parquet cache, see tests/conftest.py).

Usage: ``python benchmarks/bench_tests.py [--quick | --full] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run")
    parser.add_argument("--full", action="store_true", help="three runs")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.full else 1)

    venv = common.REPO_ROOT / ".venv"
    shared = common.mirror().parent
    tmp = Path(tempfile.mkdtemp(prefix="iot_botnet_tests_"))
    try:
        clone = tmp / "main"
        head = subprocess.run(
            ["git", "-C", str(common.REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        subprocess.run(["git", "clone", "-q", str(common.REPO_ROOT), str(clone)], check=True)
        (tmp / "shared").symlink_to(shared)
        cmd = ["make", "-C", str(clone), f"VENV={venv}", "-o", f"{venv}/.installed", "test"]
        runs = []
        for i in range(repeats):
            shutil.rmtree(clone / ".pytest_cache", ignore_errors=True)
            shutil.rmtree(clone / ".ruff_cache", ignore_errors=True)
            print(f"[bench_tests] run {i + 1}/{repeats}: {' '.join(cmd)}", flush=True)
            start = time.perf_counter()
            env = {**os.environ, "PYTEST_ADDOPTS": "--durations=8"}  # the slowest tests, from the same run
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            seconds = time.perf_counter() - start
            summary = [ln for ln in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed|error)", ln)]
            pytest_s = re.search(r"in ([\d.]+)s", summary[-1]) if summary else None
            runs.append(
                {
                    "seconds": seconds,
                    "returncode": proc.returncode,
                    "summary": summary[-1].strip("= ") if summary else proc.stderr[-500:],
                    "pytest_s": float(pytest_s.group(1)) if pytest_s else None,
                }
            )
            print(f"  {seconds:.1f} s, {runs[-1]['summary']}", flush=True)
            slowest = [
                ln.strip() for ln in proc.stdout.splitlines() if re.match(r"^\d+\.\d+s (call|setup)", ln.strip())
            ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [
        {
            "command": "make test (ruff + pytest), clean clone",
            "commit": head,
            "runs": len(runs),
            "median s": common.median([r["seconds"] for r in runs]),
            "pytest s (median)": common.median([r["pytest_s"] for r in runs if r["pytest_s"]] or [float("nan")]),
            "result": runs[-1]["summary"],
        }
    ]
    print(common.table(rows))
    print("slowest tests:\n  " + "\n  ".join(slowest))
    payload = {
        "mode": "full" if args.full else "quick",
        "commit": head,
        "runs": runs,
        "slowest_tests": slowest,
        "table": rows,
    }
    path = common.write_results("bench_tests", payload)
    print(f"wrote {path.relative_to(common.REPO_ROOT)}")
    return payload


if __name__ == "__main__":
    main()
