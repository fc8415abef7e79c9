"""The Dask engine on a local cluster (2 worker processes x 1 thread): the in-memory per-user
values, the model loaded once per worker, user splits refused, and dead workers survived or
reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cloudpickle
import dask
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastrank
from fastrank.demo import DEMO_MODEL_PATH, make_demo_table
from fastrank.engines import dask as dask_engine
from fastrank.engines.bucketing import MANIFEST_NAME, BucketFile, Manifest, bucketize

from . import dask_faults
from .conftest import grouped_data
from .records import assert_records_close

BASELINE = "video_watch_ratio_mean"
KWARGS = dict(
    model=DEMO_MODEL_PATH, baselines=[BASELINE], k=[5, 10],
    metrics=["ndcg", "recall", "gauc", "r_precision", "coverage", "arp", "novelty", "gini", "entropy",
             "long_tail", "ild", "serendipity"],
    protocol=["standard", "notebook"], gauc_weight="watch_ratio",  # any column of weights >= 0
    popularity_col="watch_ratio", tail_ties="item",
)  # fmt: skip
# Sums over the lists in another order than in memory (partitions; rows of a shuffled file in
# their own order): equal within 1e-12.
BEYOND = ["arp", "novelty", "long_tail", "ild", "serendipity"]
KEY = ["protocol", "metric", "k", "source", "user"]
REPO = Path(__file__).resolve().parents[1]


def _cluster(**config):
    with dask.config.set(config):
        return LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
        )


@pytest.fixture(scope="module")
def client():
    with _cluster() as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask")
    frame = make_demo_table(n_users=40, n_videos=150, seed=3).to_pandas()
    frame.to_parquet(root / "sorted.parquet")
    shuffled = frame.sample(frac=1.0, random_state=2)
    shuffled.to_parquet(root / "shuffled.parquet", index=False)
    # Three files: three input partitions, whose rows the shuffle must put back in input order.
    (root / "parts").mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
        shuffled.iloc[part].to_parquet(root / "parts" / f"{i}.parquet", index=False)
    bucketize(root / "sorted.parquet", root / "buckets", 6)
    # Some (user, item) pairs left out: each partition counts its own, and the rows still add up.
    KWARGS["exclude"] = frame.sample(n=25, random_state=4)[["user_id", "video_id"]]
    videos = np.unique(frame.video_id)
    vectors = np.random.default_rng(5).normal(size=(len(videos), 4))
    KWARGS["item_features"] = pd.DataFrame({"video_id": videos, "v": list(vectors)})  # one list column
    KWARGS["history"] = frame.sample(n=60, random_state=6)[["user_id", "video_id"]]
    want = fastrank.evaluate(root / "sorted.parquet", engine="memory", **KWARGS)
    assert any(note.startswith("exclude: 25 rows") for note in want.notes)
    return root, frame, want


def _same(got, want):
    for beyond in (False, True):
        rows = [frame[frame.metric.isin(BEYOND) == beyond].sort_values(KEY).reset_index(drop=True)
                for frame in (got.per_user, want.per_user)]  # fmt: skip
        pd.testing.assert_frame_equal(*rows, check_exact=not beyond, rtol=1e-12)
    pd.testing.assert_frame_equal(got.summary, want.summary, check_exact=False, rtol=1e-12)
    assert (got.n_rows, got.n_users, got.duplicates) == (want.n_rows, want.n_users, want.duplicates)
    assert [note for note in got.notes if note.startswith("exclude")] == [
        note for note in want.notes if note.startswith("exclude")
    ]


def test_bucket_files_equal_in_memory_and_each_worker_loads_the_model_once(client, data, capsys):
    root, _, want = data
    for progress in (False, True):  # a second run reuses the models the workers already hold
        got = fastrank.evaluate(
            root / "buckets", engine="dask", scheduler=client, progress=progress, **KWARGS
        )
        _same(got, want)
        drawn = capsys.readouterr().err
        assert ("fastrank: dask" in drawn and "/6 [" in drawn) == progress, drawn  # of all partitions
    assert any("6 bucket files on 2 workers" in note for note in got.notes)
    loads = client.run(dask_engine.model_loads)
    assert len(loads) == 2
    path = str(Path(DEMO_MODEL_PATH).resolve())
    assert all(counts in ({path: 1}, {}) for counts in loads.values()), loads
    assert sum(counts.get(path, 0) for counts in loads.values()) >= 1


@pytest.mark.parametrize("kind", ["shuffled parquet", "directory of 3 files", "frame"])
def test_unbucketed_input_is_shuffled_by_user_and_equals_in_memory(client, data, kind):
    root, frame, want = data
    source = {
        "shuffled parquet": root / "shuffled.parquet",
        "directory of 3 files": root / "parts",
        "frame": frame.sample(frac=1.0, random_state=5),
    }[kind]
    got = fastrank.evaluate(source, engine="dask", scheduler=client, **KWARGS)
    _same(got, want)
    assert any("after a shuffle on the user column" in note for note in got.notes)


def test_a_user_split_across_bucket_files_fails(client, data, tmp_path):
    _, frame, _ = data
    users = frame.user_id.unique()
    first = frame[frame.user_id.isin(users[:5])]
    # The second file repeats two rows of the first file's last user.
    second = pd.concat([first.tail(2), frame[frame.user_id.isin(users[5:9])]])
    out = tmp_path / "bad"
    out.mkdir()
    files = []
    for i, part in enumerate([first, second]):
        part.to_parquet(out / f"part-{i:05d}.parquet", index=False)
        files.append(BucketFile(path=f"part-{i:05d}.parquet", rows=len(part), users=part.user_id.nunique()))
    manifest = Manifest(
        user_col="user_id", hash="splitmix64(int64)", buckets=2, rows=len(first) + len(second),
        columns=list(frame.columns), files=files,
    )  # fmt: skip
    (out / MANIFEST_NAME).write_text(manifest.to_json())
    user = first.user_id.iloc[-1]
    with pytest.raises(fastrank.InputError, match=rf"user {user} was found in partitions \[0, 1\]"):
        fastrank.evaluate(out, engine="dask", scheduler=client, baselines=[BASELINE])


def test_a_worker_killed_once_is_retried_and_the_result_is_unchanged(data, tmp_path):
    root, _, want = data
    marker = tmp_path / "killed"
    cloudpickle.register_pickle_by_value(dask_faults)
    with _cluster() as cluster, Client(cluster) as client:
        client.register_plugin(dask_faults.KillOnScore(dask_engine.TASK_LABEL, str(marker)))
        got = fastrank.evaluate(root / "buckets", engine="dask", scheduler=client, **KWARGS)
    assert marker.exists()  # a worker did die mid-run
    _same(got, want)


def test_workers_dying_beyond_the_retries_fail_clearly(data):
    root, _, _ = data
    cloudpickle.register_pickle_by_value(dask_faults)
    with (
        _cluster(**{"distributed.scheduler.allowed-failures": 0}) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(dask_faults.KillOnScore(dask_engine.TASK_LABEL))
        with pytest.raises(fastrank.EngineError, match=r"workers died running .*no result was produced"):
            fastrank.evaluate(root / "buckets", engine="dask", scheduler=client, baselines=[BASELINE])


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "fastrank", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_dask_with_a_local_cluster_equals_in_memory(data):
    root, _, _ = data
    common = ["--model", DEMO_MODEL_PATH, "--baseline", BASELINE, "--json", "--quiet"]
    memory = _cli("evaluate", root / "sorted.parquet", *common, "--engine", "memory")
    on_dask = _cli("evaluate", root / "buckets", *common, "--engine", "dask", "--workers", "2")
    assert memory.returncode == on_dask.returncode == 0, on_dask.stderr
    assert_records_close(json.loads(on_dask.stdout), json.loads(memory.stdout), rel=1e-14)


def test_cli_bucketize_then_stream_equals_the_original(data, tmp_path):
    root, _, _ = data
    done = _cli("bucketize", root / "shuffled.parquet", tmp_path / "b", "--buckets", "3")
    assert done.returncode == 0 and "wrote 3 files" in done.stderr, done.stderr
    common = ["--baseline", BASELINE, "--json", "--quiet", "-k", "1", "10"]
    original = _cli("evaluate", root / "shuffled.parquet", *common)
    streamed = _cli("evaluate", tmp_path / "b", *common, "--stream", "--chunk-rows", "100")
    assert original.returncode == streamed.returncode == 0, streamed.stderr
    assert_records_close(json.loads(streamed.stdout), json.loads(original.stdout), rel=1e-14)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"], "cannot connect"),
        (["--workers", "2"], "error: --workers needs --engine dask"),  # not --scheduler: not given
        (["--engine", "memory", "--stream"], "contradicts"),
        (["--engine", "dask", "--workers", "0"], "--workers must be >= 1"),
        (["--engine", "dask", "--chunk-rows", "5"], "--chunk-rows is for streaming"),
    ],
)
def test_cli_engine_misuse_exits_2_with_one_line(data, args, message):
    root, _, _ = data
    done = _cli("evaluate", root / "buckets", "--baseline", BASELINE, *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_stream_refuses_an_unsorted_table_in_one_line(data):
    root, _, _ = data
    done = _cli(
        "evaluate", root / "shuffled.parquet", "--baseline", BASELINE, "--stream", "--chunk-rows", "50"
    )
    assert done.returncode == 2
    assert "appears again at row" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_model_objects_cannot_go_to_dask(data):
    root, _, _ = data
    with pytest.raises(fastrank.InputError, match="give the model as a file path"):
        fastrank.evaluate(root / "buckets", engine="dask", model=object(), features=["video_duration"])


@pytest.mark.parametrize("missing", [1, -1])
def test_partitions_that_do_not_add_up_to_the_input_are_an_engine_error(tmp_path, missing):
    """The guard behind every Dask result: users' rows must add up to the input's rows, fewer or more."""
    from fastrank.api.options import Options, resolve
    from fastrank.inputs.tables import TableSource

    frame = pd.DataFrame({"user_id": [1, 1, 2, 2, 2], "watch_ratio": [1.0, 0.0, 2.0, 1.0, 0.0], "s": 0.5})
    frame.to_parquet(tmp_path / "t.parquet")
    source = TableSource(tmp_path / "t.parquet")
    plan = resolve(Options(baselines=["s"], item_col=None), source).plan
    result = pd.DataFrame(
        {
            "user": [1, 2],
            "n_items": [2, 3 - missing],
            "partition": [0, 1],
            "excluded": 0,
            "excluded_relevant": 0,
        }
    )
    for key in plan.value_keys:
        result[dask_engine._column_name(key)] = 0.5
    with pytest.raises(fastrank.EngineError, match=rf"partitions held {5 - missing} rows, but .* has 5"):
        dask_engine._scored(result, plan, source, None)
    result["n_items"] = [2, 3]
    assert dask_engine._scored(result, plan, source, None).n_rows == 5
    result["n_items"], result["excluded"] = [2, 2], [1, 0]  # rows of excluded pairs count as read
    assert dask_engine._scored(result, plan, source, None).n_rows == 4


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=grouped_data(max_size=30, max_groups=10, tied=True),
    ids=st.sampled_from(["text", "sparse", "dense"]),
    ks=st.sampled_from([[1], [3, 10]]),
)
def test_beyond_accuracy_on_dask_equals_in_memory(client, data, ids, ks):
    """Ties at the cutoff, text, sparse and dense ids, several k: each partition's lists over
    the catalog read first give the in-memory values within 1e-12."""
    users, labels, scores = data
    codes = np.random.default_rng(len(users)).integers(0, 20, len(users))
    items = {"text": [f"v{i}" for i in codes], "sparse": codes * 1_000_003, "dense": codes + 3}[ids]
    frame = pd.DataFrame({"user_id": users, "video_id": items, "watch_ratio": labels, "score": scores})
    metrics = ["coverage", "arp", "novelty", "gini", "entropy", "long_tail"]
    options = dict(scores="score", k=ks, metrics=metrics, min_items=1)
    want = fastrank.evaluate(frame, engine="memory", **options)
    got = fastrank.evaluate(frame, engine="dask", scheduler=client, **options)
    pd.testing.assert_frame_equal(got.summary, want.summary, rtol=1e-12)
    key = ["metric", "k", "user"]
    got, want = (result.per_user.sort_values(key).reset_index(drop=True) for result in (got, want))
    pd.testing.assert_frame_equal(got, want, rtol=1e-12)
