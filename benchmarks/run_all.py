"""Run every benchmark in turn: ``python benchmarks/run_all.py --quick`` (about 15 minutes on 2 cores) or
``--full`` (CICIDS2017 at 2.8 M rows, a 10 GB Zeek log, all training rows, every variant; a few hours), then
write the benchmark summary of benchmarks/README.md from the results (``summary.py``). ``bench_gpu.py`` runs apart, on a GPU.

Each script prints its table and writes ``benchmarks/results/<name>.json``. ``--only load,train`` runs a
subset. Scaled inputs go to ``$IOT_BOTNET_BENCH_DIR`` (default ``<tmp>/iot_botnet_bench``), never the repo.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "load": "bench_load.py",
    "train": "bench_train.py",
    "infer": "bench_infer.py",
    "tests": "bench_tests.py",
    "roofline": "bench_roofline.py",
    "stream": "bench_stream.py",
    "prepare": "bench_prepare.py",
    "score": "bench_score.py",  # needs runs/iot23-detect (the IoT-23 study's detect step) and runs/iot23
    "dedup": "bench_dedup.py",  # the whole mirrors at every DEDUP_DIGITS: about half a minute, quick and full alike
}
# the arguments of the scripts that take sizes instead of --quick / --full
# (a quick run writes <name>_quick.json: the full-size results the benchmark block reads are kept)
SIZES = {
    "stream": {
        "--quick": ["--mib", "300", "--sample", "20000", "--name", "bench_stream_quick"],
        "--full": ["--mib", "10240", "--sample", "200000"],
    },
    "prepare": {"--quick": ["--copies", "5,10", "--name", "bench_prepare_quick"], "--full": ["--copies", "12,24,47"]},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="sizes for a 2-core machine (default)")
    size.add_argument("--full", action="store_true", help="the large sizes")
    parser.add_argument("--only", default=",".join(SCRIPTS), help=f"comma-separated subset of {list(SCRIPTS)}")
    args = parser.parse_args()
    flag = "--full" if args.full else "--quick"
    failed = []
    total = time.perf_counter()
    for name in args.only.split(","):
        start = time.perf_counter()
        print(f"\n=== {name} ({SCRIPTS[name]} {flag}) ===", flush=True)
        code = subprocess.call([sys.executable, str(HERE / SCRIPTS[name]), *SIZES.get(name, {}).get(flag, [flag])])
        print(f"=== {name}: {time.perf_counter() - start:.0f} s, exit {code}", flush=True)
        if code:
            failed.append(name)
    print(f"\nall benchmarks: {time.perf_counter() - total:.0f} s" + (f"; FAILED: {failed}" if failed else ""))
    subprocess.call([sys.executable, str(HERE / "summary.py")])  # benchmarks/README.md's block, from the results files
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
