"""End to end on the demo table (3.8M rows) and demo model: fastrank.evaluate next to the
notebook's two per-user loops (model and baseline, on a sample of users, scaled up), the whole
`python -m fastrank evaluate` command, TensorFlow's import alone, and peak memory.

Run: python -m pytest benchmarks --benchmark-only   (see BENCHMARKS.md)
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

import fastrank.api.evaluate as api
from fastrank.demo import DEMO_MODEL_PATH, FEATURES, demo_table_path, make_demo_table

from .conftest import N_USERS, PEAK_SCRIPT, SAMPLE_USERS

keras = pytest.importorskip("keras")
GROUP = "evaluate: model + 1 baseline, NDCG@10"
BASELINE = "video_watch_ratio_mean"


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    if N_USERS == 1354:
        return demo_table_path()
    path = tmp_path_factory.mktemp("demo") / "demo.parquet"
    make_demo_table(n_users=N_USERS).to_pandas().to_parquet(path)
    return path


@pytest.fixture(scope="module")
def model():
    return keras.models.load_model(DEMO_MODEL_PATH)


def test_fastrank_evaluate(benchmark, record, demo_path, model):
    """Load + group + one whole-matrix predict + metrics for the model and a baseline."""
    api.evaluate(demo_path, model, baselines=[BASELINE])  # compile and warm up outside the timing
    result = benchmark.pedantic(
        lambda: api.evaluate(demo_path, model, baselines=[BASELINE]), rounds=3, iterations=1
    )
    benchmark.extra_info["timings"] = result.timings
    record(GROUP, "fastrank", result.n_users, result.n_users)


def test_notebook_loops(benchmark, record, demo_path, model):
    """The notebook's cells 8 and 10 (filter, per-user predict, sklearn), on a sample of users."""
    import pandas as pd

    frame = pd.read_parquet(demo_path)
    features = list(FEATURES)
    sample = frame["user_id"].unique()[:SAMPLE_USERS]

    def loops():
        values = []
        for user in sample:  # cell 8: the model
            rows = frame[frame["user_id"] == user]
            preds = model.predict(rows[features], batch_size=2048, verbose=None).flatten()
            values.append(ndcg_score([rows["watch_ratio"].to_numpy()], [preds], k=10))
        for user in sample:  # cell 10: the baseline
            rows = frame[frame["user_id"] == user]
            values.append(ndcg_score([rows["watch_ratio"].to_numpy()], [rows[BASELINE].to_numpy()], k=10))
        return values

    benchmark.pedantic(loops, rounds=2, iterations=1)
    record(GROUP, "notebook loops (model + baseline)", len(sample), frame["user_id"].nunique())


def _run(module, *args):
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, module, *args], capture_output=True, text=True)
    assert "peak-kib" in done.stderr, done.stderr
    peak = next(line for line in done.stderr.splitlines() if line.startswith("peak-kib"))
    return int(peak.split()[1]) / 1024


@pytest.mark.parametrize("predictor", ["numpy", "keras"])
def test_cli_whole_command(benchmark, record, demo_path, predictor):
    """`python -m fastrank evaluate` as a user runs it, start-up included: with the numpy forward
    pass (the default for this model, no TensorFlow) and with Keras."""
    args = ["evaluate", str(demo_path), "--model", str(DEMO_MODEL_PATH), "--baseline", BASELINE, "--quiet"]
    args += ["--predictor", predictor]
    _run("fastrank", *args)  # numba's cache and the OS file cache warm
    peaks = benchmark.pedantic(lambda: _run("fastrank", *args), rounds=2, iterations=1)
    benchmark.extra_info["peak_rss_mib"] = peaks
    label = "default, numpy predictor" if predictor == "numpy" else "--predictor keras"
    record(GROUP, f"python -m fastrank evaluate ({label}), whole command", 1, 1)
    record(GROUP, f"  peak RSS of that command: {peaks:,.0f} MiB", 1, 1, value=peaks)


def test_tensorflow_import(benchmark, record):
    """How much of the Keras command is importing TensorFlow (through Keras)."""
    benchmark.pedantic(lambda: _run("keras"), rounds=2, iterations=1)
    record(GROUP, "  import keras/TensorFlow alone", 1, 1)


FORWARD = "forward pass of the demo model, all rows"


def test_forward_pass_numpy(benchmark, record, demo_path):
    import pandas as pd

    from fastrank.scoring import load

    features = pd.read_parquet(demo_path, columns=list(FEATURES)).to_numpy(np.float32)
    numpy_model = load(DEMO_MODEL_PATH)
    numpy_model.predict(features)
    benchmark.pedantic(lambda: numpy_model.predict(features), rounds=5, iterations=1)
    record(FORWARD, "fastrank numpy predictor", 1, 1, base=True)


@pytest.mark.parametrize("batch_size", [8_192, 65_536, 262_144])
def test_forward_pass_keras(benchmark, record, demo_path, model, batch_size):
    import pandas as pd

    features = pd.read_parquet(demo_path, columns=list(FEATURES)).to_numpy(np.float32)
    model.predict(features, batch_size=batch_size, verbose=0)
    benchmark.pedantic(
        lambda: model.predict(features, batch_size=batch_size, verbose=0), rounds=3, iterations=1
    )
    record(FORWARD, f"keras model.predict, batch {batch_size:,}", 1, 1)


def test_metrics_agree_with_sklearn_on_a_sample(demo_path, model):
    """A check, not a timing: the benchmarked numbers are the right ones."""
    import pandas as pd

    frame = pd.read_parquet(demo_path)
    result = api.evaluate(demo_path, model, baselines=[BASELINE])
    per_user = result.per_user
    got = per_user[per_user.source == BASELINE].set_index("user")["value"]
    for user in frame["user_id"].unique()[:20]:
        rows = frame[frame["user_id"] == user]
        want = ndcg_score([rows["watch_ratio"].to_numpy()], [rows[BASELINE].to_numpy()], k=10)
        assert got[user] == pytest.approx(want, abs=1e-12)
    assert np.isfinite(result.mean("model"))
