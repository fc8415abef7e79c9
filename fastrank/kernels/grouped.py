"""The grouped driver: every requested metric for every group, in one pass per group.

Top-N runs against held-out truth have their own driver (:mod:`fastrank.kernels.ranked`): its
extra paths would make every table evaluation's first run compile several seconds longer.

Groups are rows ``offsets[g]:offsets[g + 1]`` of flat ``labels`` and ``scores``. A call covers a
chunk of whole groups and allocates its scratch once; callers run chunks balanced by rows on a
thread pool.
"""

from __future__ import annotations

import numpy as np

from .jit import jit, jit_inline
from .ranking import (
    average_precision,
    count_relevant,
    dcg,
    expected_hits,
    hit,
    ideal_dcg,
    reciprocal_rank,
    row_runs,
    score_runs,
    straddling_tie,
)
from .topk import AVERAGE, BLOCK, select_top

DCG = 0
NDCG = 1
PRECISION = 2
RECALL = 3
HIT_RATE = 4
MRR = 5
MAP = 6
R_PRECISION = 7
"""Computed by the runs' driver; tables take it from :mod:`fastrank.kernels.classes`."""


@jit_inline
def _evaluate_group(
    lo, hi, labels, scores, metric_ids, metric_ks, straddle_ks, m, exponential, tie, threshold,
    skip_no_relevant, need_ideal, need_relevant, discount, discount_cumsum,
    top, top_labels, tie_len, tie_gain, tie_rel, row_len, row_gain, row_rel, block_max, out, straddle,
):  # fmt: skip
    """Every metric of one group ``lo:hi`` into ``out`` (one row) and ``straddle``; ``m`` is the
    depth to rank (the largest cutoff, clipped to the group size)."""
    n = hi - lo
    select_top(scores, labels, lo, hi, m, tie, top, block_max)
    n_ties = score_runs(top, m, lo, hi, scores, labels, exponential, threshold, tie_len, tie_gain, tie_rel)
    if tie == AVERAGE:
        run_len, run_gain, run_rel, n_runs = tie_len, tie_gain, tie_rel, n_ties
    else:
        n_runs = row_runs(top, m, labels, exponential, threshold, row_len, row_gain, row_rel)
        run_len, run_gain, run_rel = row_len, row_gain, row_rel
    if need_ideal:
        select_top(labels, labels, lo, hi, m, AVERAGE, top_labels, block_max)
    n_relevant = count_relevant(labels, lo, hi, threshold) if need_relevant else 0

    for j in range(metric_ids.shape[0]):
        metric = metric_ids[j]
        k = metric_ks[j]
        cut = n if k == 0 or k > n else k
        if metric == DCG:
            value = dcg(run_len, run_gain, n_runs, cut, discount_cumsum)
        elif metric == NDCG:
            ideal = ideal_dcg(labels, top_labels, cut, exponential, discount)
            if ideal == 0.0:
                value = np.nan if skip_no_relevant else 0.0
            else:
                value = dcg(run_len, run_gain, n_runs, cut, discount_cumsum) / ideal
        elif n_relevant == 0:
            value = np.nan if skip_no_relevant else 0.0
        elif metric == PRECISION:
            value = expected_hits(run_len, run_rel, n_runs, cut) / (n if k == 0 else k)
        elif metric == RECALL:
            value = expected_hits(run_len, run_rel, n_runs, cut) / n_relevant
        elif metric == HIT_RATE:
            value = hit(run_len, run_rel, n_runs, cut)
        elif metric == MRR:
            value = reciprocal_rank(scores, labels, lo, hi, threshold, tie, cut)
        else:
            value = average_precision(run_len, run_rel, n_runs, cut, min(cut, n_relevant))
        out[j] = value
    for q in range(straddle_ks.shape[0]):
        k = straddle_ks[q]
        # No cutoff, or one at or past the end, splits no tie.
        straddle[q] = 0 if k == 0 or k >= n else straddling_tie(tie_len, n_ties, k)


@jit
def grouped_metrics(
    first, stop, offsets, labels, scores, metric_ids, metric_ks, straddle_ks, full, kmax,
    exponential, tie, threshold, min_items, skip_no_relevant, need_ideal, need_relevant,
    discount, discount_cumsum, scratch_size, max_items, out, straddle,
):  # fmt: skip
    """Fill ``out[g, j]`` with metric j of group g and ``straddle[g, q]`` with the size of the tie
    split by cutoff ``straddle_ks[q]``, for groups ``first:stop``.

    ``metric_ks[j] == 0`` means no cutoff (the whole group). Each group is ranked to depth
    ``kmax`` (the deepest cutoff), or whole when ``full``; ``need_ideal`` (NDCG) ranks labels
    too, ``need_relevant`` (binary metrics) counts relevant rows. Groups with fewer than
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
        _evaluate_group(
            lo, hi, labels, scores, metric_ids, metric_ks, straddle_ks,
            n if full else min(kmax, n), exponential, tie, threshold, skip_no_relevant,
            need_ideal, need_relevant, discount, discount_cumsum, top, top_labels,
            tie_len, tie_gain, tie_rel, row_len, row_gain, row_rel, block_max, out[g], straddle[g],
        )  # fmt: skip
