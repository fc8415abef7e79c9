"""What an engine is: a name, whether it holds every user's list at once, a check of its own
settings, and a run from a table and a :class:`~fastrank.engines.plan.Plan` to per-user values.

A new engine (Ray, say) is one module in :mod:`fastrank.engines` with an object of this shape,
plus one line in the registry (:data:`fastrank.engines.ENGINES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import InputError
from ..inputs.tables import TableSource
from .plan import Plan, Scored


@dataclass(frozen=True)
class EngineSettings:
    """Where the work runs, as given: ``engine`` (a registered name or ``"auto"``), and the
    settings some engines take (each engine checks its own): ``chunk_rows`` (streaming),
    ``scheduler`` and ``workers`` (Dask), ``progress`` (a bar on stderr)."""

    engine: str = "auto"
    chunk_rows: int | None = None
    scheduler: Any = None
    workers: int | None = None
    progress: bool = False


@dataclass
class Work:
    """What a run reports back besides its values: notes for the reader and seconds per stage."""

    notes: list[str]
    timings: dict[str, float]


class Engine(Protocol):
    """One engine (see the module docstring)."""

    name: str

    def check(self, settings: EngineSettings) -> EngineSettings:
        """``settings`` checked for this engine (refused in one line naming the option)."""
        ...

    def run(
        self, source: TableSource, plan: Plan, settings: EngineSettings, work: Work, scores: np.ndarray | None
    ) -> Scored:
        """Per-user values of ``plan`` on ``source``; ``scores``: one score per row, given as an
        array (engines that do not hold the whole table refuse it)."""
        ...


def refuse_cluster_settings(settings: EngineSettings) -> None:
    """Refuse a Dask setting given to another engine."""
    if settings.scheduler is not None or settings.workers is not None:
        given = "scheduler=" if settings.scheduler is not None else "workers="
        raise InputError(f"{given} needs engine='dask'")


def refuse_chunk_rows(settings: EngineSettings, name: str) -> None:
    """Refuse the streaming setting given to another engine."""
    if settings.chunk_rows is not None:
        raise InputError(f"chunk_rows= is for streaming, not for engine='{name}'")


def refuse_score_array(scores: np.ndarray | None, name: str) -> None:
    """Refuse scores given as an array to an engine that never holds the whole table."""
    if scores is not None:
        raise InputError(f"engine {name}: scores given as an array need the whole table; use a column")
