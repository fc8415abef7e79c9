from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fastrank import InputError
from fastrank.arrays.columns import feature_matrix
from fastrank.inputs.outputs import check_writable, write_atomic, write_parquet_atomic
from fastrank.inputs.tables import TableSource

TABLE = pa.table(
    {"user_id": [1, 1, 2], "video_id": [5, 6, 5], "watch_ratio": [0.5, 1.0, 2.0], "f": [0.1, 0.2, 0.3]}
)


def test_reads_only_the_needed_columns_in_file_order(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(TABLE, path)
    source = TableSource(path)
    assert source.column_names == ["user_id", "video_id", "watch_ratio", "f"]
    table = source.read(["watch_ratio", "user_id"])
    assert table.column_names == ["watch_ratio", "user_id"]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p / "missing.parquet", r"missing.parquet: no such file or directory"),
        (lambda p: _write(p / "bad.parquet", b"this is not parquet"), r"bad.parquet: cannot read as parquet"),
        (lambda p: _mkdir(p / "empty_dir"), r"empty_dir: no parquet files in this directory"),
    ],
)
def test_unreadable_sources_raise_naming_the_file(tmp_path, make, match):
    with pytest.raises(InputError, match=match):
        TableSource(make(tmp_path))


def test_missing_column_lists_the_columns():
    with pytest.raises(InputError, match=r"table: no column 'label'; columns are: user_id, video_id"):
        TableSource(TABLE).read(["user_id", "label"])


def test_feature_matrix_is_float32_c_contiguous_and_rejects_nan():
    users = np.array([1, 1, 2])
    matrix = feature_matrix(TABLE, ["f", "watch_ratio"], "t", users)
    assert matrix.dtype == np.float32 and matrix.flags.c_contiguous and matrix.shape == (3, 2)
    bad = TABLE.set_column(3, "f", pa.array([0.1, float("nan"), 0.3]))
    with pytest.raises(InputError, match=r"feature column 'f' is nan at row 1 \(user 1\)"):
        feature_matrix(bad, ["f"], "t", users)
    text = TABLE.set_column(3, "f", pa.array(["a", "b", "c"]))
    with pytest.raises(InputError, match=r"column 'f' holds string, not numbers"):
        feature_matrix(text, ["f"], "t", users)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.parquet"

    def crash(temp):
        temp.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, crash)
    assert os.listdir(tmp_path) == []
    write_parquet_atomic(TABLE, target)
    assert pq.read_table(target).equals(TABLE)
    assert os.listdir(tmp_path) == ["out.parquet"]


def test_check_writable(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        check_writable(tmp_path / "no" / "x.parquet", "--per-user")
    with pytest.raises(InputError, match="is a directory"):
        check_writable(tmp_path, "--per-user")


def _write(path, data):
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir()
    return path
