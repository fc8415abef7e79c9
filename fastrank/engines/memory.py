"""The in-memory engine: the whole table read at once (only the columns the plan needs), then
:func:`~fastrank.engines.plan.score_table`. Every metric runs here."""

from __future__ import annotations

import time

import numpy as np

from ..inputs.tables import TableSource
from .plan import Plan, Scored, add_time, load_plan_scorer, score_table
from .protocol import EngineSettings, Work, refuse_chunk_rows, refuse_cluster_settings


class MemoryEngine:
    name = "memory"

    def check(self, settings: EngineSettings) -> EngineSettings:
        refuse_cluster_settings(settings)
        refuse_chunk_rows(settings, self.name)
        return settings

    def run(
        self, source: TableSource, plan: Plan, settings: EngineSettings, work: Work, scores: np.ndarray | None
    ) -> Scored:
        scorer = load_plan_scorer(plan, work.notes, work.timings)
        clock = time.perf_counter()
        table = source.read(plan.columns)
        add_time(work.timings, "load", clock)
        return score_table(
            table, plan, scorer, scores=scores, progress=settings.progress, timings=work.timings
        )


ENGINE = MemoryEngine()
