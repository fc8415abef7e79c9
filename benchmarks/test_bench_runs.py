"""Runs against held-out truth: fastrank.evaluate_run next to ranx and pytrec_eval, in one run.

Two synthetic cases, full size by default (``FASTRANK_BENCH_USERS`` scales them down):

* ``search``: 7,000 queries x 1,000 retrieved documents each, string ids, about 1.5 relevant
  documents per query (half of them retrieved);
* ``recsys``: 100,000 users x top-100 from a 50,000-item catalog, integer ids, 20 held-out items
  per user.

Each list is in rank order (score descending), as search engines and recommenders write runs.

"whole" is tables in memory (pandas) to per-user values, each tool's own input construction
included (ranx: ``Qrels.from_df`` / ``Run.from_df``; pytrec_eval: its dicts of dicts). "metric
step" is the evaluation alone on inputs already built (fastrank: the grouped kernel on the joined
arrays). Peak memory: each tool's whole evaluation in a fresh process, reading the case from
parquet (VmHWM: interpreter, libraries and data included).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fastrank
from fastrank.api.join import join, prepare_truth, read_run
from fastrank.api.options import RunOptions, check_run
from fastrank.metrics.dispatch import evaluate_grouped

from .conftest import N_USERS

SCALE = N_USERS / 1354
KS = (10, 100)
METRICS = ("ndcg", "recall", "map", "precision", "mrr")
CUTS = ",".join(map(str, KS))
PYTREC_MEASURES = {f"{m}.{CUTS}" for m in ("ndcg_cut", "recall", "map_cut", "P")} | {"recip_rank"}
RANX_METRICS = [f"{m}@{k}" for m in ("ndcg", "recall", "map", "precision", "mrr") for k in KS]


def make_search(n_queries: int, depth: int = 1_000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    corpus = 50 * n_queries * depth // 10
    docs = rng.integers(0, corpus, n_queries * depth)
    users = np.repeat(np.arange(n_queries), depth)
    run = pd.DataFrame({"user_id": users, "item_id": docs, "score": rng.gamma(2.0, 5.0, len(docs))})
    run = run.drop_duplicates(["user_id", "item_id"]).sort_values(
        ["user_id", "score"], ascending=[True, False]
    )
    n_relevant = 1 + rng.binomial(1, 0.5, n_queries)  # 1.5 on average
    truth_users = np.repeat(np.arange(n_queries), n_relevant)
    found = rng.random(len(truth_users)) < 0.5
    first_rows = run.groupby("user_id").head(depth).groupby("user_id")["item_id"]
    sample = first_rows.sample(n=1, random_state=seed, replace=True).to_numpy()[truth_users]
    unseen = rng.integers(corpus, 2 * corpus, len(truth_users))
    relevance = rng.integers(1, 3, len(truth_users))
    truth = pd.DataFrame(
        {"user_id": truth_users, "item_id": np.where(found, sample, unseen), "relevance": relevance}
    )
    truth = truth.drop_duplicates(["user_id", "item_id"])
    as_text = {
        "user_id": lambda s: "q" + s.astype(str),
        "item_id": lambda s: "D" + s.astype(str).str.zfill(8),
    }
    return run.transform(as_text | {"score": lambda s: s}), truth.transform(
        as_text | {"relevance": lambda s: s}
    )


def make_recsys(
    n_users: int, top: int = 100, catalog: int = 50_000, heldout: int = 20, seed: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), top)
    noisy = np.linspace(1, 0, top) + rng.normal(0, 0.01, (n_users, top))
    scores = -np.sort(-noisy, axis=1).ravel()  # each list in rank order, as a recommender emits it
    run = pd.DataFrame(
        {"user_id": users, "item_id": rng.integers(0, catalog, n_users * top), "score": scores}
    )
    held = np.repeat(np.arange(n_users), heldout)
    truth = pd.DataFrame({"user_id": held, "item_id": rng.integers(0, catalog, len(held)), "relevance": 1})
    return run.drop_duplicates(["user_id", "item_id"]), truth.drop_duplicates(["user_id", "item_id"])


CASES = {
    "search": lambda: make_search(max(20, round(7_000 * SCALE))),
    "recsys": lambda: make_recsys(max(20, round(100_000 * SCALE))),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request, tmp_path_factory):
    run, truth = CASES[request.param]()
    root = tmp_path_factory.mktemp(request.param)
    run.to_parquet(root / "run.parquet")
    truth.to_parquet(root / "truth.parquet")
    return request.param, run, truth, root


def _fastrank(run: pd.DataFrame, truth: pd.DataFrame) -> fastrank.Evaluation:
    return fastrank.evaluate_run(run, truth, k=KS, metrics=METRICS)


def _pytrec_dicts(run: pd.DataFrame, truth: pd.DataFrame) -> tuple[dict, dict]:
    qrels: dict = {}
    for user, item, rel in zip(
        truth.user_id.astype(str), truth.item_id.astype(str), truth.relevance, strict=True
    ):
        qrels.setdefault(user, {})[item] = int(rel)
    results: dict = {}
    for user, item, score in zip(run.user_id.astype(str), run.item_id.astype(str), run.score, strict=True):
        results.setdefault(user, {})[item] = float(score)
    return qrels, results


def _ranx_inputs(run: pd.DataFrame, truth: pd.DataFrame):
    import ranx

    def text(frame: pd.DataFrame) -> pd.DataFrame:  # ranx wants ids as object-dtype strings
        return frame.assign(**{c: frame[c].astype(str).astype(object) for c in ("user_id", "item_id")})

    qrels = ranx.Qrels.from_df(text(truth), q_id_col="user_id", doc_id_col="item_id", score_col="relevance")
    results = ranx.Run.from_df(text(run), q_id_col="user_id", doc_id_col="item_id", score_col="score")
    return qrels, results


def test_fastrank_whole(benchmark, record_seconds, case):
    name, run, truth, _ = case
    result = benchmark.pedantic(_fastrank, args=(run, truth), rounds=3, iterations=1, warmup_rounds=1)
    assert result.n_users == truth.user_id.nunique()
    if benchmark.stats:
        record_seconds(f"runs: {name}, whole", "fastrank", benchmark.stats.stats.median, base=True)


def test_fastrank_metric_step(benchmark, record_seconds, case):
    name, run, truth, _ = case
    options = RunOptions(k=KS, metrics=METRICS)
    specs, scoring = check_run(options)
    prepared = prepare_truth(truth, options)
    joined = join(read_run(run, "run", options), prepared, options, [])
    groups = fastrank.groups_from_offsets(joined.offsets, prepared.users)

    def metrics():
        return evaluate_grouped(
            groups, joined.labels, joined.scores, specs, scoring, parallel=True, ranked=joined.ranked,
            map_denominator=options.map_denominator,
        )  # fmt: skip

    benchmark.pedantic(metrics, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats:
        record_seconds(f"runs: {name}, metric step", "fastrank", benchmark.stats.stats.median, base=True)


NEW_MEASURES = (
    "ndcg@10",
    "map@all",
    "bpref",
    "err@10",
    "judged@10",
    "rbp_residual@10",
    "gm_map",
    "num_rel_ret",
    "infap",
    "iprec@50",
    "iprec_11pt",
)
"""Issue 22's measures, each timed alone on the joined arrays against NDCG@10 (the first)."""


def time_measure_step(benchmark, record_seconds, group: str, run, truth, ks, measure: str) -> None:
    """Time ``measure``'s metric step alone on the joined arrays of ``run`` and ``truth``
    (``ties="trec"``, trec_eval's MAP denominator, judged flags joined), recorded in ``group``
    against NDCG@10's (the first of :data:`NEW_MEASURES`)."""
    options = RunOptions(k=ks, metrics=[measure], ties="trec", map_denominator="relevant")
    specs, scoring = check_run(options)
    prepared = prepare_truth(truth, options)
    joined = join(read_run(run, "run", options), prepared, options, [], with_judged=True)
    groups = fastrank.groups_from_offsets(joined.offsets, prepared.users)

    def metrics():
        return evaluate_grouped(
            groups, joined.labels, joined.scores, specs, scoring, parallel=True, ranked=joined.ranked,
            map_denominator=options.map_denominator, judged=joined.judged,
        )  # fmt: skip

    benchmark.pedantic(metrics, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats:
        record_seconds(group, measure, benchmark.stats.stats.median, base=measure == NEW_MEASURES[0])


@pytest.mark.parametrize("measure", NEW_MEASURES)
def test_fastrank_measure_step(benchmark, record_seconds, case, measure):
    name, run, truth, _ = case
    time_measure_step(
        benchmark, record_seconds, f"runs: {name}, one measure's metric step", run, truth, KS, measure
    )


def test_pytrec_eval_whole(benchmark, record_seconds, case):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    name, run, truth, _ = case

    def whole():
        qrels, results = _pytrec_dicts(run, truth)
        return pytrec_eval.RelevanceEvaluator(qrels, PYTREC_MEASURES).evaluate(results)

    benchmark.pedantic(whole, rounds=1, iterations=1)
    if benchmark.stats:
        record_seconds(f"runs: {name}, whole", "pytrec_eval (dicts + evaluate)", benchmark.stats.stats.median)


def test_pytrec_eval_metric_step(benchmark, record_seconds, case):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    name, run, truth, _ = case
    qrels, results = _pytrec_dicts(run, truth)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, PYTREC_MEASURES)
    benchmark.pedantic(evaluator.evaluate, args=(results,), rounds=1, iterations=1)
    if benchmark.stats:
        record_seconds(f"runs: {name}, metric step", "pytrec_eval evaluate", benchmark.stats.stats.median)


def test_ranx_whole(benchmark, record_seconds, case):
    ranx = pytest.importorskip("ranx")
    name, run, truth, _ = case
    qrels, results = _ranx_inputs(run.head(1000), truth)
    ranx.evaluate(qrels, results, RANX_METRICS, make_comparable=True)  # compile ranx's numba code first

    def whole():
        qrels, results = _ranx_inputs(run, truth)
        return ranx.evaluate(qrels, results, RANX_METRICS, return_mean=False, make_comparable=True)

    benchmark.pedantic(whole, rounds=1, iterations=1)
    if benchmark.stats:
        record_seconds(f"runs: {name}, whole", "ranx (from_df + evaluate)", benchmark.stats.stats.median)


def test_ranx_metric_step(benchmark, record_seconds, case):
    ranx = pytest.importorskip("ranx")
    name, run, truth, _ = case
    qrels, results = _ranx_inputs(run, truth)
    ranx.evaluate(qrels, results, RANX_METRICS, make_comparable=True)

    def metrics():
        return ranx.evaluate(qrels, results, RANX_METRICS, return_mean=False, make_comparable=True)

    benchmark.pedantic(metrics, rounds=1, iterations=1)
    if benchmark.stats:
        record_seconds(f"runs: {name}, metric step", "ranx evaluate", benchmark.stats.stats.median)


PEAK = """
import sys, time
import pandas as pd
sys.path.insert(0, {root!r})
from benchmarks import test_bench_runs as b
run, truth = pd.read_parquet({run!r}), pd.read_parquet({truth!r})
tool = {tool!r}
if tool == "fastrank":
    b._fastrank(run, truth)
elif tool == "pytrec_eval":
    import pytrec_eval
    qrels, results = b._pytrec_dicts(run, truth)
    pytrec_eval.RelevanceEvaluator(qrels, b.PYTREC_MEASURES).evaluate(results)
else:
    import ranx
    qrels, results = b._ranx_inputs(run, truth)
    ranx.evaluate(qrels, results, b.RANX_METRICS, return_mean=False, make_comparable=True)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")]
print("peak-kib", hwm[0].split()[1])
"""


@pytest.mark.parametrize("tool", ["fastrank", "pytrec_eval", "ranx"])
def test_peak_memory(benchmark, record_seconds, case, tool):
    """Peak resident memory of the whole evaluation in a fresh process (reading the parquet files
    included), reported as text in the summary; the time is not compared."""
    pytest.importorskip(tool)
    if tool != "fastrank" and SCALE < 1:
        pytest.skip("peers' memory at full size only (a fresh ranx process compiles for a minute)")
    name, _, _, root = case
    script = PEAK.format(root=str(Path(__file__).resolve().parents[1]), run=str(root / "run.parquet"),
                         truth=str(root / "truth.parquet"), tool=tool)  # fmt: skip

    def once():
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        return int(done.stdout.split()[-1])

    peak_kib = benchmark.pedantic(once, rounds=1, iterations=1)
    record_seconds(f"runs: {name}, peak memory", f"{tool}: {peak_kib / 1024:,.0f} MiB")
