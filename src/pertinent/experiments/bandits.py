"""Thompson sampling: move traffic toward the variant that works, keeping some exploration.

Each variant's click (or conversion) rate has a Beta(1 + successes, 1 + failures) posterior
(a uniform prior updated by Bernoulli outcomes). A variant's share of the next sends is the
posterior probability that it is the best, estimated from `draws` joint samples; each share
is then lifted to at least `min_share`, so no variant is starved and a lucky early run can
be overturned. With shares, a send's variant is still the person's stable hash bucket
(`assign.Allocation`), so a replay makes the same choice.

Reference: Thompson, "On the likelihood that one unknown probability exceeds another in view
of the evidence of two samples", Biometrika 25 (1933); Russo, Van Roy, Kazerouni, Osband,
Wen, "A Tutorial on Thompson Sampling", Foundations and Trends in Machine Learning 11(1),
2018, §3 (Beta–Bernoulli) and §7.2 (batched updates, as sends are decided between looks).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from pertinent.experiments.stats import Array, floats

DEFAULT_DRAWS = 4000


def best_probabilities(
    successes: ArrayLike, trials: ArrayLike, rng: np.random.Generator, draws: int = DEFAULT_DRAWS
) -> Array:
    """For each variant (the last axis), the posterior probability that its rate is the
    highest, estimated from `draws` samples. Leading axes are independent experiments (the
    simulation tests run hundreds at once); `draws=1` is classic per-send Thompson sampling,
    a one-hot choice of the variant whose sampled rate is highest."""
    s, n = floats(successes), floats(trials)
    if s.shape != n.shape or s.ndim == 0 or s.shape[-1] == 0:
        raise ValueError("successes and trials must be two lists of the same, non-zero length")
    if np.any(s < 0) or np.any(s > n):
        raise ValueError("successes must be between 0 and trials")
    k = s.shape[-1]
    winners = rng.beta(1 + s, 1 + n - s, size=(draws, *s.shape)).argmax(axis=-1)
    result: Array = (winners[..., None] == np.arange(k)).mean(axis=0)
    return result


def thompson_shares(
    successes: ArrayLike,
    trials: ArrayLike,
    rng: np.random.Generator,
    min_share: float = 0.01,
    draws: int = DEFAULT_DRAWS,
) -> Array:
    """Traffic shares for the next sends: the probability of being best, with every variant
    given at least `min_share` (the rest is spread in proportion to that probability)."""
    best = best_probabilities(successes, trials, rng, draws)
    k = best.shape[-1]
    if not 0 <= min_share * k <= 1:
        raise ValueError(f"min_share {min_share} is more than 1/{k} of the traffic per variant")
    shares: Array = min_share + (1 - min_share * k) * best
    return shares
