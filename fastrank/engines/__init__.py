"""Where the work runs: one module per engine, each an object of the
:class:`~fastrank.engines.protocol.Engine` shape, registered here by name. Every engine runs
:func:`fastrank.engines.plan.score_table` on tables of whole users, so every engine computes the
same per-user values: :mod:`.memory` (the whole table at once), :mod:`.stream` (chunks of whole
users on one machine), :mod:`.dask` (partitions of whole users on a Dask cluster). Engines import
the plan, never the API above them."""

from __future__ import annotations

from ..errors import InputError
from ..inputs.tables import TableSource
from . import dask, memory, stream
from .plan import Plan
from .protocol import Engine, EngineSettings, Work

ENGINES: dict[str, Engine] = {engine.name: engine for engine in (memory.ENGINE, stream.ENGINE, dask.ENGINE)}
"""The engines by name; ``"auto"`` picks one (:func:`choose`)."""
AUTO = "auto"
NAMES = (AUTO, *ENGINES)


def check_settings(settings: EngineSettings) -> EngineSettings:
    """``settings`` checked by the engine they name (``"auto"``: as streaming, which it may become)."""
    if settings.engine not in NAMES:
        raise InputError(f"engine: must be one of {', '.join(NAMES)}. Got {settings.engine!r} instead.")
    return ENGINES[stream.ENGINE.name if settings.engine == AUTO else settings.engine].check(settings)


def choose(settings: EngineSettings, source: TableSource, plan: Plan, work: Work) -> Engine:
    """The engine to run: the one named, or for ``"auto"`` in memory unless the input looks too
    large for the memory available (then streaming, said in a note)."""
    if settings.engine != AUTO:
        return ENGINES[settings.engine]
    reason = stream.too_large_for_memory(source, plan.columns)
    if reason is None:
        return memory.ENGINE
    work.notes.append(f"engine: streaming, because {reason}")
    return stream.ENGINE
