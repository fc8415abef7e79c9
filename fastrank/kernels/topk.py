"""Top-m selection inside one group: a bounded heap over row indices, then a heapsort of the heap.

One pass over the group's n rows keeps the m best rows seen so far; a row enters the heap only when
it beats the current worst, so on rows in no particular order the pass costs about n comparisons
plus O(m log m log(n / m)) heap work, and O(n log m) at worst (rows in ascending score order).
Long groups are first cut into blocks of 16 rows whose maxima are taken in a tight branch-free
loop; only blocks that can hold a top-m row reach the heap. The whole group is never sorted unless
m = n.

The ranking order is total: score descending, then (by tie mode) label, then row index ascending,
so every tie is broken the same way whatever the platform.
"""

from __future__ import annotations

from .jit import jit, jit_finite, jit_inline

AVERAGE = 0
"""Ties in the score are averaged over all their orders (scikit-learn's ``ignore_ties=False``)."""
PESSIMISTIC = 1
"""Inside a tie, rows with lower labels are ranked first (the worst order)."""
OPTIMISTIC = 2
"""Inside a tie, rows with higher labels are ranked first (the best order)."""

BLOCK = 16
"""Rows per block of the pre-filter."""
# Groups of fewer than _PREFILTER * m rows go straight to the heap: the pre-filter would not pay.
_PREFILTER = 4 * BLOCK


@jit_inline
def ranked_after(i, j, scores, labels, tie):
    """True when row ``i`` is ranked after row ``j`` (``i != j``)."""
    si = scores[i]
    sj = scores[j]
    if si != sj:
        return si < sj
    if tie == PESSIMISTIC:
        if labels[i] != labels[j]:
            return labels[i] > labels[j]
    elif tie == OPTIMISTIC:
        if labels[i] != labels[j]:
            return labels[i] < labels[j]
    return i > j


@jit_finite
def block_maxima(scores, lo, hi, out):
    """Maximum of each block of BLOCK consecutive rows of ``lo:hi`` (the last may be shorter) into
    ``out``; returns the number of blocks. Scores must be finite."""
    n_blocks = 0
    start = lo
    while start < hi:
        end = min(start + BLOCK, hi)
        best = scores[start]
        for i in range(start + 1, end):
            v = scores[i]
            best = v if v > best else best
        out[n_blocks] = best
        n_blocks += 1
        start = end
    return n_blocks


@jit
def _sift_down(heap, pos, size, scores, labels, tie):
    # The root holds the row ranked last, so it is the one a better row evicts.
    item = heap[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        right = child + 1
        if right < size and ranked_after(heap[right], heap[child], scores, labels, tie):
            child = right
        if ranked_after(heap[child], item, scores, labels, tie):
            heap[pos] = heap[child]
            pos = child
        else:
            break
    heap[pos] = item


@jit
def _heapify(heap, m, scores, labels, tie):
    for pos in range(m // 2 - 1, -1, -1):
        _sift_down(heap, pos, m, scores, labels, tie)


@jit
def _heap_sort(heap, m, scores, labels, tie):
    # Moving the root (the worst row) to the end m - 1 times leaves heap[:m] best first.
    for end in range(m - 1, 0, -1):
        last = heap[0]
        heap[0] = heap[end]
        heap[end] = last
        _sift_down(heap, 0, end, scores, labels, tie)


@jit
def _heap_select(scores, labels, lo, hi, m, tie, out, sort):
    # Without sort, out[:m] is left a heap whose root out[0] is the m-th best row.
    for r in range(m):
        out[r] = lo + r
    _heapify(out, m, scores, labels, tie)
    worst = scores[out[0]]
    for i in range(lo + m, hi):
        # Most rows lose to the current worst on score alone; only ties need the full order.
        s = scores[i]
        if s < worst:
            continue
        if s > worst or ranked_after(out[0], i, scores, labels, tie):
            out[0] = i
            _sift_down(out, 0, m, scores, labels, tie)
            worst = scores[out[0]]
    if sort:
        _heap_sort(out, m, scores, labels, tie)


@jit
def sift_down_min(values, heap, pos, size):
    # Min-heap of indices into values: the root holds the smallest.
    item = heap[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and values[heap[child + 1]] < values[heap[child]]:
            child += 1
        if values[heap[child]] < values[item]:
            heap[pos] = heap[child]
            pos = child
        else:
            break
    heap[pos] = item


@jit
def _mth_largest(values, n, m, heap):
    """The m-th largest of ``values[:n]`` (``1 <= m <= n``), with ``heap`` as int64 scratch of m.

    The pre-filter's own selection over block maxima: a value heap needs no tie order, and the
    row heap above is compiled for read-only score columns, not for this writable scratch (a
    second copy of it would double its compile time on a first run).
    """
    for r in range(m):
        heap[r] = r
    for pos in range(m // 2 - 1, -1, -1):
        sift_down_min(values, heap, pos, m)
    for i in range(m, n):
        if values[i] > values[heap[0]]:
            heap[0] = i
            sift_down_min(values, heap, 0, m)
    return values[heap[0]]


@jit
def select_top(scores, labels, lo, hi, m, tie, out, block_max):
    """Write the ``m`` best rows of ``lo:hi`` into ``out[:m]``, best first (``1 <= m <= hi - lo``).

    ``out`` holds absolute row indices. ``labels`` is read only to order ties (pessimistic,
    optimistic); pass ``scores`` twice to rank by value alone. ``block_max`` is float64 scratch of
    at least ``ceil((hi - lo) / BLOCK)`` entries.
    """
    if hi - lo < _PREFILTER * m:
        _heap_select(scores, labels, lo, hi, m, tie, out, True)
        return
    # The m-th largest block maximum T is a lower bound of the m-th best score (m blocks each hold a
    # row scoring >= T), so only blocks whose maximum reaches T can hold the top m: the heap sees
    # few rows, and the pass over the whole group is a branch-free running maximum.
    n_blocks = block_maxima(scores, lo, hi, block_max)
    threshold = _mth_largest(block_max, n_blocks, m, out)
    filled = 0
    worst = threshold
    for b in range(n_blocks):
        if block_max[b] < threshold:
            continue
        for i in range(lo + b * BLOCK, min(lo + (b + 1) * BLOCK, hi)):
            s = scores[i]
            if s < worst:
                continue
            if filled < m:
                out[filled] = i
                filled += 1
                if filled == m:
                    _heapify(out, m, scores, labels, tie)
                    worst = scores[out[0]]
            elif s > worst or ranked_after(out[0], i, scores, labels, tie):
                out[0] = i
                _sift_down(out, 0, m, scores, labels, tie)
                worst = scores[out[0]]
    _heap_sort(out, m, scores, labels, tie)
