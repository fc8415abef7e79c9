"""Group rows by user: CSR-style ``offsets`` and the permutation, if any, that makes groups contiguous."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..kernels import key_changes
from .conversion import to_numpy
from .threads import even_bounds, frozen, run_chunks, thread_count


@dataclass(frozen=True)
class Groups:
    """Rows grouped by key.

    Attributes
    ----------
    keys : ndarray
        The key (user id) of each group, in group order.
    offsets : ndarray of int64, shape (n_groups + 1,)
        Group g is rows ``offsets[g]:offsets[g + 1]`` of a column in group order.
    order : ndarray of int64 or None
        Stable permutation that puts input rows in group order (``column[order]``), or None when
        the input was already contiguous and columns are used as they are, without a copy.
    """

    keys: np.ndarray
    offsets: np.ndarray
    order: np.ndarray | None

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.keys)

    @property
    def n_rows(self) -> int:
        """Number of rows over all groups."""
        return int(self.offsets[-1])

    @property
    def sizes(self) -> np.ndarray:
        """Rows per group (int64)."""
        return np.diff(self.offsets)

    def take(self, column: np.ndarray) -> np.ndarray:
        """``column`` (in input row order) in group order: the column itself when contiguous."""
        return column if self.order is None else column[self.order]


def group_rows(users: Any, *, parallel: bool = True) -> Groups:
    """Group rows by user id in O(n) when contiguous, else with one stable sort.

    Parameters
    ----------
    users : array-like, shape (n_rows,)
        User id of each row: integers are used as they are; strings, categoricals and other
        values are factorized first. Nulls raise :class:`~fastrank.InputError` naming the first null row.
    parallel : bool
        Scan on numba's thread pool; pass False inside a caller's own thread pool.

    Returns
    -------
    Groups
        When each user's rows are consecutive, groups keep their order of appearance and
        ``order`` is None. Otherwise rows are stably sorted by user (groups in key order); a user
        whose rows appear in several separate runs is always one group.
    """
    ids = to_numpy(users, "users")
    if ids.shape[0] == 0:
        raise InputError("users: empty input (0 rows); there is nothing to rank")
    if ids.dtype.kind == "f" and np.isnan(ids).any():
        raise InputError(f"users: null (NaN) at row {int(np.argmax(np.isnan(ids)))}")
    if ids.dtype.kind in "iubf":
        codes, uniques = ids, None
    else:
        import pandas as pd

        codes, uniques = pd.factorize(ids, use_na_sentinel=True)
        if (codes < 0).any():
            raise InputError(f"users: null at row {int(np.argmax(codes < 0))}")

    starts = _run_starts(codes, parallel)
    run_keys = codes[starts]
    if np.unique(run_keys).shape[0] == run_keys.shape[0]:
        order = None
    else:
        order = np.argsort(codes, kind="stable")
        codes = codes[order]
        starts = _run_starts(codes, parallel)
        run_keys = codes[starts]
    offsets = np.append(starts, np.int64(codes.shape[0]))
    keys = run_keys if uniques is None else np.asarray(uniques)[run_keys]
    return Groups(keys=keys, offsets=offsets, order=order)


def _run_starts(keys: np.ndarray, parallel: bool) -> np.ndarray:
    """Start row of every run of equal consecutive keys (``keys`` non-empty), in order; each
    slice of rows is scanned on its own thread, from the row before it."""
    keys = frozen(keys)

    def changes(first: int, stop: int) -> np.ndarray:
        before = max(first - 1, 0)
        return key_changes(keys[before:stop]) + before

    parts = run_chunks(changes, even_bounds(len(keys), thread_count(parallel)), parallel)
    return np.concatenate([np.zeros(1, np.int64), *parts])


def groups_from_offsets(offsets: Any, keys: Any = None) -> Groups:
    """Wrap existing CSR ``offsets`` (int, n_groups + 1, starting at 0, non-decreasing).

    ``keys`` defaults to ``0..n_groups-1``. Raises :class:`~fastrank.InputError` for malformed offsets.
    """
    off = np.ascontiguousarray(to_numpy(offsets, "offsets"), dtype=np.int64)
    if off.shape[0] < 2 or off[0] != 0:
        raise InputError("offsets: must start at 0 and hold n_groups + 1 entries")
    bad = np.flatnonzero(np.diff(off) < 0)
    if bad.size:
        raise InputError(f"offsets: decreases at group {int(bad[0])}; offsets must not decrease")
    n_groups = off.shape[0] - 1
    key_array = np.arange(n_groups) if keys is None else to_numpy(keys, "keys")
    if key_array.shape[0] != n_groups:
        raise InputError(f"keys: {key_array.shape[0]} keys for {n_groups} groups")
    return Groups(keys=key_array, offsets=off, order=None)


def group_chunks(offsets: np.ndarray, n_chunks: int) -> np.ndarray:
    """Bounds of up to ``n_chunks`` runs of whole groups, with about the same number of rows in
    each, for kernels that take a ``first, stop`` range of groups."""
    targets = np.linspace(0, offsets[-1], n_chunks + 1)
    bounds = np.searchsorted(offsets, targets, side="left")
    bounds[0], bounds[-1] = 0, offsets.shape[0] - 1
    return np.unique(bounds).astype(np.int64)
