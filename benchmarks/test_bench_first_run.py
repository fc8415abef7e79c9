"""The first run on a machine: `python -m fastrank evaluate` on the demo with an empty numba cache
(kernels compile), next to the same command with the cache warm. The demo table is cached in both.

Run: python -m pytest benchmarks/test_bench_first_run.py --benchmark-only   (see BENCHMARKS.md)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import pytest

from fastrank.cli.commands import COMPILING
from fastrank.demo import DEMO_MODEL_PATH, demo_table_path, make_demo_table

from .conftest import N_USERS

NOTE = "fastrank: " + COMPILING.partition("{family}")[0]  # the start of every compile note

GROUP = "first run: python -m fastrank evaluate (demo, model + baseline, NDCG@10)"


@pytest.fixture(scope="module")
def command(tmp_path_factory):
    if N_USERS == 1354:
        data = demo_table_path()  # the demo's own cache, as a user's second command finds it
    else:
        data = tmp_path_factory.mktemp("first_run") / "demo.parquet"
        make_demo_table(n_users=N_USERS).to_pandas().to_parquet(data)
    model = ["--model", str(DEMO_MODEL_PATH), "--baseline", "video_watch_ratio_mean"]
    return [sys.executable, "-m", "fastrank", "evaluate", str(data), *model]


def _run(command, cache_dir):
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    clock = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    seconds = time.perf_counter() - clock
    assert done.returncode == 0, done.stderr
    return seconds, done.stderr


def test_first_run_compiles_once_and_says_so(benchmark, record_seconds, command):
    times = []

    def cold():
        with tempfile.TemporaryDirectory() as empty:
            seconds, stderr = _run(command, empty)
        assert stderr.count(NOTE) == 1, stderr  # the demo compiles one family worth a note
        times.append(seconds)

    benchmark.pedantic(cold, rounds=2, iterations=1)
    record_seconds(GROUP, "empty numba cache (first run on a machine)", min(times))


def test_warm_run(benchmark, record_seconds, command, tmp_path):
    _run(command, str(tmp_path))  # fills the cache
    times = []

    def warm():
        seconds, stderr = _run(command, str(tmp_path))
        assert NOTE not in stderr, stderr
        times.append(seconds)

    benchmark.pedantic(warm, rounds=3, iterations=1)
    record_seconds(GROUP, "warm numba cache (every later run)", min(times), base=True)
