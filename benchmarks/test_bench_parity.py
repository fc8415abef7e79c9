"""Parity mode, like with like: from TREC files on disk to per-query values with trec_eval's tie
rule (ties broken by docno) and its MAP denominator, fastrank against pytrec_eval (its
``parse_run`` / ``parse_qrel`` plus evaluate) and ranx (``from_file`` plus evaluate), each tool
reading the files itself; fastrank's default ties (averaged) on the same files beside them.

Cases (full size; ``FASTRANK_BENCH_USERS`` scales them down): a search run of 20,000 queries x
200 documents, text ids, scores rounded so that ties are common, written in rank order; a
recommender run of 50,000 users x 100 items, integer ids, lines not in rank order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fastrank

from .conftest import N_USERS
from .test_bench_runs import NEW_MEASURES, time_measure_step

SCALE = N_USERS / 1354
KS = (10, 100)
METRICS = ("ndcg", "map", "recall")
PYTREC_MEASURES = {f"{m}.{','.join(map(str, KS))}" for m in ("ndcg_cut", "map_cut", "recall")}
RANX_METRICS = [f"{m}@{k}" for m in METRICS for k in KS]
GROUP = "parity: TREC files to per-query values, trec_eval's ties and MAP denominator"


def _search(n_queries: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    users = np.repeat(np.arange(n_queries), 200)
    run = pd.DataFrame({"q": users, "d": rng.integers(0, 100 * n_queries, len(users)),
                        "s": np.round(rng.gamma(2.0, 5.0, len(users)), 1)})  # fmt: skip
    run = run.drop_duplicates(["q", "d"]).sort_values(["q", "s"], ascending=[True, False])
    judged = run.groupby("q").sample(n=5, random_state=1)[["q", "d"]]
    never = rng.integers(100 * n_queries, 200 * n_queries, 5 * n_queries)  # judged, never retrieved
    unseen = pd.DataFrame({"q": np.repeat(np.arange(n_queries), 5), "d": never})
    qrels = pd.concat([judged, unseen]).drop_duplicates(["q", "d"])
    qrels["rel"] = rng.integers(0, 3, len(qrels))
    text = {"q": lambda s: "q" + s.astype(str), "d": lambda s: "D" + s.astype(str).str.zfill(9)}
    return run.transform(text | {"s": lambda s: s}), qrels.transform(text | {"rel": lambda s: s})


def _recsys(n_users: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    users = np.repeat(np.arange(n_users), 100)
    run = pd.DataFrame({"q": users, "d": rng.integers(0, 50_000, len(users)), "s": rng.random(len(users))})
    run = run.drop_duplicates(["q", "d"])  # lines in no particular order within a user
    held = np.repeat(np.arange(n_users), 20)
    qrels = pd.DataFrame({"q": held, "d": rng.integers(0, 50_000, len(held)), "rel": 1})
    return run, qrels.drop_duplicates(["q", "d"])


CASES = {
    "search, 200 per query, text ids, ties": lambda rng: _search(max(20, round(20_000 * SCALE)), rng),
    "recsys, 100 per user, integer ids, unsorted": lambda rng: _recsys(max(20, round(50_000 * SCALE)), rng),
}


@pytest.fixture(scope="module", params=list(CASES))
def files(request, tmp_path_factory):
    run, qrels = CASES[request.param](np.random.default_rng(0))
    root = tmp_path_factory.mktemp("parity")
    lines = run.assign(Q0="Q0", rank=run.groupby("q").cumcount() + 1, tag="bench")
    lines[["q", "Q0", "d", "rank", "s", "tag"]].to_csv(root / "run.trec", sep=" ", header=False, index=False)
    qrels.assign(it=0)[["q", "it", "d", "rel"]].to_csv(root / "qrels", sep=" ", header=False, index=False)
    return request.param, str(root / "run.trec"), str(root / "qrels")


def _fastrank(run: str, qrels: str, ties: str) -> fastrank.Evaluation:
    return fastrank.evaluate_run(run, qrels, k=KS, metrics=METRICS, ties=ties, map_denominator="relevant")


@pytest.mark.parametrize("ties", ["trec", "average"])
def test_fastrank(benchmark, record_seconds, files, ties):
    name, run, qrels = files
    _fastrank(run, qrels, ties)  # compiled and the files in the OS cache, as for the peers
    result = benchmark.pedantic(_fastrank, args=(run, qrels, ties), rounds=3, iterations=1)
    assert result.n_users > 0
    label = "fastrank, ties=trec (evaluate_run on the files)" if ties == "trec" else "fastrank, ties averaged"
    record_seconds(f"{GROUP}: {name}", label, benchmark.stats.stats.median if benchmark.stats else None,
                   base=ties == "trec")  # fmt: skip


def test_pytrec_eval(benchmark, record_seconds, files):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    name, run, qrels = files

    def whole():
        with open(run) as r, open(qrels) as q:
            results, judgments = pytrec_eval.parse_run(r), pytrec_eval.parse_qrel(q)
        return pytrec_eval.RelevanceEvaluator(judgments, PYTREC_MEASURES).evaluate(results)

    want = benchmark.pedantic(whole, rounds=1, iterations=1)
    got = _fastrank(run, qrels, "trec")
    mean = float(np.mean([values["ndcg_cut_10"] for values in want.values()]))
    assert got.mean("run", k=10) == pytest.approx(mean, abs=1e-9)  # like with like
    record_seconds(f"{GROUP}: {name}", "pytrec_eval (parse_run, parse_qrel, evaluate)",
                   benchmark.stats.stats.median if benchmark.stats else None)  # fmt: skip


def test_ranx(benchmark, record_seconds, files, tmp_path):
    ranx = pytest.importorskip("ranx")
    name, run, qrels = files
    for source, small in ((run, "r"), (qrels, "q")):  # ranx compiles its code on a small case first
        with open(source) as lines:
            (tmp_path / small).write_text("".join(lines.readlines()[:300]))
    small = (
        ranx.Qrels.from_file(str(tmp_path / "q"), kind="trec"),
        ranx.Run.from_file(str(tmp_path / "r"), kind="trec"),
    )
    ranx.evaluate(*small, RANX_METRICS, make_comparable=True)

    def whole():
        judgments, results = ranx.Qrels.from_file(qrels, kind="trec"), ranx.Run.from_file(run, kind="trec")
        return ranx.evaluate(judgments, results, RANX_METRICS, return_mean=False, make_comparable=True)

    benchmark.pedantic(whole, rounds=1, iterations=1)
    record_seconds(f"{GROUP}: {name}", "ranx (Qrels/Run.from_file, evaluate)",
                   benchmark.stats.stats.median if benchmark.stats else None)  # fmt: skip


@pytest.mark.parametrize("measure", NEW_MEASURES)
def test_fastrank_measure_step(benchmark, record_seconds, files, measure):
    """Each of issue 22's measures alone, on these cases' joined arrays, against NDCG@10's step."""
    name, run, qrels = files
    group = f"parity: {name}, one measure's metric step"
    time_measure_step(benchmark, record_seconds, group, run, qrels, KS, measure)
