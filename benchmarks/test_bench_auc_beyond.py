"""AUC, GAUC and the beyond-accuracy metrics over the KuaiRec-shaped case, next to NDCG@10.

GAUC beside sklearn's ``roc_auc_score`` per user (pre-split arrays) and RecBole's GAUC formula
written in numpy (average ranks of the positives, users weighted by their rows); the six
beyond-accuracy metrics beside NDCG@10 alone. Targets: AUC for all users <= 10x NDCG@10, the
beyond-accuracy metrics together <= 2x NDCG@10.

Run: python -m pytest benchmarks/test_bench_auc_beyond.py --benchmark-only   (see BENCHMARKS.md)
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import fastrank

from .conftest import SAMPLE_USERS

AUC_GROUP = "AUC and GAUC, next to NDCG@10"
BEYOND_GROUP = "Beyond accuracy @10, next to NDCG@10"
BEYOND = [f"{name}@10" for name in ("coverage", "arp", "novelty", "gini", "entropy", "long_tail")]
THRESHOLD = 1.0  # watch_ratio >= 1: watched to the end


def _time(benchmark, run):
    run()  # compile outside the timing
    return benchmark(run)


@pytest.mark.parametrize("group", [AUC_GROUP, BEYOND_GROUP])
def test_fastrank_ndcg_at_10(benchmark, record, kuairec, group):
    """The base of both groups: NDCG@10 with the grouping reused."""
    result = _time(benchmark, lambda: fastrank.ndcg(kuairec.groups, kuairec.labels, kuairec.scores, k=10))
    assert result.evaluated["ndcg@10"] == kuairec.n_users
    record(group, "fastrank ndcg@10", kuairec.n_users, kuairec.n_users, base=True)


@pytest.mark.parametrize("metrics", [["gauc"], ["auc", "gauc"]])
def test_fastrank_auc(benchmark, record, kuairec, metrics):
    def run():
        return fastrank.ranking_metrics(
            kuairec.groups, kuairec.labels, kuairec.scores, metrics, threshold=THRESHOLD
        )

    result = _time(benchmark, run)
    assert 0.5 < result.mean["gauc"] < 1.0
    record(AUC_GROUP, f"fastrank {' + '.join(metrics)}", kuairec.n_users, kuairec.n_users)


def test_sklearn_roc_auc_per_user_on_split_arrays(benchmark, record, kuairec):
    off = kuairec.groups.offsets
    n = min(kuairec.n_users, 4 * SAMPLE_USERS)
    pairs = [
        (kuairec.labels[off[g] : off[g + 1]] >= THRESHOLD, kuairec.scores[off[g] : off[g + 1]])
        for g in range(n)
    ]
    pairs = [(y, s) for y, s in pairs if 0 < y.sum() < len(y)]

    got = benchmark.pedantic(lambda: [roc_auc_score(y, s) for y, s in pairs], rounds=3, iterations=1)
    want = fastrank.ranking_metrics(kuairec.groups, kuairec.labels, kuairec.scores, ["auc"])["auc"][:n]
    np.testing.assert_allclose(got, want[~np.isnan(want)], rtol=0, atol=1e-12)
    record(AUC_GROUP, "sklearn roc_auc_score per user, pre-split arrays", n, kuairec.n_users)


def recbole_gauc(codes: np.ndarray, relevant: np.ndarray, scores: np.ndarray) -> float:
    """RecBole's GAUC formula in numpy: per user, the positives' average ranks give
    AUC = (rank sum - P(P + 1) / 2) / (P N); one-class users are dropped; users weighted by rows."""
    order = np.lexsort((scores, codes))  # each user's rows by score, ascending
    user, score, rel = codes[order], scores[order], relevant[order]
    n = len(order)
    lengths = np.bincount(user)
    first_row = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    rank = np.arange(n) - first_row[user] + 1.0
    starts = np.flatnonzero(np.concatenate(([True], (user[1:] != user[:-1]) | (score[1:] != score[:-1]))))
    ends = np.concatenate((starts[1:], [n])) - 1
    tie = np.repeat(np.arange(len(starts)), np.diff(np.concatenate((starts, [n]))))
    mean_rank = (rank[starts] + rank[ends]) / 2
    positive_rank_sum = np.bincount(user, weights=mean_rank[tie] * rel)
    positives = np.bincount(user, weights=rel.astype(np.float64))
    negatives = lengths - positives
    keep = (positives > 0) & (negatives > 0)
    auc = (positive_rank_sum[keep] - positives[keep] * (positives[keep] + 1) / 2) / (
        positives[keep] * negatives[keep]
    )
    return float((auc * lengths[keep]).sum() / lengths[keep].sum())


def test_recbole_gauc_formula_in_numpy(benchmark, record, kuairec):
    codes = np.repeat(np.arange(kuairec.n_users), kuairec.groups.sizes)  # rows are grouped already
    relevant = kuairec.groups.take(kuairec.labels) >= THRESHOLD
    scores = kuairec.groups.take(kuairec.scores)
    got = benchmark.pedantic(lambda: recbole_gauc(codes, relevant, scores), rounds=3, iterations=1)
    want = fastrank.ranking_metrics(kuairec.groups, kuairec.labels, kuairec.scores, ["gauc"]).mean["gauc"]
    assert got == pytest.approx(want, rel=1e-9)
    record(AUC_GROUP, "RecBole's GAUC formula, numpy", kuairec.n_users, kuairec.n_users)


@pytest.mark.parametrize("with_ndcg", [False, True])
def test_fastrank_beyond_accuracy(benchmark, record, kuairec, with_ndcg):
    items = kuairec.frame["video_id"].to_numpy()
    metrics = (["ndcg@10"] if with_ndcg else []) + BEYOND

    def run():
        return fastrank.ranking_metrics(kuairec.groups, kuairec.labels, kuairec.scores, metrics, items=items)

    result = _time(benchmark, run)
    assert 0 < result.mean["coverage@10"] <= 1
    name = "fastrank ndcg@10 + the six" if with_ndcg else "fastrank the six (" + ", ".join(BEYOND) + ")"
    record(BEYOND_GROUP, name, kuairec.n_users, kuairec.n_users)
