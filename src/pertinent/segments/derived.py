"""Computed properties that are not stored, written in conditions as if they were.

`computed.days_since_last_purchase`, `computed.engagement_tier` and the workspace's custom
computed properties change with the clock or are defined over events, so no stored value
could keep up. A condition naming one is rewritten, when the segments are loaded, into the
nodes that mean the same at any instant (`days_since` on the stored time, an `aggregate` over
the events): those compile to SQL, have timers, and agree with what a profile shows.
"""

from __future__ import annotations

from typing import Any, assert_never

from pydantic import ValidationError

from pertinent.errors import ConfigError
from pertinent.profiles.settings import ProfileSettings
from pertinent.segments.evaluate import MISSING, compare
from pertinent.segments.language import (
    MAX_DAYS,
    AggregateCondition,
    AllCondition,
    AnniversaryCondition,
    AnyCondition,
    Comparison,
    Condition,
    DaysSinceCondition,
    InSegmentCondition,
    NotCondition,
    NotPerformedCondition,
    PerformedCondition,
    SequenceCondition,
    TraitCondition,
)

# Read-time day counts (see `profiles.computed.with_recency`) and the stored time each counts from.
DAY_COUNTS = {
    "days_since_last_visit": "computed.last_visit_at",
    "days_since_last_purchase": "computed.last_order_at",
    "days_since_first_seen": "computed.first_seen_at",
    "days_since_last_seen": "computed.last_seen_at",
    "days_since_last_engaged": "computed.last_engaged_at",
    "rfm_recency": "computed.last_order_at",
}
# Other names of stored properties (RFM's measures, under the names RFM gives them).
ALIASES = {"rfm_frequency": "computed.orders", "rfm_monetary": "computed.revenue"}
ENGAGEMENT_TIER = "engagement_tier"
ENGAGED_AT = "computed.last_engaged_at"


def _days(date: str, op: str, value: Any = None) -> DaysSinceCondition:
    return DaysSinceCondition(type="days_since", date=date, op=op, value=value)  # type: ignore[arg-type]


def _never(date: str) -> Condition:
    return AllCondition(type="all", conditions=[_days(date, "exists"), _days(date, "not_exists")])


def _either(date: str, parts: list[Condition]) -> Condition:
    if not parts:
        return _never(date)
    return parts[0] if len(parts) == 1 else AnyCondition(type="any", conditions=parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _clamped(value: Any) -> Any:
    """Days beyond what any date can be away are as good as the farthest (no date is
    MAX_DAYS from any instant a datetime can hold)."""
    return max(-MAX_DAYS, min(MAX_DAYS, value))


def day_count(date: str, cmp: Comparison) -> Condition:
    """A comparison of a whole number of days since `date`, with the language's typed
    semantics (text never equals a number; a missing date matches `ne` and `not_exists`)."""
    op, value = cmp.op, cmp.value
    if op in ("exists", "not_exists"):
        return _days(date, op)
    if op == "in":
        return _either(date, [_days(date, "eq", _clamped(v)) for v in value if _is_number(v)])
    if op == "between" and all(map(_is_number, value)):
        return _days(date, "between", [_clamped(v) for v in value])
    if op in ("eq", "ne", "gt", "gte", "lt", "lte") and _is_number(value):
        return _days(date, op, _clamped(value))
    if op == "ne":  # text, true/false, or a number no date is that many days away
        return AnyCondition(
            type="any", conditions=[_days(date, "exists"), _days(date, "not_exists")]
        )
    return _never(date)


def engagement_tier(cmp: Comparison, settings: ProfileSettings) -> Condition:
    """`computed.engagement_tier` compared: the tiers the comparison accepts, each as its
    band of days since the last engagement (and never engaged, if it accepts a missing
    value)."""
    high, moderate = settings.engagement.high_days, settings.engagement.moderate_days
    bands: dict[str, Condition] = {
        "high": _days(ENGAGED_AT, "lt", high),
        "moderate": _days(ENGAGED_AT, "between", [high, moderate - 1]),
        "lapsed": _days(ENGAGED_AT, "gte", moderate),
    }
    parts = [band for tier, band in bands.items() if compare(tier, cmp)]
    if compare(MISSING, cmp):
        parts.append(_days(ENGAGED_AT, "not_exists"))
    return _either(ENGAGED_AT, parts)


def _trait(cond: TraitCondition, settings: ProfileSettings) -> Condition:
    if not cond.trait.startswith("computed."):
        return cond
    name = cond.trait.removeprefix("computed.")
    if name in ALIASES:
        return cond.model_copy(update={"trait": ALIASES[name]})
    if name in DAY_COUNTS:
        return day_count(DAY_COUNTS[name], cond)
    if name == ENGAGEMENT_TIER:
        return engagement_tier(cond, settings)
    custom = next((c for c in settings.computed if c.key == name), None)
    if custom is None:
        return cond
    try:
        return custom.condition(cond.op, cond.value)
    except ValidationError as exc:
        message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"computed.{name}: {message}", where=f"trait {cond.trait}") from None


def lower(cond: Condition, settings: ProfileSettings) -> Condition:
    """`cond` with every derived computed property rewritten into stored terms."""
    match cond:
        case TraitCondition():
            return _trait(cond, settings)
        case AllCondition() | AnyCondition():
            children = [lower(c, settings) for c in cond.conditions]
            return cond.model_copy(update={"conditions": children})
        case NotCondition():
            return cond.model_copy(update={"condition": lower(cond.condition, settings)})
        case (
            PerformedCondition()
            | NotPerformedCondition()
            | SequenceCondition()
            | AggregateCondition()
            | DaysSinceCondition()
            | AnniversaryCondition()
            | InSegmentCondition()
        ):
            return cond
        case _:
            assert_never(cond)
