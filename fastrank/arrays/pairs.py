"""(user, item) pairs to leave out of an evaluation (``exclude=``: typically the training
interactions), looked up for many rows at once: :class:`Pairs`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from .ids import index_in


def _as_ids(ids: pa.Array | pa.ChunkedArray, what: str) -> pa.Array:
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    if pa.types.is_dictionary(ids.type):
        ids = ids.cast(ids.type.value_type)
    if pa.types.is_integer(ids.type):
        return ids.cast(pa.int64()) if not pa.types.is_uint64(ids.type) else ids.cast(pa.string())
    if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
        return ids.cast(pa.string())
    raise InputError(f"{what} holds {ids.type}; ids must be integers or text")


@dataclass(frozen=True)
class Pairs:
    """Distinct (user, item) pairs: ``users`` and ``items`` their distinct ids, ``keys`` each
    pair's ``user code x len(items) + item code``, sorted. Picklable (the Dask engine ships it)."""

    users: pa.Array
    items: pa.Array
    keys: np.ndarray
    name: str

    @classmethod
    def of(cls, users: pa.Array | pa.ChunkedArray, items: pa.Array | pa.ChunkedArray, name: str) -> Pairs:
        """The pairs of two id columns (nulls refused by the caller)."""
        users, items = _as_ids(users, f"{name}: the user column"), _as_ids(items, f"{name}: the item column")
        user_ids, item_ids = pc.unique(users), pc.unique(items)
        keys = index_in(users, user_ids) * len(item_ids) + index_in(items, item_ids)
        return cls(user_ids, item_ids, np.unique(keys), name)

    def __len__(self) -> int:
        return len(self.keys)

    def columns(self) -> tuple[pa.Array, pa.Array]:
        """The users and the items of the pairs, one row per pair."""
        n_items = max(len(self.items), 1)
        return self.users.take(pa.array(self.keys // n_items)), self.items.take(pa.array(self.keys % n_items))

    def holds(self, users: pa.Array | pa.ChunkedArray, items: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Whether each row's (user, item) is one of the pairs (bool, one per row)."""
        users, items = _as_ids(users, self.name), _as_ids(items, self.name)
        user, item = index_in(users, self.users), index_in(items, self.items)
        known = (user >= 0) & (item >= 0)
        keys = user * len(self.items) + item
        where = np.searchsorted(self.keys, keys[known])
        found = np.zeros(len(keys), bool)
        inside = where < len(self.keys)
        hits = np.zeros(int(known.sum()), bool)
        hits[inside] = self.keys[where[inside]] == keys[known][inside]
        found[known] = hits
        return found
