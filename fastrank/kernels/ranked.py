"""The grouped driver for top-N runs against held-out truth: as :mod:`fastrank.kernels.grouped`,
where only the first ``ranked[g]`` rows of group g are ranked (the run's list) and the rest (truth
items the run missed) enter the ideal DCG and the relevant count only.

Two shortcuts pay for runs and would cost every table evaluation's first compilation several
seconds, so they live here: a list already in rank order skips the top-k selection, and the ideal
DCG sorts only the positive labels when there are few.
"""

from __future__ import annotations

import numpy as np

from .grouped import DCG, HIT_RATE, MAP, MRR, NDCG, PRECISION, RECALL
from .jit import jit, jit_inline
from .ranking import (
    average_precision,
    count_relevant,
    dcg,
    expected_hits,
    hit,
    ideal_dcg,
    positive_rows,
    reciprocal_rank,
    row_runs,
    score_runs,
    sort_rows_by_label,
    straddling_tie,
    strictly_descending,
)
from .topk import AVERAGE, BLOCK, select_top


@jit_inline
def _evaluate_group(
    lo, hr, hi, labels, scores, metric_ids, metric_ks, straddle_ks, m, m_ideal, exponential, tie,
    threshold, skip_no_relevant, map_by_relevant, need_ideal, need_relevant, discount, discount_cumsum,
    top, top_labels, tie_len, tie_gain, tie_rel, row_len, row_gain, row_rel, block_max, out, straddle,
):  # fmt: skip
    """Every metric of one group into ``out`` (one row) and ``straddle``. Rows ``lo:hr`` are
    ranked; rows ``hr:hi`` (relevant items the ranking missed) count only in the ideal DCG and the
    relevant count. ``m`` is the depth to rank (the largest cutoff, clipped to the ranked rows),
    ``m_ideal`` the same over all rows."""
    n = hi - lo
    n_ranked = hr - lo
    n_ties = 0
    n_runs = 0
    run_len, run_gain, run_rel = tie_len, tie_gain, tie_rel
    if m > 0:
        if strictly_descending(scores, lo, hr):  # a top-N list in rank order: already ranked
            for r in range(m):
                top[r] = lo + r
        else:
            select_top(scores, labels, lo, hr, m, tie, top, block_max)
        n_ties = score_runs(
            top, m, lo, hr, scores, labels, exponential, threshold, tie_len, tie_gain, tie_rel
        )
        n_runs = n_ties
        if tie != AVERAGE:
            n_runs = row_runs(top, m, labels, exponential, threshold, row_len, row_gain, row_rel)
            run_len, run_gain, run_rel = row_len, row_gain, row_rel
    n_ideal = 0
    if need_ideal:
        # Rows with a zero label add nothing to the ideal DCG: when few rows have a positive one (a
        # run's truth, sparse labels), sort just those instead of selecting among all rows.
        n_ideal = positive_rows(labels, lo, hi, m_ideal, top_labels)
        if n_ideal < 0:
            select_top(labels, labels, lo, hi, m_ideal, AVERAGE, top_labels, block_max)
            n_ideal = m_ideal
        else:
            sort_rows_by_label(labels, top_labels, n_ideal)
    n_relevant = count_relevant(labels, lo, hi, threshold) if need_relevant else 0

    for j in range(metric_ids.shape[0]):
        metric = metric_ids[j]
        k = metric_ks[j]
        cut = n_ranked if k == 0 or k > n_ranked else k
        ideal_cut = n if k == 0 or k > n else k
        if metric == DCG:
            value = dcg(run_len, run_gain, n_runs, cut, discount_cumsum)
        elif metric == NDCG:
            ideal = ideal_dcg(labels, top_labels, min(ideal_cut, n_ideal), exponential, discount)
            if ideal == 0.0:
                value = np.nan if skip_no_relevant else 0.0
            else:
                value = dcg(run_len, run_gain, n_runs, cut, discount_cumsum) / ideal
        elif n_relevant == 0:
            value = np.nan if skip_no_relevant else 0.0
        elif metric == PRECISION:
            size = n_ranked if k == 0 else k
            value = expected_hits(run_len, run_rel, n_runs, cut) / size if size > 0 else 0.0
        elif metric == RECALL:
            value = expected_hits(run_len, run_rel, n_runs, cut) / n_relevant
        elif metric == HIT_RATE:
            value = hit(run_len, run_rel, n_runs, cut)
        elif metric == MRR:
            value = reciprocal_rank(scores, labels, lo, hr, threshold, tie, cut)
        elif metric == MAP:
            denominator = n_relevant if map_by_relevant else min(ideal_cut, n_relevant)
            value = average_precision(run_len, run_rel, n_runs, cut, denominator)
        else:  # R_PRECISION: precision at rank R = relevant count, missed items included (trec_eval)
            value = expected_hits(run_len, run_rel, n_runs, min(n_relevant, n_ranked)) / n_relevant
        out[j] = value
    for q in range(straddle_ks.shape[0]):
        k = straddle_ks[q]
        # No cutoff, or one at or past the end, splits no tie.
        straddle[q] = 0 if k == 0 or k >= n_ranked else straddling_tie(tie_len, n_ties, k)


@jit
def grouped_ranked_metrics(
    first, stop, offsets, ranked, labels, scores, metric_ids, metric_ks, straddle_ks, full, kmax,
    exponential, tie, threshold, min_items, skip_no_relevant, map_by_relevant, need_ideal,
    need_relevant, discount, discount_cumsum, scratch_size, max_items, out, straddle,
):  # fmt: skip
    """Fill ``out[g, j]`` with metric j of group g and ``straddle[g, q]`` with the size of the tie
    split by cutoff ``straddle_ks[q]``, for groups ``first:stop``.

    ``ranked[g]`` rows at the start of group g are ranked (all of them when ``ranked`` is empty);
    the rest are relevant items a top-N run did not retrieve: they enter the ideal DCG and the
    relevant count only. ``map_by_relevant`` divides AP by the relevant count (trec_eval), not by
    ``min(k, relevant count)``. ``metric_ks[j] == 0`` means no cutoff (the whole group). Each
    group is ranked to depth ``kmax`` (the deepest cutoff), or whole when ``full``; ``need_ideal``
    (NDCG) ranks labels too, ``need_relevant`` (binary metrics) counts relevant rows. Groups with fewer than
    ``min_items`` rows get NaN everywhere; with ``skip_no_relevant``, so do metrics without any
    relevant row (NDCG: ideal DCG of 0; binary metrics: no label >= threshold). Scratch arrays
    hold ``scratch_size`` ranks; ``max_items`` is the largest group.
    """
    top = np.empty(scratch_size, np.int64)
    top_labels = np.empty(scratch_size if need_ideal else 0, np.int64)
    tie_len = np.empty(scratch_size, np.int64)
    tie_gain = np.empty(scratch_size, np.float64)
    tie_rel = np.empty(scratch_size, np.int64)
    row_len = np.empty(scratch_size, np.int64)
    row_gain = np.empty(scratch_size, np.float64)
    row_rel = np.empty(scratch_size, np.int64)
    block_max = np.empty((max_items + BLOCK - 1) // BLOCK, np.float64)
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        n = hi - lo
        if n < min_items:
            out[g, :] = np.nan
            straddle[g, :] = 0
            continue
        n_ranked = n if ranked.shape[0] == 0 else ranked[g]
        _evaluate_group(
            lo, lo + n_ranked, hi, labels, scores, metric_ids, metric_ks, straddle_ks,
            n_ranked if full else min(kmax, n_ranked), n if full else min(kmax, n), exponential, tie,
            threshold, skip_no_relevant, map_by_relevant, need_ideal, need_relevant, discount,
            discount_cumsum, top, top_labels, tie_len, tie_gain, tie_rel, row_len, row_gain, row_rel,
            block_max, out[g], straddle[g],
        )  # fmt: skip
