"""Intervals from replicates: coverage on known distributions, determinism, the hierarchical scheme."""

import numpy as np
import pytest

from scalinglab.intervals import bootstrap_interval, hierarchical_bootstrap, percentile_interval, t_interval


def test_percentile_interval_ignores_nans():
    lo, hi = percentile_interval([np.nan, *range(101)])
    assert lo == pytest.approx(2.5) and hi == pytest.approx(97.5)


def test_bootstrap_of_a_mean_covers_the_truth_and_is_deterministic():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(100):
        x = rng.normal(1.0, 1.0, 50)
        lo, hi = bootstrap_interval(np.mean, x, n_resamples=400, seed=1)
        covered += lo <= 1.0 <= hi
    assert 88 <= covered <= 99  # about 95 %
    x = rng.normal(size=20)
    assert bootstrap_interval(np.mean, x, seed=3) == bootstrap_interval(np.mean, x, seed=3)


def test_hierarchical_bootstrap_is_wider_than_pooling_when_seeds_differ():
    rng = np.random.default_rng(0)
    # five seeds whose means differ (seed-to-seed noise), 200 test items each
    groups = [rng.normal(mu, 1.0, 200) for mu in rng.normal(0.0, 0.5, 5)]

    def grand_mean(gs):
        return float(np.mean([g.mean() for g in gs]))

    lo_h, hi_h = hierarchical_bootstrap(grand_mean, groups, n_resamples=500, seed=0)
    lo_p, hi_p = bootstrap_interval(np.mean, np.concatenate(groups), n_resamples=500, seed=0)
    assert hi_h - lo_h > 3 * (hi_p - lo_p)
    with pytest.raises(ValueError):
        hierarchical_bootstrap(grand_mean, [[]])


def test_t_interval_matches_the_formula():
    from scipy import stats

    v = np.array([1.0, 2.0, 4.0])
    lo, hi = t_interval(v)
    half = stats.t.ppf(0.975, 2) * v.std(ddof=1) / np.sqrt(3)
    assert (lo, hi) == pytest.approx((v.mean() - half, v.mean() + half))
    assert np.isnan(t_interval([1.0])[0])
