"""Computed properties: what a person has done, folded from their events.

Stored: counts of the person's own actions, orders, revenue, average order value, first/last
order, first/last seen and last visit (site and app activity), last engagement (that, and
human opens and clicks), active hours and the preferred send hour, category counts and the
favourite category. Derived at read time (they change with the clock, not with events): days
since each of those times, and the engagement tier; `segments.derived` compiles the same
definitions into conditions.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pertinent.events.model import Event
from pertinent.events.system import SYSTEM_EVENTS
from pertinent.profiles.rfm import RFM_KEYS
from pertinent.profiles.settings import EngagementSettings

ORDER_COMPLETED = "Order Completed"
# The person's answers to an email: counted and engagement, but not a visit (an open is not
# the person on the site), and not at all when a machine (a scanner, a proxy) made them.
EMAIL_ACTIONS = frozenset({"email_opened", "email_clicked", "unsubscribed"})
# The other events Pertinent writes about a person are history, not the person's own
# activity: not counted, never "seen".
SYSTEM_ACTIONS = SYSTEM_EVENTS - EMAIL_ACTIONS
ENGAGING_EMAIL = frozenset({"email_opened", "email_clicked"})
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
        "average_order_value": None,
        "first_seen_at": None,
        "last_seen_at": None,
        "last_engaged_at": None,
        "send_hours": {},
        "preferred_send_hour": None,
    }


_DEFAULTS = empty_computed()
_TIERS = EngagementSettings()


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


def machine_made(event: Event) -> bool:
    """An open or a click a mail proxy or a link scanner made (`tracking.machine_opens`): in
    the log and the timeline, never the person's engagement."""
    return event.properties.get("machine") is True and event.action in ENGAGING_EMAIL


_ORDER_KEYS = frozenset(
    {"orders", "revenue", "first_order_at", "last_order_at", "average_order_value"}
)
_CATEGORY_KEYS = frozenset({"category_counts", "favourite_category"})


def changed_keys(event: Event) -> frozenset[str]:
    """The stored computed properties `fold_event` can change for this event, so a segment
    on `computed.revenue` need not be re-evaluated for a page view."""
    action = event.action
    if action is None or machine_made(event):
        return frozenset()
    if action in SYSTEM_ACTIONS:
        return frozenset()
    keys = {"event_counts", "last_engaged_at", "send_hours", "preferred_send_hour"}
    if action in EMAIL_ACTIONS:
        return frozenset(keys)
    keys |= {"last_visit_at", "first_seen_at", "last_seen_at"}
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
    if action is None or action in SYSTEM_ACTIONS or machine_made(event):
        return  # a scanner's open or click is nobody's
    counts = computed["event_counts"]
    counts[action] = counts.get(action, 0) + 1
    stamp = event.timestamp.isoformat()
    if action not in EMAIL_ACTIONS or action in ENGAGING_EMAIL:
        _latest(computed, "last_engaged_at", stamp)
        _count_hour(computed, event)
    if action in EMAIL_ACTIONS:
        return
    _latest(computed, "last_visit_at", stamp)
    _latest(computed, "last_seen_at", stamp)
    if computed["first_seen_at"] is None or stamp < computed["first_seen_at"]:
        computed["first_seen_at"] = stamp
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
        computed["average_order_value"] = round(computed["revenue"] / computed["orders"], 2)


def _latest(computed: dict[str, Any], key: str, stamp: str) -> None:
    if computed[key] is None or stamp > computed[key]:
        computed[key] = stamp


def _local_hour(event: Event) -> int:
    """The hour of the event in the person's time zone (`context.timezone`, as Segment's
    libraries send it; UTC when absent or unknown)."""
    zone = event.context.get("timezone")
    if isinstance(zone, str):
        try:
            return event.timestamp.astimezone(_zone(zone)).hour
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return event.timestamp.astimezone(UTC).hour


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _count_hour(computed: dict[str, Any], event: Event) -> None:
    """The hours the person is active in (opens, clicks, visits), and the busiest (ties go
    to the earlier hour, so order is moot)."""
    hours = computed["send_hours"]
    hour = str(_local_hour(event))
    hours[hour] = hours.get(hour, 0) + 1
    computed["preferred_send_hour"] = preferred_hour(hours)


def preferred_hour(hours: dict[str, int]) -> int | None:
    if not hours:
        return None
    return int(min(hours.items(), key=lambda kv: (-kv[1], int(kv[0])))[0])


def _days_since(stamp: str | None, now: datetime) -> int | None:
    if stamp is None:
        return None
    return (now - datetime.fromisoformat(stamp)).days


def engagement_tier(
    computed: dict[str, Any], now: datetime, engagement: EngagementSettings = _TIERS
) -> str | None:
    """high (engaged in the last `high_days`), moderate (`moderate_days`), lapsed, or None
    when never engaged: what `segments.derived` compiles `computed.engagement_tier` to."""
    days = _days_since(computed.get("last_engaged_at"), now)
    if days is None:
        return None
    if days < engagement.high_days:
        return "high"
    return "moderate" if days < engagement.moderate_days else "lapsed"


def with_recency(
    computed: dict[str, Any], now: datetime, engagement: EngagementSettings = _TIERS
) -> dict[str, Any]:
    """The stored bag plus the properties read off it as of `now` (days since, the
    engagement tier under the workspace's thresholds, RFM's measures and scores), for
    templates and the API; `segments.derived` gives conditions the same meanings."""
    since_last_order = _days_since(computed.get("last_order_at"), now)
    return {
        **computed,
        "days_since_last_visit": _days_since(computed.get("last_visit_at"), now),
        "days_since_last_purchase": since_last_order,
        "days_since_first_seen": _days_since(computed.get("first_seen_at"), now),
        "days_since_last_seen": _days_since(computed.get("last_seen_at"), now),
        "days_since_last_engaged": _days_since(computed.get("last_engaged_at"), now),
        "engagement_tier": engagement_tier(computed, now, engagement),
        "rfm_recency": since_last_order,
        "rfm_frequency": computed.get("orders", 0),
        "rfm_monetary": computed.get("revenue", 0.0),
        **{key: computed.get(key) for key in sorted(RFM_KEYS)},
    }
