"""Short, obviously right per-user references for the kernels (slow; tests only)."""

from __future__ import annotations

import itertools
import math

import numpy as np


def rank_order(labels, scores, ties):
    """Row order of one user: score descending; inside ties, labels ascending (pessimistic) or
    descending (optimistic), then row index."""
    idx = np.arange(len(scores))
    label_key = labels if ties == "pessimistic" else -labels
    return np.lexsort((idx, label_key, -scores))


def tie_orders(scores):
    """Every distinct ranking of the rows that respects the scores (all orders inside ties)."""
    values = np.unique(scores)[::-1]
    blocks = [np.flatnonzero(scores == v) for v in values]
    for parts in itertools.product(*(itertools.permutations(b) for b in blocks)):
        yield np.concatenate(parts)


def n_tie_orders(scores):
    return math.prod(math.factorial(c) for c in np.unique(scores, return_counts=True)[1])


def precision(rel, k):
    return rel[:k].sum() / k


def recall(rel, k):
    return rel[:k].sum() / rel.sum()


def hit_rate(rel, k):
    return float(rel[:k].any())


def mrr(rel, k):
    first = np.flatnonzero(rel[:k])
    return 1.0 / (first[0] + 1) if first.size else 0.0


def average_precision(rel, k):
    hits = np.cumsum(rel[:k])
    return sum(hits[i] / (i + 1) for i in range(min(k, len(rel))) if rel[i]) / min(k, rel.sum())


def f1(rel, k):
    """Harmonic mean of precision@k and recall@k (0 when both are 0)."""
    p, r = precision(rel, k), recall(rel, k)
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def r_precision(rel, k=None):
    """Precision at rank R, R = the relevant count (``k`` is ignored: there is no cutoff)."""
    n_relevant = int(rel.sum())
    return rel[:n_relevant].sum() / n_relevant


def auc(rel, scores):
    """Share of (relevant, non-relevant) pairs with the relevant row scored higher, ties 1/2."""
    pos, neg = scores[rel], scores[~rel]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


def rbp(rel, k, p=0.8):
    """Rank-biased precision of one ranking: (1 - p) sum of p**(rank - 1) over relevant ranks <= k."""
    return float(sum((1 - p) * p**i for i in range(min(k, len(rel))) if rel[i]))


def dcg(gains, k):
    k = min(k, len(gains))
    return float(np.sum(gains[:k] / np.log2(np.arange(k) + 2)))


BINARY = {
    "precision": precision,
    "recall": recall,
    "hit_rate": hit_rate,
    "mrr": mrr,
    "map": average_precision,
}


MORE_BINARY = {"f1": f1, "r_precision": r_precision, "rbp": rbp}


def binary_metric(name, labels, scores, k, ties, threshold):
    """One user's binary metric; ``k`` None is the whole list; ties averaged by enumeration."""
    rel = labels >= threshold
    k = len(labels) if k is None else k
    fn = BINARY.get(name) or MORE_BINARY[name]
    if ties == "average":
        return float(np.mean([fn(rel[order], k) for order in tie_orders(scores)]))
    return float(fn(rel[rank_order(labels, scores, ties)], k))


def dcg_deterministic(gains, labels, scores, k, ties):
    """DCG@k of one user under a pessimistic or optimistic order of ties."""
    k = len(labels) if k is None else k
    return dcg(gains[rank_order(labels, scores, ties)], k)


def tied_at_cutoff(scores, k):
    """Size of the score tie holding both rank k-1 and rank k (0-based), else 0."""
    s = np.sort(scores)[::-1]
    if k is None or k >= len(s) or s[k - 1] != s[k]:
        return 0
    return int(np.count_nonzero(scores == s[k - 1]))


def run_metric(name, gains, scores, truth_gains, k, threshold, map_denominator):
    """One user's metric@k for a top-N run: ``gains`` (truth relevance, 0 if unjudged) and
    ``scores`` of the retrieved items; ``truth_gains`` every relevance of the user's truth, found
    or not (``k`` None for R-precision). Averaged over the orders of tied scores, like every
    fastrank metric."""
    n_relevant = int(np.sum(np.asarray(truth_gains) >= threshold))
    ideal = dcg(np.sort(np.asarray(truth_gains, float))[::-1], k) if name == "ndcg" else 0.0

    def one(order):
        g = gains[order]
        rel = g >= threshold
        if name == "ndcg":
            return dcg(g, k) / ideal if ideal > 0 else 0.0
        if n_relevant == 0:
            return 0.0
        if name == "precision":
            return rel[:k].sum() / k
        if name == "recall":
            return rel[:k].sum() / n_relevant
        if name == "hit_rate":
            return float(rel[:k].any())
        if name == "mrr":
            return mrr(rel, k)
        if name == "f1":
            return 2 * rel[:k].sum() / (k + n_relevant)
        if name == "r_precision":
            return rel[:n_relevant].sum() / n_relevant
        hits = np.cumsum(rel[:k])
        total = sum(hits[i] / (i + 1) for i in range(min(k, len(rel))) if rel[i])
        return total / (n_relevant if map_denominator == "relevant" else min(k, n_relevant))

    if len(gains) == 0:
        return one(np.arange(0))
    return float(np.mean([one(order) for order in tie_orders(np.asarray(scores))]))


def err(labels, scores, k, ties, max_grade):
    """One user's ERR@k (``k`` None: the whole list), R = (2^g - 1) / 2^max_grade, g <= 0 stops
    nobody; ties averaged by enumeration of their orders, or ordered worst- or best-first."""
    stop = np.where(labels > 0, (2.0**labels - 1) / 2.0**max_grade, 0.0)
    k = len(labels) if k is None else k

    def one(order):
        total, passed = 0.0, 1.0
        for r, i in enumerate(order[:k]):
            total += passed * stop[i] / (r + 1)
            passed *= 1 - stop[i]
        return total

    if ties == "average":
        return float(np.mean([one(order) for order in tie_orders(scores)]))
    return one(rank_order(labels, scores, ties))
