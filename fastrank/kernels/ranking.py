"""Metric formulas over the ranked top of one group, described as runs, and
:func:`metric_value`, the one place a metric's code picks its formula (both drivers call it).

A *run* is a block of consecutive ranks whose order is undetermined: a tie in the score when ties
are averaged, a single row otherwise. ``run_len[j]`` is its size, ``run_gain[j]`` the sum of its
gains and ``run_rel[j]`` its number of relevant rows. Every metric here is the expected value over
all orders inside each run, which is the exact metric when runs are single rows. Positions are
0-based; cutoffs ``k`` are already clipped to the group size.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .jit import jit, jit_inline
from .topk import OPTIMISTIC, PESSIMISTIC, sift_down_min

# The metric codes of the drivers (``fastrank.metrics.registry`` gives each metric its code).
DCG, NDCG, PRECISION, RECALL, HIT_RATE, MRR, MAP, R_PRECISION, RBP = range(9)
RBP_PERSISTENCE = 0.8
LINEAR, EXPONENTIAL, BINARY = range(3)
"""Gain codes: a label's gain is the label, ``2**label - 1``, or 1 when relevant (else 0)."""
"""Rank-biased precision's p: the chance a user goes on to the next rank (Moffat & Zobel's and
ir_measures' 0.8)."""


class RankOptions(NamedTuple):
    """How the drivers rank and score every group of a call: one record, so a kernel takes a few
    arguments. ``full``: rank whole groups (a metric without a cutoff), else to depth ``kmax``;
    ``tie``: the tie rule's code; ``skip_no_relevant``: NaN, not 0, for a group without anything
    relevant; ``need_ideal`` ranks labels too, ``need_relevant`` counts relevant rows;
    ``map_by_relevant`` divides AP by the relevant count (trec_eval); ``gain`` is a gain code
    (:data:`LINEAR`, :data:`EXPONENTIAL`, :data:`BINARY`); scratch arrays hold
    ``scratch_size`` ranks, ``max_items`` is the largest group."""

    full: bool
    kmax: int
    gain: int
    tie: int
    threshold: float
    min_items: int
    skip_no_relevant: bool
    need_ideal: bool
    need_relevant: bool
    map_by_relevant: bool
    scratch_size: int
    max_items: int


@jit_inline
def metric_value(metric, k, group, runs, ideal, n_relevant, tables, o):
    """Metric ``metric`` at cutoff ``k`` (0: none) of one group.

    ``group`` is ``(labels, scores, lo, hr, hi)``: rows ``lo:hr`` are ranked, rows ``hr:hi`` are
    relevant items a ranking missed (a run's truth), counted in the ideal DCG and the relevant
    count only. ``runs`` is ``(run_len, run_gain, run_rel, n_runs)`` over the ranked top;
    ``ideal`` is ``(top_labels, n_ideal)``, the rows ranked by label; ``tables`` is
    ``(discount, discount_cumsum)``; ``o`` the :class:`RankOptions`.
    """
    labels, scores, lo, hr, hi = group
    run_len, run_gain, run_rel, n_runs = runs
    n = hi - lo
    n_ranked = hr - lo
    cut = n_ranked if k == 0 or k > n_ranked else k
    ideal_cut = n if k == 0 or k > n else k
    nothing = np.nan if o.skip_no_relevant else 0.0
    if metric == DCG:
        return dcg(run_len, run_gain, n_runs, cut, tables[1])
    if metric == NDCG:
        top_labels, n_ideal = ideal
        best = ideal_dcg(labels, top_labels, min(ideal_cut, n_ideal), o.gain, o.threshold, tables[0])
        return nothing if best == 0.0 else dcg(run_len, run_gain, n_runs, cut, tables[1]) / best
    if n_relevant == 0:
        return nothing
    if metric == PRECISION:
        size = n_ranked if k == 0 else k
        return expected_hits(run_len, run_rel, n_runs, cut) / size if size > 0 else 0.0
    if metric == RECALL:
        return expected_hits(run_len, run_rel, n_runs, cut) / n_relevant
    if metric == HIT_RATE:
        return hit(run_len, run_rel, n_runs, cut)
    if metric == MRR:
        return reciprocal_rank(scores, labels, lo, hr, o.threshold, o.tie, cut)
    if metric == MAP:
        denominator = n_relevant if o.map_by_relevant else min(ideal_cut, n_relevant)
        return average_precision(run_len, run_rel, n_runs, cut, denominator)
    if metric == RBP:
        return rank_biased_precision(run_len, run_rel, n_runs, cut, RBP_PERSISTENCE)
    # R_PRECISION: precision at rank R = the relevant count, missed items included (trec_eval).
    return expected_hits(run_len, run_rel, n_runs, min(n_relevant, n_ranked)) / n_relevant


@jit_inline
def gain(label, code, threshold):
    """Gain of one label, by its gain code: the label itself, ``2**label - 1``, or 1 if
    ``label >= threshold`` (else 0)."""
    if code == EXPONENTIAL:
        return 2.0**label - 1.0
    if code == BINARY:
        return 1.0 if label >= threshold else 0.0
    return label


@jit
def score_runs(top, m, lo, hi, scores, labels, gain_code, threshold, run_len, run_gain, run_rel):
    """Runs of equal score over the ranked rows ``top[:m]`` of group ``lo:hi``; returns their count.

    When ``m`` is less than the group size, the last run is the tie that straddles the selection
    boundary: its size and sums are taken over the whole group, since it may continue past rank m.
    Gains are summed in row order, as scikit-learn does.
    """
    n_runs = 0
    for r in range(m):
        i = top[r]
        if r == 0 or scores[i] != scores[top[r - 1]]:
            run_len[n_runs] = 0
            run_gain[n_runs] = 0.0
            run_rel[n_runs] = 0
            n_runs += 1
        run_len[n_runs - 1] += 1
        run_gain[n_runs - 1] += gain(labels[i], gain_code, threshold)
        run_rel[n_runs - 1] += labels[i] >= threshold
    if m < hi - lo:
        boundary = scores[top[m - 1]]
        size = 0
        total = 0.0
        relevant = 0
        for i in range(lo, hi):
            if scores[i] == boundary:
                size += 1
                total += gain(labels[i], gain_code, threshold)
                relevant += labels[i] >= threshold
        run_len[n_runs - 1] = size
        run_gain[n_runs - 1] = total
        run_rel[n_runs - 1] = relevant
    return n_runs


@jit
def row_runs(top, m, labels, gain_code, threshold, run_len, run_gain, run_rel):
    """One run per ranked row ``top[:m]``, for a fully determined order; returns ``m``."""
    for r in range(m):
        label = labels[top[r]]
        run_len[r] = 1
        run_gain[r] = gain(label, gain_code, threshold)
        run_rel[r] = label >= threshold
    return m


@jit
def dcg(run_len, run_gain, n_runs, k, discount_cumsum):
    """DCG@k: each run's mean gain times the sum of the discounts of its ranks inside the cutoff.

    ``discount_cumsum[p]`` is the sum of the discounts of ranks ``0..p-1``. This is McSherry and
    Najork's tie-averaged DCG, the formula of ``sklearn.metrics.dcg_score(ignore_ties=False)``.
    """
    total = 0.0
    p = 0
    for j in range(n_runs):
        if p >= k:
            break
        size = run_len[j]
        total += run_gain[j] / size * (discount_cumsum[min(p + size, k)] - discount_cumsum[p])
        p += size
    return total


@jit
def ideal_dcg(labels, top, k, gain_code, threshold, discount):
    """DCG@k of the rows ``top[:k]``, already ranked by label descending (every gain is
    non-decreasing in the label)."""
    total = 0.0
    for r in range(k):
        total += gain(labels[top[r]], gain_code, threshold) * discount[r]
    return total


@jit
def positive_rows(labels, lo, hi, limit, out):
    """Write the rows of ``lo:hi`` with a label > 0 into ``out``; return their count, or -1 as soon
    as there are more than ``limit``."""
    count = 0
    for i in range(lo, hi):
        if labels[i] > 0:
            if count == limit:
                return -1
            out[count] = i
            count += 1
    return count


@jit
def sort_rows_by_label(labels, rows, n):
    """Order ``rows[:n]`` by label, descending: a heapsort in place with the top-k selection's
    min-heap (O(n log n), no allocation, little for a first run to compile)."""
    for start in range(n // 2 - 1, -1, -1):
        sift_down_min(labels, rows, start, n)
    for end in range(n - 1, 0, -1):
        rows[0], rows[end] = rows[end], rows[0]  # the smallest label goes last
        sift_down_min(labels, rows, 0, end)


@jit
def expected_hits(run_len, run_rel, n_runs, k):
    """Expected number of relevant rows in the top k."""
    total = 0.0
    p = 0
    for j in range(n_runs):
        if p >= k:
            break
        size = run_len[j]
        total += run_rel[j] * (min(p + size, k) - p) / size
        p += size
    return total


@jit
def hit(run_len, run_rel, n_runs, k):
    """Probability that the top k holds at least one relevant row."""
    p = 0
    for j in range(n_runs):
        if p >= k:
            break
        size = run_len[j]
        relevant = run_rel[j]
        if relevant > 0:
            # The first run with a relevant row decides: drawing `taken` of its rows without
            # replacement misses all of them with a hypergeometric probability.
            taken = min(size, k - p)
            miss = 1.0
            for i in range(taken):
                if size - relevant - i <= 0:
                    miss = 0.0
                    break
                miss *= (size - relevant - i) / (size - i)
            return 1.0 - miss
        p += size
    return 0.0


@jit
def average_precision(run_len, run_rel, n_runs, k, denominator):
    """AP@k: sum over relevant ranks r <= k of precision@r, divided by ``denominator`` (> 0):
    ``min(k, relevant count)``, or the relevant count as trec_eval.

    Inside a run of ``size`` rows with ``rel`` relevant, the row at the q-th place (0-based) is
    relevant with probability rel/size and, given that, has ``q (rel-1)/(size-1)`` relevant rows of
    its run before it; by linearity this gives the exact expectation over the run's orders.
    """
    total = 0.0
    p = 0
    above = 0
    for j in range(n_runs):
        if p >= k:
            break
        size = run_len[j]
        relevant = run_rel[j]
        if relevant > 0:
            for q in range(min(size, k - p)):
                before = above + 1.0
                if size > 1:
                    before += q * (relevant - 1) / (size - 1)
                total += relevant / size * before / (p + q + 1)
        above += relevant
        p += size
    return total / denominator


@jit
def rank_biased_precision(run_len, run_rel, n_runs, k, persistence):
    """RBP@k: ``(1 - p)`` times the sum of ``p**(rank - 1)`` over the relevant rows in the top k.

    Linear in the places' weights, so a run's relevant rows share the weight of its places
    inside the cutoff: ``(1 - p) * sum(p**r for r in range(a, b)) = p**a - p**b``.
    """
    total = 0.0
    p = 0
    for j in range(n_runs):
        if p >= k:
            break
        size = run_len[j]
        total += run_rel[j] / size * (persistence**p - persistence ** min(p + size, k))
        p += size
    return total


@jit
def reciprocal_rank(scores, labels, lo, hi, threshold, tie, k):
    """1 / rank of the first relevant row if it is within the top k, else 0; O(n), no selection.

    The first relevant row lies in the tie of the highest score any relevant row has. Ties
    averaged: with ``size`` tied rows of which ``rel`` are relevant, below ``above`` better rows,
    the first relevant place X in a random order has P(X = x) = P(X > x-1) rel / (size - x + 1).
    """
    found = False
    best = 0.0
    for i in range(lo, hi):
        if labels[i] >= threshold and (not found or scores[i] > best):
            best = scores[i]
            found = True
    if not found:
        return 0.0
    above = 0
    size = 0
    relevant = 0
    for i in range(lo, hi):
        s = scores[i]
        if s > best:
            above += 1
        elif s == best:
            size += 1
            relevant += labels[i] >= threshold
    if tie == OPTIMISTIC:  # relevant rows lead their tie
        return 1.0 / (above + 1) if above + 1 <= k else 0.0
    if tie == PESSIMISTIC:  # relevant rows close their tie
        rank = above + size - relevant + 1
        return 1.0 / rank if rank <= k else 0.0
    total = 0.0
    beyond = 1.0  # P(X > x - 1)
    for x in range(1, size - relevant + 2):
        if above + x > k:
            break
        at = beyond * relevant / (size - x + 1)
        total += at / (above + x)
        beyond *= (size - x + 1 - relevant) / (size - x + 1)
    return total


@jit
def count_relevant(labels, lo, hi, threshold):
    """Number of rows of ``lo:hi`` with ``label >= threshold``."""
    count = 0
    for i in range(lo, hi):
        count += labels[i] >= threshold
    return count


@jit
def strictly_descending(scores, lo, hi):
    """Whether ``scores[lo:hi]`` strictly decrease: rows already in rank order, with no tie (so
    every tie rule gives that order). Stops at the first row out of order."""
    for i in range(lo + 1, hi):
        if not scores[i] < scores[i - 1]:
            return False
    return True


@jit
def straddling_tie(run_len, n_runs, k):
    """Size of the score tie that holds both rank k-1 and rank k, else 0 (the cutoff splits no tie)."""
    p = 0
    for j in range(n_runs):
        size = run_len[j]
        if p + size > k:
            return size if p < k else 0
        p += size
    return 0
