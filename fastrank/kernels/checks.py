"""One-pass input checks for the Python layer: cheap on the happy path, located on failure."""

from __future__ import annotations

from .jit import jit


@jit
def count_outside(x, lo, hi):
    """Number of values of ``x`` not in ``[lo, hi]``; NaN is never inside. One read of ``x``,
    comparisons only, so the loop vectorizes."""
    count = 0
    for i in range(x.shape[0]):
        v = x[i]
        count += not (v >= lo and v <= hi)
    return count
