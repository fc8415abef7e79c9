"""fastrank: exact, fast ranking metrics for recommender models.

Public API
----------
ndcg(users, labels, scores, k=10, ...)
    Per-user NDCG@k (one or several k) with scikit-learn's semantics, and the mean.
ranking_metrics(users, labels, scores, metrics=..., items=None, ...)
    Several metrics and cutoffs in one pass: any of METRICS (the ranking metrics, AUC and its
    weighted mean GAUC, the errors RMSE, MAE and log loss; with items, the beyond-accuracy
    metrics of the top-k lists, and with item_features= or cooccurrence= their diversity).
METRICS
    The metric names, in the order of the README's metric tables (fastrank.metrics.registry).
group_rows(users) -> Groups
    Group rows by user once, to evaluate many score columns without regrouping.
RankingResult
    Per-user values, means (weighted where a metric is a weighted mean; catalog-wide for the
    metrics of all lists at once), users evaluated and skipped, ties split by each cutoff.
evaluate(data, model, baselines=..., k=10, protocol="standard", engine="auto", ...) -> Evaluation
    The end-to-end job: read a table, one whole-matrix Keras predict, per-user NDCG (or metrics=)
    of every source; in memory, streamed in chunks of whole users, or on a Dask cluster (same
    numbers).
compare(data, model, baselines=..., reference=None, slice_by=None, ...) -> Comparison
    evaluate(), then user-level bootstrap intervals and paired tests of each source vs a reference,
    with each difference's minimum detectable effect; .gate(metric, margin) is a non-inferiority
    check for training pipelines (the CLI's compare --fail-if-worse).
evaluate_run(run, truth, k=10, metrics=..., ties="average", ...) -> Evaluation
    Top-N recommendation lists (runs: parquet, CSV or TREC files, or tables) against held-out truth
    (qrels); relevant items a run missed count in the ideal DCG and the denominators; trec_eval
    parity with ties="trec", map_denominator="relevant". One run or several; exclude= leaves
    out seen (user, item) pairs; catalog= and popularity= feed the beyond-accuracy metrics.
compare_runs(run, truth, reference=None, ...) -> Comparison
    evaluate_run(), then the intervals and paired tests of compare().
fastrank.keras.RankingMetrics(data, metrics=..., ...)
    Keras callback logging metrics such as val_ndcg@10 every epoch (imports Keras).
InputError
    The ValueError raised for bad input; its message names the argument, user and row at fault.
MissingExtra
    The InputError raised when a path needs an optional extra (keras, plot, dask) that is not
    installed; its message names the ``pip install "fastrank[...]"`` to run.
EngineError
    The RuntimeError raised when an engine cannot finish (Dask workers lost beyond retries).

TensorFlow is imported only when a model is loaded.
"""

from .api.evaluate import evaluate
from .api.results import Evaluation
from .api.runs import evaluate_run
from .arrays.grouping import Groups, group_rows, groups_from_offsets
from .compare.confidence import Comparison, compare, compare_runs
from .errors import EngineError, InputError
from .extras import MissingExtra
from .metrics.dispatch import ndcg, ranking_metrics
from .metrics.registry import METRICS, MetricSpec, parse_metric
from .metrics.result import RankingResult

__all__ = [
    "METRICS",
    "Comparison",
    "EngineError",
    "Evaluation",
    "Groups",
    "InputError",
    "MetricSpec",
    "MissingExtra",
    "RankingMetrics",
    "RankingResult",
    "compare",
    "compare_runs",
    "evaluate",
    "evaluate_run",
    "group_rows",
    "groups_from_offsets",
    "ndcg",
    "parse_metric",
    "ranking_metrics",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The Keras callback imports TensorFlow: load it only when asked for.
    if name == "RankingMetrics":
        from .keras import RankingMetrics

        return RankingMetrics
    raise AttributeError(f"module 'fastrank' has no attribute {name!r}")
