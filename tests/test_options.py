"""fastrank.options: one Options object behind evaluate, compare and the CLI, checked in one place."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re

import pandas as pd
import pytest

import fastrank
from fastrank.api.options import Options, resolve
from fastrank.cli.commands import main
from fastrank.inputs.tables import TableSource


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("options") / "t.parquet"
    pd.DataFrame(
        {"user_id": [1, 1, 2, 2], "video_id": [1, 2, 1, 2], "watch_ratio": [1.0, 0.0, 2.0, 0.5], "s": 0.5}
    ).to_parquet(path)
    return path


def test_evaluate_takes_exactly_the_options_with_their_defaults():
    """evaluate() builds Options from its parameters: a field added to one must be added to both."""
    parameters = dict(inspect.signature(fastrank.evaluate).parameters)
    assert next(iter(parameters)) == "data"
    parameters.pop("data")
    fields = {field.name: field.default for field in dataclasses.fields(Options)}
    assert {name: p.default for name, p in parameters.items()} == fields


def test_options_are_frozen_and_replace_gives_a_copy():
    options = Options(k=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.k = 3  # type: ignore[misc]
    assert options.replace(k=3).k == 3 and options.k == 5


def test_resolve_builds_the_plan_every_engine_runs(table):
    resolved = resolve(Options(baselines="s", k=[5, 10], metrics=["ndcg", "map"]), TableSource(table))
    plan = resolved.plan
    assert (plan.ks, plan.metrics, plan.baselines, plan.features) == ((5, 10), ("ndcg", "map"), ("s",), ())
    assert plan.columns == ["user_id", "watch_ratio", "video_id", "s"]
    assert (resolved.engine, resolved.chunk_rows, resolved.workers) == ("auto", None, None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 2}, "^workers= needs engine='dask'"),
        ({"scheduler": "tcp://x:1"}, "^scheduler= needs engine='dask'"),
        ({"engine": "dask", "workers": 2, "scheduler": "tcp://x:1"}, "starts a local cluster"),
        ({"engine": "memory", "chunk_rows": 10}, "chunk_rows= is for streaming, not for engine='memory'"),
        ({"engine": "stream", "chunk_rows": 0}, "The 'chunk_rows' parameter must be an int >= 1"),
        ({"engine": "dask", "workers": 0}, "workers= must be >= 1, got 0"),
        ({"engine": "warp"}, "engine: must be one of auto, memory, stream, dask"),
        ({"predictor": "torch"}, "predictor: must be one of auto, numpy, keras"),
    ],
)
def test_engine_and_predictor_options_are_refused_by_the_api_before_any_work(table, options, message):
    """The API refuses what the CLI always refused (it used to ignore workers= without Dask)."""
    with pytest.raises(fastrank.InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fastrank.evaluate(table, baselines=["s"], **options)


def test_the_cli_names_the_flags_for_the_same_checks(table, capsys):
    assert main(["evaluate", str(table), "--baseline", "s", "--engine", "memory", "--chunk-rows", "9"]) == 2
    assert "--chunk-rows is for streaming, not for --engine memory" in capsys.readouterr().err
    assert main(["evaluate", str(table), "--baseline", "s", "--batch-size", "0"]) == 2
    assert "--batch-size must be an int >= 1. Got 0 instead" in capsys.readouterr().err


def test_compare_passes_its_evaluation_options_through(table):
    result = fastrank.compare(table, baselines=["s"], k=[1, 2], metrics=["ndcg", "precision"], n_resamples=50)
    assert set(zip(result.intervals.metric, result.intervals.k, strict=True)) == {
        ("ndcg", 1), ("ndcg", 2), ("precision", 1), ("precision", 2)
    }  # fmt: skip
    with pytest.raises(TypeError, match="frobnicate"):
        fastrank.compare(table, baselines=["s"], frobnicate=True)


def test_evaluate_run_takes_exactly_the_run_options_with_their_defaults():
    from fastrank.api.options import RunOptions

    parameters = dict(inspect.signature(fastrank.evaluate_run).parameters)
    assert list(parameters)[:2] == ["run", "truth"]
    fields = {field.name: field.default for field in dataclasses.fields(RunOptions)}
    assert {name: p.default for name, p in list(parameters.items())[2:]} == fields


def test_the_cli_takes_the_new_metrics_and_their_flags(table, tmp_path, capsys):
    frame = pd.read_parquet(table).assign(w=[1.0, 3.0, 2.0, 2.0], plays=[5.0, 1.0, 5.0, 1.0])
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    metrics = [
        "auc",
        "gauc",
        "f1",
        "r_precision",
        "coverage",
        "arp",
        "novelty",
        "gini",
        "entropy",
        "long_tail",
    ]
    args = ["evaluate", str(path), "--baseline", "s", "-k", "1", "--metrics", *metrics, "--json"]
    assert main([*args, "--gauc-weight", "w", "--popularity-col", "plays"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["metric"] for r in records] == metrics
    assert {r["metric"]: r["k"] for r in records}["auc"] is None
    api = fastrank.evaluate(
        path, baselines=["s"], k=1, metrics=metrics, gauc_weight="w", popularity_col="plays"
    )
    assert [r["mean"] for r in records] == [None if m != m else m for m in api.summary["mean"]]
    assert main(["evaluate", str(path), "--baseline", "s", "--metrics", "auc", "ndcg"]) == 0
    assert re.search(r"\nstandard +auc +- +s ", capsys.readouterr().out)  # no cutoff: "-"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--metrics", "ndcg", "--popularity-col", "plays"], "--popularity-col is for the beyond-accuracy"),
        (["--metrics", "ndcg", "--gauc-weight", "users"], "--gauc-weight weights GAUC"),
        (["--metrics", "long_tail@5", "--tail-share", "2"], "--tail-share must be above 0 and at most 1"),
        (["--metrics", "gauc", "--gauc-weight", "nope"], "weight column 'nope'"),
        (["--metrics", "auc@3"], "auc ranks the whole list"),
    ],
)
def test_the_cli_refuses_bad_new_metric_flags_in_one_line(table, capsys, flags, message):
    assert main(["evaluate", str(table), "--baseline", "s", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
