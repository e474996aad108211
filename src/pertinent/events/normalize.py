"""Turning a validated Segment call into the one internal `Event` shape.

- Times become UTC; a time without a zone is read as UTC.
- Clock skew is corrected the way Segment does it: when the client says when it sent the call
  (`sentAt`), `timestamp = receivedAt - (sentAt - originalTimestamp)`, so a phone whose clock
  is an hour off still lands its events at the right instant.
- E-commerce spec v2 numbers sent as plain decimal strings ("12.50", " -3 ", "1e3") become
  numbers; any other string ("12,50", "NaN", "1_000") is kept as sent, because guessing would
  either lose it (NaN is stored as null) or make it a different number (12,50 -> 1250).
- Emails are trimmed and lowercased wherever the spec puts them.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pertinent.events.model import Event
from pertinent.events.validate import (
    AliasCall,
    GroupCall,
    IdentifyCall,
    PageCall,
    ScreenCall,
    TrackCall,
)

# Fields of Segment's e-commerce spec v2 that hold numbers, on the event and on each product.
NUMERIC_FIELDS = frozenset(
    {
        "price",
        "quantity",
        "revenue",
        "total",
        "subtotal",
        "value",
        "tax",
        "shipping",
        "discount",
        "position",
    }
)


def as_utc(instant: datetime) -> datetime:
    """The same instant in UTC; a naive time is taken to be UTC already."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def event_time(
    original: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """When the event happened, corrected for the sender's clock skew."""
    if original is None:
        return received_at
    if sent_at is None:
        return as_utc(original)
    return received_at - (as_utc(sent_at) - as_utc(original))


# A plain decimal: sign, digits with at most one dot, exponent. ASCII digits only: Python's
# int() and float() also take "1_000", "NaN", "inf" and Arabic-Indic digits, none of which a
# shop means as a price.
_PLAIN_DECIMAL = re.compile(
    r"\s*(?P<mantissa>[+-]?(?:[0-9]+(?P<dot>\.[0-9]*)?|(?P<lead>\.[0-9]+)))"
    r"(?P<exponent>[eE][+-]?[0-9]+)?\s*",
    re.ASCII,
)
# orjson stores integers up to 64 bits; a bigger one is kept as text rather than rounded.
_INT_RANGE = range(-(2**63), 2**63)


def plain_number(text: str) -> int | float | None:
    """The number a plain decimal string spells exactly, or None when it is anything else.

    An integer stays an int; a string whose float would be infinite, or would round a non-zero
    value to zero, or an integer beyond 64 bits, is not a number here, so the caller keeps the
    text instead of storing something else.
    """
    match = _PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        return None
    if match["dot"] is None and match["lead"] is None and match["exponent"] is None:
        digits = match["mantissa"]
        # The length check first: int() refuses strings of over 4300 digits with ValueError.
        if len(digits) > 20:
            return None
        whole = int(digits)
        return whole if whole in _INT_RANGE else None
    number = float(match.group(0))
    if not math.isfinite(number):
        return None
    if number == 0 and match["mantissa"].strip("+-.0"):
        return None
    return number


def _number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    number = plain_number(value)
    return value if number is None else number


def _numbers(bag: dict[str, Any]) -> dict[str, Any]:
    out = {k: (_number(v) if k in NUMERIC_FIELDS else v) for k, v in bag.items()}
    products = out.get("products")
    if isinstance(products, list):
        out["products"] = [_numbers(p) if isinstance(p, dict) else p for p in products]
    return out


def _email(bag: dict[str, Any]) -> dict[str, Any]:
    email = bag.get("email")
    if isinstance(email, str):
        return {**bag, "email": email.strip().lower()}
    return bag


def _context(context: dict[str, Any]) -> dict[str, Any]:
    traits = context.get("traits")
    if isinstance(traits, dict) and "email" in traits:
        return {**context, "traits": _email(traits)}
    return context


# Page properties the Segment spec reserves, which browser libraries fill in and server-side
# libraries leave in `context.page` (or out).
_PAGE_FIELDS = ("url", "path", "title", "referrer", "search")


def page_properties(
    name: str | None, properties: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    """A page or screen call's properties with its `name` and the page's url, path, title,
    referrer and search from `context.page` where the call did not set them, so that a
    segment filters on them the same way whichever library sent the call."""
    page = context.get("page")
    found = {k: v for k, v in page.items() if k in _PAGE_FIELDS} if isinstance(page, dict) else {}
    if name is not None:
        found["name"] = name
    return {**found, **properties}


Call = TrackCall | IdentifyCall | PageCall | ScreenCall | GroupCall | AliasCall


def normalize(
    call: Call, *, received_at: datetime, batch_sent_at: datetime | None, is_bot: bool
) -> Event:
    """The internal event for one validated call."""
    original = call.timestamp or call.originalTimestamp
    timestamp = event_time(original, call.sentAt or batch_sent_at, received_at)
    common: dict[str, Any] = {
        "message_id": call.messageId or str(uuid.uuid4()),
        "type": call.type,
        "timestamp": timestamp,
        "received_at": received_at,
        "user_id": call.userId,
        "anonymous_id": call.anonymousId,
        "context": _context(call.context),
        "is_bot": is_bot,
    }
    match call:
        case TrackCall():
            return Event(**common, name=call.event, properties=_email(_numbers(call.properties)))
        case IdentifyCall():
            return Event(**common, traits=_email(call.traits))
        case PageCall():
            props = call.properties
            if call.category is not None:
                props = {"category": call.category, **props}
            return Event(
                **common, name=call.name, properties=page_properties(call.name, props, call.context)
            )
        case ScreenCall():
            return Event(
                **common,
                name=call.name,
                properties=page_properties(call.name, call.properties, call.context),
            )
        case GroupCall():
            return Event(**common, group_id=call.groupId, traits=call.traits)
        case AliasCall():
            return Event(**common, previous_id=call.previousId)
