"""``RankingMetrics``: a Keras callback that logs per-user ranking quality every epoch.

Importing this module imports Keras (and TensorFlow); the rest of fastrank does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .arrays.checks import check_int
from .arrays.columns import check_values, feature_matrix, numeric_column, user_column
from .arrays.grouping import group_rows
from .errors import InputError
from .inputs.columns import TABLE, Columns
from .inputs.tables import TableSource
from .metrics.beyond import catalog
from .metrics.dispatch import check_specs, evaluate_grouped
from .metrics.options import DEFAULTS, MetricOptions
from .metrics.registry import MetricSpec, example, parse_metric
from .metrics.result import RankingResult
from .scoring import MODEL_DEFAULTS, import_keras, input_width, predict

keras = import_keras("fastrank.keras.RankingMetrics (a Keras callback)")

__all__ = ["RankingMetrics"]


class RankingMetrics(keras.callbacks.Callback):
    """Per-user ranking metrics of the model on validation data, written into each epoch's logs.

    At the end of every ``every``-th epoch: one whole-matrix ``model.predict`` of the validation
    features, then fastrank's grouped kernels. The mean of each metric goes into ``logs`` as
    ``f"{prefix}{metric}"`` (``val_ndcg@10``, ...), so ``EarlyStopping(monitor="val_ndcg@10",
    mode="max")``, ``ModelCheckpoint``, ``CSVLogger`` and TensorBoard use it like any other metric;
    list this callback before them. Grouping users and converting the data happen once, here.
    Training is not changed: predicting consumes no training randomness.

    Parameters
    ----------
    data : path, pandas.DataFrame or pyarrow.Table, optional
        Validation table with ``user_col``, ``label_col`` and the feature columns. Or pass
        ``users``, ``labels`` and ``features`` arrays instead.
    users, labels : array-like, shape (n_rows,), optional
        User id and relevance label (>= 0) of each validation row.
    items : array-like, shape (n_rows,), optional
        Item id of each row, for the beyond-accuracy metrics with arrays (``data`` gives them
        from ``item_col``).
    features : array-like, shape (n_rows, n_features), optional
        Model inputs of each row.
    metrics : sequence of str
        As :func:`fastrank.ranking_metrics`: specs ``name@k`` or ``name`` of
        :data:`fastrank.METRICS`, each logged under ``prefix + spec``; a weighted mean weights its
        users by their rows; the beyond-accuracy metrics need item ids.
    feature_cols : sequence of str, optional
        Model input columns of ``data``; default every column but user, item and label.
    user_col, item_col, label_col : str
        Column names in ``data``.
    every : int
        Compute on every ``every``-th epoch. Epochs in between log NaN under the same keys, so
        every epoch's logs have the same columns (``CSVLogger`` writes them all); NaN is never an
        improvement for ``EarlyStopping``, so give it a ``patience`` of at least ``every``.
    prefix : str
        Prefix of the logged names.
    threshold, min_items, ties, gain, max_grade, tail_share, tail_ties
        As :func:`fastrank.ranking_metrics`.
    batch_size : int
        Rows per predict batch.

    Attributes
    ----------
    history : dict of str to list of float
        Every logged value, per epoch it was computed.
    last_result : RankingResult or None
        Per-user values of the last computation.
    """

    def __init__(
        self,
        data: Any = None,
        *,
        users: Any = None,
        labels: Any = None,
        features: Any = None,
        items: Any = None,
        metrics: Sequence[str] = (example(10),),
        feature_cols: Sequence[str] | None = None,
        user_col: str = TABLE.user_col,
        item_col: str = TABLE.item_col,  # type: ignore[assignment]
        label_col: str = TABLE.label_col,
        every: int = 1,
        prefix: str = "val_",
        threshold: float = DEFAULTS.threshold,
        min_items: int = DEFAULTS.min_items,
        ties: str = DEFAULTS.ties,
        gain: str = DEFAULTS.gain,
        max_grade: float | None = DEFAULTS.max_grade,
        tail_share: float = DEFAULTS.tail_share,
        tail_ties: str = DEFAULTS.tail_ties,
        batch_size: int = MODEL_DEFAULTS.batch_size,
    ) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise InputError(f"The 'every' parameter must be an int >= 1. Got {every!r} instead.")
        self.specs: list[MetricSpec] = list(dict.fromkeys(parse_metric(m) for m in metrics))
        if not self.specs:
            raise InputError(f"metrics: name at least one metric, e.g. {example()!r}")
        diverse = [spec for spec in self.specs if spec.metric.needs_features]
        if diverse:  # refused now, not at the end of the first epoch
            raise InputError(
                f"metrics: {diverse[0]} compares item vectors, which the callback does not take; compute it "
                "with fastrank.evaluate after training"
            )
        # The records it shares with fastrank.evaluate, checked as evaluate checks them.
        self.scoring = MetricOptions(
            threshold, ties, gain, min_items, max_grade=max_grade, tail_share=tail_share, tail_ties=tail_ties
        ).checked()
        batch_size = check_int(batch_size, "batch_size")
        columns = Columns(user_col, item_col, label_col)
        self.feature_names: list[str] | None = None
        need_items = any(spec.metric.needs_items for spec in self.specs)
        if data is not None:
            users, labels, features, items, self.feature_names = _read(
                data, columns, feature_cols, need_items
            )
        elif users is None or labels is None or features is None:
            raise InputError("give validation data: a table (data=...) or users, labels and features arrays")
        self.groups = group_rows(users)
        self.labels = self.groups.take(
            check_values(labels, "labels", self.groups, float32_ok=False, max_value=np.inf)
        )
        matrix = np.asarray(features, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != self.groups.n_rows:
            raise InputError(
                f"features: expected a ({self.groups.n_rows}, n_features) matrix, got shape {matrix.shape}"
            )
        # Rows in group order once, so every epoch's predictions arrive ready for the kernels.
        self.features = np.ascontiguousarray(self.groups.take(matrix))
        self.every = every
        self.prefix = prefix
        self.batch_size = batch_size
        check_specs(self.specs, items is not None)
        tail = (self.scoring.tail_share, self.scoring.tail_ties)
        self.catalog = catalog(items, None, self.groups, tail=tail) if need_items else None
        self.history: dict[str, list[float]] = {}
        self.last_result: RankingResult | None = None

    def check_model(self, model: Any) -> None:
        """Raise :class:`~fastrank.InputError` unless ``model`` takes one row of the validation
        features (their number of columns) and gives one score per row."""
        width = input_width(model, "RankingMetrics: the model")
        n_columns = self.features.shape[1]
        if width != n_columns:
            named = f" ({', '.join(self.feature_names)})" if self.feature_names else ""
            raise InputError(
                f"RankingMetrics: the model takes {width} features, but the validation data has "
                f"{n_columns} feature columns{named}; choose the model's columns with feature_cols= "
                "(or pass features= with as many columns as the model's input)"
            )

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.check_model(self.model)  # before the first epoch trains, not at its end

    def evaluate_model(self, model: Any) -> RankingResult:
        """Per-user metrics of ``model`` on the validation data (what each epoch logs)."""
        self.check_model(model)
        scores = predict(model, self.features, batch_size=self.batch_size)
        if not np.isfinite(scores).all():  # a diverged model: nothing to rank, log NaN
            nan = np.full((self.groups.n_groups, len(self.specs)), np.nan)
            names = tuple(str(spec) for spec in self.specs)
            return RankingResult(
                self.groups.keys, names, nan, self.groups.sizes, (), nan[:, :0], self.scoring.min_items
            )
        # float64, as every source of fastrank.evaluate: the kernel compiled for it serves both.
        scores = scores.astype(np.float64)
        return evaluate_grouped(
            self.groups, self.labels, scores, self.specs, self.scoring, parallel=True, items=self.catalog
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (epoch + 1) % self.every:
            if logs is not None:  # the same keys every epoch; NaN: not computed this epoch
                logs.update(dict.fromkeys((self.prefix + str(spec) for spec in self.specs), float("nan")))
            return
        self.last_result = self.evaluate_model(self.model)
        for name, value in self.last_result.mean.items():
            key = self.prefix + name
            if logs is not None:
                logs[key] = value
            self.history.setdefault(key, []).append(value)


def _read(data: Any, columns: Columns, feature_cols: Sequence[str] | None, need_items: bool) -> tuple:
    source = TableSource(data)
    user_col, label_col, item_col = columns.user_col, columns.label_col, columns.item_col
    if feature_cols is None:
        feature_cols = [c for c in source.column_names if c not in {user_col, item_col, label_col}]
    keys = [user_col, label_col] + ([item_col] if need_items else [])
    table = source.read(list(dict.fromkeys([*keys, *feature_cols])))
    users = user_column(table, user_col, source.name)
    labels = numeric_column(table, label_col, source.name, users)
    items = table.column(item_col).to_numpy(zero_copy_only=False) if need_items else None
    matrix = feature_matrix(table, list(feature_cols), source.name, users)
    return users, labels, matrix, items, list(feature_cols)
