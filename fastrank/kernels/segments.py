"""Run detection over a key column, for building group offsets."""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import jit_pair


def _run_starts(keys, n_chunks):
    """Start index of every run of equal consecutive keys, in order (``keys`` non-empty).

    Two passes, each split into ``n_chunks`` slices of rows: count the run starts per slice, then
    write them at each slice's offset.
    """
    n = keys.shape[0]
    bounds = np.linspace(0, n, n_chunks + 1).astype(np.int64)
    counts = np.zeros(n_chunks + 1, np.int64)
    for c in prange(n_chunks):
        count = 0
        for i in range(max(bounds[c], 1), bounds[c + 1]):
            count += keys[i] != keys[i - 1]
        counts[c + 1] = count
    first = np.cumsum(counts) + 1
    starts = np.empty(first[n_chunks], np.int64)
    starts[0] = 0
    for c in prange(n_chunks):
        r = first[c]
        for i in range(max(bounds[c], 1), bounds[c + 1]):
            if keys[i] != keys[i - 1]:
                starts[r] = i
                r += 1
    return starts


run_starts_serial, run_starts_parallel = jit_pair(_run_starts)
