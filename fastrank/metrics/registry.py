"""The metric registry: every metric fastrank computes is one :class:`Metric` in :data:`REGISTRY`.

The CLI's choices and help, the plots' labels, error messages, the engines' refusals and the
README's metric tables all read from here (``tests/test_metrics_registry.py`` holds the README
equal to it). A new metric is one entry, its formula (:mod:`fastrank.kernels.ranking` for the
ranking family), and its tests. Also here: :func:`parse_metric` for ``"name@10"`` specs and
:func:`expand`, which pairs metrics with cutoffs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import kernels
from ..arrays.checks import INT64_MAX
from ..errors import InputError
from ..kernels import ranking as formulas

Ties = Literal["average", "pessimistic", "optimistic"]
Gain = Literal["linear", "exponential", "binary"]
NoRelevant = Literal["zero", "skip"]

TABLE_TIES = ("average", "pessimistic", "optimistic")
"""Tie rules of every metric: tied scores averaged over their orders, or ordered worst- or
best-first."""
RUN_TIES = (*TABLE_TIES, "trec")
"""Tie rules of a top-N run: also trec_eval's, ties broken by item id as text, descending."""
TIE_CODES = {
    "average": kernels.AVERAGE,
    "pessimistic": kernels.PESSIMISTIC,
    "optimistic": kernels.OPTIMISTIC,
    # The run's join gives every tie trec_eval's order (distinct scores): no tie is left to order.
    "trec": kernels.AVERAGE,
}
"""Each tie rule's code in the kernels."""

# Families: how a metric is computed, so what it can be computed from.
RANKING = "ranking"  # a formula of the grouped drivers (kernels.ranking.metric_value), at any cutoff
DERIVED = "derived"  # per user, from other metrics' values at the same cutoff (numpy)
CLASSES = "classes"  # per user, from the relevant and non-relevant scores sorted apart (kernels.classes)
WEIGHTED = "weighted"  # no per-user value: a weighted mean of another metric's per-user values
EXPOSURE = "exposure"  # per user, a mean over the top-k list's items (kernels.exposure)
CATALOG = "catalog"  # no per-user value: one number for every user's top-k list at once (metrics.beyond)
CASCADE = "cascade"  # per user, a cascade over the ranked list (kernels.cascade)
JUDGED = "judged"  # per user, from which rows are judged: a run's in the qrels, every row of a table
INTERPOLATED = "interpolated"  # per user, interpolated precision at recall levels (kernels.interpolated)
ERROR = "error"  # per user, the mean of a per-row loss of the score against the label (kernels.errors)
POOLED = "pooled"  # no per-user value: an error family loss over every row at once
DIVERSITY = "diversity"  # per user, from the item vectors of the top-k list (kernels.diversity)

# Cutoffs.
OPTIONAL = "optional"  # at a cutoff (name@k), or over the whole list without one
NONE = "none"  # the whole list only: a cutoff is refused
REQUIRED = "required"  # a cutoff only


@dataclass(frozen=True)
class Metric:
    """One metric, and everything the rest of fastrank asks of it.

    Attributes
    ----------
    name, label : str
        Its name in specs (``name@10``) and how plots title it.
    family : str
        How it is computed (module constants :data:`RANKING` ... :data:`CATALOG`).
    definition, convention : str
        Its one-line definition and whose numbers it reproduces (the README's metric tables).
    cutoff : str
        :data:`OPTIONAL`, :data:`NONE` (the whole list) or :data:`REQUIRED`.
    code : int
        Its formula in the grouped drivers (-1: none; a top-N run can be scored only by one).
    column : int
        Its column in its family's kernel output (classes, exposure), -1 for none.
    binary, ideal : bool
        It counts relevant rows (label >= threshold); it needs the ideal ranking of the labels.
    whole_list : bool
        Without a cutoff it ranks the whole list (a reciprocal rank finds its row without).
    parts : tuple of str
        The metrics it is computed from (derived, weighted).
    combine : callable
        Derived: its per-user values from its parts' (arrays, in ``parts`` order).
    aliases : tuple of str
        Other names accepted in specs.
    over_unjudged : bool
        Judged family: its part counts the unjudged rows (else the judged ones).
    summary : callable, optional
        How the users' values make the summary, if not by their mean (then compare gives no
        interval or paired test).
    trec_eval : tuple of str
        trec_eval's names of it at a cutoff (``{k}`` for the cutoff, ``{level}`` for a recall
        level) and over the whole list, for output in trec_eval's format ("" where trec_eval has
        none); a sum over users in trec_eval's ``all`` line when ``summed``.
    at_level : bool
        Its cutoff is a recall level in percent, 0 to 100 (``iprec@50``: recall 0.5).
    needs_order : bool
        It has no exact expectation over the orders of tied scores: ``ties="average"`` is
        refused, the other tie rules give it an order.
    finish : callable, optional
        Pooled: the summary from the rows-weighted mean of the users' mean loss (RMSE's square
        root); None leaves that mean as it is.
    """

    name: str
    label: str
    family: str
    definition: str
    convention: str = ""
    cutoff: str = OPTIONAL
    code: int = -1
    column: int = -1
    binary: bool = False
    ideal: bool = False
    whole_list: bool = True
    parts: tuple[str, ...] = ()
    combine: Callable[..., np.ndarray] | None = None
    aliases: tuple[str, ...] = ()
    over_unjudged: bool = False
    summary: Callable[[np.ndarray], float] | None = None
    trec_eval: tuple[str, str] = ("", "")
    summed: bool = False
    at_level: bool = False
    needs_order: bool = False
    finish: Callable[[float], float] | None = None

    @property
    def per_user(self) -> bool:
        """Whether each user has a value (and compare gives an interval and a paired test)."""
        return self.family not in (WEIGHTED, CATALOG, POOLED) and self.summary is None

    @property
    def by_rows(self) -> bool:
        """Whether its summary weighs each user by its rows (a loss over every row at once)."""
        return self.family == POOLED

    @property
    def needs_items(self) -> bool:
        """Whether it needs item ids and every user's list at once (the in-memory engine)."""
        return self.family in (EXPOSURE, CATALOG)

    @property
    def needs_features(self) -> bool:
        """Whether it needs item ids and a vector per item (item features)."""
        return self.family == DIVERSITY

    @property
    def for_runs(self) -> bool:
        """Whether a top-N run gives it: a run has no score for the items it left out, but its
        lists are what the beyond-accuracy metrics look at."""
        return (
            self.code >= 0
            or self.family in (JUDGED, CASCADE, INTERPOLATED, EXPOSURE, CATALOG, DIVERSITY)
            or (self.family == DERIVED and all(REGISTRY[p].for_runs for p in self.parts))
        )

    @property
    def example(self) -> str:
        """It at a cutoff, for messages: ``ndcg@10``, ``iprec@50``."""
        return f"{self.name}@{50 if self.at_level else 10}"

    @property
    def shown(self) -> str:
        """How the README's tables name it: ``name@k``, or ``name`` for the whole list."""
        return f"`{self.name}`" if self.cutoff == NONE else f"`{self.name}@k`"


def _geometric_mean(values: np.ndarray) -> float:
    """trec_eval's geometric mean: of the values floored at 1e-5 (so a 0 does not make it 0)."""
    return float(np.exp(np.mean(np.log(np.maximum(values, GEOMETRIC_FLOOR)))))


GEOMETRIC_FLOOR = 1e-5


def _harmonic_mean(p: np.ndarray, r: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p + r > 0, 2 * p * r / (p + r), p + r)  # 0, or NaN where both are


def _residual(unjudged: np.ndarray, n_ranked: np.ndarray, k: int | None) -> np.ndarray:
    """RBP's residual: its unjudged items' RBP, plus the weight of the places past the list."""
    depth = n_ranked if k is None else np.minimum(n_ranked, k)
    return unjudged + formulas.RBP_PERSISTENCE ** depth.astype(np.float64)


_CLASS_COLUMNS = {"pairs": 0, "at_r": 1}  # the columns of kernels.grouped_class_metrics
_REGISTERED = [
    Metric("dcg", "DCG", RANKING, "sum of gain / log2(rank + 1) over the top k (gain: the label, or "
           "2^label - 1 with `gain=\"exponential\"`, or 1 when relevant with `gain=\"binary\"`)",
           code=formulas.DCG),
    Metric("ndcg", "NDCG", RANKING, "DCG@k divided by the DCG@k of the labels sorted descending (the "
           "ideal)", "`sklearn.metrics.ndcg_score(ignore_ties=False)`; trec_eval's `ndcg_cut_k`, and `ndcg` "
           "as `ndcg@all`", code=formulas.NDCG, ideal=True,
           trec_eval=("ndcg_cut_{k}", "ndcg")),
    Metric("precision", "Precision", RANKING, "relevant items (label >= `threshold`) in the top k, "
           "divided by k (also when a user has fewer than k items); `@all`: by the list's length",
           "trec_eval's `P_k`, and `set_P` as `precision@all` (runs)", code=formulas.PRECISION, binary=True,
           aliases=("p",), trec_eval=("P_{k}", "set_P")),
    Metric("recall", "Recall", RANKING, "relevant items in the top k, divided by the user's relevant "
           "items", "trec_eval's `recall_k`, and `set_recall` as `recall@all` (runs)", code=formulas.RECALL,
           binary=True, aliases=("r",), trec_eval=("recall_{k}", "set_recall")),
    Metric("hit_rate", "Hit rate", RANKING, "probability of at least one relevant item in the top k",
           "trec_eval's `success_k`", code=formulas.HIT_RATE, binary=True, aliases=("hit", "hr"),
           trec_eval=("success_{k}", "")),
    Metric("mrr", "MRR", RANKING, "reciprocal rank of the first relevant item (0 past the cutoff)",
           "trec_eval's `recip_rank` as `mrr@all`", code=formulas.MRR, binary=True, whole_list=False,
           trec_eval=("", "recip_rank")),
    Metric("map", "MAP", RANKING, "average precision: the sum of Precision@r over relevant ranks r <= k, "
           "divided by min(k, relevant items), or with `map_denominator=\"relevant\"` (runs) by the "
           "relevant items", "trec_eval's `map_cut_k`, and `map` as `map@all`, with "
           "`map_denominator=\"relevant\"` (ranx too)",
           code=formulas.MAP, binary=True, aliases=("ap",),
           trec_eval=("map_cut_{k}", "map")),
    Metric("rbp", "RBP", RANKING, f"rank-biased precision with persistence p = {formulas.RBP_PERSISTENCE}: "
           "(1 - p) times the sum of p^(rank - 1) over the relevant items in the top k (Moffat & Zobel "
           "2008); no normalisation, so a list of k relevant items scores 1 - p^k", "ir_measures' "
           "`RBP(p=0.8)` (binary relevance)", code=formulas.RBP, binary=True),
    Metric("err", "ERR", CASCADE, "expected reciprocal rank (Chapelle et al. 2009): the sum over ranks r "
           "<= k of R_r / r times the product of (1 - R_i) over the ranks above, R = (2^label - 1) / "
           "2^max_grade (`max_grade`: the top of the scale, by default the largest label)", "ir_measures' "
           "`ERR@k` (gdeval, `max_grade=4`)"),
    Metric("f1", "F1", DERIVED, "harmonic mean of Precision@k and Recall@k, 2 x hits / (k + relevant "
           "items); 0 when both are 0", "trec_eval's `set_F` as `f1@all` (runs)", binary=True,
           parts=("precision", "recall"), combine=_harmonic_mean,
           trec_eval=("", "set_F")),
    Metric("relative_precision", "Relative precision", DERIVED, "relevant items in the top k divided by "
           "min(k, relevant items): the larger of Precision@k and Recall@k", "trec_eval's `relative_P_k`",
           cutoff=REQUIRED, binary=True, parts=("precision", "recall"), combine=np.maximum,
           trec_eval=("relative_P_{k}", "")),
    Metric("gm_map", "GM-MAP", DERIVED, "per user, AP over the whole list (`map@all`); summarised by "
           f"the geometric mean over users, each value floored at {GEOMETRIC_FLOOR:g}", "trec_eval's "
           "`gm_map` (with `map_denominator=\"relevant\"`; its -q lines print the logarithm)", cutoff=NONE,
           binary=True, parts=("map",), combine=lambda ap: ap, summary=_geometric_mean,
           trec_eval=("", "gm_map")),
    Metric("set_ap", "Set AP", DERIVED, "precision times recall over the whole list: relevant items "
           "retrieved, squared, divided by the items retrieved and the relevant items", "trec_eval's "
           "`set_map`, ir_measures' `SetAP`", cutoff=NONE, binary=True, parts=("precision", "recall"),
           combine=np.multiply, trec_eval=("", "set_map")),
    Metric("r_precision", "R-precision", CLASSES, "Precision at rank R, R = the user's relevant items "
           "(for runs, R counts the relevant items the run missed)", "trec_eval's `Rprec`", cutoff=NONE,
           code=formulas.R_PRECISION, column=_CLASS_COLUMNS["at_r"], binary=True, aliases=("rprec",),
           trec_eval=("", "Rprec")),
    Metric("bpref", "bpref", JUDGED, "binary preference: the mean over the relevant items of 1 - min(n, "
           "R) / min(N, R), n the judged non-relevant items ranked above it, R the relevant and N the "
           "judged non-relevant items of the truth (unjudged items are left out); 0 for a relevant item "
           "not retrieved", "trec_eval's `bpref`", cutoff=NONE, column=kernels.BPREF, binary=True,
           trec_eval=("", "bpref")),
    Metric("infap", "infAP", JUDGED, "inferred AP (Yilmaz & Aslam 2006): the mean over the relevant "
           "items of an estimate of precision at each one's rank k, 1/k + (k - 1)/k x (pooled items "
           "above / (k - 1)) x (relevant above + e) / (judged above + 2e), e = 0.00001; a negative "
           "relevance marks an item pooled but not judged, an item outside the truth is not pooled; "
           "AP, but for the smoothing by e, when every item is judged", "trec_eval's `infAP`", cutoff=NONE,
           column=kernels.INFAP, binary=True, aliases=("inf_ap",), trec_eval=("", "infAP")),
    Metric("iprec", "Interpolated precision", INTERPOLATED, "interpolated precision at recall level "
           "k% (`iprec@50`: recall 0.5): the largest precision at any rank at or below the one where "
           "floor(k/100 x relevant items + 0.9) relevant items are retrieved; 0 if they never are. "
           "Needs an order of tied scores (`ties=\"trec\"`, `\"pessimistic\"` or `\"optimistic\"`); "
           "a bare `iprec` is the 11 levels 0, 10, ..., 100", "trec_eval's `iprec_at_recall_0.50` as "
           "`iprec@50`", cutoff=REQUIRED, at_level=True, needs_order=True, binary=True,
           trec_eval=("iprec_at_recall_{level}", "")),
    Metric("iprec_11pt", "11-point average", INTERPOLATED, "the mean of `iprec` at the 11 recall "
           "levels 0, 10, ..., 100", "trec_eval's `11pt_avg`", cutoff=NONE, needs_order=True,
           binary=True, trec_eval=("", "11pt_avg")),
    Metric("judged_share", "Judged", JUDGED, "share of the top k that is judged: items of the truth with "
           "a relevance >= 0 (every row of a table); `@all`: of the whole list", "ir_measures' `Judged@k` "
           "(also named `judged@k` here)", parts=("precision",), aliases=("judged",)),
    Metric("rbp_residual", "RBP residual", JUDGED, "the most RBP@k could still gain: RBP over the "
           "unjudged items of the top k, plus p^min(k, n) for the places past a list of n items "
           "(Moffat & Zobel 2008)", "ir_measures' RBP with its residual", parts=("rbp",),
           combine=_residual, over_unjudged=True),
    Metric("num_ret", "Retrieved", JUDGED, "items ranked (a run's list length; a table's rows)",
           "trec_eval's `num_ret` (which sums over users; here the mean)", cutoff=NONE,
           column=kernels.NUM_RET, trec_eval=("", "num_ret"), summed=True),
    Metric("num_rel", "Relevant", JUDGED, "relevant items of the truth, retrieved or not",
           "trec_eval's `num_rel` (summed there)", cutoff=NONE, column=kernels.NUM_REL, binary=True,
           trec_eval=("", "num_rel"), summed=True),
    Metric("num_rel_ret", "Relevant retrieved", JUDGED, "relevant items ranked", "trec_eval's "
           "`num_rel_ret` (summed there)", cutoff=NONE, column=kernels.NUM_REL_RET, binary=True,
           trec_eval=("", "num_rel_ret"), summed=True),
    Metric("auc", "AUC", CLASSES, "probability that a relevant item scores above a non-relevant one, a "
           "tie counting one half; users with one class only (every item relevant, or none) are "
           "skipped, and counted", "`sklearn.metrics.roc_auc_score` of (label >= `threshold`, score)",
           cutoff=NONE, column=_CLASS_COLUMNS["pairs"], binary=True),
    Metric("gauc", "GAUC", WEIGHTED, "not a per-user value: the mean of the users' AUC weighted by "
           "their rows (impressions), by their relevant rows (`gauc_weight=\"positives\"`), by 1 "
           "(`\"users\"`), or by the sum of a weight per row; weights that sum to 0 are refused",
           "DIN's GAUC (Zhou et al. 2018) weighs by impressions (the default); RecBole's by positives: "
           "`gauc_weight=\"positives\"`",
           cutoff=NONE, binary=True, parts=("auc",)),
    Metric("rmse", "RMSE", ERROR, "per user, the square root of the mean of (score - label)^2 over the "
           "user's rows; then the mean over users", "`sklearn.metrics.root_mean_squared_error` of each "
           "user; LensKit's per-user RMSE", cutoff=NONE, column=kernels.SQUARED, combine=np.sqrt),
    Metric("mae", "MAE", ERROR, "per user, the mean of |score - label| over the user's rows; then the "
           "mean over users", "`sklearn.metrics.mean_absolute_error` of each user", cutoff=NONE,
           column=kernels.ABSOLUTE),
    Metric("logloss", "Log loss", ERROR, "per user, the mean of -(y ln p + (1 - y) ln(1 - p)) over the "
           "user's rows, y the label in {0, 1} and p the score in [0, 1], clipped to [eps, 1 - eps] "
           "(float64's eps); then the mean over users", "`sklearn.metrics.log_loss` of each user",
           cutoff=NONE, column=kernels.LOG, aliases=("log_loss",)),
    Metric("rmse_rows", "RMSE (rows)", POOLED, "not a per-user value: RMSE over every row of the "
           "evaluated users at once (each user weighs by its rows)", "`sklearn.metrics."
           "root_mean_squared_error` of the whole table; Microsoft Recommenders' `rmse`, RecBole's RMSE",
           cutoff=NONE, column=kernels.SQUARED, finish=np.sqrt),
    Metric("mae_rows", "MAE (rows)", POOLED, "not a per-user value: MAE over every row of the evaluated "
           "users at once", "`sklearn.metrics.mean_absolute_error` of the whole table; Microsoft "
           "Recommenders' `mae`, RecBole's MAE", cutoff=NONE, column=kernels.ABSOLUTE),
    Metric("logloss_rows", "Log loss (rows)", POOLED, "not a per-user value: log loss over every row of "
           "the evaluated users at once", "`sklearn.metrics.log_loss` of the whole table; Microsoft "
           "Recommenders' `logloss`", cutoff=NONE, column=kernels.LOG),
    Metric("ils", "ILS", DIVERSITY, "intra-list similarity: per user, the mean cosine similarity of "
           "the item vectors (`item_features`) over the pairs of the k listed items, expected over the "
           "orders of a tie the cutoff splits; no value for a list of fewer than 2 items",
           "recmetrics' and LensKit's intra-list similarity (cosine)", cutoff=REQUIRED, column=kernels.ILS),
    Metric("ild", "ILD", DIVERSITY, "intra-list diversity: 1 - ILS@k, the mean cosine distance over the "
           "pairs of the listed items", "Microsoft Recommenders' `diversity` per user (with item "
           "features), RecTools' IntraListDiversity with cosine distance", cutoff=REQUIRED,
           column=kernels.ILD),
    Metric("serendipity", "Serendipity", DIVERSITY, "per user, the mean over the k listed places of "
           "relevance (label >= `threshold`) x (1 - the item's mean cosine similarity to the user's "
           "`history` items, each once), expected over ties at the cutoff; no value without a history",
           "Microsoft Recommenders' `serendipity` per user (with item features)", cutoff=REQUIRED,
           column=kernels.SERENDIPITY),
    Metric("coverage", "Coverage", CATALOG, "expected share of catalog items listed in at least one "
           "user's top k (an item listed with probability p_u by user u counts 1 - prod(1 - p_u))",
           "RecBole's ItemCoverage, with ties in expectation", cutoff=REQUIRED),
    Metric("arp", "ARP", EXPOSURE, "per user, the mean popularity share of the k listed items (min(k, n) "
           "for a user with n < k items); then the mean over users", "RecBole's AveragePopularity uses "
           "raw interaction counts: multiply by the table's rows to compare", cutoff=REQUIRED,
           column=kernels.ARP),
    Metric("novelty", "Novelty", EXPOSURE, "per user, the mean self-information -log2(share) of the "
           "listed items; then the mean over users", "mean self-information (Zhou et al. 2010); "
           "RecTools' MeanInvUserFreq uses users / all users instead of rows / all rows",
           cutoff=REQUIRED, column=kernels.NOVELTY),
    Metric("gini", "Gini", CATALOG, "Gini index of the exposures over every catalog item, never-listed "
           "ones included: sum((2i - n - 1) x_i) / (n sum x) over exposures sorted ascending; 0 equal "
           "exposure, near 1 a few items take it all", "RecBole's GiniIndex", cutoff=REQUIRED),
    Metric("entropy", "Entropy", CATALOG, "Shannon entropy, in bits, of the exposure shares (x / sum x) "
           "of the listed items", "RecBole's ShannonEntropy uses natural logs and divides by the "
           "number of items listed", cutoff=REQUIRED),
    Metric("long_tail", "Long-tail share", EXPOSURE, "per user, the share of the listed places going to "
           "long-tail items, the max(int(n x `tail_share`), 1) least popular of the catalog's n items "
           "(default 0.8: outside the most popular 20%), items tied with the tail's border kept in the "
           "head (`tail_ties=\"item\"`: taken by item id ascending); then the mean over users",
           "RecBole's TailPercentage: `tail_share=0.1, tail_ties=\"item\"`", cutoff=REQUIRED,
           column=kernels.LONG_TAIL),
]  # fmt: skip
REGISTRY: dict[str, Metric] = {metric.name: metric for metric in _REGISTERED}
"""Every metric by name, in the order the CLI's help and the README list them."""

METRICS: tuple[str, ...] = tuple(REGISTRY)
"""Metric names understood by :func:`fastrank.ranking_metrics`."""

ALIASES = {alias: metric.name for metric in _REGISTERED for alias in metric.aliases}

DEFAULT = REGISTRY["ndcg"]
"""The metric of every entry point that is given none, of the notebook protocol, and of
compare's curve of every cutoff."""

_SPEC = re.compile(r"^\s*([a-z_0-9]+)\s*(?:@\s*(-?\d+(?:\.\d*)?|all))?\s*$")
WHOLE = "all"
"""The cutoff that names the whole list (``ndcg@all``: trec_eval's uncut ``ndcg``)."""
ELEVEN_POINTS = tuple(range(0, 101, 10))
"""The recall levels, in percent, of a bare ``iprec`` and of ``iprec_11pt`` (trec_eval's)."""


@dataclass(frozen=True)
class MetricSpec:
    """One metric at one cutoff: ``name`` as in :data:`METRICS`, ``k`` None for the whole list."""

    name: str
    k: int | None

    def __str__(self) -> str:
        return self.name if self.k is None else f"{self.name}@{self.k}"

    @property
    def metric(self) -> Metric:
        """Its registry entry."""
        return REGISTRY[self.name]


def trec_eval_name(spec: MetricSpec) -> str:
    """trec_eval's name of a metric at a cutoff (``ndcg_cut_10``, ``recip_rank``), or fastrank's
    spec (``rbp@10``) where trec_eval has none."""
    at_k, whole = spec.metric.trec_eval
    if spec.k is not None:
        return at_k.format(k=spec.k, level=f"{spec.k / 100:.2f}") if at_k else str(spec)
    if whole:
        return whole
    return str(spec) if spec.metric.cutoff == NONE else f"{spec}@{WHOLE}"


def example(k: int | None = 10) -> str:
    """A spec to show in messages and help: the default metric at ``k``."""
    return DEFAULT.name if k is None else f"{DEFAULT.name}@{k}"


def parse_metric(spec: str | MetricSpec) -> MetricSpec:
    """Parse ``"name@10"``, ``"name@all"`` and ``"name"`` (both: the whole list, no cutoff) into a
    :class:`MetricSpec`."""
    return _parse(spec)[0]


def _parse(spec: str | MetricSpec) -> tuple[MetricSpec, bool]:
    """The spec, and whether its cutoff was written (``@10``, ``@all``)."""
    if isinstance(spec, MetricSpec):
        return spec, True
    match = _SPEC.match(str(spec).lower())
    if not match:
        raise InputError(
            f"metrics: cannot read {spec!r}; write a name and an optional cutoff, e.g. {example()!r}"
        )
    name = ALIASES.get(match.group(1), match.group(1))
    if name not in REGISTRY:
        raise InputError(f"metrics: unknown metric {spec!r}; choose from {', '.join(METRICS)}")
    if match.group(2) == WHOLE:
        if REGISTRY[name].cutoff == REQUIRED:
            raise InputError(f"metrics: {spec!r}: {name} needs a cutoff, e.g. '{REGISTRY[name].example}'")
        return MetricSpec(name, None), True
    metric = REGISTRY[name]
    if match.group(2) is not None and "." in match.group(2):
        if metric.at_level:
            raise InputError(
                f"metrics: {spec!r}: {name}'s cutoff is a recall level in percent, 0 to 100 "
                f"(write '{name}@50' for recall 0.5)"
            )
        raise InputError(f"metrics: {spec!r}: the cutoff k must be an int >= 1")
    k = None if match.group(2) is None else int(match.group(2))
    if metric.at_level and k is not None:
        if not 0 <= k <= 100:
            raise InputError(
                f"metrics: {spec!r}: {name}'s cutoff is a recall level in percent, 0 to 100. Got {k} instead."
            )
        return MetricSpec(name, k), True
    if k is not None and k < 1:
        raise InputError(f"metrics: {spec!r}: the cutoff k must be an int >= 1. Got {k} instead.")
    if k is not None and k > INT64_MAX:
        raise InputError(f"metrics: {spec!r}: the cutoff k must be an int <= {INT64_MAX:,}. Got {k} instead.")
    if k is not None and REGISTRY[name].cutoff == NONE:
        raise InputError(f"metrics: {spec!r}: {name} ranks the whole list, so it takes no cutoff")
    return MetricSpec(name, k), k is not None


def expand(metrics: Iterable[str | MetricSpec], ks: Sequence[int]) -> list[MetricSpec]:
    """The (metric, cutoff) pairs to compute, each once, in the order given: a metric named with
    a cutoff (``name@10``, or ``name@all`` for the whole list) at that cutoff; a bare name at
    every cutoff of ``ks``; a metric of the whole list once, without one; a bare metric of recall
    levels (``iprec``) at trec_eval's 11 levels."""
    pairs = []
    for metric in metrics:
        spec, written = _parse(metric)
        if spec.metric.cutoff == NONE:
            pairs.append(MetricSpec(spec.name, None))
        elif spec.metric.at_level and not written:  # trec_eval's 11 levels, not the list's cutoffs
            pairs += [MetricSpec(spec.name, level) for level in ELEVEN_POINTS]
        elif written:
            pairs.append(spec)
        else:
            pairs += [MetricSpec(spec.name, k) for k in ks]
    return list(dict.fromkeys(pairs))


def check_order(specs: Iterable[MetricSpec], ties: str) -> None:
    """Refuse a metric that needs an order of tied scores (``needs_order``) with ties averaged."""
    if ties != "average":
        return
    for spec in specs:
        if spec.metric.needs_order:
            raise InputError(
                f"metrics: {spec} is a maximum over ranks, which has no exact average over the orders of "
                "tied scores; pass ties='trec' (runs), ties='pessimistic' or ties='optimistic'"
            )


def names(test: Callable[[Metric], bool]) -> list[str]:
    """The names of the registered metrics that pass ``test``, in registry order."""
    return [metric.name for metric in _REGISTERED if test(metric)]


def readme_tables() -> tuple[str, str, str]:
    """The README's three metric tables (accuracy; errors of the scores as predictions; beyond
    accuracy), as the registry defines them."""
    accuracy = ["| metric | per user | reproduces |", "|---|---|---|"]
    errors = ["| metric | definition | reproduces |", "|---|---|---|"]
    beyond = ["| metric | definition | convention |", "|---|---|---|"]
    for metric in _REGISTERED:
        table = (
            beyond
            if metric.needs_items or metric.needs_features
            else errors
            if metric.family in (ERROR, POOLED)
            else accuracy
        )
        table.append(f"| {metric.shown} | {metric.definition} | {metric.convention} |")
    return "\n".join(accuracy), "\n".join(errors), "\n".join(beyond)
