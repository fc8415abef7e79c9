"""A worker plugin that kills its worker process when a fastrank scoring task starts: for the
fault tests in test_dask.py (shipped to workers by value, since they cannot import tests/)."""

from __future__ import annotations

import os
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin


class KillOnScore(WorkerPlugin):
    """Exit the worker process abruptly as a scoring task starts; with ``marker``, only the
    first time (the marker file records that it happened), else every time."""

    name = "fastrank-kill-on-score"

    def __init__(self, label: str, marker: str | None = None) -> None:
        self.label = label
        self.marker = marker

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish != "executing" or self.label not in str(key):
            return
        if self.marker is not None:
            if Path(self.marker).exists():
                return
            Path(self.marker).write_text(str(key))
        os._exit(1)
