"""Validation of incoming Segment-spec calls.

Follows the Segment Tracking API spec (common fields; track, identify, page, screen, group,
alias). What the spec leaves loose stays loose: unknown top-level fields are accepted and
dropped, ids may be numbers and become strings, `properties`/`traits`/`context` are free-form.

What the store needs is checked before anything else (`check_raw`): Segment's 32 KB per event,
objects and arrays nested at most 32 levels (JSON parsers allow 1024, but nothing downstream
should have to recurse that deep), and no NUL character in any text (PostgreSQL cannot store
one in JSON or text).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from pertinent.errors import InputError
from pertinent.events.system import SYSTEM_EVENTS

# Segment SDKs send numeric ids as numbers; an id is a string here (coerce_numbers_to_str).
Id = Annotated[str, Field(min_length=1, max_length=512)]
Name = Annotated[str, Field(min_length=1, max_length=512)]
Bag = dict[str, Any]

MAX_EVENT_BYTES = 32 * 1024
MAX_DEPTH = 32


class _Call(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    messageId: Id | None = None
    userId: Id | None = None
    anonymousId: Id | None = None
    timestamp: datetime | None = None
    originalTimestamp: datetime | None = None
    sentAt: datetime | None = None
    context: Bag = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs_identity(self) -> _Call:
        if self.userId is None and self.anonymousId is None and not isinstance(self, AliasCall):
            raise ValueError("userId or anonymousId is required")
        return self


class TrackCall(_Call):
    type: Literal["track"]
    event: Name
    properties: Bag = Field(default_factory=dict)

    @field_validator("event")
    @classmethod
    def _not_a_system_event(cls, event: str) -> str:
        if event in SYSTEM_EVENTS:
            raise ValueError(
                f"{event!r} is an event only Pertinent writes (opens, clicks, sends ... come"
                " from its tracking links and sender); send yours under another name"
            )
        return event


class IdentifyCall(_Call):
    type: Literal["identify"]
    traits: Bag = Field(default_factory=dict)


class PageCall(_Call):
    type: Literal["page"]
    name: Name | None = None
    category: str | None = None
    properties: Bag = Field(default_factory=dict)


class ScreenCall(_Call):
    type: Literal["screen"]
    name: Name | None = None
    properties: Bag = Field(default_factory=dict)


class GroupCall(_Call):
    type: Literal["group"]
    groupId: Id
    traits: Bag = Field(default_factory=dict)


class AliasCall(_Call):
    type: Literal["alias"]
    previousId: Id
    userId: Id


Call = Annotated[
    TrackCall | IdentifyCall | PageCall | ScreenCall | GroupCall | AliasCall,
    Field(discriminator="type"),
]
_CALL = TypeAdapter(Call)


class EventRejected(InputError):
    """One event failed validation; `field` is the dotted path of the offending field."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason, where=field)
        self.field = field
        self.reason = reason


def _too_deep(event: dict[str, Any]) -> str | None:
    """The top-level field under which objects and arrays nest deeper than `MAX_DEPTH` (the
    event itself is level 1), or None. Stops descending at the limit, so a 1000-level
    document costs 32 levels of work and no recursion."""
    for key, value in event.items():
        level = [value]
        for _ in range(MAX_DEPTH - 1):
            deeper: list[Any] = []
            for item in level:
                if isinstance(item, dict):
                    deeper.extend(v for v in item.values() if isinstance(v, dict | list))
                elif isinstance(item, list):
                    deeper.extend(v for v in item if isinstance(v, dict | list))
            if not deeper:
                break
            level = deeper
        else:
            return key
    return None


def _nul_path(value: Any, path: str) -> str | None:
    """The dotted path of the first key or text holding a NUL character."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        inner = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return inner
        if (found := _nul_path(child, inner)) is not None:
            return found
    return None


def check_raw(event: dict[str, Any]) -> None:
    """Raise `EventRejected` unless the event as sent can be stored: nesting, size, NUL."""
    try:
        encoded = orjson.dumps(event)
    except orjson.JSONEncodeError as exc:  # over 254 levels, or (from Python) a lone surrogate
        field = _too_deep(event)
        if field is None:
            raise EventRejected("(event)", f"cannot be stored as JSON: {exc}") from None
        raise EventRejected(
            field, f"objects and arrays nest deeper than {MAX_DEPTH} levels"
        ) from None
    # No deeper than its count of brackets: only an event with many is walked.
    if encoded.count(b"{") + encoded.count(b"[") > MAX_DEPTH and (deep := _too_deep(event)):
        raise EventRejected(deep, f"objects and arrays nest deeper than {MAX_DEPTH} levels")
    if len(encoded) > MAX_EVENT_BYTES:
        raise EventRejected(
            "(event)", f"event is {len(encoded)} bytes; the limit is 32 KB per event"
        )
    if b"\\u0000" in encoded:
        where = _nul_path(event, "") or "(event)"
        raise EventRejected(where, "text may not contain the NUL character (\\u0000)")


def parse_call(
    raw: object,
) -> TrackCall | IdentifyCall | PageCall | ScreenCall | GroupCall | AliasCall:
    """Validate one call; raise `EventRejected` naming the first bad field."""
    if not isinstance(raw, dict):
        raise EventRejected("(event)", "an event must be a JSON object")
    kind = raw.get("type")
    if kind not in ("track", "identify", "page", "screen", "group", "alias"):
        raise EventRejected("type", "must be one of track, identify, page, screen, group, alias")
    try:
        return _CALL.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = [str(p) for p in first["loc"] if p != kind]
        return_field = ".".join(loc) or "(event)"
        reason = first["msg"].removeprefix("Value error, ")
        raise EventRejected(return_field, reason) from None
