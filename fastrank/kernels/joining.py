"""Joining a top-N run with held-out truth, per user, in O(rows) (see :mod:`fastrank.api.join`).

Run rows are grouped by user (``run_offsets``), each group tagged with its truth user
(``run_user``, -1: none); truth rows are grouped by truth user (``truth_offsets``) and their items
coded ``0 <= code < n_items``. A run row's item carries the same code, or -1 when it is no truth item.
"""

from __future__ import annotations

import numpy as np

from .hashing import FNV_OFFSET, FNV_PRIME
from .jit import jit
from .segments import same_bytes


@jit
def repeated_in_groups(first, stop, offsets, values, max_size, out):
    """``out[g]`` = rows of group g (``first <= g < stop``) whose value another row of the group
    also has, counted once per extra row, in O(rows): an open-addressing set of each group's
    values, in scratch sized once for ``max_size`` rows and cleared per group."""
    capacity = 8
    while capacity < 2 * max_size:
        capacity *= 2
    slots = np.empty(capacity, np.int64)
    used = np.zeros(capacity, np.bool_)
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        mask = 7
        while mask + 1 < 2 * (hi - lo):
            mask = 2 * mask + 1
        used[: mask + 1] = False
        repeats = 0
        for i in range(lo, hi):
            value = values[i]
            j = (value ^ (value >> 29)) & mask
            while used[j] and slots[j] != value:
                j = (j + 1) & mask
            if used[j]:
                repeats += 1
            else:
                used[j] = True
                slots[j] = value
        out[g] = repeats


@jit
def match_texts(first, stop, run_offsets, run_user, order, texts, truth, largest, labels, found):
    """``labels`` and ``found`` as :func:`match_truth` sets them, for text ids matched by hash:
    for run groups ``first:stop``, each truth user's items go in a small open-addressing table
    (sized once for ``largest`` items), probed by each run row's hash; equal hashes are
    confirmed byte by byte.

    ``order``: the input row of each grouped row (empty: the same); ``texts`` = (offsets, bytes,
    hashes) of the run's item ids by input row; ``truth`` = (offsets per user, item code per row,
    the items' offsets, bytes and hashes by code, labels per row).
    """
    offsets, data, hashes = texts
    truth_offsets, truth_codes, item_offsets, item_data, item_hashes, truth_labels = truth
    capacity = 8
    while capacity < 2 * largest:
        capacity *= 2
    slots = np.empty(capacity, np.int64)
    for g in range(first, stop):
        u = run_user[g]
        if u < 0:
            continue
        t_lo = truth_offsets[u]
        t_hi = truth_offsets[u + 1]
        mask = 7
        while mask + 1 < 2 * (t_hi - t_lo):
            mask = 2 * mask + 1
        slots[: mask + 1] = -1
        for t in range(t_lo, t_hi):
            h = item_hashes[truth_codes[t]]
            j = (h ^ (h >> 29)) & mask
            while slots[j] >= 0:
                j = (j + 1) & mask
            slots[j] = t
        for p in range(run_offsets[g], run_offsets[g + 1]):
            i = p if order.shape[0] == 0 else order[p]
            h = hashes[i]
            j = (h ^ (h >> 29)) & mask
            labels[p] = 0.0
            while slots[j] >= 0:
                t = slots[j]
                code = truth_codes[t]
                if item_hashes[code] == h and same_bytes(
                    data, offsets[i], offsets[i + 1], item_data, item_offsets[code], item_offsets[code + 1]
                ):
                    labels[p] = truth_labels[t]
                    found[t] = True
                    break
                j = (j + 1) & mask


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
def place_run_rows(
    first, stop, run_offsets, run_user, run_labels, run_scores, out_offsets, labels, scores, by_place
):
    """Copy each run group ``first:stop`` with a truth user u to the start of u's output group:
    in the group's order, or with ``by_place`` (scores minus each row's place, 0 first: trec_eval's
    order) each row at its place, so that the list arrives ranked."""
    for g in range(first, stop):
        u = run_user[g]
        if u < 0:
            continue
        base = out_offsets[u] - run_offsets[g]
        for i in range(run_offsets[g], run_offsets[g + 1]):
            at = out_offsets[u] - np.int64(run_scores[i]) if by_place else base + i
            labels[at] = run_labels[i]
            scores[at] = run_scores[i]


@jit
def place_missed(first, stop, truth_offsets, truth_labels, found, out_offsets, ranked, labels, scores):
    """Append each truth user's rows no run row matched (users ``first:stop``) after its run rows,
    with the score -inf (never ranked)."""
    for u in range(first, stop):
        p = out_offsets[u] + ranked[u]
        for t in range(truth_offsets[u], truth_offsets[u + 1]):
            if not found[t]:
                labels[p] = truth_labels[t]
                scores[p] = -np.inf
                p += 1


@jit
def fnv1a64(first, stop, offsets, data, out):
    """``out[i]`` (uint64) = FNV-1a 64 of string i (``first <= i < stop``) of an arrow string
    array's buffers."""
    for i in range(first, stop):
        h = FNV_OFFSET
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[j])) * FNV_PRIME
        out[i] = h
