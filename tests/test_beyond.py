"""Beyond-accuracy metrics (fastrank.beyond) against plain pandas references written here.

With ties averaged, an item in a score tie that the cutoff splits is listed with probability
t / s (s tied rows, t of their places inside the top k): its expected exposure is fractional, and
coverage is the expected number of items listed at least once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import entropy as scipy_entropy

import fastrank
from fastrank.errors import InputError

NAMES = ("coverage", "arp", "novelty", "gini", "entropy", "long_tail")


@st.composite
def lists(draw):
    """Users with 1 to 30 rows over a small catalog, scores from a few values (ties at the
    cutoff), items that may repeat across users, and a popularity column."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = draw(st.lists(st.integers(1, 30), min_size=1, max_size=10))
    n = sum(sizes)
    catalog = draw(st.integers(2, 40))
    frame = pd.DataFrame(
        {
            "user": np.repeat(np.arange(len(sizes)), sizes),
            "item": rng.integers(0, catalog, n) * 3 + 100,  # sparse ids
            "label": rng.integers(0, 3, n).astype(float),
            "score": rng.integers(0, draw(st.sampled_from([2, 4, 50])), n) / 4,
            "popularity": rng.random(n) * 5 + 0.01,
        }
    )
    return frame.sample(frac=1.0, random_state=int(rng.integers(1000))).reset_index(drop=True)


def listed_probability(frame, k, ties):
    """Each row's probability of being in its user's top k (pandas ranks; ties averaged or ordered)."""
    if ties == "average":
        by_user = frame.groupby("user")["score"]
        first = by_user.rank(method="min", ascending=False)  # best rank the row's tie can take
        last = by_user.rank(method="max", ascending=False)  # worst rank
        inside = ((k - first + 1) / (last - first + 1)).clip(0, 1)
        return inside.where(last > k, 1.0)
    label_key = frame["label"] if ties == "pessimistic" else -frame["label"]
    order = frame.assign(key=label_key, row=np.arange(len(frame))).sort_values(
        ["user", "score", "key", "row"], ascending=[True, False, True, True]
    )
    place = order.groupby("user").cumcount()
    return (place < k).astype(float).reindex(frame.index)


def tail_flags(share, tail_share=0.8, tail_ties="head"):
    """1.0 for the long tail: the int(n x tail_share) (at least 1) least popular items, those tied
    with the border in the head ("head") or taken by item id ascending ("item")."""
    size = max(int(len(share) * tail_share), 1)
    if tail_ties == "head":
        as_popular_or_less = share.apply(lambda s: int((share <= s).sum()))
        return (as_popular_or_less <= size).astype(float)
    ordered = share.sort_index(kind="stable").sort_values(kind="stable")  # popularity, then item id
    return pd.Series(share.index.isin(ordered.index[:size]).astype(float), index=share.index)


def reference(frame, k, ties, popularity=None, min_items=1, tail=(0.8, "head")):
    """Every beyond-accuracy metric at k, from pandas."""
    weights = frame[popularity] if popularity else pd.Series(1.0, index=frame.index)
    share = weights.groupby(frame["item"]).sum() / weights.sum()
    n_items = len(share)
    tail = tail_flags(share, *tail)
    sizes = frame.groupby("user")["item"].transform("size")
    kept = frame[sizes >= min_items].copy()
    kept["p"] = listed_probability(kept, k, ties) if len(kept) else []
    kept["share"] = kept["item"].map(share)
    kept["info"] = -np.log2(kept["share"])
    kept["tail"] = kept["item"].map(tail)
    slots = kept.groupby("user")["item"].size().clip(upper=k)
    per_user = pd.DataFrame(
        {
            "arp": (kept.p * kept.share).groupby(kept.user).sum() / slots,
            "novelty": (kept.p * kept["info"]).groupby(kept.user).sum() / slots,
            "long_tail": (kept.p * kept["tail"]).groupby(kept.user).sum() / slots,
        }
    )
    exposure = kept.groupby("item")["p"].sum().reindex(share.index, fill_value=0.0).to_numpy()
    listed = kept.groupby("item")["p"].apply(lambda p: 1 - np.prod(1 - p.to_numpy()))
    total = exposure.sum()
    pairs = np.abs(exposure[:, None] - exposure[None, :]).sum()  # Gini as mean absolute difference
    overall = {
        "coverage": listed.sum() / n_items,
        "gini": pairs / (2 * n_items * total) if total else np.nan,
        "entropy": scipy_entropy(exposure, base=2) if total else np.nan,
    }
    return per_user, overall


TAILS = st.tuples(st.sampled_from([0.8, 0.1, 0.5, 1.0, 0.01]), st.sampled_from(["head", "item"]))


@given(
    lists(), st.sampled_from([1, 2, 5, 40]), st.sampled_from(["average", "pessimistic", "optimistic"]), TAILS
)
def test_equal_pandas_references_with_ties_at_the_cutoff(frame, k, ties, tail):
    names = [f"{name}@{k}" for name in NAMES]
    result = fastrank.ranking_metrics(
        frame.user, frame.label, frame.score, names, items=frame.item, ties=ties, min_items=1,
        tail_share=tail[0], tail_ties=tail[1],
    )  # fmt: skip
    per_user, overall = reference(frame, k, ties, tail=tail)
    got = result.to_frame()
    for name in ("arp", "novelty", "long_tail"):
        want = per_user[name].reindex(got.index)
        np.testing.assert_allclose(got[f"{name}@{k}"], want, rtol=1e-12, atol=1e-12, err_msg=name)
        assert result.mean[f"{name}@{k}"] == pytest.approx(want.mean(), rel=1e-12, abs=1e-15)
    for name, want in overall.items():
        assert result.mean[f"{name}@{k}"] == pytest.approx(want, rel=1e-12, abs=1e-12), name
        assert f"{name}@{k}" not in got.columns  # no per-user value
    assert result.evaluated[f"coverage@{k}"] == frame.user.nunique()


@given(lists(), st.sampled_from([1, 3]))
def test_popularity_column_and_min_items(frame, k):
    names = [f"{name}@{k}" for name in NAMES]
    result = fastrank.ranking_metrics(
        frame.user, frame.label, frame.score, names, items=frame.item, popularity=frame.popularity,
        min_items=5,
    )  # fmt: skip
    per_user, overall = reference(frame, k, "average", popularity="popularity", min_items=5)
    got = result.to_frame()
    for name in ("arp", "novelty", "long_tail"):
        want = per_user[name].reindex(got.index)  # NaN for users below min_items
        np.testing.assert_allclose(got[f"{name}@{k}"], want, rtol=1e-12, atol=1e-12, err_msg=name)
    for name, want in overall.items():
        np.testing.assert_allclose(result.mean[f"{name}@{k}"], want, rtol=1e-12, atol=1e-12, err_msg=name)


def test_a_tie_split_by_the_cutoff_lists_each_of_its_items_fractionally():
    # User 0: item 1 above a tie of items 2, 3, 4 with one place left in the top 2.
    result = fastrank.ranking_metrics(
        [0, 0, 0, 0, 1, 1], [1, 0, 0, 0, 1, 0], [0.9, 0.5, 0.5, 0.5, 0.3, 0.1],
        ["coverage@2", "gini@2"], items=[1, 2, 3, 4, 2, 5], min_items=1,
    )  # fmt: skip
    # Exposures: item 1: 1, items 2..4: 1/3 each, then user 1 lists items 2 and 5 surely.
    # Covered: items 1, 2, 5 surely, items 3 and 4 each with probability 1/3.
    assert result.mean["coverage@2"] == pytest.approx((3 + 2 / 3) / 5, abs=1e-15)
    exposure = np.array([1, 4 / 3, 1 / 3, 1 / 3, 1])
    pairs = np.abs(exposure[:, None] - exposure[None, :]).sum()
    assert result.mean["gini@2"] == pytest.approx(pairs / (2 * 5 * exposure.sum()), abs=1e-15)


@pytest.mark.parametrize("ids", [np.array([30, 10, 20, 40]), np.array(["d", "b", "c", "a"])])
def test_the_long_tails_border_keeps_ties_in_the_head_or_splits_them_by_item_id(ids):
    # Popularity: ids[0] 3 rows, the other three 1 row each; every user lists its one item.
    items = ids[[0, 0, 0, 1, 2, 3]]
    users = np.arange(6)
    for share, ties, tail in [
        (0.5, "head", set()),  # 2 least popular of 4: the three tied would all cross the border
        (0.75, "head", set(ids[1:])),
        (0.5, "item", set(sorted(ids[1:])[:2])),  # RecBole: ties by id, exactly 2
        (0.1, "item", {sorted(ids[1:])[0]}),  # at least one item
    ]:
        result = fastrank.ranking_metrics(
            users, np.ones(6), np.ones(6), ["long_tail@1"], items=items, min_items=1, tail_share=share,
            tail_ties=ties,
        )  # fmt: skip
        assert result["long_tail@1"].tolist() == [float(item in tail) for item in items], (share, ties)


def test_one_item_for_everyone_is_least_diverse_and_long_tail_follows_popularity():
    users = np.repeat(np.arange(4), 3)
    items = np.tile([1, 2, 3], 4)
    scores = np.tile([0.9, 0.5, 0.1], 4)
    result = fastrank.ranking_metrics(
        users, np.ones(12), scores, ["coverage@1", "gini@1", "entropy@1", "long_tail@1"], items=items,
        popularity=np.tile([10.0, 1.0, 1.0], 4),
    )  # fmt: skip
    assert result.mean["coverage@1"] == pytest.approx(1 / 3)
    assert result.mean["gini@1"] == pytest.approx(2 / 3)  # (n - 1) / n: one item takes all
    assert result.mean["entropy@1"] == 0.0
    assert result.mean["long_tail@1"] == 0.0  # item 1 is the most popular: the head


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metrics": ["coverage@10"], "items": None}, r"coverage@10 needs item ids; pass items="),
        ({"metrics": ["gini"]}, r"gini needs a cutoff, e.g. 'gini@10'"),
        ({"metrics": ["auc@5"]}, r"auc ranks the whole list, so it takes no cutoff"),
        ({"metrics": ["arp@2"], "items": [1, 2]}, r"items: 2 rows, but users has 3"),
        ({"metrics": ["arp@2"], "popularity": [1.0, -1.0, 2.0]}, r"popularity: negative value -1.0 at row 1"),
        ({"metrics": ["arp@2"], "popularity": [0.0, 0.0, 0.0]}, r"popularity: sums to 0"),
        ({"metrics": ["novelty@2"], "popularity": [1.0, 0.0, 2.0]}, r"novelty: .* popularity of 0"),
        (
            {"metrics": ["long_tail@2"], "tail_share": 0.0},
            r"'tail_share' parameter must be above 0 and at most 1",
        ),
        (
            {"metrics": ["long_tail@2"], "tail_ties": "id"},
            r"'tail_ties' parameter must be one of 'head', 'item'",
        ),
        (
            {"metrics": ["gauc"], "gauc_weight": "rowz"},
            r"'gauc_weight' parameter must be one of 'rows', 'users', 'positives' or one weight per row",
        ),
        ({"metrics": ["gauc"], "gauc_weight": [1.0, np.nan, 1.0]}, r"gauc_weight: NaN at row 1"),
    ],
)
def test_bad_input_raises_a_clear_error(kwargs, match):
    args = {"users": ["a", "a", "b"], "labels": [1.0, 0.0, 2.0], "scores": [0.3, 0.2, 0.1],
            "items": [7, 8, 7], **kwargs}  # fmt: skip
    with pytest.raises(InputError, match=match):
        fastrank.ranking_metrics(**args)


def test_a_user_without_per_user_values_is_refused_by_name():
    result = fastrank.ranking_metrics([1, 1], [1, 0], [0.2, 0.1], ["coverage@1"], items=[1, 2])
    with pytest.raises(KeyError, match="no per-user value"):
        result["coverage@1"]


def test_a_cutoff_beyond_every_list_lists_everything():
    users, items = [1, 1, 2, 2, 2], [1, 2, 1, 3, 4]
    names = ["coverage@1000000000000", "gini@1000000000000", "arp@1000000000000"]
    result = fastrank.ranking_metrics(users, [1, 0, 1, 0, 0], [0.2, 0.1, 0.3, 0.3, 0.1], names, items=items)
    assert result.mean["coverage@1000000000000"] == 1.0  # scratch sized by the largest list, not by k
    exposure = np.array([2, 1, 1, 1])  # item 1 twice
    pairs = np.abs(exposure[:, None] - exposure[None, :]).sum()
    assert result.mean["gini@1000000000000"] == pytest.approx(pairs / (2 * 4 * exposure.sum()))
    assert result.mean["arp@1000000000000"] == pytest.approx(np.mean([(2 + 1) / 5 / 2, (2 + 1 + 1) / 5 / 3]))
