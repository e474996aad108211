"""A data set with a known right answer: two groups of people with disjoint tastes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from pertinent.recommend.catalogue import Product
from pertinent.recommend.interactions import Interaction

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GROUP_ITEMS = {"a": [f"a{i}" for i in range(20)], "b": [f"b{i}" for i in range(20)]}


def two_taste_groups(people: int = 60, per_person: int = 8, seed: int = 1) -> list[Interaction]:
    rng = np.random.default_rng(seed)
    out = []
    for index in range(people):
        group = "a" if index % 2 == 0 else "b"
        items = rng.choice(GROUP_ITEMS[group], size=per_person, replace=False)
        for n, item in enumerate(items):
            out.append(
                Interaction(
                    f"{group}-person-{index}", str(item), "ordered", T0 + timedelta(hours=index + n)
                )
            )
    return out


def catalogue() -> dict[str, Product]:
    return {
        item: Product(
            item_id=item,
            title=f"Item {item}",
            category=f"cat-{group}",
            url=f"https://shop.example/p/{item}",
            price=10.0,
        )
        for group, items in GROUP_ITEMS.items()
        for item in items
    }
