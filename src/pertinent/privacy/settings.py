"""The `consent:` section of pertinent.yaml: the topics a person can opt in to or out of."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

TopicKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=64)]


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="what the preference centre calls it")
    description: str = ""
    default: Literal["opted_in", "opted_out"] = Field(
        default="opted_in",
        description="a person's choice until they make one: opted_out asks for an explicit opt-in",
    )


class ConsentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topics: dict[TopicKey, Topic] = Field(default_factory=dict)
    double_opt_in: bool = Field(
        default=True,
        description="a sign-up waits for a click in a confirmation email before it counts",
    )
