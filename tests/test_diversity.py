"""The diversity family (fastrank.metrics.diversity): intra-list similarity and diversity, and
serendipity, against plain numpy references written here that enumerate every way a tie at the
cutoff can fill the list (each equally likely), with users shorter than k."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastrank
from fastrank.errors import InputError

from .test_beyond import listed_probability


@st.composite
def lists_with_features(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = draw(st.lists(st.integers(1, 9), min_size=1, max_size=6))
    n, n_items = sum(sizes), draw(st.integers(2, 12))
    text = draw(st.booleans())
    ids = np.array([f"i{i}" for i in range(n_items)]) if text else np.arange(n_items) * 5 + 3
    frame = pd.DataFrame({
        "user": np.repeat(np.arange(len(sizes)), sizes),
        "item": ids[rng.integers(0, n_items, n)],
        "label": rng.integers(0, 2, n).astype(float),
        "score": rng.integers(0, draw(st.sampled_from([2, 3, 50])), n) / 2,  # ties at the cutoff
    }).sample(frac=1.0, random_state=int(rng.integers(100)))  # fmt: skip
    features = pd.DataFrame({"item": ids, **{f"f{c}": rng.normal(size=n_items) for c in range(3)}})
    history = pd.DataFrame(
        {"user": rng.integers(0, len(sizes) + 1, 8), "item": ids[rng.integers(0, n_items, 8)]}
    )
    return frame.reset_index(drop=True), features, history


def cosine(features, a, b):
    """Cosine of two items' feature vectors, or with ``features`` a table of interactions (user,
    item), of their sets of users: users in common / sqrt(users of a x users of b)."""
    if "user" in features.columns:
        users = features.drop_duplicates().groupby("item")["user"].apply(set)
        return len(users[a] & users[b]) / np.sqrt(len(users[a]) * len(users[b]))
    x = features.set_index("item").loc[[a, b]].to_numpy()
    return float(x[0] @ x[1] / np.linalg.norm(x[0]) / np.linalg.norm(x[1]))


def possible_lists(rows, k):
    """Every list the cutoff can make of one user's rows, each equally likely: the rows above the
    tie at the k-th place, plus each choice of its places among the tied rows."""
    p = rows["p"].to_numpy()
    sure = list(rows.index[p == 1.0])
    tied = list(rows.index[(p > 0) & (p < 1)])
    places = min(k, len(rows)) - len(sure)
    return [sure + list(chosen) for chosen in itertools.combinations(tied, places)]


def similarity(features, items):
    """Mean cosine similarity over the pairs of ``items``."""
    return np.mean([cosine(features, a, b) for a, b in itertools.combinations(items, 2)])


def surprise(features, item, relevant, past):
    """Relevance x (1 - the item's mean cosine similarity to the ``past`` items)."""
    return relevant * (1 - np.mean([cosine(features, item, h) for h in past]))


def reference(frame, features, history, k, ties):
    frame = frame.assign(p=listed_probability(frame, k, ties))
    out = {}
    for user, rows in frame.groupby("user"):
        lists = [[rows.item[i] for i in chosen] for chosen in possible_lists(rows, k)]
        relevant = [[rows.label[i] >= 1 for i in chosen] for chosen in possible_lists(rows, k)]
        past = history.item[history.user == user].drop_duplicates().tolist()  # each past item once
        pairs = [similarity(features, items) for items in lists] if len(lists[0]) > 1 else [np.nan]
        seren = [np.mean([surprise(features, i, r, past) for i, r in zip(items, flags, strict=True)])
                 for items, flags in zip(lists, relevant, strict=True)] if past else [np.nan]  # fmt: skip
        out[user] = {"ils": np.mean(pairs), "serendipity": np.mean(seren)}
    return pd.DataFrame(out).T


@given(lists_with_features(), st.sampled_from([1, 2, 4, 20]), st.sampled_from(["average", "pessimistic"]))
def test_intra_list_similarity_diversity_and_serendipity_equal_the_enumerated_references(data, k, ties):
    frame, features, history = data
    metrics = [f"ils@{k}", f"ild@{k}", f"serendipity@{k}"]
    result = fastrank.ranking_metrics(
        frame.user, frame.label, frame.score, metrics, items=frame.item, item_features=features,
        history=history, ties=ties, min_items=1,
    )  # fmt: skip
    want = reference(frame, features, history, k, ties).reindex(result.users)
    np.testing.assert_allclose(result[f"ils@{k}"], want["ils"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result[f"ild@{k}"], 1 - want["ils"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result[f"serendipity@{k}"], want["serendipity"], rtol=1e-12, atol=1e-12)


def test_a_list_vector_column_equals_numeric_columns_and_scale_does_not_matter():
    users, items, scores = [1, 1, 1, 2, 2], [10, 11, 12, 10, 12], [0.3, 0.2, 0.1, 0.5, 0.4]
    columns = pd.DataFrame({"item": [10, 11, 12], "a": [1.0, 0.0, 1.0], "b": [0.0, 2.0, 1.0]})
    listed = pd.DataFrame({"item": [10, 11, 12], "v": [[3.0, 0.0], [0.0, 1.0], [5.0, 5.0]]})
    got = [
        fastrank.ranking_metrics(users, [1] * 5, scores, ["ils@3"], items=items, item_features=f, min_items=1)
        for f in (columns, listed)
    ]
    np.testing.assert_allclose(got[0]["ils@3"], got[1]["ils@3"], rtol=1e-15)
    # User 1: cos(10, 11) = 0, cos(10, 12) = cos(11, 12) = 1/sqrt(2).
    assert got[0]["ils@3"][0] == pytest.approx(2 / np.sqrt(2) / 3, rel=1e-15)


@pytest.mark.parametrize(
    ("features", "kwargs", "match"),
    [
        (
            pd.DataFrame({"item": [10, 11], "a": [1.0, 2.0]}),
            {},
            r"items: item 12 has no features in item_features",
        ),
        (pd.DataFrame({"item": [10, 11, 12], "a": [1.0, 0.0, 2.0]}), {}, r"item 11 has a vector of zeros"),
        (pd.DataFrame({"item": [10, 10, 12], "a": [1.0, 1.0, 2.0]}), {}, r"item 10 is given twice"),
        (
            pd.DataFrame({"item": [10, 11, 12], "a": [1.0, np.nan, 2.0]}),
            {},
            r"item 11 has a feature that is not a",
        ),
        (None, {}, r"ild@3 compares items; pass item_features= or cooccurrence= \(one of them\)"),
    ],
)
def test_bad_item_features_are_refused_in_one_line_naming_the_item(features, kwargs, match):
    with pytest.raises(InputError, match=match):
        fastrank.ranking_metrics([1, 1, 1], [1, 0, 1], [0.3, 0.2, 0.1], ["ild@3"], items=[10, 11, 12],
                                 item_features=features, **kwargs)  # fmt: skip


def test_serendipity_needs_a_history():
    features = pd.DataFrame({"item": [10, 11], "a": [1.0, 2.0]})
    with pytest.raises(
        InputError, match=r"serendipity compares each list with the user's history; pass history="
    ):
        fastrank.ranking_metrics(
            [1, 1], [1, 0], [0.2, 0.1], ["serendipity@2"], items=[10, 11], item_features=features
        )


@given(lists_with_features(), st.sampled_from([1, 3]), st.integers(1, 12))
def test_runs_tables_and_streams_give_the_same_diversity(data, k, chunk_rows):
    frame, features, history = data
    metrics = [f"ild@{k}", f"serendipity@{k}"]
    frame = frame.drop_duplicates(["user", "item"]).sort_values("user", kind="stable")
    table = frame.rename(columns={"user": "user_id", "item": "video_id", "label": "watch_ratio"})
    features_t = features.rename(columns={"item": "video_id"})
    history_t = history.rename(columns={"user": "user_id", "item": "video_id"})
    options = dict(scores="score", metrics=metrics, item_features=features_t, history=history_t, min_items=1)
    memory = fastrank.evaluate(table, **options)
    streamed = fastrank.evaluate(table, engine="stream", chunk_rows=chunk_rows, **options)
    pd.testing.assert_frame_equal(memory.per_user, streamed.per_user)
    direct = fastrank.ranking_metrics(
        frame.user, frame.label, frame.score, metrics, items=frame.item, item_features=features,
        history=history, min_items=1,
    )  # fmt: skip
    by_user = memory.per_user.pivot(index="user", columns="metric", values="value").reindex(direct.users)
    for name in metrics:
        np.testing.assert_allclose(by_user[name.split("@")[0]], direct[name], rtol=1e-15, atol=1e-15)
    # The same lists as a run against a truth of the relevant rows: the same values.
    run = frame.rename(columns={"user": "user_id", "item": "item_id"})[["user_id", "item_id", "score"]]
    truth = frame[frame.label >= 1].rename(
        columns={"user": "user_id", "item": "item_id", "label": "relevance"}
    )
    truth = pd.concat(
        [truth, pd.DataFrame({"user_id": frame.user.unique(), "item_id": "none", "relevance": 0.0})]
    )
    truth["item_id"] = truth["item_id"].astype(str)
    runs = fastrank.evaluate_run(
        run.astype({"item_id": str}), truth[["user_id", "item_id", "relevance"]], metrics=metrics,
        item_features=features.astype({"item": str}), history=history.rename(columns={"user": "user_id",
        "item": "item_id"}).astype({"item_id": str}),
    )  # fmt: skip
    got = runs.per_user.pivot(index="user", columns="metric", values="value").reindex(direct.users)
    for name in metrics:
        np.testing.assert_allclose(got[name.split("@")[0]], direct[name], rtol=1e-12, atol=1e-12)


def test_the_item_features_and_history_flags_reach_evaluate(tmp_path, capsys):
    import json

    from .cli import in_process, refused

    rng = np.random.default_rng(8)
    table = pd.DataFrame({"user_id": np.repeat(np.arange(12), 6), "video_id": np.tile(np.arange(6), 12)})
    table = table.assign(watch_ratio=rng.integers(0, 3, 72).astype(float), s=rng.random(72))
    features = pd.DataFrame({"video_id": np.arange(6), "a": rng.random(6) + 0.1, "b": rng.random(6)})
    # Every video interacted with at least once: each has a co-occurrence vector.
    history = pd.DataFrame(
        {"user_id": rng.integers(0, 12, 26), "video_id": np.r_[np.arange(6), rng.integers(0, 6, 20)]}
    )
    for name, frame in (("t", table), ("f", features), ("h", history)):
        frame.to_parquet(tmp_path / f"{name}.parquet")
    args = ["evaluate", tmp_path / "t.parquet", "--scores", "s", "--metrics", "ild@3", "serendipity@3"]
    code, out, err = in_process(
        capsys,
        *args,
        "--item-features",
        tmp_path / "f.parquet",
        "--history",
        tmp_path / "h.parquet",
        "--json",
    )
    assert code == 0, err
    want = fastrank.evaluate(table, scores="s", metrics=["ild@3", "serendipity@3"], item_features=features,
                             history=history)  # fmt: skip
    assert [row["mean"] for row in json.loads(out)] == want.summary["mean"].tolist()
    code, out, err = in_process(
        capsys, *args, "--cooccurrence", tmp_path / "h.parquet", "--history", tmp_path / "h.parquet", "--json"
    )
    assert code == 0, err
    by_cooccurrence = fastrank.evaluate(table, scores="s", metrics=["ild@3", "serendipity@3"],
                                        cooccurrence=history, history=history)  # fmt: skip
    assert [row["mean"] for row in json.loads(out)] == by_cooccurrence.summary["mean"].tolist()
    line = refused(capsys, *args, "--item-features", tmp_path / "f.parquet")
    assert line.endswith("serendipity compares each list with the user's history; pass --history"), line


@given(lists_with_features(), st.sampled_from([2, 4]), st.sampled_from(["average", "optimistic"]))
def test_cooccurrence_similarity_equals_the_cosine_of_the_items_users(data, k, ties):
    frame, features, history = data
    rng = np.random.default_rng(len(frame))
    ids = features["item"].to_numpy()
    # Interactions where every item has a user (so that every item has a co-occurrence vector).
    users = np.concatenate([np.arange(len(ids)) % 4, rng.integers(0, 6, 20)])
    interactions = pd.DataFrame(
        {"user": users, "item": np.concatenate([ids, ids[rng.integers(0, len(ids), 20)]])}
    )
    metrics = [f"ils@{k}", f"serendipity@{k}"]
    result = fastrank.ranking_metrics(
        frame.user, frame.label, frame.score, metrics, items=frame.item, cooccurrence=interactions,
        history=history, ties=ties, min_items=1,
    )  # fmt: skip
    want = reference(frame, interactions, history, k, ties).reindex(result.users)
    np.testing.assert_allclose(result[f"ils@{k}"], want["ils"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result[f"serendipity@{k}"], want["serendipity"], rtol=1e-12, atol=1e-12)
