"""Serving: the current model version, swapped atomically, answering per person and per item.

A trained version is an immutable snapshot (model, matrix, catalogue, popularity); serving
reads whichever snapshot is current, and training builds a new one and swaps one reference.
Business rules apply after scoring: already-seen and recently bought items out, out-of-stock
out, an optional category, a diversity cap per category. A person the model has not seen (or
has seen too little) gets popularity in the categories they lean to: never an error.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from pertinent.recommend.cache import RecommendationCache, cache_key
from pertinent.recommend.catalogue import Product
from pertinent.recommend.interactions import Interaction, InteractionMatrix, build_matrix
from pertinent.recommend.models import Recommender, make_model
from pertinent.recommend.settings import RecommendationSettings


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    product: Product | None

    def as_dict(self) -> dict[str, Any]:
        fields = self.product.model_dump(exclude={"created_at"}) if self.product else {}
        return {**fields, "item_id": self.item_id, "score": round(self.score, 6)}


@dataclass(frozen=True)
class TrainResult:
    model: str
    version: int
    users: int
    items: int
    interactions: int
    seconds: float


@dataclass(frozen=True)
class Snapshot:
    version: int
    model: Recommender
    data: InteractionMatrix
    products: dict[str, Product]
    popularity: np.ndarray
    trending: np.ndarray
    purchases: dict[str, dict[str, datetime]]
    forgotten: frozenset[str] = field(default_factory=frozenset)


def _empty(settings: RecommendationSettings) -> Snapshot:
    data = build_matrix([], settings.weights, datetime.fromtimestamp(0).astimezone())
    return Snapshot(0, make_model("popular"), data, {}, np.zeros(0), np.zeros(0), {})


class RecommendationService:
    def __init__(self, settings: RecommendationSettings, cache: RecommendationCache):
        self.settings = settings
        self._cache = cache
        self._current = _empty(settings)
        self._train_lock = threading.Lock()

    @property
    def current(self) -> Snapshot:
        return self._current

    def train(
        self, interactions: list[Interaction], products: dict[str, Product], now: datetime
    ) -> TrainResult:
        """Fit the configured model on everything given and make it current."""
        with self._train_lock:
            started = time.perf_counter()
            s = self.settings
            data = build_matrix(interactions, s.weights, now, items=products)
            model = make_model(s.model, s.factors, s.neighbours)
            with threadpool_limits(1, "blas"):
                model.fit(data.matrix)
            recent = build_matrix(
                [i for i in interactions if i.timestamp >= now - timedelta(days=s.trending_days)],
                s.weights,
                now,
                items=data.items,
            )
            purchases: dict[str, dict[str, datetime]] = {}
            for it in interactions:
                if it.kind == "ordered":
                    bought = purchases.setdefault(it.user_id, {})
                    bought[it.item_id] = max(bought.get(it.item_id, it.timestamp), it.timestamp)
            popularity = np.asarray((data.matrix > 0).sum(axis=0), dtype=np.float32).ravel()
            trending = np.zeros(len(data.items), dtype=np.float32)
            counts = np.asarray((recent.matrix > 0).sum(axis=0), dtype=np.float32).ravel()
            for item, index in recent.item_index.items():
                trending[data.item_index[item]] = counts[index]
            self._current = Snapshot(
                self._current.version + 1,
                model,
                data,
                dict(products),
                popularity,
                trending,
                purchases,
            )
            return TrainResult(
                s.model,
                self._current.version,
                len(data.users),
                len(data.items),
                int(data.matrix.nnz),
                time.perf_counter() - started,
            )

    def for_you(
        self,
        user_id: str,
        n: int = 10,
        *,
        category: str | None = None,
        now: datetime,
        leaning: list[str] | None = None,
    ) -> list[Recommendation]:
        """Top n for a person; `leaning` names categories to fall back on for cold start."""
        snap = self._current
        key = cache_key(snap.version, "for_you", user_id, n, category)
        if (cached := self._cache.get(key)) is not None:
            return [self._from_cache(snap, c) for c in cached]
        row = None if user_id in snap.forgotten else snap.data.user_index.get(user_id)
        seen: set[int] = set()
        if row is not None:
            seen = set(snap.data.matrix[row].indices.tolist())
        if row is not None and len(seen) >= self.settings.min_interactions:
            scores = snap.model.scores(np.asarray([row]), snap.data.matrix)[0].astype(np.float64)
        else:
            scores = self._cold_scores(snap, seen, leaning or [])
        excluded = seen | self._recently_bought(snap, user_id, now)
        result = self._rank(snap, scores, n, excluded, category)
        self._cache.set(key, [r.as_dict() for r in result])
        return result

    def similar_to(self, item_id: str, n: int = 10) -> list[Recommendation]:
        snap = self._current
        key = cache_key(snap.version, "similar", item_id, n, None)
        if (cached := self._cache.get(key)) is not None:
            return [self._from_cache(snap, c) for c in cached]
        index = snap.data.item_index.get(item_id)
        has_signal = index is not None and snap.popularity[index] > 0
        if index is not None and has_signal:
            pairs = snap.model.similar(index, n * 3)
            scores = np.full(len(snap.data.items), -np.inf)
            for other, score in pairs:
                scores[other] = score
            result = self._rank(snap, scores, n, {index}, None)
        else:
            # A product nobody has touched yet is reached through its category.
            product = snap.products.get(item_id)
            category = product.category if product else None
            result = [r for r in self.popular_in(category, n + 1) if r.item_id != item_id][:n]
        self._cache.set(key, [r.as_dict() for r in result])
        return result

    def popular_in(self, category: str | None, n: int = 10) -> list[Recommendation]:
        """Popular items of a category (all categories for None), new products included."""
        snap = self._current
        scores = snap.popularity.astype(np.float64) + 0.5 * snap.trending
        return self._rank(snap, scores + 1e-6, n, set(), category)

    def forget_user(self, user_id: str) -> None:
        """Stop using a person's learned data now (their factors and history in this version);
        the next training leaves them out entirely."""
        snap = self._current
        self._current = replace(
            snap,
            forgotten=snap.forgotten | {user_id},
            purchases={k: v for k, v in snap.purchases.items() if k != user_id},
        )
        self._cache.forget_user(user_id)

    def _cold_scores(self, snap: Snapshot, seen: set[int], leaning: list[str]) -> np.ndarray:
        categories = set(leaning)
        for index in seen:
            product = snap.products.get(snap.data.items[index])
            if product is not None and product.category:
                categories.add(product.category)
        scores = snap.popularity.astype(np.float64) + 0.5 * snap.trending + 1e-6
        if categories:
            boost = scores.max(initial=0.0) + 1.0
            for index, item in enumerate(snap.data.items):
                product = snap.products.get(item)
                if product is not None and product.category in categories:
                    scores[index] += boost
        return scores

    def _recently_bought(self, snap: Snapshot, user_id: str, now: datetime) -> set[int]:
        days = self.settings.exclude_purchased_days
        bought = snap.purchases.get(user_id, {})
        if days is None:
            return set()
        since = now - timedelta(days=days) if days else datetime.min.replace(tzinfo=now.tzinfo)
        return {
            snap.data.item_index[i]
            for i, at in bought.items()
            if at >= since and i in snap.data.item_index
        }

    def _rank(
        self, snap: Snapshot, scores: np.ndarray, n: int, excluded: set[int], category: str | None
    ) -> list[Recommendation]:
        cap = self.settings.max_per_category
        per_category: dict[str | None, int] = {}
        out: list[Recommendation] = []
        for index in np.argsort(-scores, kind="stable"):
            if len(out) >= n or not np.isfinite(scores[index]):
                break
            if int(index) in excluded:
                continue
            item = snap.data.items[index]
            product = snap.products.get(item)
            if product is not None and not product.in_stock:
                continue
            item_category = product.category if product else None
            if category is not None and item_category != category:
                continue
            if cap is not None and per_category.get(item_category, 0) >= cap:
                continue
            per_category[item_category] = per_category.get(item_category, 0) + 1
            out.append(Recommendation(item, float(scores[index]), product))
        return out

    @staticmethod
    def _from_cache(snap: Snapshot, cached: dict[str, Any]) -> Recommendation:
        return Recommendation(
            cached["item_id"], float(cached["score"]), snap.products.get(cached["item_id"])
        )
