"""Top-m selection inside one group: a bounded heap over row indices, then a heapsort of the heap.

One pass over the group's n rows keeps the m best rows seen so far; a row enters the heap only when
it beats the current worst, so on rows in no particular order the pass costs about n comparisons
plus O(m log m log(n / m)) heap work, and O(n log m) at worst (rows in ascending score order).
The whole group is never sorted unless m = n.

The ranking order is total: score descending, then (by tie mode) label, then row index ascending,
so every tie is broken the same way whatever the platform.
"""

from __future__ import annotations

from .._jit import jit, jit_inline

AVERAGE = 0
"""Ties in the score are averaged over all their orders (scikit-learn's ``ignore_ties=False``)."""
PESSIMISTIC = 1
"""Inside a tie, rows with lower labels are ranked first (the worst order)."""
OPTIMISTIC = 2
"""Inside a tie, rows with higher labels are ranked first (the best order)."""


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
def select_top(scores, labels, lo, hi, m, tie, out):
    """Write the ``m`` best rows of ``lo:hi`` into ``out[:m]``, best first (``1 <= m <= hi - lo``).

    ``out`` holds absolute row indices. ``labels`` is read only when ``tie`` is pessimistic or
    optimistic; pass ``scores`` twice to rank by value alone.
    """
    for r in range(m):
        out[r] = lo + r
    for pos in range(m // 2 - 1, -1, -1):
        _sift_down(out, pos, m, scores, labels, tie)
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
    for end in range(m - 1, 0, -1):
        last = out[0]
        out[0] = out[end]
        out[end] = last
        _sift_down(out, 0, end, scores, labels, tie)
