"""Metrics that tell judged rows from unjudged ones (a run against qrels), and the counts of a
list: bpref (Buckley & Voorhees 2004, as trec_eval computes it), num_ret, num_rel, num_rel_ret.

A row is judged when ``judged[i]`` is 1 (its item is in the qrels with a relevance >= 0);
relevant when judged and ``labels[i] >= threshold``; judged non-relevant when judged and below.
Exact over ties like every fastrank metric: among a tie's judged rows, a relevant row has each
number 0..b of the tie's b judged non-relevant rows above it with the same probability.
"""

from __future__ import annotations

import numpy as np

from .jit import jit
from .sorting import rank_order
from .topk import OPTIMISTIC, PESSIMISTIC

BPREF, NUM_RET, NUM_REL, NUM_REL_RET = range(4)
"""The columns of :func:`grouped_judged_metrics`' output."""


@jit
def _bpref_term(nonrel_above, n_relevant, n_nonrel):
    """A relevant row's share of preserved preferences, with ``nonrel_above`` judged non-relevant
    rows ranked above it (trec_eval's ``1 - min(n, R) / min(N, R)``; 1 when n is 0)."""
    if nonrel_above == 0:
        return 1.0
    return 1.0 - min(nonrel_above, n_relevant) / min(n_nonrel, n_relevant)


@jit
def grouped_judged_metrics(first, stop, offsets, ranked, data, threshold, tie, skip_no_relevant, out):
    """``out[g, :]`` for groups ``first:stop``: bpref, num_ret, num_rel, num_rel_ret.

    ``data`` is ``(labels, scores, judged)``; the first ``ranked[g]`` rows of group g are ranked
    (all of them when ``ranked`` is empty), the rest are truth rows the ranking missed: they count
    in the relevant and judged non-relevant totals only. ``tie``: the tie code (ties averaged,
    or ordered worst- or best-first). A group with nothing relevant has bpref 0, or NaN with
    ``skip_no_relevant``.
    """
    labels, scores, judged = data
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        hr = hi if ranked.shape[0] == 0 else lo + ranked[g]
        n_relevant = 0
        n_nonrel = 0
        relevant_ranked = 0
        for i in range(lo, hi):
            if judged[i] > 0.0:
                if labels[i] >= threshold:
                    n_relevant += 1
                    if i < hr:
                        relevant_ranked += 1
                else:
                    n_nonrel += 1
        out[g, NUM_RET] = hr - lo
        out[g, NUM_REL] = n_relevant
        out[g, NUM_REL_RET] = relevant_ranked
        if n_relevant == 0:
            out[g, BPREF] = np.nan if skip_no_relevant else 0.0
            continue
        if n_nonrel == 0:  # nothing to prefer a relevant item to: each one retrieved counts 1
            out[g, BPREF] = relevant_ranked / n_relevant
            continue
        order = rank_order(scores, lo, hr)
        total = 0.0
        above = 0  # judged non-relevant rows in the ties already passed
        start = 0
        n = hr - lo
        while start < n:
            stop_tie = start + 1
            while stop_tie < n and scores[order[stop_tie]] == scores[order[start]]:
                stop_tie += 1
            rel = 0
            nonrel = 0
            for r in range(start, stop_tie):
                i = order[r]
                if judged[i] > 0.0:
                    if labels[i] >= threshold:
                        rel += 1
                    else:
                        nonrel += 1
            if rel > 0:
                if tie == PESSIMISTIC:
                    share = _bpref_term(above + nonrel, n_relevant, n_nonrel)
                elif tie == OPTIMISTIC:
                    share = _bpref_term(above, n_relevant, n_nonrel)
                else:
                    share = 0.0
                    for j in range(nonrel + 1):
                        share += _bpref_term(above + j, n_relevant, n_nonrel)
                    share /= nonrel + 1
                total += rel * share
            above += nonrel
            start = stop_tie
        out[g, BPREF] = total / n_relevant
