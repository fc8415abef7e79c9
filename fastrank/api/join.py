"""A top-N run joined with held-out truth, vectorised, into the kernels' grouped arrays.

The truth's ids are dictionary-encoded by pyarrow and its rows sorted by (user, item) once. A run's
users are grouped by their runs of equal ids; its rows are matched with their truth user's items
by numba kernels (text ids by FNV-1a hash, confirmed byte by byte; integer ids by code) and
placed per user on offsets. No Python loop runs per user. See :mod:`fastrank.api.runs` for the
semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import kernels
from ..arrays.checks import INT64_MAX
from ..arrays.columns import numeric_column
from ..arrays.grouping import Groups, group_rows
from ..arrays.ids import index_in
from ..arrays.threads import even_bounds, frozen, run_chunks, thread_count
from ..engines.plan import duplicates_per_user
from ..errors import InputError, count
from ..inputs.registry import run_format
from ..inputs.tables import TableSource
from ..inputs.trec import RunKeys
from .options import RunOptions


def id_column(table: pa.Table, column: str, where: str, row_name: Callable[[int], str]) -> pa.ChunkedArray:
    ids = table.column(column)
    if pa.types.is_dictionary(ids.type):
        ids = ids.cast(ids.type.value_type)
    if ids.null_count:
        row = int(np.argmax(ids.is_null().to_numpy(zero_copy_only=False)))
        raise InputError(f"{where}: column {column!r} is empty (null) at {row_name(row)}")
    if not (
        pa.types.is_integer(ids.type) or pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)
    ):
        raise InputError(f"{where}: column {column!r} holds {ids.type}; ids must be integers or text")
    if pa.types.is_integer(ids.type):
        if pa.types.is_uint64(ids.type) and len(ids) and pc.max(ids).as_py() > INT64_MAX:
            return ids.cast(pa.string())  # beyond int64: compared as text, like mixed ids
        return ids.cast(pa.int64())
    return ids.cast(pa.string())


def _row(row: int) -> str:
    return f"row {row}"


@dataclass(frozen=True)
class Run:
    """One run read and checked: user and item ids and scores per row (a rank r as the score
    -r), how messages name it (``where``) and one of its rows (``row_name``: a row of a table, a
    line of a TREC file), and what the TREC reader took from the ids on the way (``keys``)."""

    users: pa.ChunkedArray
    items: pa.ChunkedArray
    scores: np.ndarray
    where: str
    row_name: Callable[[int], str]
    keys: RunKeys | None = None  # taken by the TREC reader: users' runs of lines, items' hashes


def read_run(source: Any, name: str, o: RunOptions) -> Run:
    """One run (a TREC file, a table file or a frame) read and checked."""
    form, source = run_format(source, o.input_format)
    by = o.rank_col or o.score_col
    read_keys = None
    if form is not None and not form.table:  # fixed fields (TREC)
        table, read_keys = form.read_run_keyed(source)
        fields = form.fields
        user_col, item_col, by = fields["user"], fields["item"], fields["rank" if o.rank_col else "score"]
        where = source.name

        def row_name(row: int) -> str:
            return form.row_name(source, row)
    else:
        table_source = TableSource(source, delimiter=o.delimiter, input_format=o.input_format)
        user_col, item_col, row_name = o.user_col, o.item_col, _row
        where = table_source.name if table_source.path is not None else _run_name(name)
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
        table_source.require_roles(
            [(o.user_col, "user column", "user_col="), (o.item_col, "item column", "item_col=")]
        )
        table = table_source.read([o.user_col, o.item_col, by], allow_empty=True)
    if table.num_rows == 0:  # recommends nothing: every user of the truth is an empty run
        empty = pa.chunked_array([], pa.string())
        return Run(empty, empty, np.empty(0, np.float64), where, row_name)
    users = id_column(table, user_col, where, row_name)
    items = id_column(table, item_col, where, row_name)
    values = np.asarray(numeric_column(table, by, where), dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        row = int(np.argmin(finite))
        raise InputError(
            f"{where}: column {by!r} is {values[row]} at {row_name(row)} (user {users[row].as_py()!r}); "
            "scores must be finite"
        )
    return Run(users, items, -values if o.rank_col else values, where, row_name, read_keys)


def kept_rows(run: Run, keep: np.ndarray) -> Run:
    """``run`` with only the rows where ``keep``; messages still name the rows as read."""
    rows = np.flatnonzero(keep)
    take = pa.array(rows)
    return Run(run.users.take(take), run.items.take(take), run.scores[rows], run.where,
               lambda row: run.row_name(int(rows[row])))  # fmt: skip


def truth_pairs(truth: Truth) -> tuple[pa.Array, pa.Array]:
    """The truth's (user, item) of each of its rows, as ids."""
    return truth.user_ids.take(pa.array(truth.user_codes)), truth.item_ids.take(pa.array(truth.item_codes))


def _run_name(name: str) -> str:
    """How messages name a run given as a frame or table: ``run``, or ``run NAME`` when it has a
    name of its own (``run run: ...`` read badly)."""
    return name if name == "run" else f"run {name}"


@dataclass(frozen=True)
class Truth:
    """The truth, ready to join: distinct users (the result's users, in order of appearance),
    distinct items, and rows grouped by user code (in file order, or sorted by item code)."""

    users: np.ndarray
    user_ids: pa.Array
    item_ids: pa.Array
    offsets: np.ndarray  # rows of truth user u: offsets[u]:offsets[u + 1]
    user_codes: np.ndarray  # per row, in that order (ascending)
    item_codes: np.ndarray  # per row: 0 <= code < len(item_ids)
    labels: np.ndarray  # per row, a negative relevance read as 0
    judged: np.ndarray  # per row: 1.0 for a relevance >= 0, -1.0 for a negative one (pooled, unjudged)
    sizes: np.ndarray  # truth rows per user
    name: str
    dropped: int = 0  # repeated (user, item) rows left out (duplicates="first")


def prepare_truth(truth: Any, o: RunOptions) -> Truth:
    """The truth read and checked (relevance finite; a negative one read as 0, not relevant and
    not judged, as trec_eval reads it; a repeated (user, item) refused or its first row kept, by
    ``o.duplicates``), its rows grouped by user once for every run's lookups: as they are when
    each user's rows come together without a repeated item, else sorted by (user, item)."""
    form, truth = run_format(truth, o.input_format)
    read_keys = None
    if form is not None and not form.table:  # fixed fields (TREC)
        table, read_keys = form.read_qrels_keyed(truth)
        user_col, item_col, label_col = (form.fields[role] for role in ("user", "item", "label"))
        where = truth.name

        def row_name(row: int) -> str:
            return form.row_name(truth, row)
    else:
        user_col, item_col, label_col, row_name = o.user_col, o.item_col, o.label_col, _row
        source = TableSource(truth, delimiter=o.delimiter, input_format=o.input_format)
        source.require_roles(
            [(o.user_col, "truth column", "user_col="), (o.item_col, "truth column", "item_col="),
             (o.label_col, "truth column", "label_col=")]
        )  # fmt: skip
        table = source.read([o.user_col, o.item_col, o.label_col])
        where = source.name if source.path is not None else "truth"
    if table.num_rows == 0:
        raise InputError(f"{where}: the truth has no rows; there is nothing to find")
    users = id_column(table, user_col, where, row_name)
    items = id_column(table, item_col, where, row_name)
    labels = np.asarray(numeric_column(table, label_col, where), dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(labels))
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{where}: relevance {labels[row]} at {row_name(row)} (user {users[row].as_py()!r}, item "
            f"{items[row].as_py()!r}); relevance must be finite"
        )
    # trec_eval's reading of a negative relevance: not relevant, no gain, and (for the measures
    # of judged items) not judged, though in the pool (infAP tells it from an item outside it).
    judged = np.where(labels >= 0, 1.0, -1.0)
    labels = np.maximum(labels, 0.0)
    item_codes, item_ids = _encode(items)
    groups, user_ids = _group_users(users, None if read_keys is None else read_keys.user_starts)
    order: Any = slice(None)  # each user's rows together, no item twice (qrels as written): as they are
    dropped = 0
    if groups.order is None and not duplicates_per_user(groups, item_codes, True).any():
        sizes = groups.sizes
        sorted_users = np.repeat(np.arange(groups.n_groups), sizes)
    else:
        user_codes, user_ids = _encode(users)
        keys = user_codes * len(item_ids) + item_codes
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        repeated = np.flatnonzero(keys[1:] == keys[:-1]) + 1
        if repeated.size:
            if o.duplicates == "refuse":
                row = int(order[repeated].min())
                raise InputError(
                    f"{where}: user {users[row].as_py()!r} has item {items[row].as_py()!r} twice (again at "
                    f"{row_name(row)}); pass duplicates='first' to keep the first"
                )
            keep = np.ones(len(keys), bool)
            keep[repeated] = False
            order, keys = order[keep], keys[keep]
            dropped = int(repeated.size)
        sorted_users = user_codes[order]
        sizes = np.bincount(sorted_users, minlength=len(user_ids))
    return Truth(
        users=user_ids.to_numpy(zero_copy_only=False),
        user_ids=user_ids,
        item_ids=item_ids,
        offsets=np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
        user_codes=sorted_users,
        item_codes=item_codes[order],
        labels=labels[order],
        judged=judged[order],
        sizes=sizes,
        name=where,
        dropped=dropped,
    )


def _encode(ids: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Codes (int64, first appearance = 0) and the distinct ids, by pyarrow's hash encoder."""
    encoded = pc.dictionary_encode(ids.combine_chunks())
    return np.asarray(encoded.indices, dtype=np.int64), encoded.dictionary


@dataclass(frozen=True)
class Joined:
    offsets: np.ndarray  # one group per truth user
    ranked: np.ndarray  # run rows at the start of each group
    labels: np.ndarray
    scores: np.ndarray
    judged: np.ndarray | None = None  # per row, Truth.judged's flag, 0.0 outside it (with_judged only)
    items: pa.ChunkedArray | None = None  # the run's item ids, of the rows kept (with_rows only)
    rows: np.ndarray | None = None  # per row, its index into ``items``; -1 for missed truth items


def join(
    run: Run,
    truth: Truth,
    o: RunOptions,
    notes: list[str],
    with_judged: bool = False,
    with_rows: bool = False,
) -> Joined:
    """The run's rows grouped per truth user (run rows first, then the truth items it missed);
    ``with_judged`` also marks which rows are judged (in the truth with a relevance >= 0),
    ``with_rows`` which of the run's rows kept each row is (for its item id)."""
    users, items, scores, where = run.users, run.items, run.scores, run.where
    keys = run.keys
    groups, run_user_ids = _group_users(users, None if keys is None else keys.user_starts)
    texts = None
    if _is_text(items.type):
        texts = _text_keys(items.combine_chunks(), None if keys is None else keys.item_hashes)
    if len(users) and _repeats(groups, items, texts):
        pairs = {"u": users.to_numpy(zero_copy_only=False), "i": items.to_numpy(zero_copy_only=False)}
        keep = ~pd.DataFrame(pairs).duplicated().to_numpy()
        if not keep.all():  # not only equal hashes of different ids
            if o.duplicates == "refuse":
                row = int(np.argmin(keep))
                raise InputError(
                    f"{where}: user {users[row].as_py()!r} lists item {items[row].as_py()!r} twice (again at "
                    f"{run.row_name(row)}); pass duplicates='first' to keep the first"
                )
            repeated = count(int((~keep).sum()), "repeated (user, item) row")
            notes.append(f"{where}: {repeated}; the first of each kept")
            users, items, scores, groups, run_user_ids = _kept(keep, users, items, scores)
            texts = None
    if o.judged_only and len(users):
        keep = _judged_rows(groups, run_user_ids, items, truth)
        if not keep.all():
            notes.append(f"{where}: {count(int((~keep).sum()), 'unjudged row')} left out (judged_only)")
            users, items, scores, groups, run_user_ids = _kept(keep, users, items, scores)
            texts = None
    if o.depth is not None and len(users):
        keep = _within_depth(groups, scores, items, o.depth)
        if not keep.all():
            notes.append(f"{where}: {count(int((~keep).sum()), 'row')} past depth {o.depth} left out")
            users, items, scores, groups, run_user_ids = _kept(keep, users, items, scores)
            texts = None
    truth_user = index_in(run_user_ids, truth.user_ids)[groups.keys]  # per run group; -1: no truth
    sizes = groups.sizes
    skipped = truth_user < 0
    if len(skipped) and skipped.all():
        # Rarely a run that missed every user; mostly ids that never meet (another column or format).
        disjoint = (
            f"{where}: no user of the run is in the truth {truth.name} (run users look like "
            f"{_examples(run_user_ids)}; truth users like {_examples(truth.user_ids)})"
        )
        if o.empty_run == "skip":  # every user would be left out: nothing is evaluated
            raise InputError(f"{disjoint}; with empty_run='skip' no user is left to evaluate")
        notes.append(f"{disjoint}: every user of the truth scores 0; check that both use the same ids")
    if skipped.any():
        users_skipped = count(int(skipped.sum()), "user")
        notes.append(
            f"{where}: {users_skipped} without truth skipped ({count(int(sizes[skipped].sum()), 'row')})"
        )
    n_users = len(truth.users)
    parallel = thread_count(True)

    # Labels of run rows: the truth relevance of (user, item), else 0; and which truth rows matched.
    offsets, run_user = frozen(groups.offsets), frozen(truth_user)
    truth_offsets, truth_labels = frozen(truth.offsets), frozen(truth.labels)
    bounds = even_bounds(groups.n_groups, 2 * parallel)
    match = _matcher(groups, run_user, items, truth, texts, bounds)
    run_labels, found = np.empty(len(scores), np.float64), np.zeros(len(truth.labels), np.bool_)
    match(truth_labels, run_labels, found)

    run_scores = groups.take(scores)
    by_place = o.ties == "trec"  # scores made minus each row's place: rows placed in rank order
    if by_place:
        run_scores = _trec_order(groups, run_scores, items, bounds, None if texts is None else texts[:2])
    ranked = np.zeros(n_users, np.int64)
    ranked[truth_user[~skipped]] = sizes[~skipped]
    missed = truth.sizes - np.bincount(truth.user_codes[found], minlength=n_users)
    out_offsets = frozen(np.concatenate(([0], np.cumsum(ranked + missed))).astype(np.int64))
    labels = np.empty(out_offsets[-1], np.float64)
    out_scores = np.empty(out_offsets[-1], np.float64)
    run_labels, run_scores, found = (
        frozen(run_labels),
        frozen(np.ascontiguousarray(run_scores)),
        frozen(found),
    )
    ranked_view = frozen(ranked)

    def place(
        run_values: np.ndarray, truth_values: np.ndarray, values: np.ndarray, placed_scores: np.ndarray
    ) -> None:
        """Each user's run rows (their ``run_values`` and scores) at the start of its output
        group, then the truth rows it missed (their ``truth_values``, the score -inf)."""
        run_chunks(
            lambda first, stop: kernels.place_run_rows(
                first, stop, offsets, run_user, run_values, run_scores, out_offsets, values, placed_scores,
                by_place,
            ),
            bounds, True,
        )  # fmt: skip
        run_chunks(
            lambda first, stop: kernels.place_missed(
                first, stop, truth_offsets, truth_values, found, out_offsets, ranked_view, values,
                placed_scores,
            ),
            even_bounds(n_users, 2 * parallel), True,
        )  # fmt: skip

    place(run_labels, truth_labels, labels, out_scores)
    judged = None
    if with_judged:  # the same placement, with the truth's judged flags for labels
        flags, run_flags = frozen(truth.judged), np.empty(len(scores), np.float64)
        match(flags, run_flags, np.zeros(len(truth.labels), np.bool_))
        judged = np.empty(out_offsets[-1], np.float64)
        place(frozen(run_flags), flags, judged, np.empty(out_offsets[-1], np.float64))
    rows = None
    if with_rows:  # the same placement, with each run row's index for labels (exact in float64)
        rows = np.empty(out_offsets[-1], np.float64)
        run_rows = frozen(groups.take(np.arange(len(scores), dtype=np.float64)))
        place(run_rows, frozen(np.full(len(truth.labels), -1.0)), rows, np.empty(out_offsets[-1], np.float64))
        rows = rows.astype(np.int64)
    empty = int((ranked == 0).sum())
    if empty:
        fate = "they score 0 for every metric (empty_run='skip' leaves them out)"
        if o.empty_run == "skip":
            fate = "left out (empty_run='skip')"
        notes.append(f"{where}: {count(empty, 'user')} of the truth without recommendations; {fate}")
    return Joined(out_offsets, ranked, labels, out_scores, judged, items if with_rows else None, rows)


def _examples(ids: pa.Array) -> str:
    return ", ".join(repr(one) for one in ids.slice(0, 3).to_pylist())


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _text_keys(
    array: pa.Array, hashes: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Text ids' byte offsets and bytes (:func:`_text_buffers`) and their FNV-1a 64 hashes
    (int64): ``hashes`` when the reader took them, else hashed on threads."""
    offsets, data = _text_buffers(array)
    if hashes is not None:
        return offsets, data, frozen(hashes)
    hashes = np.empty(len(offsets) - 1, np.uint64)
    run_chunks(
        lambda first, stop: kernels.fnv1a64(first, stop, frozen(offsets), frozen(data), hashes),
        even_bounds(len(hashes), 2 * thread_count(True)),
        True,
    )
    return offsets, data, frozen(hashes.view(np.int64))


def _matcher(
    groups: Groups,
    run_user: np.ndarray,
    items: pa.ChunkedArray,
    truth: Truth,
    texts: tuple[np.ndarray, ...] | None,
    bounds: np.ndarray,
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """``match(values, out, found)``: ``out`` (per run row, in group order) = the truth's value of
    the row's (user, item), else 0, and ``found[t]`` = True for each truth row matched. Text ids
    of both sides match by the hashes ``texts`` holds, user by user; other ids through codes of
    the truth's items (:func:`index_in`)."""
    offsets = frozen(groups.offsets)
    truth_offsets, truth_codes = frozen(truth.offsets), frozen(truth.item_codes)
    if texts is not None and _is_text(truth.item_ids.type):
        order = frozen(np.empty(0, np.int64) if groups.order is None else groups.order)
        run_texts = tuple(frozen(a) for a in texts)
        item_texts = tuple(frozen(a) for a in _text_keys(truth.item_ids))
        largest = int(truth.sizes.max(initial=0))

        def match(values: np.ndarray, out: np.ndarray, found: np.ndarray) -> None:
            table = (truth_offsets, truth_codes, *item_texts, frozen(values))
            run_chunks(
                lambda first, stop: kernels.match_texts(
                    first, stop, offsets, run_user, order, run_texts, table, largest, out, found
                ),
                bounds, True,
            )  # fmt: skip

        return match
    run_items = frozen(groups.take(index_in(items, truth.item_ids)))

    def match_codes(values: np.ndarray, out: np.ndarray, found: np.ndarray) -> None:
        run_chunks(
            lambda first, stop: kernels.match_truth(
                first, stop, offsets, run_user, run_items, truth_offsets, truth_codes, frozen(values),
                len(truth.item_ids), out, found,
            ),
            bounds, True,
        )  # fmt: skip

    return match_codes


def _repeats(groups: Groups, items: pa.ChunkedArray, texts: tuple[np.ndarray, ...] | None) -> bool:
    """Whether some user lists an item twice, or two items whose ids hash alike (O(rows): integer
    ids as they are, text by the FNV-1a 64 hashes of ``texts``; the caller confirms a hit exactly)."""
    if texts is None:
        array = items.combine_chunks()
        ids = groups.take(np.asarray(array.to_numpy(zero_copy_only=False), np.int64))
        return bool(duplicates_per_user(groups, ids, True).any())
    keys, group_offsets = frozen(groups.take(texts[2])), frozen(groups.offsets)
    counts = np.empty(groups.n_groups, np.int64)
    largest = int(groups.sizes.max())
    run_chunks(
        lambda first, stop: kernels.repeated_in_groups(first, stop, group_offsets, keys, largest, counts),
        even_bounds(groups.n_groups, 2 * thread_count(True)),
        True,
    )
    return bool(counts.any())


def _group_users(users: pa.ChunkedArray, starts: np.ndarray | None = None) -> tuple[Groups, pa.Array]:
    """The run's rows grouped by user, group g being user ``ids[g]``: integer ids are grouped as
    they are (no encoding pass), text ids by their runs of equal text (a run file lists a user's
    lines together; ``starts``: where each run starts, when the reader found them), only each
    run's first id dictionary-encoded by pyarrow."""
    if pa.types.is_integer(users.type):
        grouped = _group(np.asarray(users.to_numpy(), np.int64))
        return Groups(np.arange(grouped.n_groups), grouped.offsets, grouped.order), pa.array(grouped.keys)
    array = users.combine_chunks()
    if len(array) == 0:
        return _group(np.empty(0, np.int64)), array
    if starts is None:
        text_offsets, data = (frozen(a) for a in _text_buffers(array))
        changes = run_chunks(
            lambda first, stop: kernels.text_changes(first, stop, text_offsets, data),
            even_bounds(len(array), 2 * thread_count(True)),
            True,
        )
        starts = np.concatenate(([0], *changes)).astype(np.int64)
    codes, ids = _encode(pa.chunked_array([array.take(starts)]))
    if len(ids) == len(starts):  # each user's rows together: the runs are the groups, in order
        offsets = np.append(starts, len(array))
        return Groups(np.arange(len(starts)), offsets, None), ids
    return _group(np.repeat(codes, np.diff(np.append(starts, len(array))))), ids


def _group(codes: np.ndarray) -> Groups:
    """Rows grouped by user code; no groups for an empty run."""
    if len(codes) == 0:
        return Groups(keys=codes, offsets=np.zeros(1, np.int64), order=None)
    return group_rows(codes)


def _kept(
    keep: np.ndarray, users: pa.ChunkedArray, items: pa.ChunkedArray, scores: np.ndarray
) -> tuple[pa.ChunkedArray, pa.ChunkedArray, np.ndarray, Groups, pa.Array]:
    """The run's rows where ``keep`` (input order), and their users grouped again."""
    rows = np.flatnonzero(keep)
    users, items, scores = users.take(rows), items.take(rows), scores[rows]
    return (users, items, scores, *_group_users(users))


def _in_input_order(groups: Groups, grouped: np.ndarray) -> np.ndarray:
    """A per-row column in group order, put back in input row order."""
    out = np.empty(len(grouped), grouped.dtype)
    out[groups.take(np.arange(len(grouped)))] = grouped
    return out


def _text_buffers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The ids as text (integers as their decimal text): each one's byte offsets (int64, one more
    than ids) and all their bytes, from an arrow large_string's buffers."""
    text = array.cast(pa.large_string())
    _, offsets_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int64)[text.offset : text.offset + len(text) + 1]
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    return offsets, data


def _judged_rows(groups: Groups, run_user_ids: pa.Array, items: pa.ChunkedArray, truth: Truth) -> np.ndarray:
    """Whether each run row (input order) has an item judged for its user: in the truth with a
    relevance >= 0."""
    run_user = frozen(index_in(run_user_ids, truth.user_ids)[groups.keys])
    run_items = frozen(groups.take(index_in(items, truth.item_ids)))
    flags, offsets = np.zeros(len(run_items), np.float64), frozen(groups.offsets)  # no truth: unjudged
    run_chunks(
        lambda first, stop: kernels.match_truth(
            first, stop, offsets, run_user, run_items, frozen(truth.offsets), frozen(truth.item_codes),
            frozen(truth.judged), len(truth.item_ids), flags, np.zeros(len(truth.labels), np.bool_),
        ),
        even_bounds(groups.n_groups, 2 * thread_count(True)), True,
    )  # fmt: skip
    return _in_input_order(groups, flags > 0)


def _within_depth(groups: Groups, scores: np.ndarray, items: pa.ChunkedArray, depth: int) -> np.ndarray:
    """Whether each run row (input order) is among its user's first ``depth`` in trec_eval's order."""
    bounds = even_bounds(groups.n_groups, 2 * thread_count(True))
    return _in_input_order(groups, -_trec_order(groups, groups.take(scores), items, bounds) < depth)


def _trec_order(
    groups: Groups,
    scores: np.ndarray,
    items: pa.ChunkedArray,
    bounds: np.ndarray,
    texts: tuple[np.ndarray, ...] | None = None,
) -> np.ndarray:
    """Distinct scores (in group order) giving trec_eval's order within each user: score
    descending, then item id as text descending (trec_eval sorts ties by ``strcmp`` of docno,
    reversed). Each group is ordered by itself, and only ties compare the ids' bytes (``texts``:
    the ids' buffers when already at hand). Unless every group is already in rank order, groups
    that fill a matrix of at most ``_MOST_PADDING`` times the rows are sorted as its rows by
    numpy (vectorised); others one by one in numba (a group in rank order only checked)."""
    # integers compare as their text too
    text_offsets, data = texts if texts is not None else _text_buffers(items.combine_chunks())
    rows = frozen(np.empty(0, np.int64) if groups.order is None else groups.order)
    out = np.empty(len(scores), np.float64)
    group_offsets, grouped_scores = frozen(groups.offsets), frozen(np.ascontiguousarray(scores, np.float64))
    text = (frozen(text_offsets), frozen(data))
    largest = int(groups.sizes.max(initial=0))
    padded = 1 < largest and groups.n_groups * largest <= _MOST_PADDING * len(scores)
    if padded and not all(
        run_chunks(
            lambda first, stop: kernels.in_rank_order(first, stop, group_offsets, grouped_scores), bounds
        )
    ):
        bits = (largest - 1).bit_length()
        keys = np.empty((groups.n_groups, largest), np.uint64)
        score_bits = grouped_scores.view(np.uint64)
        run_chunks(
            lambda first, stop: kernels.descending_keys(first, stop, group_offsets, score_bits, bits, keys),
            bounds, True,
        )  # fmt: skip
        keys.sort(axis=1)
        run_chunks(
            lambda first, stop: kernels.trec_positions_of_keys(
                first, stop, group_offsets, grouped_scores, rows, text, frozen(keys), bits, out
            ),
            bounds, True,
        )  # fmt: skip
        return out
    run_chunks(
        lambda first, stop: kernels.trec_positions(
            first, stop, group_offsets, grouped_scores, rows, text, out
        ),
        bounds, True,
    )  # fmt: skip
    return out


_MOST_PADDING = 2  # the matrix's cells per row of the run: users' lists of similar lengths
