"""A product nobody has touched yet is recommended by its catalogue fields (category, name,
price band), to the people whose taste they match; behaviour takes over as people arrive."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest
from synthetic_tastes import T0, catalogue, two_taste_groups

from pertinent.recommend.cache import MemoryCache
from pertinent.recommend.catalogue import Product
from pertinent.recommend.content import describe, like
from pertinent.recommend.interactions import Interaction
from pertinent.recommend.serve import RecommendationService
from pertinent.recommend.settings import RecommendationSettings

NOW = T0 + timedelta(days=10)


def _shop() -> dict[str, Product]:
    """The two-group catalogue with names and prices that tell the groups apart, and one new
    product that reads like group a's."""
    products = {}
    for item, product in catalogue().items():
        words, price = ("garden hose", 12.0) if item[0] == "a" else ("kitchen knife", 90.0)
        products[item] = product.model_copy(
            update={"title": f"Green {words} {item}", "price": price}
        )
    products["new"] = Product(
        item_id="new", title="Green garden hose", category="cat-a", price=14.0
    )
    return products


def _service(model: str, extra: Sequence[Interaction] = ()) -> RecommendationService:
    service = RecommendationService(RecommendationSettings(model=model), MemoryCache())  # type: ignore[arg-type]
    service.train([*two_taste_groups(people=120), *extra], _shop(), NOW)
    return service


def test_descriptions_are_alike_as_their_fields_are() -> None:
    products = _shop()
    items = ["a1", "a2", "b1", "new"]
    content = describe(items, products, np.asarray([5, 5, 5, 0]), new_item_people=2)
    row_lengths = np.sqrt(content.features.multiply(content.features).sum(axis=1)).A.ravel()
    np.testing.assert_allclose(row_lengths, 1, rtol=1e-5)
    to_new = like(content, 3)
    assert to_new[0] > to_new[2] and to_new[1] > to_new[2], "a garden hose is like a garden hose"
    assert list(content.maturity) == [1, 1, 1, 0]


@pytest.mark.parametrize("model", ["ease", "als", "sar"])
def test_a_new_product_reaches_the_people_whose_taste_it_matches(model: str) -> None:
    service = _service(model)
    for person in ("a-person-0", "a-person-2", "a-person-4"):
        answer = service.for_you(person, 5, now=NOW)
        assert "new" in [r.item_id for r in answer.items], person
        assert answer.model == f"{model}+catalogue"
    for person in ("b-person-1", "b-person-3"):
        answer = service.for_you(person, 5, now=NOW)
        assert "new" not in [r.item_id for r in answer.items]
        assert answer.model == model, "nothing new in this list"


def test_products_like_a_new_product_come_from_its_description() -> None:
    answer = _service("ease").similar_to("new", 5)
    assert answer.model == "cold_start:catalogue"
    assert len(answer.items) == 5 and all(r.item_id.startswith("a") for r in answer.items)


def test_behaviour_takes_over_as_people_arrive() -> None:
    """The new product reads like group a's but is bought by group b."""
    buyers = [
        Interaction(f"b-person-{n}", "new", "ordered", NOW - timedelta(hours=n)) for n in (1, 3)
    ]
    one = _service("ease", buyers[:1])
    assert one.current.content.maturity[one.current.data.item_index["new"]] == 0.5
    assert one.similar_to("new", 5).model == "ease+catalogue"

    two = _service("ease", buyers)
    like_new = two.similar_to("new", 5)
    assert like_new.model == "ease", "two people: behaviour alone"
    assert all(r.item_id.startswith("b") for r in like_new.items), "what its buyers bought"
    for n in (0, 2, 4, 6):
        items = [r.item_id for r in two.for_you(f"a-person-{n}", 5, now=NOW).items]
        assert "new" not in items, "its description no longer decides"
