"""Serving: the current model version, swapped atomically, answering per person and per item.

A trained version is an immutable snapshot (model, matrix, catalogue, popularity); serving
reads whichever snapshot is current, and training builds a new one and swaps one reference.
Business rules apply after scoring (`ranking.py`). A person the model has not seen (or has
seen too little) gets popularity in the categories they lean to; a product behaviour cannot
rank yet is ranked by its catalogue fields (`content.py`): never an error, and every answer
names what actually produced it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy import sparse

from pertinent.clock import monotonic
from pertinent.recommend.cache import RecommendationCache, cache_key
from pertinent.recommend.catalogue import Product
from pertinent.recommend.choice import configured
from pertinent.recommend.content import like, mix, taste_match, with_new_items
from pertinent.recommend.evaluate import Progress
from pertinent.recommend.interactions import (
    ORDERED,
    Interaction,
    InteractionColumns,
    build_matrix,
)
from pertinent.recommend.models import make_model
from pertinent.recommend.ranking import rank
from pertinent.recommend.select import Selection, select_model
from pertinent.recommend.settings import RecommendationSettings
from pertinent.recommend.snapshot import Recommendation, Snapshot, make_snapshot, row_of

CATALOGUE = "catalogue"
COLD_START_CATEGORY = "cold_start:category"
COLD_START_CATALOGUE = f"cold_start:{CATALOGUE}"
POPULAR = "popular"
# Orders equal scores by popularity, far below any difference a model means.
_TIE_BREAK = 1e-6


@dataclass(frozen=True)
class Answer:
    """A list and what produced it: the model (`als`, `ease` …), `<model>+catalogue` when
    new products' descriptions were blended in, `cold_start:category`,
    `cold_start:catalogue` or `popular`."""

    model: str
    items: list[Recommendation]


@dataclass(frozen=True)
class TrainResult:
    model: str  # the model serving now (what `auto` chose, under auto)
    version: int
    users: int
    items: int
    interactions: int
    seconds: float
    configured: str = ""  # `recommendations.model`: `auto` or a model's name
    selection_seconds: float | None = None


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
        self._current = make_snapshot(
            0,
            make_model(POPULAR),
            empty,
            {},
            np.zeros(0),
            sparse.csr_matrix((0, 0)),
            new_item_people=settings.new_item_people,
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

    def select(
        self, interactions: list[Interaction], now: datetime, progress: Progress | None = None
    ) -> Selection:
        """Run `auto`'s comparison on `interactions` (long: call it outside `exclusive`); the
        model chosen last time is the incumbent."""
        columns = InteractionColumns.of(interactions)
        return select_model(
            columns, self.settings, now, incumbent=self._current.selection, progress=progress
        )

    def train(
        self,
        interactions: list[Interaction],
        products: dict[str, Product],
        now: datetime,
        *,
        selection: Selection | None = None,
        progress: Progress | None = None,
    ) -> TrainResult:
        """Fit the configured model on everything given and make it current. Under `auto`, the
        model `selection` chose (selecting first when none is given)."""
        with self._lock:
            started = monotonic()
            s = self.settings
            if s.model == "auto" and selection is None:
                selection = self.select(interactions, now, progress)
            choice = selection.chosen if s.model == "auto" and selection else configured(s, s.model)
            columns = InteractionColumns.of(interactions, items=products)
            data = columns.matrix(choice.weights, now)
            recent = columns.since(now - timedelta(days=s.trending_days))
            model = choice.build()
            # Trending is popularity over the recent window only.
            fitted = columns.matrix(choice.weights, now, recent) if s.model == "trending" else data
            model.fit(fitted.matrix)
            self._current = make_snapshot(
                self._current.version + 1,
                model,
                data,
                dict(products),
                columns.distinct_users_per_item(recent),
                columns.latest(columns.kind == ORDERED),
                new_item_people=s.new_item_people,
                selection=selection if s.model == "auto" else None,
            )
            return TrainResult(
                choice.model,
                self._current.version,
                len(data.users),
                len(data.items),
                int(data.matrix.nnz),
                monotonic() - started,
                configured=s.model,
                selection_seconds=selection.seconds if selection and s.model == "auto" else None,
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
    ) -> Answer:
        """Top n for a person. `leaning` gives the categories to fall back on for cold start;
        it is only called for a person the model knows too little about."""
        snap = self._current
        row = snap.data.user_index.get(user_id)
        seen, affinity = row_of(snap.data.matrix, row) if row is not None else _NOTHING
        warm = row is not None and len(seen) >= self.settings.min_interactions
        wanted: list[str] = []
        if not warm:
            wanted = list(dict.fromkeys(leaning() if leaning is not None else []))
            wanted += [c for c in dict.fromkeys(snap.categories[seen]) if c and c not in wanted]
        skip_seen = self.settings.exclude_seen if exclude_seen is None else exclude_seen
        key = cache_key(snap.token, "for_you", user_id, n, category, (*wanted, f"{skip_seen}"))
        if (cached := self._cache.get(key)) is not None:
            result = [self._from_cache(snap, c) for c in cached]
        else:
            if warm:
                scores = snap.model.scores(np.asarray([row]), snap.data.matrix)[0]
                scores = scores.astype(np.float64)
                if snap.content.any_young:
                    unseen = np.ones(len(scores), dtype=bool)
                    unseen[seen] = False
                    description = taste_match(snap.content, seen, affinity)
                    scores = with_new_items(scores, description, snap.content, unseen)
                scores += _TIE_BREAK * snap.popularity / snap.popularity.max(initial=1.0)
            else:
                scores = self._cold_scores(snap, wanted)
            excluded = self._recently_bought(snap, row, now)
            if skip_seen:
                excluded |= set(seen.tolist())
            result = rank(snap, scores, n, excluded, category, self.settings.max_per_category)
            self._cache.set(key, [r.as_dict() for r in result])
        if not warm:
            return Answer(COLD_START_CATEGORY if wanted else POPULAR, result)
        return Answer(_blended_name(snap, snap.model.name, result), result)

    def similar_to(self, item_id: str, n: int = 10) -> Answer:
        """Products like `item_id`: by behaviour, by description while it is new, and then by
        popularity (in its category first), so the list is full whenever the catalogue is."""
        snap = self._current
        index = snap.data.item_index.get(item_id)
        product = snap.products.get(item_id)
        maturity = float(snap.content.maturity[index]) if index is not None else 0.0
        described = index is not None and snap.content.features[index].nnz > 0
        if maturity >= 1:
            source = snap.model.name
        elif maturity > 0:
            source = f"{snap.model.name}+{CATALOGUE}"
        else:
            source = COLD_START_CATALOGUE if described else POPULAR
        key = cache_key(snap.token, "similar", item_id, n, None)
        if (cached := self._cache.get(key)) is not None:
            return Answer(source, [self._from_cache(snap, c) for c in cached])
        scores = self._popular_scores(snap) * _TIE_BREAK / snap.popularity.max(initial=1.0)
        if product is not None and product.category is not None:
            scores[snap.categories == product.category] += _TIE_BREAK
        if index is not None:
            behaviour = np.zeros(len(snap.data.items))
            if maturity > 0:
                for other, score in snap.model.similar(index, 3 * n + 10):
                    behaviour[other] = score
            description = like(snap.content, index)
            scores += mix(behaviour, description, maturity) + 1e-3 * description
        excluded = {index} if index is not None else set()
        result = rank(snap, scores, n, excluded, None, self.settings.max_per_category)
        self._cache.set(key, [r.as_dict() for r in result])
        return Answer(source, result)

    def popular_in(self, category: str | None, n: int = 10) -> Answer:
        """Popular items of a category (all categories for None), new products included."""
        snap = self._current
        scores = self._popular_scores(snap)
        return Answer(
            POPULAR, rank(snap, scores, n, set(), category, self.settings.max_per_category)
        )

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

    def _cold_scores(self, snap: Snapshot, wanted: list[str]) -> np.ndarray:
        scores = self._popular_scores(snap)
        if wanted:
            in_wanted = np.isin(snap.categories, np.asarray(wanted, dtype=object))
            scores[in_wanted] += scores.max(initial=0.0) + 1.0
        return scores

    def _recently_bought(self, snap: Snapshot, row: int | None, now: datetime) -> set[int]:
        days = self.settings.exclude_purchased_days
        if days is None or row is None:
            return set()
        since = (now - timedelta(days=days)).timestamp() if days else -np.inf
        items, at = row_of(snap.purchases, row)
        return set(items[at >= since].tolist())

    @staticmethod
    def _from_cache(snap: Snapshot, cached: dict[str, Any]) -> Recommendation:
        return Recommendation(
            cached["item_id"], float(cached["score"]), snap.products.get(cached["item_id"])
        )


_NOTHING = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


def _blended_name(snap: Snapshot, model: str, items: list[Recommendation]) -> str:
    """`model`, or `model+catalogue` when a listed product was ranked partly by its
    description (fewer than `new_item_people` people have touched it)."""
    index = snap.data.item_index
    young = any(snap.content.maturity[index[r.item_id]] < 1 for r in items)
    return f"{model}+{CATALOGUE}" if young else model
