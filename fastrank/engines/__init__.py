"""Engines beyond one in-memory table: :mod:`.stream` (chunks of whole users on one machine) and
:mod:`.dask` (partitions of whole users on a Dask cluster). Both run
:func:`fastrank.engines.plan.score_table`, as the in-memory engine does, so every engine computes the
same per-user values. Engines import the pipeline, never the API above them."""
