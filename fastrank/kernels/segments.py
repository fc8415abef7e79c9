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
