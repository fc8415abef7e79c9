"""Run detection over a key column, for building group offsets."""

from __future__ import annotations

import numpy as np

from .jit import jit


@jit
def key_changes(keys):
    """Positions ``i >= 1`` where ``keys[i] != keys[i - 1]``, ascending (int64): the starts of
    every run of equal keys but the first. Two passes: count, then fill an exact-size array."""
    count = 0
    for i in range(1, keys.shape[0]):
        count += keys[i] != keys[i - 1]
    out = np.empty(count, np.int64)
    r = 0
    for i in range(1, keys.shape[0]):
        if keys[i] != keys[i - 1]:
            out[r] = i
            r += 1
    return out


@jit
def text_changes(offsets, data):
    """Positions ``i >= 1`` where text i differs from text i - 1 (Arrow string buffers: byte
    ``offsets`` and ``data``), ascending (int64): where each run of equal texts but the first
    starts."""
    n = offsets.shape[0] - 1
    changed = np.zeros(n, np.bool_)
    count = 0
    for i in range(1, n):
        lo, hi = offsets[i], offsets[i + 1]
        before = offsets[i - 1]
        same = hi - lo == lo - before
        j = 0
        while same and j < hi - lo:
            same = data[lo + j] == data[before + j]
            j += 1
        changed[i] = not same
        count += not same
    out = np.empty(count, np.int64)
    r = 0
    for i in range(1, n):
        if changed[i]:
            out[r] = i
            r += 1
    return out
