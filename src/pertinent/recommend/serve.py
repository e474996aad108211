"""Serving: the current model version, swapped atomically, answering per person and per item.

A trained version is an immutable snapshot (model, matrix, catalogue, popularity); serving
reads whichever snapshot is current, and training builds a new one and swaps one reference.
Business rules apply after scoring: already-seen items and recently bought items out,
out-of-stock out, an optional category, a diversity cap per category. A person the model has
not seen (or has seen too little) gets popularity in the categories they lean to: never an
error.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy import sparse

from pertinent.recommend.cache import RecommendationCache, cache_key
from pertinent.recommend.catalogue import Product
from pertinent.recommend.interactions import (
    ORDERED,
    Interaction,
    InteractionColumns,
    InteractionMatrix,
    build_matrix,
)
from pertinent.recommend.models import Recommender, make_model, top_k
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
    # Unique across processes and restarts: cache keys carry it, so a shared (Redis) cache
    # never hands one node's answer to another node's model.
    token: str
    model: Recommender
    data: InteractionMatrix
    products: dict[str, Product]
    categories: np.ndarray  # the category of each item column (None when unknown)
    in_stock: np.ndarray  # False for items the catalogue says are out of stock
    popularity: np.ndarray
    trending: np.ndarray
    purchases: sparse.csr_matrix  # users × items: when each was last ordered (epoch seconds)


def _snapshot(
    version: int,
    model: Recommender,
    data: InteractionMatrix,
    products: dict[str, Product],
    trending: np.ndarray,
    purchases: sparse.csr_matrix,
) -> Snapshot:
    known = [products.get(item) for item in data.items]
    categories = np.asarray([p.category if p else None for p in known], dtype=object)
    in_stock = np.asarray([p.in_stock if p else True for p in known], dtype=bool)
    popularity = np.asarray((data.matrix > 0).sum(axis=0), dtype=np.float32).ravel()
    return Snapshot(
        version,
        uuid.uuid4().hex,
        model,
        data,
        products,
        categories,
        in_stock,
        popularity,
        trending,
        purchases,
    )


def _row(matrix: sparse.csr_matrix, row: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of one CSR row, without SciPy's indexing machinery (which
    costs more than a whole recommendation)."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    return matrix.indices[start:end], matrix.data[start:end]


def leaning_categories(
    traits: Mapping[str, Any], computed: Mapping[str, Any], trait_names: list[str]
) -> list[str]:
    """The categories a person leans to, for cold start: their favourite category so far, then
    whatever the configured traits name (a string or a list of strings each)."""
    found: list[str] = []
    favourite = computed.get("favourite_category")
    if isinstance(favourite, str):
        found.append(favourite)
    for name in trait_names:
        value = traits.get(name)
        for category in value if isinstance(value, list) else [value]:
            if isinstance(category, str) and category and category not in found:
                found.append(category)
    return found


def without_person(snap: Snapshot, user_id: str, products: Collection[str] = ()) -> Snapshot:
    """`snap` with nothing of the person left in it: their row of interactions and purchases,
    their factors where the model has any, their id, and the catalogue rows their events
    described (`products`). The same snapshot when it holds none of these."""
    row = snap.data.user_index.get(user_id)
    described = set(products) & set(snap.products)
    if row is None and not described:
        return snap
    snap = replace(
        snap,
        token=uuid.uuid4().hex,
        products={k: p for k, p in snap.products.items() if k not in described},
    )
    if row is None:
        return snap
    keep = sparse.diags((np.arange(len(snap.data.users)) != row).astype(np.float32), format="csr")
    matrix = (keep @ snap.data.matrix).tocsr()
    matrix.eliminate_zeros()
    purchases = (keep @ snap.purchases).tocsr()
    purchases.eliminate_zeros()
    users = list(snap.data.users)
    users[row] = ""  # the row stays (others' rows keep their numbers); the id goes
    index = {u: i for u, i in snap.data.user_index.items() if u != user_id}
    return replace(
        snap,
        model=snap.model.without_user(row),
        data=replace(snap.data, matrix=matrix, users=users, user_index=index),
        purchases=purchases,
    )


class RecommendationService:
    def __init__(self, settings: RecommendationSettings, cache: RecommendationCache):
        self.settings = settings
        self._cache = cache
        empty = build_matrix([], settings.weights, datetime.fromtimestamp(0, UTC))
        self._current = _snapshot(
            0, make_model("popular"), empty, {}, np.zeros(0), sparse.csr_matrix((0, 0))
        )
        # Held across reading the training data and swapping the model, so an erasure either
        # lands before the read or is applied to the model trained from it, never lost.
        self._lock = threading.RLock()

    @property
    def current(self) -> Snapshot:
        return self._current

    def install(self, snapshot: Snapshot) -> None:
        """Serve `snapshot` (a model another process trained and published)."""
        with self._lock:
            self._current = snapshot

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold off erasures while training data is read and the model is trained."""
        with self._lock:
            yield

    def train(
        self, interactions: list[Interaction], products: dict[str, Product], now: datetime
    ) -> TrainResult:
        """Fit the configured model on everything given and make it current."""
        with self._lock:
            started = time.perf_counter()
            s = self.settings
            columns = InteractionColumns.of(interactions, items=products)
            data = columns.matrix(s.weights, now)
            recent = columns.since(now - timedelta(days=s.trending_days))
            model = make_model(s.model, s.factors, s.neighbours)
            # Trending is popularity over the recent window only.
            fitted = columns.matrix(s.weights, now, recent) if s.model == "trending" else data
            model.fit(fitted.matrix)
            self._current = _snapshot(
                self._current.version + 1,
                model,
                data,
                dict(products),
                columns.distinct_users_per_item(recent),
                columns.latest(columns.kind == ORDERED),
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
        leaning: Callable[[], list[str]] | None = None,
        exclude_seen: bool | None = None,
    ) -> list[Recommendation]:
        """Top n for a person. `leaning` gives the categories to fall back on for cold start;
        it is only called for a person the model knows too little about."""
        snap = self._current
        row = snap.data.user_index.get(user_id)
        seen = set(_row(snap.data.matrix, row)[0].tolist()) if row is not None else set()
        warm = row is not None and len(seen) >= self.settings.min_interactions
        categories = [] if warm or leaning is None else leaning()
        skip_seen = self.settings.exclude_seen if exclude_seen is None else exclude_seen
        key = cache_key(
            snap.token, "for_you", user_id, n, category, (*categories, f"seen={skip_seen}")
        )
        if (cached := self._cache.get(key)) is not None:
            return [self._from_cache(snap, c) for c in cached]
        if warm:
            scores = snap.model.scores(np.asarray([row]), snap.data.matrix)[0].astype(np.float64)
        else:
            scores = self._cold_scores(snap, seen, categories)
        excluded = self._recently_bought(snap, row, now)
        if skip_seen:
            excluded |= seen
        result = self._rank(snap, scores, n, excluded, category)
        self._cache.set(key, [r.as_dict() for r in result])
        return result

    def similar_to(self, item_id: str, n: int = 10) -> list[Recommendation]:
        snap = self._current
        key = cache_key(snap.token, "similar", item_id, n, None)
        if (cached := self._cache.get(key)) is not None:
            return [self._from_cache(snap, c) for c in cached]
        index = snap.data.item_index.get(item_id)
        if index is not None and snap.popularity[index] > 0:
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
        return self._rank(snap, self._popular_scores(snap), n, set(), category)

    def forget_user(self, user_id: str, products: Collection[str] = ()) -> None:
        """Remove what the current model learned from a person (`without_person`). The next
        training no longer sees them at all (their events are gone from the log)."""
        with self._lock:
            self._current = without_person(self._current, user_id, products)
            self._cache.forget_user(user_id)

    @staticmethod
    def _popular_scores(snap: Snapshot) -> np.ndarray:
        # The epsilon keeps never-touched (new) products rankable behind touched ones.
        return snap.popularity.astype(np.float64) + 0.5 * snap.trending + 1e-6

    def _cold_scores(self, snap: Snapshot, seen: set[int], leaning: list[str]) -> np.ndarray:
        wanted = set(leaning)
        wanted.update(c for c in snap.categories[list(seen)] if c is not None)
        scores = self._popular_scores(snap)
        if wanted:
            in_wanted = np.fromiter((c in wanted for c in snap.categories), bool, len(scores))
            scores[in_wanted] += scores.max(initial=0.0) + 1.0
        return scores

    def _recently_bought(self, snap: Snapshot, row: int | None, now: datetime) -> set[int]:
        days = self.settings.exclude_purchased_days
        if days is None or row is None:
            return set()
        since = (now - timedelta(days=days)).timestamp() if days else -np.inf
        items, at = _row(snap.purchases, row)
        return set(items[at >= since].tolist())

    def _rank(
        self, snap: Snapshot, scores: np.ndarray, n: int, excluded: set[int], category: str | None
    ) -> list[Recommendation]:
        """The n best eligible items; the diversity cap only counts items of known category."""
        eligible = np.isfinite(scores) & snap.in_stock
        if excluded:
            eligible[list(excluded)] = False
        if category is not None:
            eligible &= snap.categories == category
        candidates = np.flatnonzero(eligible)
        # Sorting every candidate costs more than the rest of a request: rank a short list
        # first, and only the whole list when the diversity cap leaves the short one short.
        short = min(len(candidates), 4 * n + 40)
        out = self._take(snap, scores, candidates[top_k(scores[candidates][None, :], short)[0]], n)
        if len(out) < n and short < len(candidates):
            everything = candidates[np.argsort(-scores[candidates], kind="stable")]
            out = self._take(snap, scores, everything, n)
        return out

    def _take(
        self, snap: Snapshot, scores: np.ndarray, ranked: np.ndarray, n: int
    ) -> list[Recommendation]:
        """The first n of `ranked` that the per-category cap lets through."""
        cap = self.settings.max_per_category
        per_category: dict[str, int] = {}
        out: list[Recommendation] = []
        for index in ranked:
            if len(out) >= n:
                break
            item_category = snap.categories[index]
            if cap is not None and item_category is not None:
                if per_category.get(item_category, 0) >= cap:
                    continue
                per_category[item_category] = per_category.get(item_category, 0) + 1
            item = snap.data.items[index]
            out.append(Recommendation(item, float(scores[index]), snap.products.get(item)))
        return out

    @staticmethod
    def _from_cache(snap: Snapshot, cached: dict[str, Any]) -> Recommendation:
        return Recommendation(
            cached["item_id"], float(cached["score"]), snap.products.get(cached["item_id"])
        )
