"""Per-row numeric columns checked against their groups: :func:`check_values` names the first
bad row and its user."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import kernels
from ._arrays import to_numpy
from .errors import InputError
from .grouping import Groups
from .threads import even_bounds, frozen, run_chunks, thread_count


def _user_of_row(groups: Groups, row: int) -> Any:
    position = row if groups.order is None else int(np.flatnonzero(groups.order == row)[0])
    key = groups.keys[int(np.searchsorted(groups.offsets, position, side="right")) - 1]
    return key.item() if isinstance(key, np.generic) else key


def check_values(
    values: Any,
    name: str,
    groups: Groups,
    *,
    float32_ok: bool,
    max_value: float | None = None,
    parallel: bool = True,
    why_not_negative: str = "labels must be >= 0, as in sklearn.metrics.ndcg_score",
) -> np.ndarray:
    """Numeric, finite column of the right length as float64 (or float32 if ``float32_ok``).

    With ``max_value`` the column holds labels (or weights), which must also lie in
    ``[0, max_value]``; ``why_not_negative`` ends the message for a negative value.
    """
    array = to_numpy(values, name)
    if array.shape[0] != groups.n_rows:
        raise InputError(f"{name}: {array.shape[0]} rows, but users has {groups.n_rows}; lengths must match")
    if array.dtype.kind not in "fiub":
        raise InputError(f"{name}: expected numbers, got dtype {array.dtype}")
    dtype = np.float32 if float32_ok and array.dtype in (np.float16, np.float32) else np.float64
    array = np.ascontiguousarray(array, dtype=dtype)
    biggest = float(np.finfo(dtype).max)
    lo, hi = (-biggest, biggest) if max_value is None else (0.0, min(max_value, biggest))
    view = frozen(array)
    outside = run_chunks(
        lambda first, stop: kernels.count_outside(view[first:stop], lo, hi),
        even_bounds(len(view), thread_count(parallel)),
        parallel,
    )
    if sum(outside) == 0:
        return array
    # Slow path, only on bad input: find the first offending row for the message.
    row = int(np.argmax(~((array >= lo) & (array <= hi))))
    value = array[row]
    if not np.isfinite(value):
        what, problem = ("NaN" if np.isnan(value) else str(value)), "values must be finite"
    elif value < 0:
        what, problem = f"negative value {value}", why_not_negative
    else:
        what = str(value)
        problem = f"it overflows the exponential gain 2**label - 1; labels must be <= {max_value:g}"
    raise InputError(f"{name}: {what} at row {row} (user {_user_of_row(groups, row)!r}); {problem}")
