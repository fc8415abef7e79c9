"""Beyond-accuracy metrics of the top-k lists: catalog coverage, average recommendation popularity
(ARP), novelty, the Gini index and Shannon entropy of item exposure, and the long-tail share.

The catalog is every item of the evaluated table; an item's popularity is its share of the
table's rows, or of a popularity column summed over its rows. The lists are the top k of each
user by score, in the ranking metrics' order (:func:`fastrank.kernels.grouped_exposure`): with
ties averaged, each of the ``s`` items of a tie that the cutoff splits, with ``t`` of its places
inside the top k, is listed with probability ``t / s``, so exposures are expected counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import kernels
from ..arrays.columns import check_ids, check_values
from ..arrays.conversion import to_numpy
from ..arrays.grouping import Groups, group_chunks
from ..arrays.threads import even_bounds, frozen, run_chunks, thread_count
from ..errors import InputError
from .options import DEFAULTS


@dataclass(frozen=True)
class Catalog:
    """The items of an evaluated table and their popularity, by *slot*: item ``codes[i] - offset``.

    ``codes`` holds each row's item code in group order: the item id itself for integer ids in
    a dense range (``offset`` its smallest), else a code from ``pd.factorize`` (``offset`` 0, ids
    in ``uniques``). Per slot: ``present`` (the item is in the table), ``share`` (its popularity
    share; the shares sum to 1), ``self_information`` (``-log2(share)``, inf for a share of 0)
    and ``tail`` (1.0 for long-tail items, else 0.0).
    """

    codes: np.ndarray
    offset: int
    uniques: np.ndarray | None
    present: np.ndarray
    share: np.ndarray
    self_information: np.ndarray
    tail: np.ndarray
    index: Any = None  # a pandas Index of ``uniques``, to find the slots of other rows' items

    def slots_of(self, items: np.ndarray) -> np.ndarray:
        """The slot of each of ``items`` (ids of this catalog: a shared catalog's lookup)."""
        if self.uniques is None:
            return np.asarray(items, np.int64) - self.offset
        index = self.index if self.index is not None else pd.Index(self.uniques)
        return np.asarray(index.get_indexer(items), np.int64)

    @property
    def n_items(self) -> int:
        """Distinct items in the table."""
        return int(np.count_nonzero(self.present))

    def item_id(self, slot: int) -> object:
        """The id of the item in ``slot``, for messages."""
        item = self.offset + slot if self.uniques is None else self.uniques[slot]
        return item.item() if isinstance(item, np.generic) else item


def catalog(
    items: Any,
    popularity: Any,
    groups: Groups,
    *,
    parallel: bool = True,
    names: tuple[str, str] = ("items", "popularity"),
    tail: tuple[float, str] = (DEFAULTS.tail_share, DEFAULTS.tail_ties),
) -> Catalog:
    """The :class:`Catalog` of one item id per row (input order). ``popularity``: one finite value
    >= 0 per row, summed per item; None: each row counts 1. ``names`` name the two in messages;
    ``tail`` is the long tail's share of the items and its tie rule (see
    :class:`~fastrank.metrics.options.MetricOptions`)."""
    item_array = to_numpy(items, names[0])
    if item_array.shape[0] != groups.n_rows:
        rows = item_array.shape[0]
        raise InputError(f"{names[0]}: {rows} rows, but users has {groups.n_rows}; lengths must match")
    check_ids(item_array, names[0], groups)
    bounds = even_bounds(len(item_array), thread_count(parallel))
    codes, offset, span, uniques = _codes(item_array, bounds, parallel)
    weights = np.empty(0)
    if popularity is not None:
        weights = check_values(popularity, names[1], groups, float32_ok=False, max_value=np.inf,
                               parallel=parallel, why_not_negative="popularity must be >= 0")  # fmt: skip
        largest = float(weights.max()) if len(weights) else 0.0
        if largest > 0:  # a power of two, exact: shares unchanged, and no sum overflows
            weights = np.ldexp(weights, -int(np.frexp(largest)[1]))
    counts = np.zeros((len(bounds) - 1, span), np.int64)
    totals = np.zeros((len(bounds) - 1, span), np.float64)
    inputs = (frozen(codes), frozen(weights))
    run_chunks(
        lambda c, _: kernels.count_items(
            inputs[0], int(bounds[c]), int(bounds[c + 1]), offset, inputs[1], counts[c], totals[c]
        ),
        np.arange(len(bounds)),
        parallel,
    )
    counts, totals = counts.sum(axis=0), totals.sum(axis=0)
    return _with_popularity(groups.take(codes), offset, uniques, counts > 0, totals, names[1], tail)


def listed_catalog(
    codes: np.ndarray,
    uniques: np.ndarray,
    popularity: np.ndarray | None,
    *,
    name: str = "popularity",
    tail: tuple[float, str] = (DEFAULTS.tail_share, DEFAULTS.tail_ties),
) -> Catalog:
    """The :class:`Catalog` of top-N lists over a catalog given apart from them: ``uniques`` its
    item ids (every one present), ``codes`` each listed row's index into them (group order),
    ``popularity`` each item's popularity (finite, >= 0, with a positive total; ``name`` names it
    in messages), or None when only the metrics of exposure alone are asked (every share 0)."""
    present = np.ones(len(uniques), bool)
    if popularity is None:
        zeros = np.zeros(len(uniques))
        return Catalog(codes, 0, uniques, present, zeros, zeros, zeros)
    return _with_popularity(codes, 0, uniques, present, np.asarray(popularity, np.float64), name, tail)


def _with_popularity(
    codes: np.ndarray, offset: int, uniques: Any, present: np.ndarray, totals: np.ndarray, name: str,
    tail: tuple[float, str],
) -> Catalog:  # fmt: skip
    total = totals.sum()
    if not total > 0:
        raise InputError(f"{name}: sums to {total:g}; popularity needs a positive total")
    share = totals / total
    tail_flags = in_tail(share, present, uniques, *tail)
    with np.errstate(divide="ignore"):
        self_information = -np.log2(share)
    return Catalog(codes, offset, uniques, present, share, self_information, tail_flags)


def in_tail(
    share: np.ndarray, present: np.ndarray, uniques: np.ndarray | None, tail_share: float, ties: str
) -> np.ndarray:
    """1.0 for each slot in the long tail, else 0.0: of the n present items, the
    ``max(int(n x tail_share), 1)`` least popular (RecBole's size); items tied with the border
    stay in the head (``ties="head"``) or are taken by item id ascending (``"item"``, RecBole's
    order; slots of unfactorized ids are in id order already)."""
    slots = np.flatnonzero(present)
    size = max(int(len(slots) * tail_share), 1)
    flags = np.zeros(len(share), np.float64)
    if ties == "head":
        at_most = np.searchsorted(
            np.sort(share[slots]), share[slots], side="right"
        )  # items as popular or less
        flags[slots[at_most <= size]] = 1.0
    else:
        by_id = (
            np.arange(len(slots))
            if uniques is None
            else np.argsort(np.argsort(uniques[slots], kind="stable"))
        )
        flags[slots[np.lexsort((by_id, share[slots]))[:size]]] = 1.0
    return flags


def _codes(items: np.ndarray, bounds: np.ndarray, parallel: bool) -> tuple[np.ndarray, int, int, Any]:
    """Each row's item code, the offset of slot 0, the number of slots and, for factorized ids,
    the id of each slot (``bounds``: the rows' chunks)."""
    if items.dtype.kind in "iu" and len(items):
        view = frozen(items.astype(np.int64, copy=False))
        ranges = run_chunks(lambda first, stop: kernels.value_range(view, first, stop), bounds, parallel)
        low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
        # Ids in a dense range index the per-item arrays directly: no renumbering pass.
        if high - low < max(1 << 16, len(items) // 2):
            return view, int(low), int(high - low + 1), None
    codes, uniques = pd.factorize(items)
    return codes.astype(np.int64), 0, len(uniques), np.asarray(uniques)


def exposure_metrics(
    groups: Groups,
    labels: np.ndarray,
    scores: np.ndarray,
    items: Catalog,
    k: int,
    *,
    columns: Sequence[int],
    tie: int,
    min_items: int,
    parallel: bool,
) -> tuple[np.ndarray, dict[str, float]]:
    """The beyond-accuracy metrics at cutoff ``k``: the per-user columns of the exposure kernel
    (users x 3, NaN for users with fewer than ``min_items`` rows; ``columns`` are those asked
    for) and the catalog-wide values by name. Inputs are validated and in group order.
    """
    span = len(items.share)
    # One chunk per thread, so per-item accumulators cost threads x items, not more.
    bounds = group_chunks(groups.offsets, min(groups.n_groups, thread_count(parallel)))
    n_chunks = len(bounds) - 1
    per_user = np.empty((groups.n_groups, 3), np.float64)
    exposure = np.zeros((n_chunks, span), np.float64)
    log_miss = np.zeros((n_chunks, span), np.float64)
    certain = np.zeros((n_chunks, span), np.uint8)
    offsets, data, codes = frozen(groups.offsets), (frozen(labels), frozen(scores)), frozen(items.codes)
    popularity = tuple(frozen(a) for a in (items.share, np.nan_to_num(items.self_information), items.tail))
    max_items = int(groups.sizes.max()) if groups.n_groups else 0

    def chunk(c: int) -> None:
        kernels.grouped_exposure(
            int(bounds[c]), int(bounds[c + 1]), offsets, data, codes, items.offset, k, tie, min_items,
            popularity, max_items, per_user, (exposure[c], log_miss[c], certain[c]),
        )  # fmt: skip

    run_chunks(lambda c, _: chunk(c), np.arange(n_chunks + 1), parallel)  # chunk c holds bounds[c:c + 2]
    exposure = exposure.sum(axis=0)
    # Only a listed item's self-information counts: an item never listed may have no popularity.
    if kernels.NOVELTY in columns:
        _refuse_infinite(items, np.flatnonzero(exposure > 0))
    return per_user, _overall(exposure, log_miss.sum(axis=0), certain.any(axis=0), items)


def _overall(
    exposure: np.ndarray, log_miss: np.ndarray, surely: np.ndarray, items: Catalog
) -> dict[str, float]:
    """The catalog-wide metrics from each slot's expected exposure, its sum of log(1 - p) over the
    lists that may hold it, and whether some list surely holds it."""
    counts = exposure[items.present]
    return {
        # Expected number of items listed at least once: 1 - P(no list holds the item), summed.
        "coverage": float(surely.sum() + (-np.expm1(log_miss[~surely])).sum()) / items.n_items,
        "gini": gini(counts),
        "entropy": entropy(counts),
    }


def _refuse_infinite(items: Catalog, listed_slots: np.ndarray) -> None:
    if not len(listed_slots):
        return
    infinite = np.isinf(items.self_information[listed_slots])
    if infinite.any():
        item = items.item_id(int(listed_slots[np.flatnonzero(infinite)[0]]))
        raise InputError(
            f"novelty: item {item!r} is listed but has a popularity of 0, so its self-information "
            "-log2(0) is infinite; use a popularity with every listed item above 0"
        )


@dataclass(frozen=True)
class Listing:
    """What every user's top-k list holds, for the catalog-wide metrics of lists scored apart (a
    stream's chunks, Dask's partitions): per user its number of entries (``counts``), and per
    entry the item slot and the probability that the list holds it (1.0: surely)."""

    counts: np.ndarray
    slots: np.ndarray
    p: np.ndarray


def concat_listings(parts: Sequence[Listing]) -> Listing:
    """The parts' users one after the other (slots of one shared catalog)."""
    return Listing(
        *(np.concatenate([getattr(part, name) for part in parts]) for name in ("counts", "slots", "p"))
    )


@dataclass(frozen=True)
class Lists:
    """Every user's top-k list, as the rows it may hold: ``rows`` (each user's together, users
    in group order), each one's ``user`` and probability ``p`` of being listed (1.0: surely), and
    per user the ``places`` of its list, ``min(k, n)`` (0: it lists nothing), and where its
    entries start (``offsets``, one more than users)."""

    rows: np.ndarray
    user: np.ndarray
    p: np.ndarray
    places: np.ndarray
    offsets: np.ndarray


def top_lists(
    groups: Groups, labels: np.ndarray, scores: np.ndarray, k: int, *, tie: int, min_items: int,
    parallel: bool, ranked: np.ndarray | None = None,
) -> Lists:  # fmt: skip
    """The :class:`Lists` of ``groups``' top k (``ranked``: only the first ``ranked[g]`` rows of
    group g can be listed, a run's rows before the truth items it missed)."""
    places = np.empty(groups.n_groups, np.int64)
    counts = np.empty(groups.n_groups, np.int64)
    starts = groups.offsets[:-1]
    ends = groups.offsets[1:] if ranked is None else starts + np.asarray(ranked, np.int64)
    bounds, data = (frozen(starts), frozen(ends)), (frozen(labels), frozen(scores))
    max_items = int((ends - starts).max()) if groups.n_groups else 0
    # Entries at their group's first rows (never more than its rows), then packed: O(entries).
    scattered = (np.empty(groups.n_rows, np.int64), np.empty(groups.n_rows, np.float64))
    chunks = group_chunks(groups.offsets, min(groups.n_groups, 4 * thread_count(parallel)))
    run_chunks(
        lambda first, stop: kernels.grouped_listed(
            first, stop, bounds, data, k, tie, min_items, max_items, scattered, counts, places
        ),
        chunks, parallel,
    )  # fmt: skip
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    n = int(offsets[-1])
    packed = (np.empty(n, np.int64), np.empty(n, np.float64), np.empty(n, np.int64))
    inputs = (frozen(starts), frozen(counts), frozen(offsets), tuple(frozen(a) for a in scattered))
    run_chunks(lambda first, stop: kernels.gather_entries(first, stop, *inputs, packed), chunks, parallel)
    rows, p, user = packed
    return Lists(rows, user, p, places, offsets)


def listed(
    groups: Groups, labels: np.ndarray, scores: np.ndarray, items: Catalog, k: int, *, tie: int,
    min_items: int, parallel: bool, columns: Sequence[int] = (), ranked: np.ndarray | None = None,
    slots_of: Any = None,
) -> tuple[np.ndarray, Listing]:  # fmt: skip
    """:func:`exposure_metrics` for part of the users, over a catalog shared by every part: the
    per-user columns (users x 3), and the :class:`Listing` whose union over the parts gives the
    catalog-wide metrics (:func:`listing_values`); ``columns`` are the per-user columns asked for.
    ``ranked`` as :func:`top_lists`; ``slots_of``: the catalog slots of some rows (group order),
    found for the listed rows only, instead of ``items.codes``."""
    lists = top_lists(
        groups, labels, scores, k, tie=tie, min_items=min_items, parallel=parallel, ranked=ranked
    )
    rows, user, p, slots_per_user = lists.rows, lists.user, lists.p, lists.places
    slots = items.codes[rows] - items.offset if slots_of is None else slots_of(rows)
    if kernels.NOVELTY in columns:
        _refuse_infinite(items, slots)
    per_user = np.full((groups.n_groups, 3), np.nan)
    listing = slots_per_user > 0
    for column, per_item in ((kernels.ARP, items.share), (kernels.NOVELTY, items.self_information),
                             (kernels.LONG_TAIL, items.tail)):  # fmt: skip
        sums = np.bincount(user, p * per_item[slots], minlength=groups.n_groups)
        per_user[listing, column] = sums[listing] / slots_per_user[listing]
    return per_user, Listing(np.diff(lists.offsets), slots, p)


def listing_values(listing: Listing, items: Catalog) -> dict[str, float]:
    """The catalog-wide metrics of every part's lists at once (their :class:`Listing` joined)."""
    span = len(items.share)
    exposure = np.bincount(listing.slots, listing.p, minlength=span)
    surely = np.bincount(listing.slots, listing.p == 1.0, minlength=span) > 0
    unsure = listing.p < 1.0
    log_miss = np.bincount(listing.slots[unsure], np.log1p(-listing.p[unsure]), minlength=span)
    return _overall(exposure, log_miss, surely, items)


class ItemCounter:
    """Each item's rows and popularity, added up over the parts of a table read in parts, then
    their shared :class:`Catalog` (:meth:`catalog`). Integer ids in a dense range are counted in
    arrays indexed by id, as the in-memory catalog does (no hashing); others by ``pd.factorize``."""

    def __init__(self) -> None:
        self.dense: list[tuple[int, np.ndarray, np.ndarray]] = []  # (lowest id, counts, totals)
        self.sparse: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (ids, counts, totals)
        self.rows = 0

    def add(self, items: np.ndarray, weights: np.ndarray) -> None:
        """One part's item ids and popularity weights (checked: finite, >= 0)."""
        self.rows += len(items)
        if not len(items):
            return
        if items.dtype.kind in "iu":
            low, high = int(items.min()), int(items.max())
            if high - low < max(1 << 16, 2 * len(items)):
                at = np.asarray(items, np.int64) - low
                self.dense.append((low, np.bincount(at), np.bincount(at, weights)))
                return
        codes, uniques = pd.factorize(items)
        n = len(uniques)
        self.sparse.append(
            (np.asarray(uniques), np.bincount(codes, minlength=n), np.bincount(codes, weights, minlength=n))
        )

    def catalog(self, name: str, tail: tuple[float, str]) -> Catalog:
        """The shared catalog of every item added (rows find their slots with
        :meth:`Catalog.slots_of`); ``name`` names the popularity in messages."""
        if self.dense and not self.sparse:
            low = min(part[0] for part in self.dense)
            high = max(part[0] + len(part[1]) - 1 for part in self.dense)
            if high - low < max(1 << 16, self.rows // 2):
                counts, totals = np.zeros(high - low + 1, np.int64), np.zeros(high - low + 1)
                for first, part_counts, part_totals in self.dense:
                    counts[first - low : first - low + len(part_counts)] += part_counts
                    totals[first - low : first - low + len(part_totals)] += part_totals
                return _with_popularity(
                    np.empty(0, np.int64), low, None, counts > 0, _scaled(totals), name, tail
                )
        parts = list(self.sparse)
        for first, part_counts, part_totals in self.dense:
            present = np.flatnonzero(part_counts)
            parts.append((first + present, part_counts[present], part_totals[present]))
        codes, uniques = pd.factorize(np.concatenate([part[0] for part in parts]))
        counts = np.bincount(codes, np.concatenate([part[1] for part in parts]), minlength=len(uniques))
        totals = np.bincount(codes, np.concatenate([part[2] for part in parts]), minlength=len(uniques))
        ids = np.asarray(uniques)
        base = _with_popularity(np.empty(0, np.int64), 0, ids, counts > 0, _scaled(totals), name, tail)
        return dataclasses.replace(base, index=pd.Index(ids))


def _scaled(totals: np.ndarray) -> np.ndarray:
    """``totals`` scaled by a power of two (exact: shares unchanged) so that no sum overflows."""
    largest = float(totals.max()) if len(totals) else 0.0
    return np.ldexp(totals, -int(np.frexp(largest)[1])) if largest > 0 else totals


def gini(counts: np.ndarray) -> float:
    """Gini index of ``counts`` over every item (0: equal exposure; near 1: a few items take it
    all), RecBole's formula ``sum((2i - n - 1) x_i) / (n sum x)`` over counts sorted ascending,
    ``i = 1..n``. NaN when every count is 0."""
    total = counts.sum()
    if not total > 0:
        return float("nan")
    n = len(counts)
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(((2 * ranks - n - 1) @ np.sort(counts)) / (n * total))


def entropy(counts: np.ndarray) -> float:
    """Shannon entropy, in bits, of the exposure distribution ``counts / counts.sum()``; items
    never listed add nothing. NaN when every count is 0."""
    total = counts.sum()
    if not total > 0:
        return float("nan")
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())
