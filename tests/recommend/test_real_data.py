"""On a slice of the real shop's orders, a learned model beats popularity.

*"Online Retail" data set, D. Chen, UCI Machine Learning Repository, CC BY 4.0.*
"""

from __future__ import annotations

from pertinent.recommend.evaluate import evaluate, time_split
from pertinent.recommend.interactions import InteractionWeights
from pertinent.recommend.retail import CUTOFF, load_retail


def test_als_beats_popularity_on_real_purchases() -> None:
    interactions, products = load_retail(limit_customers=1500)
    assert len(products) > 1000
    split = time_split(interactions, CUTOFF, InteractionWeights())
    rows = {row.model: row.scores for row in evaluate(split, ["als"], k=10)}
    assert rows["popular"].users > 300
    assert rows["als"].ndcg > rows["popular"].ndcg
    assert rows["als"].hit_rate > rows["popular"].hit_rate
