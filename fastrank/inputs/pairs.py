"""A table of (user, item) pairs read from a file, a frame or a table: ``exclude=``'s pairs."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arrays.pairs import Pairs
from ..errors import InputError
from .tables import TableSource


def read_pairs(
    source: Any, user_col: str, item_col: str, *, delimiter: str | None = None,
    input_format: str | None = None, role: str = "exclude",
) -> Pairs:  # fmt: skip
    """The distinct (user, item) pairs of ``source``'s ``user_col`` and ``item_col`` (integer
    or text ids; a null is refused, naming its row). ``role`` names it in messages."""
    opened = TableSource(source, delimiter=delimiter, input_format=input_format)
    opened.require_roles(
        [(user_col, f"{role} column", "user_col="), (item_col, f"{role} column", "item_col=")]
    )
    table = opened.read([user_col, item_col], allow_empty=True)
    where = opened.name if opened.path is not None else role
    for column in (user_col, item_col):
        if table.column(column).null_count:
            row = int(np.argmax(table.column(column).is_null().to_numpy(zero_copy_only=False)))
            raise InputError(f"{where}: column {column!r} is empty (null) at row {row}")
    return Pairs.of(
        table.column(user_col), table.column(item_col), f"{where}: columns {user_col!r}, {item_col!r}"
    )
