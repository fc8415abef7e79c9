"""Checks of scalar parameters where they enter, one message shape for all of them.

Kernels take int64 and float64; an integer outside int64 would surface as numba's ``TypingError``
or an ``OverflowError`` deep in a call. Every integer option is range-checked here first, by the
API and the CLI alike (the CLI passes its options to the API).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import InputError

INT64_MAX = int(np.iinfo(np.int64).max)


def check_int(value: Any, name: str, *, low: int = 1, high: int = INT64_MAX, why: str = "") -> int:
    """``value`` as an int in ``[low, high]``; bools, floats and strings are refused.

    ``why`` says where the upper bound comes from, in the message.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"The '{name}' parameter must be an int >= {low}. Got {value!r} instead.")
    if value > high:
        raise InputError(f"The '{name}' parameter must be an int <= {high:,}{why}. Got {value!r} instead.")
    return int(value)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``; the message lists them."""
    choices = tuple(choices)
    if isinstance(value, str) and value in choices:
        return value
    listed = ", ".join(repr(choice) for choice in choices)
    raise InputError(f"The '{name}' parameter must be one of {listed}. Got {value!r} instead.")


def check_number(value: Any, name: str) -> float:
    """``value`` as a finite float; bools, strings and None are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"The '{name}' parameter must be a finite number. Got {value!r} instead.")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"The '{name}' parameter must be a finite number. Got {value!r} instead.")
    return number


def check_delimiter(value: Any) -> str | None:
    """A CSV delimiter: None (sniffed) or one character other than a quote or a line break."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 1 or value in '"\r\n':
        raise InputError(
            f"The 'delimiter' parameter must be one character other than a quote or a line break. "
            f"Got {value!r} instead."
        )
    return value
