"""The notebook protocol against the notebook's own code (tests/notebook_oracle.py), on score
columns; tests/test_cli.py repeats it end to end with a Keras model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fastrank.api.evaluate as api
from fastrank.demo import make_demo_table
from tests import notebook_oracle as nb


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    table = make_demo_table(n_users=30, n_videos=60, seed=3).to_pandas()
    rng = np.random.default_rng(0)
    # a second score column with heavy ties, and a few short users (< 5 rows) to be excluded
    table["tied_score"] = np.round(table["video_watch_ratio_mean"] * 2) / 2
    short = table["user_id"].isin(table["user_id"].unique()[:3])
    keep = ~short | (rng.random(len(table)) < 0.04)
    return table[keep].reset_index(drop=True)


def _fastrank_per_user(frame, column, metric):
    result = api.evaluate(frame, baselines=[column], protocol="notebook")
    rows = result.per_user
    rows = rows[(rows.metric == metric) & (rows.source == column)].set_index("user")["value"]
    return rows.dropna().to_dict()


@pytest.mark.parametrize("column", ["video_watch_ratio_mean", "tied_score"])
def test_notebook_protocol_equals_the_notebook_code(frame, column):
    plain = _fastrank_per_user(frame, column, "ndcg_notebook")
    want = nb.per_user(frame, nb.get_user_recommendation_data_baseline, column)
    assert set(plain) == set(want)  # users with >= 5 rows, as the notebook
    compared = 0
    for user, value in want.items():
        rows = frame[frame.user_id == user]
        if nb.has_ties(rows["watch_ratio"]) or nb.has_ties(rows[column]):
            continue  # the notebook's unstable argsort orders ties arbitrarily
        assert plain[user] == pytest.approx(value, abs=1e-12), user
        compared += 1
    assert compared > 0 or column == "tied_score"


@pytest.mark.parametrize("column", ["video_watch_ratio_mean", "tied_score"])
def test_rounded_notebook_protocol_equals_the_notebook_code(frame, column):
    rounded = _fastrank_per_user(frame, column, "ndcg_notebook_rounded")
    want = nb.per_user(frame, nb.get_user_recommendation_data_baseline_bis, column)
    assert set(rounded) == set(want)
    for user, value in want.items():  # (rounded value, item id) orders every row: no tie left
        assert rounded[user] == pytest.approx(value, abs=1e-12), user


def test_notebook_protocol_orders_ties_like_a_stable_flipped_argsort(frame):
    from sklearn.metrics import ndcg_score

    got = _fastrank_per_user(frame, "tied_score", "ndcg_notebook")
    for user, value in got.items():
        rows = frame[frame.user_id == user]
        ids = rows["video_id"].to_numpy()
        truth = ids[np.flip(np.argsort(rows["watch_ratio"].to_numpy(), kind="stable"))]
        recommended = ids[np.flip(np.argsort(rows["tied_score"].to_numpy(), kind="stable"))]
        assert value == pytest.approx(ndcg_score([truth], [recommended], k=10), abs=1e-12)


def test_notebook_protocol_counts_short_users_as_excluded(frame):
    result = api.evaluate(frame, baselines=["tied_score"], protocol="notebook")
    sizes = frame.groupby("user_id").size()
    row = result.summary.iloc[0]
    assert row["users"] == int((sizes >= 5).sum())
    assert row["excluded"] == int((sizes < 5).sum()) > 0


def test_rounded_protocol_rounds_labels_half_to_even_like_the_notebook(frame):
    """Labels on exact halves, where half-to-even (np.around, the notebook's) and half-up differ."""
    halves = frame.copy()
    rng = np.random.default_rng(7)
    halves["watch_ratio"] = rng.choice([0.5, 1.5, 2.5, 3.5], len(halves))
    column = "video_watch_ratio_mean"
    rounded = _fastrank_per_user(halves, column, "ndcg_notebook_rounded")
    want = nb.per_user(halves, nb.get_user_recommendation_data_baseline_bis, column)
    assert set(rounded) == set(want)
    for user, value in want.items():
        assert rounded[user] == pytest.approx(value, abs=1e-12), user
    # The case has power: rounding half up would change some users' values.
    half_up = halves.assign(watch_ratio=np.floor(halves["watch_ratio"] + 0.5) + 0.25)  # np.around leaves it
    moved = nb.per_user(half_up, nb.get_user_recommendation_data_baseline_bis, column)
    assert any(abs(moved[user] - want[user]) > 1e-9 for user in want)
