"""How every metric is scored, as one frozen record, each default declared once: the entry points
(:func:`fastrank.evaluate`, :func:`fastrank.evaluate_run`, :func:`fastrank.ranking_metrics`, the
Keras callback and :func:`fastrank.compare`) take its fields as keywords, build it, and check it
here."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import kernels
from ..arrays.checks import check_choice, check_int, check_number
from ..errors import InputError
from .registry import TABLE_TIES

GAIN_CODES = {"linear": kernels.LINEAR, "exponential": kernels.EXPONENTIAL, "binary": kernels.BINARY}
"""DCG's gain of a label, by name, and its code in the kernels: the label (trec_eval), ``2**label -
1`` (Burges et al.; RecBole, TorchMetrics), or 1 for a relevant label (``label >= threshold``), 0
otherwise."""
GAINS = tuple(GAIN_CODES)
NO_RELEVANT = ("zero", "skip")
"""A user with nothing relevant: 0 (as scikit-learn), or left out (NaN)."""


GAUC_WEIGHTS = {
    "rows": "its rows (impressions, as DIN's paper weighs)",
    "users": "1 (the plain mean of the users' AUC)",
    "positives": "its relevant rows (RecBole's GAUC)",
}
"""GAUC's named weights of a user; any other value is a weight column (or array) summed per user."""

TAIL_TIES = {
    "head": "items tied with the tail's last item stay in the head, so the tail may hold fewer",
    "item": "ties broken by item id, ascending: the tail holds exactly that many (RecBole's TailPercentage)",
}
"""How the long tail's border splits items of equal popularity."""


def check_gain(gain: Any) -> str | tuple[tuple[float, float], ...]:
    """A gain's name (:data:`GAINS`), or a mapping of label to gain as sorted (label, gain) pairs,
    each finite and the gains >= 0."""
    if not isinstance(gain, Mapping):
        return check_choice(gain, "gain", GAINS)
    pairs = []
    for level, value in gain.items():
        level, value = check_number(level, "gain"), check_number(value, "gain")
        if value < 0:
            raise InputError(f"gain: label {level:g} has gain {value:g}; gains must be >= 0")
        pairs.append((level, value))
    if not pairs:
        raise InputError("gain: the mapping of label to gain is empty; give a gain for each label")
    return tuple(sorted(pairs))


@dataclass(frozen=True)
class MetricOptions:
    """``threshold``: a row is relevant when ``label >= threshold`` (the binary metrics, AUC);
    ``ties``: tied scores averaged over their orders, or ordered worst- or best-first; ``gain``:
    :data:`GAINS`; ``min_items``: users with fewer rows are left out; ``no_relevant``:
    :data:`NO_RELEVANT`; ``max_grade``: the top of the relevance scale, for ERR's stop probability
    (2^label - 1) / 2^max_grade (None: the largest label of the data); ``tail_share``: the long
    tail is the ``max(int(n x tail_share), 1)`` least popular of the catalog's n items, its border
    split as ``tail_ties`` (:data:`TAIL_TIES`) says."""

    threshold: float = 1.0
    ties: str = "average"
    gain: str = "linear"
    min_items: int = 2
    no_relevant: str = "zero"
    max_grade: float | None = None
    tail_share: float = 0.8
    tail_ties: str = "head"

    def checked(self, ties: Sequence[str] = TABLE_TIES) -> MetricOptions:
        """The options checked (``ties``: the tie rules the caller takes), as plain numbers."""
        checked = dataclasses.replace(
            self,
            threshold=check_number(self.threshold, "threshold"),
            ties=check_choice(self.ties, "ties", ties),
            gain=check_gain(self.gain),
            min_items=check_int(self.min_items, "min_items"),
            no_relevant=check_choice(self.no_relevant, "no_relevant", NO_RELEVANT),
            max_grade=None if self.max_grade is None else check_number(self.max_grade, "max_grade"),
            tail_share=check_number(self.tail_share, "tail_share"),
            tail_ties=check_choice(self.tail_ties, "tail_ties", TAIL_TIES),
        )
        if not 0 < checked.tail_share <= 1:
            raise InputError(
                f"The 'tail_share' parameter must be above 0 and at most 1 (the long tail's share of the "
                f"catalog). Got {self.tail_share!r} instead."
            )
        if checked.gain == "binary" and checked.threshold <= 0:
            raise InputError(
                f"gain='binary' needs a threshold > 0 (every label >= 0 would be relevant, every "
                f"gain 1). Got threshold={checked.threshold} instead."
            )
        return checked


DEFAULTS = MetricOptions()
"""The defaults every entry point shares."""
DEFAULT_K = 10
"""The cutoff of every entry point that is given none."""
