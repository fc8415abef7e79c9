"""trec_eval's order of a run's rows, per group: score descending, ties broken by the item id as
text, descending (trec_eval compares docnos with ``strcmp``). No global sort: each group is
checked for rank order, sorted by score only when it is not, and only its ties compare text.
"""

from __future__ import annotations

import numpy as np

from .jit import jit, jit_inline
from .sorting import rank_order


@jit
def _text_after(a, b, text_offsets, text_data):
    """Whether text ``a`` sorts before text ``b`` in trec_eval's order (a's bytes are greater
    as ``strcmp`` compares them)."""
    i, i_end = text_offsets[a], text_offsets[a + 1]
    j, j_end = text_offsets[b], text_offsets[b + 1]
    while i < i_end and j < j_end:
        if text_data[i] != text_data[j]:
            return text_data[i] > text_data[j]
        i += 1
        j += 1
    return i < i_end and j == j_end  # a longer text with b as its prefix is greater


@jit_inline
def _row(rows, base, p):
    """The input row of the p-th row of a group starting at ``base`` (``rows`` empty: the rows
    are in input order)."""
    return base + p if rows.shape[0] == 0 else rows[base + p]


@jit
def _sort_tie(order, start, stop, rows, base, text_offsets, text_data, scratch):
    """Sort ``order[start:stop]`` (positions of one tie) by text descending: a merge sort, so a
    tie of any size costs O(t log t) comparisons."""
    width = 1
    n = stop - start
    while width < n:
        lo = 0
        while lo < n - width:
            mid = lo + width
            hi = min(lo + 2 * width, n)
            a, b, w = lo, mid, lo
            while a < mid and b < hi:
                if _text_after(
                    _row(rows, base, order[start + b]),
                    _row(rows, base, order[start + a]),
                    text_offsets,
                    text_data,
                ):
                    scratch[w] = order[start + b]
                    b += 1
                else:
                    scratch[w] = order[start + a]
                    a += 1
                w += 1
            while a < mid:
                scratch[w] = order[start + a]
                a += 1
                w += 1
            while b < hi:
                scratch[w] = order[start + b]
                b += 1
                w += 1
            for p in range(lo, hi):
                order[start + p] = scratch[p]
            lo += 2 * width
        width *= 2


@jit
def trec_positions(first, stop, offsets, scores, rows, text, out):
    """``out[i]`` = minus the place (0 first) of row i in its group's trec_eval order, for groups
    ``first:stop``: distinct scores that rank as trec_eval ranks.

    ``scores`` and ``rows`` (the input row of each grouped row; empty when they are the same) are
    in group order; ``text`` is
    ``(text_offsets, text_data)``, the item ids' bytes by input row (an arrow large_string's
    buffers).
    """
    text_offsets, text_data = text
    largest = 0
    for g in range(first, stop):
        largest = max(largest, offsets[g + 1] - offsets[g])
    order = np.empty(largest, np.int64)
    scratch = np.empty(largest, np.int64)
    for g in range(first, stop):
        lo = offsets[g]
        n = offsets[g + 1] - lo
        order[:n] = rank_order(scores, lo, lo + n) - lo
        start = 0
        while start < n:
            end = start + 1
            while end < n and scores[lo + order[end]] == scores[lo + order[start]]:
                end += 1
            if end - start > 1:
                _sort_tie(order[:n], start, end, rows, lo, text_offsets, text_data, scratch)
            start = end
        for p in range(n):
            out[lo + order[p]] = -float(p)
