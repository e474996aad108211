"""Always-valid inference: watched after every batch it keeps its 5 %, where the fixed test
peeked at the same moments does not; and it still finds a real lift.

Each simulation runs a thousand experiments at once (NumPy arrays of cumulative counts,
one row per run, one column per look), so these take a second, not minutes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pertinent.experiments.sequential import means_test, mixture_test, proportions_test
from pertinent.experiments.stats import two_proportions, welch

RUNS, LOOKS, BATCH = 1000, 50, 100  # 50 looks, 100 more recipients per variant between looks
TARGET = 5000  # the sample the mixture is tuned for (per variant)
ALPHA = 0.05


def _cumulative(rng: np.random.Generator, rate: float, runs: int, batch: int) -> np.ndarray:
    return rng.binomial(batch, rate, (runs, LOOKS)).cumsum(axis=1)


def test_an_aa_test_watched_after_every_batch_keeps_its_false_positives_under_alpha() -> None:
    rng = np.random.default_rng(20261203)
    n = BATCH * np.arange(1, LOOKS + 1)
    control, treatment = _cumulative(rng, 0.05, RUNS, BATCH), _cumulative(rng, 0.05, RUNS, BATCH)
    always_valid = proportions_test(control, n, treatment, n, TARGET, ALPHA).p_value
    fixed = two_proportions(control, n, treatment, n, ALPHA).p_value
    av_rate = float((always_valid.min(axis=1) <= ALPHA).mean())
    peeked_rate = float((fixed.min(axis=1) <= ALPHA).mean())
    once_rate = float((fixed[:, -1] <= ALPHA).mean())
    print(
        f"\nA/A, {RUNS} runs, {LOOKS} looks: always-valid rejected {av_rate:.1%}, "
        f"fixed-horizon peeked at every look {peeked_rate:.1%}, fixed looked at once {once_rate:.1%}"
    )
    assert av_rate <= ALPHA
    assert peeked_rate >= 3 * max(av_rate, 0.02), "peeking inflates the fixed test"
    assert once_rate == pytest.approx(ALPHA, abs=0.02), "looked at once, the fixed test is fine"


def test_an_aa_test_on_revenue_keeps_its_false_positives_under_alpha() -> None:
    """Revenue per recipient: mostly zero, sometimes a heavy-tailed order value."""
    rng = np.random.default_rng(7)
    runs, looks, batch = 400, 20, 250
    shape = (runs, looks, batch)

    def revenue() -> np.ndarray:
        return np.where(rng.random(shape) < 0.02, rng.lognormal(3.5, 1.0, shape), 0.0)

    a, b = revenue(), revenue()
    n = batch * np.arange(1, looks + 1)

    def running(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total, squares = x.sum(axis=2).cumsum(axis=1), (x**2).sum(axis=2).cumsum(axis=1)
        mean = total / n
        return mean, (squares - n * mean**2) / (n - 1)

    (ma, va), (mb, vb) = running(a), running(b)
    rejected = (means_test(ma, va, n, mb, vb, n, TARGET, ALPHA).p_value.min(axis=1) <= ALPHA).mean()
    peeked = (welch(ma, va, n, mb, vb, n, ALPHA).p_value.min(axis=1) <= ALPHA).mean()
    print(f"\nrevenue A/A: always-valid rejected {rejected:.1%}, fixed peeked {peeked:.1%}")
    assert rejected <= ALPHA


def test_a_true_twenty_percent_lift_is_detected() -> None:
    rng = np.random.default_rng(11)
    runs, batch = 200, 400  # 20,000 recipients per variant at the last look
    n = batch * np.arange(1, LOOKS + 1)
    control, treatment = _cumulative(rng, 0.05, runs, batch), _cumulative(rng, 0.06, runs, batch)
    test = proportions_test(control, n, treatment, n, TARGET, ALPHA)
    detected = test.p_value.min(axis=1) <= ALPHA
    first = np.argmax(test.p_value <= ALPHA, axis=1)[detected]
    print(
        f"\n5 % -> 6 %: detected in {detected.mean():.0%} of {runs} runs, "
        f"median after {int(np.median(first) + 1) * batch:,} recipients per variant"
    )
    assert detected.mean() >= 0.9
    assert not np.any((test.p_value <= ALPHA) & (test.high < 0)), "never the wrong way round"


@given(
    difference=st.floats(-1, 1),
    variance=st.floats(1e-8, 1),
    tau2=st.floats(1e-8, 1),
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
)
def test_the_confidence_sequence_excludes_zero_exactly_when_the_test_rejects(
    difference: float, variance: float, tau2: float, alpha: float
) -> None:
    test = mixture_test(difference, variance, tau2, alpha)
    excludes = float(test.low) > 0 or float(test.high) < 0
    p = float(test.p_value)
    if abs(p - alpha) > 1e-9 * alpha:
        assert excludes == (p < alpha)


def test_no_data_no_verdict() -> None:
    test = proportions_test(0, 0, 0, 0, TARGET)
    assert float(test.p_value) == 1.0 and np.isnan(float(test.low))
