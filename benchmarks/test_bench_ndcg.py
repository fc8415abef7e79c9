"""NDCG@10 over the KuaiRec-shaped case: fastrank next to the notebook's loop, sklearn and ranx.

Run: python -m pytest benchmarks --benchmark-only   (see BENCHMARKS.md)
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

import fastrank

from .conftest import SAMPLE_USERS

GROUP = "NDCG@10"


@pytest.mark.parametrize(
    "variant", ["fastrank", "fastrank:serial", "fastrank:from-user-ids", "fastrank:k=5,10,20"]
)
def test_fastrank(benchmark, record, kuairec, variant):
    ks = (5, 10, 20) if variant == "fastrank:k=5,10,20" else 10
    users = kuairec.users if variant == "fastrank:from-user-ids" else kuairec.groups
    parallel = variant != "fastrank:serial"

    def run():
        return fastrank.ndcg(users, kuairec.labels, kuairec.scores, k=ks, parallel=parallel)

    run()  # compile outside the timing
    result = benchmark(run)
    assert result.evaluated["ndcg@10"] == kuairec.n_users
    record(GROUP, variant, kuairec.n_users, kuairec.n_users)


def test_notebook_loop(benchmark, record, kuairec):
    """The notebook's structure: filter the frame per user, then sklearn on that user."""
    frame = kuairec.frame
    sample = np.unique(kuairec.users)[:SAMPLE_USERS]

    def run():
        values = []
        for user in sample:
            rows = frame[frame["user_id"] == user]
            if len(rows) >= 5:
                values.append(
                    ndcg_score(
                        [rows["watch_ratio"].to_numpy()], [rows["video_watch_ratio_mean"].to_numpy()], k=10
                    )
                )
        return np.mean(values)

    benchmark.pedantic(run, rounds=3, iterations=1)
    record(GROUP, "notebook loop (pandas filter + sklearn)", len(sample), kuairec.n_users)


def test_sklearn_per_user_on_split_arrays(benchmark, record, kuairec):
    off = kuairec.groups.offsets
    labels, scores = kuairec.labels, kuairec.scores
    n = min(kuairec.n_users, 4 * SAMPLE_USERS)
    pairs = [(labels[off[g] : off[g + 1]], scores[off[g] : off[g + 1]]) for g in range(n)]

    def run():
        return [ndcg_score([y], [s], k=10) for y, s in pairs]

    got = benchmark.pedantic(run, rounds=3, iterations=1)
    np.testing.assert_allclose(
        got, fastrank.ndcg(kuairec.groups, labels, scores, k=10)["ndcg@10"][:n], atol=1e-12
    )
    record(GROUP, "sklearn per user, pre-split arrays", n, kuairec.n_users)


@pytest.fixture(scope="module")
def ranx_case(kuairec):
    ranx = pytest.importorskip("ranx", reason="ranx is in the optional 'bench' extra")
    import pandas as pd

    # ranx wants integer relevance and string ids; build its Qrels/Run once, outside the timing.
    relevance = np.round(kuairec.labels).astype(np.int64)
    frame = pd.DataFrame(
        {
            "q": pd.Series(kuairec.users.astype(str), dtype=object),
            "d": pd.Series(kuairec.frame["video_id"].to_numpy().astype(str), dtype=object),
            "rel": relevance,
            "score": kuairec.scores.astype(np.float64),
        }
    )
    qrels = ranx.Qrels.from_df(frame[frame["rel"] > 0], q_id_col="q", doc_id_col="d", score_col="rel")
    run = ranx.Run.from_df(frame, q_id_col="q", doc_id_col="d", score_col="score")
    return ranx, qrels, run, relevance


@pytest.mark.filterwarnings("ignore::numba.NumbaWarning")
def test_ranx_evaluate(benchmark, record, kuairec, ranx_case):
    ranx, qrels, run, _ = ranx_case
    ranx.evaluate(qrels, run, "ndcg@10")  # compile outside the timing
    benchmark.pedantic(lambda: ranx.evaluate(qrels, run, "ndcg@10"), rounds=3, iterations=1)
    record("NDCG@10, integer labels (ranx's input)", "ranx evaluate", kuairec.n_users, kuairec.n_users)


def test_fastrank_on_ranx_input(benchmark, record, kuairec, ranx_case):
    ranx, qrels, run, relevance = ranx_case
    scores64 = kuairec.scores.astype(np.float64)

    def go():
        return fastrank.ndcg(kuairec.groups, relevance, scores64, k=10)

    go()
    result = benchmark(go)
    # Same numbers as ranx: a check that both computed the same thing (ranx orders ties arbitrarily,
    # fastrank averages them, so the means agree only to the weight of tied cutoffs).
    with np.errstate(all="ignore"):
        want = ranx.evaluate(qrels, run, "ndcg@10")
    assert abs(want - result.mean["ndcg@10"]) < 1e-3
    record("NDCG@10, integer labels (ranx's input)", "fastrank", kuairec.n_users, kuairec.n_users)
