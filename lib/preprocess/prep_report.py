"""What :func:`lib.preprocess.prepare` did: :class:`PrepReport`, the source of notebook 01's tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


def short_list(values: list[str], most: int = 6) -> str:
    """The first ``most`` values, comma-separated, and how many more there are."""
    shown = ", ".join(map(str, values[:most]))
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")


@dataclass
class PrepReport:
    """What :func:`prepare` did, for notebook 01's tables and ``meta.json``."""

    rows_loaded: int = 0
    rows_after_sample: int = 0
    duplicates_removed: int = 0  # every row dedup removed, whatever the rule (``dedup`` has them by rule)
    rows_after_dedup: int = 0
    rows_dropped_rare: int = 0
    merged_classes: list[str] = field(default_factory=list)
    dropped_classes: list[str] = field(default_factory=list)
    split_rows: dict[str, int] = field(default_factory=dict)
    class_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)
    numeric_columns: list[str] = field(default_factory=list)
    categorical_columns: list[str] = field(default_factory=list)
    smote_rows: int = 0
    identifier_columns: list[str] = field(default_factory=list)
    label_columns: list[str] = field(default_factory=list)  # carry the label: never features
    repairs: list[dict] = field(default_factory=list)  # the loaders' repairs, one per (file, column, kind)
    imputed: dict[str, dict[str, int]] = field(default_factory=dict)  # feature -> missing / infinite values
    category_columns: list[str] = field(default_factory=list)  # numeric columns also one-hot encoded
    rows_without_time: int = 0  # SPLIT="time": rows dropped for want of a start time
    split: dict[str, Any] = field(default_factory=dict)  # what the split did: describe_split()
    classes_absent: dict[str, list[str]] = field(default_factory=dict)  # split -> classes without a row there
    dedup: dict[str, Any] = field(default_factory=dict)  # what dedup did: lib.preprocess.dedup.dedup_counts()

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def row_counts(self) -> pd.DataFrame:
        """Rows at each step of :func:`prepare`, as a one-column table (dedup's rules: :meth:`dedup_table`)."""
        counts = {
            "loaded": self.rows_loaded,
            "after SAMPLE_ROWS": self.rows_after_sample,
            **self._dedup_counts(),
            "after dedup": self.rows_after_dedup,
            "dropped with rare classes": self.rows_dropped_rare,
            **(
                {"dropped without a start time (SPLIT='time')": self.rows_without_time}
                if self.rows_without_time
                else {}
            ),
            **{f"{split} rows": n for split, n in self.split_rows.items()},
        }
        return pd.Series(counts, name="rows").to_frame()

    def _dedup_counts(self) -> dict[str, int]:
        """The lines of :meth:`row_counts` that say what dedup did, by rule (none when ``DEDUP=False``)."""
        d = self.dedup
        if "digits" not in d:
            return {"copies removed (DEDUP=False: none)": 0}
        rounded = f"DEDUP_DIGITS={d['digits']}" + (": exact, none" if not d["digits"] else "")
        return {
            "exact copies removed": d["exact copies removed"],
            f"rounded copies removed ({rounded})": d["rounded copies removed"],
            "groups differing only in label_detail (finer kept)": d["detail_variant_groups"],
            "groups with conflicting labels": d["conflict_groups"],
            "rows in them": d["conflict_rows"],
            f"of them dropped (DEDUP_CONFLICTS={d['conflicts']!r}, {d['conflict_groups_tied']} ties)": d[
                "conflicting rows dropped"
            ],
        }

    def dedup_table(self) -> pd.DataFrame:
        """Rows per class (``label``) before dedup, removed by each rule (exact copies; copies equal only at
        ``DEDUP_DIGITS`` significant digits; rows of conflicting groups dropped by ``DEDUP_CONFLICTS``) and
        after, with a total row. Every row is counted once, under the rule that removed it."""
        table = pd.DataFrame.from_dict(self.dedup.get("per_class", {}), orient="index")
        table.index.name = "class (label)"
        if table.empty:
            return table
        table = table.sort_values("before", ascending=False)
        table.loc["all"] = table.sum()
        return table.astype(int)

    def split_table(self) -> pd.DataFrame:
        """One row per split: rows, classes present (and absent), and what the split kept apart: groups (and how
        many the split shares with training), the time range, the sources (and, where not every row's source is
        its file's day or scenario, how many rows of each split found it by ``file name``, by ``start time`` or
        are of an ``own file``, a source of its own)."""
        info = self.split
        table = pd.DataFrame(index=pd.Index(list(self.split_rows), name=f"split ({info.get('kind', '?')})"))
        table["rows"] = pd.Series(self.split_rows)
        counts = {s: c for s, c in self.class_counts.items() if s in self.split_rows}
        table["classes"] = pd.Series({s: sum(n > 0 for n in c.values()) for s, c in counts.items()})
        table["classes absent"] = pd.Series({s: ", ".join(self.classes_absent.get(s, [])) for s in counts})
        if "groups" in info:
            without = f"; {info['rows_without_group']:,} rows have none" if info["rows_without_group"] else ""
            table[f"groups ({'/'.join(info['group_columns'])}{without})"] = pd.Series(info["groups"])
            shared = info["groups_shared_with_train"]
            table["of them also in train"] = pd.Series({s: shared.get(s, "") for s in self.split_rows})
        if "time_range" in info:
            ranges = info["time_range"]
            table[f"first {info['time_column']}"] = pd.Series({s: r[0] if r else "" for s, r in ranges.items()})
            table[f"last {info['time_column']}"] = pd.Series({s: r[1] if r else "" for s, r in ranges.items()})
            if info["rows_with_time"] != self.split_rows:
                table["rows with a time"] = pd.Series(info["rows_with_time"])
        if "sources" in info:
            every = set().union(*map(set, info["sources"].values()))
            table["sources"] = pd.Series(
                {s: f"all {len(v)}" if set(v) == every else short_list(v) for s, v in info["sources"].items()}
            )
        found = info.get("sources_found_by", {})
        if info.get("rows_with_day_from_time") or len({k for c in found.values() for k in c}) > 1:
            table["sources found by"] = pd.Series(
                {s: "; ".join(f"{k} {n:,}" for k, n in c.items()) for s, c in found.items()}
            )
        return table

    def dropped_table(self) -> pd.DataFrame:
        """Which columns were left out, and why (``ALLOW_COLUMNS`` overrides an identifier or a label leak)."""
        rows = [{"reason": k, "columns": ", ".join(map(str, v))} for k, v in self.dropped_columns.items()]
        return pd.DataFrame(rows, columns=["reason", "columns"])

    def repairs_table(self) -> pd.DataFrame:
        """Every repair of the input, counted: the loaders' (per file and column) and the imputation of
        missing and infinite feature values (all rows; the medians come from training rows only)."""
        rows = list(self.repairs)
        for col, counts in self.imputed.items():
            for kind, n in counts.items():
                rows.append({"file": "(all)", "column": col, "repair": f"{kind} value imputed", "count": n})
        return pd.DataFrame(rows, columns=["file", "column", "repair", "count"])
