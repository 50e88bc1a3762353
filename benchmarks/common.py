"""Shared helpers of the benchmark scripts: repository path, timing, scaled inputs, results and tables.

Scaled inputs are written under a temporary folder outside the repository (``$IOT_BOTNET_BENCH_DIR`` or
``<tmp>/iot_botnet_bench``): the real samples of ``shared/data`` are only read, never copied into the tree.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter would bury the tables
REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_MIRROR = REPO_ROOT.parent / "shared" / "data"
IOT23_SAMPLE = "iot23/CTU-IoT-Malware-Capture-34-1/bro/conn.log.labeled"
CICIDS_SAMPLE = "cicids2017/ml_stripped_header_heads_10k/Friday-WorkingHours-Afternoon-PortScan.head10k.csv"
SEED = 42


def mirror() -> Path:
    """The real-data mirror: ``$IOT_BOTNET_DATA_DIR``, else ``../shared/data`` beside the repository."""
    path = Path(os.environ.get("IOT_BOTNET_DATA_DIR") or DEFAULT_MIRROR)
    if not (path / "iot23").is_dir():
        raise SystemExit(f"real-data mirror not found at {path}: set IOT_BOTNET_DATA_DIR")
    return path


def scratch_dir() -> Path:
    """Where scaled inputs and throw-away caches go (never inside the repository)."""
    path = Path(os.environ.get("IOT_BOTNET_BENCH_DIR") or Path(tempfile.gettempdir()) / "iot_botnet_bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def repeat(fn: Callable[[], Any], n: int) -> tuple[list[float], Any]:
    """Wall-clock seconds of ``n`` calls of ``fn`` and the last call's result."""
    times, result = [], None
    for _ in range(n):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


# --------------------------------------------------------------------------------------------------
# Scaled inputs
# --------------------------------------------------------------------------------------------------
def replicate_zeek(src: Path, factor: int, dst: Path) -> Path:
    """``src`` (a Zeek log) with its header once, its data lines ``factor`` times, then its footer."""
    lines = src.read_bytes().split(b"\n")
    while lines and not lines[-1]:
        lines.pop()
    header = [ln for ln in lines if ln.startswith(b"#") and not ln.startswith(b"#close")]
    footer = [ln for ln in lines if ln.startswith(b"#close")]
    body = b"\n".join(ln for ln in lines if not ln.startswith(b"#")) + b"\n"
    return _write(dst, b"\n".join(header) + b"\n", body, factor, b"\n".join(footer) + b"\n" if footer else b"")


def replicate_csv(src: Path, factor: int, dst: Path) -> Path:
    """``src`` (a CSV with one header row) with its header once and its data rows ``factor`` times."""
    raw = src.read_bytes()
    header, _, body = raw.partition(b"\n")
    body = body if body.endswith(b"\n") else body + b"\n"
    return _write(dst, header + b"\n", body, factor, b"")


def _write(dst: Path, head: bytes, body: bytes, factor: int, tail: bytes) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    expected = len(head) + factor * len(body) + len(tail)
    if dst.exists() and dst.stat().st_size == expected:
        return dst  # made by an earlier run
    tmp = dst.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(head)
        for _ in range(factor):
            fh.write(body)
        fh.write(tail)
    tmp.replace(dst)
    return dst


def scaled_input(dataset: str, factor: int) -> Path:
    """The IoT-23 34-1 log or the CICIDS2017 PortScan sample replicated ``factor`` times, in the layout
    ``datasets.load`` expects (``<root>/<dataset>/...``) under :func:`scratch_dir`."""
    root = scratch_dir() / f"x{factor}"
    if dataset == "iot23":
        dst = root / "iot23" / f"scaled-34-1-x{factor}" / "bro" / "conn.log.labeled"
        return replicate_zeek(mirror() / IOT23_SAMPLE, factor, dst)
    dst = root / "cicids2017" / f"PortScan-x{factor}.csv"
    return replicate_csv(mirror() / CICIDS_SAMPLE, factor, dst)


# --------------------------------------------------------------------------------------------------
# Fresh-subprocess runs (peak RSS)
# --------------------------------------------------------------------------------------------------
def run_child(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 3600, json_line: bool = True
) -> dict[str, Any]:
    """Run ``python <args>`` in a fresh process, from the repository root; its last stdout line is JSON (unless
    ``json_line`` is false: then the result holds only the peak). Adds ``peak_rss_mib`` from ``/usr/bin/time -f
    %M`` when available, else from ``getrusage(RUSAGE_CHILDREN)`` of a wrapper: the largest resident set of the
    process and of the processes it started and waited for (a notebook's kernel)."""
    cmd = [sys.executable, *args]
    full_env = {**os.environ, **(env or {})}
    if Path("/usr/bin/time").exists():
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "MAXRSS_KB=%M", *cmd],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=REPO_ROOT,
        )
        rss_kb = [ln for ln in proc.stderr.splitlines() if ln.startswith("MAXRSS_KB=")]
        peak = int(rss_kb[-1].split("=")[1]) / 1024 if rss_kb else None
    else:
        wrapper = (
            "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", wrapper, *cmd],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=REPO_ROOT,
        )
        tail = proc.stderr.strip().splitlines()
        peak = int(tail[-1]) / 1024 if proc.returncode == 0 and tail else None
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1]) if json_line else {}
    result["peak_rss_mib"] = peak
    return result


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": load,
        "note": "shared machine: other jobs (training, tests) ran on the same 2 cores; medians of repeats",
    }


def versions() -> dict[str, str]:
    import importlib

    out = {}
    for name in ("numpy", "pandas", "pyarrow", "sklearn", "xgboost", "tensorflow", "keras"):
        try:
            out[name] = importlib.import_module(name).__version__
        except ImportError:
            pass
    return out


def write_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    full = {"benchmark": name, "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), **payload}
    path.write_text(json.dumps(full, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """A Markdown table of ``rows`` (floats to 3 significant digits)."""
    if not rows:
        return "(no rows)"
    columns = columns or list(rows[0])

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            if v != v:
                return "–"
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return "–" if v is None else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
