"""The `profiles:` section of pertinent.yaml: engagement tiers, RFM scoring, and custom
computed properties."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pertinent.segments.language import AggregateCondition, Duration, FieldPath, Function
from pertinent.segments.language import PropertyFilter as Filter


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngagementSettings(_Strict):
    """Tiers by the days since the person's last human open, click or visit: `high` under
    `high_days`, `moderate` under `moderate_days`, `lapsed` after that."""

    high_days: int = Field(default=7, ge=1, le=3650)
    moderate_days: int = Field(default=30, ge=1, le=3650)

    @model_validator(mode="after")
    def _ordered(self) -> EngagementSettings:
        if self.moderate_days <= self.high_days:
            raise ValueError("moderate_days must be more than high_days")
        return self


class RfmSettings(_Strict):
    every_hours: float = Field(
        default=24, gt=0, le=24 * 31, description="how often the 1-5 scores are recomputed"
    )


class ComputedProperty(_Strict):
    """A custom computed property: `function` over the person's `event`s (of the last
    `within`, passing `where`): `count`, or `sum`/`avg`/`min`/`max`/`last` of `property`."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    event: str = Field(min_length=1)
    function: Function = "count"
    property: FieldPath | None = None
    where: list[Filter] = Field(default_factory=list)
    within: Duration | None = None

    @model_validator(mode="after")
    def _fits(self) -> ComputedProperty:
        if (self.function == "count") != (self.property is None):
            raise ValueError("'count' takes no property; the other functions need one")
        return self

    def condition(self, op: str, value: object) -> AggregateCondition:
        """This property compared, as a segment leaf (raises ValueError when the comparison
        does not fit the function)."""
        return AggregateCondition.model_validate(
            {
                "type": "aggregate",
                "event": self.event,
                "function": self.function,
                "property": self.property,
                "where": self.where,
                "within": self.within,
                "op": op,
                "value": value,
            }
        )


class ProfileSettings(_Strict):
    engagement: EngagementSettings = Field(default_factory=EngagementSettings)
    rfm: RfmSettings = Field(default_factory=RfmSettings)
    computed: list[ComputedProperty] = Field(default_factory=list)
