"""Calling kernels from Python: read-only inputs, and chunks of the work on a thread pool.

Kernels release the GIL (``nogil``), so Python threads run them in parallel without numba's
``parallel=True``, which would compile every kernel a second time. Chunks are whole units of work
(users, rows, resamples); results come back in chunk order, so sums run in the same order
whatever the thread count.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numba
import numpy as np

T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid = -1


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (no copy): numba compiles a kernel once for read-only and
    once for writable input, so kernel inputs are passed read-only whatever their origin
    (Arrow buffers are read-only, numpy results writable)."""
    view = array.view()
    view.flags.writeable = False
    return view


def thread_count(parallel: bool = True) -> int:
    """Threads to use: numba's thread count (``NUMBA_NUM_THREADS``, default the cores), or 1."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS)) if parallel else 1


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _lock:
        # A forked child inherits the pool object but not its threads: it makes its own.
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max(1, thread_count() - 1), thread_name_prefix="fastrank")
            _pool_pid = os.getpid()
        return _pool


def even_bounds(n: int, n_chunks: int) -> np.ndarray:
    """``n_chunks + 1`` ascending bounds splitting ``0..n`` into near-equal parts (no empty part
    unless ``n`` is smaller than ``n_chunks``)."""
    return np.unique(np.linspace(0, n, max(1, n_chunks) + 1).astype(np.int64))


def run_chunks(fn: Callable[[int, int], T], bounds: np.ndarray, parallel: bool = True) -> list[T]:
    """``[fn(bounds[c], bounds[c + 1]) for each chunk c]``, in chunk order; exceptions propagate.

    With ``parallel`` and more than one chunk, the calling thread and ``thread_count() - 1`` pool
    threads take chunks from one shared counter until none is left: the caller never sits idle
    waiting for a hand-off, which matters for kernels of a few milliseconds.
    """
    pairs = [(int(bounds[c]), int(bounds[c + 1])) for c in range(len(bounds) - 1)]
    helpers = min(thread_count(parallel), len(pairs)) - 1
    if helpers < 1:
        return [fn(lo, hi) for lo, hi in pairs]
    results: list[Any] = [None] * len(pairs)
    claim = itertools.count().__next__  # atomic under the GIL: each chunk is taken once

    def work() -> None:
        while (c := claim()) < len(pairs):
            results[c] = fn(*pairs[c])

    pool = _executor()
    futures = [pool.submit(work) for _ in range(helpers)]
    try:
        work()
    finally:
        # Never return (or raise) while a helper may still be writing into the caller's arrays.
        for future in futures:
            future.exception()
    for future in futures:
        future.result()
    return results
