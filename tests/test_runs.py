"""fastrank.evaluate_run: top-N runs against held-out truth, checked against pytrec_eval (trec_eval's
own code), ranx, and the per-user references in tests/naive.py."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fastrank
from fastrank.cli.commands import main
from fastrank.inputs import trec

from . import naive
from .cli import refused

METRICS = ["ndcg", "precision", "recall", "map", "mrr", "hit_rate"]


@st.composite
def run_and_truth(draw, integer_ids=False, tied=None, max_run=None):
    """A run (user, item, score) and a truth (user, item, relevance) over a small catalog: graded
    relevance, ties, users with an empty run, run users without truth, relevant items the run
    never retrieved, lists shorter and longer than the cutoffs. ``max_run`` caps a list's length
    (tie orders are enumerated by the reference)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_users = draw(st.integers(1, 7))
    catalog = draw(st.integers(3, 25))
    tied = draw(st.booleans()) if tied is None else tied
    run_rows, truth_rows = [], []
    for u in range(n_users):
        user = u if integer_ids else f"q{u}"
        longest = catalog if max_run is None else min(catalog, max_run)
        n_run = 0 if rng.random() < 0.15 else int(rng.integers(1, longest + 1))
        items = rng.choice(catalog, size=n_run, replace=False)
        distinct = rng.permutation(n_run) / max(n_run, 1) + rng.random()
        scores = rng.integers(0, 3, n_run) / 2 if tied else distinct
        run_rows += [(user, _item(i, integer_ids), float(s)) for i, s in zip(items, scores, strict=True)]
        if rng.random() < 0.1:
            continue  # a run user without truth
        n_truth = int(rng.integers(1, catalog + 1))
        judged = rng.choice(catalog, size=n_truth, replace=False)
        rels = rng.integers(-1, 4, n_truth)  # -1: judged not relevant (trec_eval's reading)
        truth_rows += [(user, _item(i, integer_ids), float(r)) for i, r in zip(judged, rels, strict=True)]
    if not truth_rows:
        truth_rows = [(0 if integer_ids else "q0", _item(0, integer_ids), 1.0)]
    run = pd.DataFrame(run_rows, columns=["user_id", "item_id", "score"])
    truth = pd.DataFrame(truth_rows, columns=["user_id", "item_id", "relevance"])
    return run, truth


def _item(i, integer_ids):
    return int(i) * 7 if integer_ids else f"d{i}"


ANY_IDS = st.booleans().flatmap(lambda ints: run_and_truth(integer_ids=ints))
"""Runs and truth with text ids, or integer ids (which trec_eval orders in a tie as text)."""


def _values(result, metric, k, source="run"):
    at_k = result.per_user.k.isna() if k is None else result.per_user.k == k
    rows = result.per_user[(result.per_user.metric == metric) & at_k]
    return rows[rows.source == source].set_index("user")["value"]


def _pytrec(run, truth, ks, **flags):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels = {}
    for user, item, rel in truth.itertuples(index=False):
        qrels.setdefault(str(user), {})[str(item)] = int(rel)
    runs = {}
    for user, item, score in run.itertuples(index=False):
        runs.setdefault(str(user), {})[str(item)] = float(score)
    cut = ",".join(map(str, ks))
    measures = {
        f"{name}.{cut}" for name in ("ndcg_cut", "P", "recall", "map_cut", "success", "relative_P")
    } | {
        "recip_rank",
        "Rprec",
        *(set(UNCUT.values()) - {"ndcg"}),
        *WHOLE.values(),
        "gm_map",
        "iprec_at_recall",
        "11pt_avg",
    }
    got = pytrec_eval.RelevanceEvaluator(qrels, measures, **flags).evaluate(runs)
    # pytrec_eval 0.5's uncut ndcg never returns on some qrels with a negative relevance, so it is
    # given them as 0: trec_eval's own reading, which ndcg_cut checks on the raw ones above.
    clamped = {user: {item: max(rel, 0) for item, rel in rels.items()} for user, rels in qrels.items()}
    for user, values in pytrec_eval.RelevanceEvaluator(clamped, {"ndcg"}, **flags).evaluate(runs).items():
        got[user].update(values)
    return got


KS = [1, 3, 5, 30]
UNCUT = {"ndcg": "ndcg", "map": "map", "mrr": "recip_rank", "precision": "set_P", "recall": "set_recall",
         "f1": "set_F", "set_ap": "set_map"}  # fmt: skip
"""fastrank's metrics over the whole list (``name@all``) and trec_eval's uncut measures."""
WHOLE = {"bpref": "bpref", "num_ret": "num_ret", "num_rel": "num_rel", "num_rel_ret": "num_rel_ret",
         "infap": "infAP"}  # fmt: skip
"""fastrank's metrics without a cutoff that tell judged items apart, and trec_eval's names."""
TREC_NAMES = {"ndcg": "ndcg_cut", "precision": "P", "recall": "recall", "map": "map_cut",
              "hit_rate": "success", "relative_precision": "relative_P"}  # fmt: skip


@given(case=ANY_IDS, in_rank_order=st.booleans())
def test_equals_pytrec_eval_per_user_with_trec_ties_and_denominators(case, in_rank_order):
    """Integer ids are ordered in a tie as trec_eval orders them, as text ("7" after "14")."""
    run, truth = case
    if in_rank_order:  # lists as runs are written: the kernel skips its selection for them
        run = run.sort_values(["user_id", "score", "item_id"], ascending=[True, False, False])
    uncut = [f"{metric}@all" for metric in UNCUT]
    metrics = [*METRICS, "relative_precision", "r_precision", *uncut, *WHOLE, "gm_map", "iprec", "iprec_11pt"]
    result = fastrank.evaluate_run(
        run, truth, k=[*KS, 1000], metrics=metrics, ties="trec", map_denominator="relevant"
    )
    want = _pytrec(run, truth, KS)
    checked = 0
    r_precision = _values(result, "r_precision", None)
    for user, measures in want.items():  # trec_eval's Rprec: precision at R, R = relevant items
        assert r_precision[_user(user, truth)] == pytest.approx(measures["Rprec"], abs=1e-9), user
    gm = _values(result, "gm_map", None)  # per user AP; trec_eval's -q lines hold its logarithm
    for user, measures in want.items():
        assert np.log(max(gm[_user(user, truth)], 1e-5)) == pytest.approx(measures["gm_map"], abs=1e-9), user
    # The summary: trec_eval's all line with -c (a user of the truth without a run has AP 0).
    logs = [measures["gm_map"] for measures in want.values()]
    logs += [np.log(1e-5)] * len(set(truth.user_id) - set(run.user_id))
    assert result.mean("run", metric="gm_map", k=None) == pytest.approx(np.exp(np.mean(logs)), rel=1e-9)
    for metric, level, name in [("iprec_11pt", None, "11pt_avg")] + [
        ("iprec", level, f"iprec_at_recall_{level / 100:.2f}") for level in range(0, 101, 10)
    ]:  # fmt: skip
        got = _values(result, metric, level)
        for user, measures in want.items():
            assert got[_user(user, truth)] == pytest.approx(measures[name], abs=1e-9), (name, user)
    for metric, name in [*UNCUT.items(), *WHOLE.items()]:
        got = _values(result, metric, None)
        for user, measures in want.items():
            assert got[_user(user, truth)] == pytest.approx(measures[name], abs=1e-9), (metric, user)
    for metric in [*METRICS, "relative_precision"]:
        for k in KS:
            got = _values(result, metric, k)
            for user, measures in want.items():
                key = "recip_rank" if metric == "mrr" else f"{TREC_NAMES[metric]}_{k}"
                if metric == "mrr":
                    got_value = _values(result, "mrr", 1000)[_user(user, truth)]
                else:
                    got_value = got[_user(user, truth)]
                assert got_value == pytest.approx(measures[key], abs=1e-9), (metric, k, user)
                checked += 1
    truth_users = set(truth.user_id)
    empty = truth_users - set(run.user_id)
    for metric in METRICS:  # users of the truth without a run: 0 for everything (trec_eval -c)
        assert (_values(result, metric, 5).loc[list(empty)] == 0).all()
    assert set(result.per_user.user) == truth_users
    assert checked or not want


def _user(key, truth):
    return key if isinstance(truth.user_id.iloc[0], str) else int(key)


@given(case=run_and_truth(tied=True, max_run=7))
def test_ties_averaged_equal_the_mean_over_every_order(case):
    run, truth = case
    for denominator in ("min", "relevant"):
        result = fastrank.evaluate_run(
            run, truth, k=[1, 3, 30], metrics=[*METRICS, "f1", "r_precision"], map_denominator=denominator
        )
        # R-precision has no cutoff: checked once.
        cases = [(metric, k) for metric in [*METRICS, "f1"] for k in (1, 3, 30)] + [("r_precision", None)]
        got = {case: _values(result, *case).to_dict() for case in cases}
        for user, judged in truth.groupby("user_id"):
            judged_gains = np.maximum(judged.relevance.to_numpy(), 0.0)  # a negative one: no gain
            gains_of = dict(zip(judged.item_id, judged_gains, strict=True))
            rows = run[run.user_id == user]
            gains = np.array([gains_of.get(i, 0.0) for i in rows.item_id])
            for metric, k in cases:
                scores = rows.score.to_numpy()
                want = naive.run_metric(metric, gains, scores, judged_gains, k, 1.0, denominator)
                assert got[metric, k][user] == pytest.approx(want, abs=1e-12), (metric, k)


@settings(max_examples=20)  # ranx costs ~0.4 s a call; pytrec_eval above is the main oracle
@given(case=run_and_truth(integer_ids=True, tied=False))
def test_equals_ranx_on_integer_relevance_without_ties(case):
    ranx = pytest.importorskip("ranx")
    run, truth = case
    run = run[run.user_id.isin(truth.user_id)]
    truth = truth[truth.user_id.isin(run.user_id)]
    if truth.empty or not (truth.relevance > 0).any():
        return
    qrels = {}
    for user, item, rel in truth.itertuples(index=False):
        if rel > 0:  # ranx keeps relevant judgements only
            qrels.setdefault(str(user), {})[str(item)] = int(rel)
    runs = {}
    for user, item, score in run.itertuples(index=False):
        if str(user) in qrels:
            runs.setdefault(str(user), {})[str(item)] = float(score)
    truth = truth[truth.user_id.astype(str).isin(qrels)]
    run = run[run.user_id.astype(str).isin(qrels)]
    names = {"ndcg": "ndcg", "precision": "precision", "recall": "recall", "map": "map", "mrr": "mrr",
             "hit_rate": "hit_rate"}  # fmt: skip
    ks = [1, 3, 10]
    wanted = [f"{names[m]}@{k}" for m in METRICS for k in ks]
    with warnings.catch_warnings():  # ranx's own numba code warns as it compiles
        warnings.simplefilter("ignore")
        scores = ranx.evaluate(
            ranx.Qrels(qrels), ranx.Run(runs), wanted, return_mean=False, make_comparable=True
        )
    result = fastrank.evaluate_run(run, truth, k=ks, metrics=METRICS, map_denominator="relevant")
    users = sorted(qrels)
    for metric in METRICS:
        for k in ks:
            got = _values(result, metric, k).loc[[int(u) for u in users]].to_numpy()
            want = np.asarray(scores[f"{names[metric]}@{k}"], float)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=f"{metric}@{k}")


def test_missing_relevant_items_enter_the_ideal_and_the_denominators():
    run = pd.DataFrame({"user_id": [1, 1], "item_id": [10, 11], "score": [0.9, 0.8]})
    truth = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [11, 12, 13], "relevance": [1.0, 2.0, 1.0]})
    result = fastrank.evaluate_run(run, truth, k=[2], metrics=METRICS)
    ideal = 2 + 1 / np.log2(3)
    assert _values(result, "ndcg", 2)[1] == pytest.approx((1 / np.log2(3)) / ideal, abs=1e-15)
    assert _values(result, "recall", 2)[1] == pytest.approx(1 / 3)
    assert _values(result, "precision", 2)[1] == pytest.approx(1 / 2)
    assert _values(result, "map", 2)[1] == pytest.approx((1 / 2) / 2)  # min(k = 2, 3 relevant)
    trec_map = fastrank.evaluate_run(run, truth, k=[2], metrics=["map"], map_denominator="relevant")
    assert _values(trec_map, "map", 2)[1] == pytest.approx((1 / 2) / 3)
    assert _values(result, "mrr", 2)[1] == pytest.approx(1 / 2)


def test_users_are_counted_where_they_are_skipped_or_scored_zero():
    run = pd.DataFrame({"user_id": [1, 1, 9], "item_id": [10, 11, 10], "score": [0.9, 0.8, 0.5]})
    truth = pd.DataFrame({"user_id": [1, 2], "item_id": [10, 10], "relevance": [1.0, 1.0]})
    zero = fastrank.evaluate_run(run, truth, k=[5])
    assert _values(zero, "ndcg", 5).to_dict() == {1: 1.0, 2: 0.0}
    assert any("1 user without truth skipped (1 row)" in note for note in zero.notes)
    assert any("1 user of the truth without recommendations; they score 0" in note for note in zero.notes)
    skip = fastrank.evaluate_run(run, truth, k=[5], empty_run="skip")
    assert np.isnan(_values(skip, "ndcg", 5)[2]) and skip.summary["excluded"].iloc[0] == 1
    assert skip.mean("run", k=5) == 1.0 and zero.mean("run", k=5) == 0.5


def test_a_rank_column_ranks_like_scores():
    run = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [10, 11, 12], "rank": [3, 1, 2]})
    truth = pd.DataFrame({"user_id": [1, 1], "item_id": [11, 10], "relevance": [1.0, 3.0]})
    by_rank = fastrank.evaluate_run(run, truth, k=[1, 3], rank_col="rank")
    by_score = fastrank.evaluate_run(run.assign(score=-run["rank"]), truth, k=[1, 3])
    pd.testing.assert_frame_equal(by_rank.per_user, by_score.per_user)


@pytest.mark.parametrize("where", ["run", "truth"])
def test_duplicates_are_refused_or_the_first_kept(where):
    run = pd.DataFrame({"user_id": "a", "item_id": ["x", "y", "z"], "score": [0.3, 0.2, 0.1]})
    truth = pd.DataFrame({"user_id": "a", "item_id": ["y", "z", "w"], "relevance": [1.0, 0.0, 1.0]})
    if where == "run":
        run.loc[2, "item_id"] = "x"
    else:
        truth.loc[1, "item_id"] = "y"
    with pytest.raises(fastrank.InputError, match=r"user 'a' .* item 'x' twice|user 'a' has item 'y' twice"):
        fastrank.evaluate_run(run, truth)
    kept = fastrank.evaluate_run(run, truth, k=[3], metrics=["precision"], duplicates="first")
    assert any(
        "1 repeated (user, item) row" in note and "the first of each kept" in note for note in kept.notes
    )
    first = run.drop_duplicates(["user_id", "item_id"]), truth.drop_duplicates(["user_id", "item_id"])
    want = fastrank.evaluate_run(*first, k=[3], metrics=["precision"])
    assert kept.mean("run", k=3, metric="precision") == want.mean("run", k=3, metric="precision")


@pytest.mark.parametrize("where", ["run", "truth"])
def test_duplicates_first_keeps_the_first_row_not_the_last(where):
    """Which copy is kept shows only in an order-sensitive metric: MRR."""
    run = pd.DataFrame({"user_id": "a", "item_id": ["x", "y", "x"], "score": [0.3, 0.2, 0.1]})
    truth = pd.DataFrame({"user_id": "a", "item_id": ["x"], "relevance": [1.0]})
    if where == "truth":  # the first copy relevant, the second not
        run = pd.DataFrame({"user_id": "a", "item_id": ["x", "y"], "score": [0.3, 0.2]})
        truth = pd.DataFrame({"user_id": "a", "item_id": ["x", "x"], "relevance": [1.0, 0.0]})
    kept = fastrank.evaluate_run(run, truth, k=[3], metrics=["mrr"], duplicates="first")
    assert kept.mean("run", k=3, metric="mrr") == 1.0  # the last kept: 0.5 (run) or 0.0 (truth)


def test_several_runs_are_sources_of_one_evaluation():
    truth = pd.DataFrame({"user_id": [1, 2], "item_id": [10, 20], "relevance": [1.0, 1.0]})
    good = pd.DataFrame({"user_id": [1, 2], "item_id": [10, 20], "score": [1.0, 1.0]})
    bad = pd.DataFrame({"user_id": [1, 2], "item_id": [11, 21], "score": [1.0, 1.0]})
    result = fastrank.evaluate_run({"good": good, "bad": bad}, truth, k=[1])
    assert list(result.summary.source) == ["good", "bad"]
    assert (result.mean("good", k=1), result.mean("bad", k=1)) == (1.0, 0.0)


def test_runs_of_the_same_file_name_get_unique_names(tmp_path):
    from fastrank.api.runs import run_sources

    paths = [tmp_path / "exp1" / "test.run", tmp_path / "exp2" / "test.run", tmp_path / "other.run"]
    assert [name for name, _ in run_sources(paths)] == ["exp1/test", "exp2/test", "other"]
    deeper = [tmp_path / "a" / "x" / "r.run", tmp_path / "b" / "x" / "r.run"]
    assert [name for name, _ in run_sources(deeper)] == ["a/x/r", "b/x/r"]
    with pytest.raises(fastrank.InputError, match="is given twice; each run is evaluated once"):
        run_sources([paths[0], tmp_path / "exp1" / ".." / "exp1" / "test.run"])


def test_integer_and_text_ids_meet_as_text():
    run = pd.DataFrame({"user_id": [1, 1], "item_id": [10, 11], "score": [0.9, 0.8]})
    truth = pd.DataFrame({"user_id": ["1"], "item_id": ["11"], "relevance": [1.0]})
    assert fastrank.evaluate_run(run, truth, k=[2], metrics=["mrr"]).mean("run", k=2, metric="mrr") == 0.5


def test_trec_files_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    users = np.repeat(["q1", "q2", "q3"], 4)
    items = [f"d{i}" for i in range(12)]
    run = pd.DataFrame({"user_id": users, "item_id": items, "score": rng.random(12) / 3})
    truth = pd.DataFrame(
        {"user_id": ["q1", "q2", "q3"], "item_id": ["d1", "d9", "d11"], "relevance": [2.0, 1, 1]}
    )
    columns = {"user_col": "user_id", "item_col": "item_id"}
    trec.write_run(run, tmp_path / "r.run", **columns, score_col="score")
    trec.write_qrels(truth, tmp_path / "t.qrels", **columns, label_col="relevance")
    first = (tmp_path / "r.run").read_text().splitlines()[0].split()
    assert first[:4] == ["q1", "Q0", f"d{int(np.argmax(run.score[:4]))}", "1"]  # the best of q1, rank 1
    back = trec.read_run(tmp_path / "r.run", user_col="u", item_col="i", score_col="s", rank_col="r")
    assert sorted(back.column("s").to_pylist()) == sorted(run.score)  # every bit of every score
    assert (tmp_path / "t.qrels").read_text().splitlines()[0] == "q1 0 d1 2"
    from_files = fastrank.evaluate_run(tmp_path / "r.run", tmp_path / "t.qrels", k=[1, 4], metrics=METRICS)
    from_frames = fastrank.evaluate_run({"r": run}, truth, k=[1, 4], metrics=METRICS)
    pd.testing.assert_frame_equal(from_files.per_user, from_frames.per_user)


GOOD = "q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 0.4 t\n\nq1 Q0 d3 3 0.3 t\nq1 Q0 d4 4 0.2 t\n"


@pytest.fixture(scope="module")
def warm_trec_reader(tmp_path_factory):
    """The TREC reader's kernels compiled (a number left to pyarrow too), so that a cold numba
    cache's one-time "compiling" note does not join the error line a test counts."""
    root = tmp_path_factory.mktemp("warm")
    (root / "r.run").write_text("q1 Q0 d1 1 1e-3 t\n")
    (root / "t.qrels").write_text("q1 0 d1 1\n")
    fastrank.evaluate_run(root / "r.run", root / "t.qrels")


@pytest.mark.parametrize(
    ("run_text", "truth_text", "message"),
    [
        ("q1 Q0 d1 1 0.5 t\n", "q1 0 d1 inf\n", "line 1: relevance inf is not a finite number"),
        ("q1 Q0 d1 1 0.5 t\n", "\nq1 0 d1 1\n\nq1 0 d2 nan\n", "line 4: relevance nan is not a finite"),
        # Comment lines count too, and one with four words is no data line.
        ("q1 Q0 d1 1 0.5 t\n", "# a b c\nq1 0 d1 1\n # x\nq1 0 d2 high\n", "line 4: relevance high is"),
        ("# run of\n\nq1 Q0 d1 1 0.5\n", "q1 0 d1 1\n", "line 3 has 5 fields; a TREC run line has at least"),
        ("q1 Q0 d1 1 high t\n", "q1 0 d1 1\n", "line 1: score high is not a finite number"),
        ("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 nan t\n", "q1 0 d1 1\n", "line 2: score nan is not a finite number"),
        ("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2.5 0.4 t\n", "q1 0 d1 1\n", "line 2: rank 2.5 is not an integer"),
        # Line numbers count blank lines, and the bad rank is named where it is, not on line 1.
        (GOOD + "q1 Q0 d5 2.0 0.1 t\n", "q1 0 d1 1\n", "line 6: rank 2.0 is not an integer"),
        (GOOD + "q1 Q0 d5 1e1 0.1 t\n", "q1 0 d1 1\n", "line 6: rank 1e1 is not an integer"),
        (GOOD + f"q1 Q0 d5 {2**63} 0.1 t\n", "q1 0 d1 1\n", f"line 6: rank {2**63} is not an integer"),
        (
            "q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n",
            "q1 0 d1 1\n",
            "user 'q1' lists item 'd1' twice (again at line 2)",
        ),
        ("q1 Q0 d1 1 0.5\n", "q1 0 d1 1\n", "line 1 has 5 fields; a TREC run line has at least 6: qid Q0"),
        ("q1\tQ0\td1\t1\t0.5\tt\nq1\tQ0\td2\t2\t0.4\n", "q1 0 d1 1\n", "line 2 has 5 fields; a TREC run"),
        ("q1 Q0 d1 1 0.5 t\n", "q1 0 d1 1\n\nq1 0 d1 2\n", "user 'q1' has item 'd1' twice (again at line 3)"),
    ],
)
def test_bad_trec_input_exits_2_with_one_line(
    tmp_path, capsys, run_text, truth_text, message, warm_trec_reader
):
    (tmp_path / "r.run").write_text(run_text)
    (tmp_path / "t.qrels").write_text(truth_text)
    code = main(["evaluate", "--run", str(tmp_path / "r.run"), "--truth", str(tmp_path / "t.qrels")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert message in err, err


def test_a_run_without_a_score_or_rank_column_is_refused(tmp_path, capsys):
    pd.DataFrame({"user_id": [1], "item_id": [2], "rank": [1]}).to_parquet(tmp_path / "r.parquet")
    pd.DataFrame({"user_id": [1], "item_id": [2], "relevance": [1.0]}).to_parquet(tmp_path / "t.parquet")
    code = main(["evaluate", "--run", str(tmp_path / "r.parquet"), "--truth", str(tmp_path / "t.parquet")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "no score column 'score' (there is a 'rank' column: pass --rank-col rank)" in err, err
    assert main(["evaluate", "--run", str(tmp_path / "r.parquet"), "--truth", str(tmp_path / "t.parquet"),
                 "--rank-col", "rank", "--json"]) == 0  # fmt: skip


def test_cli_evaluates_and_compares_runs(tmp_path, capsys):
    truth = pd.DataFrame({"user_id": range(40), "item_id": 0, "relevance": 1.0})
    rng = np.random.default_rng(0)
    for name, quality in (("good", 0.8), ("bad", 0.2)):
        rows = [(u, 0 if rng.random() < quality else 99, 1.0) for u in range(40)]
        pd.DataFrame(rows, columns=["user_id", "item_id", "score"]).to_parquet(tmp_path / f"{name}.parquet")
    truth.to_parquet(tmp_path / "truth.parquet")
    runs = ["--run", str(tmp_path / "good.parquet"), "--run", str(tmp_path / "bad.parquet")]
    out = tmp_path / "per_user.csv"
    truth_flag = ["--truth", str(tmp_path / "truth.parquet"), "-k", "1"]
    assert main(["evaluate", *runs, *truth_flag, "--per-user", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "good" in printed and "bad" in printed
    assert set(pd.read_csv(out).columns) >= {"user_id", "metric", "k", "source", "value"}
    assert main(["compare", *runs, *truth_flag, "--resamples", "200", "--json"]) == 0
    import json

    records = json.loads(capsys.readouterr().out)
    (row,) = records["comparisons"]
    assert (row["source"], row["reference"]) == ("bad", "good") and row["mean_diff"] < 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run", "{r}"], "--run and --truth go together"),
        (["--run", "{r}", "--truth", "{t}", "--model", "m.keras"], "--model is for evaluating a table"),
        (["--run", "{r}", "--truth", "{t}", "--engine", "dask"], "--engine is for evaluating a table"),
        (["{t}", "--baseline", "relevance", "--ties", "trec"], "--ties is for evaluating runs"),
        (["--run", "{r}", "--truth", "{t}", "--ties", "random"], "invalid choice: 'random'"),
    ],
)
def test_cli_refuses_flags_of_the_other_shape(tmp_path, capsys, args, message):
    pd.DataFrame({"user_id": [1], "item_id": [2], "score": [1.0]}).to_parquet(tmp_path / "r.parquet")
    pd.DataFrame({"user_id": [1], "item_id": [2], "relevance": [1.0]}).to_parquet(tmp_path / "t.parquet")
    paths = {"r": str(tmp_path / "r.parquet"), "t": str(tmp_path / "t.parquet")}
    try:
        code = main(["evaluate", *[a.format(**paths) for a in args]])
    except SystemExit as exit_:  # argparse's own refusals exit from the parser
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err


# trec_eval's dialect, as its own test files write it: a run with fields after the tag, tabs and
# padded scores; qrels with comment lines (the first line one of them, one of four words, a '#'
# inside a docno); qrels with relevance -1 (judged, not relevant).
DIALECT_RUN = (
    "301\tQ0\tFR940126-2-00100\t1\t  3.9\tSTANDARD\textra fields\n"
    "301\tQ0\tCR93E-18#60\t2\t  3.1\tSTANDARD\n"
    "301 Q0 FBIS3-10082 3 2.5 STANDARD 7 more fields here\n"
    "301 Q0 FBIS3-10169 4 2.5 STANDARD\n"
    "301 Q0 FT911-4947 5 1.0 STANDARD\n"
    "302 Q0 FBIS3-10082 1 0.7 other # not a comment\n"
    "302 Q0 FT922-884 2 0.6 other\n"
)
DIALECT_QRELS = (
    "# judgments of topics 301 and 302\n"
    "301 0 FR940126-2-00100 0\n"
    "# four words: comment\n"
    "301 0 CR93E-18#60 1\n"
    "\n"
    "301 0 FBIS3-10169 2\n"
    "301 0 FBIS4-1 1\n"
    "302 0 FT922-884 1\n"
    "302 0 FBIS3-10082 -1\n"
    "302 0 FBIS4-2 -1\n"
)
PLAIN_RUN = (
    "301 Q0 FR940126-2-00100 1 3.9 t\n301 Q0 CR93E-18#60 2 3.1 t\n301 Q0 FBIS3-10082 3 2.5 t\n"
    "301 Q0 FBIS3-10169 4 2.5 t\n301 Q0 FT911-4947 5 1.0 t\n302 Q0 FBIS3-10082 1 0.7 t\n"
    "302 Q0 FT922-884 2 0.6 t\n"
)
PLAIN_QRELS = (
    "301 0 FR940126-2-00100 0\n301 0 CR93E-18#60 1\n301 0 FBIS3-10169 2\n301 0 FBIS4-1 1\n"
    "302 0 FT922-884 1\n302 0 FBIS3-10082 0\n302 0 FBIS4-2 0\n"
)


@pytest.mark.parametrize(
    ("run_text", "qrels_text"),
    [(DIALECT_RUN, PLAIN_QRELS), (PLAIN_RUN, DIALECT_QRELS), (DIALECT_RUN, DIALECT_QRELS)],
    ids=["run-extra-fields", "qrels-comments-and-negative", "both"],
)
def test_trec_eval_dialect_files_give_trec_eval_values(tmp_path, capsys, run_text, qrels_text):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    (tmp_path / "r.run").write_text(run_text)
    (tmp_path / "t.qrels").write_text(qrels_text)
    metrics = ["ndcg@all", "map@all", "mrr@all", "ndcg@3", "precision@3", "r_precision"]
    got = fastrank.evaluate_run(
        tmp_path / "r.run", tmp_path / "t.qrels", metrics=metrics, ties="trec", map_denominator="relevant"
    )
    # The oracle reads the plain files' lines: what trec_eval makes of the dialect's.
    qrels = {}
    for line in PLAIN_QRELS.splitlines():
        user, _, item, rel = line.split()
        qrels.setdefault(user, {})[item] = int(rel)
    runs = {}
    for line in PLAIN_RUN.splitlines():
        user, _, item, _, score, _ = line.split()
        runs.setdefault(user, {})[item] = float(score)
    want = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg", "map", "recip_rank", "ndcg_cut.3", "P.3", "Rprec"})
    names = {"ndcg": ("ndcg", None), "map": ("map", None), "recip_rank": ("mrr", None),
             "ndcg_cut_3": ("ndcg", 3), "P_3": ("precision", 3), "Rprec": ("r_precision", None)}  # fmt: skip
    for user, measures in want.evaluate(runs).items():
        for name, value in measures.items():
            value_got = _values(got, *names[name], source="r")[user]
            assert value_got == pytest.approx(value, abs=1e-12), (user, name)
    assert sorted(got.per_user.user.unique()) == ["301", "302"]
    assert _values(got, "ndcg", None, source="r")["302"] > 0  # the '# not a comment' run line was read
    args = ["evaluate", "--run", str(tmp_path / "r.run"), "--truth", str(tmp_path / "t.qrels"), "--json"]
    assert main([*args, "--metrics", "ndcg@all", "--ties", "trec"]) == 0
    mean = got.mean("r", metric="ndcg", k=None)
    assert json.loads(capsys.readouterr().out)[0]["mean"] == pytest.approx(mean)


def test_a_comment_with_as_many_words_as_a_line_has_fields_is_no_line(tmp_path):
    """The fast reader takes a file whose lines all have the same fields; a comment of four (qrels)
    or six (run) words must still be skipped, not read as a user '#'."""
    (tmp_path / "r.run").write_text("# run of 2026 by me\nq1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 0.4 t\n")
    (tmp_path / "t.qrels").write_text("# a b 1\nq1 0 d2 1\n")
    got = fastrank.evaluate_run(tmp_path / "r.run", tmp_path / "t.qrels", metrics=["mrr@all"])
    assert got.per_user.user.tolist() == ["q1"]
    assert got.mean("r", metric="mrr", k=None) == 0.5


@given(case=run_and_truth(), gain=st.sampled_from(["exponential", "binary", "per label"]))
@settings(max_examples=25)
def test_gains_of_runs_equal_pytrec_eval_on_the_gains(case, gain):
    """trec_eval's NDCG takes the relevance as the gain: given each judgment's gain as its
    relevance (2^rel - 1, 1 when rel >= the threshold, or one per label), it is the oracle of
    the other gains."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    run, truth = case
    rel = np.maximum(truth.relevance.to_numpy(), 0)
    table = {1: 2, 2: 5, 3: 9}  # 0 gains 0 unless given
    gains = {
        "exponential": 2**rel - 1,
        "binary": (rel >= 2) * 1,
        "per label": [table.get(r, 0) for r in rel],
    }[gain]
    qrels = {}
    for user, item, value in zip(truth.user_id, truth.item_id, gains, strict=True):
        qrels.setdefault(str(user), {})[str(item)] = int(value)
    runs = {}
    for user, item, score in run.itertuples(index=False):
        runs.setdefault(str(user), {})[str(item)] = float(score)
    want = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.1,5", "ndcg"}).evaluate(runs)
    got = fastrank.evaluate_run(
        run, truth, k=[1, 5], metrics=["ndcg", "ndcg@all"], ties="trec", threshold=2,
        gain=table if gain == "per label" else gain,
    )  # fmt: skip
    for k, name in ((1, "ndcg_cut_1"), (5, "ndcg_cut_5"), (None, "ndcg")):
        values = _values(got, "ndcg", k)
        for user, measures in want.items():
            assert values[_user(user, truth)] == pytest.approx(measures[name], abs=1e-9), (gain, k, user)


def _judged_reference(flags, rel, scores, k, n_relevant, n_nonrel):
    """bpref (trec_eval's loop), the judged share of the top k and RBP's residual at k of one
    ranking of a user's run rows, averaged over every order of its tied scores: ``flags`` 1 for a
    judged row, ``rel`` 1 for a relevant one."""
    bprefs, shares, residuals = [], [], []
    for order in naive.tie_orders(scores) if len(scores) else [np.arange(0)]:
        total, above = 0.0, 0
        for i in order:
            if flags[i] and rel[i]:
                total += 1.0 if above == 0 else 1 - min(above, n_relevant) / min(n_nonrel, n_relevant)
            elif flags[i]:
                above += 1
        bprefs.append(total / n_relevant if n_relevant else 0.0)
        shares.append(flags[order][:k].sum() / k)
        unjudged = ~flags[order][:k]
        residuals.append(
            sum(0.2 * 0.8**r for r in range(len(unjudged)) if unjudged[r]) + 0.8 ** min(k, len(order))
        )
    return float(np.mean(bprefs)), float(np.mean(shares)), float(np.mean(residuals))


def _infap_reference(relevance, scores, n_relevant):
    """infAP as trec_eval's loop computes it (``relevance``: the row's relevance in the truth, NaN
    outside it), averaged over every order of the tied scores."""
    values = []
    for order in naive.tie_orders(scores) if len(scores) else [np.arange(0)]:
        total, rel, nonrel, pooled = 0.0, 0, 0, 0
        for j, i in enumerate(order):
            if np.isnan(relevance[i]):
                continue
            if relevance[i] < 0:
                pooled += 1
            elif relevance[i] < 1:
                nonrel += 1
            else:
                rel += 1
                total += 1.0 if j == 0 else (
                    1 / (j + 1) + j / (j + 1) * ((rel - 1 + nonrel + pooled) / j)
                    * ((rel - 1 + 1e-5) / (rel - 1 + nonrel + 2e-5))
                )  # fmt: skip
        values.append(total / n_relevant if n_relevant else 0.0)
    return float(np.mean(values))


@given(case=run_and_truth(tied=True, max_run=7))
def test_judged_metrics_average_every_order_of_a_tie(case):
    """bpref, infAP, judged@k and RBP's residual with ties averaged equal the mean over every order
    of the tied rows; a relevance of -1 is judged for none of them (as trec_eval's bpref reads it),
    and pooled for infAP."""
    run, truth = case
    got = fastrank.evaluate_run(run, truth, k=[1, 3], metrics=["bpref", "judged", "rbp_residual", "infap"])
    bpref, shares = _values(got, "bpref", None), {k: _values(got, "judged_share", k) for k in (1, 3)}
    infap = _values(got, "infap", None)
    residuals = {k: _values(got, "rbp_residual", k) for k in (1, 3)}
    for user, judged in truth.groupby("user_id"):
        relevance = dict(zip(judged.item_id, judged.relevance, strict=True))
        rows = run[run.user_id == user]
        rels = np.array([relevance.get(item, -1.0) for item in rows.item_id])
        flags, rel = rels >= 0, rels >= 1
        n_relevant = int((judged.relevance >= 1).sum())
        n_nonrel = int(((judged.relevance >= 0) & (judged.relevance < 1)).sum())
        scores = rows.score.to_numpy()
        in_truth = np.array([relevance.get(item, np.nan) for item in rows.item_id])
        assert infap[user] == pytest.approx(_infap_reference(in_truth, scores, n_relevant), abs=1e-12), user
        for k in (1, 3):
            want_bpref, want_share, want_residual = _judged_reference(
                flags, rel, scores, k, n_relevant, n_nonrel
            )
            assert bpref[user] == pytest.approx(want_bpref, abs=1e-12), user
            assert shares[k][user] == pytest.approx(want_share, abs=1e-12), (user, k)
            assert residuals[k][user] == pytest.approx(want_residual, abs=1e-12), (user, k)


def _iprec_reference(rel, n_relevant, level):
    """trec_eval's interpolated precision at ``level`` of one ranking (``rel``: 1 for a relevant
    row, in rank order): the largest precision at a relevant rank from the needed-th on."""
    needed = int(level * n_relevant + 0.9)
    precisions = [rel[: r + 1].sum() / (r + 1) for r in np.flatnonzero(rel)]
    if not n_relevant or needed > len(precisions):
        return 0.0
    return max(precisions[max(needed - 1, 0) :], default=0.0)


@given(case=run_and_truth(tied=True), ties=st.sampled_from(["pessimistic", "optimistic"]))
def test_a_maximum_over_ranks_takes_the_order_the_tie_rule_gives(case, ties):
    """iprec and infAP with ties ordered worst-first (a tie's relevant rows below its others) or
    best-first equal references on the list put in that order."""
    run, truth = case
    levels = [0, 30, 50, 100]
    got = fastrank.evaluate_run(run, truth, metrics=[*(f"iprec@{v}" for v in levels), "infap"], ties=ties)
    for user, judged in truth.groupby("user_id"):
        relevance = dict(zip(judged.item_id, judged.relevance, strict=True))
        rows = run[run.user_id == user]
        in_truth = np.array([relevance.get(item, np.nan) for item in rows.item_id])
        rel = (in_truth >= 1).astype(int)
        order = np.lexsort((rel if ties == "pessimistic" else -rel, -rows.score.to_numpy()))
        n_relevant = int((judged.relevance >= 1).sum())
        distinct = -np.argsort(order).astype(float)  # scores that put the rows in that order
        want = _infap_reference(in_truth, distinct, n_relevant)
        assert _values(got, "infap", None)[user] == pytest.approx(want, abs=1e-12), user
        for level in levels:
            want = _iprec_reference(rel[order], n_relevant, level / 100)
            assert _values(got, "iprec", level)[user] == pytest.approx(want, abs=1e-12), (user, level)


NEAR_SCORES = [0.5, float(np.nextafter(0.5, 1)), float(np.nextafter(0.5, 0)), 0.0, -0.0, -1e-300, 3.0, -2.5]
"""Ties, and scores that differ only in their last bits (where the padded sort's keys hold the row)."""


@given(
    rows=st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from(NEAR_SCORES), st.text("ab1Z", min_size=1, max_size=3)),
        max_size=60,
        unique_by=lambda row: (row[0], row[2]),
    ),
    padding=st.sampled_from([0, 2, 10**6]),
)
@example(rows=[(0, 0.0, "a"), (0, -0.0, "b"), (1, 0.5, "a")], padding=2)  # -0.0 ties 0.0: "b" first
@example(  # a list in rank order: a tie of two ("b" before "a") and of three
    rows=[(0, 3.0, "Z"), (0, 0.5, "a"), (0, 0.5, "b"), (0, -2.5, "a1"), (0, -2.5, "b"), (0, -2.5, "1")],
    padding=2,
)
def test_trec_order_is_score_then_id_descending_by_either_sort(rows, padding):
    """Every group in trec_eval's order (score descending; a tie, -0.0 with 0.0 too, by the id's
    bytes descending), by numpy's padded row sort or numba's group by group (``padding`` 0),
    with each user's rows scattered through the input."""
    from unittest import mock

    from fastrank.api import join
    from fastrank.arrays.threads import even_bounds

    if not rows:
        return
    users, scores, items = (list(column) for column in zip(*rows, strict=True))
    groups, _ = join._group_users(pa.chunked_array([pa.array(users)]))
    with mock.patch.object(join, "_MOST_PADDING", padding):
        places = -join._trec_order(
            groups,
            groups.take(np.array(scores)),
            pa.chunked_array([pa.array(items)]),
            even_bounds(groups.n_groups, 3),
        )
    input_rows = groups.take(np.arange(len(rows)))
    for g in range(groups.n_groups):
        lo, hi = groups.offsets[g], groups.offsets[g + 1]
        want = sorted(input_rows[lo:hi], key=lambda r: (scores[r], items[r].encode()), reverse=True)
        got = [input_rows[lo + p] for p in np.argsort(places[lo:hi])]
        assert got == want


@given(case=ANY_IDS, depth=st.sampled_from([1, 2, 5]))
@settings(max_examples=25)
def test_depth_keeps_what_trec_eval_keeps(case, depth):
    """``depth=N`` (trec_eval -M) equals pytrec_eval on the run cut by hand: each user's first N
    rows by score, then item id as text, both descending."""
    run, truth = case
    cut = run.assign(text=run.item_id.astype(str)).sort_values(
        ["user_id", "score", "text"], ascending=[True, False, False]
    )
    cut = cut.groupby("user_id").head(depth)[["user_id", "item_id", "score"]]
    want = _pytrec(cut, truth, KS)
    got = fastrank.evaluate_run(
        run, truth, k=KS, metrics=["ndcg", "map", "recall", "map@all"], ties="trec",
        map_denominator="relevant", depth=depth,
    )  # fmt: skip
    for metric, k, name in [("ndcg", 5, "ndcg_cut_5"), ("map", 3, "map_cut_3"), ("recall", 30, "recall_30"),
                            ("map", None, "map")]:  # fmt: skip
        values = _values(got, metric, k)
        for user, measures in want.items():
            assert values[_user(user, truth)] == pytest.approx(measures[name], abs=1e-9), (metric, k, user)
    dropped = len(run) - len(cut)
    assert any(f"past depth {depth} left out" in note for note in got.notes) == (dropped > 0)


def test_trec_format_prints_trec_eval_lines_with_its_names(tmp_path, capsys):
    """``--format trec``: ``measure<TAB>query<TAB>value`` lines under trec_eval's names, per query
    then ``all`` (the mean; the sum for the counts), equal to pytrec_eval's values to the 4
    decimals trec_eval prints."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    (tmp_path / "r.run").write_text(PLAIN_RUN)
    (tmp_path / "t.qrels").write_text(PLAIN_QRELS)
    metrics = ["ndcg", "ndcg@all", "map", "map@all", "mrr@all", "precision", "r_precision", "bpref",
               "num_ret", "num_rel_ret", "rbp"]  # fmt: skip
    args = ["evaluate", "--run", str(tmp_path / "r.run"), "--truth", str(tmp_path / "t.qrels"), "-k", "3"]
    assert main([*args, "--metrics", *metrics, "--ties", "trec", "--map-denominator", "relevant",
                 "--format", "trec", "--quiet"]) == 0  # fmt: skip
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert all(len(fields) == 3 for fields in lines)
    got = {(name.strip(), query): value for name, query, value in lines}
    assert got["runid", "all"] == "r" and got["num_q", "all"] == "2"
    qrels, runs = {}, {}
    for line in PLAIN_QRELS.splitlines():
        user, _, item, rel = line.split()
        qrels.setdefault(user, {})[item] = int(rel)
    for line in PLAIN_RUN.splitlines():
        user, _, item, _, score, _ = line.split()
        runs.setdefault(user, {})[item] = float(score)
    names = {"ndcg_cut_3", "ndcg", "map_cut_3", "map", "recip_rank", "P_3", "Rprec", "bpref", "num_ret",
             "num_rel_ret"}  # fmt: skip
    want = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.3", "map_cut.3", "P.3", *names}).evaluate(runs)
    for user, measures in want.items():
        for name in names:
            assert float(got[name, user]) == pytest.approx(measures[name], abs=5e-5), (name, user)
    for name in names:
        values = [measures[name] for measures in want.values()]
        total = sum(values) if name.startswith("num_") else np.mean(values)
        assert float(got[name, "all"]) == pytest.approx(total, abs=5e-5), name
    assert ("rbp@3", "all") in got  # no trec_eval name: fastrank's own
    assert main([*args, "--json", "--format", "trec"]) == 2


@given(case=ANY_IDS)
@settings(max_examples=25)
def test_judged_only_ranks_the_judged_items_alone(case):
    """``judged_only=True`` (Sakai's condensed lists) equals pytrec_eval with its
    ``judged_docs_only_flag`` (trec_eval -J), which leaves out the items not in the qrels and
    those judged -1."""
    run, truth = case
    judged = truth[truth.relevance >= 0]
    kept = run.merge(judged[["user_id", "item_id"]], on=["user_id", "item_id"])
    want = _pytrec(run, truth, KS, judged_docs_only_flag=True)
    got = fastrank.evaluate_run(
        run, truth, k=KS, metrics=["ndcg", "map@all", "precision", "bpref"], ties="trec",
        map_denominator="relevant", judged_only=True,
    )  # fmt: skip
    for metric, k, name in [("ndcg", 5, "ndcg_cut_5"), ("map", None, "map"), ("precision", 3, "P_3"),
                            ("bpref", None, "bpref")]:  # fmt: skip
        values = _values(got, metric, k)
        for user, measures in want.items():
            assert values[_user(user, truth)] == pytest.approx(measures[name], abs=1e-9), (metric, k, user)
    dropped = len(run) - len(kept)
    assert any("unjudged row" in note and "(judged_only)" in note for note in got.notes) == (dropped > 0)


@given(case=ANY_IDS, seed=st.integers(0, 2**32 - 1))
@settings(max_examples=30)
def test_trec_files_in_the_dialect_give_the_frames_values(tmp_path_factory, case, seed):
    """The generated run and truth written as trec_eval's test files write them (comment lines,
    blank lines, tabs and runs of spaces, fields after the run's tag, lines in any order) read
    back to the same per-user values as the frames."""
    run, truth = case
    rng = np.random.default_rng(seed)
    root = tmp_path_factory.mktemp("dialect")

    def write(path, lines):
        out = []
        for line in rng.permutation(np.array(lines, dtype=object)) if lines else []:
            if rng.random() < 0.2:
                out.append(rng.choice(["# a comment", "#", "", "   ", "# q1 0 d1 1", "\t# indented"]))
            out.append(line)
        path.write_text("\n".join(out) + "\n")

    sep = lambda: rng.choice([" ", "\t", "  ", " \t "])
    write(root / "r.run", [
        f"{u}{sep()}Q0{sep()}{i}{sep()}{n}{sep()}{s!r}{sep()}tag" + ("" if rng.random() < 0.5 else " x y")
        for n, (u, i, s) in enumerate(run.itertuples(index=False), start=1)
    ])  # fmt: skip
    write(
        root / "t.qrels",
        [f"{u}{sep()}0{sep()}{i}{sep()}{int(r)}" for u, i, r in truth.itertuples(index=False)],
    )
    metrics = ["ndcg", "map@all", "mrr@all", "bpref", "judged"]
    from_files = fastrank.evaluate_run(
        root / "r.run", root / "t.qrels", k=[1, 5], metrics=metrics, ties="trec"
    )
    text = {"user_id": str, "item_id": str}
    from_frames = fastrank.evaluate_run(
        {"r": run.astype(text)}, truth.astype(text), k=[1, 5], metrics=metrics, ties="trec"
    )
    pd.testing.assert_frame_equal(
        from_files.per_user.sort_values(["metric", "k", "user"]).reset_index(drop=True),
        from_frames.per_user.sort_values(["metric", "k", "user"]).reset_index(drop=True),
    )


@given(case=run_and_truth(tied=True, max_run=7))
def test_err_of_a_run_averages_every_order_of_its_ties(case):
    """ERR@k of a run: the cascade over the run's own rows (missed items never stop anyone),
    averaged over the orders of its ties; the scale's top is the truth's largest relevance."""
    run, truth = case
    got = fastrank.evaluate_run(run, truth, k=[1, 3], metrics=["err", "err@all"])
    top = max(truth.relevance.max(), 0.0)
    for user, judged in truth.groupby("user_id"):
        relevance = dict(zip(judged.item_id, np.maximum(judged.relevance, 0.0), strict=True))
        rows = run[run.user_id == user]
        labels = np.array([relevance.get(item, 0.0) for item in rows.item_id])
        for k in (1, 3, None):
            want = naive.err(labels, rows.score.to_numpy(), k, "average", top) if len(rows) else 0.0
            assert _values(got, "err", k)[user] == pytest.approx(want, abs=1e-12), (user, k)


def test_gains_per_label_on_the_command_line(tmp_path, capsys):
    (tmp_path / "r.run").write_text(PLAIN_RUN)
    (tmp_path / "t.qrels").write_text(PLAIN_QRELS)
    files = tmp_path / "r.run", tmp_path / "t.qrels"
    want = fastrank.evaluate_run(*files, k=3, gain={1: 2, 2: 5}).mean("r", k=3)
    assert want != fastrank.evaluate_run(*files, k=3).mean("r", k=3)
    args = ["evaluate", "--run", str(files[0]), "--truth", str(files[1]), "-k", "3", "--json", "--quiet"]
    assert main([*args, "--gain", "1:2,2:5"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["mean"] == pytest.approx(want, rel=1e-15)
    line = refused(capsys, "evaluate", *args[1:], "--gain", "1:two")
    assert line.endswith("'1:two' is not LABEL:GAIN (e.g. 2:3) (see --help)")
    assert "gain: label 1 of user '301' has no gain" in refused(
        capsys, "evaluate", *args[1:], "--gain", "2:5"
    )


def test_judged_only_counts_the_rows_of_users_without_truth_as_unjudged():
    """A run user the truth does not know has nothing judged: its rows are left out with the
    other unjudged ones, every time (the flags of such users were once left unset)."""
    run = pd.DataFrame({"user_id": [0, 1, 1, 1], "item_id": [28, 28, 14, 99], "score": [0.5, 0.0, 1.0, 0.7]})
    truth = pd.DataFrame({"user_id": 1, "item_id": [7, 14, 0, 28], "relevance": [2.0, 3.0, -1.0, 0.0]})
    for _ in range(3):
        got = fastrank.evaluate_run(run, truth, metrics=["ndcg@all"], judged_only=True, ties="trec")
        assert got.notes == ["run: 2 unjudged rows left out (judged_only)"]
        assert got.per_user.user.tolist() == [1]


@given(case=ANY_IDS, seed=st.integers(0, 2**16))
@settings(max_examples=25)
def test_truth_rows_in_any_order_give_the_same_values(case, seed):
    """A truth whose users' rows come together is used as it is; shuffled, it is sorted first:
    the values are the same either way (order-sensitive metrics, ties in the trec order)."""
    run, truth = case
    metrics = ["ndcg", "map", "mrr", "map@all", "bpref", "infap", "judged"]
    as_written = fastrank.evaluate_run(run, truth, k=[1, 5], metrics=metrics, ties="trec")
    shuffled = fastrank.evaluate_run(
        run, truth.sample(frac=1, random_state=seed), k=[1, 5], metrics=metrics, ties="trec"
    )
    key = ["user", "metric", "k", "source"]
    want = as_written.per_user.sort_values(key).reset_index(drop=True)
    got = shuffled.per_user.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-12)
