"""Always-valid inference: p-values and confidence sequences that may be watched every batch.

A fixed-horizon test is valid at one look. A marketer watching the dashboard every hour
makes a hundred looks, and the chance that one of them crosses 0.05 by luck alone is far
above 5 % (the simulation test measures it). The mixture sequential probability ratio test
keeps its error rate below alpha over *every* look, however many and whenever they happen.

The statistic. For the difference of means of treatment and control, estimated by `d` with
variance `v` (sum of the two sample variances over the sample sizes), mix the likelihood
ratio of "the difference is theta" against "it is 0" over theta ~ N(0, tau²):

    Λ = sqrt(v / (v + tau²)) · exp(tau² d² / (2 v (v + tau²)))

Λ is (asymptotically) a nonnegative martingale under "no difference", so by Ville's
inequality P(Λ ever reaches 1/alpha) <= alpha. The always-valid p-value is min(1, 1/Λ); the
confidence sequence is every theta whose own ratio stays under 1/alpha:

    d ± sqrt(2 v (v + tau²) / tau² · log(sqrt((v + tau²) / v) / alpha))

which excludes 0 exactly when the p-value is at most alpha, so the interval and the test
never disagree.

tau² sets where the test is most sensitive. We take it from a target sample size n* per
variant: tau² = k · v*, with v* the variance of the difference at n* per variant and
k = -2 log alpha + log(1 - 2 log alpha), the choice that makes the interval narrowest at n*.
The guarantee holds for any n*; it only moves the power between early and late.

References:
- Johari, Koomen, Pekelis, Walsh, "Always Valid Inference: Continuous Monitoring of A/B
  Tests", Operations Research 70(3), 2022 (arXiv:1512.04922): the mixture SPRT and the
  always-valid p-value.
- Robbins, "Statistical methods related to the law of the iterated logarithm", Annals of
  Mathematical Statistics 41(5), 1970: the normal mixture.
- Waudby-Smith, Arnold, Wu, Ramdas, Howard, "Time-uniform central limit theory and
  asymptotic confidence sequences", Annals of Statistics 52(6), 2024 (arXiv:2103.06476):
  validity with estimated variances, and the tuning of the mixture to a target sample size.
- Howard, Ramdas, McAuliffe, Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence
  sequences", Annals of Statistics 49(2), 2021.

(The `confseq` package implements Howard et al.; it was last released in January 2023, has
no wheel for this Python and fails to build here, so this module is our own, ~40 lines.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from pertinent.experiments.stats import Array, floats


class SequentialResult(NamedTuple):
    """The always-valid p-value for "no difference" and the confidence sequence at this look
    (NaN where the data has no variance yet)."""

    p_value: Array
    low: Array
    high: Array


def mixing_constant(alpha: float) -> float:
    """k in tau² = k · v*: the width of the confidence sequence is smallest at n*."""
    return float(-2 * np.log(alpha) + np.log(1 - 2 * np.log(alpha)))


def mixture_variance(
    var_control: ArrayLike, var_treatment: ArrayLike, target_per_variant: float, alpha: float
) -> Array:
    """tau² for a target sample of `target_per_variant` recipients in each variant, from the
    per-recipient variances of the metric."""
    v_star = (floats(var_control) + floats(var_treatment)) / target_per_variant
    return mixing_constant(alpha) * v_star


def mixture_test(
    difference: ArrayLike, variance: ArrayLike, tau2: ArrayLike, alpha: float = 0.05
) -> SequentialResult:
    """The mixture SPRT at one look, given the estimated difference, its variance and tau²."""
    d, v, t2 = floats(difference), floats(variance), floats(tau2)
    ok = (v > 0) & (t2 > 0)
    v = np.where(ok, v, 1.0)
    t2 = np.where(ok, t2, 1.0)
    log_ratio = 0.5 * np.log(v / (v + t2)) + t2 * d**2 / (2 * v * (v + t2))
    p_value = np.where(ok, np.minimum(1.0, np.exp(-log_ratio)), 1.0)
    half = np.sqrt(2 * v * (v + t2) / t2 * (0.5 * np.log((v + t2) / v) - np.log(alpha)))
    half = np.where(ok, half, np.nan)
    return SequentialResult(p_value, d - half, d + half)


def proportions_test(
    x_control: ArrayLike,
    n_control: ArrayLike,
    x_treatment: ArrayLike,
    n_treatment: ArrayLike,
    target_per_variant: float,
    alpha: float = 0.05,
) -> SequentialResult:
    """The mixture SPRT for two proportions (click rate, conversion rate ...)."""
    xc, nc, xt, nt = floats(x_control), floats(n_control), floats(x_treatment), floats(n_treatment)
    with np.errstate(divide="ignore", invalid="ignore"):
        pc, pt = xc / nc, xt / nt
        vc, vt = pc * (1 - pc), pt * (1 - pt)
        variance = vc / nc + vt / nt
    tau2 = mixture_variance(vc, vt, target_per_variant, alpha)
    return mixture_test(pt - pc, variance, tau2, alpha)


def means_test(
    mean_control: ArrayLike,
    var_control: ArrayLike,
    n_control: ArrayLike,
    mean_treatment: ArrayLike,
    var_treatment: ArrayLike,
    n_treatment: ArrayLike,
    target_per_variant: float,
    alpha: float = 0.05,
) -> SequentialResult:
    """The mixture SPRT for two means (revenue per recipient)."""
    vc, vt = floats(var_control), floats(var_treatment)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = vc / floats(n_control) + vt / floats(n_treatment)
    tau2 = mixture_variance(vc, vt, target_per_variant, alpha)
    return mixture_test(floats(mean_treatment) - floats(mean_control), variance, tau2, alpha)
