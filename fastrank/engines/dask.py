"""The Dask engine: partitions of whole users scored on a Dask cluster, with the in-memory kernels.

Partitions: one per bucket file for a directory made by ``fastrank bucketize``; otherwise the
table is shuffled on the user column (rows keep their input order within a user, so every sum
runs in the same order as in memory and per-user values are identical). Each worker process
loads the model once from its path (never pickled into tasks) and runs the serial kernels: Dask
already keeps every core busy, one task per worker thread. Per-user values and the counts
checked against the input come back in one compute.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..arrays.checks import check_int
from ..errors import EngineError, InputError
from ..extras import require
from ..inputs.tables import TableSource
from ..metrics.beyond import Listing
from .plan import Plan, Scored, finish_listings, load_plan_scorer, score_table, table_catalog
from .progress import progress_bar
from .protocol import EngineSettings, Work, refuse_chunk_rows, refuse_score_array

_META_COLUMNS = ("user", "partition", "n_items", "duplicates")
_ROW_COLUMNS = ("__fastrank_part", "__fastrank_row")
TASK_LABEL = "fastrank-score"
"""Prefix of the keys of the scoring tasks (what a dashboard shows)."""

_models: dict[tuple[str, bool, str], Any] = {}
_loads: dict[tuple[str, bool, str], int] = {}
_lock = threading.Lock()


def model_loads() -> dict[str, int]:
    """How many times this process loaded each model (path -> count); see ``Client.run``."""
    return {path: count for (path, _, _), count in _loads.items()}


def _worker_scorer(plan: Plan) -> Any:
    """The plan's model, loaded on first use in this process and kept for later tasks."""
    if plan.model is None:
        return None
    key = (str(plan.model), plan.model_options.safe_mode, plan.model_options.predictor)
    with _lock:  # worker threads share the process: one loads, the others wait for it
        if key not in _models:
            threads = str(_worker_threads())
            # TensorFlow reads these when it starts (Keras predictor only): as many threads as
            # the worker runs tasks, so workers x threads never exceeds the cores Dask was given.
            os.environ.setdefault("TF_NUM_INTRAOP_THREADS", threads)
            os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
            _models[key] = load_plan_scorer(plan, [], {})
            _loads[key] = _loads.get(key, 0) + 1
        return _models[key]


def _worker_threads() -> int:
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def evaluate_dask(
    source: TableSource,
    plan: Plan,
    *,
    scheduler: Any = None,
    workers: int | None = None,
    timings: dict[str, float] | None = None,
    notes: list[str] | None = None,
    progress: bool = False,
) -> Scored:
    """Score ``source`` on a Dask cluster: ``scheduler`` (an address or a ``distributed.Client``),
    or a local cluster of ``workers`` processes with one thread each (default: one per core).

    Raises :class:`~fastrank.InputError` for bad input (also when a user's rows are found in two
    partitions) and :class:`~fastrank.EngineError` when the cluster cannot finish (a worker died
    more often than Dask retries, or the results do not cover the input). ``progress``: a bar
    of the partitions done.
    """
    require("dask.dataframe", "dask", "engine dask")
    require("distributed", "dask", "engine dask")
    from distributed import as_completed, futures_of
    from distributed.scheduler import KilledWorker

    if plan.model is not None and not isinstance(plan.model, (str, os.PathLike)):
        raise InputError("engine dask: give the model as a file path; each worker loads it from there")
    if plan.model is not None:
        # Checked here first (safe mode, features), so a bad model fails once, in one line.
        load_plan_scorer(plan, notes if notes is not None else [], timings if timings is not None else {})
        plan = _with_absolute_model(plan)
    from .bucketing import read_manifest

    clock = time.perf_counter()
    manifest = read_manifest(source.path) if source.path is not None else None
    # The beyond-accuracy metrics need every item's popularity first: one pass over its column
    # here, the catalog shipped to every partition, each partition's lists sent back.
    shared = table_catalog(source, plan)
    if timings is not None and shared is not None:
        timings["catalog"] = time.perf_counter() - clock
    with _client(scheduler, workers) as client:
        if timings is not None:
            timings["cluster"] = time.perf_counter() - clock
        clock = time.perf_counter()
        n_workers = len(client.scheduler_info().get("workers", {}))
        frame = _partitions(source, plan, manifest, n_workers, shared)
        try:
            # Persisted first: one future per partition, which a bar counts as they finish.
            frame = client.persist(frame)
            futures = futures_of(frame)
            with progress_bar(progress, total=len(futures), unit="partition", desc="dask") as bar:
                for _ in as_completed(futures):
                    bar.update(1)
            result = client.compute(frame).result()
        except KilledWorker as error:
            raise EngineError(
                f"engine dask: workers died running {error.task}; Dask gave up after its retries "
                "(distributed.scheduler.allowed-failures); no result was produced"
            ) from None
    if timings is not None:
        timings["compute"] = time.perf_counter() - clock
    scored = finish_listings(_scored(result, plan, source, manifest), plan, shared)
    if notes is not None:
        layout = "bucket files" if manifest is not None else "partitions after a shuffle on the user column"
        notes.append(f"engine dask: {result['partition'].nunique()} {layout} on {n_workers} workers")
    return scored


def _with_absolute_model(plan: Plan) -> Plan:
    from dataclasses import replace

    return replace(plan, model=str(Path(plan.model).resolve()))


class DaskEngine:
    """Partitions of whole users on a Dask cluster (:func:`evaluate_dask`)."""

    name = "dask"

    def check(self, settings: EngineSettings) -> EngineSettings:
        refuse_chunk_rows(settings, self.name)
        if settings.scheduler is not None and settings.workers is not None:
            raise InputError(
                "workers= starts a local cluster; with scheduler= the cluster has its own workers"
            )
        workers = settings.workers
        if workers is None:
            return settings
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InputError(f"workers= must be >= 1, got {workers!r}")
        cores = os.cpu_count() or 1
        # More local worker processes than cores only adds start-up cost and memory.
        return replace(
            settings,
            workers=check_int(workers, "workers", high=4 * cores, why=f" (4 x the {cores} cores here)"),
        )

    def run(
        self, source: TableSource, plan: Plan, settings: EngineSettings, work: Work, scores: np.ndarray | None
    ) -> Scored:
        refuse_score_array(scores, self.name)
        return evaluate_dask(
            source, plan, scheduler=settings.scheduler, workers=settings.workers, timings=work.timings,
            notes=work.notes, progress=settings.progress,
        )  # fmt: skip


ENGINE = DaskEngine()


@contextlib.contextmanager
def _client(scheduler: Any, workers: int | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError) as error:
            raise InputError(f"scheduler {scheduler}: cannot connect: {error}") from None
        except (ValueError, TypeError) as error:  # not an address Dask can parse
            raise InputError(f"scheduler {scheduler!r}: not a scheduler address ({error})") from None
        with client:
            yield client
        return
    n_workers = workers or os.cpu_count() or 1  # workers: checked by DaskEngine.check
    # One thread per worker process: the kernels run serially inside a task, and Dask's nanny
    # already pins OpenMP/BLAS pools to one thread in each worker it starts.
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _meta(plan: Plan, user_type: pa.DataType) -> pd.DataFrame:
    columns = {
        "user": pa.array([], user_type).to_pandas(),
        "partition": pd.Series([], dtype=np.int64),
        "n_items": pd.Series([], dtype=np.int64),
        "duplicates": pd.Series([], dtype=np.int64),
        "gauc_weight": pd.Series([], dtype=np.float64),
        # A partition's rows of excluded pairs, on its first user's row (0 on the others).
        "excluded": pd.Series([], dtype=np.int64),
        "excluded_relevant": pd.Series([], dtype=np.int64),
    }
    for key in plan.value_keys:
        columns[_column_name(key)] = pd.Series([], dtype=np.float64)
    for key in plan.listing_keys:  # each user's list: its item slots and their probabilities
        for part, kind in _LISTING_PARTS.items():
            columns[_listing_name(key, part)] = pd.Series([], dtype=pd.ArrowDtype(pa.list_(kind)))
    return pd.DataFrame(columns)


# Arrow list columns: one list per user, kept as lists by Dask (object columns would become text).
_LISTING_PARTS = {"slots": pa.int64(), "p": pa.float64()}


def _listing_name(key: tuple[int, str], part: str) -> str:
    k, source_name = key
    return f"listed@{k}/{source_name}/{part}"


def _column_name(key: tuple[str, str, int, str]) -> str:
    protocol, metric, k, source_name = key
    return f"{protocol}/{metric}@{k}/{source_name}"


def _wide(scored: Scored, plan: Plan, partition: int, meta: pd.DataFrame) -> pd.DataFrame:
    columns: dict[str, Any] = {
        "user": pd.Series(scored.users).astype(meta["user"].dtype),
        "partition": np.full(len(scored.users), partition, np.int64),
        "n_items": scored.n_items.astype(np.int64),
        "duplicates": (
            np.zeros(len(scored.users), np.int64) if scored.duplicates is None else scored.duplicates
        ),
        "gauc_weight": (np.zeros(len(scored.users)) if scored.gauc_weights is None else scored.gauc_weights),
        "excluded": _on_first_row(scored.excluded, len(scored.users)),
        "excluded_relevant": _on_first_row(scored.excluded_relevant, len(scored.users)),
    }
    for key in plan.value_keys:
        columns[_column_name(key)] = scored.values[key]
    for key in plan.listing_keys:
        listing = scored.listings[key]
        offsets = pa.array(np.concatenate(([0], np.cumsum(listing.counts))), pa.int32())
        for part, kind in _LISTING_PARTS.items():
            lists = pa.ListArray.from_arrays(offsets, pa.array(getattr(listing, part), kind))
            columns[_listing_name(key, part)] = pd.arrays.ArrowExtensionArray(lists)
    return pd.DataFrame(columns)


def _on_first_row(total: int, n_users: int) -> np.ndarray:
    column = np.zeros(n_users, np.int64)
    column[:1] = total
    return column


def _score_file(task: tuple[int, str], plan: Plan, meta: pd.DataFrame, shared: Any) -> pd.DataFrame:
    """One bucket file: read, score, per-user rows (runs on a worker)."""
    import pyarrow.parquet as pq

    partition, path = task
    table = pq.read_table(path, columns=plan.columns)
    if table.num_rows == 0:
        return meta.copy()
    scored = score_table(table, plan, _worker_scorer(plan), name=path, parallel=False, shared=shared)
    return _wide(scored, plan, partition, meta)


def _number_rows(frame: pd.DataFrame, partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    """Tag rows with (input partition, row), to restore input order after the shuffle."""
    part = 0 if partition_info is None else int(partition_info["number"])
    return frame.assign(
        **{_ROW_COLUMNS[0]: np.int64(part), _ROW_COLUMNS[1]: np.arange(len(frame), dtype=np.int64)}
    )


def _score_shuffled(
    frame: pd.DataFrame,
    plan: Plan,
    meta: pd.DataFrame,
    name: str,
    shared: Any,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One shuffled partition: back to input row order, score, per-user rows (runs on a worker)."""
    partition = 0 if partition_info is None else int(partition_info["number"])
    if len(frame) == 0:
        return meta.copy()
    frame = frame.sort_values(list(_ROW_COLUMNS), kind="stable")
    table = pa.Table.from_pandas(frame[plan.columns], preserve_index=False)
    where = f"{name} (shuffled partition {partition})"
    scored = score_table(table, plan, _worker_scorer(plan), name=where, parallel=False, shared=shared)
    return _wide(scored, plan, partition, meta)


def _partitions(source: TableSource, plan: Plan, manifest: Any, n_workers: int, shared: Any) -> Any:
    import dask.dataframe as dd

    meta = _meta(plan, source.schema.field(plan.user_col).type)
    if manifest is not None:
        if manifest.user_col != plan.user_col:
            raise InputError(
                f"{source.name}: bucketed by {manifest.user_col!r}, not by the user column {plan.user_col!r}"
            )
        assert source.path is not None
        tasks = [(i, str(source.path / file.path)) for i, file in enumerate(manifest.files)]
        return dd.from_map(_score_file, tasks, args=(plan, meta, shared), meta=meta, label=TASK_LABEL)
    if source.path is None:
        frame = source.read(plan.columns).to_pandas()
        n_partitions = max(1, min(len(frame) // 250_000 + 1, 64))
        rows = dd.from_pandas(frame, npartitions=n_partitions, sort=False)
    elif source.parquet_files:
        rows = dd.read_parquet(source.parquet_files, columns=plan.columns)
    else:
        rows = dd.from_pandas(source.read(plan.columns).to_pandas(), npartitions=8, sort=False)
    rows = rows.map_partitions(_number_rows, meta=_number_rows(rows._meta))
    # At least two partitions per worker, so every worker has work and a lost one costs little.
    shuffled = rows.shuffle(on=plan.user_col, npartitions=max(rows.npartitions, 2 * max(1, n_workers)))
    return shuffled.map_partitions(_score_shuffled, plan, meta, source.name, shared, meta=meta)


def _scored(result: pd.DataFrame, plan: Plan, source: TableSource, manifest: Any) -> Scored:
    """Per-user rows from all partitions -> :class:`Scored`, after checking they cover the input."""
    split = result["user"].duplicated(keep=False)
    if split.any():
        user = result.loc[split, "user"].iloc[0]
        user = user.item() if isinstance(user, np.generic) else user
        parts = sorted(result.loc[result["user"] == user, "partition"].tolist())
        raise InputError(
            f"{source.name}: user {user!r} was found in partitions {parts}; each user must be in one "
            "partition (one bucket file): re-run 'fastrank bucketize' on the original table"
        )
    expected_rows = manifest.rows if manifest is not None else source.count_rows()
    n_rows = int(result["n_items"].sum())
    excluded = int(result["excluded"].sum())
    if expected_rows is not None and n_rows + excluded != expected_rows:
        raise EngineError(
            f"engine dask: the partitions held {n_rows + excluded} rows, but {source.name} has "
            f"{expected_rows}; no result was produced"
        )
    if manifest is not None:
        expected_users = sum(file.users for file in manifest.files)
        if len(result) != expected_users:
            raise EngineError(
                f"engine dask: {len(result)} users were evaluated, but the manifest lists {expected_users}"
            )
    return Scored(
        users=result["user"].to_numpy(),
        n_items=result["n_items"].to_numpy(),
        duplicates=result["duplicates"].to_numpy() if plan.item_col else None,
        values={key: result[_column_name(key)].to_numpy() for key in plan.value_keys},
        n_rows=n_rows,
        gauc_weights=result["gauc_weight"].to_numpy() if plan.weights_users else None,
        listings={key: _listing(result, key) for key in plan.listing_keys},
        excluded=excluded,
        excluded_relevant=int(result["excluded_relevant"].sum()),
    )


def _listing(result: pd.DataFrame, key: tuple[int, str]) -> Listing:
    slots, p = (pa.chunked_array([pa.array(result[_listing_name(key, part)])]).combine_chunks()
                for part in _LISTING_PARTS)  # fmt: skip
    counts = np.asarray(slots.value_lengths(), np.int64)
    return Listing(counts, np.asarray(slots.flatten(), np.int64), np.asarray(p.flatten(), np.float64))
