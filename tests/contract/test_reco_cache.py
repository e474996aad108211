"""The recommendation cache contract, on the in-process LRU and on the real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from pertinent.recommend.cache import MemoryCache, RecommendationCache, RedisCache, cache_key


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest) -> Iterator[RecommendationCache]:
    if request.param == "memory":
        yield MemoryCache(size=100)
        return
    redis_cache = RedisCache("redis://127.0.0.1:6379/0", prefix=f"test:{uuid.uuid4().hex}:")
    yield redis_cache
    redis_cache.clear()


ITEMS = [{"item_id": "a", "score": 0.9, "title": "A"}, {"item_id": "b", "score": 0.5}]


def test_set_then_get_returns_the_same_items(cache: RecommendationCache) -> None:
    key = cache_key(3, "for_you", "u1", 10, None)
    assert cache.get(key) is None
    cache.set(key, ITEMS)
    assert cache.get(key) == ITEMS


def test_a_new_model_version_never_sees_old_answers(cache: RecommendationCache) -> None:
    cache.set(cache_key(3, "for_you", "u1", 10, None), ITEMS)
    assert cache.get(cache_key(4, "for_you", "u1", 10, None)) is None


def test_forgetting_a_person_drops_only_their_entries(cache: RecommendationCache) -> None:
    mine = [cache_key(3, "for_you", "u1", 10, None), cache_key(3, "for_you", "u1", 4, "Books")]
    theirs = cache_key(3, "for_you", "u10", 10, None)
    for key in [*mine, theirs]:
        cache.set(key, ITEMS)
    cache.forget_user("u1")
    assert [cache.get(k) for k in mine] == [None, None]
    assert cache.get(theirs) == ITEMS


def test_clear_empties_it(cache: RecommendationCache) -> None:
    key = cache_key(1, "similar", "a", 5, None)
    cache.set(key, ITEMS)
    cache.clear()
    assert cache.get(key) is None


def test_the_memory_cache_evicts_the_least_recently_used() -> None:
    lru = MemoryCache(size=2)
    lru.set("1|for_you|a|1|", ITEMS)
    lru.set("1|for_you|b|1|", ITEMS)
    assert lru.get("1|for_you|a|1|") == ITEMS
    lru.set("1|for_you|c|1|", ITEMS)
    assert lru.get("1|for_you|b|1|") is None
    assert lru.get("1|for_you|a|1|") == ITEMS
