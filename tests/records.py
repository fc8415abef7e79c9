"""Comparing lists of JSON records (the CLI's --json output) field by field.

``pytest.approx`` does not take nested structures (pytest >= 9.2 refuses a list of dicts), so the
comparison is spelled out: the same records in the same order, the same keys, every non-float
field equal, every float within ``pytest.approx``'s tolerance.
"""

from __future__ import annotations

from typing import Any

import pytest


def assert_records_close(got: list[dict[str, Any]], want: list[dict[str, Any]], **tolerance: float) -> None:
    """Assert ``got == want`` record by record, floats compared with ``pytest.approx(**tolerance)``."""
    assert len(got) == len(want), (len(got), len(want))
    for i, (one, other) in enumerate(zip(got, want, strict=True)):
        assert one.keys() == other.keys(), (i, sorted(one), sorted(other))
        for key, expected in other.items():
            if isinstance(expected, float):
                assert one[key] == pytest.approx(expected, **tolerance), (i, key, one[key], expected)
            else:
                assert one[key] == expected, (i, key, one[key], expected)
