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

from .jit import jit

ILS = 0
ILD = 1
SERENDIPITY = 2
"""Columns of the diversity family's per-user output."""


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
        total = (sure_sq - n_sure) / 2.0
        if n_tied:
            t = m - n_sure  # places of the tie inside the top k
            total += t / n_tied * cross
            if n_tied > 1:
                total += t * (t - 1.0) / (n_tied * (n_tied - 1.0)) * (tied_sq - n_tied) / 2.0
        out[u] = total / (m * (m - 1) / 2.0)


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
