"""Known answers for every ranking metric, computed by hand."""

from __future__ import annotations

import math

import pytest

from pertinent.recommend.metrics import (
    average_precision_at_k,
    hit_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    score_all,
)

RECS = [7, 1, 9, 3, 5]
RELEVANT = {1, 3, 4}


def test_precision_and_recall() -> None:
    assert precision_at_k(RECS, RELEVANT, 5) == pytest.approx(2 / 5)
    assert precision_at_k(RECS, RELEVANT, 2) == pytest.approx(1 / 2)
    assert recall_at_k(RECS, RELEVANT, 5) == pytest.approx(2 / 3)
    assert recall_at_k(RECS, RELEVANT, 1) == 0


def test_ndcg() -> None:
    dcg = 1 / math.log2(3) + 1 / math.log2(5)  # hits at ranks 2 and 4
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # three relevant items first
    assert ndcg_at_k(RECS, RELEVANT, 5) == pytest.approx(dcg / ideal)
    assert ndcg_at_k([1, 3, 4], RELEVANT, 3) == pytest.approx(1.0)
    # With k=2 the ideal list holds only two hits.
    assert ndcg_at_k([2, 1], RELEVANT, 2) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )


def test_average_precision() -> None:
    # hits at ranks 2 and 4: (1/2 + 2/4) / min(5, 3)
    assert average_precision_at_k(RECS, RELEVANT, 5) == pytest.approx((0.5 + 0.5) / 3)
    assert average_precision_at_k([1, 3, 4], RELEVANT, 3) == pytest.approx(1.0)
    assert average_precision_at_k([9], {9, 8}, 1) == pytest.approx(1.0)


def test_hit_rate_and_averaging_and_coverage() -> None:
    assert hit_at_k(RECS, RELEVANT, 1) == 0
    assert hit_at_k(RECS, RELEVANT, 2) == 1
    scores = score_all({0: [1, 2], 1: [5, 6], 2: [1]}, {0: {1}, 1: {7}, 2: set()}, k=2, n_items=10)
    assert scores.users == 2, "users without relevant items are not averaged"
    assert scores.precision == pytest.approx((1 / 2 + 0) / 2)
    assert scores.recall == pytest.approx(0.5)
    assert scores.hit_rate == pytest.approx(0.5)
    assert scores.coverage == pytest.approx(4 / 10)
