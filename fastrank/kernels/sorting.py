"""Per-group orderings: a list's rank order (checked before it is sorted), and the notebook
protocol's orders (a compatibility path, not a hot one)."""

from __future__ import annotations

import numpy as np

from .jit import jit, jit_inline


@jit_inline
def descending(scores, lo, hr):
    """Whether ``scores[lo:hr]`` is in rank order: descending, ties in any order."""
    for r in range(lo + 1, hr):
        if scores[r] > scores[r - 1]:
            return False
    return True


@jit
def rank_order(scores, lo, hr):
    """The rows ``lo:hr`` by score descending (stable): checked, not sorted, when already so."""
    if descending(scores, lo, hr):
        return np.arange(lo, hr)
    return lo + np.argsort(-scores[lo:hr], kind="mergesort")


@jit
def in_rank_order(first, stop, offsets, scores):
    """Whether each group ``first:stop`` is in rank order (:func:`descending`)."""
    for g in range(first, stop):
        if not descending(scores, offsets[g], offsets[g + 1]):
            return False
    return True


@jit
def order_desc_flipped(first, stop, offsets, values, out):
    """``out[lo:hi]`` = the rows of each group ``first:stop`` by ``values`` descending, as
    ``np.flip(np.argsort(values[lo:hi], kind="stable"))`` orders them (tied rows: later first)."""
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        order = np.argsort(values[lo:hi], kind="mergesort")
        for r in range(hi - lo):
            out[lo + r] = lo + order[hi - lo - 1 - r]


@jit
def order_asc_by_pair(first, stop, offsets, primary, secondary, out):
    """``out[lo:hi]`` = the rows of each group ``first:stop`` sorted ascending by (primary,
    secondary), ties kept in row order, like ``DataFrame.sort_values([primary, secondary])``."""
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        by_secondary = np.argsort(secondary[lo:hi], kind="mergesort")
        by_primary = np.argsort(primary[lo:hi][by_secondary], kind="mergesort")
        for r in range(hi - lo):
            out[lo + r] = lo + by_secondary[by_primary[r]]


@jit
def repeats_per_group(first, stop, offsets, codes, n_codes, out):
    """``out[g]`` = rows of group g (``first <= g < stop``) whose code (``0 <= code < n_codes``)
    already appeared earlier in the group, in O(rows): one byte per code marks what the group
    has seen, and is cleared after it."""
    seen = np.zeros(n_codes, np.uint8)
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        repeats = 0
        for i in range(lo, hi):
            repeats += seen[codes[i]]
            seen[codes[i]] = 1
        for i in range(lo, hi):
            seen[codes[i]] = 0
        out[g] = repeats
