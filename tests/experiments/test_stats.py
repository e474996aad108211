"""Fixed-horizon statistics against their textbook answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pertinent.experiments.stats import holm, sample_ratio_p_value, two_proportions, welch


def test_two_proportions_matches_the_z_test_by_hand() -> None:
    test = two_proportions(200, 1000, 250, 1000)
    pooled = 450 / 2000
    z = 0.05 / np.sqrt(pooled * (1 - pooled) * 2 / 1000)
    assert float(test.difference) == pytest.approx(0.05)
    assert float(test.p_value) == pytest.approx(2 * stats.norm.sf(z))
    se = np.sqrt(0.2 * 0.8 / 1000 + 0.25 * 0.75 / 1000)
    assert float(test.low) == pytest.approx(0.05 - 1.959964 * se, rel=1e-5)
    assert float(test.high) == pytest.approx(0.05 + 1.959964 * se, rel=1e-5)


def test_nothing_to_test_is_a_p_value_of_one() -> None:
    assert float(two_proportions(0, 100, 0, 100).p_value) == 1.0
    assert float(two_proportions(0, 0, 3, 10).p_value) == 1.0
    assert np.isnan(float(welch(0, 0, 1, 0, 0, 1).low))


def test_welch_matches_scipy_on_revenue_like_data() -> None:
    rng = np.random.default_rng(3)
    a = np.where(rng.random(800) < 0.05, rng.lognormal(3.5, 1.0, 800), 0.0)
    b = np.where(rng.random(900) < 0.07, rng.lognormal(3.5, 1.0, 900), 0.0)
    ours = welch(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size)
    theirs = stats.ttest_ind(b, a, equal_var=False)
    assert float(ours.p_value) == pytest.approx(theirs.pvalue)
    low, high = theirs.confidence_interval(0.95)
    assert (float(ours.low), float(ours.high)) == pytest.approx((low, high))


def test_holm_adjusts_step_down() -> None:
    adjusted = holm([0.01, 0.04, 0.03])
    assert adjusted.tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]).tolist() == pytest.approx([1.0, 1.0])
    assert holm([]).size == 0


def test_sample_ratio_mismatch_is_flagged_only_when_real() -> None:
    assert sample_ratio_p_value([5000, 5000], [1, 1]) > 0.5
    assert sample_ratio_p_value([5000, 4600], [1, 1]) < 0.001
    assert sample_ratio_p_value([6000, 4000], [60, 40]) > 0.5
    assert sample_ratio_p_value([10, 3], [1, 0]) == 0.0
