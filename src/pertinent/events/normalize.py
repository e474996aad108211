"""Turning a validated Segment call into the one internal `Event` shape.

- Times become UTC, corrected for the client's clock, within range (see `events.times`).
- E-commerce spec v2 numbers sent as plain decimal strings ("12.50", " -3 ", "1e3") become
  numbers; any other string ("12,50", "NaN", "1_000") is kept as sent, because guessing would
  either lose it (NaN is stored as null) or make it a different number (12,50 -> 1250).
- Emails are trimmed and lowercased wherever the spec puts them.
- A page or screen call's name, and the page's url, path, title, referrer and search from
  `context.page`, are copied into its properties (Segment's page properties) unless the
  properties already say, so a segment filters server-side and browser page calls alike.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from pertinent.events.model import Event
from pertinent.events.times import event_time
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


Call = TrackCall | IdentifyCall | PageCall | ScreenCall | GroupCall | AliasCall


# Segment's page properties that a browser library also puts in `context.page`.
PAGE_FIELDS = ("url", "path", "title", "referrer", "search")


def _page_properties(
    name: str | None, context: dict[str, Any], props: dict[str, Any], fields: tuple[str, ...]
) -> dict[str, Any]:
    page = context.get("page")
    known: dict[str, Any] = {}
    if name is not None:
        known["name"] = name
    if isinstance(page, dict):
        known.update((k, page[k]) for k in fields if isinstance(page.get(k), str))
    return {**known, **props} if known else props


def normalize(
    call: Call,
    *,
    received_at: datetime,
    batch_sent_at: datetime | None,
    is_bot: bool,
    browser_key: bool = False,
    max_ahead: timedelta,
) -> Event:
    """The internal event for one validated call; raises `EventRejected` for a time out of
    range, and flags (`Event.flags`) a time moved back from the future."""
    from_field = "timestamp" if call.timestamp is not None else "originalTimestamp"
    timestamp, flag = event_time(
        call.timestamp or call.originalTimestamp,
        call.sentAt or batch_sent_at,
        received_at,
        max_ahead=max_ahead,
        original_field=from_field,
    )
    common: dict[str, Any] = {
        "message_id": call.messageId or str(uuid.uuid4()),
        "type": call.type,
        "timestamp": timestamp,
        "received_at": received_at,
        "user_id": call.userId,
        "anonymous_id": call.anonymousId,
        "context": _context(call.context),
        "is_bot": is_bot,
        "flags": () if flag is None else (flag,),
        "browser_key": browser_key,
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
            props = _page_properties(call.name, call.context, props, PAGE_FIELDS)
            return Event(**common, name=call.name, properties=props)
        case ScreenCall():
            props = _page_properties(call.name, call.context, call.properties, ())
            return Event(**common, name=call.name, properties=props)
        case GroupCall():
            return Event(**common, group_id=call.groupId, traits=call.traits)
        case AliasCall():
            return Event(**common, previous_id=call.previousId)
