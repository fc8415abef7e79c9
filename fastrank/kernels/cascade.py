"""Expected reciprocal rank (Chapelle et al. 2009), a cascade metric: a user scans the list and
stops at rank r with probability R_r = (2^g - 1) / 2^g_max, so ERR@k = sum over r <= k of
R_r / r times the product of (1 - R_i) over the ranks i above r.

Exact over ties like every fastrank metric. Rows above a tie all come first, so they enter as a
product; inside a tie of t rows, the row at the tie's place j (j rows of the tie above it) is a
uniformly drawn row x, and the rows above it a uniformly drawn j-subset of the others, so its
expected term is the mean over x of R_x times the mean of prod(1 - R) over the j-subsets of the
tie without x. That mean comes from a recurrence over the rows, all of its terms positive (no
cancellation), once per distinct R in the tie.
"""

from __future__ import annotations

import numpy as np

from .jit import jit
from .sorting import rank_order
from .topk import OPTIMISTIC, PESSIMISTIC


@jit
def _stop_probability(label, max_grade):
    """R of a grade: (2^g - 1) / 2^g_max, 0 for a grade <= 0."""
    if label <= 0.0:
        return 0.0
    return (2.0**label - 1.0) / 2.0**max_grade


@jit
def _subset_means(keep, skip, m, out):
    """``out[j]`` for j < m: the mean over the j-subsets of ``keep`` without one row of value
    ``skip`` of the product of their values (``keep`` holds 1 - R of a tie's rows)."""
    out[:m] = 0.0
    out[0] = 1.0
    size = 0
    skipped = False
    for q in keep:
        if not skipped and q == skip:
            skipped = True
            continue
        size += 1
        # Adding a row of value q to a set of size - 1: the j-subsets with it and without it.
        for j in range(min(size, m - 1), 0, -1):
            out[j] = out[j] * (size - j) / size + q * out[j - 1] * j / size


@jit
def grouped_err(first, stop, offsets, ranked, data, ks, max_grade, tie, out):
    """``out[g, q]`` = ERR@``ks[q]`` (0: the whole list) of group g, for groups ``first:stop``.

    ``data`` is ``(labels, scores)``; the first ``ranked[g]`` rows of group g are ranked (all of
    them when ``ranked`` is empty); ``tie``: the tie code (averaged, or worst- or best-first).
    """
    labels, scores = data
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        hr = hi if ranked.shape[0] == 0 else lo + ranked[g]
        n = hr - lo
        deepest = 0
        for q in range(ks.shape[0]):
            deepest = max(deepest, n if ks[q] == 0 else min(ks[q], n))
        terms = np.zeros(deepest + 1, np.float64)  # terms[p]: the expected term of place p
        order = rank_order(scores, lo, hr)
        above = 1.0  # the product of 1 - R over the rows of the ties passed
        start = 0
        while start < deepest:
            end = start + 1
            while end < n and scores[order[end]] == scores[order[start]]:
                end += 1
            t = end - start
            stops = np.empty(t, np.float64)
            for r in range(t):
                stops[r] = _stop_probability(labels[order[start + r]], max_grade)
            places = min(t, deepest - start)
            if t == 1 or tie == PESSIMISTIC or tie == OPTIMISTIC:
                ordered = np.sort(stops)  # worst-first: the smallest R first
                if tie == OPTIMISTIC:
                    ordered = ordered[::-1]
                passed = above
                for j in range(places):
                    terms[start + j] = passed * ordered[j] / (start + j + 1)
                    passed *= 1.0 - ordered[j]
            else:
                keep = np.sort(1.0 - stops)
                means = np.empty(places, np.float64)
                expected = np.zeros(places, np.float64)
                r = 0
                while r < t:  # rows of equal R share one recurrence
                    same = r + 1
                    while same < t and keep[same] == keep[r]:
                        same += 1
                    _subset_means(keep, keep[r], places, means)
                    for j in range(places):
                        expected[j] += (same - r) * (1.0 - keep[r]) * means[j]
                    r = same
                for j in range(places):
                    terms[start + j] = above * expected[j] / t / (start + j + 1)
            for r in range(t):
                above *= 1.0 - stops[r]
            start = end
        for q in range(ks.shape[0]):
            k = n if ks[q] == 0 else min(ks[q], n)
            total = 0.0
            for p in range(k):
                total += terms[p]
            out[g, q] = total
