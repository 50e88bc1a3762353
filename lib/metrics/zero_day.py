"""Why a run has no zero-day test, in one sentence (notebook 05 prints it, notebook 06's tables give it).

Not imported by ``lib.metrics`` itself: the modules a stage's notebook reaches make its code fingerprint
(:mod:`lib.run.code`), and the notebooks that train reach ``lib.metrics``.
"""

from __future__ import annotations

import pandas as pd


def zero_day_reason(eligibility: pd.DataFrame, min_family_rows: int) -> str:
    """Why notebook 05 held no attack family out, in one sentence, from its eligibility table
    (:func:`lib.anomaly.eligible_families`); empty when some family was held out."""
    if len(eligibility) and eligibility["held_out"].astype(bool).any():
        return ""
    head = "No attack family could be held out for the zero-day test"
    if not len(eligibility):
        return f"{head}: the training and test rows hold no attack rows at all."
    if len(eligibility) == 1:
        family = eligibility.iloc[0]
        return (
            f"{head}: the rows name a single attack family ({str(family['family'])!r}, {int(family['n_test'])} test "
            "rows), and without it no attack would be left to train the supervised path on (a label column that "
            "names the attack families, not only attack vs benign, makes this test possible)."
        )
    groups = []
    for reason, rows in eligibility.groupby("reason", sort=False):
        families = ", ".join(
            f"{r.family} ({int(r.n_test)} test, {int(r.n_train)} training rows)" for r in rows.itertuples()
        )
        groups.append(f"{families}: {reason}")
    too_few = any(str(r).startswith("fewer than") for r in eligibility["reason"])
    hint = f" (MIN_FAMILY_ROWS={min_family_rows}: lower it, or prepare more rows with SAMPLE_ROWS)" if too_few else ""
    return f"{head}: " + "; ".join(groups) + hint + "."
