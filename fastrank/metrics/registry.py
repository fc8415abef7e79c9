"""Metric names, aliases and tie rules, and :func:`parse_metric` for ``"ndcg@10"``-style specs.

Three families: the ranking metrics of the grouped kernels (:data:`METRIC_CODES`, and F1 from
two of them), the AUC family (:data:`AUC_METRICS`, one sort per user) and the beyond-accuracy
metrics of the top-k lists (:data:`EXPOSURE_METRICS`, which need item ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .. import kernels
from ..arrays.checks import INT64_MAX
from ..errors import InputError

Ties = Literal["average", "pessimistic", "optimistic"]
Gain = Literal["linear", "exponential"]
NoRelevant = Literal["zero", "skip"]

METRIC_CODES = {  # name: the kernels' metric code
    "dcg": kernels.DCG,
    "ndcg": kernels.NDCG,
    "precision": kernels.PRECISION,
    "recall": kernels.RECALL,
    "hit_rate": kernels.HIT_RATE,
    "mrr": kernels.MRR,
    "map": kernels.MAP,
    "r_precision": kernels.R_PRECISION,
}
DERIVED = ("f1",)
"""Metrics computed from others: F1@k from precision@k and recall@k."""
AUC_METRICS = ("auc", "gauc")
"""Per-user AUC, and GAUC: the users' AUC averaged with weights."""
EXPOSURE_METRICS = ("coverage", "arp", "novelty", "gini", "entropy", "long_tail")
"""Beyond-accuracy metrics of the top-k lists; they need item ids and a cutoff."""
SUMMARY_ONLY = ("gauc", "coverage", "gini", "entropy")
"""Metrics whose value is not the plain mean of per-user values: GAUC is a weighted mean, the
others describe all top-k lists at once and have no per-user value."""
NO_CUTOFF = ("auc", "gauc", "r_precision")
"""Metrics over the whole list: a cutoff is refused."""
ALIASES = {"hit": "hit_rate", "hr": "hit_rate", "ap": "map", "p": "precision", "r": "recall",
           "rprec": "r_precision"}  # fmt: skip
TIE_CODES = {
    "average": kernels.AVERAGE,
    "pessimistic": kernels.PESSIMISTIC,
    "optimistic": kernels.OPTIMISTIC,
}
_SPEC = re.compile(r"^\s*([a-z_0-9]+)\s*(?:@\s*(-?\d+))?\s*$")


@dataclass(frozen=True)
class MetricSpec:
    """One metric at one cutoff: ``name`` as in :data:`METRICS`, ``k`` None for the whole list."""

    name: str
    k: int | None

    def __str__(self) -> str:
        return self.name if self.k is None else f"{self.name}@{self.k}"


METRICS: tuple[str, ...] = (*METRIC_CODES, *DERIVED, *AUC_METRICS, *EXPOSURE_METRICS)
"""Metric names understood by :func:`ranking_metrics`."""


def parse_metric(spec: str | MetricSpec) -> MetricSpec:
    """Parse ``"ndcg@10"``, ``"mrr"`` (no cutoff) and the like into a :class:`MetricSpec`."""
    if isinstance(spec, MetricSpec):
        return spec
    match = _SPEC.match(str(spec).lower())
    if not match:
        raise InputError(
            f"metrics: cannot read {spec!r}; write a name and an optional cutoff, e.g. 'ndcg@10'"
        )
    name = ALIASES.get(match.group(1), match.group(1))
    if name not in METRICS:
        raise InputError(f"metrics: unknown metric {spec!r}; choose from {', '.join(METRICS)}")
    k = None if match.group(2) is None else int(match.group(2))
    if k is not None and k < 1:
        raise InputError(f"metrics: {spec!r}: the cutoff k must be an int >= 1. Got {k} instead.")
    if k is not None and k > INT64_MAX:
        raise InputError(f"metrics: {spec!r}: the cutoff k must be an int <= {INT64_MAX:,}. Got {k} instead.")
    if k is not None and name in NO_CUTOFF:
        raise InputError(f"metrics: {spec!r}: {name} ranks the whole list, so it takes no cutoff")
    return MetricSpec(name, k)


def expand(metrics: Iterable[str | MetricSpec], ks: Sequence[int]) -> list[MetricSpec]:
    """The (metric, cutoff) pairs to compute, each once, in the order given: a metric named with
    a cutoff (``"ndcg@10"``) at that cutoff; a bare name (``"ndcg"``) at every cutoff of ``ks``;
    a metric of the whole list (:data:`NO_CUTOFF`) once, without one."""
    pairs = []
    for metric in metrics:
        spec = parse_metric(metric)
        if spec.name in NO_CUTOFF:
            pairs.append(MetricSpec(spec.name, None))
        elif spec.k is not None:
            pairs.append(spec)
        else:
            pairs += [MetricSpec(spec.name, k) for k in ks]
    return list(dict.fromkeys(pairs))
