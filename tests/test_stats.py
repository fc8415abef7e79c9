"""Intervals and tests against scipy, within Monte Carlo tolerance, and their invariants."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from fastrank import InputError
from fastrank.compare.stats import POWER, bootstrap_intervals, holm, minimum_detectable_effect, paired

RNG = np.random.default_rng(7)
SKEWED = RNG.beta(0.7, 1.5, 300)  # per-user NDCG-like values in [0, 1]


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_interval_agrees_with_scipy(method):
    mean, low, high = bootstrap_intervals(SKEWED, n_resamples=20_000, seed=1, method=method)
    want = sps.bootstrap(
        (SKEWED,), np.mean, n_resamples=20_000, method=method, random_state=2
    ).confidence_interval
    se = SKEWED.std(ddof=1) / np.sqrt(SKEWED.size)
    assert mean[0] == pytest.approx(SKEWED.mean())
    # Two independent Monte Carlo estimates of the same quantiles: allow a few percent of a SE.
    assert low[0] == pytest.approx(want.low, abs=0.06 * se)
    assert high[0] == pytest.approx(want.high, abs=0.06 * se)


def test_bootstrap_is_seeded_and_ignores_nan_per_column():
    values = np.column_stack([SKEWED, np.where(np.arange(300) % 3 == 0, np.nan, SKEWED)])
    a = bootstrap_intervals(values, n_resamples=2000, seed=5)
    b = bootstrap_intervals(values, n_resamples=2000, seed=5)
    c = bootstrap_intervals(values, n_resamples=2000, seed=6)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])
    assert a[0][1] == pytest.approx(np.nanmean(values[:, 1]))
    assert a[1][1] < a[0][1] < a[2][1]


def test_paired_tests_agree_with_scipy():
    reference = SKEWED
    source = np.clip(reference + RNG.normal(0.01, 0.08, reference.size), 0, 1)
    got = paired(source, reference, n_resamples=20_000, seed=3)
    d = source - reference
    t = sps.ttest_rel(source, reference)
    assert got.p_ttest == pytest.approx(t.pvalue, rel=1e-9)
    perm = sps.permutation_test(
        (source, reference), lambda x, y: np.mean(x - y), permutation_type="samples",
        n_resamples=20_000, random_state=4,
    )  # fmt: skip
    assert got.p_randomization == pytest.approx(perm.pvalue, abs=0.01)
    ci = sps.bootstrap((d,), np.mean, n_resamples=20_000, random_state=5).confidence_interval
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert got.low == pytest.approx(ci.low, abs=0.06 * se) and got.high == pytest.approx(
        ci.high, abs=0.06 * se
    )
    assert got.mean_diff == pytest.approx(d.mean())
    assert got.effect_size == pytest.approx(d.mean() / d.std(ddof=1))
    assert (got.wins, got.ties, got.losses) == ((d > 0).sum(), (d == 0).sum(), (d < 0).sum())


def test_a_source_compared_with_itself():
    got = paired(SKEWED, SKEWED, n_resamples=1000)
    assert got.p_randomization == 1.0 and got.p_ttest == 1.0
    assert got.mean_diff == got.low == got.high == 0.0
    assert got.ties == SKEWED.size and got.wins == got.losses == 0


def test_a_clearly_better_source():
    better = np.clip(SKEWED + 0.05 + RNG.normal(0, 0.02, SKEWED.size), 0, 1)
    got = paired(better, SKEWED, n_resamples=5000)
    assert got.p_randomization < 0.01 and got.p_ttest < 0.01
    assert got.low > 0


def test_paired_uses_users_evaluated_for_both():
    a = np.array([0.5, np.nan, 0.7, 0.2])
    b = np.array([0.4, 0.3, np.nan, 0.1])
    got = paired(a, b, n_resamples=100)
    assert got.users == 2 and got.mean_diff == pytest.approx(0.1)


def test_holm_matches_a_hand_computation():
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    # sorted: 0.01*4=0.04, 0.03*3=0.09, 0.04*2=0.08 -> max(0.09, 0.08)=0.09, 0.20*1=0.20
    np.testing.assert_allclose(holm(p), [0.04, 0.09, 0.09, 0.20, np.nan])
    np.testing.assert_allclose(holm(np.array([0.5, 0.6])), [1.0, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_resamples": 0}, "n_resamples"),
        ({"confidence": 1.0}, "confidence"),
        ({"method": "basic"}, "method"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(InputError, match=match):
        bootstrap_intervals(SKEWED, **kwargs)


def test_a_clearly_better_source_gets_the_sign_flip_floor_never_zero():
    """p = 2 / (resamples + 1) when no resample is as extreme as the observed difference (the +1
    counts the observed assignment itself, as scipy's permutation_test does)."""
    rng = np.random.default_rng(3)
    reference = rng.random(200)
    for n_resamples in (19, 99):
        got = paired(reference + 1.0, reference, n_resamples=n_resamples, seed=1)
        assert got.p_randomization == 2 / (n_resamples + 1) and got.p_randomization_at_floor


@pytest.mark.parametrize(("n", "confidence"), [(40, 0.95), (400, 0.95), (150, 0.9)])
def test_the_minimum_detectable_effect_is_detected_four_times_in_five(n, confidence):
    """A shift of the minimum detectable effect, planted in normal differences of the same spread,
    is significant in about 80% of simulated studies (paired t-test at alpha = 1 - confidence)."""
    rng = np.random.default_rng(n)
    sd = 0.3
    mde = minimum_detectable_effect(sd, n, confidence)
    studies = rng.normal(mde, sd, size=(20_000, n))
    p = sps.ttest_1samp(studies, 0.0, axis=1).pvalue
    assert np.mean(p < 1 - confidence) == pytest.approx(POWER, abs=0.015)
    # What paired() reports is that formula on the differences' own spread.
    d = rng.normal(0.0, sd, n)
    got = paired(d, np.zeros(n), n_resamples=200, confidence=confidence)
    assert got.mde == pytest.approx(minimum_detectable_effect(float(d.std(ddof=1)), n, confidence), rel=1e-12)
    assert np.isnan(minimum_detectable_effect(sd, 1, confidence))
