"""Other tools' numbers, from their own published test data (transcribed here, with where it comes
from), reproduced by the fastrank switches of :data:`PEERS`, the README's table of conventions;
one test per tool. trec_eval and ranx are compared with the tools themselves in
``tests/test_runs.py``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, mean_absolute_error, ndcg_score, roc_auc_score, root_mean_squared_error

import fastrank

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Peer:
    """One tool: ``metrics`` pairs its metric names with the fastrank call that gives the same
    numbers; ``test`` is ``file::function`` of the test that holds them equal."""

    name: str
    metrics: tuple[tuple[str, str], ...]
    test: str


PEERS: tuple[Peer, ...] = (
    Peer("trec_eval (pytrec_eval)", (
        ("`ndcg_cut_k`, `P_k`, `recall_k`, `map_cut_k`, `success_k`, `Rprec`, `bpref`, `infAP`, `set_*`, "
         "`iprec_at_recall_*`, `11pt_avg`, `num_*`", "`evaluate_run(..., ties=\"trec\", "
         "map_denominator=\"relevant\")`; `map`, `ndcg`, `recip_rank` as `map@all`, `ndcg@all`, `mrr@all`"),
        ("`-M N`, `-J`", "`depth=N`, `judged_only=True`"),
    ), "tests/test_runs.py::test_equals_pytrec_eval_per_user_with_trec_ties_and_denominators"),
    Peer("ranx", (
        ("`ndcg@k`, `precision@k`, `recall@k`, `map@k`, `mrr`, `hit_rate@k`", "`evaluate_run(..., "
         "map_denominator=\"relevant\")` (integer relevance; ranx breaks ties its own way)"),
    ), "tests/test_runs.py::test_equals_ranx_on_integer_relevance_without_ties"),
    Peer("RecBole", (
        ("ItemCoverage, GiniIndex", "`coverage@k`, `gini@k` of runs with `catalog=` the dataset's items"),
        ("ShannonEntropy", "`entropy@k` x ln 2 / the items listed"),
        ("AveragePopularity", "`arp@k` x the popularity total (`popularity=` with `popularity_col=` counts)"),
        ("TailPercentage", "`long_tail@k` with `tail_share=0.1, tail_ties=\"item\"` (RecBole leaves an item "
         "without a count out of the tail: give it one above the others)"),
        ("GAUC", "`gauc` with `gauc_weight=\"positives\"`"),
        ("RMSE, MAE, LogLoss", "`rmse_rows`, `mae_rows`, `logloss_rows`"),
        ("NDCG, Recall, Precision, MAP, MRR, Hit", "`ndcg@k` with `gain=\"binary\"`, `recall@k`, "
         "`precision@k`, `map@k`, `mrr@k`, `hit_rate@k` of runs (relevant items a run missed count)"),
    ), "tests/test_peers.py::test_recbole"),
    Peer("Microsoft Recommenders", (
        ("`rmse`, `mae`, `logloss`", "`rmse_rows`, `mae_rows`, `logloss_rows` on the joined rows"),
        ("`catalog_coverage`, `distributional_coverage`", "`coverage@k` with `catalog=` the training items, "
         "`entropy@k`"),
        ("`novelty`", "`novelty@k` with `popularity=` the training interactions (equal list lengths)"),
        ("`diversity`, `user_diversity`", "`ild@k` with `cooccurrence=` the training interactions, or "
         "`item_features=`"),
        ("`serendipity`, `user_serendipity`", "`serendipity@k` with `history=` the training interactions, "
         "relevance as the label"),
    ), "tests/test_peers.py::test_microsoft_recommenders"),
    Peer("RecTools", (
        ("MeanInvUserFreq", "`novelty@k` with `popularity=` each item's users (`popularity_col=`; an item "
         "without interactions as 1 user, as RecTools counts it), then + log2(users / the popularity total)"),
    ), "tests/test_peers.py::test_rectools"),
    Peer("TorchMetrics", (
        ("RetrievalNormalizedDCG (its tests' reference: scikit-learn's `ndcg_score` per query)", "`ndcg@k`; "
         "`empty_target_action=\"neg\"` or `\"skip\"` is `no_relevant=\"zero\"` or `\"skip\"`"),
    ), "tests/test_peers.py::test_torchmetrics"),
    Peer("scikit-learn", (
        ("`ndcg_score(ignore_ties=False)`", "`ndcg@k` (the default: ties averaged)"),
        ("`roc_auc_score`", "`auc` per user"),
        ("`root_mean_squared_error`, `mean_absolute_error`, `log_loss`", "`rmse`, `mae`, `logloss` per user; "
         "`_rows` over every row"),
    ), "tests/test_peers.py::test_scikit_learn"),
)  # fmt: skip
"""Every tool whose numbers fastrank reproduces, in the order of the README's table."""


def readme_table() -> str:
    """The README's table of other tools' conventions, one row per tool and metric."""
    lines = ["| tool | its metric | fastrank | held by |", "|---|---|---|---|"]
    for peer in PEERS:
        for theirs, ours in peer.metrics:
            lines.append(f"| {peer.name} | {theirs} | {ours} | `{peer.test}` |")
    return "\n".join(lines)


def test_the_readme_table_is_the_peers_and_each_row_names_a_test_that_exists():
    assert readme_table() in (ROOT / "README.md").read_text()
    for peer in PEERS:
        path, _, name = peer.test.partition("::")
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.MULTILINE), peer.test


def _run(lists):
    """A run of ranked lists (best first) as a table: user_id, item_id, score."""
    rows = [(u, item, len(items) - r) for u, items in lists.items() for r, item in enumerate(items)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "score"])


def test_recbole():
    """RecBole's tests/metrics/test_topk_metrics.py, test_rank_metrics.py, test_loss_metrics.py."""
    # Top-k: four users' top-3 flags of relevance, and their relevant items (pos_len).
    pos_idx = np.array([[0, 0, 0], [1, 1, 1], [1, 0, 1], [0, 0, 1]])
    pos_len = [1, 3, 4, 2]
    lists = {u: [f"u{u}i{r}" for r in range(3)] for u in range(4)}
    truth = [(u, f"u{u}i{r}") for u in range(4) for r in range(3) if pos_idx[u, r]]
    truth += [(u, f"missed{u}_{j}") for u in range(4) for j in range(pos_len[u] - pos_idx[u].sum())]
    truth = pd.DataFrame(truth, columns=["user_id", "item_id"]).assign(relevance=1.0)
    got = fastrank.evaluate_run(_run(lists), truth, k=[1, 2, 3], metrics=["ndcg", "recall", "precision",
                                "map", "mrr", "hit_rate"], gain="binary")  # fmt: skip
    values = got.per_user.pivot_table(index=["metric", "user"], columns="k", values="value")
    d = [1 / math.log2(r + 2) for r in range(4)]
    expected = {
        "hit_rate": [[0, 0, 0], [1, 1, 1], [1, 1, 1], [0, 0, 1]],
        "ndcg": [[0, 0, 0], [1, 1, 1], [1, d[0] / (d[0] + d[1]), (d[0] + d[2]) / (d[0] + d[1] + d[2])],
                 [0, 0, d[2] / (d[0] + d[1])]],
        "mrr": [[0, 0, 0], [1, 1, 1], [1, 1, 1], [0, 0, 1 / 3]],
        "map": [[0, 0, 0], [1, 1, 1], [1, 1 / 2, (1 / 3) * (1 + 2 / 3)], [0, 0, (1 / 3) * (1 / 2)]],
        "recall": [[0, 0, 0], [1 / 3, 2 / 3, 1], [1 / 4, 1 / 4, 2 / 4], [0, 0, 1 / 2]],
        "precision": [[0, 0, 0], [1, 1, 1], [1, 1 / 2, 2 / 3], [0, 0, 1 / 3]],
    }  # fmt: skip
    for name, table in expected.items():
        np.testing.assert_allclose(values.loc[name].to_numpy(), table, rtol=1e-12, err_msg=name)

    # Beyond accuracy: five users' top-3 lists of 8 items (0..7), item popularity counts.
    item_matrix = [[5, 7, 3], [4, 5, 2], [2, 3, 5], [1, 4, 6], [5, 3, 7]]
    item_count = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5}
    run = _run(dict(enumerate(item_matrix)))
    truth = pd.DataFrame({"user_id": range(5), "item_id": 0, "relevance": 0.0})
    popularity = pd.DataFrame({"item_id": list(item_count), "count": list(item_count.values())})
    got = fastrank.evaluate_run(
        run, truth, k=3, metrics=["coverage", "gini", "entropy", "arp"], catalog=range(8),
        popularity=popularity, popularity_col="count",
    )  # fmt: skip
    assert got.mean("run", k=3, metric="coverage") == pytest.approx(7 / 8, rel=1e-15)
    gini = ((-7) * 0 + (-5) * 1 + (-3) * 1 + (-1) * 2 + 1 * 2 + 3 * 2 + 5 * 3 + 7 * 4) / (8 * (3 * 5))
    assert got.mean("run", k=3, metric="gini") == pytest.approx(gini, rel=1e-12)
    counts = [1, 2, 3, 2, 4, 1, 2]  # items 1..7 over the 15 places
    recbole_entropy = -np.mean([c / 15 * np.log(c / 15) for c in counts])
    entropy_bits = got.mean("run", k=3, metric="entropy")
    assert entropy_bits * math.log(2) / len(counts) == pytest.approx(recbole_entropy, rel=1e-12)
    per_user = got.per_user.pivot(index="user", columns="metric", values="value")
    total = sum(item_count.values())
    np.testing.assert_allclose(per_user["arp"] * total, [6 / 3, 8 / 3, 7 / 3, 8 / 3, 6 / 3], rtol=1e-12)
    # TailPercentage: the least popular 10% of the items with a count (at least one), ties by id;
    # RecBole leaves an item without a count (7) out of the tail: here, a count above every other.
    counted = pd.concat([popularity, pd.DataFrame({"item_id": [7], "count": [99]})])
    got = fastrank.evaluate_run(
        run, truth.assign(item_id=1), k=[1, 2, 3], metrics=["long_tail"], popularity=counted,
        popularity_col="count", tail_share=0.1, tail_ties="item",
    )  # fmt: skip
    tail = got.per_user.pivot(index="user", columns="k", values="value").to_numpy()
    expected = [[0, 0, 0], [0, 0, 0], [0, 0, 0], [1 / 1, 1 / 2, 1 / 3], [0, 0, 0]]
    np.testing.assert_allclose(tail, expected, atol=1e-15)

    # GAUC: users' (rows, relevant rows, sum of the relevant rows' ranks, best first).
    def users_of(lens, pos, rank_sums):
        rows = []
        for u, (n, p, rank_sum) in enumerate(zip(lens, pos, rank_sums, strict=True)):
            ranks = _ranks_summing_to(n, p, rank_sum)
            rows += [(u, float(r in ranks), float(n - r)) for r in range(1, n + 1)]
        return pd.DataFrame(rows, columns=["u", "label", "score"])

    case0 = users_of([2, 3, 5], [1, 2, 3], [1, 4, 9])
    gauc = fastrank.ranking_metrics(case0.u, case0.label, case0.score, ["gauc"], gauc_weight="positives")
    want = (1 * ((2 - 0 / 2 - 1 / 1) / 1) + 2 * ((3 - 1 / 2 - 4 / 2) / 1) + 3 * ((5 - 2 / 2 - 9 / 3) / 2)) / 6
    assert gauc.mean["gauc"] == pytest.approx(want, rel=1e-12)
    case1 = users_of([3, 6, 4], [1, 0, 4], [3, 0, 6])
    gauc = fastrank.ranking_metrics(case1.u, case1.label, case1.score, ["gauc"], gauc_weight="positives")
    assert gauc.mean["gauc"] == pytest.approx((3 - 0 - 3 / 1) / (3 - 1), abs=1e-15)

    # Losses over every row.
    for preds, trues, rmse, mae, logloss in [
        ([0.1, 0.9, 0.2, 0.3], [1, 0, 1, 1], np.sqrt((0.9**2 + 0.9**2 + 0.8**2 + 0.7**2) / 4),
         (0.9 + 0.9 + 0.8 + 0.7) / 4, (-np.log(0.1) - np.log(0.2) - np.log(0.3) - np.log(0.1)) / 4),
        ([0.7, 0.5, 0.6, 0.2], [0, 1, 1, 0], np.sqrt((0.7**2 + 0.5**2 + 0.4**2 + 0.2**2) / 4),
         (0.7 + 0.5 + 0.4 + 0.2) / 4, (-np.log(0.5) - np.log(0.6) - np.log(0.3) - np.log(0.8)) / 4),
    ]:  # fmt: skip
        got = fastrank.ranking_metrics([1] * 4, trues, preds, ["rmse_rows", "mae_rows", "logloss_rows"])
        assert got.mean["rmse_rows"] == pytest.approx(rmse, rel=1e-12)
        assert got.mean["mae_rows"] == pytest.approx(mae, rel=1e-12)
        assert got.mean["logloss_rows"] == pytest.approx(logloss, rel=1e-12)


def _ranks_summing_to(n, positives, total):
    """The first set (in lexicographic order) of ``positives`` ranks in 1..n summing to ``total``;
    for a user of one class (RecBole skips it, its rank sum aside), all its ranks or none."""
    from itertools import combinations

    if positives in (0, n):
        return set(range(1, positives + 1))
    return next(set(c) for c in combinations(range(1, n + 1), positives) if sum(c) == total)


def test_microsoft_recommenders():
    """Microsoft Recommenders' tests/unit/recommenders/evaluation (conftest.py, test_python_evaluation.py)."""
    train = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3, 3, 3], "item_id": [1, 2, 4, 3, 4, 3, 4, 5]})
    reco = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [3, 5, 2, 5, 1, 2], "score": 1.0})
    relevance = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [3, 5, 2, 5, 1, 2],
                              "relevance": [1.0, 0, 1, 1, 1, 0]})  # fmt: skip
    vectors = [[0.0, 1, 1, 0, 0], [0.0, 1, 0, 1, 0], [0.0, 0, 1, 1, 0], [0.0, 0, 1, 0, 1], [0.0, 0, 0, 1, 1]]
    features = pd.DataFrame({"item_id": [1, 2, 3, 4, 5], "features": vectors})
    by_cooccurrence = fastrank.evaluate_run(
        reco, relevance, k=2, metrics=["ild", "serendipity", "coverage", "entropy", "novelty"],
        cooccurrence=train, history=train, catalog=train.item_id, popularity=train,
    )  # fmt: skip
    per_user = by_cooccurrence.per_user.pivot(index="user", columns="metric", values="value")
    np.testing.assert_allclose(per_user["ild"], [0.29289, 1.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(per_user["serendipity"], [0.363915, 0.53455, 0.403775], atol=1e-5)
    assert by_cooccurrence.mean("run", k=2, metric="ild") == pytest.approx(0.43096, abs=1e-5)
    assert by_cooccurrence.mean("run", k=2, metric="serendipity") == pytest.approx(0.43408, abs=1e-5)
    assert by_cooccurrence.mean("run", k=2, metric="coverage") == pytest.approx(0.8, abs=1e-12)
    assert by_cooccurrence.mean("run", k=2, metric="entropy") == pytest.approx(1.9183, abs=1e-4)
    assert by_cooccurrence.mean("run", k=2, metric="novelty") == pytest.approx(2.83333, abs=1e-5)
    by_features = fastrank.evaluate_run(reco, relevance, k=2, metrics=["ild", "serendipity"],
                                        item_features=features, history=train)  # fmt: skip
    per_user = by_features.per_user.pivot(index="user", columns="metric", values="value")
    np.testing.assert_allclose(per_user["ild"], [0.5, 0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(per_user["serendipity"], [0.25, 0.625, 1 / 3], atol=1e-12)
    assert by_features.mean("run", k=2, metric="serendipity") == pytest.approx(0.4028, abs=1e-4)

    # rmse, mae and logloss of the predictions joined with the true ratings on (user, item).
    y_true = np.array([3, 3, 5, 5, 3, 3, 2, 1.0])
    y_pred = np.array([14, 12, 7, 8, 13, 6, 11, 5.0])
    got = fastrank.ranking_metrics([0] * 8, y_true, y_pred, ["rmse_rows", "mae_rows"])
    assert got.mean["rmse_rows"] == pytest.approx(7.254309, abs=1e-4)
    assert got.mean["mae_rows"] == pytest.approx(6.375, abs=1e-12)
    binary, scaled = (y_true >= 3).astype(float), (y_pred - 5) / (14 - 5)  # its minmax over every prediction
    got = fastrank.ranking_metrics([0] * 8, binary, scaled, ["logloss_rows"])
    assert got.mean["logloss_rows"] == pytest.approx(0.7835, abs=1e-4)


def test_rectools():
    """RecTools' tests/metrics/test_novelty.py: MeanInvUserFreq, -log2(users of the item / users),
    an item without interactions counted as one user."""
    interactions = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u3"], "item_id": ["i1", "i2", "i1", "i1"]})
    reco = _run({"u1": ["i3"], "u2": ["i2", "i3"], "u3": ["i1", "i2"]})
    truth = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "item_id": "none", "relevance": 0.0})
    users_per_item = (
        interactions.groupby("item_id")["user_id"].nunique().reindex(["i1", "i2", "i3"], fill_value=1)
    )
    popularity = users_per_item.rename("users").reset_index()
    n_users = interactions.user_id.nunique()
    for k, expected in [
        (1, [-np.log2(1 / 3), -np.log2(1 / 3), 0]),
        (2, [-np.log2(1 / 3)] * 2 + [-np.log2(1 / 3) / 2]),
    ]:
        got = fastrank.evaluate_run(reco, truth, k=k, metrics=["novelty"], popularity=popularity,
                                    popularity_col="users")  # fmt: skip
        shift = np.log2(n_users / popularity.users.sum())
        values = got.per_user.set_index("user").loc[["u1", "u2", "u3"], "value"]
        np.testing.assert_allclose(values + shift, expected, atol=1e-12)


def test_torchmetrics():
    """TorchMetrics' tests/unittests/retrieval/test_ndcg.py: its reference is scikit-learn's
    ``ndcg_score`` per query; a query without a relevant document scores 0
    (``empty_target_action="neg"``) or is left out (``"skip"``)."""
    rng = np.random.default_rng(11)
    queries = np.repeat(np.arange(30), rng.integers(2, 12, 30))
    target = rng.integers(0, 4, len(queries)) * (rng.random(len(queries)) < 0.5)
    preds = rng.random(len(queries)).round(1)  # ties
    for k in (1, 4, 10):
        for action, no_relevant in (("neg", "zero"), ("skip", "skip")):
            got = fastrank.ranking_metrics(queries, target, preds, [f"ndcg@{k}"], no_relevant=no_relevant)
            want = []
            for q in range(30):
                t, p = target[queries == q], preds[queries == q]
                if not t.any():
                    want.append(0.0 if action == "neg" else np.nan)
                else:
                    want.append(ndcg_score([t], [p], k=k))
            np.testing.assert_allclose(got[f"ndcg@{k}"], want, rtol=1e-12)


def test_scikit_learn():
    """scikit-learn's metrics per user (their own doctest data, one user each)."""
    # ndcg_score's docstring: true relevance [10, 0, 0, 1, 5] with scores [.1, .2, .3, 4, 70].
    got = fastrank.ranking_metrics([1] * 5, [10, 0, 0, 1, 5], [0.1, 0.2, 0.3, 4, 70], ["ndcg@all", "ndcg@4"])
    assert got.mean["ndcg"] == pytest.approx(
        ndcg_score([[10, 0, 0, 1, 5]], [[0.1, 0.2, 0.3, 4, 70]]), rel=1e-15
    )
    assert got.mean["ndcg@4"] == pytest.approx(
        ndcg_score([[10, 0, 0, 1, 5]], [[0.1, 0.2, 0.3, 4, 70]], k=4),
        rel=1e-15,
    )
    labels, scores = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]  # roc_auc_score's docstring: 0.75
    assert fastrank.ranking_metrics([1] * 4, labels, scores, ["auc"]).mean["auc"] == roc_auc_score(
        labels, scores
    )
    y, p = [3, -0.5, 2, 7], [2.5, 0.0, 2, 8]  # mean_squared_error's and mean_absolute_error's docstrings
    y, p = np.array(y) + 0.5, np.array(p) + 0.5  # labels >= 0: errors unchanged
    got = fastrank.ranking_metrics([1] * 4, y, p, ["rmse", "mae"])
    assert got.mean["rmse"] == pytest.approx(root_mean_squared_error(y, p), rel=1e-15)
    assert got.mean["mae"] == pytest.approx(mean_absolute_error(y, p), rel=1e-15)
    y, p = [0, 0, 1, 1], [0.1, 0.2, 0.7, 0.99]
    assert fastrank.ranking_metrics([1] * 4, y, p, ["logloss"]).mean["logloss"] == pytest.approx(
        log_loss(y, p)
    )
