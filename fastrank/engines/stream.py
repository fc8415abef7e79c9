"""Streaming on one machine: record batches cut at user boundaries, scored chunk by chunk.

Only per-user results are kept, so peak memory is set by ``chunk_rows``, not by the table. The
input must hold each user's rows together (sorted by user, or bucketed by ``fastrank bucketize``);
a user met again after other users fails the run, naming the user and row.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..arrays.checks import check_int
from ..errors import InputError, count
from ..inputs.tables import TableSource
from .plan import (
    Plan,
    Scored,
    add_time,
    concat,
    finish_listings,
    load_plan_scorer,
    renumber_rows,
    score_table,
    table_catalog,
)
from .progress import progress_bar
from .protocol import EngineSettings, Work, refuse_cluster_settings, refuse_score_array

DEFAULT_CHUNK_ROWS = 1 << 20
"""Rows per chunk: about 200 MB of working memory with the demo's nine columns."""

# Working memory of the in-memory engine per row and column read (bytes), measured on the demo:
# the arrow table, numpy copies, the group-order copies and the feature matrix.
_BYTES_PER_CELL = 24
# Stream when the in-memory engine would need more than this share of the available memory.
_MEMORY_SHARE = 0.5


def user_chunks(
    batches: Iterator[pa.RecordBatch], user_col: str, chunk_rows: int
) -> Iterator[tuple[int, pa.Table]]:
    """Regroup record batches into tables of whole users, each cut at the first user boundary at
    or after ``chunk_rows`` rows.

    Yields (first row, table) in input order. Every chunk but the last has at least
    ``chunk_rows`` rows, and fewer than ``chunk_rows`` before its last user: a chunk exceeds
    ``chunk_rows`` only by that user's rows. A user whose rows are not consecutive is caught by
    :func:`evaluate_stream`.
    """
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    scanned = 0  # pending rows known to hold no user boundary at or after chunk_rows
    first_row = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows > chunk_rows:
            table = pa.Table.from_batches(pending)
            cut = _next_boundary(table.column(user_col), max(chunk_rows, scanned))
            if cut is None:  # one user runs on: read more
                scanned = pending_rows
                break
            yield first_row, table.slice(0, cut)
            rest = table.slice(cut)
            pending, pending_rows, scanned, first_row = rest.to_batches(), rest.num_rows, 0, first_row + cut
    if pending_rows:
        yield first_row, pa.Table.from_batches(pending)


def _next_boundary(users: pa.ChunkedArray, start: int) -> int | None:
    """The first row at or after ``start`` (>= 1) whose user differs from the row before it."""
    window = users.slice(start - 1)
    changed = pc.fill_null(pc.not_equal(window.slice(1), window.slice(0, len(window) - 1)), True)
    hits = np.flatnonzero(changed.to_numpy())
    return start + int(hits[0]) if hits.size else None


def evaluate_stream(
    source: TableSource,
    plan: Plan,
    scorer: Any,
    *,
    chunk_rows: int | None = None,
    timings: dict[str, float] | None = None,
    notes: list[str] | None = None,
    progress: bool = False,
) -> Scored:
    """Score ``source`` chunk by chunk (see :func:`user_chunks`); per-user values equal the
    in-memory engine's, and so do the beyond-accuracy metrics' (each chunk's lists over a catalog
    read first, their exposures added). Raises :class:`~fastrank.InputError` when a user's rows
    are not together.
    ``progress``: a bar of the rows done (of the total that parquet metadata gives)."""
    chunk_rows = DEFAULT_CHUNK_ROWS if chunk_rows is None else chunk_rows  # checked by StreamEngine.check
    # Arrow batches a little smaller than a chunk, so a chunk is a few batches, not one huge one.
    batches = source.batches(plan.columns, max(1, min(int(chunk_rows), 1 << 16)))
    parts: list[Scored] = []
    seen: set[Any] = set()
    pool = pa.default_memory_pool()
    clock = time.perf_counter()
    # The beyond-accuracy metrics need every item's popularity first: one pass over its column.
    shared = table_catalog(source, plan)
    with progress_bar(progress, total=source.count_rows(), unit="row", desc="streaming") as bar:
        for first_row, table in user_chunks(batches, plan.user_col, int(chunk_rows)):
            add_time(timings, "load", clock)
            try:
                part = score_table(table.combine_chunks(), plan, scorer, timings=timings, shared=shared)
            except InputError as error:
                raise InputError(renumber_rows(str(error), first_row.__add__)) from None
            keys = part.users.tolist()
            if not seen.isdisjoint(keys):
                _raise_split(table, plan, keys, seen, first_row)
            seen.update(keys)
            parts.append(part)
            bar.update(table.num_rows)
            # Arrow's allocator keeps freed chunk buffers for reuse; handing them back keeps the
            # peak at one chunk's working set instead of creeping up over the first chunks.
            pool.release_unused()
            clock = time.perf_counter()
    add_time(timings, "load", clock)
    if not parts:
        raise InputError(f"{source.name}: the table has no rows")
    if notes is not None:
        notes.append(
            f"stream: {count(len(parts), 'chunk')} of about {chunk_rows:,} rows, cut at user boundaries"
        )
    return finish_listings(concat(parts), plan, shared)


class StreamEngine:
    """Chunks of whole users on one machine (:func:`evaluate_stream`)."""

    name = "stream"

    def check(self, settings: EngineSettings) -> EngineSettings:
        refuse_cluster_settings(settings)
        if settings.chunk_rows is None:
            return settings
        return replace(settings, chunk_rows=check_int(settings.chunk_rows, "chunk_rows"))

    def run(
        self, source: TableSource, plan: Plan, settings: EngineSettings, work: Work, scores: np.ndarray | None
    ) -> Scored:
        refuse_score_array(scores, self.name)
        scorer = load_plan_scorer(plan, work.notes, work.timings)
        return evaluate_stream(
            source, plan, scorer, chunk_rows=settings.chunk_rows, timings=work.timings, notes=work.notes,
            progress=settings.progress,
        )  # fmt: skip


ENGINE = StreamEngine()


def _raise_split(table: pa.Table, plan: Plan, keys: list[Any], seen: set[Any], first_row: int) -> None:
    again = next(key for key in keys if key in seen)
    users = table.column(plan.user_col).to_numpy(zero_copy_only=False)
    row = first_row + int(np.flatnonzero(users == again)[0])
    raise InputError(
        f"{plan.name}: user {again!r} appears again at row {row}, after other users; streaming needs "
        "each user's rows together: sort by user or run 'fastrank bucketize' first, or use engine='memory'"
    )


def too_large_for_memory(source: TableSource, columns: Sequence[str]) -> str | None:
    """Why the in-memory engine would not fit (a phrase for a note), or None when it should."""
    if source.path is None:  # already in memory
        return None
    rows = source.count_rows()
    if rows is None:  # CSV: arrow holds roughly the text's size per cell
        need = os.path.getsize(source.path) * 3
    else:
        need = rows * len(columns) * _BYTES_PER_CELL
    available = available_memory()
    if available is None or need <= _MEMORY_SHARE * available:
        return None
    return f"the in-memory engine would need about {need / 2**30:.1f} GiB of {available / 2**30:.1f} GiB free"


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
