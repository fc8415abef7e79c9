"""Tests for the synthetic demo table and its parquet cache (no TensorFlow needed)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fastrank import demo

ROOT = Path(__file__).resolve().parents[1]

EXPECTED_COLUMNS = [
    "user_id",
    "video_id",
    "watch_ratio",
    "video_duration",
    "user_watch_ratio_mean",
    "video_watch_ratio_mean",
    "user_feat_watch_ratio_mean",
    "user_category_watch_ratio_mean",
]


@pytest.fixture(scope="module")
def medium_table() -> pa.Table:
    return demo.make_demo_table(n_users=200, n_videos=600, seed=3)


def test_constants_match_columns():
    assert [demo.USER, demo.ITEM, demo.LABEL, *demo.FEATURES] == EXPECTED_COLUMNS
    assert isinstance(demo.FEATURES, tuple)
    assert demo.DEMO_MODEL_PATH.name == "demo_model.keras"
    assert demo.DEMO_MODEL_PATH.parent.name == "data"
    assert demo.DEMO_MODEL_PATH.is_file()


def test_deterministic():
    a = demo.make_demo_table(n_users=30, n_videos=200, seed=7)
    b = demo.make_demo_table(n_users=30, n_videos=200, seed=7)
    assert a.equals(b)
    c = demo.make_demo_table(n_users=30, n_videos=200, seed=8)
    assert not a.equals(c)


def test_schema(medium_table):
    assert medium_table.column_names == EXPECTED_COLUMNS
    assert medium_table.schema.field("user_id").type == pa.int64()
    assert medium_table.schema.field("video_id").type == pa.int64()
    for name in EXPECTED_COLUMNS[2:]:
        assert medium_table.schema.field(name).type == pa.float64(), name
    for column in medium_table.columns:
        assert column.null_count == 0


def test_labels_non_negative_finite_heavy_tailed(medium_table):
    wr = medium_table["watch_ratio"].to_numpy()
    assert np.isfinite(wr).all()
    assert (wr >= 0).all()
    assert 0.6 < np.median(wr) < 0.95
    assert 2.5 < np.quantile(wr, 0.99) < 5.0


def test_rows_grouped_by_user(medium_table):
    users = medium_table["user_id"].to_numpy()
    starts = users[np.r_[True, users[1:] != users[:-1]]]
    # Each user id starts exactly one run, so its rows are contiguous; runs ascend.
    assert len(starts) == len(np.unique(users)) == 200
    assert (np.diff(starts) > 0).all()
    assert users.min() >= 14 and users.max() <= 7162


def test_no_duplicate_pairs_and_about_85_percent_dense(medium_table):
    users = medium_table["user_id"].to_numpy()
    videos = medium_table["video_id"].to_numpy()
    pairs = users.astype(np.int64) * 100_000 + videos
    assert len(np.unique(pairs)) == len(pairs)
    assert len(np.unique(videos)) <= 600
    assert 0.8 < medium_table.num_rows / (200 * 600) < 0.9
    assert videos.min() >= 0 and videos.max() < 10_728


def test_video_order_within_user_not_sorted(medium_table):
    users = medium_table["user_id"].to_numpy()
    videos = medium_table["video_id"].to_numpy()
    first = videos[users == users[0]]
    assert not (np.diff(first) > 0).all()


def test_features_standard_scaled(medium_table):
    for name in demo.FEATURES:
        x = medium_table[name].to_numpy()
        assert np.isfinite(x).all(), name
        assert abs(x.mean()) < 1e-9, name
        assert abs(x.std() - 1.0) < 1e-9, name


def test_features_carry_signal(medium_table):
    wr = medium_table["watch_ratio"].to_numpy()
    for name in demo.FEATURES[1:]:
        r = np.corrcoef(medium_table[name].to_numpy(), np.log1p(wr))[0, 1]
        # Informative, but no feature reproduces the label.
        assert 0.1 < r < 0.9, (name, r)


def test_tiny_sizes():
    one = demo.make_demo_table(n_users=1, n_videos=1)
    assert one.num_rows == 1
    assert one["user_id"].to_pylist() == [14]
    for name in demo.FEATURES:
        assert one[name].to_pylist() == [0.0]
    with pytest.raises(ValueError):
        demo.make_demo_table(n_users=0)
    with pytest.raises(ValueError):
        demo.make_demo_table(n_videos=10_729)


def test_default_size():
    start = time.perf_counter()
    table = demo.make_demo_table()
    elapsed = time.perf_counter() - start
    assert table.num_rows == 3_830_602
    users = table["user_id"].to_numpy()
    assert len(np.unique(users)) == 1354
    assert users.min() == 14 and users.max() == 7162
    assert len(np.unique(table["video_id"].to_numpy())) == 3327
    assert elapsed < 15.0  # ~1-2 s on 2 cores; generous for slow CI runners


def test_demo_table_path_caches(tmp_path, monkeypatch):
    small = demo.make_demo_table(n_users=20, n_videos=50)
    calls = []

    def fake_make_demo_table():
        calls.append(1)
        return small

    # The cache logic does not depend on table size; keep the test fast.
    monkeypatch.setattr(demo, "make_demo_table", fake_make_demo_table)
    cache = tmp_path / "cache"
    monkeypatch.setenv("FASTRANK_CACHE_DIR", str(cache))

    path = demo.demo_table_path()
    assert path.parent == cache
    assert path.name.startswith("demo-v") and path.suffix == ".parquet"
    assert pq.read_table(path).equals(small)
    mtime = path.stat().st_mtime_ns

    again = demo.demo_table_path()
    assert again == path
    assert again.stat().st_mtime_ns == mtime
    assert len(calls) == 1
    assert sorted(p.name for p in cache.iterdir()) == [path.name]


def test_demo_table_path_explicit_dir_and_env_fallbacks(tmp_path, monkeypatch):
    small = demo.make_demo_table(n_users=5, n_videos=10)
    monkeypatch.setattr(demo, "make_demo_table", lambda: small)

    explicit = demo.demo_table_path(tmp_path / "explicit")
    assert explicit.parent == tmp_path / "explicit"

    monkeypatch.delenv("FASTRANK_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert demo.demo_table_path().parent == tmp_path / "xdg" / "fastrank"

    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert demo.demo_table_path().parent == tmp_path / "home" / ".cache" / "fastrank"


def test_demo_table_path_no_partial_file_on_failure(tmp_path, monkeypatch):
    small = demo.make_demo_table(n_users=5, n_videos=10)
    monkeypatch.setattr(demo, "make_demo_table", lambda: small)

    def broken_write(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(demo.pq, "write_table", broken_write)
    with pytest.raises(OSError, match="disk full"):
        demo.demo_table_path(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_import_does_not_load_tensorflow():
    code = (
        "import sys, fastrank.demo; assert 'tensorflow' not in sys.modules, 'tf'; "
        "assert 'keras' not in sys.modules, 'keras'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_shipped_model_uses_plain_layers():
    with zipfile.ZipFile(demo.DEMO_MODEL_PATH) as archive:
        assert {"config.json", "model.weights.h5"} <= set(archive.namelist())
        config = json.loads(archive.read("config.json"))
    layers = config["config"]["layers"]
    # A TensorFlow-free evaluator only understands these layer types.
    assert {layer["class_name"] for layer in layers} <= {"InputLayer", "Dense"}
    assert layers[0]["config"]["batch_shape"] == [None, len(demo.FEATURES)]
    assert layers[-1]["config"]["units"] == 1
    assert demo.DEMO_MODEL_PATH.stat().st_size < 100_000
