"""A :class:`~fastrank.compare.confidence.Comparison` as a table to paste (CSV, Markdown, LaTeX):
one row per source, one column per metric@k, the best in bold, significance against the
reference marked. See :meth:`Comparison.render`."""

from __future__ import annotations

from typing import Any

from ..api.render import Table, cutoff_text, render_table
from ..arrays.checks import check_number
from ..errors import InputError
from ..metrics.registry import ERROR, REGISTRY


def comparison_table(comparison: Any, fmt: str, alpha: Any) -> str:
    """:meth:`Comparison.render`'s table (``alpha`` the significance level of the marks)."""
    alpha = check_number(alpha, "alpha")
    if not 0 < alpha < 1:
        raise InputError(f"The 'alpha' parameter must be between 0 and 1. Got {alpha!r} instead.")
    intervals, comparisons = comparison.intervals, comparison.comparisons
    columns = list(dict.fromkeys(zip(intervals["metric"], intervals["k"].map(cutoff_text), strict=True)))
    slices = list(dict.fromkeys(intervals["slice"]))
    sources = list(dict.fromkeys(intervals["source"]))
    sliced = len(slices) > 1
    header = (["slice"] if sliced else []) + ["source"] + [f"{m}@{k}" if k else m for m, k in columns]
    first = 2 if sliced else 1
    rows, bold, marks = [], set(), {}
    for slice_name in slices:
        block = intervals[intervals["slice"] == slice_name]
        means = {(r.metric, cutoff_text(r.k), r.source): r.mean for r in block.itertuples()}
        start = len(rows)
        for source in sources:
            cells = [f"{means[m, k, source]:.4f}" if (m, k, source) in means else "" for m, k in columns]
            rows.append(([slice_name] if sliced else []) + [source] + cells)
        for j, (metric, k) in enumerate(columns):
            values = [means.get((metric, k, source)) for source in sources]
            known = [v for v in values if v is not None and v == v]
            if not known:
                continue
            best = min(known) if REGISTRY[metric].family == ERROR else max(known)
            bold |= {(start + i, first + j) for i, v in enumerate(values) if v == best}
        tests = comparisons[comparisons["slice"] == slice_name]
        for r in tests.itertuples():
            if r.p_randomization <= alpha and r.source in sources:
                j = columns.index((r.metric, cutoff_text(r.k)))
                marks[start + sources.index(r.source), first + j] = "+" if r.mean_diff > 0 else "-"
    users = int(intervals["users"].max()) if len(intervals) else 0
    note = (
        f"Means over users. +/-: significantly above/below {comparison.reference} (paired sign-flip "
        f"randomization test, two-sided, Holm-adjusted over the sources compared, alpha {alpha:g}, "
        f"{comparison.n_resamples:,} resamples, {users:,} users). Bold: the best of each column."
    )
    table = Table(header, rows, bold, marks, numeric=set(range(first, len(header))), note=note)
    return render_table(table, fmt)
