"""Ids of one column found among the ids of another: :func:`index_in`, for joins, catalogs and
(user, item) pairs alike."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def index_in(ids: Any, values: pa.Array) -> np.ndarray:
    """Index of each of ``ids`` in ``values`` (-1 when absent); text and integers compare as text.
    Integers in a range of up to 2**26 values take a direct table instead of a hash lookup."""
    if ids.type != values.type:
        ids, values = ids.cast(pa.string()), values.cast(pa.string())
    if pa.types.is_integer(ids.type) and len(values):
        keys = np.asarray(values.to_numpy(zero_copy_only=False), np.int64)
        wanted = np.asarray(ids.to_numpy(), np.int64)
        low, high = int(keys.min()), int(keys.max())
        if high - low < 1 << 26:
            table = np.full(high - low + 1, -1, np.int64)
            table[keys - low] = np.arange(len(keys))
            inside = (wanted >= low) & (wanted <= high)
            out = np.full(len(wanted), -1, np.int64)
            out[inside] = table[wanted[inside] - low]
            return out
    found = pc.index_in(ids, value_set=values)
    return np.asarray(found.fill_null(-1), dtype=np.int64)
