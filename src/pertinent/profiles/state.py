"""A person's folded state, and how two states merge.

Every field folds with an operation that does not care about order (sums, min, max, and
last-writer-wins by event time for traits), so the same events give the same profile whatever
order they arrive in, and merging two people's histories is the same fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from pertinent.profiles.computed import favourite, preferred_hour
from pertinent.segments.dates import TRAIT_DATES, canonical_date

ANON_PREFIX = "anon:"


def anonymous_profile_id(anonymous_id: str) -> str:
    return ANON_PREFIX + anonymous_id


def is_anonymous(profile_id: str) -> bool:
    return profile_id.startswith(ANON_PREFIX)


def _tiebreak(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass
class ProfileState:
    """Traits with their write times, computed counters, and first/last seen."""

    profile_id: str
    traits: dict[str, Any] = field(default_factory=dict)
    trait_times: dict[str, str] = field(default_factory=dict)
    computed: dict[str, Any] = field(default_factory=dict)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    # The stored row's version, 0 before it is stored: a save of a state loaded at version n
    # fails if another writer saved it since (see `ProfileStore.save`).
    version: int = 0

    def set_trait(self, key: str, value: Any, at: datetime) -> None:
        """Last writer wins by event time; equal times are broken by value, so order is moot."""
        stamp = at.isoformat()
        current = self.trait_times.get(key)
        if current is not None:
            if stamp < current:
                return
            if stamp == current and _tiebreak(value) <= _tiebreak(self.traits.get(key)):
                return
        self.traits[key] = value
        self.trait_times[key] = stamp
        # A date trait is also kept in canonical form, which conditions compare as text.
        dates = self.computed.setdefault(TRAIT_DATES, {})
        canonical = canonical_date(value)
        if canonical is None:
            dates.pop(key, None)
        else:
            dates[key] = canonical

    def seen(self, at: datetime) -> None:
        self.first_seen = at if self.first_seen is None else min(self.first_seen, at)
        self.last_seen = at if self.last_seen is None else max(self.last_seen, at)

    def absorb(self, other: ProfileState) -> None:
        """Fold another person's state into this one (an identity merge)."""
        for key, value in other.traits.items():
            self.set_trait(key, value, datetime.fromisoformat(other.trait_times[key]))
        if other.first_seen is not None:
            self.seen(other.first_seen)
        if other.last_seen is not None:
            self.seen(other.last_seen)
        self.computed = merge_computed(self.computed, other.computed)


def _merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for key, n in b.items():
        out[key] = out.get(key, 0) + n
    return out


def _latest(a: str | None, b: str | None) -> str | None:
    return max(x for x in (a, b) if x is not None) if (a or b) else None


def _earliest(a: str | None, b: str | None) -> str | None:
    return min(x for x in (a, b) if x is not None) if (a or b) else None


def merge_computed(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Combine two computed-property bags with the same order-free operations fold uses."""
    out = dict(a)
    out["event_counts"] = _merge_counts(a.get("event_counts", {}), b.get("event_counts", {}))
    out["category_counts"] = _merge_counts(
        a.get("category_counts", {}), b.get("category_counts", {})
    )
    out["orders"] = a.get("orders", 0) + b.get("orders", 0)
    out["revenue"] = round(a.get("revenue", 0.0) + b.get("revenue", 0.0), 2)
    out["last_order_at"] = _latest(a.get("last_order_at"), b.get("last_order_at"))
    out["first_order_at"] = _earliest(a.get("first_order_at"), b.get("first_order_at"))
    out["last_visit_at"] = _latest(a.get("last_visit_at"), b.get("last_visit_at"))
    out["favourite_category"] = favourite(out["category_counts"])
    orders = out["orders"]
    out["average_order_value"] = round(out["revenue"] / orders, 2) if orders else None
    out["first_seen_at"] = _earliest(a.get("first_seen_at"), b.get("first_seen_at"))
    out["last_seen_at"] = _latest(a.get("last_seen_at"), b.get("last_seen_at"))
    out["last_engaged_at"] = _latest(a.get("last_engaged_at"), b.get("last_engaged_at"))
    out["send_hours"] = _merge_counts(a.get("send_hours", {}), b.get("send_hours", {}))
    out["preferred_send_hour"] = preferred_hour(out["send_hours"])
    return out
