"""Per-group orderings for the notebook protocol (a compatibility path, not a hot one)."""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import jit_pair


def _order_desc_flipped(offsets, values, out):
    """``out[lo:hi]`` = the rows of each group by ``values`` descending, as
    ``np.flip(np.argsort(values[lo:hi], kind="stable"))`` orders them (tied rows: later first)."""
    for g in prange(offsets.shape[0] - 1):
        lo = offsets[g]
        hi = offsets[g + 1]
        order = np.argsort(values[lo:hi], kind="mergesort")
        for r in range(hi - lo):
            out[lo + r] = lo + order[hi - lo - 1 - r]


def _order_asc_by_pair(offsets, primary, secondary, out):
    """``out[lo:hi]`` = the rows of each group sorted ascending by (primary, secondary), ties kept
    in row order, like ``DataFrame.sort_values([primary, secondary])``."""
    for g in prange(offsets.shape[0] - 1):
        lo = offsets[g]
        hi = offsets[g + 1]
        by_secondary = np.argsort(secondary[lo:hi], kind="mergesort")
        by_primary = np.argsort(primary[lo:hi][by_secondary], kind="mergesort")
        for r in range(hi - lo):
            out[lo + r] = lo + by_secondary[by_primary[r]]


order_desc_flipped_serial, order_desc_flipped_parallel = jit_pair(_order_desc_flipped)
order_asc_by_pair_serial, order_asc_by_pair_parallel = jit_pair(_order_asc_by_pair)


def _repeats_per_group(offsets, codes, n_codes, chunks, out):
    """``out[g]`` = rows of group g whose code (``0 <= code < n_codes``) already appeared earlier in
    the group, in O(rows): each chunk of groups marks what it has seen in one byte per code, then
    unmarks."""
    for c in prange(chunks.shape[0] - 1):
        seen = np.zeros(n_codes, np.uint8)
        for g in range(chunks[c], chunks[c + 1]):
            lo = offsets[g]
            hi = offsets[g + 1]
            repeats = 0
            for i in range(lo, hi):
                repeats += seen[codes[i]]
                seen[codes[i]] = 1
            for i in range(lo, hi):
                seen[codes[i]] = 0
            out[g] = repeats


repeats_per_group_serial, repeats_per_group_parallel = jit_pair(_repeats_per_group)
