"""Top-k ranking metrics with binary relevance.

Definitions follow Microsoft Recommenders' `python_evaluation` (precision_at_k, recall_at_k,
ndcg_at_k, map_at_k) and the common IR textbook forms:

- precision@k = hits in the top k / k
- recall@k    = hits in the top k / |relevant|
- nDCG@k      = DCG / ideal DCG, DCG = Σ 1/log2(rank + 1) over hits (rank from 1), the ideal
                ranking putting min(k, |relevant|) hits first
- MAP@k       = mean over users of AP@k = Σ_{hit at rank r} precision@r / min(k, |relevant|)
- hit rate@k  = share of users with at least one hit in the top k
- coverage    = distinct items recommended to anyone / items in the catalogue

Each per-user metric is averaged over users that have at least one relevant item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


def precision_at_k(recommended: Sequence[int], relevant: set[int], k: int) -> float:
    return sum(1 for r in recommended[:k] if r in relevant) / k


def recall_at_k(recommended: Sequence[int], relevant: set[int], k: int) -> float:
    return sum(1 for r in recommended[:k] if r in relevant) / len(relevant)


def ndcg_at_k(recommended: Sequence[int], relevant: set[int], k: int) -> float:
    dcg = sum(1 / np.log2(rank + 2) for rank, r in enumerate(recommended[:k]) if r in relevant)
    ideal = sum(1 / np.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return float(dcg / ideal)


def average_precision_at_k(recommended: Sequence[int], relevant: set[int], k: int) -> float:
    hits = 0
    total = 0.0
    for rank, r in enumerate(recommended[:k], start=1):
        if r in relevant:
            hits += 1
            total += hits / rank
    return total / min(k, len(relevant))


def hit_at_k(recommended: Sequence[int], relevant: set[int], k: int) -> float:
    return 1.0 if any(r in relevant for r in recommended[:k]) else 0.0


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    ndcg: float
    map: float
    hit_rate: float
    coverage: float
    users: int


def score_all(
    recommendations: Mapping[int, Sequence[int]],
    relevant: dict[int, set[int]],
    k: int,
    n_items: int,
) -> Scores:
    """Average every metric over the users with relevant items."""
    users = [u for u, rel in relevant.items() if rel]
    sums = np.zeros(5)
    shown: set[int] = set()
    for user in users:
        recs = list(recommendations.get(user, []))[:k]
        shown.update(recs)
        rel = relevant[user]
        sums += (
            precision_at_k(recs, rel, k),
            recall_at_k(recs, rel, k),
            ndcg_at_k(recs, rel, k),
            average_precision_at_k(recs, rel, k),
            hit_at_k(recs, rel, k),
        )
    p, r, ndcg, ap, hit = (float(x) for x in sums / max(len(users), 1))
    return Scores(
        precision=p,
        recall=r,
        ndcg=ndcg,
        map=ap,
        hit_rate=hit,
        coverage=len(shown) / max(n_items, 1),
        users=len(users),
    )
