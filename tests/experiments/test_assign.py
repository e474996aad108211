"""Assignment: stable, proportional to the weights, independent across experiments, sticky
across merges, and a holdout of its own."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from pertinent.experiments.assign import Allocation, Exposure, assign, bucket, held_out

T0 = datetime(2026, 3, 2, tzinfo=UTC)
PEOPLE = [f"u{i:05d}" for i in range(20_000)]


def test_the_same_person_gets_the_same_variant_on_every_run() -> None:
    allocation = Allocation(["control", "b", "c"], [1, 1, 1])
    first = [assign("subject-test", allocation, p) for p in PEOPLE[:500]]
    again = [
        assign("subject-test", Allocation(["control", "b", "c"], [1, 1, 1]), p)
        for p in PEOPLE[:500]
    ]
    assert first == again
    assert len(set(first)) == 3


def test_shares_follow_the_weights() -> None:
    allocation = Allocation(["control", "b", "c"], [50, 30, 20])
    counts = Counter(assign("weights", allocation, p) for p in PEOPLE)
    observed = [counts["control"], counts["b"], counts["c"]]
    assert stats.chisquare(observed, np.array([0.5, 0.3, 0.2]) * len(PEOPLE)).pvalue > 0.001


def test_two_experiments_split_people_independently() -> None:
    a = Allocation(["control", "b"], [1, 1])
    pairs = Counter((assign("exp-1", a, p), assign("exp-2", a, p)) for p in PEOPLE)
    table = [
        [pairs[("control", "control")], pairs[("control", "b")]],
        [pairs[("b", "control")], pairs[("b", "b")]],
    ]
    assert stats.chi2_contingency(table).pvalue > 0.001


@given(
    weights=st.lists(st.floats(0, 100), min_size=1, max_size=8).filter(lambda w: sum(w) > 0),
    u=st.floats(0, 1, exclude_max=True),
)
def test_every_bucket_lands_in_a_variant_with_weight(weights: list[float], u: float) -> None:
    allocation = Allocation([f"v{i}" for i in range(len(weights))], weights)
    chosen = allocation.variant_at(u)
    assert weights[int(chosen[1:])] > 0


def test_bad_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="one weight per variant"):
        Allocation(["a", "b"], [1])
    with pytest.raises(ValueError, match="not all zero"):
        Allocation(["a", "b"], [0, 0])


def test_the_earliest_exposure_wins_after_a_merge() -> None:
    """Two known profiles, each already mailed a variant, are merged by an alias: the
    survivor's log now holds both exposures, and the person keeps what they saw first,
    whatever their surviving id hashes to."""
    allocation = Allocation(["control", "b"], [1, 1])
    loser = next(p for p in PEOPLE if assign("x", allocation, p) == "b")
    winner = next(p for p in PEOPLE if assign("x", allocation, p) == "control")
    merged = [Exposure("control", T0 + timedelta(days=2), seq=40), Exposure("b", T0, seq=7)]
    assert assign("x", allocation, winner, merged) == "b"
    assert assign("x", allocation, winner, list(reversed(merged))) == "b"
    assert assign("x", allocation, loser) == "b"


def test_a_person_keeps_a_variant_that_was_since_removed() -> None:
    allocation = Allocation(["control"], [1])
    assert assign("x", allocation, "u1", [Exposure("retired", T0)]) == "retired"


def test_the_holdout_is_its_share_and_independent_of_experiments() -> None:
    held = [p for p in PEOPLE if held_out(p, 0.1)]
    assert 0.09 < len(held) / len(PEOPLE) < 0.11
    assert not any(held_out(p, 0.0) for p in PEOPLE[:1000])
    allocation = Allocation(["control", "b"], [1, 1])
    inside = Counter(assign("y", allocation, p) for p in held)
    assert stats.chisquare([inside["control"], inside["b"]]).pvalue > 0.001


def test_buckets_are_uniform() -> None:
    u = np.array([bucket("salt", p) for p in PEOPLE])
    assert stats.kstest(u, "uniform").pvalue > 0.001
    assert u.min() >= 0 and u.max() < 1
