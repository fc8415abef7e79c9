"""Per-row columns checked: a table's numeric, user and feature columns read from pyarrow
(nulls, non-numbers and non-finite features named with their row and user), and
:func:`check_values`, which checks a column against its groups and names the first bad row and
its user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from .. import kernels
from ..errors import InputError
from .conversion import to_numpy
from .grouping import Groups
from .threads import even_bounds, frozen, run_chunks, thread_count


def user_of_row(groups: Groups, row: int) -> Any:
    """The user (group key) of input row ``row``, for messages."""
    return user_at(groups, row if groups.order is None else int(np.flatnonzero(groups.order == row)[0]))


def user_at(groups: Groups, position: int) -> Any:
    """The user (group key) of the row at ``position`` in group order, for messages."""
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
    raise InputError(f"{name}: {what} at row {row} (user {user_of_row(groups, row)!r}); {problem}")


def check_ids(ids: np.ndarray, name: str, groups: Groups | None = None) -> None:
    """Refuse a missing id (NaN in a float column; None or NaN in an object column), naming the
    row and, with ``groups``, its user: an item without an id cannot be counted or listed."""
    if ids.dtype.kind == "f":
        missing = np.isnan(ids)
    elif ids.dtype.kind == "O":
        import pandas as pd

        missing = pd.isna(ids)
    else:
        return
    if missing.any():
        row = int(np.argmax(missing))
        user = "" if groups is None else f" (user {user_of_row(groups, row)!r})"
        raise InputError(f"{name}: no id (null) at row {row}{user}; every row needs one")


def weight_column(table: pa.Table, column: str, source: str, first_row: int = 0) -> np.ndarray:
    """A column of popularity weights as float64: numbers, finite and >= 0; else one line naming
    the column and the row (counted from ``first_row``, for a part of a table)."""
    weights = np.asarray(numeric_column(table, column, source), np.float64)
    bad = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))
    if bad.size:
        raise InputError(
            f"{source}: column {column!r} holds {weights[bad[0]]:g} at row {first_row + int(bad[0])}; "
            "popularity must be finite and >= 0"
        )
    return weights


def numeric_column(table: pa.Table, column: str, source: str, users: np.ndarray | None = None) -> np.ndarray:
    """A column as a numpy number array; nulls and non-numbers raise, naming column and row."""
    chunked = table.column(column)
    if not (
        pa.types.is_integer(chunked.type)
        or pa.types.is_floating(chunked.type)
        or pa.types.is_boolean(chunked.type)
    ):
        raise InputError(f"{source}: column {column!r} holds {chunked.type}, not numbers")
    if chunked.null_count:
        row = int(np.argmax(chunked.is_null().to_numpy(zero_copy_only=False)))
        raise InputError(f"{source}: column {column!r} is empty (null) at row {row}{_user_note(users, row)}")
    return chunked.to_numpy()


def user_column(table: pa.Table, column: str, source: str) -> np.ndarray:
    """The user id column as numpy; a null raises, naming the column and row."""
    chunked = table.column(column)
    if chunked.null_count:
        row = int(np.argmax(chunked.is_null().to_numpy(zero_copy_only=False)))
        raise InputError(f"{source}: column {column!r} is empty (null) at row {row}; every row needs a user")
    return chunked.to_numpy(zero_copy_only=False)


def item_column(table: pa.Table, column: str, source: str, users: np.ndarray) -> np.ndarray:
    """The item id column as numpy; a null (or NaN) id raises, naming the column, row and user."""
    chunked = table.column(column)
    ids = chunked.to_numpy(zero_copy_only=False)
    missing = chunked.is_null(nan_is_null=True).to_numpy(zero_copy_only=False)
    if missing.any():
        row = int(np.argmax(missing))
        raise InputError(
            f"{source}: column {column!r} is empty (null) at row {row}{_user_note(users, row)}; every row "
            "needs an item"
        )
    return ids


def feature_matrix(table: pa.Table, columns: Sequence[str], source: str, users: np.ndarray) -> np.ndarray:
    """The ``columns`` as one C-contiguous float32 matrix (rows x features), for one predict call.

    NaN or infinite features raise, naming the column, row and user: a model fed them would
    return scores that cannot be ranked.
    """
    matrix = np.empty((table.num_rows, len(columns)), np.float32)
    for j, column in enumerate(columns):
        matrix[:, j] = numeric_column(table, column, source, users)
        finite = np.isfinite(matrix[:, j])
        if not finite.all():
            row = int(np.argmin(finite))
            where = f"row {row}{_user_note(users, row)}"
            raise InputError(
                f"{source}: feature column {column!r} is {matrix[row, j]} at {where}; features must be finite"
            )
    return matrix


def _user_note(users: np.ndarray | None, row: int) -> str:
    if users is None:
        return ""
    user = users[row]
    return f" (user {user.item() if isinstance(user, np.generic) else user!r})"
