"""Run detection over a key column, for building group offsets."""

from __future__ import annotations

import numpy as np

from .jit import jit, jit_inline


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
def text_changes(first, stop, offsets, data):
    """Positions ``i`` in ``max(first, 1):stop`` where text i differs from text i - 1 (Arrow
    string buffers: byte ``offsets`` and ``data``), ascending (int64): where each run of equal
    texts but the first starts. One pass into room for every position (only the pages written
    are touched), then the exact-size copy."""
    room = np.empty(max(stop - max(first, 1), 0), np.int64)
    count = 0
    for i in range(max(first, 1), stop):
        if not _same_as_before(offsets, data, i):
            room[count] = i
            count += 1
    return room[:count].copy()


@jit_inline
def _same_as_before(offsets, data, i):
    """Whether text i equals text i - 1."""
    return same_bytes(data, offsets[i - 1], offsets[i], data, offsets[i], offsets[i + 1])


@jit_inline
def same_bytes(a, a_lo, a_hi, b, b_lo, b_hi):
    """Whether ``a[a_lo:a_hi]`` and ``b[b_lo:b_hi]`` hold the same bytes."""
    if a_hi - a_lo != b_hi - b_lo:
        return False
    for j in range(a_hi - a_lo):
        if a[a_lo + j] != b[b_lo + j]:
            return False
    return True
