"""Metrics that tell judged rows from unjudged ones (a run against qrels), and the counts of a
list: bpref (Buckley & Voorhees 2004) and infAP (Yilmaz & Aslam 2006), as trec_eval computes
them, num_ret, num_rel, num_rel_ret.

``judged[i]`` is 1 for a row whose item is in the qrels with a relevance >= 0 (judged), -1 for
one in the qrels with a negative relevance (pooled, not judged: trec_eval's reading for infAP)
and 0 for one not in the qrels. A row is relevant when judged and ``labels[i] >= threshold``;
judged non-relevant when judged and below. Exact over ties like every fastrank metric: the
expectation over the orders of each tie's rows, each order equally likely.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import jit, jit_inline
from .sorting import rank_order
from .topk import OPTIMISTIC, PESSIMISTIC

BPREF, NUM_RET, NUM_REL, NUM_REL_RET, INFAP = range(5)
"""The columns of :func:`grouped_judged_metrics`' output."""
INFAP_EPSILON = 0.00001
"""trec_eval's smoothing of infAP's estimate of the relevant share of the judged rows above a row."""


@jit
def _bpref_term(nonrel_above, n_relevant, n_nonrel):
    """A relevant row's share of preserved preferences, with ``nonrel_above`` judged non-relevant
    rows ranked above it (trec_eval's ``1 - min(n, R) / min(N, R)``; 1 when n is 0)."""
    if nonrel_above == 0:
        return 1.0
    return 1.0 - min(nonrel_above, n_relevant) / min(n_nonrel, n_relevant)


@jit
def _log_choose(n, k):
    return math.lgamma(n + 1.0) - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0)


@jit
def _infap_term(rank, rel_above, nonrel_above, pooled_above):
    """A relevant row's term of infAP at ``rank`` (from 1): trec_eval's ``1/k + (k-1)/k x pooled
    share above x smoothed relevant share of the judged above``, written as one fraction."""
    pooled = rel_above + nonrel_above + pooled_above
    judged_precision = (rel_above + INFAP_EPSILON) / (rel_above + nonrel_above + 2.0 * INFAP_EPSILON)
    return (1.0 + pooled * judged_precision) / rank


@jit
def _infap_tie(a, b, c, d, above, rel_above, nonrel_above, pooled_above):
    """The sum of the infAP terms of a tie's ``a`` relevant rows, in expectation over the tie's
    orders; the tie also holds ``b`` judged non-relevant rows, ``c`` pooled unjudged ones and ``d``
    outside the qrels, below ``above`` rows (of which the counts given were relevant, judged
    non-relevant, pooled unjudged).

    A relevant row of the tie sits at each of its m places alike, with a uniform subset of the
    other rows above it: x relevant, y non-relevant and q of the c + d others (hypergeometric). Its
    term is linear in the pooled rows among those q (q c / (c + d) on average), so the sum runs
    over (x, y) and, for each x + y, over q: O((a + b) (c + d) + a b).
    """
    e = c + d
    m = a + b + e
    share = c / e if e > 0 else 0.0
    total = 0.0
    for s in range(a + b):  # s = x + y rows of the tie's judged ones above the row
        sum_w = 0.0
        sum_qw = 0.0
        for q in range(e + 1):
            w = np.exp(_log_choose(e, q) - _log_choose(m - 1, s + q)) / (above + s + q + 1)
            sum_w += w
            sum_qw += q * w
        for x in range(max(0, s - b), min(a - 1, s) + 1):
            y = s - x
            r = rel_above + x
            judged_precision = (r + INFAP_EPSILON) / (r + nonrel_above + y + 2.0 * INFAP_EPSILON)
            pooled = r + nonrel_above + y + pooled_above
            weight = np.exp(_log_choose(a - 1, x) + _log_choose(b, y))
            total += weight * (sum_w + judged_precision * (pooled * sum_w + share * sum_qw))
    return a * total / m


@jit_inline
def _at(order, lo, r):
    """The row at rank ``r`` of a group starting at ``lo`` (``order`` empty: ranked as stored)."""
    return lo + r if order.shape[0] == 0 else order[r]


@jit
def grouped_judged_metrics(first, stop, offsets, ranked, data, threshold, tie, skip_no_relevant, wanted, out):
    """``out[g, :]`` for groups ``first:stop``: num_ret, num_rel, num_rel_ret, and bpref and
    infAP as ``wanted`` = (bpref, infAP) asks (else left unset). A list stored in rank order
    without a tie (a run in trec_eval's order) takes them from the counting pass; another costs a
    pass over its ties, down to its last relevant row.

    ``data`` is ``(labels, scores, judged)``; the first ``ranked[g]`` rows of group g are ranked
    (all of them when ``ranked`` is empty), the rest are truth rows the ranking missed: they count
    in the relevant and judged non-relevant totals only. ``tie``: the tie code (ties averaged,
    or ordered worst- or best-first: a tie's relevant rows below or above its others). A group
    with nothing relevant has bpref and infAP 0, or NaN with ``skip_no_relevant``.
    """
    labels, scores, judged = data
    with_bpref, with_inferred = wanted
    identity = np.empty(0, np.int64)
    largest = 0
    for g in range(first, stop):
        largest = max(largest, offsets[g + 1] - offsets[g])
    nonrel_ahead = np.empty(largest, np.int64)  # per relevant row retrieved, in the stored order
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        hr = hi if ranked.shape[0] == 0 else lo + ranked[g]
        n_relevant = 0
        n_nonrel = 0
        relevant_ranked = 0
        # One pass: the counts, and (for a list stored in rank order without a tie, as a run in
        # trec_eval's order is) what bpref and infAP need of the rows above each relevant one.
        distinct = True
        nonrel_above = 0
        pooled_above = 0
        inferred = 0.0
        for i in range(lo, hi):
            if lo < i < hr:
                distinct = distinct and scores[i] < scores[i - 1]
            if judged[i] > 0.0:
                if labels[i] >= threshold:
                    n_relevant += 1
                    if i < hr:
                        nonrel_ahead[relevant_ranked] = nonrel_above
                        inferred += _infap_term(i - lo + 1, relevant_ranked, nonrel_above, pooled_above)
                        relevant_ranked += 1
                else:
                    n_nonrel += 1
                    nonrel_above += i < hr
            elif judged[i] < 0.0:
                pooled_above += i < hr
        out[g, NUM_RET] = hr - lo
        out[g, NUM_REL] = n_relevant
        out[g, NUM_REL_RET] = relevant_ranked
        if n_relevant == 0:
            out[g, BPREF] = np.nan if skip_no_relevant else 0.0
            out[g, INFAP] = out[g, BPREF]
            continue
        if not with_inferred and (not with_bpref or n_nonrel == 0):
            # nothing to prefer a relevant item to: each one retrieved counts 1
            out[g, BPREF] = relevant_ranked / n_relevant
            continue
        if distinct:  # ranked as stored, no tie: the terms of the pass above
            total = 0.0
            for r in range(relevant_ranked):
                total += _bpref_term(nonrel_ahead[r], n_relevant, n_nonrel) if n_nonrel > 0 else 1.0
            out[g, BPREF] = total / n_relevant
            out[g, INFAP] = inferred / n_relevant
            continue
        order = identity  # rows in rank order already: no index array
        for r in range(lo + 1, hr):
            if scores[r] > scores[r - 1]:
                order = rank_order(scores, lo, hr)
                break
        total = 0.0
        inferred = 0.0
        above = 0  # rows, relevant rows, judged non-relevant rows and pooled unjudged rows above
        rel_above = 0
        nonrel_above = 0
        pooled_above = 0
        start = 0
        n = hr - lo
        while start < n and rel_above < relevant_ranked:  # no term comes after the last relevant row
            stop_tie = start + 1
            while stop_tie < n and scores[_at(order, lo, stop_tie)] == scores[_at(order, lo, start)]:
                stop_tie += 1
            rel = 0
            nonrel = 0
            pooled = 0
            for r in range(start, stop_tie):
                i = _at(order, lo, r)
                if judged[i] > 0.0:
                    if labels[i] >= threshold:
                        rel += 1
                    else:
                        nonrel += 1
                elif judged[i] < 0.0:
                    pooled += 1
            size = stop_tie - start
            if rel > 0 and n_nonrel > 0:
                if tie == PESSIMISTIC:
                    share = _bpref_term(nonrel_above + nonrel, n_relevant, n_nonrel)
                elif tie == OPTIMISTIC:
                    share = _bpref_term(nonrel_above, n_relevant, n_nonrel)
                else:
                    share = 0.0
                    for j in range(nonrel + 1):
                        share += _bpref_term(nonrel_above + j, n_relevant, n_nonrel)
                    share /= nonrel + 1
                total += rel * share
            if rel > 0 and with_inferred:
                if tie == PESSIMISTIC:  # the tie's other rows first
                    nonrel_before, pooled_before = nonrel_above + nonrel, pooled_above + pooled
                    for j in range(rel):
                        place = above + size - rel + j + 1
                        inferred += _infap_term(place, rel_above + j, nonrel_before, pooled_before)
                elif tie == OPTIMISTIC or size == rel:
                    for j in range(rel):
                        inferred += _infap_term(above + j + 1, rel_above + j, nonrel_above, pooled_above)
                else:
                    inferred += _infap_tie(
                        rel,
                        nonrel,
                        pooled,
                        size - rel - nonrel - pooled,
                        above,
                        rel_above,
                        nonrel_above,
                        pooled_above,
                    )
            above += size
            rel_above += rel
            nonrel_above += nonrel
            pooled_above += pooled
            start = stop_tie
        out[g, BPREF] = total / n_relevant if n_nonrel > 0 else relevant_ranked / n_relevant
        out[g, INFAP] = inferred / n_relevant
