"""Conversion of array-likes (numpy, pandas, pyarrow, sequences) to numpy, with row-level errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError


def _first_true(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def to_numpy(values: Any, name: str) -> np.ndarray:
    """One-dimensional numpy view or copy of ``values``; nulls raise, naming the first null row.

    Accepts numpy arrays, pandas Series/Index/Categorical, pyarrow Array/ChunkedArray and
    sequences. pyarrow dictionary arrays and pandas categoricals become their decoded values.
    """
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency; stay usable without it
        pa = None
    if pa is not None and isinstance(values, (pa.Array, pa.ChunkedArray)):
        if values.null_count:
            nulls = values.is_null()
            row = _first_true(nulls.to_numpy(zero_copy_only=False))
            raise InputError(f"{name}: null at row {row}; every row needs a value")
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        return np.asarray(values.to_numpy(zero_copy_only=False))
    if hasattr(values, "columns") and hasattr(values, "iloc"):  # a DataFrame is a table, not a column
        raise InputError(
            f"{name}: expected one column, got a table with {len(values.columns)} columns; pass one of them"
        )
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        # pandas: nullable dtypes (Int64, string) keep nulls as pd.NA; check before converting.
        import pandas as pd

        series = pd.Series(values) if not isinstance(values, pd.Series) else values
        null = series.isna().to_numpy()
        numpy_float = isinstance(series.dtype, np.dtype) and series.dtype.kind == "f"
        if null.any() and not numpy_float:  # NaN in a float column is reported later, as NaN
            raise InputError(f"{name}: null at row {_first_true(null)}; every row needs a value")
        if isinstance(series.dtype, pd.CategoricalDtype):
            return np.asarray(series.astype(series.cat.categories.dtype).to_numpy())
        if pd.api.types.is_extension_array_dtype(series.dtype) and pd.api.types.is_numeric_dtype(
            series.dtype
        ):
            return series.to_numpy(dtype=series.dtype.numpy_dtype)
        return np.asarray(series.to_numpy())
    try:
        array = np.asarray(values)
    except ValueError as error:  # ragged nested sequences
        raise InputError(f"{name}: not a flat array of values ({error})") from None
    if array.ndim != 1:
        raise InputError(f"{name}: expected a 1-d array, got shape {array.shape}")
    return array
