"""Computed properties: what a person has done, folded from their events.

Stored: counts per action, orders, revenue, first/last order, last visit, category counts and
the favourite category. Derived at read time (they change with the clock, not with events):
days since last visit and since last purchase.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pertinent.events.model import Event

ORDER_COMPLETED = "Order Completed"
# Events Pertinent writes about a person; they are history, not the person's own activity.
SYSTEM_ACTIONS = frozenset(
    {
        "segment_entered",
        "segment_exited",
        "email_sent",
        "journey_step",
        "email_bounced",
        "email_complained",
    }
)
# Segment e-commerce spec v2 events whose properties name a product category.
_CATEGORY_EVENTS = frozenset(
    {"Product Viewed", "Product Added", "Product Clicked", "Order Completed", "Product Removed"}
)


def empty_computed() -> dict[str, Any]:
    """Every stored computed property at its starting value (so all profiles have all keys)."""
    return {
        "event_counts": {},
        "category_counts": {},
        "favourite_category": None,
        "orders": 0,
        "revenue": 0.0,
        "first_order_at": None,
        "last_order_at": None,
        "last_visit_at": None,
    }


_DEFAULTS = empty_computed()


def favourite(category_counts: dict[str, int]) -> str | None:
    """The most frequent category; ties go to the alphabetically first, so order is moot."""
    if not category_counts:
        return None
    return min(category_counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def _categories(event: Event) -> list[str]:
    props = event.properties
    found: list[str] = []
    if isinstance(props.get("category"), str):
        found.append(props["category"])
    products = props.get("products")
    if isinstance(products, list):
        found.extend(
            p["category"]
            for p in products
            if isinstance(p, dict) and isinstance(p.get("category"), str)
        )
    return found


def _revenue(props: dict[str, Any]) -> float:
    for key in ("revenue", "total", "value"):
        value = props.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    products = props.get("products")
    if isinstance(products, list):
        return sum(
            float(p.get("price", 0) or 0) * float(p.get("quantity", 1) or 1)
            for p in products
            if isinstance(p, dict)
            and isinstance(p.get("price", 0), int | float)
            and isinstance(p.get("quantity", 1), int | float)
        )
    return 0.0


_ORDER_KEYS = frozenset({"orders", "revenue", "first_order_at", "last_order_at"})
_CATEGORY_KEYS = frozenset({"category_counts", "favourite_category"})


def changed_keys(event: Event) -> frozenset[str]:
    """The stored computed properties `fold_event` can change for this event, so a segment
    on `computed.revenue` need not be re-evaluated for a page view."""
    action = event.action
    if action is None:
        return frozenset()
    keys = {"event_counts"}
    if action in SYSTEM_ACTIONS:
        return frozenset(keys)
    keys.add("last_visit_at")
    if action in _CATEGORY_EVENTS:
        keys |= _CATEGORY_KEYS
    if action == ORDER_COMPLETED:
        keys |= _ORDER_KEYS
    return frozenset(keys)


def fold_event(computed: dict[str, Any], event: Event) -> None:
    """Fold one more event into the computed bag, in place (the processor folds a batch of
    events into thousands of bags; copying each bag per event would cost more than the fold)."""
    action = event.action
    for key, value in _DEFAULTS.items():
        if key not in computed:
            computed[key] = dict(value) if isinstance(value, dict) else value
    if action is None:
        return
    counts = computed["event_counts"]
    counts[action] = counts.get(action, 0) + 1
    if action in SYSTEM_ACTIONS:
        return
    stamp = event.timestamp.isoformat()
    if computed["last_visit_at"] is None or stamp > computed["last_visit_at"]:
        computed["last_visit_at"] = stamp
    if action in _CATEGORY_EVENTS:
        cats = computed["category_counts"]
        for category in _categories(event):
            cats[category] = cats.get(category, 0) + 1
            # Only this count grew, so the favourite is the old one or this one (the same
            # answer as `favourite(cats)`, without a pass over every category per event).
            best = computed["favourite_category"]
            if best is None or (-cats[category], category) < (-cats.get(best, 0), best):
                computed["favourite_category"] = category
    if action == ORDER_COMPLETED:
        computed["orders"] = computed["orders"] + 1
        computed["revenue"] = round(computed["revenue"] + _revenue(event.properties), 2)
        if computed["last_order_at"] is None or stamp > computed["last_order_at"]:
            computed["last_order_at"] = stamp
        if computed["first_order_at"] is None or stamp < computed["first_order_at"]:
            computed["first_order_at"] = stamp


def _days_since(stamp: str | None, now: datetime) -> int | None:
    if stamp is None:
        return None
    return (now - datetime.fromisoformat(stamp)).days


def with_recency(computed: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The stored bag plus the clock-dependent properties, for reading."""
    return {
        **computed,
        "days_since_last_visit": _days_since(computed.get("last_visit_at"), now),
        "days_since_last_purchase": _days_since(computed.get("last_order_at"), now),
    }
