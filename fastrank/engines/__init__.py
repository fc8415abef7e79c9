"""Engines beyond one in-memory table: :mod:`.stream` (chunks of whole users on one machine) and
:mod:`.dask` (partitions of whole users on a Dask cluster). Both reuse :func:`fastrank.api.score_table`,
so every engine computes the same per-user values."""
