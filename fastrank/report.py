"""The CLI's printed output: summaries and comparisons as aligned text tables, and JSON records."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .protocols import NOTEBOOK_NOTE


def json_records(result: Any) -> list[dict[str, Any]]:
    """An evaluation's summary as JSON records: NaN as null, the notebook protocol's caveat attached."""
    records = result.records()
    for record in records:
        if isinstance(record["mean"], float) and math.isnan(record["mean"]):
            record["mean"] = None
        if record["protocol"] == "notebook":
            record["note"] = NOTEBOOK_NOTE
    return records


def _align(columns: Sequence[str], rows: list[list[str]], right: set[str]) -> list[str]:
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if name in right else cell.ljust(w)
            for cell, w, name in zip(cells, widths, columns, strict=True)
        ).rstrip()

    return [line(columns), line(["-" * w for w in widths]), *map(line, rows)]


def _k(k: Any) -> str:
    """A cutoff; ``-`` for the metrics of the whole list."""
    return "-" if k is None or k != k else str(k)


def _number(value: float, digits: int = 4) -> str:
    if value != value:
        return "nan"
    if 0 < abs(value) < 10 ** (1 - digits):  # e.g. ARP, a popularity share: significant digits
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


def format_table(result: Any) -> str:
    """The summary as an aligned text table, with the dataset's counts above it."""
    head = f"{result.n_rows:,} rows, {result.n_users:,} users"
    if result.duplicates is not None:
        head += f", {result.duplicates:,} duplicate (user, item) rows"
    columns = ["protocol", "metric", "k", "source", "mean", "users", "excluded"]
    rows = [
        [str(r["protocol"]), str(r["metric"]), _k(r["k"]), str(r["source"]), _number(r["mean"]),
         f"{r['users']:,}", f"{r['excluded']:,}"]
        for r in result.records()
    ]  # fmt: skip
    out = [head, "", *_align(columns, rows, {"k", "mean", "users", "excluded"})]
    if any(r[0] == "notebook" for r in rows):
        out += ["", f"* {NOTEBOOK_NOTE}."]
    return "\n".join(out)


def _p(value: float, at_floor: bool = False) -> str:
    if value != value:
        return "nan"
    if at_floor:  # the randomization test's resolution: the true p-value may be smaller
        return f"≤ {value:.4f}" if value >= 1e-4 else f"≤ {value:.1e}"
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def format_comparison(result: Any) -> str:
    """Intervals, then paired comparisons, as aligned text tables."""
    level = f"{100 * result.confidence:g}%"
    ev = result.evaluation
    head = f"{ev.n_rows:,} rows, {ev.n_users:,} users; user-level bootstrap, {level} intervals"
    columns = ["slice", "metric", "k", "source", "mean", f"{level} CI", "users"]
    rows = [
        [r["slice"], r["metric"], _k(r["k"]), r["source"], _number(r["mean"]),
         f"[{_number(r['low'])}, {_number(r['high'])}]", f"{r['users']:,}"]
        for r in result.records()["intervals"]
    ]  # fmt: skip
    out = [head, "", *_align(columns, rows, {"k", "mean", "users"})]
    comparisons = result.records()["comparisons"]
    if comparisons:
        columns = [
            "slice",
            "metric",
            "k",
            "source",
            "vs",
            "diff",
            f"{level} CI",
            "p (sign-flip)",
            "p (t)",
            "d",
            "wins/ties/losses",
        ]
        rows = [
            [r["slice"], r["metric"], _k(r["k"]), r["source"], r["reference"], f"{r['mean_diff']:+.4f}",
             f"[{r['low']:+.4f}, {r['high']:+.4f}]", _p(r["p_randomization"], r["p_randomization_at_floor"]),
             _p(r["p_ttest"]),
             _number(r["effect_size"], 2), f"{r['wins']}/{r['ties']}/{r['losses']}"]
            for r in comparisons
        ]  # fmt: skip
        out += ["", *_align(columns, rows, {"k", "diff", "p (sign-flip)", "p (t)", "d"})]
        out += ["", "diff: mean per-user difference (source - reference); d: Cohen's d_z; p-values two-sided,"
                " Holm-adjusted when several sources are compared with the reference."]  # fmt: skip
    return "\n".join(out)
