from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastrank import group_rows, groups_from_offsets


def test_contiguous_input_needs_no_permutation():
    users = np.array([7, 7, 3, 3, 3, 9], np.int32)
    groups = group_rows(users)
    assert groups.order is None
    np.testing.assert_array_equal(groups.keys, [7, 3, 9])
    np.testing.assert_array_equal(groups.offsets, [0, 2, 5, 6])
    assert groups.offsets.dtype == np.int64
    column = np.arange(6.0)
    assert groups.take(column) is column  # no copy of data columns


def test_user_in_two_separate_runs_is_one_group():
    users = np.array([5, 5, 2, 5, 2, 1])
    groups = group_rows(users)
    np.testing.assert_array_equal(groups.keys, [1, 2, 5])
    np.testing.assert_array_equal(groups.offsets, [0, 1, 3, 6])
    # the permutation is stable: rows keep their input order inside a group
    np.testing.assert_array_equal(groups.order, [5, 2, 4, 0, 1, 3])


@given(st.lists(st.integers(-3, 3), min_size=1, max_size=60))
def test_groups_partition_rows_by_key(values):
    users = np.array(values, np.int64)
    groups = group_rows(users)
    ordered = groups.take(users)
    assert sorted(groups.keys.tolist()) == sorted(set(values))
    for g, key in enumerate(groups.keys):
        block = ordered[groups.offsets[g] : groups.offsets[g + 1]]
        assert block.size == values.count(key)
        assert np.all(block == key)
    if groups.order is not None:
        assert np.all(np.diff(groups.order[ordered == ordered[0]]) > 0)


@pytest.mark.parametrize(
    "users",
    [
        ["b", "b", "a", "c", "a"],
        pd.Series(["b", "b", "a", "c", "a"], dtype="category"),
        pd.Series(["b", "b", "a", "c", "a"], dtype="string"),
        pa.array(["b", "b", "a", "c", "a"]),
        pa.array(["b", "b", "a", "c", "a"]).dictionary_encode(),
        pa.chunked_array([["b", "b"], ["a", "c", "a"]]),
    ],
)
def test_strings_and_categoricals_are_factorized(users):
    groups = group_rows(users)
    assert list(groups.keys) == ["b", "a", "c"]
    np.testing.assert_array_equal(groups.offsets, [0, 2, 4, 5])
    np.testing.assert_array_equal(groups.order, [0, 1, 2, 4, 3])


@pytest.mark.parametrize(
    "users",
    [
        pa.array([1, 2, None, 3]),
        pd.Series([1, 2, None, 3], dtype="Int64"),
        np.array([1.0, 2.0, np.nan, 3.0]),
        ["a", "b", None, "c"],
    ],
)
def test_null_user_ids_raise_naming_the_row(users):
    with pytest.raises(ValueError, match=r"users: null .*row 2"):
        group_rows(users)


def test_empty_users_raise():
    with pytest.raises(ValueError, match="users: empty input"):
        group_rows(np.array([], np.int64))


def test_groups_from_offsets_checks_shape():
    groups = groups_from_offsets([0, 2, 2, 5])
    np.testing.assert_array_equal(groups.sizes, [2, 0, 3])
    with pytest.raises(ValueError, match="offsets: decreases at group 1"):
        groups_from_offsets([0, 3, 2])
    with pytest.raises(ValueError, match="must start at 0"):
        groups_from_offsets([1, 3])
