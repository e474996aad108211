"""The `delivery:` section of pertinent.yaml: connections, rate limits, DKIM, the bounce
address and the ESP webhooks. The relay itself is `smtp:`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DkimSettings(_Strict):
    selector: str = Field(default="pertinent", pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*)$")
    domain: str | None = Field(default=None, description="d= (default: the From domain)")
    private_key: str = Field(
        default="dkim/pertinent.pem", description="PEM file, relative to the workspace"
    )


class BounceSettings(_Strict):
    address: str = Field(description="the VERP return path: bounces@bounces.shop.example")
    listen: str = Field(
        default="127.0.0.1:2526", description="host:port where the bounce SMTP server listens"
    )


class SesSettings(_Strict):
    topic_arns: list[str] = Field(min_length=1, description="the SNS topics SES publishes to")


class SendgridSettings(_Strict):
    public_key: str = Field(min_length=1, description="the Event Webhook's verification key")


class PostmarkSettings(_Strict):
    username: str = Field(min_length=1)
    password: str = Field(min_length=16)


class WebhookSettings(_Strict):
    ses: SesSettings | None = None
    sendgrid: SendgridSettings | None = None
    postmark: PostmarkSettings | None = None


class DeliverySettings(_Strict):
    connections: int = Field(
        default=4, ge=1, le=64, description="SMTP connections a sender keeps open"
    )
    rate_limits: dict[str, PositiveFloat] = Field(
        default_factory=dict, description="messages per second per recipient domain; '*': others"
    )
    dkim: DkimSettings | None = None
    bounces: BounceSettings | None = None
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
