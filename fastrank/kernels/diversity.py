"""Similarity inside each top-k list, and of each list to the user's history, from unit item
vectors (cosine), as expected values over the orders of a tie the cutoff splits.

A list is given by its entries (:func:`fastrank.kernels.grouped_listed`): per user, the rows it
may hold with their probability ``p`` (1.0: surely; a tie of ``s`` rows with ``t`` places inside
the top k gives each ``t / s``). Two rows of the tie are both listed with probability
``t (t - 1) / (s (s - 1))``, a sure row and a tie row with ``t / s``.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import jit, jit_inline

ILS = 0
ILD = 1
SERENDIPITY = 2
"""Columns of the diversity family's per-user output."""


@jit_inline
def _mean_pair(sure_sq, tied_sq, cross, n_sure, n_tied, m):
    """The expected mean dot product over the pairs of a list of ``m`` places, from the sums of
    its ``n_sure`` sure unit vectors and of the ``n_tied`` vectors of the tie it splits (their
    squared lengths and their dot product): pairs inside the sure set count 1, sure-tie pairs
    ``t / s``, pairs inside the tie ``t (t - 1) / (s (s - 1))`` (``t = m - n_sure`` places of the
    ``s = n_tied`` tied rows)."""
    total = (sure_sq - n_sure) / 2.0
    if n_tied:
        t = m - n_sure
        total += t / n_tied * cross
        if n_tied > 1:
            total += t * (t - 1.0) / (n_tied * (n_tied - 1.0)) * (tied_sq - n_tied) / 2.0
    return total / (m * (m - 1) / 2.0)


@jit
def list_similarity(first, stop, entries, slots, p, places, vectors, out):
    """For users ``first:stop`` (entries ``entries[u]:entries[u + 1]``, item rows ``slots`` of the
    unit ``vectors``, probabilities ``p``, ``places[u] = min(k, n)``): ``out[u]`` the expected
    mean cosine similarity over the pairs of the listed items; NaN for a list of fewer than 2.

    The sums over pairs come from sums of vectors: sum over pairs i < j of u_i . u_j is
    ``(|sum u|^2 - n) / 2`` for n unit vectors, and across two sets ``sum_A u . sum_B u``."""
    d = vectors.shape[1]
    sure = np.empty(d, np.float64)
    tied = np.empty(d, np.float64)
    for u in range(first, stop):
        m = places[u]
        if m < 2:
            out[u] = math.nan
            continue
        sure[:] = 0.0
        tied[:] = 0.0
        n_sure = 0
        n_tied = 0
        for e in range(entries[u], entries[u + 1]):
            row = slots[e]
            if p[e] == 1.0:
                n_sure += 1
                for c in range(d):
                    sure[c] += vectors[row, c]
            else:
                n_tied += 1
                for c in range(d):
                    tied[c] += vectors[row, c]
        sure_sq = 0.0
        tied_sq = 0.0
        cross = 0.0
        for c in range(d):
            sure_sq += sure[c] * sure[c]
            tied_sq += tied[c] * tied[c]
            cross += sure[c] * tied[c]
        out[u] = _mean_pair(sure_sq, tied_sq, cross, n_sure, n_tied, m)


@jit
def history_sums(first, stop, offsets, slots, vectors, out):
    """``out[u]``: the sum of the unit vectors of user u's history items (rows
    ``offsets[u]:offsets[u + 1]`` of ``slots``), users ``first:stop``."""
    d = vectors.shape[1]
    for u in range(first, stop):
        for c in range(d):
            out[u, c] = 0.0
        for i in range(offsets[u], offsets[u + 1]):
            row = slots[i]
            for c in range(d):
                out[u, c] += vectors[row, c]


@jit
def list_serendipity(first, stop, entries, slots, p, relevant, places, vectors, history, history_sizes, out):
    """For users ``first:stop``: ``out[u]`` the expected mean over the ``places[u]`` listed places
    of relevance x (1 - the mean cosine similarity of the item to the user's history items),
    Microsoft Recommenders' definition (``history``: each user's sum of history vectors, of
    ``history_sizes`` items; ``relevant``: 1.0 per relevant entry). NaN without a list or a history."""
    d = vectors.shape[1]
    for u in range(first, stop):
        m = places[u]
        if m < 1 or history_sizes[u] == 0:
            out[u] = math.nan
            continue
        total = 0.0
        for e in range(entries[u], entries[u + 1]):
            if relevant[e] == 0.0:
                continue
            row = slots[e]
            dot = 0.0
            for c in range(d):
                dot += vectors[row, c] * history[u, c]
            total += p[e] * (1.0 - dot / history_sizes[u])
        out[u] = total / m


@jit
def _add_sparse(row, sparse, into, touched, mark, n_touched):
    """``into += vector row`` of the CSR ``sparse``, recording columns not touched before (``mark``);
    the new count of touched columns."""
    indptr, indices, values = sparse
    for e in range(indptr[row], indptr[row + 1]):
        c = indices[e]
        if mark[c] == 0:
            mark[c] = 1
            touched[n_touched] = c
            n_touched += 1
        into[c] += values[e]
    return n_touched


@jit
def list_similarity_sparse(first, stop, entries, slots, p, places, sparse, scratch, out):
    """:func:`list_similarity` over sparse unit vectors ``sparse = (indptr, indices, values)``
    (CSR rows, e.g. an item's users in co-occurrence). ``scratch``: two zeroed float64 arrays and
    a zeroed int8 mark array of the vectors' width, and an int64 array as wide for the touched
    columns. Cost per user: the nonzeros of its listed items."""
    sure, tied, mark, touched = scratch
    for u in range(first, stop):
        m = places[u]
        if m < 2:
            out[u] = math.nan
            continue
        n_sure = 0
        n_tied = 0
        n_touched = 0
        for e in range(entries[u], entries[u + 1]):
            if p[e] == 1.0:
                n_sure += 1
                n_touched = _add_sparse(slots[e], sparse, sure, touched, mark, n_touched)
            else:
                n_tied += 1
                n_touched = _add_sparse(slots[e], sparse, tied, touched, mark, n_touched)
        sure_sq = 0.0
        tied_sq = 0.0
        cross = 0.0
        for t_i in range(n_touched):
            c = touched[t_i]
            sure_sq += sure[c] * sure[c]
            tied_sq += tied[c] * tied[c]
            cross += sure[c] * tied[c]
            sure[c] = 0.0
            tied[c] = 0.0
            mark[c] = 0
        out[u] = _mean_pair(sure_sq, tied_sq, cross, n_sure, n_tied, m)


@jit
def list_serendipity_sparse(
    first, stop, entries, slots, p, relevant, places, sparse, history_offsets, history_rows, scratch, out
):
    """:func:`list_serendipity` over sparse unit vectors (see :func:`list_similarity_sparse`;
    ``scratch``: a zeroed float64 array, a zeroed int8 mark array and an int64 array of the
    vectors' width): each user's history vector summed, then dotted with each relevant listed
    item's."""
    indptr, indices, values = sparse
    summed, mark, touched = scratch
    for u in range(first, stop):
        m = places[u]
        n_history = history_offsets[u + 1] - history_offsets[u]
        if m < 1 or n_history == 0:
            out[u] = math.nan
            continue
        n_touched = 0
        for h in range(history_offsets[u], history_offsets[u + 1]):
            n_touched = _add_sparse(history_rows[h], sparse, summed, touched, mark, n_touched)
        total = 0.0
        for e in range(entries[u], entries[u + 1]):
            if relevant[e] == 0.0:
                continue
            row = slots[e]
            dot = 0.0
            for j in range(indptr[row], indptr[row + 1]):
                dot += values[j] * summed[indices[j]]
            total += p[e] * (1.0 - dot / n_history)
        for t_i in range(n_touched):
            summed[touched[t_i]] = 0.0
            mark[touched[t_i]] = 0
        out[u] = total / m
