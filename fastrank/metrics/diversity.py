"""The diversity family (:mod:`fastrank.kernels.diversity`): intra-list similarity and diversity
of each user's top-k list, and its serendipity against the user's history, from item feature
vectors (cosine), as expected values over a tie the cutoff splits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import kernels
from ..arrays.grouping import Groups, group_chunks
from ..arrays.pairs import Pairs
from ..arrays.threads import frozen, run_chunks, thread_count
from ..errors import InputError
from .beyond import top_lists

ILS, ILD, SERENDIPITY = kernels.ILS, kernels.ILD, kernels.SERENDIPITY


def _index_in(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each of ``ids`` in ``values`` (-1: absent); text and integers compare as text."""
    if (ids.dtype.kind in "iu") != (values.dtype.kind in "iu"):
        ids, values = ids.astype(str), values.astype(str)
    return np.asarray(pd.Index(values).get_indexer(ids), np.int64)


def _shown(item: Any) -> Any:
    return item.item() if isinstance(item, np.generic) else item


@dataclass(frozen=True)
class ItemVectors:
    """Unit feature vectors of items: row i is item ``ids[i]``'s, scaled to length 1 (cosine
    similarity is then a dot product), dense (``vectors``) or as CSR rows (``sparse``: indptr,
    indices, values; ``width`` columns); ``name`` says where they come from."""

    ids: np.ndarray
    vectors: Any
    name: str
    sparse: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    width: int = 0

    def rows_of(self, items: Any, where: str) -> np.ndarray:
        """The vector row of each of ``items``; an item without features is refused by name."""
        ids = np.asarray(items)
        rows = _index_in(ids, self.ids)
        if (rows < 0).any():
            item = _shown(ids[int(np.argmax(rows < 0))])
            raise InputError(
                f"{where}: item {item!r} has no features in {self.name}; give every item a vector"
            )
        return rows


def item_vectors(table: pa.Table, item_col: str, name: str) -> ItemVectors:
    """The unit vectors of a table of item features: ``item_col`` (else its first column) and
    numeric columns, or one list column of numbers, one row per item. Refused in one line: a
    repeated item, a non-finite value, a vector of zeros (no direction: no cosine)."""
    names = table.column_names
    item_col = item_col if item_col in names else names[0]
    others = [column for column in names if column != item_col]
    if not others:
        raise InputError(f"{name}: no feature columns beside the item column {item_col!r}")
    kinds = {c: table.schema.field(c).type for c in others}
    lists = [c for c, kind in kinds.items() if pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind)]
    if lists and len(others) > 1:
        raise InputError(f"{name}: give one list column of features, or numeric columns; not both")
    try:
        if lists:
            column = table.column(lists[0]).combine_chunks()
            lengths = np.asarray(column.value_lengths(), np.int64)
            if len(lengths) and (lengths != lengths[0]).any():
                row = int(np.argmax(lengths != lengths[0]))
                raise InputError(
                    f"{name}: row {row} has {lengths[row]} features, row 0 {lengths[0]}; one length"
                )
            vectors = np.asarray(column.flatten(), np.float64).reshape(len(column), -1)
        else:
            columns = [table.column(c).to_numpy(zero_copy_only=False) for c in others]
            vectors = np.column_stack([np.asarray(values, np.float64) for values in columns])
    except (ValueError, TypeError, pa.ArrowInvalid) as error:
        raise InputError(f"{name}: feature columns must hold numbers ({error})") from None
    ids = np.asarray(table.column(item_col).to_numpy(zero_copy_only=False))
    for bad, why in (
        (pd.Index(ids).duplicated(), "is given twice; one row per item"),
        (~np.isfinite(vectors).all(axis=1), "has a feature that is not a finite number"),
    ):
        if bad.any():
            raise InputError(f"{name}: item {_shown(ids[int(np.argmax(bad))])!r} {why}")
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
    if (norms == 0).any():
        raise InputError(
            f"{name}: item {_shown(ids[int(np.argmax(norms == 0))])!r} has a vector of zeros: no cosine"
        )
    return ItemVectors(ids, vectors / norms[:, None], name)


def cooccurrence_vectors(users: Any, items: Any, name: str) -> ItemVectors:
    """Each item's vector of co-occurrence: over the users of the interactions (``users``,
    ``items``: one pair per row, each pair once), 1 for those who interacted with it, scaled to
    length 1; so the cosine of two items is their users in common over the geometric mean of
    their users (Microsoft Recommenders' cosine co-occurrence similarity)."""
    user_codes, user_ids = pd.factorize(np.asarray(users))
    item_codes, item_ids = pd.factorize(np.asarray(items))
    order = np.argsort(item_codes, kind="stable")
    counts = np.bincount(item_codes, minlength=len(item_ids))
    indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    values = np.repeat(1.0 / np.sqrt(counts), counts)
    sparse = (indptr, user_codes[order].astype(np.int64), values)
    return ItemVectors(np.asarray(item_ids), None, name, sparse, len(user_ids))


class RowsOf:
    """The vector rows of some rows' items, looked up only for the rows asked for (a list's,
    not every candidate's): ``ids_of(rows)`` gives the items of rows in group order."""

    def __init__(self, ids_of: Any, vectors: ItemVectors, where: str) -> None:
        self.ids_of, self.vectors, self.where = ids_of, vectors, where

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        return self.vectors.rows_of(self.ids_of(rows), self.where)


@dataclass(frozen=True)
class Similar:
    """What the diversity family needs beside the scores: each row's vector row (group order),
    the vectors (an :class:`ItemVectors`' dense ``vectors`` or its ``sparse`` rows and
    ``width``), and per user the vector rows of its history (``history_offsets`` over
    ``history_rows``; None without a history)."""

    rows: Any  # an array, or a RowsOf that finds the listed rows' only
    vectors: Any
    history_offsets: np.ndarray | None = None
    history_rows: np.ndarray | None = None
    sparse: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    width: int = 0

    @classmethod
    def of(cls, groups: Groups, rows: Any, vectors: ItemVectors, history: History | None) -> Similar:
        """The vector ``rows`` of ``groups``' rows (group order; an array, or a :class:`RowsOf`) over
        ``vectors``, with each user's ``history`` (None: no history)."""
        if history is None:
            return cls(rows, vectors.vectors, sparse=vectors.sparse, width=vectors.width)
        offsets, past = history.of_groups(groups)
        return cls(rows, vectors.vectors, offsets, past, vectors.sparse, vectors.width)


@dataclass(frozen=True)
class History:
    """Each user's past items as vector rows, found once for every part of a table: ``users``
    ascending, ``rows`` the vector row of each one's item."""

    users: np.ndarray
    rows: np.ndarray

    @classmethod
    def of(cls, pairs: Pairs, vectors: ItemVectors) -> History:
        """The history of (user, item) ``pairs``, each once; their items need vectors too."""
        users, items = pairs.columns()
        rows = vectors.rows_of(items.to_numpy(zero_copy_only=False), pairs.name)
        users = np.asarray(users.to_numpy(zero_copy_only=False))
        order = np.argsort(users, kind="stable")
        return cls(users[order], rows[order])

    def of_groups(self, groups: Groups) -> tuple[np.ndarray, np.ndarray]:
        """Per user of ``groups``, the vector rows of its past items, as offsets and rows (a binary
        search per user, not a pass over the whole history); text and integer ids compare as text."""
        keys, users, rows = np.asarray(groups.keys), self.users, self.rows
        if (keys.dtype.kind in "iu") != (users.dtype.kind in "iu"):
            keys, users = keys.astype(str), users.astype(str)
            order = np.argsort(users, kind="stable")
            users, rows = users[order], rows[order]
        first = np.searchsorted(users, keys, side="left")
        counts = np.searchsorted(users, keys, side="right") - first
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        at = np.repeat(first - offsets[:-1], counts) + np.arange(offsets[-1])
        return offsets, rows[at]


def diversity_metrics(
    groups: Groups, labels: np.ndarray, scores: np.ndarray, similar: Similar, k: int, *,
    columns: Sequence[int], tie: int, min_items: int, threshold: float, parallel: bool,
    ranked: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """Per user (users x 3, columns :data:`ILS`, :data:`ILD`, :data:`SERENDIPITY`; those not in
    ``columns`` NaN): the expected intra-list similarity and diversity of the top-k list, and its
    serendipity (relevant: label >= ``threshold``). Inputs validated and in group order;
    ``ranked`` as :func:`~fastrank.metrics.beyond.top_lists`. ``similar.rows`` is indexed by the
    listed rows only (it may find their vector rows lazily)."""
    lists = top_lists(
        groups, labels, scores, k, tie=tie, min_items=min_items, parallel=parallel, ranked=ranked
    )
    rows = lists.rows
    bounds = group_chunks(groups.offsets, min(groups.n_groups, 4 * thread_count(parallel)))
    entries = frozen(lists.offsets)
    slots, p, places = frozen(np.asarray(similar.rows[rows], np.int64)), frozen(lists.p), frozen(lists.places)
    out = np.full((groups.n_groups, 3), np.nan)
    if similar.sparse is not None:
        return _sparse_metrics(similar, (entries, slots, p, places), labels[rows] >= threshold, columns,
                               bounds, parallel, out)  # fmt: skip
    vectors = frozen(np.ascontiguousarray(similar.vectors))
    if ILS in columns or ILD in columns:
        ils = np.empty(groups.n_groups)
        listed = (entries, slots, p, places, vectors)
        run_chunks(lambda first, stop: kernels.list_similarity(first, stop, *listed, ils), bounds, parallel)
        out[:, ILS], out[:, ILD] = ils, 1.0 - ils
    if SERENDIPITY in columns:
        _need_history(similar)
        history = np.empty((groups.n_groups, vectors.shape[1]))
        hist_offsets, hist_rows = frozen(similar.history_offsets), frozen(similar.history_rows)
        run_chunks(
            lambda first, stop: kernels.history_sums(first, stop, hist_offsets, hist_rows, vectors, history),
            bounds, parallel,
        )  # fmt: skip
        relevant = frozen((labels[rows] >= threshold).astype(np.float64))
        sizes = frozen(np.diff(similar.history_offsets).astype(np.float64))
        seren = np.empty(groups.n_groups)
        history = frozen(history)
        run_chunks(
            lambda first, stop: kernels.list_serendipity(
                first, stop, entries, slots, p, relevant, places, vectors, history, sizes, seren
            ),
            bounds, parallel,
        )  # fmt: skip
        out[:, SERENDIPITY] = seren
    return out


def _need_history(similar: Similar) -> None:
    if similar.history_offsets is None:
        raise InputError("metrics: serendipity compares each list with the user's history; pass history=")


def _sparse_metrics(
    similar: Similar, listed: tuple[np.ndarray, ...], relevant: np.ndarray, columns: Sequence[int],
    bounds: np.ndarray, parallel: bool, out: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """:func:`diversity_metrics`' columns over sparse vectors, scratch of the vectors' width per
    chunk of users (zeroed again by the kernels after each user)."""
    sparse = tuple(frozen(np.ascontiguousarray(a)) for a in similar.sparse)
    width, n_users = max(similar.width, 1), len(out)
    listed = tuple(frozen(a) for a in listed)
    if ILS in columns or ILD in columns:
        ils = np.empty(n_users)

        def similarity(first: int, stop: int) -> None:
            scratch = (np.zeros(width), np.zeros(width), np.zeros(width, np.int8), np.empty(width, np.int64))
            kernels.list_similarity_sparse(first, stop, *listed, sparse, scratch, ils)

        run_chunks(similarity, bounds, parallel)
        out[:, ILS], out[:, ILD] = ils, 1.0 - ils
    if SERENDIPITY in columns:
        _need_history(similar)
        seren = np.empty(n_users)
        entries, slots, p, places = listed
        past = (frozen(similar.history_offsets), frozen(similar.history_rows))
        flags = frozen(relevant.astype(np.float64))

        def serendipity(first: int, stop: int) -> None:
            scratch = (np.zeros(width), np.zeros(width, np.int8), np.empty(width, np.int64))
            kernels.list_serendipity_sparse(
                first, stop, entries, slots, p, flags, places, sparse, *past, scratch, seren
            )

        run_chunks(serendipity, bounds, parallel)
        out[:, SERENDIPITY] = seren
    return out
