"""The metric registry (fastrank.metrics.registry) is the one place a metric is declared: the README,
the CLI and the entry points read from it, and a metric's name appears in few modules."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import ndcg_score

import fastrank
from fastrank import kernels
from fastrank.cli.commands import build_parser
from fastrank.metrics.registry import (
    ERROR,
    METRICS,
    POOLED,
    REGISTRY,
    MetricSpec,
    expand,
    parse_metric,
    readme_tables,
    trec_eval_name,
)

PACKAGE = Path(fastrank.__file__).parent


def test_the_readme_metric_tables_are_the_registry():
    readme = (PACKAGE.parent / "README.md").read_text()
    for table in readme_tables():
        assert table in readme, table.splitlines()[0]


def _modules_naming(name: str) -> list[str]:
    """Modules of fastrank/ whose text holds ``name`` as a word (as ``grep -w`` finds it), Python's
    own ``map()`` and pandas' ``.map()`` aside."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    found = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if name == "map":
            text = re.sub(r"\bmap\(", "", text)
        if word.search(text):
            found.append(str(path.relative_to(PACKAGE)))
    return sorted(found)


@pytest.mark.parametrize("name", METRICS)
def test_a_metric_is_named_in_at_most_three_modules(name):
    """The registry, its formula, and one more (a public function named after it, a CLI flag)."""
    assert len(_modules_naming(name)) <= 3, _modules_naming(name)


def test_the_cli_offers_every_registered_metric():
    evaluate = build_parser()._subparsers._group_actions[0].choices["evaluate"]
    help_text = next(action.help for action in evaluate._actions if action.dest == "metrics")
    assert all(re.search(rf"\b{name}\b", help_text) for name in METRICS), help_text


@pytest.mark.parametrize("name", METRICS)
def test_every_registered_metric_is_computed(name):
    metric = REGISTRY[name]
    rng = np.random.default_rng(1)
    users = np.repeat(np.arange(6), 8)
    # Log loss takes labels in {0, 1} only; every other metric, any grade.
    log_loss = metric.family in (ERROR, POOLED) and metric.column == kernels.LOG
    labels = rng.integers(0, 2 if log_loss else 3, users.size)
    labels = labels.astype(float)
    scores = rng.random(users.size)
    spec = name if metric.cutoff == "none" else f"{name}@3"
    ties = "pessimistic" if metric.needs_order else "average"
    features = pd.DataFrame({"item": np.arange(10), "a": rng.random(10), "b": rng.random(10)})
    history = pd.DataFrame({"user": np.arange(6), "item": np.arange(6)})
    result = fastrank.ranking_metrics(
        users, labels, scores, [spec], items=rng.integers(0, 10, users.size), ties=ties,
        item_features=features, history=history,
    )  # fmt: skip
    assert np.isfinite(result.mean[spec])
    assert metric.label and metric.definition


def test_a_cutoff_of_all_names_the_whole_list():
    """``name@all`` is the metric over the whole list (trec_eval's uncut measures), once, whatever
    the cutoffs; a bare name is the metric at every cutoff; a metric that needs one refuses it."""
    assert parse_metric("NDCG @ all") == MetricSpec("ndcg", None)
    assert expand(["ndcg@all", "map", "auc@all"], [5, 10]) == [
        MetricSpec("ndcg", None), MetricSpec("map", 5), MetricSpec("map", 10), MetricSpec("auc", None)
    ]  # fmt: skip
    with pytest.raises(fastrank.InputError, match=r"coverage needs a cutoff, e.g. 'coverage@10'"):
        parse_metric("coverage@all")
    rng = np.random.default_rng(5)
    users, labels, scores = np.repeat([0, 1], 30), rng.integers(0, 4, 60), rng.random(60).round(1)
    got = fastrank.ranking_metrics(users, labels, scores, ["ndcg@all"]).to_frame()["ndcg"]
    for user in (0, 1):
        rows = users == user
        assert got[user] == pytest.approx(ndcg_score([labels[rows]], [scores[rows]]), rel=1e-12)


def test_a_recall_level_is_a_percent_and_a_maximum_needs_an_order():
    """``iprec@50`` is recall 0.5 (trec_eval's ``iprec_at_recall_0.50``), from 0 to 100; a bare
    ``iprec`` is trec_eval's 11 levels; a decimal is refused with the spelling to use; a maximum over
    ranks is refused with ties averaged, in one line naming the rules that order ties."""
    assert parse_metric("iprec@0") == MetricSpec("iprec", 0)
    assert expand(["iprec", "iprec_11pt"], [5]) == [
        *(MetricSpec("iprec", level) for level in range(0, 101, 10)), MetricSpec("iprec_11pt", None)
    ]  # fmt: skip
    assert trec_eval_name(MetricSpec("iprec", 50)) == "iprec_at_recall_0.50"
    assert trec_eval_name(MetricSpec("iprec", 0)) == "iprec_at_recall_0.00"
    with pytest.raises(fastrank.InputError, match=r"in percent, 0 to 100 \(write 'iprec@50'"):
        parse_metric("iprec@0.5")
    with pytest.raises(fastrank.InputError, match=r"in percent, 0 to 100. Got 101"):
        parse_metric("iprec@101")
    with pytest.raises(fastrank.InputError, match=r"must be an int >= 1"):
        parse_metric("ndcg@2.5")
    users, labels, scores = [0, 0, 1, 1], [1, 0, 1, 1], [0.5, 0.5, 0.2, 0.1]
    for spec in ("iprec@50", "iprec_11pt"):
        with pytest.raises(
            fastrank.InputError, match=r"no exact average over the orders of tied scores; pass"
        ):
            fastrank.ranking_metrics(users, labels, scores, [spec])
    pessimistic = fastrank.ranking_metrics(users, labels, scores, ["iprec@50"], ties="pessimistic")
    optimistic = fastrank.ranking_metrics(users, labels, scores, ["iprec@50"], ties="optimistic")
    assert list(pessimistic["iprec@50"]) == [0.5, 1.0]  # the tie's relevant row second, then first
    assert list(optimistic["iprec@50"]) == [1.0, 1.0]
