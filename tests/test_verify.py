"""lib/verify.py: a rerun's Table 1 against the committed one, cell by cell, within stated tolerances."""

from __future__ import annotations

import pandas as pd
import pytest

from lib import verify

TOLERANCE = verify.Tolerance(mean=0.5, spread=1.0)


def table(**cells: dict[str, str]) -> pd.DataFrame:
    """A Table 1 of text cells: one keyword per model, each a mapping column -> cell."""
    return pd.DataFrame([{"Model": model.replace("_", " "), **row} for model, row in cells.items()])


COMMITTED = table(
    SVM={"Macro F1 (ours)": "93.8 ± 0.2", "F1-Score (paper)": ""},
    Random_Forest={"Macro F1 (ours)": "94.3 ± 0.0", "F1-Score (paper)": "86.3"},
)


def test_identical_tables_pass_every_cell_byte_identical():
    result = verify.compare_tables("table1", COMMITTED, COMMITTED.copy(), TOLERANCE)
    assert result.passed and result.cells == 4 and result.identical == 4 and not result.differences
    assert result.report()[-1].endswith("PASS")


def test_a_cell_within_the_tolerance_passes_and_is_printed_with_its_difference():
    rerun = COMMITTED.copy()
    rerun.loc[0, "Macro F1 (ours)"] = "94.2 ± 0.1"
    result = verify.compare_tables("table1", COMMITTED, rerun, TOLERANCE)
    (difference,) = result.differences
    assert result.passed and result.identical == 3
    assert difference.mean == pytest.approx(0.4) and difference.spread == pytest.approx(-0.1)
    assert "SVM / Macro F1 (ours)" in result.report()[0] and "+0.40" in result.report()[0]


def test_a_cell_off_by_more_than_the_tolerance_fails_and_is_printed_with_its_difference():
    rerun = COMMITTED.copy()
    rerun.loc[1, "Macro F1 (ours)"] = "93.7 ± 0.0"
    result = verify.compare_tables("table1", COMMITTED, rerun, TOLERANCE)
    assert not result.passed
    (line,) = [line for line in result.report() if "OUTSIDE" in line]
    assert "Random Forest / Macro F1 (ours)" in line and "-0.60" in line and "'94.3 ± 0.0'" in line
    assert result.report()[-1].endswith("FAIL")


def test_a_spread_beyond_its_own_tolerance_fails_though_the_mean_is_equal():
    rerun = COMMITTED.copy()
    rerun.loc[0, "Macro F1 (ours)"] = "93.8 ± 1.4"
    assert not verify.compare_tables("table1", COMMITTED, rerun, TOLERANCE).passed


def test_exactly_the_tolerance_passes_despite_float_rounding():
    assert verify.compare_cell("t", "SVM", "c", "93.8", "94.3", TOLERANCE).within


@pytest.mark.parametrize(("committed", "rerun"), [("86.3", ""), ("94.3 ± 0.0", "94.3"), ("94.3", "n/a")])
def test_a_cell_that_changed_its_form_fails(committed, rerun):
    difference = verify.compare_cell("table1", "SVM", "c", committed, rerun, TOLERANCE)
    assert not difference.within and difference.mean is None and "not comparable" in difference.line()


def test_a_missing_row_or_column_is_an_error_naming_it():
    rerun = COMMITTED.drop(columns=["F1-Score (paper)"]).iloc[:1]
    result = verify.compare_tables("table1", COMMITTED, rerun, TOLERANCE)
    assert not result.passed
    assert any("'F1-Score (paper)'" in e and "missing" in e for e in result.errors)
    assert any("'Random Forest'" in e and "missing" in e for e in result.errors)
    assert result.cells == 1  # what both have is still compared


def test_a_row_only_the_rerun_has_is_an_error():
    rerun = pd.concat([COMMITTED, table(MLP={"Macro F1 (ours)": "94.4 ± 0.0", "F1-Score (paper)": ""})])
    result = verify.compare_tables("table1", COMMITTED, rerun, TOLERANCE)
    assert [e for e in result.errors if "'MLP'" in e and "new" in e]


def test_parse_cell_reads_mean_and_spread():
    assert verify.parse_cell("94.3 ± 0.2") == (94.3, 0.2)
    assert verify.parse_cell("89.5") == (89.5, None)
    assert verify.parse_cell("") is None


def test_verify_reads_the_committed_csv_as_text_and_skips_only_the_optional_table(tmp_path):
    committed, rerun = tmp_path / "committed", tmp_path / "rerun"
    committed.mkdir()
    rerun.mkdir()
    COMMITTED.to_csv(committed / "table1.csv", index=False)
    COMMITTED.to_csv(rerun / "table1.csv", index=False)
    COMMITTED.to_csv(rerun / "table1_detection_at_fpr.csv", index=False)
    written = {"table1": rerun / "table1.csv", "table1_detection_at_fpr": rerun / "table1_detection_at_fpr.csv"}
    (result,) = verify.verify(committed, written)
    assert result.table == "table1" and result.passed and result.identical == result.cells == 4
    (committed / "table1.csv").unlink()
    with pytest.raises(FileNotFoundError, match="table1.csv"):
        verify.verify(committed, written)


def test_every_compared_table_has_a_tolerance():
    assert set(verify.TOLERANCES) == {"table1", "table1_detection_at_fpr"}
    assert all(t.spread >= t.mean > 0 for t in verify.TOLERANCES.values())


def test_a_test_set_interval_is_compared_bound_by_bound_within_the_spreads_tolerance():
    tolerance = verify.TOLERANCES["table1"]
    moved = verify.compare_cell("table1", "XGBoost", "Macro F1 95 % CI", "[93.1, 95.6]", "[93.4, 95.2]", tolerance)
    assert moved.within and moved.mean == pytest.approx(0.3) and moved.spread == pytest.approx(-0.4)
    assert not verify.compare_cell(
        "table1", "XGBoost", "Macro F1 95 % CI", "[90.0, 95.6]", "[93.4, 95.6]", tolerance
    ).within
    assert not verify.compare_cell("table1", "XGBoost", "Macro F1 95 % CI", "[90.0, 95.6]", "93.4", tolerance).within


def test_a_mean_may_move_by_two_standard_errors_of_the_seeds_and_never_less_than_the_floor():
    assert verify.allowance(0.5, (0.9, 1.1), 3) == pytest.approx(2 * ((0.81 + 1.21) / 3) ** 0.5)
    assert verify.allowance(0.5, (0.1, 0.0), 3) == 0.5 and verify.allowance(0.5, (9.0, 9.0), 1) == 0.5
    moved = verify.compare_cell("table1", "LSTM-Only", "Precision (ours)", "90.4 ± 0.9", "89.6 ± 1.1", TOLERANCE, 3)
    assert moved.within and moved.allowed[0] == pytest.approx(1.64, abs=0.01)
    assert "mean -0.80 (allowed 1.64)" in moved.line()
    assert not verify.compare_cell("table1", "LSTM-Only", "c", "90.4 ± 0.9", "89.6 ± 1.1", TOLERANCE).within
    assert not verify.compare_cell("table1", "LSTM-Only", "c", "90.4 ± 0.9", "88.6 ± 1.1", TOLERANCE, 3).within


def test_an_interval_bound_may_move_as_far_as_its_spread_over_the_seeds_says():
    cell = ("table1", "CNN-LSTM Hybrid", "Recall 95 % CI", "[47.0, 100.0]", "[59.3, 100.0]", TOLERANCE, 3)
    wide = verify.compare_cell(*cell, bound_spread=(10.0, 0.0))
    assert wide.within and wide.allowed == pytest.approx((2 * (200 / 3) ** 0.5, 1.0))
    assert "low +12.30 (allowed 16.33), high +0.00 (allowed 1.00)" in wide.line()
    assert not verify.compare_cell(*cell, bound_spread=(2.0, 0.0)).within
    assert not verify.compare_cell(*cell).within  # no spread measured: the floor


def test_verify_reads_the_bound_spreads_the_rerun_wrote_beside_its_table(tmp_path):
    committed, rerun = tmp_path / "committed", tmp_path / "rerun"
    committed.mkdir()
    rerun.mkdir()
    table(XGBoost={"Recall 95 % CI": "[47.0, 100.0]"}).to_csv(committed / "table1.csv", index=False)
    table(XGBoost={"Recall 95 % CI": "[59.3, 100.0]"}).to_csv(rerun / "table1.csv", index=False)
    written = {"table1": rerun / "table1.csv", verify.BOUND_SPREADS: rerun / "spread.csv"}
    for low, passed in (("10.0", True), ("2.0", False)):
        table(XGBoost={"Recall 95 % CI": f"[{low}, 0.0]"}).to_csv(rerun / "spread.csv", index=False)
        (result,) = verify.verify(committed, written, seeds=3)
        assert result.table == "table1" and result.passed is passed
