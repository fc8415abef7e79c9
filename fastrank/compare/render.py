"""A :class:`~fastrank.compare.confidence.Comparison` as a table to paste (CSV, Markdown, LaTeX,
HTML): one row per source, one column per metric@k, the best in bold, and after each mean the
letters of the sources it beats significantly. See :meth:`Comparison.render`."""

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
    intervals, pairs = comparison.intervals, comparison.pairs
    columns = list(dict.fromkeys(zip(intervals["metric"], intervals["k"].map(cutoff_text), strict=True)))
    slices = list(dict.fromkeys(intervals["slice"]))
    sources = list(dict.fromkeys(intervals["source"]))
    letter = {source: chr(ord("a") + i) for i, source in enumerate(sources)}
    sliced = len(slices) > 1
    header = (["slice"] if sliced else []) + ["source"] + [f"{m}@{k}" if k else m for m, k in columns]
    first = 2 if sliced else 1
    lower = {metric for metric, _ in columns if REGISTRY[metric].family == ERROR}  # the best is the least
    rows, bold, marks = [], set(), {}
    for slice_name in slices:
        block = intervals[intervals["slice"] == slice_name]
        means = {(r.metric, cutoff_text(r.k), r.source): r.mean for r in block.itertuples()}
        start = len(rows)
        for source in sources:
            cells = [f"{means[m, k, source]:.4f}" if (m, k, source) in means else "" for m, k in columns]
            rows.append(([slice_name] if sliced else []) + [f"{source} ({letter[source]})"] + cells)
        for j, (metric, k) in enumerate(columns):
            values = [means.get((metric, k, source)) for source in sources]
            known = [v for v in values if v is not None and v == v]
            if not known:
                continue
            best = min(known) if metric in lower else max(known)
            bold |= {(start + i, first + j) for i, v in enumerate(values) if v == best}
        for r in pairs[pairs["slice"] == slice_name].itertuples():
            if not r.p_randomization <= alpha or r.mean_diff == 0:
                continue
            first_wins = (r.mean_diff < 0) if r.metric in lower else (r.mean_diff > 0)
            winner, loser = (r.source, r.other) if first_wins else (r.other, r.source)
            cell = (start + sources.index(winner), first + columns.index((r.metric, cutoff_text(r.k))))
            marks[cell] = "".join(sorted(marks.get(cell, "") + letter[loser]))
    users = int(intervals["users"].max()) if len(intervals) else 0
    note = (
        "Means over users. Superscript letters: the sources whose mean each one beats significantly "
        f"(higher; lower for the error metrics), by their letter: paired sign-flip randomization test, "
        f"two-sided, Holm-adjusted over the pairs of sources, alpha {alpha:g}, {comparison.n_resamples:,} "
        f"resamples, {users:,} users. Bold: the best of each column."
    )
    table = Table(header, rows, bold, marks, numeric=set(range(first, len(header))), note=note)
    return render_table(table, fmt)
