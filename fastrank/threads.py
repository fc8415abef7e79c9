"""Calling kernels from Python: read-only inputs, and chunks of the work on a thread pool.

Kernels release the GIL (``nogil``), so Python threads run them in parallel without numba's
``parallel=True``, which would compile every kernel a second time. Chunks are whole units of work
(users, rows, resamples); results come back in chunk order, so sums run in the same order
whatever the thread count.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

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
            _pool = ThreadPoolExecutor(thread_count(), thread_name_prefix="fastrank")
            _pool_pid = os.getpid()
        return _pool


def even_bounds(n: int, n_chunks: int) -> np.ndarray:
    """``n_chunks + 1`` ascending bounds splitting ``0..n`` into near-equal parts (no empty part
    unless ``n`` is smaller than ``n_chunks``)."""
    return np.unique(np.linspace(0, n, max(1, n_chunks) + 1).astype(np.int64))


def run_chunks(fn: Callable[[int, int], T], bounds: np.ndarray, parallel: bool = True) -> list[T]:
    """``[fn(bounds[c], bounds[c + 1]) for each chunk c]``, on the thread pool when ``parallel``
    and there is more than one chunk; exceptions propagate."""
    pairs = [(int(bounds[c]), int(bounds[c + 1])) for c in range(len(bounds) - 1)]
    if not parallel or len(pairs) < 2 or thread_count() < 2:
        return [fn(lo, hi) for lo, hi in pairs]
    futures = [_executor().submit(fn, lo, hi) for lo, hi in pairs]
    return [future.result() for future in futures]
