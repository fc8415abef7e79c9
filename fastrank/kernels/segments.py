"""Run detection over a key column, for building group offsets."""

from __future__ import annotations

import numpy as np

from .._jit import jit


@jit
def run_starts(keys):
    """Start index of every run of equal consecutive keys, in order (``keys`` non-empty)."""
    n = keys.shape[0]
    count = 1
    for i in range(1, n):
        count += keys[i] != keys[i - 1]
    starts = np.empty(count, np.int64)
    starts[0] = 0
    r = 1
    for i in range(1, n):
        if keys[i] != keys[i - 1]:
            starts[r] = i
            r += 1
    return starts
