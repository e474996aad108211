"""The preference centre and per-topic unsubscribe, clicked through in a real browser:
Playwright driving Debian's chromium (installed by `make test`), against the served app."""

from __future__ import annotations

import httpx
import pytest
from apitools import ADMIN
from conftest import START
from factories import outbox_item
from playwright.sync_api import Page

from pertinent.app import System

pytestmark = pytest.mark.slow


def _cart_email(system: System) -> str:
    """Ann got a cart reminder (topic `reminders`); its Message-ID."""
    system.ingestor.ingest(
        [{"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}}]
    )
    # Processing only: sending runs an event loop, which Playwright's thread already has.
    system.processor.run_until_idle()
    with system.storage.transaction() as tx:
        tx.outbox.enqueue(
            [
                outbox_item(
                    "cart:u1:1",
                    "m1",
                    START,
                    to_address="ann@example.com",
                    template="cart_abandoned",
                    meta={"topic": "reminders"},
                )
            ]
        )
    return "m1"


def _topics(base_url: str) -> dict[str, str]:
    answer = httpx.get(f"{base_url}/v1/profiles/u1/consent", headers=ADMIN)
    return dict(answer.json()["topics"])


def test_a_person_changes_their_topics_in_the_preference_centre(
    page: Page, base_url: str, system: System
) -> None:
    message_id = _cart_email(system)
    page.goto(
        system.renderer.urls.make("preferences", message_id, system.clock.now().date()).replace(
            "http://127.0.0.1:8000", base_url
        )
    )
    assert page.get_by_role("heading").inner_text() == "Email preferences"
    assert "ann@example.com" in page.content()
    assert page.get_by_label("Reminders").is_checked()
    assert not page.get_by_label("Newsletter").is_checked(), "newsletter asks for an opt-in"
    page.get_by_label("Reminders").uncheck()
    page.get_by_label("Newsletter").check()
    page.get_by_role("button", name="Save my preferences").click()
    assert page.get_by_role("status").inner_text() == "Your preferences are saved."
    assert not page.get_by_label("Reminders").is_checked(), "the page shows what is stored"
    assert _topics(base_url) == {
        "newsletter": "opted_in",
        "product_news": "opted_in",
        "reminders": "opted_out",
        "recommendations": "opted_in",
    }
    page.get_by_role("button", name="Unsubscribe from everything").click()
    assert page.get_by_role("status").inner_text() == "You are unsubscribed from everything."
    assert set(_topics(base_url).values()) == {"opted_out"}


def test_a_person_unsubscribes_from_the_emails_topic_and_then_from_everything(
    page: Page, base_url: str, system: System
) -> None:
    message_id = _cart_email(system)
    link = system.renderer.urls.make("unsubscribe", message_id, system.clock.now().date()).replace(
        "http://127.0.0.1:8000", base_url
    )
    page.goto(link)
    page.get_by_role("button", name="Unsubscribe from Reminders").click()
    assert page.get_by_role("status").inner_text() == "You are unsubscribed from Reminders emails."
    assert _topics(base_url)["reminders"] == "opted_out"
    assert _topics(base_url)["recommendations"] == "opted_in", "one topic only"
    page.get_by_role("link", name="Choose what you get instead").click()
    assert page.get_by_role("heading").inner_text() == "Email preferences"
    assert not page.get_by_label("Reminders").is_checked()
    assert page.get_by_label("Recommendations").is_checked()
    page.goto(link)
    page.get_by_role("button", name="Unsubscribe from everything").click()
    assert page.get_by_role("status").inner_text() == "You are unsubscribed from everything."
    with system.storage.snapshot() as tx:
        assert tx.suppressions.suppressed(["ann@example.com"])
