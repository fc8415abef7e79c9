"""Item exposure of every group's top-k list: the same selection as the ranking metrics, then one
pass that credits each listed item with its probability of being listed."""

from __future__ import annotations

import math

import numpy as np

from .jit import jit, jit_inline
from .topk import AVERAGE, BLOCK, select_top

ARP = 0
NOVELTY = 1
LONG_TAIL = 2


@jit
def value_range(values, first, stop):
    """The smallest and largest of ``values[first:stop]`` (not empty)."""
    low = values[first]
    high = values[first]
    for i in range(first + 1, stop):
        v = values[i]
        low = min(low, v)
        high = max(high, v)
    return low, high


@jit
def count_items(codes, first, stop, offset, weights, counts, totals):
    """Over rows ``first:stop``, per slot ``codes[i] - offset``: ``counts`` += 1 and ``totals`` +=
    ``weights[i]`` (1 when ``weights`` is empty)."""
    weighted = weights.shape[0] > 0
    for i in range(first, stop):
        slot = codes[i] - offset
        counts[slot] += 1
        totals[slot] += weights[i] if weighted else 1.0


@jit_inline
def surely_listed(scores, labels, lo, hi, m, tie, top, block_max):
    """Select the top ``m`` rows of ``lo:hi`` into ``top`` (and one more when there is one), and
    return how many of them are listed whatever the order of a tie: all ``m``, unless ties are
    averaged and the cutoff splits a tie, whose rows inside the top m are then not sure."""
    n = hi - lo
    # One place past the cutoff tells whether the cutoff splits a tie.
    select_top(scores, labels, lo, hi, m + 1 if m < n else m, tie, top, block_max)
    boundary = scores[top[m - 1]]
    sure = m
    if tie == AVERAGE and m < n and scores[top[m]] == boundary:
        sure = m - 1
        while sure > 0 and scores[top[sure - 1]] == boundary:
            sure -= 1
    return sure


@jit
def grouped_exposure(
    first, stop, offsets, data, items, offset, k, tie, min_items, popularity, max_items, per_user, acc
):
    """Top-``k`` exposure of groups ``first:stop``, ``data`` being ``(labels, scores)``,
    ``popularity`` ``(share, self_information, tail)`` per item slot and ``acc`` the chunk's
    accumulators ``(exposure, log_miss, certain)``.

    A row ranked inside the top k is listed with probability 1. With ``tie == AVERAGE``, the ``s``
    rows of a score tie that the cutoff splits, ``t`` of whose places lie inside the top k, are
    each listed with probability ``t / s`` (the expectation over the tie's orders); other tie
    rules order the tie, so every probability is 0 or 1.

    ``items[i] - offset`` is row i's item slot. ``per_user[g]``: the mean over the group's
    ``min(k, n)`` listed places of the item's popularity ``share`` (ARP), ``self_information``
    (Novelty) and ``tail`` flag (long-tail share); NaN for groups with fewer than ``min_items``
    rows, which list nothing. Per item slot (this chunk's accumulators): ``exposure`` += the
    probability, ``certain`` = 1 when some list surely holds the item, else ``log_miss`` +=
    log(1 - probability), for the expected Coverage. ``max_items`` is the largest group.
    """
    labels, scores = data
    share, self_information, tail = popularity
    exposure, log_miss, certain = acc
    top = np.empty(min(k, max_items) + 1, np.int64)
    block_max = np.empty((max_items + BLOCK - 1) // BLOCK, np.float64)
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        n = hi - lo
        if n < min_items or n == 0:
            per_user[g, :] = np.nan
            continue
        m = min(k, n)
        sure = surely_listed(scores, labels, lo, hi, m, tie, top, block_max)
        boundary = scores[top[m - 1]]
        popular = 0.0
        novel = 0.0
        in_tail = 0.0
        for r in range(sure):
            item = items[top[r]] - offset
            exposure[item] += 1.0
            certain[item] = 1
            popular += share[item]
            novel += self_information[item]
            in_tail += tail[item]
        if sure < m:
            size = 0
            for i in range(lo, hi):
                size += scores[i] == boundary
            p = (m - sure) / size
            miss = math.log1p(-p)
            for i in range(lo, hi):
                if scores[i] == boundary:
                    item = items[i] - offset
                    exposure[item] += p
                    log_miss[item] += miss
                    popular += p * share[item]
                    novel += p * self_information[item]
                    in_tail += p * tail[item]
        per_user[g, ARP] = popular / m
        per_user[g, NOVELTY] = novel / m
        per_user[g, LONG_TAIL] = in_tail / m


@jit
def grouped_listed(first, stop, bounds, data, k, tie, min_items, max_items, entries, counts, places):
    """The rows of each group's top ``k`` and their probability of being listed (groups
    ``first:stop``, group g being rows ``starts[g]:ends[g]`` of ``bounds = (starts, ends)``,
    ``data`` ``(labels, scores)``), as :func:`grouped_exposure` credits them: 1.0 for a row
    surely listed, ``t / s`` for each of the ``s`` rows of a tie the cutoff splits.

    ``entries = (rows, p)``: group g's ``counts[g]`` entries go to positions ``starts[g]:`` (a
    group never has more entries than rows), the surely listed rows first, in rank order, then
    the tie's rows in row order. ``places[g]``: the ``min(k, n)`` places of the list, 0 for a
    group with fewer than ``min_items`` rows (or none), which lists nothing. Rows past a group's
    end (a run's truth items it missed) are never listed."""
    starts, ends = bounds
    rows, p = entries
    labels, scores = data
    top = np.empty(min(k, max_items) + 1, np.int64)
    block_max = np.empty((max_items + BLOCK - 1) // BLOCK, np.float64)
    for g in range(first, stop):
        lo = starts[g]
        hi = ends[g]
        n = hi - lo
        counts[g] = 0
        if n < min_items or n == 0:
            places[g] = 0
            continue
        m = min(k, n)
        sure = surely_listed(scores, labels, lo, hi, m, tie, top, block_max)
        boundary = scores[top[m - 1]]
        at = lo
        for r in range(sure):
            rows[at] = top[r]
            p[at] = 1.0
            at += 1
        if sure < m:
            size = 0
            for i in range(lo, hi):
                size += scores[i] == boundary
            share = (m - sure) / size
            for i in range(lo, hi):
                if scores[i] == boundary:
                    rows[at] = i
                    p[at] = share
                    at += 1
        counts[g] = at - lo
        places[g] = m


@jit
def gather_entries(first, stop, starts, counts, offsets, entries, out):
    """Groups ``first:stop``' ``counts[g]`` entries at ``starts[g]`` of ``entries = (rows, p)``,
    packed at ``offsets[g]`` of ``out = (rows, p, group)``."""
    rows, p = entries
    out_rows, out_p, out_group = out
    for g in range(first, stop):
        for j in range(counts[g]):
            out_rows[offsets[g] + j] = rows[starts[g] + j]
            out_p[offsets[g] + j] = p[starts[g] + j]
            out_group[offsets[g] + j] = g
