"""Chunks of work on the thread pool: every chunk once, results in chunk order, errors raised."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from fastrank.arrays.threads import even_bounds, frozen, run_chunks


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_every_chunk_runs_once_and_results_keep_chunk_order(parallel, n):
    bounds = even_bounds(n, 8)
    assert bounds[0] == 0 and bounds[-1] == n and (np.diff(bounds) > 0).all() | (n == 0)
    seen = []
    lock = threading.Lock()

    def chunk(lo, hi):
        with lock:
            seen.append((lo, hi))
        return list(range(lo, hi))

    results = run_chunks(chunk, bounds, parallel)
    assert [x for part in results for x in part] == list(range(n))
    assert sorted(seen) == [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def test_an_error_in_a_chunk_is_raised_after_every_chunk_has_stopped():
    finished = []

    def chunk(lo, hi):
        if lo == 0:
            raise ValueError("chunk 0 failed")
        finished.append(lo)

    with pytest.raises(ValueError, match="chunk 0 failed"):
        run_chunks(chunk, even_bounds(100, 8), parallel=True)
    assert len(finished) == 7  # the others ran to the end before the error was raised


def test_frozen_is_a_read_only_view_without_a_copy():
    array = np.arange(5.0)
    view = frozen(array)
    assert not view.flags.writeable and np.shares_memory(view, array) and array.flags.writeable
