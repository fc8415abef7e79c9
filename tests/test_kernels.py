"""Property tests of the grouped kernels against scikit-learn and tests/naive.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import dcg_score, ndcg_score, roc_auc_score

import fastrank
from tests import naive
from tests.conftest import SKLEARN_EXPONENTIAL_LABEL, grouped_data, per_user

TOL = 1e-12


GAINS = {"linear": lambda y: y, "exponential": lambda y: 2.0**y - 1, "binary": lambda y: (y >= 1.0) * 1.0}
"""Each gain of a label, as the tests' references compute it (the threshold at its default, 1)."""


def _ks(users):
    n = int(np.unique(users, return_counts=True)[1].max())
    return [1, 3, 10, n, n + 5, None]


@given(grouped_data(max_label=SKLEARN_EXPONENTIAL_LABEL), st.sampled_from(list(GAINS)))
def test_ndcg_and_dcg_equal_sklearn_per_user(data, gain):
    users, labels, scores = data
    ks = _ks(users)
    names = [f"{m}@{k}" if k else m for k in ks for m in ("ndcg", "dcg")]
    result = fastrank.ranking_metrics(users, labels, scores, names, gain=gain, min_items=1)
    frame = result.to_frame()
    for user, (y, s) in per_user(users, labels, scores):
        gains = GAINS[gain](y)
        for k in ks:
            got_ndcg = frame.loc[user, f"ndcg@{k}" if k else "ndcg"]
            got_dcg = frame.loc[user, f"dcg@{k}" if k else "dcg"]
            if len(y) == 1:  # sklearn refuses one-item lists; one item is its own ideal
                assert got_dcg == pytest.approx(gains[0], rel=TOL)
                assert got_ndcg == (1.0 if gains[0] > 0 else 0.0)
                continue
            want_ndcg = ndcg_score([gains], [s], k=k)
            want_dcg = dcg_score([gains], [s], k=k)
            assert abs(got_ndcg - want_ndcg) <= TOL, (user, k)
            assert abs(got_dcg - want_dcg) <= TOL * max(1.0, abs(want_dcg)), (user, k)


@given(grouped_data())
def test_pessimistic_le_average_le_optimistic(data):
    users, labels, scores = data
    names = ["ndcg@3", "dcg@10", "precision@3", "recall@10", "hit_rate@1", "mrr", "map@10"]
    got = {
        t: fastrank.ranking_metrics(users, labels, scores, names, ties=t, min_items=1).values
        for t in ("pessimistic", "average", "optimistic")
    }
    slack = 1e-12
    assert np.all(got["pessimistic"] <= got["average"] + slack)
    assert np.all(got["average"] <= got["optimistic"] + slack)


@given(grouped_data(tied=False))
def test_tie_modes_agree_without_ties(data):
    users, labels, scores = data
    names = ["ndcg@3", "dcg@10", "precision@3", "recall@10", "hit_rate@1", "mrr", "map@10"]
    got = [
        fastrank.ranking_metrics(users, labels, scores, names, ties=t, min_items=1).values
        for t in ("pessimistic", "average", "optimistic")
    ]
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1], got[2], rtol=1e-12, atol=1e-12)


@given(grouped_data(), st.sampled_from(["pessimistic", "optimistic"]))
def test_deterministic_tie_orders_equal_sorted_reference(data, ties):
    users, labels, scores = data
    ks = _ks(users)
    names = [f"dcg@{k}" if k else "dcg" for k in ks]
    frame = fastrank.ranking_metrics(users, labels, scores, names, ties=ties, min_items=1).to_frame()
    for user, (y, s) in per_user(users, labels, scores):
        for k, name in zip(ks, names, strict=True):
            want = naive.dcg_deterministic(y, y, s, k, ties)
            assert frame.loc[user, name] == pytest.approx(want, rel=1e-12, abs=1e-12)


@given(grouped_data())
def test_shuffled_rows_give_the_same_per_user_values(data):
    users, labels, scores = data
    names = ["ndcg@5", "dcg", "precision@3", "recall@5", "hit_rate@2", "mrr@4", "map@5"]
    sorted_result = fastrank.ranking_metrics(users, labels, scores, names, min_items=1).to_frame()
    perm = np.random.default_rng(0).permutation(len(users))
    shuffled = fastrank.ranking_metrics(users[perm], labels[perm], scores[perm], names, min_items=1)
    shuffled = shuffled.to_frame().loc[sorted_result.index]
    # Gains of a tie are summed in row order, so only the last bits may differ.
    np.testing.assert_allclose(shuffled[names], sorted_result[names], rtol=1e-12, atol=1e-12)
    counts = [c for c in sorted_result.columns if c not in names]
    assert shuffled[counts].equals(sorted_result[counts])


@given(grouped_data())
def test_tied_at_cutoff(data):
    users, labels, scores = data
    ks = [1, 2, 5, None]
    result = fastrank.ranking_metrics(
        users, labels, scores, [f"ndcg@{k}" if k else "ndcg" for k in ks], min_items=1
    )
    for g, (user, (s,)) in enumerate(per_user(users, scores)):
        assert result.users[g] == user
        for q, k in enumerate(ks):
            assert result.tied_at_cutoff[g, q] == naive.tied_at_cutoff(s, k), (user, k)


# Binary metrics: exact expectation over all orders of tied rows, enumerated for small users.
@st.composite
def small_tied_user(draw):
    n = draw(st.integers(1, 7))
    scores = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.float64)
    labels = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=n, max_size=n)))
    return labels, scores


@given(
    st.lists(small_tied_user(), min_size=1, max_size=6),
    st.sampled_from(["average", "pessimistic", "optimistic"]),
    st.sampled_from([0.5, 1.0, 2.0]),
)
def test_binary_metrics_equal_reference(users_data, ties, threshold):
    users = np.repeat(np.arange(len(users_data)), [len(y) for y, _ in users_data])
    labels = np.concatenate([y for y, _ in users_data])
    scores = np.concatenate([s for _, s in users_data])
    ks = [1, 2, 3, 8, None]
    names = [f"{m}@{k}" if k else m for m in [*naive.BINARY, "f1", "rbp"] for k in ks] + ["r_precision"]
    result = fastrank.ranking_metrics(
        users, labels, scores, names, ties=ties, threshold=threshold, min_items=1, no_relevant="skip"
    )
    for g, (y, s) in enumerate(users_data):
        for j, name in enumerate(names):
            metric, _, k = name.partition("@")
            got = result.values[g, j]
            if not np.any(y >= threshold):
                assert np.isnan(got), name
                continue
            want = naive.binary_metric(metric, y, s, int(k) if k else None, ties, threshold)
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), (g, name, y, s)


@given(
    st.lists(small_tied_user(), min_size=1, max_size=6),
    st.sampled_from(["average", "pessimistic", "optimistic"]),
    st.sampled_from([None, 2.0, 4.0]),
)
def test_err_equals_the_cascade_over_every_order_of_a_tie(users_data, ties, max_grade):
    """ERR@k, exact over ties: the mean of the cascade over every order of the tied rows (or the
    worst- or best-first order); the top of the scale is the largest label unless given."""
    users = np.repeat(np.arange(len(users_data)), [len(y) for y, _ in users_data])
    labels = np.concatenate([y for y, _ in users_data])
    scores = np.concatenate([s for _, s in users_data])
    ks = [1, 2, 3, 8, None]
    names = [f"err@{k}" if k else "err@all" for k in ks]
    result = fastrank.ranking_metrics(
        users, labels, scores, names, ties=ties, min_items=1, max_grade=max_grade
    )
    top = labels.max() if max_grade is None else max_grade
    for g, (y, s) in enumerate(users_data):
        for j, k in enumerate(ks):
            want = naive.err(y, s, k, ties, top)
            assert result.values[g, j] == pytest.approx(want, rel=1e-12, abs=1e-15), (g, k, y, s)


@given(grouped_data(integer_labels=True, max_label=4), st.sampled_from([None, 2, 5]))
def test_gains_given_per_label_equal_sklearn_on_the_gains(data, k):
    """``gain={label: gain}``: DCG and NDCG of the mapped gains (sklearn on them); the binary
    metrics keep the labels; a label without a gain is refused, naming its user."""
    users, labels, scores = data
    table = {0.0: 0.0, 1.0: 0.5, 2.0: 4.0, 3.0: 4.0, 4.0: 10.0}
    names = ["ndcg@all" if k is None else f"ndcg@{k}", "precision@3"]
    got = fastrank.ranking_metrics(users, labels, scores, names, gain=table, min_items=1).to_frame()
    plain = fastrank.ranking_metrics(users, labels, scores, ["precision@3"], min_items=1).to_frame()
    for user, (y, s) in per_user(users, labels, scores):
        gains = np.array([table[v] for v in y])
        if len(y) > 1:
            want = ndcg_score([gains], [s], k=k)
            assert got.loc[user, "ndcg" if k is None else f"ndcg@{k}"] == pytest.approx(want, abs=TOL)
        assert got.loc[user, "precision@3"] == plain.loc[user, "precision@3"]
    with pytest.raises(fastrank.InputError, match=r"gain: label 7 of user 'b' has no gain"):
        fastrank.ranking_metrics(["a", "b"], [1.0, 7.0], [0.1, 0.2], ["ndcg"], gain=table, min_items=1)


@given(grouped_data(max_size=300, max_groups=6, integer_labels=True, max_label=6))
def test_err_of_long_tied_lists_matches_the_closed_form_on_shuffles(data):
    """Long ties, where enumeration cannot go: ERR averaged over ties equals the mean of the
    cascade over many random orders of the ties, within the sampling error."""
    users, labels, scores = data
    result = fastrank.ranking_metrics(users, labels, scores, ["err@5", "err@all"], min_items=1, max_grade=6.0)
    frame = result.to_frame()
    rng = np.random.default_rng(0)
    for user, (y, s) in per_user(users, labels, scores):
        stop = np.where(y > 0, (2.0**y - 1) / 64.0, 0.0)
        draws = []
        for _ in range(400):
            order = np.lexsort((rng.random(len(s)), -s))
            passed = np.concatenate(([1.0], np.cumprod(1 - stop[order])[:-1]))
            terms = passed * stop[order] / np.arange(1, len(s) + 1)
            draws.append((terms[:5].sum(), terms.sum()))
        means, spread = np.mean(draws, axis=0), np.std(draws, axis=0) / np.sqrt(len(draws))
        assert abs(frame.loc[user, "err@5"] - means[0]) <= 6 * spread[0] + 1e-12, user
        assert abs(frame.loc[user, "err"] - means[1]) <= 6 * spread[1] + 1e-12, user


def test_err_refuses_a_label_above_the_top_of_the_scale():
    with pytest.raises(fastrank.InputError, match=r"labels: 5 of user 1 is above max_grade=4"):
        fastrank.ranking_metrics([1, 1], [1.0, 5.0], [0.5, 0.4], ["err@2"], max_grade=4)


@given(grouped_data(max_size=60, max_groups=8, tied=False), st.sampled_from([0.5, 1.0]))
def test_binary_metrics_on_larger_users_without_ties(data, threshold):
    users, labels, scores = data
    ks = [1, 5, 20, None]
    names = [f"{m}@{k}" if k else m for m in naive.BINARY for k in ks]
    frame = fastrank.ranking_metrics(
        users, labels, scores, names, threshold=threshold, min_items=1
    ).to_frame()
    for user, (y, s) in per_user(users, labels, scores):
        for name in names:
            metric, _, k = name.partition("@")
            want = (
                naive.binary_metric(metric, y, s, int(k) if k else None, "average", threshold)
                if np.any(y >= threshold)
                else 0.0
            )
            assert frame.loc[user, name] == pytest.approx(want, rel=1e-12, abs=1e-12), (user, name)


def test_perfect_ranking_scores_one_and_constant_shift_changes_nothing():
    rng = np.random.default_rng(1)
    users = np.repeat(np.arange(50), 40)
    labels = rng.lognormal(size=users.size)
    result = fastrank.ranking_metrics(users, labels, labels, ["ndcg@10", "ndcg"])
    np.testing.assert_allclose(result.values, 1.0, rtol=0, atol=1e-12)
    scores = rng.integers(0, 5, users.size).astype(np.float64)
    base = fastrank.ranking_metrics(users, labels, scores, ["ndcg@10", "map@5", "mrr"]).values
    shifted = fastrank.ranking_metrics(users, labels, scores + 1000.0, ["ndcg@10", "map@5", "mrr"]).values
    np.testing.assert_array_equal(base, shifted)
    assert np.all((base >= 0) & (base <= 1))


def test_serial_and_parallel_kernels_agree():
    rng = np.random.default_rng(2)
    users = np.repeat(np.arange(300), rng.integers(1, 200, 300))
    labels = rng.integers(0, 3, users.size).astype(float)
    scores = rng.integers(0, 4, users.size).astype(np.float32)
    names = ["ndcg@10", "dcg@3", "precision@5", "recall@5", "hit_rate@3", "mrr", "map@10"]
    a = fastrank.ranking_metrics(users, labels, scores, names, parallel=True)
    b = fastrank.ranking_metrics(users, labels, scores, names, parallel=False)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.tied_at_cutoff, b.tied_at_cutoff)


@given(
    grouped_data(max_size=2000, max_groups=6),
    st.sampled_from(["average", "pessimistic", "optimistic"]),
    st.sampled_from([[1], [2, 3], [1, 5, 9]]),
)
def test_small_cutoffs_on_long_lists(data, ties, ks):
    """Long lists and small k take the block pre-filter path of the top-k selection."""
    users, labels, scores = data
    names = [f"{m}@{k}" for k in ks for m in ("ndcg", "dcg", "precision", "map")]
    result = fastrank.ranking_metrics(users, labels, scores, names, ties=ties, min_items=1)
    frame = result.to_frame()
    for user, (y, s) in per_user(users, labels, scores):
        for k in ks:
            if ties == "average" and len(y) > 1:
                want_ndcg = ndcg_score([y], [s], k=k)
                want_dcg = dcg_score([y], [s], k=k)
            else:
                want_dcg = naive.dcg_deterministic(y, y, s, k, "optimistic" if ties == "average" else ties)
                ideal = naive.dcg(np.sort(y)[::-1], k)
                want_ndcg = want_dcg / ideal if ideal > 0 else 0.0
            assert abs(frame.loc[user, f"ndcg@{k}"] - want_ndcg) <= TOL, (user, k)
            assert frame.loc[user, f"dcg@{k}"] == pytest.approx(want_dcg, rel=TOL, abs=TOL), (user, k)
            if ties != "average":
                rel = y >= 1.0
                ranked = rel[naive.rank_order(y, s, ties)]
                want_p = naive.precision(ranked, k)
                want_ap = naive.average_precision(ranked, k) if rel.any() else 0.0
                assert frame.loc[user, f"precision@{k}"] == pytest.approx(want_p, abs=TOL), (user, k)
                assert frame.loc[user, f"map@{k}"] == pytest.approx(want_ap, abs=TOL), (user, k)
        tied = result.tied_at_cutoff[list(result.users).index(user)]
        assert list(tied) == [naive.tied_at_cutoff(s, k) for k in ks]


@given(
    grouped_data(tied=False, max_label=SKLEARN_EXPONENTIAL_LABEL),
    st.sampled_from(list(GAINS)),
    st.floats(0.0, 0.95),
)
def test_lists_in_rank_order_and_sparse_labels_equal_sklearn(data, gain, zero_share):
    """Rows already in score order skip the top-k selection, and few positive labels skip the
    ideal's selection: both shortcuts give sklearn's numbers, the same as shuffled rows."""
    users, labels, scores = data
    rng = np.random.default_rng(len(users))
    labels = np.where(rng.random(len(labels)) < zero_share, 0.0, labels)
    order = np.lexsort((-scores, users))  # each user's rows in rank order
    users, labels, scores = users[order], labels[order], scores[order]
    ks = _ks(users)
    names = [f"ndcg@{k}" if k else "ndcg" for k in ks] + ["map@3", "recall@10", "mrr"]
    result = fastrank.ranking_metrics(users, labels, scores, names, gain=gain, min_items=1)
    shuffled = rng.permutation(len(users))
    again = fastrank.ranking_metrics(
        users[shuffled], labels[shuffled], scores[shuffled], names, gain=gain, min_items=1
    )
    frame, other = result.to_frame(), again.to_frame()
    for user, (y, s) in per_user(users, labels, scores):
        gains = GAINS[gain](y)
        np.testing.assert_allclose(frame.loc[user].to_numpy(), other.loc[user].to_numpy(), rtol=0, atol=TOL)
        if len(y) == 1:
            continue
        for k in ks:
            got = frame.loc[user, f"ndcg@{k}" if k else "ndcg"]
            assert abs(got - ndcg_score([gains], [s], k=k)) <= TOL, (user, k)


@given(grouped_data(max_size=300, max_groups=8), st.sampled_from([0.5, 1.0]))
def test_r_precision_on_longer_users_equals_precision_at_r(data, threshold):
    """R-precision ranks the whole list: precision@R of the same result, R per user."""
    users, labels, scores = data
    frame = fastrank.ranking_metrics(users, labels, scores, ["r_precision"], threshold=threshold, min_items=1)
    frame = frame.to_frame()
    for user, (y, s) in per_user(users, labels, scores):
        n_relevant = int(np.sum(y >= threshold))
        if n_relevant == 0:
            assert frame.loc[user, "r_precision"] == 0.0
            continue
        want = fastrank.ranking_metrics(
            np.zeros(len(y)), y, s, [f"precision@{n_relevant}"], threshold=threshold, min_items=1
        ).values[0, 0]
        assert frame.loc[user, "r_precision"] == pytest.approx(want, rel=1e-12, abs=1e-12), user


@given(
    grouped_data(max_size=2000, max_groups=8),
    st.sampled_from([0.5, 1.0, 2.0]),
    st.sampled_from(["rows", "users", "positives", "column"]),
)
def test_auc_equals_sklearn_per_user_and_gauc_its_weighted_mean(data, threshold, weighting):
    """Per-user AUC = roc_auc_score within 1e-12 (heavy ties, real labels, one-class users NaN);
    GAUC = the plain weighted mean of those values, each user weighted by its rows (DIN), 1, its
    relevant rows (RecBole) or a column's sum."""
    users, labels, scores = data
    rng = np.random.default_rng(len(users))
    row_weights = rng.random(len(users)) * 3
    weight = row_weights if weighting == "column" else weighting
    result = fastrank.ranking_metrics(
        users, labels, scores, ["auc", "gauc"], threshold=threshold, gauc_weight=weight
    )
    frame = result.to_frame()
    values, weights = [], []
    for user, (y, s, w) in per_user(users, labels, scores, row_weights):
        got = frame.loc[user, "auc"]
        rel = y >= threshold
        if len(y) < 2 or rel.all() or not rel.any():  # sklearn refuses a single class
            assert np.isnan(got), user
            continue
        want = roc_auc_score(rel, s)
        assert abs(got - want) <= TOL, (user, got, want)
        assert got == pytest.approx(naive.auc(rel, s), abs=TOL)
        values.append(want)
        weights.append({"rows": len(y), "users": 1.0, "positives": rel.sum(), "column": w.sum()}[weighting])
    want_gauc = np.average(values, weights=weights) if values and sum(weights) > 0 else np.nan
    np.testing.assert_allclose(result.mean["gauc"], want_gauc, rtol=1e-12, atol=1e-12)
    assert result.skipped_no_relevant["auc"] == result.skipped_no_relevant["gauc"]
    assert result.evaluated["auc"] == len(values)


def test_auc_in_float32_and_on_long_tied_groups():
    rng = np.random.default_rng(5)
    users = np.repeat(np.arange(20), 2000)
    labels = rng.lognormal(size=users.size)
    scores = rng.integers(0, 7, users.size).astype(np.float32)
    result = fastrank.ranking_metrics(users, labels, scores, ["auc"])
    for g in range(20):
        rows = users == g
        want = roc_auc_score(labels[rows] >= 1.0, scores[rows])
        assert abs(result.values[g, 0] - want) <= TOL
    serial = fastrank.ranking_metrics(users, labels, scores, ["auc"], parallel=False)
    np.testing.assert_array_equal(result.values, serial.values)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), max_size=300))
def test_auc_radix_sort_orders_floats_as_numpy(values):
    """The AUC kernel's sort: float bits mapped to ordered keys, then radix-sorted."""
    _assert_radix_sort_orders_as_numpy(np.array(values, np.float64) + 0.0)  # the kernel folds -0.0 too


@given(
    st.floats(-1e300, 1e300, allow_subnormal=False),
    st.lists(st.integers(0, 600), max_size=300),
)
def test_auc_radix_sort_orders_floats_a_few_ulps_apart(base, steps):
    """Floats that differ only in their lowest bytes: every one of the 8 passes must run
    (random floats almost never share their upper bytes, so the test above cannot tell)."""
    _assert_radix_sort_orders_as_numpy(base + np.array(steps, np.float64) * np.spacing(base) + 0.0)


def _assert_radix_sort_orders_as_numpy(x):
    from fastrank.kernels.classes import radix_sort, sortable_keys

    keys = np.empty(len(x), np.uint64)
    sortable_keys(x, len(x), keys)
    radix_sort(keys, np.empty_like(keys), len(x), np.empty((8, 257), np.int64))
    want = np.empty(len(x), np.uint64)
    sortable_keys(np.sort(x), len(x), want)
    np.testing.assert_array_equal(keys, want)


def test_auc_of_scores_one_ulp_apart():
    e = np.spacing(1.0)
    scores = [1 + 2 * e, 1.0, 1 + e]
    result = fastrank.ranking_metrics([1, 1, 1], [1.0, 1.0, 0.0], scores, ["auc"])
    assert result.values[0, 0] == roc_auc_score([1, 1, 0], scores) == 0.5


@pytest.mark.parametrize(
    ("labels", "scores", "want"),
    [
        ([1.0, 0.0, 0.0], [-0.0, 0.0, -1.0], 0.75),  # -0.0 relevant, 0.0 not
        ([1.0, 0.0], [0.0, -0.0], 0.5),  # -0.0 not relevant, 0.0 relevant
    ],
)
def test_auc_counts_minus_zero_and_zero_as_a_tie(labels, scores, want):
    result = fastrank.ranking_metrics([1] * len(labels), labels, scores, ["auc"])
    assert result.values[0, 0] == roc_auc_score(np.array(labels) >= 1, scores) == want


@given(grouped_data(max_size=400, max_groups=6), st.sampled_from([[1], [10], [3, 50]]))
def test_rank_biased_precision_on_long_lists_shares_a_ties_weights(data, ks):
    """Tied rows share the mean weight of the tie's places inside the cutoff (RBP is linear in
    the weights): the closed form, checked on long lists where enumeration cannot go."""
    users, labels, scores = data
    result = fastrank.ranking_metrics(users, labels, scores, [f"rbp@{k}" for k in ks], min_items=1).to_frame()
    for user, (y, s) in per_user(users, labels, scores):
        order = np.argsort(-s, kind="stable")
        places = np.empty(len(s), float)
        for k in ks:
            weights = np.where(np.arange(len(s)) < k, 0.2 * 0.8 ** np.arange(len(s)), 0.0)
            for value in np.unique(s):
                tied = s[order] == value
                places[order[tied]] = weights[tied].mean()
            want = float(np.sum(places * (y >= 1.0))) if np.any(y >= 1.0) else 0.0
            assert result.loc[user, f"rbp@{k}"] == pytest.approx(want, rel=1e-12, abs=1e-15), (user, k)


def test_rank_biased_precision_of_a_run_ranks_its_own_rows_only():
    import pandas as pd

    run = pd.DataFrame({"user_id": 1, "item_id": [10, 11, 12], "score": [0.9, 0.5, 0.5]})
    truth = pd.DataFrame({"user_id": 1, "item_id": [11, 99], "relevance": [1.0, 1.0]})  # 99 never listed
    result = fastrank.evaluate_run(run, truth, k=[2, 3], metrics=["rbp"])
    tie = (0.2 * 0.8 + 0.2 * 0.8**2) / 2  # item 11 shares ranks 2 and 3 with item 12
    assert result.mean("run", k=3, metric="rbp") == pytest.approx(tie, rel=1e-15)
    assert result.mean("run", k=2, metric="rbp") == pytest.approx(0.2 * 0.8 / 2, rel=1e-15)


def test_match_texts_confirms_equal_hashes_byte_by_byte():
    """Every hash equal: only the bytes tell the items apart; each user's truth rows alone are
    looked in; a run user without truth (-1) matches nothing."""
    import pyarrow as pa

    from fastrank import kernels

    def buffers(texts):
        array = pa.array(texts, pa.large_string())
        offsets = np.frombuffer(array.buffers()[1], np.int64)[: len(texts) + 1]
        return offsets, np.frombuffer(array.buffers()[2], np.uint8)

    item_offsets, item_data = buffers(["c", "a", "ab"])  # the truth's items, by code
    truth_offsets, truth_codes = np.array([0, 2, 3]), np.array([0, 1, 2])  # user 0: c, a; user 1: ab
    truth_labels = np.array([3.0, 1.0, 2.0])
    offsets, data = buffers(["a", "b", "c", "ab", "ab", "a"])  # run groups: rows 0-3, 4-4, 5-5
    run_offsets, run_user = np.array([0, 4, 5, 6]), np.array([0, 1, -1])
    labels, found = np.full(6, -9.0), np.zeros(3, np.bool_)
    texts = (offsets, data, np.zeros(6, np.int64))
    truth = (truth_offsets, truth_codes, item_offsets, item_data, np.zeros(3, np.int64), truth_labels)
    kernels.match_texts(0, 3, run_offsets, run_user, np.empty(0, np.int64), texts, truth, 2, labels, found)
    assert labels.tolist() == [1.0, 0.0, 3.0, 0.0, 2.0, -9.0]  # a user without truth is left as is
    assert found.tolist() == [True, True, True]


def test_repeated_in_groups_counts_each_extra_row_of_a_value():
    from fastrank import kernels

    offsets = np.array([0, 5, 5, 9])
    values = np.array([3, -7, 3, 3, 2**62, 1, 1, 1, 1], np.int64)
    out = np.empty(3, np.int64)
    kernels.repeated_in_groups(0, 3, offsets, values, 5, out)
    assert out.tolist() == [2, 0, 3]
