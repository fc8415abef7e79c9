"""The error family (:mod:`fastrank.kernels.errors`): each user's RMSE, MAE and log loss of the
scores as predictions of the labels, a validated entry point for :mod:`fastrank.metrics.dispatch`."""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..arrays.columns import user_at
from ..arrays.grouping import Groups, group_chunks
from ..arrays.threads import frozen, run_chunks, thread_count
from ..errors import InputError


def error_metrics(
    groups: Groups, labels: np.ndarray, scores: np.ndarray, *, min_items: int, log_loss: bool, parallel: bool
) -> np.ndarray:
    """Each user's mean squared error, mean absolute error and mean log loss (3 x groups, rows
    :data:`~fastrank.kernels.SQUARED`, :data:`~fastrank.kernels.ABSOLUTE`,
    :data:`~fastrank.kernels.LOG`); NaN for users with fewer than ``min_items`` rows. Inputs are
    validated and in group order. With ``log_loss``, a label outside {0, 1} or a score outside
    [0, 1] (not a probability) is refused, naming its user."""
    if log_loss:
        _check_probabilities(groups, labels, scores)
    out = np.empty((3, groups.n_groups), np.float64)
    offsets, data = frozen(groups.offsets), (frozen(labels), frozen(scores))
    run_chunks(
        lambda first, stop: kernels.grouped_errors(first, stop, offsets, *data, log_loss, out),
        group_chunks(groups.offsets, min(groups.n_groups, 4 * thread_count(parallel))),
        parallel,
    )
    out[:, groups.sizes < min_items] = np.nan
    return out


def _check_probabilities(groups: Groups, labels: np.ndarray, scores: np.ndarray) -> None:
    not_binary = np.flatnonzero((labels != 0) & (labels != 1))
    if not_binary.size:
        row = int(not_binary[0])
        raise InputError(
            f"logloss: label {labels[row]:g} of user {user_at(groups, row)!r}; log loss needs labels "
            "in {0, 1} (pass threshold-ed labels, or leave logloss out)"
        )
    outside = np.flatnonzero((scores < 0) | (scores > 1))
    if outside.size:
        row = int(outside[0])
        raise InputError(
            f"logloss: score {scores[row]:g} of user {user_at(groups, row)!r} is not a probability; log "
            "loss needs scores in [0, 1] (a sigmoid's output, not a logit)"
        )
