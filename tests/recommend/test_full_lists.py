"""Lists are as long as asked whenever the catalogue can fill them, and every answer names
what produced it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from synthetic_tastes import T0, catalogue, two_taste_groups

from pertinent.recommend.cache import MemoryCache
from pertinent.recommend.catalogue import Product
from pertinent.recommend.serve import RecommendationService
from pertinent.recommend.settings import RecommendationSettings

NOW = T0 + timedelta(days=10)


def _service(model: str = "sar", **settings: object) -> RecommendationService:
    service = RecommendationService(
        RecommendationSettings(model=model, **settings),  # type: ignore[arg-type]
        MemoryCache(),
    )
    service.train(two_taste_groups(people=120), catalogue(), NOW)
    return service


@pytest.mark.parametrize("model", ["sar", "ease", "als"])
def test_a_capped_list_of_one_category_still_has_n_products(model: str) -> None:
    service = _service(model, max_per_category=2)
    answer = service.for_you("a-person-0", 50, now=NOW, category="cat-b")
    items = [r.item_id for r in answer.items]
    assert len(items) == 20, "every cat-b product (none seen by this person)"
    assert all(i.startswith("b") for i in items)
    assert len(service.popular_in("cat-a", 50).items) == 20


@pytest.mark.parametrize("model", ["sar", "ease", "als"])
def test_the_cap_puts_variety_first_and_then_fills_with_the_next_best(model: str) -> None:
    service = _service(model, max_per_category=2)
    items = [r.item_id for r in service.for_you("a-person-0", 8, now=NOW).items]
    assert len(items) == 8
    assert sorted(i[0] for i in items[:4]) == ["a", "a", "b", "b"]
    assert sum(i.startswith("a") for i in items) >= 4, "the fill is the person's own taste"


def test_similar_products_fill_the_list_past_the_cap() -> None:
    service = _service(max_per_category=2)
    answer = service.similar_to("a3", 3)
    assert [r.item_id[0] for r in answer.items].count("a") >= 2
    assert len(answer.items) == 3
    assert len(service.similar_to("a3", 39).items) == 39, "every other product"


def test_each_answer_names_what_produced_it() -> None:
    service = _service("als")
    assert service.for_you("a-person-0", 5, now=NOW).model == "als"
    assert service.for_you("stranger", 5, now=NOW).model == "popular"
    leaning = service.for_you("stranger", 5, now=NOW, leaning=lambda: ["cat-b"])
    assert leaning.model == "cold_start:category"
    assert service.similar_to("a3", 5).model == "als"
    assert service.popular_in("cat-a", 5).model == "popular"


def test_a_cached_answer_names_the_same_producer() -> None:
    service = _service("als")
    first = service.for_you("stranger", 5, now=NOW, leaning=lambda: ["cat-b"])
    again = service.for_you("stranger", 5, now=NOW, leaning=lambda: ["cat-b"])
    assert again == first


def test_an_unknown_product_gets_popular_products_by_name() -> None:
    service = _service()
    answer = service.similar_to("never-heard-of", 4)
    assert answer.model == "popular" and len(answer.items) == 4


def test_a_short_catalogue_gives_what_it_has() -> None:
    service = RecommendationService(RecommendationSettings(model="sar"), MemoryCache())
    products = {"x": Product(item_id="x", title="X"), "y": Product(item_id="y", title="Y")}
    service.train([], products, NOW)
    assert [r.item_id for r in service.for_you("anyone", 10, now=NOW).items] == ["x", "y"]
