"""iprec (interpolated Prec) at recall levels per user: a thin shell over
:func:`fastrank.kernels.grouped_iprec`."""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..arrays.grouping import Groups, group_chunks
from ..arrays.threads import frozen, run_chunks, thread_count


def interpolated_precision(
    groups: Groups,
    labels: np.ndarray,
    scores: np.ndarray,
    ranked: np.ndarray | None,
    levels: np.ndarray,
    threshold: float,
    *,
    tie: int,
    skip_no_relevant: bool,
    parallel: bool,
) -> np.ndarray:
    """Per user, iprec at each recall level of ``levels`` (0 to 1): groups x
    levels. ``labels`` and ``scores`` in group order; ``ranked``: a run's ranked rows per group
    (None: all); ``tie``: pessimistic or optimistic, or scores already distinct."""
    labels, scores = (frozen(np.ascontiguousarray(a, dtype=np.float64)) for a in (labels, scores))
    out = np.empty((groups.n_groups, len(levels)), np.float64)
    offsets, levels = frozen(groups.offsets), frozen(np.asarray(levels, np.float64))
    ranked_rows = frozen(np.empty(0, np.int64) if ranked is None else np.asarray(ranked, np.int64))
    run_chunks(
        lambda first, stop: kernels.grouped_iprec(
            first, stop, offsets, ranked_rows, labels, scores, threshold, tie, levels, skip_no_relevant, out
        ),
        group_chunks(groups.offsets, min(groups.n_groups, 4 * thread_count(parallel))),
        parallel,
    )
    return out
