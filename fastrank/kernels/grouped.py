"""The grouped driver: every requested metric for every group, in one pass per group.

Top-N runs against held-out truth have their own driver (:mod:`fastrank.kernels.ranked`): its
extra paths would make every table evaluation's first run compile several seconds longer. Both
drivers take each metric's formula from :func:`fastrank.kernels.ranking.metric_value`.

Groups are rows ``offsets[g]:offsets[g + 1]`` of flat ``labels`` and ``scores``. A call covers a
chunk of whole groups and allocates its scratch once; callers run chunks balanced by rows on a
thread pool.
"""

from __future__ import annotations

import numpy as np

from .jit import jit, jit_inline
from .ranking import count_relevant, metric_value, row_runs, score_runs, straddling_tie
from .topk import AVERAGE, BLOCK, select_top


@jit_inline
def scratch(o):
    """The per-call scratch of both drivers: rank, run and block-maximum arrays, sized once."""
    size = o.scratch_size
    return (
        np.empty(size, np.int64),  # top
        np.empty(size if o.need_ideal else 0, np.int64),  # top_labels
        np.empty(size, np.int64),  # tie_len
        np.empty(size, np.float64),  # tie_gain
        np.empty(size, np.int64),  # tie_rel
        np.empty(size, np.int64),  # row_len
        np.empty(size, np.float64),  # row_gain
        np.empty(size, np.int64),  # row_rel
        np.empty((o.max_items + BLOCK - 1) // BLOCK, np.float64),  # block_max
    )


@jit_inline
def _evaluate_group(lo, hi, data, plan, o, tables, work, out, straddle):
    """Every metric of one group ``lo:hi`` into ``out`` (one row) and ``straddle``."""
    labels, scores = data
    metric_ids, metric_ks, straddle_ks = plan
    top, top_labels, tie_len, tie_gain, tie_rel, row_len, row_gain, row_rel, block_max = work
    n = hi - lo
    m = n if o.full else min(o.kmax, n)  # the depth to rank: the deepest cutoff, within the group
    select_top(scores, labels, lo, hi, m, o.tie, top, block_max)
    n_ties = score_runs(top, m, lo, hi, scores, labels, o.gain, o.threshold, tie_len, tie_gain, tie_rel)
    if o.tie == AVERAGE:
        runs = (tie_len, tie_gain, tie_rel, n_ties)
    else:
        runs = (
            row_len,
            row_gain,
            row_rel,
            row_runs(top, m, labels, o.gain, o.threshold, row_len, row_gain, row_rel),
        )
    if o.need_ideal:
        select_top(labels, labels, lo, hi, m, AVERAGE, top_labels, block_max)
    n_relevant = count_relevant(labels, lo, hi, o.threshold) if o.need_relevant else 0
    group = (labels, scores, lo, hi, hi)
    for j in range(metric_ids.shape[0]):
        out[j] = metric_value(
            metric_ids[j], metric_ks[j], group, runs, (top_labels, m), n_relevant, tables, o
        )
    for q in range(straddle_ks.shape[0]):
        k = straddle_ks[q]
        # No cutoff, or one at or past the end, splits no tie.
        straddle[q] = 0 if k == 0 or k >= n else straddling_tie(tie_len, n_ties, k)


@jit
def grouped_metrics(first, stop, offsets, data, plan, o, tables, out, straddle):
    """Fill ``out[g, j]`` with metric j of group g and ``straddle[g, q]`` with the size of the tie
    split by cutoff ``straddle_ks[q]``, for groups ``first:stop``.

    ``data`` is ``(labels, scores)``; ``plan`` is ``(metric_ids, metric_ks, straddle_ks)``, where
    ``metric_ks[j] == 0`` means no cutoff (the whole group); ``o`` is the
    :class:`~fastrank.kernels.ranking.RankOptions`; ``tables`` is ``(discount,
    discount_cumsum)``. Groups with fewer than ``o.min_items`` rows get NaN everywhere; with
    ``o.skip_no_relevant``, so do metrics without any relevant row (NDCG: ideal DCG of 0; binary
    metrics: no label >= threshold).
    """
    work = scratch(o)
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        if hi - lo < o.min_items:
            out[g, :] = np.nan
            straddle[g, :] = 0
            continue
        _evaluate_group(lo, hi, data, plan, o, tables, work, out[g], straddle[g])
