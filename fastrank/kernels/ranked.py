"""The grouped driver for top-N runs against held-out truth: as :mod:`fastrank.kernels.grouped`,
where only the first ``ranked[g]`` rows of group g are ranked (the run's list) and the rest (truth
items the run missed) enter the ideal DCG and the relevant count only.

Two shortcuts pay for runs and would cost every table evaluation's first compilation several
seconds, so they live here: a list already in rank order skips the top-k selection, and the ideal
DCG sorts only the positive labels when there are few.
"""

from __future__ import annotations

import numpy as np

from .grouped import scratch
from .jit import jit, jit_inline
from .ranking import (
    count_relevant,
    metric_value,
    positive_rows,
    row_runs,
    score_runs,
    sort_rows_by_label,
    straddling_tie,
    strictly_descending,
)
from .topk import AVERAGE, select_top


@jit_inline
def _evaluate_group(lo, hr, hi, data, plan, o, tables, work, out, straddle):
    """Every metric of one group into ``out`` (one row) and ``straddle``. Rows ``lo:hr`` are
    ranked; rows ``hr:hi`` (relevant items the ranking missed) count only in the ideal DCG and the
    relevant count."""
    labels, scores = data
    metric_ids, metric_ks, straddle_ks = plan
    top, top_labels, tie_len, tie_gain, tie_rel, row_len, row_gain, row_rel, block_max = work
    n = hi - lo
    n_ranked = hr - lo
    m = n_ranked if o.full else min(o.kmax, n_ranked)  # the depth to rank, within the ranked rows
    m_ideal = n if o.full else min(o.kmax, n)  # the same over all rows
    n_ties = 0
    runs = (tie_len, tie_gain, tie_rel, 0)
    if m > 0:
        if strictly_descending(scores, lo, hr):  # a top-N list in rank order: already ranked
            for r in range(m):
                top[r] = lo + r
        else:
            select_top(scores, labels, lo, hr, m, o.tie, top, block_max)
        n_ties = score_runs(top, m, lo, hr, scores, labels, o.gain, o.threshold, tie_len, tie_gain, tie_rel)
        runs = (tie_len, tie_gain, tie_rel, n_ties)
        if o.tie != AVERAGE:
            runs = (
                row_len,
                row_gain,
                row_rel,
                row_runs(top, m, labels, o.gain, o.threshold, row_len, row_gain, row_rel),
            )
    n_ideal = 0
    if o.need_ideal:
        # Rows with a zero label add nothing to the ideal DCG: when few rows have a positive one (a
        # run's truth, sparse labels), sort just those instead of selecting among all rows.
        n_ideal = positive_rows(labels, lo, hi, m_ideal, top_labels)
        if n_ideal < 0:
            select_top(labels, labels, lo, hi, m_ideal, AVERAGE, top_labels, block_max)
            n_ideal = m_ideal
        else:
            sort_rows_by_label(labels, top_labels, n_ideal)
    n_relevant = count_relevant(labels, lo, hi, o.threshold) if o.need_relevant else 0
    group = (labels, scores, lo, hr, hi)
    for j in range(metric_ids.shape[0]):
        out[j] = metric_value(
            metric_ids[j], metric_ks[j], group, runs, (top_labels, n_ideal), n_relevant, tables, o
        )
    for q in range(straddle_ks.shape[0]):
        k = straddle_ks[q]
        # No cutoff, or one at or past the end, splits no tie.
        straddle[q] = 0 if k == 0 or k >= n_ranked else straddling_tie(tie_len, n_ties, k)


@jit
def grouped_ranked_metrics(first, stop, offsets, ranked, data, plan, o, tables, out, straddle):
    """Fill ``out[g, j]`` with metric j of group g and ``straddle[g, q]`` with the size of the tie
    split by cutoff ``straddle_ks[q]``, for groups ``first:stop``; the arguments are those of
    :func:`fastrank.kernels.grouped.grouped_metrics`, and:

    ``ranked[g]`` rows at the start of group g are ranked (all of them when ``ranked`` is empty);
    the rest are relevant items a top-N run did not retrieve: they enter the ideal DCG and the
    relevant count only. ``o.map_by_relevant`` divides AP by the relevant count (trec_eval), not
    by ``min(k, relevant count)``.
    """
    work = scratch(o)
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        n = hi - lo
        if n < o.min_items:
            out[g, :] = np.nan
            straddle[g, :] = 0
            continue
        n_ranked = n if ranked.shape[0] == 0 else ranked[g]
        _evaluate_group(lo, lo + n_ranked, hi, data, plan, o, tables, work, out[g], straddle[g])
