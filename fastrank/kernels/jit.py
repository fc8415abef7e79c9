"""One place for the JIT flags, so every kernel is compiled the same way, and the hook that tells
a user when kernels compile.

Kernels are serial: parallel callers split the work into chunks and run them on a thread pool
(:mod:`fastrank.arrays.threads`); ``nogil`` lets those threads run at once. One compiled version per
kernel and argument type (no ``parallel=True`` twin) keeps the first run's compilation short.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from numba import njit
from numba.core import types as nbtypes

F = TypeVar("F", bound=Callable[..., Any])

# cache: compiled machine code is kept in __pycache__, so only the first run pays for compilation.
# nogil: kernels release the GIL, so chunks on a thread pool (or Dask worker threads) run at once.
_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}


def _plain_types_only(dispatcher: Any) -> Any:
    # Called from compiled code with a constant argument (``f(x, 0)``, ``f(x, True)``), numba
    # compiles the callee again for that literal value: each helper would be compiled two or
    # three times over. Typing calls with plain types halves the first run's compilation.
    template = dispatcher.get_call_template

    def get_call_template(args: tuple, kws: dict) -> Any:
        plain = tuple(nbtypes.unliteral(a) for a in args)
        return template(plain, {name: nbtypes.unliteral(t) for name, t in kws.items()})

    dispatcher.get_call_template = get_call_template
    return dispatcher


def jit(fn: F) -> F:
    """Compile a kernel with fastrank's flags (lazily, on first call, per argument types)."""
    return _plain_types_only(njit(**_FLAGS)(fn))


def jit_finite(fn: F) -> F:
    """Like :func:`jit`, for kernels whose float inputs were validated finite: without NaN and inf
    to honour, LLVM turns compare-and-select into branch-free min/max instructions."""
    return _plain_types_only(njit(fastmath={"nnan", "ninf"}, **_FLAGS)(fn))


def jit_inline(fn: F) -> F:
    """Compile a tiny helper that numba inlines into its callers (hot inner-loop predicates)."""
    return njit(inline="always", **_FLAGS)(fn)


KERNEL_FAMILIES = {
    "grouped": "ranking-metric kernels for tables",
    "ranked": "ranking-metric kernels for runs",
    "classes": "AUC and R-Precision kernels",
    "exposure": "beyond-accuracy kernels",
    "joining": "run-truth join kernels",
    "hashing": "hashing kernels",
    "resampling": "resampling kernels",
    "sorting": "notebook-protocol kernels",
    "text": "TREC-reading kernels",
}
"""What the compile note calls the kernels of each module of :mod:`fastrank.kernels`; the
others are ``helper kernels``."""


def kernel_family(module: str) -> str:
    """How the compile note names the kernels of ``module``."""
    return KERNEL_FAMILIES.get(module.rpartition(".")[2], "helper kernels")


@contextlib.contextmanager
def on_first_compile(callback: Callable[[str], None], delay: float = 1.0) -> Iterator[None]:
    """Call ``callback(family)`` when a fastrank kernel has been compiling for ``delay`` seconds
    inside the block, once per family of kernels (:func:`kernel_family`).

    After the first run on a machine, kernels load from numba's on-disk cache; only a cache miss
    compiles (numba's ``numba:compile`` event), so the callback tells a user why a first run is
    slow and stays silent on later runs. Compilations shorter than ``delay`` (small helpers,
    often just before an input error) say nothing: a note is worth a line only for a wait.
    """
    import threading

    from numba.core import event

    told: set[str] = set()
    depth = 0
    timer: threading.Timer | None = None

    def tell(family: str) -> None:
        if family not in told:
            told.add(family)
            callback(family)

    class _Listener(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            nonlocal depth, timer
            depth += 1
            module = getattr(ev.data["dispatcher"].py_func, "__module__", "") or ""
            if depth == 1 and module.startswith("fastrank."):
                family = kernel_family(module)
                if family not in told and delay <= 0:
                    tell(family)
                elif family not in told:
                    timer = threading.Timer(delay, tell, (family,))
                    timer.daemon = True
                    timer.start()

        def on_end(self, ev: event.Event) -> None:
            nonlocal depth, timer
            depth -= 1
            if depth == 0 and timer is not None:
                timer.cancel()
                timer = None

    try:
        with event.install_listener("numba:compile", _Listener()):
            yield
    finally:
        if timer is not None:
            timer.cancel()
