"""The class family (:mod:`fastrank.kernels.classes`: AUC and R-Precision from one per-user sort of
the relevant and non-relevant scores) and the user weights of a weighted mean: validated entry
points for :mod:`fastrank.metrics.dispatch`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from ..arrays.columns import check_values
from ..arrays.grouping import Groups, group_chunks
from ..arrays.threads import frozen, run_chunks, thread_count
from ..errors import InputError
from .options import GAUC_WEIGHTS


def gauc_weights(
    weight: Any,
    groups: Groups,
    parallel: bool = True,
    name: str = "gauc_weight",
    relevant: np.ndarray | None = None,
) -> np.ndarray:
    """Each user's weight in a weighted mean (GAUC): a name of :data:`GAUC_WEIGHTS` (for
    ``"positives"``, ``relevant`` flags each row in group order), or an array of one weight per
    row (input order, finite and >= 0) summed over its rows."""
    if isinstance(weight, str):
        if weight == "rows":
            return groups.sizes.astype(np.float64)
        if weight == "users":
            return np.ones(groups.n_groups)
        if weight == "positives" and relevant is not None:
            counts = (
                np.add.reduceat(relevant.astype(np.float64), groups.offsets[:-1]) if groups.n_groups else []
            )
            return np.asarray(counts, np.float64)
        raise InputError(
            f"The 'gauc_weight' parameter must be one of {', '.join(map(repr, GAUC_WEIGHTS))} or one weight "
            f"per row. Got {weight!r} instead."
        )
    checked = check_values(weight, name, groups, float32_ok=False, max_value=np.inf, parallel=parallel,
                           why_not_negative="weights must be >= 0")  # fmt: skip
    with np.errstate(over="ignore"):
        sums = np.add.reduceat(groups.take(checked), groups.offsets[:-1]) if groups.n_groups else np.zeros(0)
    overflow = np.flatnonzero(~np.isfinite(sums))
    if overflow.size:
        user = groups.keys[int(overflow[0])]
        raise InputError(
            f"{name}: the weights of user {user.item() if isinstance(user, np.generic) else user!r} sum past "
            "the largest float64 (1.8e308); scale the weights down (a weighted mean does not change)"
        )
    return sums.astype(np.float64)


def class_metrics(
    groups: Groups,
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    min_items: int,
    *,
    ties: int,
    skip_no_relevant: bool,
    parallel: bool,
) -> np.ndarray:
    """The class family's columns per user (groups x 2, the registry's ``column`` of each
    metric): AUC (NaN: fewer than ``min_items`` rows, or a single class) and R-Precision
    (``ties``: the kernels' tie code; without a relevant row 0, or NaN with
    ``skip_no_relevant``); inputs validated and in group order."""
    out = np.empty((2, groups.n_groups), np.float64)
    offsets = frozen(groups.offsets)
    inputs = (frozen(labels), frozen(scores), threshold, min_items, ties, skip_no_relevant)
    largest = int(groups.sizes.max())
    run_chunks(
        lambda first, stop: kernels.grouped_class_metrics(
            first, stop, offsets, *inputs, largest, out[0], out[1]
        ),
        group_chunks(groups.offsets, min(groups.n_groups, 4 * thread_count(parallel))),
        parallel,
    )
    return out.T
