from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastrank.engines.bucketing import (
    MANIFEST_NAME,
    BucketFile,
    Manifest,
    bucketize,
    read_manifest,
    user_buckets,
)
from fastrank.errors import InputError

REPO = Path(__file__).resolve().parents[1]

# --- an independent, plain-Python statement of the hash ---

M64 = 2**64 - 1


def splitmix64_mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & M64
    return h


def ref_bucket(user, n_buckets: int) -> int:
    if isinstance(user, str):
        return splitmix64_mix(fnv1a64(user.encode("utf-8"))) % n_buckets
    return splitmix64_mix(int(user) & M64) % n_buckets  # int64 two's complement, read as uint64


def test_reference_hash_matches_published_vectors():
    # FNV-1a 64 test vectors (Fowler/Noll/Vo), and splitmix64's first output for seed 0 (Vigna).
    assert fnv1a64(b"") == 0xCBF29CE484222325
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a64(b"foobar") == 0x85944171F73967E8
    assert splitmix64_mix(0x9E3779B97F4A7C15) == 0xE220A8397B1DCDAF


INTS = [0, 1, -1, 42, 2**40, -(2**63)]
STRINGS = ["", "a", "user-17", "héllo", "日本"]
# Computed once with the reference above; a changed hash breaks every existing bucket directory.
EXPECTED = {
    (tuple(INTS), 10): [0, 9, 7, 2, 8, 0],
    (tuple(INTS), 2**32): [0, 269157861, 4073438587, 3564271138, 2082894840, 2043586954],
    (tuple(STRINGS), 10): [3, 6, 1, 0, 4],
    (tuple(STRINGS), 2**32): [2847271067, 1209278712, 3792769127, 2893138878, 990523142],
}


@pytest.mark.parametrize(("ids", "n_buckets"), list(EXPECTED))
def test_hard_coded_buckets(ids, n_buckets):
    expected = EXPECTED[ids, n_buckets]
    assert [ref_bucket(u, n_buckets) for u in ids] == expected
    assert user_buckets(pa.array(list(ids)), n_buckets).tolist() == expected


def test_every_integer_type_hashes_as_int64():
    values = [0, 1, 5, 100, 127]
    expected = [ref_bucket(v, 97) for v in values]
    for type_ in [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint32(), pa.uint64()]:
        assert user_buckets(pa.array(values, type_), 97).tolist() == expected, type_
    assert user_buckets(pa.array([float(v) for v in values]), 97).tolist() == expected
    assert user_buckets(np.array(values, np.float32), 97).tolist() == expected
    assert user_buckets(np.array([True, False]), 97).tolist() == [ref_bucket(1, 97), ref_bucket(0, 97)]
    negatives = [-1, -2, -(2**40)]
    assert user_buckets(np.array(negatives), 97).tolist() == [ref_bucket(v, 97) for v in negatives]
    big = 2**64 - 5  # uint64 above 2**63: same bits as int64 -5
    assert user_buckets(pa.array([big], pa.uint64()), 97).tolist() == [ref_bucket(-5, 97)]


def test_every_string_layout_hashes_alike():
    ids = ["u1", "", "ü日本", "u1", "a longer user id"]
    expected = [ref_bucket(u, 13) for u in ids]
    arrays = [
        pa.array(ids),
        pa.array(ids, pa.large_string()),
        pa.array(ids).dictionary_encode(),
        pa.chunked_array([ids[:2], ids[2:]]),
        np.array(ids, dtype=object),
        np.array(ids),
    ]
    for array in arrays:
        assert user_buckets(array, 13).tolist() == expected
    # A slice shares its parent's buffers, starting at an offset.
    assert user_buckets(pa.array(["x", *ids]).slice(1), 13).tolist() == expected


def test_string_buckets_do_not_depend_on_the_interpreter():
    # Python's hash() of a str is salted per process; the bucket must not be.
    ids = ["alice", "bob", "carol", "dave", "日本", ""]
    here = user_buckets(pa.array(ids), 1000).tolist()
    code = (
        "import pyarrow as pa; from fastrank.engines.bucketing import user_buckets; "
        f"print(user_buckets(pa.array({ids!r}), 1000).tolist(), hash('alice'))"
    )
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": path}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    buckets, salted = result.stdout.rsplit(" ", 1)
    assert int(salted) != hash("alice")  # the child's str hash is salted differently
    assert json.loads(buckets) == here


def test_user_buckets_errors():
    with pytest.raises(InputError, match=r"users is empty \(null\) at row 2"):
        user_buckets(pa.array(["a", "b", None]), 4)
    with pytest.raises(InputError, match=r"non-integral user id 1\.5 at row 1"):
        user_buckets(np.array([1.0, 1.5]), 4)
    with pytest.raises(InputError, match="non-integral user id nan at row 0"):
        user_buckets(np.array([np.nan]), 4)
    with pytest.raises(InputError, match="holds binary; user ids must be integers or strings"):
        user_buckets(pa.array([b"a"]), 4)
    with pytest.raises(InputError, match=r"holds timestamp\[s\]"):
        user_buckets(pa.array([1], pa.timestamp("s")), 4)
    for bad in (0, -1, 2.0, True, "3"):
        with pytest.raises(
            InputError, match=rf"The 'buckets' parameter must be an int >= 1. Got {bad!r} instead."
        ):
            user_buckets(np.array([1]), bad)


# --- bucketize ---


def interleaved(users, rows_per_user=3, seed=0):
    """Each user's rows spread through the table; ``row`` is the input row number."""
    rng = np.random.default_rng(seed)
    column = rng.permutation(np.repeat(np.asarray(users, dtype=object), rows_per_user))
    frame = pd.DataFrame({"user_id": list(column), "item": rng.integers(0, 5, len(column))})
    frame["score"] = rng.random(len(frame))
    frame["row"] = np.arange(len(frame))
    if all(isinstance(u, (int, np.integer)) for u in users):
        frame["user_id"] = frame["user_id"].astype(np.int64)
    return frame


def sort_all(frame):
    return frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)


def rows_of(table):
    return [tuple(row.values()) for row in table.to_pylist()]


def check_buckets(out, frame, n_buckets, user_col="user_id"):
    """Every check on a bucket directory against the input ``frame``; returns each file's rows."""
    out = Path(out)
    names = [f"part-{b:05d}.parquet" for b in range(n_buckets)]
    assert sorted(os.listdir(out)) == sorted([MANIFEST_NAME, *names])
    manifest = read_manifest(out)
    assert manifest.buckets == n_buckets and manifest.user_col == user_col
    assert manifest.rows == len(frame) and manifest.columns == list(frame.columns)
    assert [f.path for f in manifest.files] == names
    position = list(frame.columns).index(user_col)
    given_rows = rows_of(pa.Table.from_pandas(frame, preserve_index=False))
    parts, home = [], {}
    for bucket, entry in enumerate(manifest.files):
        table = pq.read_table(out / entry.path)
        assert table.schema.names == list(frame.columns)
        rows = rows_of(table)
        users = [row[position] for row in rows]
        assert users == sorted(users)
        assert (entry.rows, entry.users) == (len(rows), len(set(users)))
        for user in set(users):
            assert user not in home  # one file per user
            home[user] = bucket
            assert ref_bucket(user, n_buckets) == bucket
            # Stable: the user's rows, all columns, in input order.
            assert [r for r in rows if r[position] == user] == [r for r in given_rows if r[position] == user]
        parts.append(rows)
    assert set(home) == set(frame[user_col])
    assert sorted(row for rows in parts for row in rows) == sorted(given_rows)
    return manifest, parts


def test_string_ids_with_batches_cutting_through_users(tmp_path):
    frame = interleaved([f"user-{i}" for i in range(25)] + ["é", ""], rows_per_user=4)
    manifest = bucketize(frame, tmp_path / "out", 5, batch_rows=7)
    assert manifest == read_manifest(tmp_path / "out")
    assert manifest.hash == "fnv1a64(utf8)+splitmix64"
    check_buckets(tmp_path / "out", frame, 5)


def test_int_ids_with_negatives(tmp_path):
    frame = interleaved([-(2**40), -3, -1, 0, 1, 2, 7, 10**12, 2**62], rows_per_user=3)
    manifest = bucketize(frame, tmp_path / "out", 3, batch_rows=7)
    assert manifest.hash == "splitmix64(int64)"
    check_buckets(tmp_path / "out", frame, 3)


def test_one_bucket(tmp_path):
    frame = interleaved(list(range(10)))
    manifest = bucketize(frame, tmp_path / "out", 1)
    _, (rows,) = check_buckets(tmp_path / "out", frame, 1)
    assert manifest.files == [BucketFile("part-00000.parquet", len(frame), 10)]
    assert [row[3] for row in rows] == frame.sort_values("user_id", kind="stable")["row"].tolist()


def test_more_buckets_than_users_writes_empty_files(tmp_path):
    frame = interleaved(["a", "b", "c"])  # 9 rows: as many buckets as rows, three times the users
    manifest = bucketize(frame, tmp_path / "out", 9, batch_rows=4)
    check_buckets(tmp_path / "out", frame, 9)
    empty = [f for f in manifest.files if f.rows == 0]
    assert len(empty) >= 6 and all(f.users == 0 for f in empty)
    table = pq.read_table(tmp_path / "out" / empty[0].path)
    assert table.num_rows == 0 and table.schema.names == list(frame.columns)
    assert (
        table.schema.field("user_id").type
        == pq.read_schema(tmp_path / "out" / "part-00000.parquet").field("user_id").type
    )


def test_same_output_from_parquet_csv_frame_table_and_directory(tmp_path):
    frame = interleaved([f"u{i}" for i in range(30)], rows_per_user=5)
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    frame.to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "dir").mkdir()
    frame.iloc[:70].to_parquet(tmp_path / "dir" / "a.parquet", index=False)
    frame.iloc[70:].to_parquet(tmp_path / "dir" / "b.parquet", index=False)
    sources = {
        "parquet": tmp_path / "in.parquet",
        "csv": str(tmp_path / "in.csv"),
        "frame": frame,
        "table": pa.Table.from_pandas(frame, preserve_index=False),
        "dir": tmp_path / "dir",
    }
    results = {}
    for name, source in sources.items():
        manifest = bucketize(source, tmp_path / f"out-{name}", 6, batch_rows=11)
        results[name] = manifest, check_buckets(tmp_path / f"out-{name}", frame, 6)[1]
    first_manifest, first_parts = results["parquet"]
    for manifest, parts in results.values():
        assert manifest == first_manifest
        assert parts == first_parts


def test_deterministic_across_runs(tmp_path):
    frame = interleaved([f"u{i}" for i in range(40)] + ["日本"], rows_per_user=2, seed=3)
    first = user_buckets(pa.array(frame["user_id"]), 7)
    assert first.tobytes() == user_buckets(pa.array(frame["user_id"]), 7).tobytes()
    bucketize(frame, tmp_path / "a", 7, batch_rows=5)
    bucketize(frame, tmp_path / "b", 7, batch_rows=13)
    for name in sorted(os.listdir(tmp_path / "a")):
        if name == MANIFEST_NAME:
            assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
        else:
            assert pq.read_table(tmp_path / "a" / name).equals(pq.read_table(tmp_path / "b" / name))


def test_dataset_reads_exactly_the_rows_and_skips_the_manifest(tmp_path):
    frame = interleaved(list(range(12)))
    bucketize(frame, tmp_path / "out", 4)
    dataset = ds.dataset(tmp_path / "out", format="parquet")
    assert all(not f.endswith(MANIFEST_NAME) for f in dataset.files) and len(dataset.files) == 4
    pd.testing.assert_frame_equal(sort_all(dataset.to_table().to_pandas()), sort_all(frame))


def test_existing_empty_directory_is_filled(tmp_path):
    (tmp_path / "out").mkdir()
    frame = interleaved(["a", "b"])
    bucketize(frame, tmp_path / "out", 2)
    check_buckets(tmp_path / "out", frame, 2)


def test_manifest_json(tmp_path):
    frame = interleaved([1, 2, 3], rows_per_user=2)
    manifest = bucketize(frame, tmp_path / "out", 2)
    raw = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert list(raw) == ["format", "version", "user_col", "hash", "buckets", "rows", "columns", "files"]
    assert raw["format"] == "fastrank-buckets" and raw["version"] == 1
    assert raw["files"] == [{"path": f.path, "rows": f.rows, "users": f.users} for f in manifest.files]
    assert isinstance(manifest, Manifest)


# --- errors ---


def assert_no_output(parent, before):
    """Nothing new beside the inputs: no output directory, no hidden temporary one."""
    assert sorted(os.listdir(parent)) == before


def test_null_user_names_file_column_and_row(tmp_path):
    frame = pd.DataFrame({"user_id": [1, 2, 3, 4, 5, 6, 7, 8, 9, None, 11], "item": range(11)})
    frame["user_id"] = frame["user_id"].astype("Int64")
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    before = sorted(os.listdir(tmp_path))
    message = r"in\.parquet: column 'user_id' is empty \(null\) at row 9; every row needs a user"
    with pytest.raises(InputError, match=message):
        bucketize(tmp_path / "in.parquet", tmp_path / "out", 3, batch_rows=4)
    assert_no_output(tmp_path, before)


def test_missing_column(tmp_path):
    with pytest.raises(
        InputError,
        match=r"frame: no user column 'user' \(user_col=; 'user_id' looks like it\); columns are: user_id",
    ):
        bucketize(pd.DataFrame({"user_id": [1], "item": [2]}), tmp_path / "out", 2, user_col="user")
    assert os.listdir(tmp_path) == []


def test_existing_output_is_refused_and_untouched(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    (tmp_path / "file").write_text("x")
    before = sorted(os.listdir(tmp_path))
    for out in ("out", "file"):
        with pytest.raises(InputError, match=f"{out}: already exists; choose a new output directory"):
            bucketize(pd.DataFrame({"user_id": [1]}), tmp_path / out, 2)
    assert_no_output(tmp_path, before)
    assert os.listdir(tmp_path / "out") == ["keep.txt"]
    with pytest.raises(InputError, match="does not exist"):
        bucketize(pd.DataFrame({"user_id": [1]}), tmp_path / "nowhere" / "out", 2)


def test_too_many_open_files(tmp_path, monkeypatch):
    opened = []

    def writer(path, schema):
        if len(opened) == 3:
            raise OSError(errno.EMFILE, "Too many open files")
        opened.append(path)
        return real(path, schema)

    real = pq.ParquetWriter
    monkeypatch.setattr(pq, "ParquetWriter", writer)
    with pytest.raises(InputError, match=r"50 buckets need 50 open files.*\(ulimit -n\)"):
        bucketize(pd.DataFrame({"user_id": range(100)}), tmp_path / "out", 50)
    assert len(opened) == 3 and os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad", [0, -2, 1.0, None])
def test_bad_n_buckets(tmp_path, bad):
    with pytest.raises(
        InputError, match=rf"The 'buckets' parameter must be an int >= 1. Got {bad!r} instead."
    ):
        bucketize(pd.DataFrame({"user_id": [1]}), tmp_path / "out", bad)
    assert os.listdir(tmp_path) == []


def test_float_ids(tmp_path):
    whole = pd.DataFrame({"user_id": [3.0, 1.0, 3.0, -2.0], "item": [1, 2, 3, 4]})
    manifest = bucketize(whole, tmp_path / "whole", 3)
    assert manifest.hash == "splitmix64(int64)"
    check_buckets(tmp_path / "whole", whole, 3)
    before = sorted(os.listdir(tmp_path))
    frame = pd.DataFrame({"user_id": [1.0, 2.0, 3.0, 4.5], "item": [1, 2, 3, 4]})
    message = r"frame: column 'user_id' holds the non-integral user id 4\.5 at row 3; float ids must be whole"
    with pytest.raises(InputError, match=message):
        bucketize(frame, tmp_path / "out", 3, batch_rows=2)
    assert_no_output(tmp_path, before)


def test_other_user_types_and_empty_tables(tmp_path):
    with pytest.raises(InputError, match=r"frame: column 'user_id' holds timestamp\[.*\]; user ids must be"):
        bucketize(pd.DataFrame({"user_id": pd.to_datetime(["2024-01-01"])}), tmp_path / "out", 2)
    with pytest.raises(InputError, match="table: the table has no rows"):
        bucketize(pa.table({"user_id": pa.array([], pa.int64())}), tmp_path / "out", 2)
    assert os.listdir(tmp_path) == []


# --- read_manifest ---


def test_read_manifest_none_for_plain_paths(tmp_path):
    assert read_manifest(tmp_path) is None
    assert read_manifest(tmp_path / "missing") is None
    (tmp_path / "f.parquet").write_text("x")
    assert read_manifest(tmp_path / "f.parquet") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: "{not json", "not a valid bucket manifest"),
        (lambda m: [], "expected a JSON object"),
        (lambda m: {**m, "format": "other"}, "format is 'other', not 'fastrank-buckets'"),
        (lambda m: {**m, "version": 2}, "manifest version 2 is not supported"),
        (lambda m: {**m, "rows": -1}, "'rows' must be an int >= 0, got -1"),
        (lambda m: {**m, "hash": "md5"}, "unknown hash 'md5'"),
        (lambda m: {**m, "buckets": 3}, "lists 2 files for 3 buckets"),
        (lambda m: {**m, "rows": 99}, "'rows' is 99, but its files hold 4"),
        (lambda m: {k: v for k, v in m.items() if k != "user_col"}, "'user_col' must be a str, got missing"),
        (
            lambda m: {**m, "files": [*m["files"][:1], {"path": "part-9.parquet", "rows": 0, "users": 0}]},
            "lists 'part-9.parquet', which is missing",
        ),
        (
            lambda m: {**m, "files": [*m["files"][:1], {"path": "../x", "rows": 0, "users": 0}]},
            "must be relative, inside the directory",
        ),
    ],
)
def test_read_manifest_rejects_bad_manifests(tmp_path, change, message):
    bucketize(pd.DataFrame({"user_id": [1, 2, 3, 4]}), tmp_path / "out", 2)
    file = tmp_path / "out" / MANIFEST_NAME
    changed = change(json.loads(file.read_text()))
    file.write_text(changed if isinstance(changed, str) else json.dumps(changed))
    with pytest.raises(InputError, match=message) as error:
        read_manifest(tmp_path / "out")
    assert "\n" not in str(error.value)


# --- property ---


@st.composite
def tables(draw):
    if draw(st.booleans()):
        pool = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=6, unique=True))
    else:
        pool = draw(st.lists(st.text(max_size=4), min_size=1, max_size=6, unique=True))
    users = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=30))
    values = draw(st.lists(st.integers(0, 3), min_size=len(users), max_size=len(users)))
    frame = pd.DataFrame({"user_id": users, "value": values})
    if isinstance(pool[0], int):
        frame["user_id"] = frame["user_id"].astype(np.int64)
    return frame


@given(frame=tables(), n_buckets=st.integers(1, 5), batch_rows=st.integers(1, 8))
def test_property_rows_preserved_and_user_order_stable(frame, n_buckets, batch_rows):
    with tempfile.TemporaryDirectory() as parent:
        if n_buckets > len(frame):  # more files than rows is refused (issue 12); up to as many, kept
            with pytest.raises(InputError, match=f"{n_buckets} buckets for {len(frame)} rows"):
                bucketize(frame, Path(parent) / "refused", n_buckets, batch_rows=batch_rows)
            assert os.listdir(parent) == []
            n_buckets = len(frame)
        manifest = bucketize(frame, Path(parent) / "out", n_buckets, batch_rows=batch_rows)
        assert manifest.rows == len(frame)
        check_buckets(Path(parent) / "out", frame, n_buckets)


def test_bucketize_draws_bars_of_rows_hashed_and_buckets_sorted_when_asked(tmp_path, capsys):
    frame = pd.DataFrame({"user_id": np.arange(300) % 17, "item": np.arange(300)})
    bucketize(frame, tmp_path / "quiet", 4)
    assert capsys.readouterr().err == ""
    bucketize(frame, tmp_path / "shown", 4, progress=True)
    drawn = capsys.readouterr().err
    assert "fastrank: bucketize: hashing" in drawn and "/300 [" in drawn, drawn  # of all rows
    assert "fastrank: bucketize: sorting" in drawn and "/4 [" in drawn, drawn  # of all buckets
