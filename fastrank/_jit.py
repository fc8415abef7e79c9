"""One place for the JIT flags, so every kernel is compiled the same way."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar

from numba import njit

F = TypeVar("F", bound=Callable[..., Any])

# cache: compiled machine code is kept in __pycache__, so only the first run pays for compilation.
# nogil: kernels release the GIL, so callers in a thread pool (Dask workers) run them concurrently.
_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}


def jit(fn: F) -> F:
    """Compile a serial helper kernel with fastrank's flags."""
    return njit(**_FLAGS)(fn)


def jit_finite(fn: F) -> F:
    """Like :func:`jit`, for kernels whose float inputs were validated finite: without NaN and inf
    to honour, LLVM turns compare-and-select into branch-free min/max instructions."""
    return njit(fastmath={"nnan", "ninf"}, **_FLAGS)(fn)


def jit_inline(fn: F) -> F:
    """Compile a tiny helper that numba inlines into its callers (hot inner-loop predicates)."""
    return njit(inline="always", **_FLAGS)(fn)


def jit_pair(fn: F) -> tuple[F, F]:
    """Compile ``fn`` twice: a serial variant and a ``parallel=True`` variant.

    ``fn`` loops with ``numba.prange``; in the serial variant that is a plain range. The serial one
    is for callers that already run in a thread pool, where nested parallelism would oversubscribe.
    """
    # numba's on-disk cache is keyed by qualified name and bytecode, not by flags: the serial copy
    # gets its own name so the two variants never load each other's machine code.
    serial = types.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__, fn.__closure__
    )
    serial.__qualname__ = fn.__qualname__ + "_serial"
    serial.__module__ = fn.__module__
    return njit(**_FLAGS)(serial), njit(parallel=True, **_FLAGS)(fn)
