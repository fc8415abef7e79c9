"""Beyond-accuracy metrics of top-N runs (fastrank.api.catalog): over a catalog and a popularity
table given apart from the runs, against a pandas reference written here, and equal to the same
metrics of the run taken as a table when the catalog and popularity are the run's own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import entropy as scipy_entropy

import fastrank
from fastrank.errors import InputError

from .test_beyond import listed_probability, tail_flags

PER_USER = ("arp", "novelty", "long_tail")
OVERALL = ("coverage", "gini", "entropy")


@st.composite
def runs(draw):
    """A run (users with 0 to 12 rows from a small catalog, few score values: ties at the cutoff),
    its truth, and a popularity table of interactions covering every item; ids as text or ints."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_items = draw(st.integers(3, 30))
    text = draw(st.booleans())
    ids = np.array([f"i{7 * i}" for i in range(n_items)]) if text else np.arange(n_items) * 7 + 1000
    rows = []
    for user in range(draw(st.integers(1, 8))):
        listed = rng.choice(n_items, size=min(n_items, int(rng.integers(0, 13))), replace=False)
        rows += [(user, ids[i], float(rng.integers(0, draw(st.sampled_from([2, 5, 100]))))) for i in listed]
    run = pd.DataFrame(rows, columns=["user_id", "item_id", "score"])
    truth = pd.DataFrame(
        {"user_id": np.arange(8), "item_id": ids[rng.integers(0, n_items, 8)], "relevance": 1.0}
    )
    popularity = pd.DataFrame({"item_id": np.concatenate([ids, ids[rng.integers(0, n_items, 40)]])})
    return run, truth, popularity


def reference(run, truth, popularity, catalog, k, ties, tail=(0.8, "head")):
    """Every beyond-accuracy metric at k of the truth users' lists, from pandas."""
    frame = run[run.user_id.isin(truth.user_id)].rename(columns={"user_id": "user", "item_id": "item"})
    labels = truth.rename(columns={"user_id": "user", "item_id": "item"})
    frame = frame.merge(labels, on=["user", "item"], how="left").fillna({"relevance": 0.0})
    frame = frame.rename(columns={"relevance": "label"})
    if ties == "trec":  # score, then item id as text, descending: a distinct place per row
        frame = frame.assign(text=frame["item"].astype(str)).sort_values(
            ["user", "score", "text"], ascending=[True, False, False]
        )
        frame["score"] = -frame.groupby("user").cumcount().astype(float)
        ties = "average"
    frame = frame.reset_index(drop=True)
    frame["p"] = listed_probability(frame, k, ties) if len(frame) else []
    counts = popularity.item_id.value_counts().reindex(catalog, fill_value=0).astype(float)
    share = counts / counts.sum()
    frame["share"] = frame["item"].map(share)
    frame["info"] = -np.log2(frame["share"])
    frame["tail"] = frame["item"].map(tail_flags(share.sort_index(), *tail))
    slots = frame.groupby("user")["item"].size().clip(upper=k)
    columns = {"arp": "share", "novelty": "info", "long_tail": "tail"}
    per_user = {
        name: (frame.p * frame[column]).groupby(frame.user).sum() / slots for name, column in columns.items()
    }
    exposure = frame.groupby("item")["p"].sum().reindex(catalog, fill_value=0.0).to_numpy()
    listed = frame.groupby("item")["p"].apply(lambda p: 1 - np.prod(1 - p.to_numpy()))
    total, n = exposure.sum(), len(catalog)
    overall = {
        "coverage": listed.sum() / n,
        "gini": np.abs(exposure[:, None] - exposure[None, :]).sum() / (2 * n * total) if total else np.nan,
        "entropy": scipy_entropy(exposure, base=2) if total else np.nan,
    }
    return per_user, overall


@given(
    runs(), st.sampled_from([1, 3, 20]), st.sampled_from(["average", "trec", "pessimistic"]), st.booleans()
)
def test_runs_metrics_over_a_catalog_and_a_popularity_table_equal_a_pandas_reference(
    data, k, ties, given_catalog
):
    run, truth, popularity = data
    catalog = None
    if given_catalog:
        # One item more, never listed and never interacted with: it counts in the catalog only.
        catalog = pd.concat(
            [popularity.item_id, pd.Series(["x"] if isinstance(popularity.item_id.iloc[0], str) else [1])]
        )
    metrics = [f"{name}@{k}" for name in (*PER_USER, *OVERALL)]
    evaluation = fastrank.evaluate_run(
        run, truth, metrics=metrics, ties=ties, popularity=popularity, catalog=catalog
    )
    ids = (
        pd.unique(pd.concat([truth.item_id, run.item_id, popularity.item_id])) if catalog is None else catalog
    )
    per_user, overall = reference(run, truth, popularity, pd.Index(pd.unique(ids)), k, ties)
    got = evaluation.per_user.pivot(index="user", columns="metric", values="value")
    for name in PER_USER:
        want = per_user[name].reindex(got.index)  # NaN: a truth user without recommendations
        np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=1e-12, err_msg=name)
    for name in OVERALL:
        mean = evaluation.mean("run", k=k, metric=name)
        assert mean == pytest.approx(overall[name], rel=1e-12, abs=1e-12, nan_ok=True), name
    assert ("catalog: " in " ".join(evaluation.notes)) == (catalog is None)


@given(runs(), st.sampled_from([1, 4]), st.sampled_from(["average", "optimistic"]))
def test_with_the_runs_own_items_and_rows_they_equal_the_metrics_of_the_run_as_a_table(data, k, ties):
    run, _, _ = data
    if run.empty:
        return
    truth = pd.DataFrame({"user_id": run.user_id.unique(), "item_id": run.item_id.iloc[0], "relevance": 0.0})
    metrics = [f"{name}@{k}" for name in (*PER_USER, *OVERALL)]
    evaluation = fastrank.evaluate_run(
        run, truth, metrics=metrics, ties=ties, popularity=run[["item_id"]], catalog=run.item_id
    )
    table = fastrank.ranking_metrics(
        run.user_id, np.zeros(len(run)), run.score, metrics, items=run.item_id, ties=ties, min_items=1
    )
    for name in metrics:
        assert evaluation.mean("run", k=k, metric=name.split("@")[0]) == pytest.approx(
            table.mean[name], rel=1e-12, abs=1e-15
        ), name


def test_a_run_item_outside_the_catalog_and_missing_popularity_are_refused_in_one_line():
    run = pd.DataFrame({"user_id": [1, 1], "item_id": [5, 6], "score": [0.2, 0.1]})
    truth = pd.DataFrame({"user_id": [1], "item_id": [5], "relevance": [1.0]})
    with pytest.raises(InputError, match=r"run: item 6 at row 1 is not in the catalog"):
        fastrank.evaluate_run(run, truth, metrics=["coverage@2"], catalog=[5, 7])
    with pytest.raises(InputError, match=r"arp@2 weighs a run's items by their popularity; pass popularity="):
        fastrank.evaluate_run(run, truth, metrics=["arp@2"])
    with pytest.raises(InputError, match=r"popularity: item 9 at row 0 is not in the catalog"):
        fastrank.evaluate_run(
            run, truth, metrics=["arp@2"], catalog=[5, 6], popularity=pd.DataFrame({"item_id": [9]})
        )
    with pytest.raises(InputError, match=r"catalog= is for the beyond-accuracy metrics"):
        fastrank.evaluate_run(run, truth, metrics=["ndcg@2"], catalog=[5, 6])


@given(runs())
def test_a_popularity_column_summed_per_item_equals_as_many_rows(data):
    run, truth, popularity = data
    counts = popularity.item_id.value_counts().rename("weight").reset_index()
    metrics = ["arp@3", "novelty@3", "long_tail@3"]
    by_rows = fastrank.evaluate_run(run, truth, metrics=metrics, popularity=popularity)
    by_weight = fastrank.evaluate_run(run, truth, metrics=metrics, popularity=counts, popularity_col="weight")
    doubled = counts.assign(weight=counts.weight * 2.0, other=1.0)  # shares do not change
    twice = fastrank.evaluate_run(run, truth, metrics=metrics, popularity=doubled, popularity_col="weight")
    pd.testing.assert_frame_equal(by_rows.summary, by_weight.summary, rtol=1e-12)
    pd.testing.assert_frame_equal(by_rows.summary, twice.summary, rtol=1e-12)
