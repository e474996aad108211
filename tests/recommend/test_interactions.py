"""What a person did, turned into how strongly they like each product."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pertinent.recommend.interactions import (
    Interaction,
    InteractionMatrix,
    InteractionWeights,
    build_matrix,
)

NOW = datetime(2026, 3, 2, tzinfo=UTC)
DEFAULT = InteractionWeights()


def _cell(data: InteractionMatrix, user: str, item: str) -> float:
    return float(data.matrix[data.user_index[user], data.item_index[item]])


def test_reloading_a_product_page_counts_once() -> None:
    views = [Interaction("ann", "lamp", "viewed", NOW - timedelta(minutes=m)) for m in range(5)]
    data = build_matrix(views, DEFAULT, NOW)
    assert _cell(data, "ann", "lamp") == 1.0
    assert data.matrix.nnz == 1


def test_viewing_then_buying_adds_up_and_outweighs_many_views() -> None:
    history = [
        Interaction("ann", "lamp", "viewed", NOW - timedelta(hours=2)),
        Interaction("ann", "lamp", "ordered", NOW - timedelta(hours=1)),
        *(Interaction("ann", "mug", "viewed", NOW - timedelta(minutes=m)) for m in range(20)),
    ]
    data = build_matrix(history, DEFAULT, NOW)
    assert _cell(data, "ann", "lamp") == 6.0
    assert _cell(data, "ann", "mug") == 1.0


def test_an_interaction_one_half_life_old_weighs_half() -> None:
    weights = InteractionWeights(half_life_days=30)
    history = [
        Interaction("ann", "lamp", "ordered", NOW - timedelta(days=30)),
        Interaction("ann", "mug", "ordered", NOW - timedelta(days=60)),
        Interaction("ann", "vase", "ordered", NOW),
    ]
    data = build_matrix(history, weights, NOW)
    assert _cell(data, "ann", "vase") == 5.0
    assert np.isclose(_cell(data, "ann", "lamp"), 2.5)
    assert np.isclose(_cell(data, "ann", "mug"), 1.25)


def test_with_decay_the_newest_of_repeated_interactions_counts() -> None:
    weights = InteractionWeights(half_life_days=1)
    history = [
        Interaction("ann", "lamp", "viewed", NOW - timedelta(days=3)),
        Interaction("ann", "lamp", "viewed", NOW - timedelta(days=1)),
    ]
    assert np.isclose(_cell(build_matrix(history, weights, NOW), "ann", "lamp"), 0.5)


def test_catalogue_products_nobody_touched_still_get_a_column() -> None:
    history = [Interaction("ann", "lamp", "viewed", NOW)]
    data = build_matrix(history, DEFAULT, NOW, items=["lamp", "new-sofa"])
    assert data.items == ["lamp", "new-sofa"]
    assert data.shape == (1, 2)
    assert data.matrix[0, data.item_index["new-sofa"]] == 0


def test_a_kind_weighted_zero_leaves_no_cell() -> None:
    weights = InteractionWeights(viewed=0)
    history = [
        Interaction("ann", "lamp", "viewed", NOW),
        Interaction("ann", "mug", "ordered", NOW),
    ]
    data = build_matrix(history, weights, NOW)
    assert data.matrix.nnz == 1
    assert "lamp" in data.item_index, "the product is still known"
    assert _cell(data, "ann", "mug") == 5.0


interactions = st.lists(
    st.builds(
        Interaction,
        st.sampled_from(["ann", "bob", "cy", "dee"]),
        st.sampled_from(["lamp", "mug", "vase", "sofa", "rug"]),
        st.sampled_from(["viewed", "added", "ordered"]),
        st.integers(0, 90).map(lambda days: NOW - timedelta(days=days)),
    ),
    max_size=40,
)


def _dense_by_ids(data: InteractionMatrix) -> dict[tuple[str, str], float]:
    coo = data.matrix.tocoo()
    return {
        (data.users[r], data.items[c]): float(v)
        for r, c, v in zip(coo.row, coo.col, coo.data, strict=True)
    }


@settings(max_examples=60, deadline=None)
@given(history=interactions, order=st.randoms(use_true_random=False))
def test_the_order_events_arrive_in_does_not_change_the_matrix(
    history: list[Interaction], order: random.Random
) -> None:
    weights = InteractionWeights(half_life_days=14)
    shuffled = list(history)
    order.shuffle(shuffled)
    first = build_matrix(history, weights, NOW, items=["new-sofa"])
    second = build_matrix(shuffled, weights, NOW, items=["new-sofa"])
    assert set(first.users) == set(second.users)
    assert set(first.items) == set(second.items)
    assert _dense_by_ids(first) == _dense_by_ids(second)
