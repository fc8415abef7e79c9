"""iprec: interpolated Prec at recall levels, as trec_eval computes ``iprec_at_recall`` and
``11pt_avg``. Prec(r) is the share of relevant rows in the top r; iprec at a level is the largest
Prec(r) at any rank r at or below the one where the level's share of the relevant items is reached
(Int_Prec(X) = max Prec(Y), Y >= X).

A maximum over ranks has no closed form as an expectation over the orders of tied scores, so
these take an order: ties broken worst-first (a tie's relevant rows below its others),
best-first, or scores made distinct beforehand (trec_eval's order). ``ties="average"`` is refused
above the kernels.
"""

from __future__ import annotations

import numpy as np

from .jit import jit
from .sorting import rank_order
from .topk import PESSIMISTIC


@jit
def grouped_iprec(
    first, stop, offsets, ranked, labels, scores, threshold, tie, levels, skip_no_relevant, out
):
    """``out[g, j]`` for groups ``first:stop``: iprec at recall
    ``levels[j]`` (0 to 1).

    The first ``ranked[g]`` rows of group g are ranked (all of them when ``ranked`` is empty), the
    rest are relevant items a run missed (counted in R only). A level's relevant count is
    trec_eval's ``floor(level x R + 0.9)``; a level past the relevant items retrieved is 0. A
    group with nothing relevant is 0, or NaN with ``skip_no_relevant``.
    """
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        hr = hi if ranked.shape[0] == 0 else lo + ranked[g]
        n_relevant = 0
        for i in range(lo, hi):
            if labels[i] >= threshold:
                n_relevant += 1
        if n_relevant == 0:
            out[g, :] = np.nan if skip_no_relevant else 0.0
            continue
        order = rank_order(scores, lo, hr)
        # places[j]: the rank (from 1) of the (j + 1)-th relevant row retrieved
        places = np.empty(n_relevant, np.int64)
        found = 0
        start = 0
        n = hr - lo
        while start < n:
            stop_tie = start + 1
            while stop_tie < n and scores[order[stop_tie]] == scores[order[start]]:
                stop_tie += 1
            rel = 0
            for r in range(start, stop_tie):
                if labels[order[r]] >= threshold:
                    rel += 1
            first_place = stop_tie - rel + 1 if tie == PESSIMISTIC else start + 1
            for j in range(rel):
                places[found + j] = first_place + j
            found += rel
            start = stop_tie
        largest = np.empty(found + 1, np.float64)  # largest[j]: the best Prec at a relevant row >= j
        largest[found] = 0.0
        for j in range(found - 1, -1, -1):
            largest[j] = max(largest[j + 1], (j + 1) / places[j])
        for j in range(levels.shape[0]):
            needed = int(levels[j] * n_relevant + 0.9)  # trec_eval's relevant count of the level
            out[g, j] = 0.0 if needed > found else largest[max(needed - 1, 0)]
