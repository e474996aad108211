"""RFM: how recently, how often and how much each customer bought, scored 1 to 5 against
everyone who bought.

A customer is a person with at least one order. Their three measures are the time of their
last order (recency: later is better), their number of orders (frequency) and their revenue
(monetary), over all their orders. Each is scored by where it falls among the customers:
with B(v) the share of customers whose value is below v, the score is 1 + floor(5 * B(v)).
So a 5 has at least four fifths of the customers below them, the lowest value always scores
1, and people with the same value always have the same score: where most customers share a
value (one order), they share the bottom score, and the fifths above are as even as the ties
allow. `rfm_score` is the three digits together ("545"). People who never ordered have no
scores.

The population changes with every order, so scores are recomputed on a schedule, not per
event (`processor.rfm`); between two runs a customer's scores are those of the last run.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

RECENCY_SCORE = "rfm_recency_score"
FREQUENCY_SCORE = "rfm_frequency_score"
MONETARY_SCORE = "rfm_monetary_score"
RFM_SCORE = "rfm_score"
# The computed properties a run writes.
RFM_KEYS = frozenset({RECENCY_SCORE, FREQUENCY_SCORE, MONETARY_SCORE, RFM_SCORE})


@dataclass(frozen=True)
class Customer:
    """A person with orders, as the scores need them, with the score they were last given."""

    profile_id: str
    last_order_at: datetime
    orders: int
    revenue: float
    rfm_score: str | None = None


def _measures(customers: Sequence[Customer]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.fromiter((c.last_order_at.timestamp() for c in customers), float, len(customers)),
        np.fromiter((c.orders for c in customers), float, len(customers)),
        np.fromiter((c.revenue for c in customers), float, len(customers)),
    )


def _score(below: np.ndarray, n: int) -> np.ndarray:
    """1 + floor(5 * below / n); at most 5 for a customer above all those the population
    was read with (one who bought since)."""
    scores: np.ndarray = np.minimum(5, 1 + (5 * below) // n)
    return scores


class Population:
    """Every customer's three measures, gathered a page at a time, then sorted to score
    anyone against (a million customers take 24 MB)."""

    def __init__(self) -> None:
        self._values = (array("d"), array("d"), array("d"))
        self._sorted: tuple[np.ndarray, ...] | None = None

    def add(self, customers: Sequence[Customer]) -> None:
        for column, values in zip(self._values, _measures(customers), strict=True):
            column.extend(values.tolist())
        self._sorted = None

    def __len__(self) -> int:
        return len(self._values[0])

    def _columns(self) -> tuple[np.ndarray, ...]:
        if self._sorted is None:
            self._sorted = tuple(np.sort(np.frombuffer(c, dtype=float)) for c in self._values)
        return self._sorted

    def scores(self, customers: Sequence[Customer]) -> list[dict[str, Any]]:
        """Each customer's scores (the computed properties to write), in order."""
        if not customers:
            return []
        n = len(self)
        if n == 0:
            raise ValueError("no customers to score against")
        digits = []
        for column, values in zip(self._columns(), _measures(customers), strict=True):
            digits.append(_score(np.searchsorted(column, values, side="left"), n).tolist())
        return [
            {
                RECENCY_SCORE: r,
                FREQUENCY_SCORE: f,
                MONETARY_SCORE: m,
                RFM_SCORE: f"{r}{f}{m}",
            }
            for r, f, m in zip(*digits, strict=True)
        ]

    def summary(self) -> dict[str, list[int]]:
        """How many customers have each score 1-5, per measure (what a run records)."""
        n = len(self)
        out: dict[str, list[int]] = {}
        for name, column in zip(("recency", "frequency", "monetary"), self._columns(), strict=True):
            if n == 0:
                out[name] = [0] * 5
                continue
            scores = _score(np.searchsorted(column, column, side="left"), n)
            out[name] = np.bincount(scores, minlength=6)[1:6].tolist()
        return out
