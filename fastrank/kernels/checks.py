"""One-pass input checks for the Python layer: cheap on the happy path, located on failure."""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import jit_pair


def _value_range(x):
    """``(min, max, finite)`` of a non-empty float array; ``finite`` is False if any value is NaN
    or infinite (then min and max are meaningless)."""
    lo = np.inf
    hi = -np.inf
    poison = 0.0
    for i in prange(x.shape[0]):
        v = x[i]
        lo = min(lo, v)
        hi = max(hi, v)
        # v * 0 is NaN exactly when v is NaN or infinite, and NaN survives the sum.
        poison += v * 0.0
    return lo, hi, poison == 0.0


value_range_serial, value_range_parallel = jit_pair(_value_range)
