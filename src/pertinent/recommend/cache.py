"""A cache in front of serving: in-process LRU by default, Redis for several processes.

Keys carry the model version, so a new model never serves an old answer; erasing a person
drops their entries at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Protocol

import orjson
import redis

from pertinent.recommend.settings import CacheSettings


class RecommendationCache(Protocol):
    def get(self, key: str) -> list[dict[str, Any]] | None: ...

    def set(self, key: str, items: list[dict[str, Any]]) -> None: ...

    def forget_user(self, user_id: str) -> None: ...

    def clear(self) -> None: ...


def cache_key(
    token: str,
    kind: str,
    subject: str,
    n: int,
    category: str | None,
    variant: tuple[str, ...] = (),
) -> str:
    """`token` names the model version; `variant` is whatever else shaped the answer."""
    return f"{token}|{kind}|{subject}|{n}|{category or ''}|{','.join(variant)}"


def _subject_of(key: str) -> str:
    return key.split("|")[2]


class MemoryCache:
    def __init__(self, size: int = 10_000):
        self._size = size
        self._items: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> list[dict[str, Any]] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def set(self, key: str, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self._items[key] = items
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def forget_user(self, user_id: str) -> None:
        with self._lock:
            for key in [k for k in self._items if _subject_of(k) == user_id]:
                del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class RedisCache:
    """Shared between processes; entries expire after `ttl_seconds`."""

    def __init__(self, url: str, *, prefix: str = "pertinent:reco:", ttl_seconds: int = 3600):
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._ttl = ttl_seconds

    def get(self, key: str) -> list[dict[str, Any]] | None:
        raw = self._redis.get(self._prefix + key)
        return None if raw is None else list(orjson.loads(raw))

    def set(self, key: str, items: list[dict[str, Any]]) -> None:
        self._redis.set(self._prefix + key, orjson.dumps(items), ex=self._ttl)

    def _delete_matching(self, pattern: str) -> None:
        batch = list(self._redis.scan_iter(match=pattern, count=500))
        if batch:
            self._redis.delete(*batch)

    def forget_user(self, user_id: str) -> None:
        escaped = "".join("\\" + c if c in "*?[]\\" else c for c in user_id)
        self._delete_matching(f"{self._prefix}*|{escaped}|*")

    def clear(self) -> None:
        self._delete_matching(f"{self._prefix}*")


def make_cache(settings: CacheSettings) -> RecommendationCache:
    if settings.type == "redis":
        return RedisCache(settings.url, ttl_seconds=settings.ttl_seconds)
    return MemoryCache(settings.size)
