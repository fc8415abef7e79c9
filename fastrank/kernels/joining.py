"""Joining a top-N run with held-out truth, per user, in O(rows) (see :mod:`fastrank.api.join`).

Run rows are grouped by user (``run_offsets``), each group tagged with its truth user
(``run_user``, -1: none); truth rows are grouped by truth user (``truth_offsets``) and their items
coded ``0 <= code < n_items``. A run row's item carries the same code, or -1 when it is no truth item.
"""

from __future__ import annotations

import numpy as np

from .jit import jit


@jit
def repeated_in_groups(first, stop, offsets, values, max_size, out):
    """``out[g]`` = rows of group g (``first <= g < stop``) whose value another row of the group
    also has, counted once per extra row: each group's values sorted in scratch of ``max_size``."""
    scratch = np.empty(max_size, np.int64)
    for g in range(first, stop):
        lo = offsets[g]
        n = offsets[g + 1] - lo
        for i in range(n):
            scratch[i] = values[lo + i]
        part = scratch[:n]
        part.sort()
        repeats = 0
        for i in range(1, n):
            repeats += part[i] == part[i - 1]
        out[g] = repeats


@jit
def match_truth(
    first, stop, run_offsets, run_user, run_items, truth_offsets, truth_items, truth_labels, n_items,
    labels, found,
):  # fmt: skip
    """For run groups ``first:stop``: ``labels[i]`` = the truth relevance of run row i's item for
    its user, else 0; ``found[t]`` = True for each truth row some run row matched. A table of
    ``n_items`` entries marks one user's truth items at a time and is cleared after it."""
    where = np.full(n_items, -1, np.int64)
    for g in range(first, stop):
        u = run_user[g]
        if u < 0:
            continue
        for t in range(truth_offsets[u], truth_offsets[u + 1]):
            where[truth_items[t]] = t
        for i in range(run_offsets[g], run_offsets[g + 1]):
            code = run_items[i]
            t = where[code] if code >= 0 else -1
            if t >= 0:
                labels[i] = truth_labels[t]
                found[t] = True
            else:
                labels[i] = 0.0
        for t in range(truth_offsets[u], truth_offsets[u + 1]):
            where[truth_items[t]] = -1


@jit
def place_run_rows(first, stop, run_offsets, run_user, run_labels, run_scores, out_offsets, labels, scores):
    """Copy each run group ``first:stop`` with a truth user u to the start of u's output group."""
    for g in range(first, stop):
        u = run_user[g]
        if u < 0:
            continue
        base = out_offsets[u] - run_offsets[g]
        for i in range(run_offsets[g], run_offsets[g + 1]):
            labels[base + i] = run_labels[i]
            scores[base + i] = run_scores[i]


@jit
def place_missed(first, stop, truth_offsets, truth_labels, found, out_offsets, ranked, labels):
    """Append each truth user's rows no run row matched (users ``first:stop``) after its run rows."""
    for u in range(first, stop):
        p = out_offsets[u] + ranked[u]
        for t in range(truth_offsets[u], truth_offsets[u + 1]):
            if not found[t]:
                labels[p] = truth_labels[t]
                p += 1


@jit
def fnv1a64(offsets, data, out):
    """``out[i]`` (uint64) = FNV-1a 64 of string i of an arrow string array's buffers."""
    for i in range(out.shape[0]):
        h = np.uint64(0xCBF29CE484222325)
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[j])) * np.uint64(0x100000001B3)
        out[i] = h
