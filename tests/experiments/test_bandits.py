"""Thompson sampling moves traffic to what works, keeps exploring, and beats the usual
alternatives on regret."""

from __future__ import annotations

import numpy as np
import pytest

from pertinent.experiments.bandits import best_probabilities, thompson_shares


def test_shares_favour_the_better_variant_and_never_starve_one() -> None:
    shares = thompson_shares([50, 90, 52], [1000, 1000, 1000], np.random.default_rng(1), 0.05)
    assert shares.sum() == pytest.approx(1.0)
    assert shares.argmax() == 1 and shares[1] > 0.8
    assert shares.min() >= 0.05


def test_no_data_means_an_even_split() -> None:
    shares = thompson_shares([0, 0, 0, 0], [0, 0, 0, 0], np.random.default_rng(2), 0.01)
    assert shares == pytest.approx(np.full(4, 0.25), abs=0.03)


def test_the_same_seed_gives_the_same_shares() -> None:
    def shares(seed: int) -> np.ndarray:
        return thompson_shares([5, 7], [100, 100], np.random.default_rng(seed))

    assert shares(3).tolist() == shares(3).tolist()


def test_impossible_inputs_are_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same, non-zero length"):
        best_probabilities([1, 2], [3], rng)
    with pytest.raises(ValueError, match="between 0 and trials"):
        best_probabilities([5], [3], rng)
    with pytest.raises(ValueError, match="more than 1/3"):
        thompson_shares([1, 1, 1], [9, 9, 9], rng, min_share=0.5)


RATES = np.array([0.04, 0.05, 0.06])  # click rates of three subject lines


def _regret(policy: str, runs: int, sends: int, seed: int) -> float:
    """Mean regret (clicks lost to always sending the best subject line) over `runs`
    independent experiments of `sends` sends each, decided one send at a time."""
    rng = np.random.default_rng(seed)
    k = RATES.size
    clicks, sent = np.zeros((runs, k)), np.zeros((runs, k))
    rows = np.arange(runs)
    regret = np.zeros(runs)
    for _ in range(sends):
        if policy == "thompson":
            shares = thompson_shares(clicks, sent, rng, min_share=0.01, draws=1)
        elif policy == "epsilon-greedy":
            rate = np.where(sent > 0, clicks / np.maximum(sent, 1), np.inf)
            shares = np.full((runs, k), 0.1 / k)
            shares[rows, rate.argmax(axis=1)] += 0.9
        else:
            shares = np.full((runs, k), 1 / k)
        arm = (shares.cumsum(axis=1) < rng.random((runs, 1))).sum(axis=1).clip(0, k - 1)
        clicks[rows, arm] += rng.random(runs) < RATES[arm]
        sent[rows, arm] += 1
        regret += RATES.max() - RATES[arm]
    return float(regret.mean())


@pytest.mark.slow
def test_thompson_regret_over_ten_thousand_sends_beats_epsilon_greedy_and_uniform() -> None:
    regret = {
        p: _regret(p, runs=300, sends=10_000, seed=5)
        for p in ("thompson", "epsilon-greedy", "uniform")
    }
    print(
        "\nregret over 10,000 sends (mean of 300 runs): "
        + ", ".join(f"{p} {r:.1f}" for p, r in regret.items())
    )
    assert regret["thompson"] < regret["epsilon-greedy"] < regret["uniform"]
