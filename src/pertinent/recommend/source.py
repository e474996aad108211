"""Interactions from the event log: what each person viewed, added and ordered.

Reads the per-profile projection of the log, so merged people are already one person and
erased people are already gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pertinent.recommend.catalogue import product_from_properties
from pertinent.recommend.interactions import EVENT_KINDS, Interaction
from pertinent.recommend.serve import RecommendationService, TrainResult
from pertinent.storage.ports import Storage

ActionRow = tuple[str, str, datetime, dict[str, Any]]


def interactions_from_actions(rows: Iterable[ActionRow]) -> list[Interaction]:
    """One interaction per product an e-commerce event names."""
    out: list[Interaction] = []
    for profile_id, action, at, props in rows:
        kind = EVENT_KINDS.get(action)
        if kind is None:
            continue
        bags = props.get("products")
        for bag in bags if isinstance(bags, list) else [props]:
            product = product_from_properties(bag, at) if isinstance(bag, dict) else None
            if product is not None:
                out.append(Interaction(profile_id, product.item_id, kind, at))
    return out


def train_from_storage(
    storage: Storage, service: RecommendationService, now: datetime
) -> TrainResult:
    """Train the service's model on the whole log's interactions and the stored catalogue."""
    with storage.snapshot() as tx:
        rows = tx.profiles.actions(list(EVENT_KINDS))
        products = tx.products.all()
    return service.train(interactions_from_actions(rows), products, now)
