"""Validation of incoming Segment-spec calls.

Follows the Segment Tracking API spec (common fields; track, identify, page, screen, group,
alias). What the spec leaves loose stays loose: unknown top-level fields are accepted and
dropped, ids may be numbers and become strings, `properties`/`traits`/`context` are free-form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from pertinent.errors import InputError

# Segment SDKs send numeric ids as numbers; an id is a string here (coerce_numbers_to_str).
Id = Annotated[str, Field(min_length=1, max_length=512)]
Bag = dict[str, Any]


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
    event: str = Field(min_length=1, max_length=512)
    properties: Bag = Field(default_factory=dict)


class IdentifyCall(_Call):
    type: Literal["identify"]
    traits: Bag = Field(default_factory=dict)


class PageCall(_Call):
    type: Literal["page"]
    name: str | None = None
    category: str | None = None
    properties: Bag = Field(default_factory=dict)


class ScreenCall(_Call):
    type: Literal["screen"]
    name: str | None = None
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
