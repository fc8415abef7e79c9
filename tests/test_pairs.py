"""Excluded (user, item) pairs (fastrank.arrays.pairs, fastrank.inputs.pairs): left out of runs
and tables before anything is ranked, against a pandas anti-join written here; leaks counted."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastrank
from fastrank.arrays.pairs import Pairs

from .cli import in_process, refused


def anti_join(frame, pairs, user, item):
    """``frame`` without the rows whose (user, item) is in ``pairs`` (as text, so 1 and "1" meet)."""
    keys = set(zip(pairs[user].astype(str), pairs[item].astype(str), strict=True))
    held = [(u, i) in keys for u, i in zip(frame[user].astype(str), frame[item].astype(str), strict=True)]
    return frame[~np.array(held, bool)], int(np.sum(held))


@st.composite
def runs_and_pairs(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    text = draw(st.booleans())
    n_items = draw(st.integers(2, 20))
    ids = np.array([f"d{i}" for i in range(n_items)]) if text else np.arange(n_items) * 11
    rows = []
    for user in range(draw(st.integers(1, 6))):
        for item in rng.choice(n_items, size=int(rng.integers(1, n_items + 1)), replace=False):
            rows.append((user, ids[item], float(rng.integers(0, 4))))  # ties at the cutoff
    run = pd.DataFrame(rows, columns=["user_id", "item_id", "score"]).sample(frac=1, random_state=1)
    truth = pd.DataFrame(
        {"user_id": np.arange(6), "item_id": ids[rng.integers(0, n_items, 6)], "relevance": 1.0}
    )
    pairs = pd.DataFrame({"user_id": rng.integers(0, 8, 15), "item_id": ids[rng.integers(0, n_items, 15)]})
    return run, truth, pairs


@given(runs_and_pairs(), st.sampled_from(["trec", "average"]))
def test_runs_without_the_excluded_pairs_equal_the_anti_joined_runs(data, ties):
    run, truth, pairs = data
    metrics = ["ndcg@2", "mrr@all", "recall@3"]  # order-sensitive: the kept rows keep their ranks
    got = fastrank.evaluate_run(run, truth, metrics=metrics, ties=ties, exclude=pairs)
    kept, removed = anti_join(run, pairs, "user_id", "item_id")
    want = fastrank.evaluate_run(kept, truth, metrics=metrics, ties=ties)
    pd.testing.assert_frame_equal(got.per_user, want.per_user)
    _, leaked = anti_join(truth, pairs, "user_id", "item_id")
    notes = " ".join(got.notes)
    assert ((f"{removed} row" in notes) == (removed > 0) and "left out (exclude)" in notes) or removed == 0
    assert (f"exclude: {leaked} truth row" in notes) == (leaked > 0), notes


@given(runs_and_pairs(), st.sampled_from(["memory", "stream"]), st.integers(1, 9))
def test_a_tables_candidate_rows_of_excluded_pairs_are_left_out_in_every_engine(data, engine, chunk_rows):
    table, _, pairs = data
    table = table.rename(columns={"item_id": "video_id"}).sort_values("user_id", kind="stable")
    table["watch_ratio"] = np.arange(len(table)) % 3 / 2
    pairs = pairs.rename(columns={"item_id": "video_id"})
    kept, removed = anti_join(table, pairs, "user_id", "video_id")
    options = dict(scores="score", metrics=["ndcg@2", "rmse", "coverage@2"], min_items=1, engine=engine)
    options |= {"chunk_rows": chunk_rows} if engine == "stream" else {}
    if kept.empty:
        with pytest.raises(fastrank.InputError, match="every row is an excluded"):
            fastrank.evaluate(table, exclude=pairs, **options)
        return
    got = fastrank.evaluate(table, exclude=pairs, **options)
    want = fastrank.evaluate(kept, **options)
    pd.testing.assert_frame_equal(got.summary, want.summary, rtol=1e-12)
    relevant = int(anti_join(pairs, table[table.watch_ratio >= 1], "user_id", "video_id")[1] > 0)
    notes = " ".join(got.notes)
    assert (f"exclude: {removed:,} rows" in notes) == (removed > 0), notes
    assert ("relevant: a leak" in notes) == (removed > 0 and relevant > 0), notes


def test_pairs_meet_across_integer_and_text_ids_and_refuse_other_types():
    pairs = Pairs.of(pa.array([1, 2, 2]), pa.array(["a", "b", "c"]), "train")
    held = pairs.holds(pa.array(["1", "2", "1", "3"]), pa.array(["a", "a", "b", "c"]))
    assert held.tolist() == [True, False, False, False]
    with pytest.raises(fastrank.InputError, match="train: the user column holds double"):
        Pairs.of(pa.array([1.5]), pa.array(["a"]), "train")


def test_errors_after_exclusion_name_the_row_as_the_table_has_it(tmp_path, capsys):
    table = pd.DataFrame({"user_id": [1, 1, 2, 2], "video_id": [5, 6, 5, 6], "watch_ratio": [1, 0, 1, np.nan],
                          "score": [0.1, 0.2, 0.3, 0.4]})  # fmt: skip
    pairs = pd.DataFrame({"user_id": [1], "video_id": [5]})
    with pytest.raises(fastrank.InputError, match=re.escape("at row 3")):
        fastrank.evaluate(table, scores="score", exclude=pairs)
    table.iloc[:3].to_parquet(tmp_path / "t.parquet")
    pairs.to_parquet(tmp_path / "train.parquet")
    args = ["evaluate", tmp_path / "t.parquet", "--scores", "score", "--min-items", "1"]
    code, _, err = in_process(capsys, *args, "--exclude", tmp_path / "train.parquet")
    assert code == 0 and "exclude: 1 rows of excluded (user, item) pairs left out" in err, err
    pd.DataFrame({"user": [1]}).to_parquet(tmp_path / "bad.parquet")
    line = refused(
        capsys, "evaluate", tmp_path / "t.parquet", "--scores", "score", "--exclude", tmp_path / "bad.parquet"
    )
    assert "exclude column 'user_id'" in line, line
