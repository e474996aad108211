"""The ESP webhooks a workspace turned on, built from `delivery.webhooks` in pertinent.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from pertinent.delivery.settings import WebhookSettings
from pertinent.delivery.webhooks.postmark import PostmarkWebhook
from pertinent.delivery.webhooks.sendgrid import SendgridWebhook
from pertinent.delivery.webhooks.ses import Fetch, SesWebhook, fetch_https


@dataclass
class EspWebhooks:
    ses: SesWebhook | None = None
    sendgrid: SendgridWebhook | None = None
    postmark: PostmarkWebhook | None = None

    @classmethod
    def from_settings(cls, settings: WebhookSettings, fetch: Fetch = fetch_https) -> EspWebhooks:
        """`fetch` reaches Amazon SNS (certificates, subscription confirmations)."""
        return cls(
            ses=SesWebhook(settings.ses, fetch) if settings.ses else None,
            sendgrid=SendgridWebhook(settings.sendgrid.public_key) if settings.sendgrid else None,
            postmark=PostmarkWebhook(settings.postmark) if settings.postmark else None,
        )
