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


@pytest.mark.parametrize("same_arrays", [True, False])
def test_notebook_01_through_the_runner_meets_the_target_only_with_prepares_arrays(summary, tmp_path, same_arrays):
    parse = {"mode": "parse", "rows": 2_820_000, "load_s": 40.0, "prepare_s": 60.0, "load_peak_mib": 1500.0}
    notebook = {"mode": "notebook 01 (runner)", "rows": 2_820_000, "kernel_peak_mib": 1700.0, "peak_rss_mib": 1840.0}
    notebook["arrays_as_prepare"] = same_arrays
    write(tmp_path, "bench_prepare", {"results": [parse | {"prepare_peak_mib": 1600.0}, notebook]})
    lines = [line for line in summary.block(tmp_path).splitlines() if "notebook 01 through the runner" in line]
    assert len(lines) == 1 and "1.80 GiB (kernel 1.66 GiB" in lines[0]
    assert ("| met |" in lines[0]) is same_arrays and ("**missed**" in lines[0]) is not same_arrays


def test_the_block_is_replaced_between_its_markers_only(summary, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{summary.START}\nold\n{summary.END}\nafter\n")
    summary.write(readme, f"{summary.START}\nnew\n{summary.END}")
    assert readme.read_text() == f"before\n{summary.START}\nnew\n{summary.END}\nafter\n"
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="no <!-- benchmarks:start -->"):
        summary.write(readme, "x")


def test_dedup_rows_give_the_default_rule_per_mirror_and_the_old_key(summary, tmp_path):
    def counts(before: int, after: int, focus: tuple[int, int] | None = None) -> dict:
        per_class = {"WebAttack": {"before": focus[0], "after": focus[1]}} if focus else {}
        removed = {"exact copies removed": before - after, "rounded copies removed": 0, "conflicting rows dropped": 0}
        return {"rows_before": before, "rows_after": after, **removed, "per_class": per_class}

    def entry(digits: int, before: int, after: int, focus: tuple[int, int] | None = None) -> dict:
        return {"digits": digits, "rules": {"majority": counts(before, after, focus), "drop": counts(before, 1)}}

    by_digits = [entry(0, 100, 90, (50, 30)), entry(8, 100, 80, (50, 20))]
    cic = {"dataset": "cicids2017", "focus": "WebAttack", "old_key": {"per_class": {"WebAttack": 40}}}
    cic["by_digits"] = by_digits
    iot = {"dataset": "iot23", "focus": None, "old_key": {"per_class": {}}, "by_digits": [entry(4, 10, 5)]}
    write(tmp_path, "bench_dedup", {"defaults": {"digits": 8, "conflicts": "majority"}, "results": [cic, iot]})
    lines = [line for line in summary.block(tmp_path).splitlines() if line.startswith("| dedup of the")]
    assert len(lines) == 1  # iot23 was not measured at the default digits: no row
    assert "100 → 80 rows (20 exact copies" in lines[0]  # the default digits' entry, not the first
    assert "WebAttack 50 → 20 (features + label_detail: 40)" in lines[0]
    assert "`bench_dedup.json`, 2026-11-24 08:00" in lines[0]
    assert "`bench_dedup.json` missing: not measured" in summary.block(tmp_path / "none")
