"""Confidence for per-user metrics: user-level bootstrap intervals, paired tests, Holm correction.

Every function takes per-user values (NaN = user not evaluated) and resamples *users*, since users,
not rows, are the independent units of a recommender evaluation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..arrays.checks import check_choice, check_int, check_number
from ..arrays.threads import even_bounds, frozen, run_chunks, thread_count
from ..errors import InputError

METHODS = ("percentile", "bca")


MAX_RESAMPLES = 10_000_000
"""The most resamples: past it intervals and p-values no longer move, and the resamples x columns
matrix of bootstrap means (8 bytes a cell) would outgrow memory."""
MAX_SEED = 2**63 - 2  # the sign-flip test draws from seed + 1, an int64 too


def check_options(n_resamples: int, seed: int, confidence: float, method: str) -> None:
    """Raise :class:`~fastrank.InputError` for resampling options out of range."""
    check_int(n_resamples, "n_resamples", high=MAX_RESAMPLES)
    check_int(seed, "seed", low=0, high=MAX_SEED)
    confidence = check_number(confidence, "confidence")
    if not 0 < confidence < 1:
        raise InputError(f"The 'confidence' parameter must be in (0, 1). Got {confidence!r} instead.")
    check_choice(method, "method", METHODS)


def _check_memory(n_resamples: int, n_columns: int) -> None:
    # The bootstrap keeps every resample's mean: n_resamples x n_columns float64.
    need = 8 * n_resamples * n_columns
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: no check
        return
    if need > available // 2:
        fits = max(1, available // 2 // (8 * n_columns))
        raise InputError(
            f"The 'n_resamples' parameter: {n_resamples:,} resamples x {n_columns:,} columns need "
            f"{need / 2**30:.1f} GiB, more than half the {available / 2**30:.1f} GiB of memory available; "
            f"use at most {fits:,}"
        )


def bootstrap_intervals(
    values: np.ndarray,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    method: str = "percentile",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of each column of ``values`` (users x columns, NaN ignored) with a bootstrap interval.

    Users are resampled with replacement, the same draws for every column; ``method`` is the
    percentile interval or BCa (bias-corrected and accelerated, as ``scipy.stats.bootstrap``).
    Returns ``(mean, low, high)``; NaN for a column without any value. Same seed, same interval.
    """
    check_options(n_resamples, seed, confidence, method)
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    _check_memory(n_resamples, values.shape[1])
    means = np.empty((n_resamples, values.shape[1]))
    frozen_values = frozen(values)
    run_chunks(
        lambda first, stop: kernels.bootstrap_means(first, stop, frozen_values, int(seed), means),
        even_bounds(n_resamples, 4 * thread_count()),
    )
    kept = (~np.isnan(values)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # a column without values: NaN, no warning
        mean = np.where(kept > 0, np.nansum(values, axis=0) / kept, np.nan)
    alpha = (1 - confidence) / 2
    low = np.full(values.shape[1], np.nan)
    high = np.full(values.shape[1], np.nan)
    for c in range(values.shape[1]):
        column = values[:, c]
        column = column[~np.isnan(column)]
        resampled = means[:, c][~np.isnan(means[:, c])]
        if not column.size or not resampled.size:
            continue
        if method == "bca":
            lo_q, hi_q = _bca_quantiles(column, resampled, mean[c], alpha)
        else:
            lo_q, hi_q = alpha, 1 - alpha
        low[c], high[c] = np.percentile(resampled, [100 * lo_q, 100 * hi_q])
    return mean, low, high


def _bca_quantiles(
    column: np.ndarray, resampled: np.ndarray, estimate: float, alpha: float
) -> tuple[float, float]:
    from scipy import special

    # Efron's BCa, as scipy.stats.bootstrap computes it: bias from the share of resampled means
    # below the estimate, acceleration from the jackknife (closed form for the mean).
    share = ((resampled < estimate).sum() + (resampled <= estimate).sum()) / (2 * resampled.size)
    z0 = special.ndtri(share)
    n = column.size
    if n < 2:
        return alpha, 1 - alpha
    jack = (column.sum() - column) / (n - 1)
    spread = jack.mean() - jack
    denominator = 6.0 * (spread**2).sum() ** 1.5
    accel = (spread**3).sum() / denominator if denominator > 0 else 0.0
    quantiles = []
    for z in (special.ndtri(alpha), special.ndtri(1 - alpha)):
        shifted = z0 + z
        quantiles.append(float(special.ndtr(z0 + shifted / (1 - accel * shifted))))
    if not all(np.isfinite(quantiles)):  # degenerate resamples (e.g. all equal): no correction
        return alpha, 1 - alpha
    return quantiles[0], quantiles[1]


@dataclass(frozen=True)
class Paired:
    """A source against a reference over the users evaluated for both.

    ``mean_diff`` is the mean per-user difference (source - reference) with its bootstrap
    interval ``[low, high]``; ``p_randomization`` a two-sided paired sign-flip test, ``p_ttest`` the
    paired t-test (``scipy.stats.ttest_rel``); ``effect_size`` Cohen's d_z = mean / sd of the
    differences; ``wins``, ``ties``, ``losses`` count users where the source is higher, equal, lower.
    ``p_randomization_at_floor``: no resample was as extreme as the observed difference, so
    ``p_randomization`` is the test's resolution, ``2 / (n_resamples + 1)``, and the true p-value
    may be smaller. ``mde``: the minimum detectable effect, the smallest true mean difference the
    paired t-test at alpha = 1 - confidence (two-sided) detects with 80% power on these users:
    ``(t(1 - alpha / 2) + t(0.8)) x sd / sqrt(n)``, t with n - 1 degrees of freedom (NaN for
    fewer than 2 users).
    """

    mean_diff: float
    low: float
    high: float
    p_randomization: float
    p_ttest: float
    effect_size: float
    wins: int
    ties: int
    losses: int
    users: int
    p_randomization_at_floor: bool = False
    mde: float = float("nan")


def paired(
    values: np.ndarray,
    reference: np.ndarray,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    method: str = "percentile",
) -> Paired:
    """Compare per-user ``values`` with per-user ``reference`` (same users, same order)."""
    check_options(n_resamples, seed, confidence, method)
    both = ~(np.isnan(values) | np.isnan(reference))
    d = np.asarray(values, np.float64)[both] - np.asarray(reference, np.float64)[both]
    n = d.size
    if n == 0:
        nan = float("nan")
        return Paired(nan, nan, nan, nan, nan, nan, 0, 0, 0, 0)
    _, low, high = bootstrap_intervals(
        d, n_resamples=n_resamples, seed=seed, confidence=confidence, method=method
    )
    observed = float(d.mean())
    # Floating-point slack when comparing resampled means with the observed one, as scipy does.
    tolerance = 1e-14 * max(1.0, abs(observed)) + 1e-15
    d = frozen(d)
    counts = run_chunks(
        lambda first, stop: kernels.sign_flip_counts(first, stop, d, int(seed) + 1, observed, tolerance),
        even_bounds(n_resamples, 4 * thread_count()),
    )
    less, greater = (sum(part) for part in zip(*counts, strict=True))
    p_randomization = min(1.0, 2 * min((less + 1) / (n_resamples + 1), (greater + 1) / (n_resamples + 1)))
    sd = float(d.std(ddof=1)) if n > 1 else 0.0
    if sd == 0.0:
        # Constant differences: all zero is no evidence of any difference; otherwise certain.
        p_ttest = 1.0 if observed == 0.0 else 0.0
        effect = 0.0 if observed == 0.0 else float(np.sign(observed) * np.inf)
    else:
        from scipy import special

        t = observed / (sd / np.sqrt(n))
        p_ttest = float(2 * special.stdtr(n - 1, -abs(t)))
        effect = observed / sd
    return Paired(
        mde=minimum_detectable_effect(sd, n, confidence),
        mean_diff=observed,
        low=float(low[0]),
        high=float(high[0]),
        p_randomization=float(p_randomization),
        p_ttest=p_ttest,
        effect_size=effect,
        wins=int((d > 0).sum()),
        ties=int((d == 0).sum()),
        losses=int((d < 0).sum()),
        users=n,
        p_randomization_at_floor=min(less, greater) == 0,
    )


POWER = 0.8
"""The power at which :func:`minimum_detectable_effect` is stated."""


def minimum_detectable_effect(sd: float, n: int, confidence: float, power: float = POWER) -> float:
    """The smallest true mean of ``n`` paired differences of standard deviation ``sd`` that a
    two-sided paired t-test at alpha = 1 - ``confidence`` detects with probability ``power``:
    ``(t(1 - alpha / 2) + t(power)) x sd / sqrt(n)``, t quantiles with n - 1 degrees of freedom.
    NaN for fewer than 2 differences."""
    if n < 2:
        return float("nan")
    from scipy import special

    alpha = 1.0 - confidence
    quantiles = special.stdtrit(n - 1, 1.0 - alpha / 2) + special.stdtrit(n - 1, power)
    return float(quantiles * sd / np.sqrt(n))


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), NaN kept as NaN."""
    p = np.asarray(pvalues, np.float64)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = order.size
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted
