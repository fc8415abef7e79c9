"""The Keras callback's work per epoch on a 400k-row validation set (one whole-matrix predict plus
NDCG@10 and MAP@10 for every user), next to a bare model.predict of the same rows.

Run: python -m pytest benchmarks --benchmark-only   (see BENCHMARKS.md)
"""

from __future__ import annotations

import numpy as np
import pytest

from fastrank.demo import DEMO_MODEL_PATH, FEATURES, make_demo_table

from .conftest import N_USERS

keras = pytest.importorskip("keras")
GROUP = "Keras callback, 400k validation rows"


@pytest.fixture(scope="module")
def setup():
    from fastrank.keras import RankingMetrics

    frame = make_demo_table(n_users=max(2, min(142, N_USERS)), seed=1).to_pandas()  # ~400k rows
    model = keras.models.load_model(DEMO_MODEL_PATH)
    callback = RankingMetrics(frame, metrics=["ndcg@10", "map@10"])
    return model, callback, frame[list(FEATURES)].to_numpy(np.float32)


def test_callback_epoch(benchmark, record, setup):
    model, callback, _ = setup
    callback.evaluate_model(model)  # compile and warm up outside the timing
    result = benchmark.pedantic(lambda: callback.evaluate_model(model), rounds=10, iterations=1)
    benchmark.extra_info["rows"] = callback.groups.n_rows
    assert np.isfinite(result.mean["ndcg@10"])
    record(GROUP, "RankingMetrics per epoch (predict + metrics)", 1, 1)


def test_bare_predict(benchmark, record, setup):
    model, _, features = setup
    model.predict(features, batch_size=65_536, verbose=0)
    benchmark.pedantic(lambda: model.predict(features, batch_size=65_536, verbose=0), rounds=10, iterations=1)
    record(GROUP, "bare model.predict", 1, 1, base=True)
