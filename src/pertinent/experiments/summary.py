"""Per-variant sufficient statistics: counts for the rates, sums for revenue.

Everything the tests need is a count, a sum or a sum of squares per variant, so a million
recipients reduce to a few numbers per variant in one `bincount` each, and the statistics
cost the same for ten recipients as for ten million.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pertinent.analytics.metrics import Recipient
from pertinent.experiments.settings import Metric

# The rate metrics and the recipient flag each one counts.
RATES: dict[Metric, str] = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "conversion": "converted",
    "unsubscribe": "unsubscribed",
}
METRICS: tuple[Metric, ...] = (*RATES, "revenue")


@dataclass(frozen=True)
class Summaries:
    """Per variant (index i): recipients `n[i]`, `counts[metric][i]` who did it, revenue sum
    and sum of squares."""

    n: NDArray[np.float64]
    counts: dict[Metric, NDArray[np.float64]]
    revenue: NDArray[np.float64]
    revenue_squares: NDArray[np.float64]

    def mean(self, metric: Metric) -> NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore"):
            total = self.revenue if metric == "revenue" else self.counts[metric]
            mean: NDArray[np.float64] = total / self.n
        return mean

    def variance(self, metric: Metric) -> NDArray[np.float64]:
        """The per-recipient sample variance (ddof=1; NaN below two recipients)."""
        n = self.n
        with np.errstate(divide="ignore", invalid="ignore"):
            if metric == "revenue":
                m = self.revenue / n
                var: NDArray[np.float64] = (self.revenue_squares - n * m**2) / (n - 1)
                return np.maximum(var, 0.0)
            p = self.counts[metric] / n
            var = p * (1 - p) * n / (n - 1)
        return var


def summarize(
    variant: NDArray[np.int64],
    flags: dict[Metric, NDArray[np.bool_]],
    revenue: NDArray[np.float64],
    k: int,
) -> Summaries:
    """Summaries of k variants from one row per recipient: the variant's index, a boolean
    per rate metric, the revenue."""

    def total(weights: NDArray[np.float64] | NDArray[np.bool_] | None) -> NDArray[np.float64]:
        return np.bincount(variant, weights=weights, minlength=k).astype(np.float64)

    return Summaries(
        total(None),
        {m: total(flags[m]) for m in RATES},
        total(revenue),
        total(revenue**2),
    )


def summarize_recipients(recipients: Sequence[Recipient], variants: Sequence[str]) -> Summaries:
    index = {name: i for i, name in enumerate(variants)}
    chosen = [r for r in recipients if r.variant in index]
    variant = np.fromiter((index[r.variant] for r in chosen), np.int64, len(chosen))
    flags = {
        m: np.fromiter((getattr(r, flag) for r in chosen), np.bool_, len(chosen))
        for m, flag in RATES.items()
    }
    revenue = np.fromiter((r.revenue for r in chosen), np.float64, len(chosen))
    return summarize(variant, flags, revenue, len(variants))
