"""The validated Python layer: argument checks, input types, accounting of skipped users."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import ndcg_score

import fastrank

USERS = np.array([1, 1, 1, 2, 2, 2, 3])
LABELS = np.array([3.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0])
SCORES = np.array([0.9, 0.5, 0.5, 0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize(
    "convert",
    [np.asarray, pd.Series, pa.array, lambda x: pa.chunked_array([x[:3], x[3:]]), list],
)
def test_accepts_numpy_pandas_pyarrow_and_lists(convert):
    result = fastrank.ndcg(convert(USERS), convert(LABELS), convert(SCORES), k=2)
    want = ndcg_score([LABELS[:3]], [SCORES[:3]], k=2)
    assert result["ndcg@2"][0] == pytest.approx(want, abs=1e-12)


def test_several_k_in_one_call_equal_separate_calls():
    together = fastrank.ndcg(USERS, LABELS, SCORES, k=(1, 2, 3), min_items=1)
    for k in (1, 2, 3):
        alone = fastrank.ndcg(USERS, LABELS, SCORES, k=k, min_items=1)
        np.testing.assert_array_equal(together[f"ndcg@{k}"], alone[f"ndcg@{k}"])


def test_accounting_of_skipped_users():
    result = fastrank.ranking_metrics(
        USERS, LABELS, SCORES, ["ndcg@2", "dcg@2", "recall@2"], no_relevant="skip", threshold=1.0
    )
    # user 3 has one row (< min_items=2); user 2 has no relevant row and an ideal DCG of 0
    assert result.skipped_min_items == 1
    assert result.skipped_no_relevant == {"ndcg@2": 1, "dcg@2": 0, "recall@2": 1}
    assert result.evaluated == {"ndcg@2": 1, "dcg@2": 2, "recall@2": 1}
    assert np.isnan(result["ndcg@2"][1]) and np.isnan(result["ndcg@2"][2])
    zero = fastrank.ranking_metrics(USERS, LABELS, SCORES, ["ndcg@2"], no_relevant="zero")
    assert zero["ndcg@2"][1] == 0.0
    assert zero.mean["ndcg@2"] == pytest.approx(result.mean["ndcg@2"] / 2)
    summary = result.summary()
    assert summary.loc["recall@2", "skipped_no_relevant"] == 1
    assert list(summary.columns) == ["mean", "users", "skipped_min_items", "skipped_no_relevant"]


def test_min_items_like_the_notebook():
    users = np.repeat([1, 2], [4, 5])
    labels = np.arange(9.0)
    result = fastrank.ndcg(users, labels, -labels, k=10, min_items=5)
    assert result.evaluated == {"ndcg@10": 1}
    assert result.skipped_min_items == 1


def test_groups_object_is_reused_and_float32_scores_are_not_copied_to_float64():
    users = np.array([4, 2, 4, 2])
    groups = fastrank.group_rows(users)
    labels = np.array([1.0, 0.0, 0.0, 1.0])
    scores = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    a = fastrank.ranking_metrics(groups, labels, scores, ["ndcg@1", "mrr"])
    b = fastrank.ranking_metrics(users, labels, scores, ["ndcg@1", "mrr"])
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.users, [2, 4])
    np.testing.assert_array_equal(a["mrr"], [1.0, 0.5])


def test_result_frame_has_values_counts_and_ties():
    frame = fastrank.ranking_metrics(USERS, LABELS, SCORES, ["ndcg@2", "mrr"], min_items=1).to_frame()
    assert list(frame.columns) == ["ndcg@2", "mrr", "n_items", "tied@2", "tied@all"]
    assert frame.loc[1, "tied@2"] == 2  # scores 0.5, 0.5 straddle rank 2
    assert frame.loc[3, "n_items"] == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": [1.0, np.nan, 0.0]}, r"labels: NaN at row 1 \(user 'a'\)"),
        ({"scores": [0.1, 0.2, np.inf]}, r"scores: inf at row 2 \(user 'b'\)"),
        ({"labels": [1.0, -0.5, 0.0]}, r"labels: negative value -0.5 at row 1 \(user 'a'\)"),
        ({"scores": [0.1, 0.2]}, r"scores: 2 rows, but users has 3"),
        ({"labels": ["x", "y", "z"]}, r"labels: expected numbers"),
        ({"users": ["a", None, "b"]}, r"users: null at row 1"),
        ({"users": [], "labels": [], "scores": []}, r"users: empty input"),
        ({"metrics": ["ndcg@0"]}, r"the cutoff k must be an int >= 1. Got 0"),
        ({"metrics": ["roc"]}, r"unknown metric 'roc'"),
        ({"metrics": []}, r"name at least one metric"),
        ({"ties": "random"}, r"'ties' parameter must be one of"),
        ({"gain": "log"}, r"'gain' parameter must be one of"),
        ({"min_items": 0}, r"'min_items' parameter must be an int >= 1"),
        ({"threshold": float("nan")}, r"'threshold' parameter must be a finite number"),
        ({"gain": "exponential", "labels": [1.0, 2000.0, 0.0]}, r"labels: 2000.0 at row 1 .*overflows"),
    ],
)
def test_bad_input_raises_a_clear_error(kwargs, match):
    args = {"users": ["a", "a", "b"], "labels": [1.0, 0.0, 2.0], "scores": [0.3, 0.2, 0.1], **kwargs}
    with pytest.raises(ValueError, match=match):
        fastrank.ranking_metrics(**args)


@pytest.mark.parametrize("k", [0, -1, 2.5, "10", True])
def test_ndcg_rejects_bad_k(k):
    with pytest.raises(ValueError, match="The 'k' parameter must be an int >= 1"):
        fastrank.ndcg([1, 1], [1.0, 0.0], [0.1, 0.2], k=k)


def test_row_in_error_is_the_input_row_even_when_rows_are_unsorted():
    users = np.array([2, 1, 2, 1])
    labels = np.array([0.0, 1.0, 0.0, np.nan])
    with pytest.raises(ValueError, match=r"labels: NaN at row 3 \(user 1\)"):
        fastrank.ndcg(users, labels, np.zeros(4))


def test_parse_metric_names_and_aliases():
    assert str(fastrank.parse_metric("NDCG@10")) == "ndcg@10"
    assert str(fastrank.parse_metric("hit@5")) == "hit_rate@5"
    assert fastrank.parse_metric("mrr").k is None


def test_gauc_row_weights_are_summed_per_user_not_in_row_order():
    """Users interleaved: each user's weight is the sum of its own rows' weights."""
    result = fastrank.ranking_metrics(
        [1, 2, 1, 2], [1.0, 1.0, 0.0, 0.0], [0.9, 0.1, 0.1, 0.9], ["gauc"], gauc_weight=[1.0, 0.0, 1.0, 0.0]
    )
    # User 1 ranks right (AUC 1) and weighs 2; user 2 ranks wrong (AUC 0) and weighs 0.
    assert result.to_frame()["gauc"].to_dict() == {1: 1.0, 2: 0.0}
    assert result.mean["gauc"] == 1.0
