"""User-level resampling: bootstrap means and paired sign-flip tests, without materializing a
resamples x users matrix.

Random numbers come from splitmix64 streams keyed by (seed, resample): the same seed gives the same
result whatever the number of threads.
"""

from __future__ import annotations

import numpy as np

from .jit import jit

# splitmix64's constants (also the bucket hash's finalizer, in hashing.py).
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


@jit
def _next(state):
    """splitmix64: returns (new state, 64 random bits)."""
    state = state + GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return state, z ^ (z >> np.uint64(31))


@jit
def _stream(seed, resample):
    # A distinct, well-mixed starting state per (seed, resample).
    _, bits = _next(np.uint64(seed) * MIX1 + np.uint64(resample) * GOLDEN)
    return bits


@jit
def bootstrap_means(first, stop, values, seed, out):
    """``out[b, c]`` = mean of column c over resample b (``first <= b < stop``) of the rows
    (users) drawn with replacement, ignoring NaN (users not evaluated for that column); NaN if a
    resample holds none."""
    n_users, n_cols = values.shape
    for b in range(first, stop):
        state = _stream(seed, b)
        sums = np.zeros(n_cols)
        counts = np.zeros(n_cols)
        for _ in range(n_users):
            state, bits = _next(state)
            # Lemire's multiply-shift maps 32 random bits onto 0..n_users-1.
            row = np.int64(((bits >> np.uint64(32)) * np.uint64(n_users)) >> np.uint64(32))
            for c in range(n_cols):
                v = values[row, c]
                if v == v:
                    sums[c] += v
                    counts[c] += 1.0
        for c in range(n_cols):
            out[b, c] = sums[c] / counts[c] if counts[c] > 0 else np.nan


@jit
def sign_flip_counts(first, stop, differences, seed, observed, tolerance):
    """Null distribution of the mean paired difference under random sign flips: how many of the
    means of resamples ``first:stop`` are <= ``observed + tolerance`` and >= ``observed -
    tolerance``."""
    n = differences.shape[0]
    less = 0
    greater = 0
    for b in range(first, stop):
        state = _stream(seed, b)
        total = 0.0
        bits = np.uint64(0)
        for i in range(n):
            if i % 64 == 0:
                state, bits = _next(state)
            if bits & np.uint64(1):
                total -= differences[i]
            else:
                total += differences[i]
            bits = bits >> np.uint64(1)
        mean = total / n
        less += mean <= observed + tolerance
        greater += mean >= observed - tolerance
    return less, greater
