"""Optional dependencies: one place that imports them and, when one is missing, names the extra.

fastrank's base install reads tables, runs the numpy predictor and the kernels. Three paths need
more: Keras models the numpy predictor cannot run (``keras``), plots (``plot``) and the Dask
engine (``dask``). Each of them imports through :func:`require`, so a missing package is one
:class:`MissingExtra` line, e.g. ``model.keras: Keras (with TensorFlow) is not installed; add it
with: pip install "fastrank[keras]"``, never a ``ModuleNotFoundError`` traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import InputError

EXTRAS: dict[str, tuple[str, ...]] = {
    "keras": ("keras", "tensorflow"),
    "plot": ("matplotlib",),
    "dask": ("dask", "distributed"),
}
"""Each extra and the top-level modules it installs (a module missing from here is a bug, not
a missing extra)."""

_PACKAGES = {"keras": "Keras (with TensorFlow)", "plot": "matplotlib", "dask": "Dask"}


class MissingExtra(InputError):
    """A path needs an optional dependency that is not installed; the message says which
    ``pip install "fastrank[...]"`` adds it. An :class:`~fastrank.InputError`: the CLI exits 2."""


def missing(extra: str, purpose: str) -> MissingExtra:
    """The error for ``extra`` missing; ``purpose`` says what needed it (e.g. ``"plots"``)."""
    return MissingExtra(
        f'{purpose}: {_PACKAGES[extra]} is not installed; add it with: pip install "fastrank[{extra}]"'
    )


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` (part of ``extra``), or raise :class:`MissingExtra` naming the extra.

    Only a module of the extra being absent counts as missing; any other import failure (a
    broken install) propagates as it is.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        top = (error.name or "").split(".")[0]
        if top in EXTRAS[extra]:
            raise missing(extra, purpose) from None
        raise
