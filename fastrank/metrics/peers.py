"""Other tools' numbers, and the fastrank switches that reproduce them: :data:`PEERS`, one
:class:`Peer` per tool, each held by a test in ``tests/`` (named in :attr:`Peer.test`) on the
tool's own published test data or against the tool itself. The README's table of conventions is
:func:`readme_table`'s."""

from __future__ import annotations

from dataclasses import dataclass


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
