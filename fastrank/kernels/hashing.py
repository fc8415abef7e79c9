"""Stable 64-bit hashes of user ids, for assigning users to buckets (see :mod:`fastrank.engines.bucketing`).

The hashes are fixed by their definition, not by the process (no seed, no Python ``hash()``), so
any tool can recompute them:

* integers: ``splitmix64_mix(x)`` of the id cast to int64 and read as uint64;
* strings: FNV-1a 64 over the UTF-8 bytes, then ``splitmix64_mix`` (FNV-1a alone mixes its last
  bytes poorly into the low bits that ``% n_buckets`` keeps).

``splitmix64_mix`` is the output function of splitmix64 (its state increment left out), arithmetic
mod 2**64::

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    z = z ^ (z >> 31)
"""

from __future__ import annotations

import numpy as np

from .jit import jit, jit_inline
from .resampling import MIX1, MIX2

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


@jit_inline
def _mix(z):
    # Every operand stays uint64: numba turns uint64 mixed with int64 into float64.
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


@jit
def splitmix64_buckets(values, n_buckets, out):
    """``out[i] = splitmix64_mix(values[i]) % n_buckets`` for uint64 ``values`` (int64 ids viewed as
    uint64); ``out`` is int64. Serial: at about a nanosecond a row, threads would not pay for
    themselves next to the parquet I/O around it."""
    n = np.uint64(n_buckets)
    for i in range(values.shape[0]):
        out[i] = np.int64(_mix(values[i]) % n)


@jit
def fnv1a64_buckets(offsets, data, n_buckets, out):
    """``out[i] = splitmix64_mix(fnv1a64(data[offsets[i]:offsets[i + 1]])) % n_buckets``.

    ``offsets`` (int32 or int64, length n + 1) and ``data`` (uint8) are an arrow string array's
    buffers, so strings are hashed where they lie, without a Python object per row.
    """
    n = np.uint64(n_buckets)
    for i in range(out.shape[0]):
        h = FNV_OFFSET
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[j])) * FNV_PRIME
        out[i] = np.int64(_mix(h) % n)
