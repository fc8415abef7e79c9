"""The recommender dialect (issue 23), next to NDCG@10 in one run.

* Runs: the recommender case of ``test_bench_runs.py`` (100,000 users x top-100 from 50,000 items,
  ``FASTRANK_BENCH_USERS`` scales it), the training interactions (20 per user, each item at least
  once) as popularity and 64-dimensional item vectors; each metric step on the joined arrays,
  NDCG@10's the base.
  Targets: the six beyond-accuracy metrics <= 2x NDCG@10; ILD@10 <= 5x.
* The demo table (KuaiRec-shaped): the same metrics, and RMSE/MAE, each as one ``ranking_metrics``
  call with the grouping reused, NDCG@10's the base. Target: RMSE/MAE <= NDCG@10.
* Engines: ``evaluate`` of the demo table with and without the six, streamed in chunks of 100,000
  rows and on a local Dask cluster of 2 workers. Target: with them <= 1.5x without.
* Peak memory (tracemalloc) of the exposure accumulators for a catalog of 1M and 10M items.

Run: python -m pytest benchmarks/test_bench_recsys.py --benchmark-only   (see BENCHMARKS.md)
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

import fastrank
from fastrank.api.catalog import run_items
from fastrank.api.join import join, prepare_truth, read_run
from fastrank.api.options import RunOptions, check_run, read_similarity
from fastrank.api.runs import listed_metrics
from fastrank.arrays.threads import thread_count
from fastrank.metrics.beyond import catalog, exposure_metrics
from fastrank.metrics.dispatch import evaluate_grouped

from .conftest import N_USERS
from .test_bench_runs import make_recsys

BEYOND = [f"{name}@10" for name in ("coverage", "arp", "novelty", "gini", "entropy", "long_tail")]
RUNS_GROUP = "runs (recsys case): metric step, next to NDCG@10"
TABLE_GROUP = "demo table: one ranking_metrics call, next to NDCG@10"
DIMENSIONS = 64


@pytest.fixture(scope="module")
def recsys():
    n_users = max(20, round(100_000 * N_USERS / 1354))
    run, truth = make_recsys(n_users)
    rng = np.random.default_rng(3)
    # 20 interactions per user, and every item at least once (so every listed item has a popularity).
    users = np.r_[np.repeat(np.arange(n_users), 20), np.zeros(50_000, int)]
    train = pd.DataFrame(
        {"user_id": users, "item_id": np.r_[rng.integers(0, 50_000, 20 * n_users), np.arange(50_000)]}
    )
    features = pd.DataFrame({"item_id": np.arange(50_000), "v": list(rng.normal(size=(50_000, DIMENSIONS)))})
    options = RunOptions(
        k=10, metrics=["ndcg@10", *BEYOND, "ild@10"], popularity=train, item_features=features
    )
    specs, scoring = check_run(options)
    prepared = prepare_truth(truth, options)
    run_read = read_run(run, "run", options)
    items = run_items([run_read], prepared, options, [])
    vectors, _ = read_similarity(options, [spec.metric for spec in specs])
    joined = join(run_read, prepared, options, [], with_rows=True)
    return specs, scoring, prepared, run_read, items, vectors, joined


def _time(benchmark, run):
    run()  # compile outside the timing
    return benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("what", ["ndcg@10", "the six", "ild@10"])
def test_runs_metric_step(benchmark, record_seconds, recsys, what):
    specs, scoring, prepared, run, items, vectors, joined = recsys
    groups = fastrank.groups_from_offsets(joined.offsets, prepared.users)
    if what == "ndcg@10":
        ndcg = [spec for spec in specs if spec.name == "ndcg"]
        step = lambda: evaluate_grouped(
            groups, joined.labels, joined.scores, ndcg, scoring, parallel=True, ranked=joined.ranked
        )
    else:
        wanted = [
            spec for spec in specs if (spec.name == "ild") == (what == "ild@10") and spec.name != "ndcg"
        ]
        about = (items, None, None) if what == "the six" else (None, vectors, None)
        step = lambda: listed_metrics(joined, run, about, wanted, scoring, prepared.users)
    _time(benchmark, step)
    if benchmark.stats:
        name = {"the six": "the six beyond-accuracy @10", "ild@10": f"ild@10 ({DIMENSIONS}-d vectors)"}
        record_seconds(RUNS_GROUP, name.get(what, what), benchmark.stats.stats.median, base=what == "ndcg@10")


@pytest.mark.parametrize("what", ["ndcg@10", "the six", "ild@10", "rmse + mae"])
def test_demo_table_metric_step(benchmark, record_seconds, kuairec, what):
    items = kuairec.frame["video_id"].to_numpy()
    videos = np.unique(items)
    rng = np.random.default_rng(4)
    features = pd.DataFrame({"item": videos, "v": list(rng.normal(size=(len(videos), DIMENSIONS)))})
    metrics = {"ndcg@10": ["ndcg@10"], "the six": BEYOND, "ild@10": ["ild@10"], "rmse + mae": ["rmse", "mae"]}

    def step():
        return fastrank.ranking_metrics(
            kuairec.groups, kuairec.labels, kuairec.scores, metrics[what], items=items, item_features=features
        )

    _time(benchmark, step)
    if benchmark.stats:
        record_seconds(TABLE_GROUP, what, benchmark.stats.stats.median, base=what == "ndcg@10")


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory, kuairec):
    path = tmp_path_factory.mktemp("recsys") / "demo.parquet"
    kuairec.frame.to_parquet(path)
    return path


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _time_engine(benchmark, record_seconds, demo_path, beyond, rounds, **options):
    metrics = ["ndcg@10", *BEYOND] if beyond else ["ndcg@10"]

    def whole():
        return fastrank.evaluate(demo_path, baselines=["video_watch_ratio_mean"], metrics=metrics, **options)

    whole()
    benchmark.pedantic(whole, rounds=rounds, iterations=1)
    if benchmark.stats:
        name = "ndcg@10 + the six" if beyond else "ndcg@10"
        group = f"engine {options['engine']}: evaluate, demo table"
        record_seconds(group, name, benchmark.stats.stats.median, base=not beyond)


@pytest.mark.parametrize("beyond", [False, True])
def test_stream_engine_with_and_without_the_six(benchmark, record_seconds, demo_path, beyond):
    _time_engine(benchmark, record_seconds, demo_path, beyond, 7, engine="stream", chunk_rows=100_000)


@pytest.mark.parametrize("beyond", [False, True])
def test_dask_engine_with_and_without_the_six(benchmark, record_seconds, demo_path, beyond, client):
    """After the streaming runs: the cluster's idle workers would share their cores."""
    _time_engine(benchmark, record_seconds, demo_path, beyond, 3, engine="dask", scheduler=client)


@pytest.mark.parametrize("full_size", [1_000_000, 10_000_000])
def test_peak_memory_of_the_exposure_accumulators(benchmark, record_seconds, full_size):
    """A catalog of ``full_size`` items (scaled by ``FASTRANK_BENCH_USERS``), each listed by some
    user (10 items per user): the peak of the allocations of the exposure step alone
    (``exposure_metrics`` on a catalog built first): the per-thread per-item accumulators, summed,
    and the per-user output."""
    n_items = max(1_000, round(full_size * N_USERS / 1354) // 10 * 10)
    users = np.repeat(np.arange(n_items // 10), 10)
    items = np.random.default_rng(5).permutation(n_items)
    scores = np.random.default_rng(6).random(n_items)
    groups = fastrank.group_rows(users)
    catalog_of_items = catalog(items, None, groups)
    labels, ordered = np.zeros(n_items), groups.take(scores)

    def run():
        return exposure_metrics(
            groups, labels, ordered, catalog_of_items, 10, columns=[], tie=0, min_items=1, parallel=True
        )

    run()
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    benchmark.pedantic(run, rounds=1, iterations=1)
    if benchmark.stats:
        record_seconds(
            f"exposure accumulators ({thread_count(True)} threads): peak memory of the exposure step",
            f"{n_items:,} items: {peak / 2**20:,.0f} MiB ({peak / n_items:.1f} bytes per item)",
        )
