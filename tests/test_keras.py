"""The Keras callback in real model.fit runs (imports TensorFlow)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

import fastrank  # noqa: E402
from fastrank.demo import FEATURES, make_demo_table  # noqa: E402
from fastrank.keras import RankingMetrics  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def split():
    frame = make_demo_table(n_users=60, n_videos=150, seed=4).to_pandas()
    valid = frame["user_id"].isin(frame["user_id"].unique()[::3])
    return frame[~valid], frame[valid]


def _model(learning_rate=0.01):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


def _fit(model, train, callbacks, epochs=3):
    x = train[list(FEATURES)].to_numpy(np.float32)
    y = train["watch_ratio"].to_numpy(np.float32)
    return model.fit(x, y, epochs=epochs, batch_size=256, shuffle=True, verbose=0, callbacks=callbacks)


class _Check(keras.callbacks.Callback):
    """Runs after RankingMetrics: what fastrank.evaluate says of the model at this epoch."""

    def __init__(self, valid):
        super().__init__()
        self.valid, self.seen = valid, []

    def on_epoch_end(self, epoch, logs=None):
        result = fastrank.evaluate(self.valid, self.model, metrics=["ndcg", "map"], k=10)
        self.seen.append((dict(logs), result.mean("model", k=10), result.mean("model", k=10, metric="map")))


def test_logs_hold_the_metrics_of_each_epoch(split):
    train, valid = split
    check = _Check(valid)
    history = _fit(_model(), train, [RankingMetrics(valid, metrics=["ndcg@10", "map@10"]), check])
    assert len(check.seen) == 3
    for logs, ndcg, ap in check.seen:
        assert logs["val_ndcg@10"] == pytest.approx(ndcg, abs=1e-12)
        assert logs["val_map@10"] == pytest.approx(ap, abs=1e-12)
    assert history.history["val_ndcg@10"] == [logs["val_ndcg@10"] for logs, _, _ in check.seen]


def test_early_stopping_on_a_metric_that_stops_improving(split):
    train, valid = split
    # A zero learning rate freezes the weights: the metric never improves after the first epoch.
    stop = keras.callbacks.EarlyStopping(monitor="val_ndcg@10", mode="max", patience=1)
    history = _fit(_model(learning_rate=0.0), train, [RankingMetrics(valid), stop], epochs=10)
    assert len(history.history["val_ndcg@10"]) == 2
    assert stop.stopped_epoch == 1


def test_training_is_unchanged_by_the_callback(split):
    train, valid = split
    plain = _model()
    _fit(plain, train, [])
    watched = _model()
    _fit(watched, train, [RankingMetrics(valid, metrics=["ndcg@5", "mrr"])])
    for a, b in zip(plain.get_weights(), watched.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_arrays_equal_a_table_and_every_n_epochs(split):
    train, valid = split
    shuffled = valid.sample(frac=1.0, random_state=0)
    from_arrays = RankingMetrics(
        users=shuffled["user_id"].to_numpy(), labels=shuffled["watch_ratio"].to_numpy(),
        features=shuffled[list(FEATURES)].to_numpy(), every=2,
    )  # fmt: skip
    from_table = RankingMetrics(valid, every=2)
    _fit(_model(), train, [from_arrays, from_table], epochs=4)
    assert list(from_arrays.history) == ["val_ndcg@10"] and len(from_arrays.history["val_ndcg@10"]) == 2
    np.testing.assert_allclose(
        from_arrays.history["val_ndcg@10"], from_table.history["val_ndcg@10"], atol=1e-12
    )


def test_every_epoch_logs_the_same_keys_so_csv_logger_writes_the_column(split, tmp_path):
    train, valid = split
    log = tmp_path / "log.csv"
    ranking = RankingMetrics(valid, metrics=["ndcg@10", "mrr"], every=2)
    _fit(_model(), train, [ranking, keras.callbacks.CSVLogger(str(log))], epochs=4)
    rows = pd.read_csv(log)
    assert {"val_ndcg@10", "val_mrr"} <= set(rows.columns)
    # NaN on the epochs it skips (1 and 3), the computed value on the others
    assert rows["val_ndcg@10"].isna().tolist() == [True, False, True, False]
    np.testing.assert_allclose(rows["val_ndcg@10"].dropna(), ranking.history["val_ndcg@10"], rtol=1e-6)


def test_a_model_of_another_width_fails_before_training_with_the_feature_columns(split):
    train, valid = split
    ranking = RankingMetrics(valid, feature_cols=list(FEATURES[:4]))
    model = _model()
    weights = [w.copy() for w in model.get_weights()]
    wanted = r"takes 5 features, but the validation data has 4 feature columns \(video_duration, .*\); "
    with pytest.raises(fastrank.InputError, match=wanted + "choose the model's columns with feature_cols="):
        _fit(model, train, [ranking], epochs=1)
    # refused at on_train_begin: no epoch trained
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    arrays = RankingMetrics(users=[1, 1, 2], labels=[1.0, 0.0, 1.0], features=np.zeros((3, 7)))
    with pytest.raises(fastrank.InputError, match="takes 5 features, but the validation data has 7"):
        arrays.evaluate_model(model)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"every": 0}, "'every' parameter must be an int >= 1"),
        ({"metrics": ["roc@3"]}, "unknown metric"),
        ({"ties": "random"}, "'ties' parameter must be one of"),
        ({"feature_cols": ["nope"]}, "no column 'nope'"),
        ({"metrics": ["ild@10"]}, "ild@10 compares item vectors, which the callback does not take"),
        ({"metrics": ["long_tail@10"], "tail_share": 0}, "'tail_share' parameter must be above 0"),
    ],
)
def test_bad_arguments_fail_at_construction(split, kwargs, match):
    with pytest.raises(fastrank.InputError, match=match):
        RankingMetrics(split[1], **kwargs)


def test_the_readme_training_example_runs_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Training jobs") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout, whatever is installed
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "val_ndcg@10" in done.stdout


def test_val_gauc_and_beyond_accuracy_are_logged_as_evaluate_computes_them(split):
    train, valid = split
    metrics = ["gauc", "auc", "f1@5", "coverage@5", "novelty@5"]
    callback = RankingMetrics(valid, metrics=metrics)
    model = _model()
    _fit(model, train, [callback], epochs=1)
    result = fastrank.evaluate(valid, model, metrics=["gauc", "auc", "f1", "coverage", "novelty"], k=5)
    logs = {key: values[-1] for key, values in callback.history.items()}
    assert set(logs) == {f"val_{m}" for m in metrics}
    for metric in metrics:
        name, _, k = metric.partition("@")
        want = result.mean("model", k=int(k) if k else None, metric=name)
        assert logs[f"val_{metric}"] == pytest.approx(want, rel=1e-6), metric
    assert logs["val_gauc"] != logs["val_auc"]  # weighted by rows, and users differ in size
