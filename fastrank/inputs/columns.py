"""Which columns hold the users, items and labels, as one frozen record with its defaults: a
table's are the KuaiRec notebook's (the demo's), a run's and its truth's the usual names of
recommender libraries."""

from __future__ import annotations

from dataclasses import dataclass

from .. import demo


@dataclass(frozen=True)
class Columns:
    """``user_col``, ``item_col`` (None: no item column) and ``label_col`` of a table."""

    user_col: str = demo.USER
    item_col: str | None = demo.ITEM
    label_col: str = demo.LABEL


TABLE = Columns()
"""A scored table's columns (:func:`fastrank.evaluate`, the Keras callback)."""
RUN = Columns(item_col="item_id", label_col="relevance")
"""A run's and its truth's columns (:func:`fastrank.evaluate_run`)."""
RUN_SCORE = "score"
"""A run's score column."""
