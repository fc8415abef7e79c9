"""What an evaluation returns: :class:`Evaluation` (summary and per-user values), built from the
engines' :class:`~fastrank.pipeline.Scored` by :func:`tables`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import protocols
from .pipeline import MODEL_SOURCE, Scored


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` found.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per (protocol, metric, k, source): ``mean`` over evaluated users, ``users``
        evaluated and ``excluded`` (fewer than ``min_items`` rows).
    per_user : pandas.DataFrame
        Long format: ``user``, ``protocol``, ``metric``, ``k``, ``source``, ``value``, ``n_items``.
    n_rows, n_users : int
        Rows read and distinct users.
    duplicates : int or None
        Rows that repeat a (user, item) pair seen earlier (counted, never dropped); None without
        an item column.
    timings : dict of str to float
        Seconds per stage: ``load``, ``group``, ``model``, ``predict``, ``metrics``.
    notes : list of str
        Remarks for the reader (demo data used, notebook-protocol caveat, duplicates).
    """

    summary: pd.DataFrame
    per_user: pd.DataFrame
    n_rows: int
    n_users: int
    duplicates: int | None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def mean(
        self, source: str = MODEL_SOURCE, *, k: int = 10, metric: str = "ndcg", protocol: str = "standard"
    ) -> float:
        """The mean of one (protocol, metric, k, source) row of :attr:`summary`."""
        s = self.summary
        row = s[(s.protocol == protocol) & (s.metric == metric) & (s.k == k) & (s.source == source)]
        if row.empty:
            raise KeyError(f"no result for protocol={protocol!r} metric={metric!r} k={k} source={source!r}")
        return float(row["mean"].iloc[0])

    def records(self) -> list[dict[str, Any]]:
        """:attr:`summary` as JSON-ready records."""
        return [
            {key: (value.item() if isinstance(value, np.generic) else value) for key, value in row.items()}
            for row in self.summary.to_dict(orient="records")
        ]


def tables(scored: Scored) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary (one row per protocol, metric, k and source) and the long per-user table."""
    rows = []
    frames = []
    for (protocol, metric, k, source_name), values in scored.values.items():
        evaluated = int(np.count_nonzero(~np.isnan(values)))
        rows.append(
            {
                "protocol": protocol,
                "metric": metric,
                "k": k,
                "source": source_name,
                "mean": float(np.nanmean(values)) if evaluated else float("nan"),
                "users": evaluated,
                "excluded": len(values) - evaluated,
            }
        )
        frames.append(
            pd.DataFrame(
                {
                    "user": scored.users,
                    "protocol": protocol,
                    "metric": metric,
                    "k": k,
                    "source": source_name,
                    "value": values,
                    "n_items": scored.n_items,
                }
            )
        )
    summary = pd.DataFrame(rows)
    # Protocol, then metric (in the order asked) and k, with the sources side by side in the order
    # they were given.
    protocol_rank = {name: rank for rank, name in enumerate(protocols.PROTOCOLS)}
    metric_rank = {name: rank for rank, name in enumerate(dict.fromkeys(summary["metric"]))}
    keys = pd.DataFrame(
        {
            "p": summary["protocol"].map(protocol_rank),
            "m": summary["metric"].map(metric_rank),
            "k": summary["k"],
        }
    )
    order = np.lexsort((np.arange(len(summary)), keys["k"], keys["m"], keys["p"]))
    return summary.iloc[order].reset_index(drop=True), pd.concat(frames, ignore_index=True)
