"""The `content:` section of pertinent.yaml: where links may go, money and language. (Dates
are shown in the person's zone, else `journeys.timezone`, the workspace's one default.)"""

from __future__ import annotations

import re

from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, field_validator

_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


class ContentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed_link_hosts: list[str] = Field(
        default_factory=list,
        description="hosts whose URLs may come from data (event properties, the catalogue) "
        "and still be linked; `*.shop.example` allows every subdomain",
    )
    link_days: int = Field(
        default=365, ge=1, le=3650, description="click and open links work this long"
    )
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    locale: str = "en_GB"

    @field_validator("allowed_link_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if not _HOST.match(host.lower()):
                raise ValueError(f"{host!r} is not a host name (write shop.example, no scheme)")
        return [h.lower() for h in hosts]

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        try:
            Locale.parse(value)
        except (ValueError, UnknownLocaleError) as exc:
            raise ValueError(f"unknown locale {value!r} (write it like en_GB)") from exc
        return value
