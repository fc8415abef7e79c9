"""The judged family's per-user columns (a preference measure and the counts of a list): a thin
shell over :func:`fastrank.kernels.grouped_judged_metrics`."""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..arrays.grouping import Groups, group_chunks
from ..arrays.threads import frozen, run_chunks, thread_count


def judged_metrics(
    groups: Groups,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    ranked: np.ndarray | None,
    threshold: float,
    *,
    tie: int,
    skip_no_relevant: bool,
    parallel: bool,
    wanted: tuple[bool, bool] = (True, False),
) -> np.ndarray:
    """Per user (groups x 5, the registry's ``column`` of each metric of the judged family; bpref's
    and infAP's only as ``wanted`` = (bpref, infAP) asks). ``data`` is ``(labels, scores,
    judged)`` in group order, ``judged`` 1.0 for a judged row, -1.0 for a pooled unjudged one (a
    negative relevance), 0.0 for one outside the qrels; ``ranked``: a run's ranked rows per group
    (None: all)."""
    labels, scores, judged = (frozen(np.ascontiguousarray(a, dtype=np.float64)) for a in data)
    out = np.empty((groups.n_groups, 5), np.float64)
    offsets = frozen(groups.offsets)
    ranked_rows = frozen(np.empty(0, np.int64) if ranked is None else np.asarray(ranked, np.int64))
    run_chunks(
        lambda first, stop: kernels.grouped_judged_metrics(
            first,
            stop,
            offsets,
            ranked_rows,
            (labels, scores, judged),
            threshold,
            tie,
            skip_no_relevant,
            wanted,
            out,
        ),
        group_chunks(groups.offsets, min(groups.n_groups, 4 * thread_count(parallel))),
        parallel,
    )
    return out
