"""Top-N runs against held-out truth: :func:`evaluate_run`.

A *run* lists, per user, the items a model recommended (from the whole catalog) with a score or a
rank; the *truth* (qrels) lists each user's held-out items with their relevance. This is the
shape trec_eval, pytrec_eval, ranx, RecBole and LensKit evaluate. Semantics:

* a run row's label is the truth relevance of its (user, item), else 0;
* truth items the run did not retrieve still count: in the ideal DCG and in the denominators of
  Recall, MAP and R-Precision (the kernels rank only a user's run rows, see
  :func:`fastrank.metrics.evaluate_grouped`);
* users of the truth without run rows score 0 for every metric (trec_eval ``-c``, ranx), or are
  left out with ``empty_run="skip"``; users of the run without truth are skipped; both counted;
* a (user, item) twice in a run or in the truth is refused, or with ``duplicates="first"`` its
  first row is kept (counted).

The join (:mod:`fastrank.api.join`) is vectorised; no Python loop runs per user.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..arrays.grouping import groups_from_offsets
from ..arrays.pairs import Pairs
from ..engines.plan import Scored
from ..errors import InputError, count
from ..inputs.columns import RUN, RUN_SCORE
from ..inputs.formats import STDIN, Opened, open_input, shown
from ..inputs.pairs import read_pairs
from ..inputs.registry import run_format
from ..metrics.beyond import listed, listing_values
from ..metrics.dispatch import evaluate_grouped
from ..metrics.diversity import History, ItemVectors, RowsOf, Similar, diversity_metrics
from ..metrics.options import DEFAULT_K, DEFAULTS, MetricOptions
from ..metrics.registry import CATALOG, DEFAULT, JUDGED, TIE_CODES, MetricSpec
from .catalog import Items, run_items
from .join import Joined, Run, join, kept_rows, prepare_truth, read_run, truth_pairs
from .options import RunOptions, check_run, read_similarity
from .results import Evaluation, tables


def evaluate_run(
    run: Any,
    truth: Any,
    *,
    k: int | Sequence[int] = DEFAULT_K,
    metrics: str | Sequence[str] = DEFAULT.name,
    user_col: str = RUN.user_col,
    item_col: str = RUN.item_col,  # type: ignore[assignment]
    score_col: str = RUN_SCORE,
    rank_col: str | None = None,
    label_col: str = RUN.label_col,
    threshold: float = DEFAULTS.threshold,
    ties: str = DEFAULTS.ties,
    gain: str = DEFAULTS.gain,
    max_grade: float | None = DEFAULTS.max_grade,
    tail_share: float = DEFAULTS.tail_share,
    tail_ties: str = DEFAULTS.tail_ties,
    catalog: Any = None,
    popularity: Any = None,
    popularity_col: str | None = None,
    exclude: Any = None,
    item_features: Any = None,
    history: Any = None,
    cooccurrence: Any = None,
    map_denominator: str = "min",
    empty_run: str = "zero",
    depth: int | None = None,
    judged_only: bool = False,
    duplicates: str = "refuse",
    delimiter: str | None = None,
    input_format: str | None = None,
) -> Evaluation:
    """Evaluate top-N recommendation lists (runs) against held-out truth.

    Parameters
    ----------
    run : path, pandas.DataFrame, pyarrow.Table, or a dict or list of them
        One run or several (each a source of the result, evaluated against the same truth): a
        parquet or CSV file, a TREC run file (``qid Q0 docno rank score tag``) or a table with
        ``user_col``, ``item_col`` and ``score_col`` (or ``rank_col``). Files are told apart by
        content (a text file whose first line holds a number is TREC; one of names, a CSV
        header); a pipe or ``"-"`` (standard input, once) is read whole. Sources are named by the
        dict's keys, else by file name without suffix (with parent folders where two would
        clash: ``exp1/test``, ``exp2/test``), else ``run`` (``run1``, ``run2``, ...). The column
        options apply to tables; a TREC file's fields are fixed.
    truth : path, pandas.DataFrame or pyarrow.Table
        Held-out items: ``user_col``, ``item_col`` and ``label_col`` (relevance, >= 0), or a TREC
        qrels file (``qid iter docno rel``). Ids are integers or text (compared as text when one
        side is text, or beyond int64).
    k, metrics
        Cutoffs and metric names, as :func:`fastrank.evaluate` (each metric at every k).
    score_col, rank_col : str
        The run's score column (higher is better), or a rank column (1 = best; it wins when given).
    threshold : float
        Relevant when relevance >= threshold (the binary metrics).
    ties : {"average", "trec", "pessimistic", "optimistic"}
        Tied scores: see :data:`fastrank.metrics.registry.RUN_TIES`. ``trec`` reproduces trec_eval's
        numbers exactly.
    gain : {"linear", "exponential", "binary"} or dict
        DCG's and NDCG's gain of a label: the label (trec_eval, scikit-learn), ``2**label - 1``
        (Burges et al.; RecBole, TorchMetrics), 1 when relevant (``label >= threshold``), or a
        dict of label: gain (0 gains 0 unless given).
    max_grade : float, optional
        The top of the relevance scale, for ERR's stop probability (2^label - 1) / 2^max_grade
        (gdeval's 4 for a 0-4 scale); default: the largest label of the data.
    tail_share, tail_ties
        the long-tail share's tail size and tie rule, as :func:`fastrank.evaluate`.
    catalog : path, table or sequence of ids, optional
        The items a list could hold, for the beyond-accuracy metrics (a file or table with
        ``item_col``, or one column; or the ids): coverage's denominator, and the items Gini
        counts. Default: the items of the truth, every run and ``popularity`` together (a note
        says so). A listed item outside it is refused.
    popularity : path or table, optional
        Interactions (e.g. the training data) whose rows per item are its popularity, or whose
        ``popularity_col`` summed per item is: needed by ``arp``, ``novelty`` and the long-tail
        share. Items outside the catalog are refused.
    popularity_col : str, optional
        A column of weights in ``popularity``, summed per item (default: each row counts 1).
    exclude : path or table, optional
        (user, item) pairs (``user_col``, ``item_col``; typically the training interactions)
        removed from every run before anything is ranked or cut, so a model is not credited nor
        blamed for re-recommending what a user already has; the rows removed are counted in a
        note per run, and so are truth rows among the pairs (a leak between train and test).
    item_features, history, cooccurrence : path or table, optional
        The item vectors (or the interactions whose co-occurrence gives them) and the users'
        past items of the diversity metrics, as :func:`fastrank.evaluate`.
    map_denominator : {"min", "relevant"}
        AP@k divided by ``min(k, relevant items)`` (fastrank's default, as for tables) or by the
        user's relevant items (trec_eval's ``map_cut``, ranx).
    empty_run : {"zero", "skip"}
        Users of the truth with no run rows: 0 for every metric, or left out (NaN).
    depth : int, optional
        Keep each user's first ``depth`` run rows in trec_eval's order (score descending, then
        item id as text descending), whatever ``ties``: trec_eval's ``-M``. The rows left out are
        counted in a note.
    judged_only : bool
        Leave out the run rows whose item is not judged for the user (not in the truth, or with a
        negative relevance) before anything is ranked: Sakai's condensed lists. Counted in a note.
    duplicates : {"refuse", "first"}
        A (user, item) repeated in a run or in the truth: an error naming it, or keep the first.
    delimiter : str, optional
        The delimiter of CSV runs and truth, one character; default: sniffed.
    input_format : str, optional
        The format of :data:`fastrank.inputs.registry.FORMATS` (``parquet``, ``csv``, ``trec``) to
        read the runs and the truth files with, instead of the one their content shows.

    Returns
    -------
    Evaluation
        ``per_user`` has one row per truth user, metric, k and run (``n_items``: the user's truth
        rows); ``notes`` count skipped users and dropped duplicates. The beyond-accuracy metrics
        look at the lists of the truth's users (run users without truth are skipped, as for
        every metric); a user without recommendations has none of their per-user values.
    """
    options = RunOptions(**{name: value for name, value in locals().items() if name not in ("run", "truth")})
    return evaluate_run_options(run, truth, options)


def evaluate_run_options(run: Any, truth: Any, options: RunOptions) -> Evaluation:
    """:func:`evaluate_run` with its options in one :class:`RunOptions`."""
    clock = time.perf_counter()
    specs, scoring = check_run(options)
    sources, truth = open_inputs(run_sources(run), truth)
    check_columns_apply(sources, truth, options)
    prepared = prepare_truth(truth, options)
    notes: list[str] = []
    excluded = None
    if options.exclude is not None:
        table_format = options.input_format if options.input_format != "trec" else None
        excluded = read_pairs(
            options.exclude, options.user_col, options.item_col, delimiter=options.delimiter,
            input_format=table_format,
        )  # fmt: skip
        leaked = int(excluded.holds(*truth_pairs(prepared)).sum())
        if leaked:
            notes.append(
                f"exclude: {count(leaked, 'truth row')} of {prepared.name} also in the excluded pairs "
                f"({excluded.name}): a leak between train and test; the truth keeps them"
            )
    timings = {"load": time.perf_counter() - clock}
    if prepared.dropped:
        notes.append(
            f"{prepared.name}: {prepared.dropped:,} repeated (user, item) rows; the first of each kept"
        )
    values: dict[tuple[str, str, int, str], np.ndarray] = {}
    overall: dict[tuple[str, str, int | None, str], tuple[float, int]] = {}
    n_rows = 0
    with_judged = any(spec.metric.family == JUDGED for spec in specs)
    listing = [spec for spec in specs if spec.metric.needs_items or spec.metric.needs_features]
    ranking = [spec for spec in specs if spec not in listing]
    items = None
    vectors, history = read_similarity(options, [spec.metric for spec in specs])
    if any(spec.metric.needs_items for spec in specs):  # one catalog for every run: one denominator
        clock = time.perf_counter()
        sources = [(name, read_run(source, name, options)) for name, source in sources]
        items = run_items([run for _, run in sources], prepared, options, notes)
        timings["load"] += time.perf_counter() - clock
    for name, source in sources:
        clock = time.perf_counter()
        run = source if isinstance(source, Run) else read_run(source, name, options)
        if excluded is not None:
            run = _without(run, excluded, notes)
        timings["load"] += time.perf_counter() - clock
        clock = time.perf_counter()
        joined = join(run, prepared, options, notes, with_judged=with_judged, with_rows=bool(listing))
        timings["join"] = timings.get("join", 0.0) + time.perf_counter() - clock
        clock = time.perf_counter()
        groups = groups_from_offsets(joined.offsets, prepared.users)
        if ranking:
            result = evaluate_grouped(
                groups, joined.labels, joined.scores, ranking, scoring, parallel=True, ranked=joined.ranked,
                map_denominator=options.map_denominator, judged=joined.judged,
            )  # fmt: skip
            if options.empty_run == "skip":
                result.values[joined.ranked == 0] = np.nan
            for j, spec in enumerate(ranking):
                values["standard", spec.name, spec.k, name] = result.values[:, j]
        if listing:
            per_user, whole = listed_metrics(
                joined, run, (items, vectors, history), listing, scoring, prepared.users
            )
            for spec, column in per_user.items():
                values["standard", spec.name, spec.k, name] = column
            for spec, value in whole.items():
                overall["standard", spec.name, spec.k, name] = value
        timings["metrics"] = timings.get("metrics", 0.0) + time.perf_counter() - clock
        n_rows += len(run.users)
    scored = Scored(prepared.users, prepared.sizes, None, values, n_rows, overall=overall)
    clock = time.perf_counter()
    summary, per_user = tables(scored, [spec.name for spec in specs])
    timings["tables"] = time.perf_counter() - clock
    return Evaluation(summary, per_user, n_rows, len(prepared.users), None, timings, notes)


def _without(run: Run, excluded: Pairs, notes: list[str]) -> Run:
    """``run`` without the rows of ``excluded`` pairs, counted in a note."""
    held = excluded.holds(run.users, run.items)
    if held.any():
        removed = count(int(held.sum()), "row")
        notes.append(f"{run.where}: {removed} of excluded (user, item) pairs left out (exclude)")
        return kept_rows(run, ~held)
    return run


def listed_metrics(
    joined: Joined, run: Run, about: tuple[Items | None, ItemVectors | None, History | None],
    specs: list[MetricSpec], scoring: MetricOptions, users: np.ndarray,
) -> tuple[dict[MetricSpec, np.ndarray], dict[MetricSpec, tuple[float, int]]]:  # fmt: skip
    """The beyond-accuracy and diversity metrics of the run's lists (per-user values; catalog-wide
    values and the users whose list counted): each truth user's run rows only (the truth items it
    missed are in no list), over the catalog, the item vectors and the users' history of
    ``about``. Item ids are looked up for the listed rows only."""
    items, vectors, history = about
    assert joined.rows is not None and joined.items is not None
    groups = groups_from_offsets(joined.offsets, users)
    tie = TIE_CODES[scoring.ties]
    similar = None
    if vectors is not None:

        def ids_of(rows: np.ndarray) -> np.ndarray:
            return joined.items.take(pa.array(joined.rows[rows], pa.int64())).to_numpy(zero_copy_only=False)

        similar = Similar.of(groups, RowsOf(ids_of, vectors, run.where), vectors, history)
    per_user: dict[MetricSpec, np.ndarray] = {}
    overall: dict[MetricSpec, tuple[float, int]] = {}
    for k in dict.fromkeys(int(spec.k) for spec in specs if spec.k is not None):
        exposure = [spec for spec in specs if spec.k == k and spec.metric.needs_items]
        if exposure and items is not None:
            values, listing = listed(
                groups, joined.labels, joined.scores, items.catalog, k, tie=tie, min_items=1, parallel=True,
                columns=[spec.metric.column for spec in exposure], ranked=joined.ranked,
                slots_of=lambda rows: items.slots(joined.items, joined.rows[rows], run),
            )  # fmt: skip
            whole = listing_values(listing, items.catalog)
            listed_users = int(np.count_nonzero(listing.counts))
            for spec in exposure:
                if spec.metric.family == CATALOG:
                    overall[spec] = (whole[spec.name], listed_users)
                else:
                    per_user[spec] = values[:, spec.metric.column]
        diverse = [spec for spec in specs if spec.k == k and spec.metric.needs_features]
        if diverse and similar is not None:
            values = diversity_metrics(
                groups, joined.labels, joined.scores, similar, k, tie=tie, min_items=1,
                columns=[spec.metric.column for spec in diverse], threshold=scoring.threshold, parallel=True,
                ranked=joined.ranked,
            )  # fmt: skip
            per_user.update({spec: values[:, spec.metric.column] for spec in diverse})
    return per_user, overall


def run_sources(run: Any) -> list[tuple[str, Any]]:
    """(name, source) of each run: a dict's keys; else, for files, their names without suffix
    (with as many parent folders as make them unique: ``exp1/test`` and ``exp2/test``); else
    ``run`` (``run1``, ``run2``, ... for several)."""
    if isinstance(run, Mapping):
        pairs = [(str(name), source) for name, source in run.items()]
    else:
        many = isinstance(run, (list, tuple))
        items = list(run) if many else [run]
        paths = [source for source in items if isinstance(source, (str, os.PathLike))]
        names = dict(zip([id(path) for path in paths], _unique_names(paths), strict=True))
        pairs = []
        for i, source in enumerate(items, start=1):
            if id(source) in names:
                name = names[id(source)]
            else:
                name = f"run{i}" if many and len(items) > 1 else "run"
            pairs.append((name, source))
    if not pairs:
        raise InputError("run: give at least one run")
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"run: two runs are named {repeated[0]!r}; give each run its own name")
    return pairs


def _unique_names(paths: list[Any]) -> list[str]:
    """Each path's file name without its suffixes, with parent folders added where two would
    read the same; the same file twice is refused (it would be compared with itself)."""
    if STDIN in [str(path) for path in paths]:
        paths = [("stdin" if str(path) == STDIN else path) for path in paths]
    resolved = [os.path.realpath(path) for path in paths]
    for i, path in enumerate(resolved):
        if path in resolved[:i]:
            raise InputError(f"run: {shown(paths[i])} is given twice; each run is evaluated once")
    parts = [Path(path).parts for path in resolved]
    # A pipe (<(zcat run.gz) is /dev/fd/63) has no name of its own: "pipe63".
    stems = [
        f"pipe{Path(path).name}" if str(path).startswith(("/dev/fd/", "/proc/self/fd/"))
        else Path(path).name.split(".")[0] or Path(path).name
        for path in paths
    ]  # fmt: skip
    depth = [0] * len(paths)
    while True:
        names = [
            "/".join([*part[len(part) - 1 - d : len(part) - 1], stem])
            for part, stem, d in zip(parts, stems, depth, strict=True)
        ]
        clashing = [i for i, name in enumerate(names) if names.count(name) > 1]
        if not clashing:
            return names
        for i in clashing:
            depth[i] += 1


def open_inputs(sources: list[tuple[str, Any]], truth: Any) -> tuple[list[tuple[str, Any]], Any]:
    """Each path among the runs and the truth looked at once (:func:`~fastrank.inputs.formats.open_input`):
    a pipe or standard input is read here, and ``-`` may stand for one of them only."""
    taken = [False]

    def opened(source: Any) -> Any:
        return open_input(source, stdin_taken=taken) if isinstance(source, (str, os.PathLike)) else source

    return [(name, opened(source)) for name, source in sources], opened(truth)


_TREC_FIELDS = "run: qid Q0 docno rank score tag; qrels: qid iter docno rel"


def _is_table(source: Any, o: RunOptions) -> bool:
    form, _ = run_format(source, o.input_format)
    return form is None or form.table


def check_columns_apply(sources: list[tuple[str, Any]], truth: Any, o: RunOptions) -> None:
    """Refuse a column option that names a table column when every input it applies to is a TREC
    file, whose fields are fixed: it would be ignored, or worse, read another field."""
    default = RunOptions()
    run_tables = [source for _, source in sources if _is_table(source, o)]
    truth_table = _is_table(truth, o)
    applies = {
        "user_col": run_tables or truth_table,
        "item_col": run_tables or truth_table,
        "score_col": run_tables,
        "rank_col": run_tables or o.rank_col == "rank",  # a TREC run's own rank field
        "label_col": truth_table,
    }
    for option, used in applies.items():
        value = getattr(o, option)
        if value != getattr(default, option) and not used:
            files = [source.name for _, source in sources if isinstance(source, Opened)]
            files += [truth.name] if isinstance(truth, Opened) and not truth_table else []
            raise InputError(
                f"{option}={value!r} names a table column, but {' and '.join(files)} "
                f"{'is a TREC file' if len(files) == 1 else 'are TREC files'}, whose fields are fixed "
                f"({_TREC_FIELDS}); leave it out"
            )
