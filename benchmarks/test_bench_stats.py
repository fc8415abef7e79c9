"""10,000 user-level bootstrap resamples over 1,354 users x 3 sources x 3 metrics (NDCG@10, MAP@10,
MRR@10): fastrank's numba bootstrap next to scipy.stats.bootstrap on the same per-user values.

Run: python -m pytest benchmarks --benchmark-only   (see BENCHMARKS.md)
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

import fastrank
from fastrank.compare.stats import bootstrap_intervals

GROUP = "bootstrap: 10,000 resamples, 3 sources x 3 metrics"
N_RESAMPLES = 10_000


@pytest.fixture(scope="module")
def per_user(kuairec):
    columns = []
    for source in ("video_watch_ratio_mean", "user_feat_watch_ratio_mean", "user_category_watch_ratio_mean"):
        scores = kuairec.frame[source].to_numpy(np.float32)
        result = fastrank.ranking_metrics(
            kuairec.groups, kuairec.labels, scores, ["ndcg@10", "map@10", "mrr@10"]
        )
        columns.append(result.values)
    return np.column_stack(columns)  # users x 9


def test_fastrank_bootstrap(benchmark, record, per_user):
    bootstrap_intervals(per_user, n_resamples=100)  # compile outside the timing
    mean, low, high = benchmark(lambda: bootstrap_intervals(per_user, n_resamples=N_RESAMPLES, seed=0))
    assert np.all(low < mean) and np.all(mean < high)
    record(GROUP, "fastrank", per_user.shape[0], per_user.shape[0])


def test_scipy_bootstrap(benchmark, record, per_user):
    def run():
        return sps.bootstrap(
            (per_user,), np.mean, axis=0, vectorized=True, n_resamples=N_RESAMPLES, batch=500,
            method="percentile", random_state=0,
        )  # fmt: skip

    result = benchmark.pedantic(run, rounds=2, iterations=1)
    _, low, high = bootstrap_intervals(per_user, n_resamples=N_RESAMPLES, seed=0)
    se = per_user.std(axis=0, ddof=1) / np.sqrt(per_user.shape[0])
    np.testing.assert_allclose(result.confidence_interval.low, low, atol=0.1 * se.max())
    np.testing.assert_allclose(result.confidence_interval.high, high, atol=0.1 * se.max())
    record(GROUP, "scipy.stats.bootstrap (percentile, vectorized)", per_user.shape[0], per_user.shape[0])
