"""trec_eval's order of a run's rows, per group: score descending, ties broken by the item id as
text, descending (trec_eval compares docnos with ``strcmp``). No global sort: each group is
ordered by itself, and only its ties compare text.

Two ways, one result: groups of similar sizes are laid out as the rows of one padded matrix of
packed keys (the score's order in the high bits, the row's place in the low ones) that numpy
sorts row by row with its vectorised sort (:func:`descending_keys`, then
:func:`trec_positions_of_keys`); otherwise each group is checked for rank order (then only its
ties are sorted) and merge-sorted by score and id when it is not (:func:`trec_positions`).
"""

from __future__ import annotations

import numpy as np

from .jit import jit, jit_inline
from .sorting import descending


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


@jit_inline
def _before(a, b, scores, rows, base, text_offsets, text_data):
    """Whether the group's row at place ``a`` comes before the one at place ``b`` in trec_eval's
    order."""
    if scores[base + a] != scores[base + b]:
        return scores[base + a] > scores[base + b]
    return _text_after(_row(rows, base, a), _row(rows, base, b), text_offsets, text_data)


_SMALL_TIE = 16  # ties up to this size are insertion-sorted (no merge passes, no scratch)


@jit
def _sort_tie(order, start, stop, scores, rows, base, text_offsets, text_data, scratch):
    """Sort ``order[start:stop]`` (places in one group: one tie, or a whole list) in trec_eval's order:
    an insertion sort for a small tie, else a merge sort, so a tie of any size costs O(t log t)
    comparisons."""
    if stop - start <= _SMALL_TIE:
        for i in range(start + 1, stop):
            place = order[i]
            j = i
            while j > start and _before(place, order[j - 1], scores, rows, base, text_offsets, text_data):
                order[j] = order[j - 1]
                j -= 1
            order[j] = place
        return
    width = 1
    n = stop - start
    while width < n:
        lo = 0
        while lo < n - width:
            mid = lo + width
            hi = min(lo + 2 * width, n)
            a, b, w = lo, mid, lo
            while a < mid and b < hi:
                if _before(order[start + b], order[start + a], scores, rows, base, text_offsets, text_data):
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


@jit_inline
def _place_ranked(lo, n, scores, rows, text_offsets, text_data, order, scratch, out):
    """:func:`trec_positions` for one group already in rank order: a row outside a tie keeps its
    place, a tie of two is one comparison, a larger tie is sorted."""
    start = 0
    while start < n:
        end = start + 1
        while end < n and scores[lo + end] == scores[lo + start]:
            end += 1
        if end - start == 1:
            out[lo + start] = -float(start)
        elif end - start == 2:
            swap = _text_after(_row(rows, lo, start + 1), _row(rows, lo, start), text_offsets, text_data)
            out[lo + start] = -float(start + swap)
            out[lo + start + 1] = -float(start + 1 - swap)
        else:
            for p in range(start, end):
                order[p] = p
            _sort_tie(order, start, end, scores, rows, lo, text_offsets, text_data, scratch)
            for p in range(start, end):
                out[lo + order[p]] = -float(p)
        start = end


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
        if descending(scores, lo, lo + n):
            _place_ranked(lo, n, scores, rows, text_offsets, text_data, order, scratch, out)
            continue
        for p in range(n):  # one merge sort by score, then id: no second pass over the ties
            order[p] = p
        _sort_tie(order[:n], 0, n, scores, rows, lo, text_offsets, text_data, scratch)
        for p in range(n):
            out[lo + order[p]] = -float(p)


@jit
def descending_keys(first, stop, offsets, score_bits, bits, keys):
    """``keys[g, p]`` for groups ``first:stop``: a uint64 that sorts ascending as group g's row
    p sorts by score descending, with p in its low ``bits`` bits (the score's lowest bits give
    way to it: rows whose keys differ only there are compared again); the rest of the row
    ``2**64 - 1``. ``score_bits``: the finite float64 scores viewed as uint64; -0.0 keys as 0.0
    (they tie)."""
    mask = (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    sign = np.uint64(1) << np.uint64(63)
    for g in range(first, stop):
        lo = offsets[g]
        n = offsets[g + 1] - lo
        row = keys[g]
        for p in range(n):
            word = score_bits[lo + p]
            if word << np.uint64(1) == np.uint64(0):  # -0.0
                word = np.uint64(0)
            rising = ~word if word & sign else word | sign  # the score's order as an unsigned one
            row[p] = (~rising & ~mask) | np.uint64(p)
        for p in range(n, row.shape[0]):
            row[p] = ~np.uint64(0)


@jit
def trec_positions_of_keys(first, stop, offsets, scores, rows, text, keys, bits, out):
    """:func:`trec_positions` from each group's row of ``keys`` (:func:`descending_keys`) sorted
    ascending: places whose keys agree above the low ``bits`` bits (a tie, or scores that close)
    are sorted again by score and id."""
    text_offsets, text_data = text
    mask = (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    shift = np.uint64(bits)
    order = np.empty(keys.shape[1], np.int64)
    scratch = np.empty(keys.shape[1], np.int64)
    for g in range(first, stop):
        lo = offsets[g]
        n = offsets[g + 1] - lo
        row = keys[g]
        for p in range(n):
            order[p] = np.int64(row[p] & mask)
        start = 0
        while start < n:
            end = start + 1
            while end < n and row[end] >> shift == row[start] >> shift:
                end += 1
            if end - start > 1:
                _sort_tie(order[:n], start, end, scores, rows, lo, text_offsets, text_data, scratch)
            start = end
        for p in range(n):
            out[lo + order[p]] = -float(p)
