"""``benchmarks/summary.py``: the README's benchmark block comes from the results files, with the verdict each
target's figures give, and replacing it leaves the rest of the README as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def summary(benchmark_script):
    return benchmark_script("summary")


def write(folder: Path, name: str, payload: dict) -> None:
    (folder / f"{name}.json").write_text(json.dumps({"date": "2026-11-24 08:00", **payload}))


def test_full_size_figures_get_verdicts_and_smaller_runs_none(summary, tmp_path):
    parse = {"mode": "parse", "rows": 2_820_000, "load_s": 40.0, "prepare_s": 60.0, "load_peak_mib": 1500.0}
    small = parse | {"rows": 720_000, "load_s": 10.0, "prepare_s": 15.0, "prepare_peak_mib": 900.0}
    reload = {"mode": "reload", "rows": 2_820_000, "parse_over_reload": 12.5}
    write(tmp_path, "bench_prepare", {"results": [small, parse | {"prepare_peak_mib": 2500.0}, reload]})
    stream = {"mode": "stream", "rows": 1_000_000, "seconds": 5.0, "flows_per_s": 200_000.0, "peak_rss_mib": 900.0}
    write(tmp_path, "bench_stream", {"results": [stream | {"file_mib": 300.0}]})
    text = summary.block(tmp_path)
    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert "2.44 GiB" in lines["CICIDS2017 2.82 M rows: load + prepare peak RSS"]
    assert "**missed**" in lines["CICIDS2017 2.82 M rows: load + prepare peak RSS"]
    assert "| met |" in lines["cached reload vs first parse (CICIDS2017)"]
    assert "| met |" in lines["load + prepare time linear in rows"]  # 34.7 and 35.5 s per million rows
    assert "| – |" in lines["0.3 GiB Zeek log: streamed to Parquet"]  # not the 10 GB log: no verdict
    assert "`gpu_h100.json` missing: not measured" in text


def test_the_block_is_replaced_between_its_markers_only(summary, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{summary.START}\nold\n{summary.END}\nafter\n")
    summary.write(readme, f"{summary.START}\nnew\n{summary.END}")
    assert readme.read_text() == f"before\n{summary.START}\nnew\n{summary.END}\nafter\n"
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="no <!-- benchmarks:start -->"):
        summary.write(readme, "x")
