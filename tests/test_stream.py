"""The streaming engine: chunks cut at user boundaries give exactly the in-memory per-user values."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastrank
from fastrank.demo import DEMO_MODEL_PATH, make_demo_table
from fastrank.engines import stream
from fastrank.engines.stream import user_chunks
from fastrank.inputs.tables import TableSource

from .conftest import grouped_data

BASELINE = "video_watch_ratio_mean"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_demo_table(n_users=30, n_videos=120, seed=11).to_pandas()


def _batches(table: pa.Table, sizes: list[int]):
    """``table`` as record batches whose sizes cycle through ``sizes``."""
    start, turn = 0, 0
    while start < table.num_rows:
        size = sizes[turn % len(sizes)]
        yield from table.slice(start, size).to_batches()
        start, turn = start + size, turn + 1


@given(
    data=grouped_data(max_size=40, max_groups=15),
    batch_sizes=st.lists(st.integers(1, 60), min_size=1, max_size=30),
    chunk_rows=st.integers(1, 150),
)
def test_chunks_hold_whole_users_and_every_row_once(data, batch_sizes, chunk_rows):
    users, labels, _ = data
    table = pa.table({"user": users, "label": labels, "row": np.arange(len(users))})
    chunks = list(user_chunks(_batches(table, batch_sizes), "user", chunk_rows))
    rows = np.concatenate([c.column("row").to_numpy() for _, c in chunks])
    np.testing.assert_array_equal(rows, np.arange(len(users)))  # every row once, in order
    assert [first for first, _ in chunks] == list(np.cumsum([0] + [c.num_rows for _, c in chunks])[:-1])
    for (_, chunk), (_, after) in itertools.pairwise(chunks):
        assert chunk.column("user")[-1] != after.column("user")[0]  # cut between users
        # Cut at the first boundary at or after chunk_rows rows: bigger only by its last user.
        assert chunk.num_rows >= chunk_rows
        assert chunk.num_rows - _last_run(chunk) < chunk_rows


def _last_run(chunk: pa.Table) -> int:
    users = chunk.column("user").to_numpy()
    return int(np.sum(users == users[-1]))


@given(data=grouped_data(max_size=60, max_groups=10), chunk_rows=st.integers(1, 200))
def test_streaming_equals_in_memory_on_random_groups(data, chunk_rows):
    users, labels, scores = data
    # GAUC's weights: a column that varies, never 0 for every user (an undefined mean, refused).
    frame = pd.DataFrame({"user_id": users, "watch_ratio": labels, "score": scores, "weight": scores + 0.25})
    kwargs = dict(
        baselines=["score"], item_col=None, k=[1, 3, 10], metrics=["ndcg", "map", "mrr", "auc", "gauc", "f1"],
        min_items=1, gauc_weight="weight",
    )  # fmt: skip
    want = fastrank.evaluate(frame, engine="memory", **kwargs)
    got = fastrank.evaluate(frame, engine="stream", chunk_rows=chunk_rows, **kwargs)
    pd.testing.assert_frame_equal(got.per_user, want.per_user, check_exact=True)
    pd.testing.assert_frame_equal(got.summary, want.summary, check_exact=True)


@pytest.mark.parametrize("chunk_rows", [1, 97, 1000, 10**9])
def test_streaming_a_model_equals_in_memory(frame, tmp_path, chunk_rows):
    path = tmp_path / "t.parquet"
    # Small row groups, so the stream reads many batches and users cross batch edges.
    pa.parquet.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=333)
    kwargs = dict(
        model=DEMO_MODEL_PATH, baselines=[BASELINE], k=[5, 10], metrics=["ndcg", "precision"],
        protocol=["standard", "notebook"],
    )  # fmt: skip
    want = fastrank.evaluate(path, engine="memory", **kwargs)
    got = fastrank.evaluate(path, engine="stream", chunk_rows=chunk_rows, **kwargs)
    pd.testing.assert_frame_equal(got.per_user, want.per_user, check_exact=True)
    pd.testing.assert_frame_equal(got.summary, want.summary, check_exact=True)
    assert (got.n_rows, got.n_users, got.duplicates) == (want.n_rows, want.n_users, want.duplicates)
    assert any(note.startswith("stream:") for note in got.notes)


def test_streaming_counts_duplicates_and_reads_csv(frame, tmp_path):
    doubled = pd.concat([frame, frame.iloc[:7]]).sort_values("user_id", kind="stable")
    path = tmp_path / "t.csv"
    doubled.to_csv(path, index=False, float_format="%.17g")
    want = fastrank.evaluate(path, baselines=[BASELINE], engine="memory")
    got = fastrank.evaluate(path, baselines=[BASELINE], engine="stream", chunk_rows=50)
    assert got.duplicates == want.duplicates == 7
    pd.testing.assert_frame_equal(got.per_user, want.per_user, check_exact=True)


def test_a_user_met_again_fails_naming_user_and_row(frame):
    moved = pd.concat([frame.iloc[5:], frame.iloc[:5]])  # the first user's first rows go last
    user = frame.user_id.iloc[0]
    with pytest.raises(
        fastrank.InputError, match=rf"user {user} appears again at row {len(frame) - 5}.*bucketize"
    ):
        fastrank.evaluate(moved, baselines=[BASELINE], engine="stream", chunk_rows=100)


def test_bad_value_in_a_late_chunk_names_the_same_row_as_in_memory(frame):
    broken = frame.copy()
    broken.loc[broken.index[-3], "watch_ratio"] = np.nan
    with pytest.raises(fastrank.InputError) as in_memory:
        fastrank.evaluate(broken, baselines=[BASELINE], engine="memory")
    with pytest.raises(fastrank.InputError) as streamed:
        fastrank.evaluate(broken, baselines=[BASELINE], engine="stream", chunk_rows=100)
    assert str(streamed.value) == str(in_memory.value)
    assert f"row {len(frame) - 3}" in str(streamed.value)


def test_auto_streams_when_memory_is_short(frame, tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    want = fastrank.evaluate(path, baselines=[BASELINE], engine="memory")
    assert stream.too_large_for_memory(TableSource(path), ["a", "b"]) is None
    monkeypatch.setattr(stream, "available_memory", lambda: 1000)
    got = fastrank.evaluate(path, baselines=[BASELINE])
    assert any(note.startswith("engine: streaming, because") for note in got.notes)
    pd.testing.assert_frame_equal(got.per_user, want.per_user, check_exact=True)
    # The beyond-accuracy metrics stream too: each chunk's lists over a catalog read first.
    metrics = ["ndcg", "coverage", "novelty"]
    got = fastrank.evaluate(path, baselines=[BASELINE], metrics=metrics)
    want = fastrank.evaluate(path, baselines=[BASELINE], metrics=metrics, engine="memory")
    assert any(note.startswith("engine: streaming, because") for note in got.notes)
    pd.testing.assert_frame_equal(got.summary, want.summary, rtol=1e-12)


@pytest.mark.parametrize("chunk_rows", [0, -1, 2.5, True])
def test_bad_chunk_rows(frame, chunk_rows):
    with pytest.raises(fastrank.InputError, match="chunk_rows"):
        fastrank.evaluate(frame, baselines=[BASELINE], engine="stream", chunk_rows=chunk_rows)


def test_score_arrays_need_the_in_memory_engine(frame):
    with pytest.raises(fastrank.InputError, match="array"):
        fastrank.evaluate(frame, scores=np.zeros(len(frame)), engine="stream")


def test_streaming_draws_a_bar_of_the_rows_done_when_asked(frame, tmp_path, capsys):
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    fastrank.evaluate(path, baselines=[BASELINE], engine="stream", chunk_rows=500)
    assert capsys.readouterr().err == ""
    fastrank.evaluate(path, baselines=[BASELINE], engine="stream", chunk_rows=500, progress=True)
    drawn = capsys.readouterr().err
    assert "fastrank: streaming" in drawn and f"/{len(frame) / 1000:.2f}k [" in drawn, drawn  # of all rows


BEYOND = ["coverage", "arp", "novelty", "gini", "entropy", "long_tail"]


@given(
    data=grouped_data(max_size=30, max_groups=12, tied=True),
    ids=st.sampled_from(["text", "sparse", "dense"]),
    chunk_rows=st.integers(1, 40),
    ks=st.sampled_from([[1], [2, 5], [40]]),
    ties=st.sampled_from(["average", "pessimistic"]),
    tail=st.sampled_from([(0.8, "head"), (0.1, "item")]),
    weighted=st.booleans(),
)
def test_beyond_accuracy_metrics_stream_to_the_in_memory_values(
    data, ids, chunk_rows, ks, ties, tail, weighted
):
    users, labels, scores = data
    rng = np.random.default_rng(len(users))
    codes = rng.integers(0, 25, len(users))
    # Text, integers far apart (hashed) or in a dense range (counted in arrays indexed by id).
    items = {"text": [f"v{i}" for i in codes], "sparse": codes * 1_000_003, "dense": codes + 7}[ids]
    frame = pd.DataFrame(
        {"user_id": users, "video_id": items, "watch_ratio": labels,
         "score": scores, "plays": rng.random(len(users)) + 0.5},
    ).sort_values("user_id", kind="stable")  # fmt: skip
    options = dict(scores="score", k=ks, metrics=BEYOND, ties=ties, min_items=1, tail_share=tail[0],
                   tail_ties=tail[1], popularity_col="plays" if weighted else None)  # fmt: skip
    want = fastrank.evaluate(frame, engine="memory", **options)
    got = fastrank.evaluate(pa.Table.from_pandas(frame), engine="stream", chunk_rows=chunk_rows, **options)
    pd.testing.assert_frame_equal(got.summary, want.summary, rtol=1e-12)
    key = ["metric", "k", "user"]
    got, want = (result.per_user.sort_values(key).reset_index(drop=True) for result in (got, want))
    pd.testing.assert_frame_equal(got, want, rtol=1e-12)
