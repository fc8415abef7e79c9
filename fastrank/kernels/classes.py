"""Metrics of the whole list from each group's relevant and non-relevant scores, sorted apart:
ROC AUC (one merge of the two) and R-Precision (the top R of the two).

The sort is an LSD radix sort of the scores' bits (8 passes of one byte, skipping a byte that
every score shares): O(n) per group and about twice as fast as a comparison sort here.
"""

from __future__ import annotations

import numpy as np

from .jit import jit
from .topk import AVERAGE, PESSIMISTIC

_SIGN = np.uint64(1) << np.uint64(63)
_BYTE = np.uint64(255)


@jit
def sortable_keys(values, n, keys):
    """``keys[:n]``: unsigned integers in the order of the float64 ``values[:n]`` (finite;
    -0.0 becomes 0.0, so equal floats give equal keys)."""
    bits = values[:n].view(np.uint64)
    for i in range(n):
        b = bits[i]
        keys[i] = ~b if b & _SIGN else b | _SIGN


@jit
def radix_sort(keys, scratch, n, counts):
    """Sort ``keys[:n]`` (uint64) ascending, in place, with ``scratch`` of at least n keys and
    ``counts``, int64 scratch of shape (8, 257)."""
    counts[:, :] = 0
    for i in range(n):
        k = keys[i]
        for p in range(8):
            counts[p, ((k >> np.uint64(8 * p)) & _BYTE) + 1] += 1
    src = keys
    dst = scratch
    for p in range(8):
        if counts[p, 1:].max() == n:  # every key has this byte: the pass would move nothing
            continue
        for d in range(256):
            counts[p, d + 1] += counts[p, d]
        shift = np.uint64(8 * p)
        for i in range(n):
            d = (src[i] >> shift) & _BYTE
            dst[counts[p, d]] = src[i]
            counts[p, d] += 1
        src, dst = dst, src
    if src is not keys:  # an odd number of passes left the keys in the scratch
        keys[:n] = src[:n]


@jit
def _precision_at_r(pos, n_pos, neg, n_neg, tie):
    """Expected relevant rows in the top R = ``n_pos`` (>= 1) over the sorted keys, divided by R."""
    # The R-th best key, walking both sorted arrays down from their ends.
    i = n_pos - 1
    j = n_neg - 1
    boundary = pos[i]
    for _ in range(n_pos):
        if j < 0 or (i >= 0 and pos[i] >= neg[j]):
            boundary = pos[i]
            i -= 1
        else:
            boundary = neg[j]
            j -= 1
    pos_above = n_pos - np.searchsorted(pos[:n_pos], boundary, side="right")
    pos_tied = n_pos - pos_above - np.searchsorted(pos[:n_pos], boundary, side="left")
    neg_above = n_neg - np.searchsorted(neg[:n_neg], boundary, side="right")
    neg_tied = n_neg - neg_above - np.searchsorted(neg[:n_neg], boundary, side="left")
    places = n_pos - pos_above - neg_above  # the tie's places inside the top R
    if tie == AVERAGE:
        hits = pos_above + places * pos_tied / (pos_tied + neg_tied)
    elif tie == PESSIMISTIC:  # the tie's non-relevant rows first
        hits = pos_above + max(0, places - neg_tied)
    else:
        hits = pos_above + min(places, pos_tied)
    return hits / n_pos


@jit
def grouped_class_metrics(
    first, stop, offsets, labels, scores, threshold, min_items, tie, skip_no_relevant, max_items,
    pairs, at_r,
):  # fmt: skip
    """For groups ``first:stop``, with relevant rows those with ``label >= threshold``:

    - ``pairs[g]`` (AUC): the probability that a relevant row scores above a non-relevant one,
      a tie counting one half (the Mann-Whitney U over positives x negatives, as
      ``sklearn.metrics.roc_auc_score``); NaN with a single class. The pair count is an exact
      integer, so the only rounding is the final division.
    - ``at_r[g]`` (R-Precision): the relevant rows among the top R, R = the relevant count,
      divided by R; the tie at rank R averaged over its orders, or ordered by ``tie``. Without a
      relevant row: 0, or NaN with ``skip_no_relevant``.

    Both NaN for groups with fewer than ``min_items`` rows. Scratch of ``max_items`` rows,
    allocated once.
    """
    values = np.empty(max_items, np.float64)
    positive = np.empty(max_items, np.uint64)
    negative = np.empty(max_items, np.uint64)
    scratch = np.empty(max_items, np.uint64)
    counts = np.empty((8, 257), np.int64)
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        if hi - lo < min_items:
            pairs[g] = np.nan
            at_r[g] = np.nan
            continue
        n_pos = 0
        n_neg = 0
        for i in range(lo, hi):  # positives first, negatives from the end
            if labels[i] >= threshold:
                values[n_pos] = scores[i] + 0.0
                n_pos += 1
            else:
                n_neg += 1
                values[hi - lo - n_neg] = scores[i] + 0.0
        if n_pos == 0:
            pairs[g] = np.nan
            at_r[g] = np.nan if skip_no_relevant else 0.0
            continue
        sortable_keys(values, n_pos, positive)
        sortable_keys(values[n_pos:], n_neg, negative)
        radix_sort(positive, scratch, n_pos, counts)
        radix_sort(negative, scratch, n_neg, counts)
        at_r[g] = _precision_at_r(positive, n_pos, negative, n_neg, tie)
        if n_neg == 0:
            pairs[g] = np.nan
            continue
        # Twice the pairs ordered right: a positive above a negative counts 2, a tied pair 1.
        twice = 0
        below = 0  # negatives scoring less than the current positive
        r = 0
        while r < n_pos:
            key = positive[r]
            same = r + 1
            while same < n_pos and positive[same] == key:
                same += 1
            while below < n_neg and negative[below] < key:
                below += 1
            tied = below
            while tied < n_neg and negative[tied] == key:
                tied += 1
            twice += (same - r) * (2 * below + tied - below)
            r = same
        pairs[g] = twice / (2.0 * n_pos * n_neg)
