"""A top-N run joined with held-out truth, vectorised, into the kernels' grouped arrays.

Ids are dictionary-encoded by pyarrow; the truth's (user, item) pairs are sorted once and each run
row's label is looked up with ``searchsorted``; rows are placed per user with ``numpy`` arithmetic
on offsets. No Python loop runs per user. See :mod:`fastrank.runs` for the semantics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import trec
from .errors import InputError
from .grouping import Groups, group_rows
from .io import TableSource, numeric_column
from .options import RunOptions
from .pipeline import duplicates_per_user


def _is_trec(source: Any) -> bool:
    """A path to a plain text file that is neither CSV nor parquet (by suffix and magic bytes)."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    path = Path(source)
    if not path.is_file() or path.name.lower().endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
        return False
    with open(path, "rb") as file:
        return file.read(4) != b"PAR1"


def _table(source: Any, columns: list[str], what: str) -> tuple[pa.Table, str]:
    table_source = TableSource(source)
    table_source.require(columns, what=f"{what} column")
    return table_source.read(columns), table_source.name


def _ids(table: pa.Table, column: str, where: str) -> pa.ChunkedArray:
    ids = table.column(column)
    if pa.types.is_dictionary(ids.type):
        ids = ids.cast(ids.type.value_type)
    if ids.null_count:
        row = int(np.argmax(ids.is_null().to_numpy(zero_copy_only=False)))
        raise InputError(f"{where}: column {column!r} is empty (null) at row {row}")
    if not (
        pa.types.is_integer(ids.type) or pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)
    ):
        raise InputError(f"{where}: column {column!r} holds {ids.type}; ids must be integers or text")
    if pa.types.is_integer(ids.type):
        return ids.cast(pa.int64())
    return ids.cast(pa.string())


def read_run(
    source: Any, name: str, o: RunOptions
) -> tuple[pa.ChunkedArray, pa.ChunkedArray, np.ndarray, str]:
    """User ids, item ids and scores (a rank r gives the score -r) of one run, checked."""
    if _is_trec(source):
        rank_col = o.rank_col or "rank"
        table = trec.read_run(
            source, user_col=o.user_col, item_col=o.item_col, score_col=o.score_col, rank_col=rank_col
        )
        where = str(source)
        by = o.rank_col or o.score_col
    else:
        table_source = TableSource(source)
        where = table_source.name if table_source.path is not None else f"run {name}"
        by = o.rank_col or o.score_col
        if by not in table_source.column_names:
            hint = (
                " (there is a 'rank' column: pass rank_col='rank')"
                if "rank" in table_source.column_names
                else ""
            )
            raise InputError(
                f"{where}: no {'rank' if o.rank_col else 'score'} column {by!r}{hint}; a run needs a score "
                "column (score_col=) or a rank column (rank_col=)"
            )
        table_source.require([o.user_col, o.item_col], what="run column")
        table = table_source.read([o.user_col, o.item_col, by], allow_empty=True)
    if table.num_rows == 0:  # recommends nothing: every user of the truth is an empty run
        empty = pa.chunked_array([], pa.string())
        return empty, empty, np.empty(0, np.float64), where
    users = _ids(table, o.user_col, where)
    items = _ids(table, o.item_col, where)
    values = np.asarray(numeric_column(table, by, where), dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        row = int(np.argmin(finite))
        raise InputError(
            f"{where}: column {by!r} is {values[row]} at row {row} (user {users[row].as_py()!r}); "
            "scores must be finite"
        )
    return users, items, (-values if o.rank_col else values), where


@dataclass(frozen=True)
class Truth:
    """The truth, ready to join: distinct users (the result's users, in order of appearance),
    distinct items, and rows sorted by (user code, item code)."""

    users: np.ndarray
    user_ids: pa.Array
    item_ids: pa.Array
    keys: np.ndarray  # user code * n_items + item code, sorted
    user_codes: np.ndarray  # in key order
    labels: np.ndarray  # in key order
    sizes: np.ndarray  # truth rows per user
    name: str


def prepare_truth(truth: Any, o: RunOptions) -> Truth:
    if _is_trec(truth):
        table = trec.read_qrels(truth, user_col=o.user_col, item_col=o.item_col, label_col=o.label_col)
        where = str(truth)
    else:
        table, where = _table(truth, [o.user_col, o.item_col, o.label_col], "truth")
        where = where if isinstance(truth, (str, os.PathLike)) else "truth"
    if table.num_rows == 0:
        raise InputError(f"{where}: the truth has no rows; there is nothing to find")
    users = _ids(table, o.user_col, where)
    items = _ids(table, o.item_col, where)
    labels = np.asarray(numeric_column(table, o.label_col, where), dtype=np.float64)
    bad = np.flatnonzero(~(np.isfinite(labels) & (labels >= 0)))
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{where}: relevance {labels[row]} at row {row} (user {users[row].as_py()!r}, item "
            f"{items[row].as_py()!r}); relevance must be finite and >= 0"
        )
    user_codes, user_ids = _encode(users)
    item_codes, item_ids = _encode(items)
    keys = user_codes * len(item_ids) + item_codes
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    repeated = np.flatnonzero(keys[1:] == keys[:-1]) + 1
    if repeated.size:
        if o.duplicates == "refuse":
            row = int(order[repeated].min())
            raise InputError(
                f"{where}: user {users[row].as_py()!r} has item {items[row].as_py()!r} twice (again at "
                f"row {row}); pass duplicates='first' to keep the first"
            )
        keep = np.ones(len(keys), bool)
        keep[repeated] = False
        order, keys = order[keep], keys[keep]
    sorted_users = user_codes[order]
    return Truth(
        users=user_ids.to_numpy(zero_copy_only=False),
        user_ids=user_ids,
        item_ids=item_ids,
        keys=keys,
        user_codes=sorted_users,
        labels=labels[order],
        sizes=np.bincount(sorted_users, minlength=len(user_ids)),
        name=where,
    )


def _encode(ids: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Codes (int64, first appearance = 0) and the distinct ids, by pyarrow's hash encoder."""
    encoded = pc.dictionary_encode(ids.combine_chunks())
    return np.asarray(encoded.indices, dtype=np.int64), encoded.dictionary


def _lookup(ids: pa.Array, values: pa.Array) -> np.ndarray:
    """Index of each of ``ids`` in ``values`` (-1 when absent); text and integers compare as text."""
    if ids.type != values.type:
        ids, values = ids.cast(pa.string()), values.cast(pa.string())
    found = pc.index_in(ids, value_set=values)
    return np.asarray(found.fill_null(-1), dtype=np.int64)


@dataclass(frozen=True)
class Joined:
    offsets: np.ndarray  # one group per truth user
    ranked: np.ndarray  # run rows at the start of each group
    labels: np.ndarray
    scores: np.ndarray


def join(
    users: pa.ChunkedArray, items: pa.ChunkedArray, scores: np.ndarray, truth: Truth, o: RunOptions,
    where: str, notes: list[str],
) -> Joined:  # fmt: skip
    """The run's rows grouped per truth user (run rows first, then the truth items it missed)."""
    local_users, run_user_ids = _encode(users)
    local_items, run_item_ids = _encode(items)
    groups = _group(local_users)
    if len(local_users) and duplicates_per_user(groups, groups.take(local_items), parallel=True).sum():
        keys = local_users * len(run_item_ids) + local_items
        _, first = np.unique(keys, return_index=True)
        keep = np.zeros(len(keys), bool)
        keep[first] = True
        if o.duplicates == "refuse":
            row = int(np.argmin(keep))
            raise InputError(
                f"{where}: user {users[row].as_py()!r} lists item {items[row].as_py()!r} twice (again at row "
                f"{row}); pass duplicates='first' to keep the first"
            )
        notes.append(
            f"{where}: {_users(int((~keep).sum()), 'repeated (user, item) row')}; the first of each kept"
        )
        local_users, local_items, scores = local_users[keep], local_items[keep], scores[keep]
        groups = _group(local_users)
    truth_user = _lookup(run_user_ids, truth.user_ids)[groups.keys]  # per run group; -1: no truth
    truth_item = _lookup(run_item_ids, truth.item_ids)[groups.take(local_items)]
    sizes = groups.sizes
    row_user = np.repeat(truth_user, sizes)
    skipped = truth_user < 0
    if skipped.any():
        rows = int(sizes[skipped].sum())
        notes.append(f"{where}: {_users(int(skipped.sum()), 'user')} without truth skipped ({rows:,} rows)")
    n_users = len(truth.users)
    n_truth_items = len(truth.item_ids)

    # Labels of run rows: the truth relevance of (user, item), else 0.
    known = np.flatnonzero((row_user >= 0) & (truth_item >= 0))
    keys = row_user[known] * n_truth_items + truth_item[known]
    at = np.minimum(np.searchsorted(truth.keys, keys), len(truth.keys) - 1)
    hit = truth.keys[at] == keys
    run_labels = np.zeros(len(row_user), np.float64)
    run_labels[known[hit]] = truth.labels[at[hit]]
    retrieved = np.zeros(len(truth.keys), bool)
    retrieved[at[hit]] = True

    run_scores = groups.take(scores)
    if o.ties == "trec":
        run_scores = _trec_order(row_user, run_scores, groups.take(local_items), run_item_ids)

    ranked = np.zeros(n_users, np.int64)
    ranked[truth_user[~skipped]] = sizes[~skipped]
    missing = np.flatnonzero(~retrieved)
    missing_users = truth.user_codes[missing]
    counts = ranked + np.bincount(missing_users, minlength=n_users)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    labels = np.empty(offsets[-1], np.float64)
    out_scores = np.full(offsets[-1], -np.inf)
    # Run rows keep their order inside each user; the truth items the run missed follow them.
    group_start = np.repeat(groups.offsets[:-1], sizes)
    kept = np.flatnonzero(row_user >= 0)
    dest = offsets[row_user[kept]] + kept - group_start[kept]
    labels[dest] = run_labels[kept]
    out_scores[dest] = run_scores[kept]
    first_missing = np.searchsorted(missing_users, missing_users, side="left")
    dest = offsets[missing_users] + ranked[missing_users] + np.arange(len(missing)) - first_missing
    labels[dest] = truth.labels[missing]
    empty = int((ranked == 0).sum())
    if empty:
        fate = (
            "left out (empty_run='skip')"
            if o.empty_run == "skip"
            else ("they score 0 for every metric (empty_run='skip' leaves them out)")
        )
        notes.append(f"{where}: {_users(empty, 'user')} of the truth without recommendations; {fate}")
    return Joined(offsets, ranked, labels, out_scores)


def _users(n: int, what: str) -> str:
    return f"{n:,} {what}" if n == 1 else f"{n:,} {what}s"


def _group(codes: np.ndarray) -> Groups:
    """Rows grouped by user code; no groups for an empty run."""
    if len(codes) == 0:
        return Groups(keys=codes, offsets=np.zeros(1, np.int64), order=None)
    return group_rows(codes)


def _trec_order(
    row_user: np.ndarray, scores: np.ndarray, items: np.ndarray, item_ids: pa.Array
) -> np.ndarray:
    """Distinct scores giving trec_eval's order within each user: score descending, then item id
    as text descending (trec_eval sorts ties by ``strcmp`` of docno, reversed)."""
    text = item_ids.cast(pa.string())
    text_rank = np.empty(len(text), np.int64)
    text_rank[np.asarray(pc.array_sort_indices(text))] = np.arange(len(text))
    order = np.lexsort((-text_rank[items], -scores, row_user))
    position = np.empty(len(order), np.float64)
    position[order] = np.arange(len(order), dtype=np.float64)
    return -position
