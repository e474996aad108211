"""Fixed-horizon statistics: two proportions, Welch's t for revenue, Holm, sample-ratio checks.

Every function takes NumPy arrays (or numbers) and broadcasts, so the same code answers one
comparison on the dashboard and a thousand simulated experiments at once in the tests.

These tests are valid once, at a sample size fixed in advance. Looked at after every batch,
their false positives pile up (the simulation test prints by how much); the always-valid
counterpart is `sequential.py`.

References:
- two proportions: the pooled z-test for the p-value and the unpooled (Wald) interval for the
  difference, as in Agresti, *Categorical Data Analysis* (3rd ed., 2013), §3.1.
- Welch, "The generalization of Student's problem when several different population
  variances are involved", Biometrika 34 (1947), with the Welch–Satterthwaite degrees of
  freedom.
- Holm, "A simple sequentially rejective multiple test procedure", Scandinavian Journal of
  Statistics 6 (1979).
- Sample ratio mismatch: Pearson's χ² goodness-of-fit of the recipients per variant to the
  designed weights; Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online Controlled
  Experiments", KDD 2019, for why a tiny p-value (we flag below 0.001) invalidates a result.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Array = NDArray[np.float64]


class FixedResult(NamedTuple):
    """A comparison of treatment against control: the difference of means (treatment minus
    control), its standard error, the p-value and the (1 - alpha) interval."""

    difference: Array
    std_error: Array
    p_value: Array
    low: Array
    high: Array


def floats(x: ArrayLike) -> Array:
    """`x` as an array of float64 (numbers, lists and arrays alike)."""
    return np.asarray(x, dtype=np.float64)


def two_proportions(
    x_control: ArrayLike,
    n_control: ArrayLike,
    x_treatment: ArrayLike,
    n_treatment: ArrayLike,
    alpha: float = 0.05,
) -> FixedResult:
    """z-test of two proportions x/n. Where a side has no one, or nobody differs from anyone
    (all 0 or all 1), the p-value is 1 and the interval is NaN: there is nothing to test."""
    xc, nc, xt, nt = floats(x_control), floats(n_control), floats(x_treatment), floats(n_treatment)
    with np.errstate(divide="ignore", invalid="ignore"):
        pc, pt = xc / nc, xt / nt
        pooled = (xc + xt) / (nc + nt)
        se_pooled = np.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nt))
        z = (pt - pc) / se_pooled
        valid = (nc > 0) & (nt > 0) & (se_pooled > 0)
        p_value = np.where(valid, 2 * stats.norm.sf(np.abs(z)), 1.0)
        se = np.sqrt(pc * (1 - pc) / nc + pt * (1 - pt) / nt)
    half = stats.norm.isf(alpha / 2) * se
    diff = pt - pc
    return FixedResult(diff, se, p_value, diff - half, diff + half)


def welch(
    mean_control: ArrayLike,
    var_control: ArrayLike,
    n_control: ArrayLike,
    mean_treatment: ArrayLike,
    var_treatment: ArrayLike,
    n_treatment: ArrayLike,
    alpha: float = 0.05,
) -> FixedResult:
    """Welch's t-test of two means from their sample means, sample variances (ddof=1) and
    sizes. Revenue per recipient is heavy-tailed and mostly zero, but with hundreds of
    recipients per variant the mean is close enough to normal for this test."""
    mc, vc, nc = floats(mean_control), floats(var_control), floats(n_control)
    mt, vt, nt = floats(mean_treatment), floats(var_treatment), floats(n_treatment)
    with np.errstate(divide="ignore", invalid="ignore"):
        ac, at = vc / nc, vt / nt
        se = np.sqrt(ac + at)
        df = (ac + at) ** 2 / (ac**2 / (nc - 1) + at**2 / (nt - 1))
        t = (mt - mc) / se
        valid = (nc > 1) & (nt > 1) & (se > 0) & (df > 0)
        p_value = np.where(valid, 2 * stats.t.sf(np.abs(t), np.where(valid, df, 1.0)), 1.0)
        half = np.where(valid, stats.t.isf(alpha / 2, np.where(valid, df, 1.0)), np.nan) * se
    diff = mt - mc
    return FixedResult(diff, se, p_value, diff - half, diff + half)


def holm(p_values: ArrayLike) -> Array:
    """Holm's step-down adjusted p-values (family-wise error at any alpha, whatever the
    dependence between the tests): reject the i-th where its adjusted value <= alpha."""
    p = floats(p_values)
    if p.size == 0:
        return p
    order = np.argsort(p, kind="stable")
    m = p.size
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def sample_ratio_p_value(observed: ArrayLike, expected: ArrayLike) -> float:
    """p-value of Pearson's χ² test that the recipients per variant follow the expected
    counts (or weights: only their proportions matter). A tiny value (below
    `experiments.srm_threshold`, 0.001 by default) means the assignment or the logging is
    broken, and no verdict from the experiment can be trusted."""
    counts = floats(observed)
    shares = floats(expected) / floats(expected).sum()
    total = counts.sum()
    if total == 0 or counts.size < 2:
        return 1.0
    wanted = shares * total
    keep = wanted > 0
    if np.any(counts[~keep] > 0):
        return 0.0  # people in a variant designed to get nobody
    statistic = float((((counts - wanted) ** 2)[keep] / wanted[keep]).sum())
    return float(stats.chi2.sf(statistic, int(keep.sum()) - 1))


def wilson(x: ArrayLike, n: ArrayLike, alpha: float = 0.05) -> tuple[Array, Array]:
    """Wilson's score interval for a proportion x/n (NaN where n is 0): unlike the plain
    normal interval it stays inside [0, 1] and is honest for rare events such as clicks.
    Wilson, "Probable inference, the law of succession, and statistical inference", JASA 22
    (1927)."""
    xs, ns = floats(x), floats(n)
    z = float(stats.norm.isf(alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = xs / ns
        centre = (p + z**2 / (2 * ns)) / (1 + z**2 / ns)
        half = z * np.sqrt(p * (1 - p) / ns + z**2 / (4 * ns**2)) / (1 + z**2 / ns)
    return centre - half, centre + half
