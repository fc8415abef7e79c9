"""Per-user error of a score as a prediction of the label: squared, absolute and log loss, each
a mean over the user's rows (float64 sums)."""

from __future__ import annotations

import math

from .jit import jit

SQUARED = 0
ABSOLUTE = 1
LOG = 2
LOG_EPS = 2.220446049250313e-16
"""Probabilities are clipped to ``[LOG_EPS, 1 - LOG_EPS]`` (float64's machine epsilon, as
scikit-learn's ``log_loss`` does for float64), so a confident miss costs about 36 nats, not inf."""


@jit
def grouped_errors(first, stop, offsets, labels, scores, with_log, out):
    """For groups ``first:stop``: ``out[SQUARED, g]``, ``out[ABSOLUTE, g]`` the mean of
    ``(score - label)**2`` and ``|score - label|`` over the group's rows; with ``with_log``,
    ``out[LOG, g]`` the mean of ``-(label log p + (1 - label) log(1 - p))``, ``p`` the score
    clipped to ``[LOG_EPS, 1 - LOG_EPS]`` (natural log; labels in {0, 1}). Empty groups: NaN."""
    for g in range(first, stop):
        lo = offsets[g]
        hi = offsets[g + 1]
        squared = 0.0
        absolute = 0.0
        log = 0.0
        for i in range(lo, hi):
            error = scores[i] - labels[i]
            squared += error * error
            absolute += abs(error)
            if with_log:
                p = min(max(scores[i], LOG_EPS), 1.0 - LOG_EPS)
                log -= math.log(p) if labels[i] > 0 else math.log1p(-p)
        n = hi - lo
        out[SQUARED, g] = squared / n if n else math.nan
        out[ABSOLUTE, g] = absolute / n if n else math.nan
        out[LOG, g] = log / n if n else math.nan
