"""The catalog and the item popularity of top-N runs, for the beyond-accuracy metrics: which items
a list could hold (``catalog=``) and how popular each is (``popularity=``, e.g. the training
interactions), read once for every run. See :func:`run_items`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..arrays.columns import weight_column
from ..arrays.ids import index_in
from ..errors import InputError, count
from ..inputs.registry import FORMATS
from ..inputs.tables import TableSource
from ..metrics.beyond import Catalog, listed_catalog
from .join import Run, Truth, id_column
from .options import RunOptions


@dataclass(frozen=True)
class Items:
    """The catalog of every run: ``ids`` each item once; ``popularity`` each one's popularity
    (rows of the popularity table, or its weights summed), None when none was given; ``name``
    says where the catalog comes from, in messages; ``catalog`` the same as the beyond-accuracy
    metrics take it (shares, self-information, long tail), built once for every run and cutoff."""

    ids: pa.Array
    popularity: np.ndarray | None
    name: str
    catalog: Catalog

    def slots(self, items: pa.ChunkedArray, rows: np.ndarray, run: Run) -> np.ndarray:
        """The catalog index of ``items[rows]`` (only those are looked up: a run's listed rows);
        an item outside the catalog is refused, naming it and its row of ``run``."""
        codes = index_in(items.take(pa.array(rows, pa.int64())), self.ids)
        outside = np.flatnonzero(codes < 0)
        if outside.size:
            row = int(rows[outside[0]])
            raise InputError(
                f"{run.where}: item {items[row].as_py()!r} at {run.row_name(row)} is not in the catalog "
                f"({self.name}); give a catalog that holds every recommended item"
            )
        return codes


def run_items(runs: Sequence[Run], truth: Truth, o: RunOptions, notes: list[str]) -> Items:
    """The catalog (``o.catalog``, else the items of the truth, the runs and the popularity table
    together, said in a note) and each item's popularity (``o.popularity``: a table whose rows per
    item, or whose ``o.popularity_col`` summed per item, is the popularity). An item of the
    popularity table outside a given catalog is refused."""
    popular_ids = weights = None
    if o.popularity is not None:
        extra = [o.popularity_col] if o.popularity_col else []
        table, item_col, where = _read_items(o.popularity, o, "popularity", extra)
        popular_ids = id_column(table, item_col, where, _row).combine_chunks()
        weights = np.ones(len(popular_ids))
        if o.popularity_col:
            weights = weight_column(table, o.popularity_col, where)
    if o.catalog is not None:
        table, item_col, name = _read_items(o.catalog, o, "catalog", [])
        ids = pc.unique(id_column(table, item_col, name, _row).combine_chunks())
    else:
        parts = [truth.item_ids, *(run.items.combine_chunks() for run in runs)]
        parts += [] if popular_ids is None else [popular_ids]
        if len({part.type for part in parts}) > 1:  # text and integers compare as text
            parts = [part.cast(pa.string()) for part in parts]
        ids = pc.unique(pa.chunked_array(parts, parts[0].type).combine_chunks())
        name = (
            "the items of the truth and the runs"
            if popular_ids is None
            else "the items of the truth, the runs and the popularity table"
        )
        notes.append(f"catalog: {count(len(ids), 'item')}, {name} (catalog= gives it)")
    popularity = None
    if popular_ids is not None:
        codes = index_in(popular_ids, ids)
        outside = np.flatnonzero(codes < 0)
        if outside.size:
            row = int(outside[0])
            raise InputError(
                f"popularity: item {popular_ids[row].as_py()!r} at row {row} is not in the catalog ({name}); "
                "add it to the catalog or leave it out of the popularity table"
            )
        popularity = np.bincount(codes, weights, minlength=len(ids))
    tail = (o.tail_share, o.tail_ties)
    ids_array = np.asarray(ids.to_numpy(zero_copy_only=False))
    no_codes = np.empty(0, np.int64)  # a list's rows find their slots with Items.slots
    catalog = listed_catalog(no_codes, ids_array, popularity, name="popularity", tail=tail)
    return Items(ids, popularity, name, catalog)


def _row(row: int) -> str:
    return f"row {row}"


def _read_items(source: Any, o: RunOptions, role: str, extra: list[str]) -> tuple[pa.Table, str, str]:
    """A table of item ids (a file, a frame or table, or a sequence of ids), its item column
    (``o.item_col``, or a table's only column) and its name in messages."""
    if not isinstance(source, (str, bytes, pa.Table, pd.DataFrame)) and hasattr(source, "__len__"):
        if not hasattr(source, "__fspath__"):  # ids given as they are
            try:
                ids = pa.array(pd.Series(np.asarray(source)), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                raise InputError(f"{role}: the ids must be all integers or all text ({error})") from None
            return pa.table({o.item_col: ids}), o.item_col, role
    table_format = o.input_format if o.input_format in FORMATS and FORMATS[o.input_format].table else None
    opened = TableSource(source, delimiter=o.delimiter, input_format=table_format)
    where = opened.name if opened.path is not None else role
    names = opened.column_names
    item_col = o.item_col if o.item_col in names or len(names) != 1 or extra else names[0]
    opened.require_roles(
        [(item_col, f"{role} column", "item_col=")]
        + [(column, f"{role} column", f"{role}_col=") for column in extra]
    )
    return opened.read([item_col, *extra]), item_col, where
