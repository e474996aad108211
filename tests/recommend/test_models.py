"""Every model on data where the right answer is known, and the serving rules."""

from __future__ import annotations

import threading
from datetime import timedelta

import numpy as np
import pytest
from implicit.cpu.als import AlternatingLeastSquares
from scipy import sparse
from synthetic_tastes import GROUP_ITEMS, T0, catalogue, two_taste_groups
from threadpoolctl import threadpool_limits

from pertinent.recommend.cache import MemoryCache
from pertinent.recommend.catalogue import Product
from pertinent.recommend.interactions import Interaction, InteractionWeights, build_matrix
from pertinent.recommend.models import EaseSettings, FactorSettings, make_model
from pertinent.recommend.models.ease import Ease
from pertinent.recommend.models.factorization import Factorized
from pertinent.recommend.serve import RecommendationService
from pertinent.recommend.settings import RecommendationSettings

PERSONALIZED = ["ease", "als", "bpr", "itemknn", "sar", "sar_lift"]
NOW = T0 + timedelta(days=10)


@pytest.mark.parametrize("name", PERSONALIZED)
def test_every_model_recommends_only_from_the_persons_own_taste_group(name: str) -> None:
    data = build_matrix(two_taste_groups(), InteractionWeights(), NOW)
    model = make_model(name)
    model.fit(data.matrix)
    for user, row in data.user_index.items():
        group = user[0]
        scores = model.scores(np.asarray([row]), data.matrix)[0]
        scores[data.matrix[row].indices] = -np.inf
        best = [data.items[i] for i in np.argsort(-scores)[:5]]
        assert all(item[0] == group for item in best), (name, user, best)


@pytest.mark.parametrize("name", PERSONALIZED)
def test_similar_items_stay_in_their_group(name: str) -> None:
    data = build_matrix(two_taste_groups(), InteractionWeights(), NOW)
    model = make_model(name)
    model.fit(data.matrix)
    similar = [data.items[i] for i, _ in model.similar(data.item_index["a3"], 5)]
    assert similar and all(item.startswith("a") for item in similar)


def test_popularity_is_the_same_list_for_everyone() -> None:
    data = build_matrix(two_taste_groups(), InteractionWeights(), NOW)
    model = make_model("popular")
    model.fit(data.matrix)
    scores = model.scores(np.asarray([0, 1]), data.matrix)
    assert (scores[0] == scores[1]).all()


def _service(**settings: object) -> RecommendationService:
    service = RecommendationService(
        RecommendationSettings(model="sar", **settings),  # type: ignore[arg-type]
        MemoryCache(),
    )
    service.train(two_taste_groups(), catalogue(), NOW)
    return service


def test_a_new_person_gets_popular_items_of_the_categories_they_lean_to() -> None:
    service = _service()
    picks = service.for_you("stranger", 5, now=NOW, leaning=lambda: ["cat-b"]).items
    assert len(picks) == 5
    assert all(p.item_id.startswith("b") for p in picks)
    anyone = service.for_you("another-stranger", 5, now=NOW).items
    assert len(anyone) == 5, "never an error, never empty when there is a catalogue"


def test_a_new_product_is_reachable_through_its_category() -> None:
    products = {**catalogue(), "a-new": Product(item_id="a-new", title="New", category="cat-a")}
    service = RecommendationService(RecommendationSettings(model="als"), MemoryCache())
    service.train(two_taste_groups(), products, NOW)
    similar = service.similar_to("a-new", 5).items
    assert similar and all(p.item_id.startswith("a") for p in similar)
    assert "a-new" in [p.item_id for p in service.popular_in("cat-a", 25).items]


def test_rules_exclude_bought_and_out_of_stock_and_filter_and_cap_categories() -> None:
    history = [
        Interaction("p1", "a0", "ordered", NOW - timedelta(days=5)),
        Interaction("p1", "a1", "viewed", NOW - timedelta(days=5)),
        Interaction("p1", "a2", "viewed", NOW - timedelta(days=5)),
        *two_taste_groups(),
    ]
    products = catalogue()
    products["a3"] = products["a3"].model_copy(update={"in_stock": False})
    settings = RecommendationSettings(model="sar", exclude_purchased_days=30, max_per_category=2)
    service = RecommendationService(settings, MemoryCache())
    service.train(history, products, NOW)
    picks = [p.item_id for p in service.for_you("p1", 10, now=NOW).items]
    assert "a0" not in picks and "a3" not in picks
    assert sorted(p[0] for p in picks[:4]) == ["a", "a", "b", "b"], "two a category first"
    assert len(picks) == 10, "then the next best fill the list"
    only_b = service.for_you("p1", 3, now=NOW, category="cat-b").items
    assert [p.product.category for p in only_b if p.product] == ["cat-b"] * len(only_b)


@pytest.mark.parametrize("name", ["als", "sar"])
def test_forgetting_a_person_removes_what_was_learned_from_them(name: str) -> None:
    service = RecommendationService(RecommendationSettings(model=name), MemoryCache())
    service.train(two_taste_groups(), catalogue(), NOW)
    person = "a-person-0"
    row = service.current.data.user_index[person]
    stranger = [p.item_id for p in service.for_you("stranger", 5, now=NOW).items]
    assert [p.item_id for p in service.for_you(person, 5, now=NOW).items] != stranger
    service.forget_user(person)
    snap = service.current
    assert snap.data.matrix[row].nnz == 0 and snap.purchases[row].nnz == 0
    if isinstance(snap.model, Factorized):
        assert not snap.model.user_factors[row].any()
    assert [p.item_id for p in service.for_you(person, 5, now=NOW).items] == stranger


def test_an_erasure_during_training_applies_to_the_model_being_trained() -> None:
    service = _service()
    stale = two_taste_groups()  # read before the erasure below committed
    person = "a-person-0"
    with service.exclusive():
        eraser = threading.Thread(target=service.forget_user, args=(person,))
        eraser.start()
        eraser.join(timeout=0.2)
        assert eraser.is_alive(), "erasure waits for the training in progress"
        service.train(stale, catalogue(), NOW)
    eraser.join()
    data = service.current.data
    assert person not in data.user_index and person not in data.users, "not even their id"
    assert data.matrix[data.user_index["a-person-2"]].nnz > 0, "the others are still known"


def test_training_swaps_versions_and_serving_sees_the_new_one() -> None:
    service = _service()
    first = service.current.version
    service.train(two_taste_groups(seed=2), catalogue(), NOW)
    assert service.current.version == first + 1
    assert all(
        item in GROUP_ITEMS["a"] + GROUP_ITEMS["b"]
        for item in [p.item_id for p in service.for_you("a-person-0", 5, now=NOW).items]
    )


def test_the_diversity_cap_leaves_products_of_unknown_category_alone() -> None:
    settings = RecommendationSettings(model="sar", max_per_category=2)
    service = RecommendationService(settings, MemoryCache())
    service.train(two_taste_groups(), {}, NOW)  # no catalogue: no categories known
    assert len(service.for_you("a-person-0", 6, now=NOW).items) == 6


@pytest.mark.parametrize("name", ["ease", "itemknn", "sar", "sar_lift"])
def test_scoring_one_person_agrees_with_scoring_everyone(name: str) -> None:
    data = build_matrix(two_taste_groups(), InteractionWeights(), NOW)
    model = make_model(name)
    model.fit(data.matrix)
    everyone = model.scores(np.arange(data.shape[0]), data.matrix)
    for row in range(data.shape[0]):
        np.testing.assert_allclose(
            model.scores(np.asarray([row]), data.matrix)[0], everyone[row], rtol=1e-5
        )


def test_ease_is_the_closed_form_of_the_paper() -> None:
    """B = I − P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹, with λ relative to the mean diagonal
    (Steck 2019), when every weight is kept."""
    rng = np.random.default_rng(5)
    x = (rng.random((40, 12)) < 0.3).astype(np.float32) * rng.integers(1, 4, (40, 12))
    model = make_model("ease", ease=EaseSettings(regularization=0.5, neighbours=12))
    model.fit(sparse.csr_matrix(x))
    gram = x.T.astype(np.float64) @ x
    p = np.linalg.inv(gram + 0.5 * np.diag(gram).mean() * np.eye(12))
    expected = np.eye(12) - p / np.diag(p)
    assert isinstance(model, Ease)
    np.testing.assert_allclose(model.similarity.toarray(), expected, atol=1e-4)
    assert not model.similarity.diagonal().any(), "an item never recommends itself"


def test_ease_keeps_the_strongest_weights_and_only_the_most_popular_items() -> None:
    data = build_matrix(two_taste_groups(), InteractionWeights(), NOW)
    people = np.asarray((data.matrix > 0).sum(axis=0)).ravel()
    model = Ease(EaseSettings(neighbours=5, max_items=30))
    model.fit(data.matrix)
    per_row = np.diff(model.similarity.indptr)
    assert per_row.max() <= 5
    taking_part = np.flatnonzero(per_row)
    assert len(taking_part) == 30
    assert people[taking_part].min() >= np.sort(people)[-30], "the 30 most popular"


def test_bare_als_options_reach_implicit_unchanged() -> None:
    """Our ALS is implicit's, called with the same hyperparameters and confidence weighting:
    the same factors, to the bit, on data with a known structure."""
    data = build_matrix(two_taste_groups(people=200), InteractionWeights(), NOW).matrix
    settings = FactorSettings(factors=16, regularization=0.01, iterations=15, alpha=2.0)
    ours = Factorized("als", settings)
    ours.fit(data)
    with threadpool_limits(1, "blas"):
        bare = AlternatingLeastSquares(
            factors=16,
            regularization=0.01,
            alpha=2.0,
            iterations=15,
            random_state=42,
            num_threads=1,
        )
        bare.fit(data, show_progress=False)
    np.testing.assert_array_equal(ours.item_factors, bare.item_factors)
    np.testing.assert_array_equal(ours.user_factors, bare.user_factors)
