from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# 50 examples a property per run: the mutations tried on the kernels were caught well below that.
# FASTRANK_HYPOTHESIS=thorough runs 1,000 for a deeper search (minutes, not for every change).
settings.register_profile(
    "fastrank",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("thorough", settings.get_profile("fastrank"), max_examples=1_000)
settings.load_profile(os.environ.get("FASTRANK_HYPOTHESIS", "fastrank"))


SKLEARN_EXPONENTIAL_LABEL = 62.0
"""The largest label whose exponential gain 2**label - 1 scikit-learn's ``ndcg_score`` takes:
its ``type_of_target`` casts the gains to int64, which warns (an error under this suite's
filterwarnings) from 2**63 on."""


@st.composite
def grouped_data(draw, max_size=500, max_groups=12, integer_labels=None, tied=None, max_label=None):
    """Users, labels and scores for a random group layout, with rows interleaved or not.

    Scores come from a handful of values (heavy ties) or are all distinct; labels are integer
    grades or heavy-tailed reals, with zeros, capped at ``max_label`` when given (the domain of
    an oracle: see :data:`SKLEARN_EXPONENTIAL_LABEL`).
    """
    sizes = draw(
        st.lists(st.one_of(st.integers(1, 12), st.integers(1, max_size)), min_size=1, max_size=max_groups)
    )
    seed = draw(st.integers(0, 2**32 - 1))
    if integer_labels is None:
        integer_labels = draw(st.booleans())
    if tied is None:
        tied = draw(st.booleans())
    n_values = draw(st.sampled_from([1, 2, 3, 5]))
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    users = np.repeat(rng.choice(10_000, size=len(sizes), replace=False), sizes)
    if integer_labels:
        labels = rng.integers(0, 4, n).astype(np.float64)
    else:
        labels = np.where(rng.random(n) < 0.3, 0.0, rng.lognormal(-0.3, 1.0, n))
    if max_label is not None:
        labels = np.minimum(labels, max_label)
    if tied:
        scores = rng.integers(0, n_values, n).astype(np.float64) / 4
    else:
        scores = rng.permutation(n).astype(np.float64) / n
    return users, labels, scores


def per_user(users, *columns):
    """Yield (user, column slices) for each user, in order of first appearance."""
    _, first = np.unique(users, return_index=True)
    for user in users[np.sort(first)]:
        rows = users == user
        yield user, [c[rows] for c in columns]
