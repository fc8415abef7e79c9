"""Metrics: the registry of names (:mod:`fastrank.metrics.registry`), validated entry points over
the kernels (:mod:`fastrank.metrics.dispatch`), AUC, the beyond-accuracy metrics, the protocols
and :class:`~fastrank.metrics.result.RankingResult`."""
