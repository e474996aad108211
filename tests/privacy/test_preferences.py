"""Consent through the links in an email and the API, on the example workspace: one click
leaves the email's topic, a marketing email goes only to people opted in to its topic, a
sign-up waits for its confirmation click, and the shop sees and sets it all."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
from apitools import ADMIN, BROWSER_KEY, WRITE_KEY
from conftest import START
from factories import outbox_item

from pertinent.app import System
from pertinent.clock import SimClock
from pertinent.delivery.sink import SmtpSink
from pertinent.privacy.consent import ConsentPolicy
from pertinent.privacy.settings import ConsentSettings
from pertinent.privacy.signup import SignUp, sign_up

ANN = {"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}}
CART = {
    "type": "track",
    "userId": "u1",
    "event": "Product Added",
    "properties": {"product_id": "k1", "name": "Blue Kettle", "price": 39},
}
_CONFIRM = re.compile(r'href="(http://[^"]+/p/[^"]+/confirm)"')


def _local(url: str, base_url: str) -> str:
    return url.replace("http://127.0.0.1:8000", base_url)


def _consent(base_url: str, user: str = "u1") -> dict[str, object]:
    answer = httpx.get(f"{base_url}/v1/profiles/{user}/consent", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _cart_email(system: System) -> str:
    """Ann is known, and a cart reminder (topic `reminders`) went to her; its Message-ID."""
    system.ingestor.ingest([ANN])
    system.run_until_idle()
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


def _suppressed(system: System) -> bool:
    with system.storage.snapshot() as tx:
        return bool(tx.suppressions.suppressed(["ann@example.com"]))


def test_one_click_leaves_the_emails_topic_and_the_page_offers_everything(
    base_url: str, system: System
) -> None:
    message_id = _cart_email(system)
    url = _local(
        system.renderer.urls.make("unsubscribe", message_id, system.clock.now().date()), base_url
    )
    page = httpx.get(url)
    assert page.status_code == 200
    assert "Unsubscribe from Reminders" in page.text and "Unsubscribe from everything" in page.text
    assert _consent(base_url)["history"] == [], "a GET (a link scanner) changes nothing"
    one_click = httpx.post(url, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    consent = _consent(base_url)
    assert consent["topics"] == {
        "newsletter": "opted_out",
        "product_news": "opted_in",
        "reminders": "opted_out",
        "recommendations": "opted_in",
    }
    assert not _suppressed(system), "one topic left, not the address"
    assert httpx.post(url, params={"everything": 1}).status_code == 200
    consent = _consent(base_url)
    assert consent["unsubscribed_from_everything"] is True
    assert set(consent["topics"].values()) == {"opted_out"}  # type: ignore[union-attr]
    assert _suppressed(system)


def test_the_preference_centre_saves_choices_and_brings_back_an_unsubscribed_person(
    base_url: str, system: System
) -> None:
    message_id = _cart_email(system)
    page = _local(
        system.renderer.urls.make("preferences", message_id, system.clock.now().date()),
        base_url,
    )
    assert httpx.post(page, data={"action": "unsubscribe_all"}).status_code == 200
    assert _suppressed(system)
    shown = httpx.get(page)
    assert "You are unsubscribed from everything" in shown.text
    saved = httpx.post(page, data={"action": "save", "topic": ["newsletter"]})
    assert "Your preferences are saved" in saved.text
    consent = _consent(base_url)
    assert consent["topics"] == {
        "newsletter": "opted_in",
        "product_news": "opted_out",
        "reminders": "opted_out",
        "recommendations": "opted_out",
    }
    assert consent["unsubscribed_from_everything"] is False
    assert not _suppressed(system), "their own choice lifts their unsubscribe"
    assert httpx.get(page.replace("/p/", "/p/x")).status_code == 404, "an altered token"


def test_a_marketing_email_is_not_sent_to_someone_opted_out_of_its_topic(
    base_url: str, system: System, sink: SmtpSink
) -> None:
    clock = system.clock
    assert isinstance(clock, SimClock)
    system.ingestor.ingest([ANN])
    system.run_until_idle()
    changed = httpx.put(
        f"{base_url}/v1/profiles/u1/consent",
        json={"topics": {"reminders": "opted_out"}},
        headers=ADMIN,
    )
    assert changed.status_code == 200
    system.ingestor.ingest([CART])
    system.run_until_idle()
    clock.advance(timedelta(minutes=61))
    system.run_until_idle()
    assert sink.messages == []
    timeline = httpx.get(f"{base_url}/v1/profiles/u1/events", headers=ADMIN).json()
    [step] = [
        e
        for e in timeline
        if e["name"] == "journey_step" and e["properties"]["transition"] == "send"
    ]
    assert step["properties"]["outcome"] == "opted out of reminders"
    system.ingestor.ingest([{"type": "track", "userId": "u1", "event": "Signed Up"}])
    system.run_until_idle()
    assert [m.message["Subject"] for m in sink.messages] != [], "other topics still come"


def test_leaving_a_topic_after_the_email_was_written_stops_it_before_sending(
    base_url: str, system: System, sink: SmtpSink
) -> None:
    clock = system.clock
    assert isinstance(clock, SimClock)
    system.ingestor.ingest([ANN, CART])
    system.processor.run_until_idle()
    clock.advance(timedelta(minutes=61))
    system.processor.run_until_idle()  # written to the outbox, not sent yet
    [email] = system.storage.reads.emails(10)
    assert email.item.meta["topic"] == "reminders"
    url = _local(
        system.renderer.urls.make("unsubscribe", email.item.message_id, system.clock.now().date()),
        base_url,
    )
    assert httpx.post(url).status_code == 200
    asyncio.run(system.sender.send_due())
    assert sink.messages == []
    [failed] = system.storage.reads.emails(10)
    assert (failed.status, failed.last_error) == ("failed", "not sent: opted out of reminders")


def test_a_sign_up_waits_for_the_click_in_its_confirmation_email(
    base_url: str, system: System, sink: SmtpSink
) -> None:
    body = {"userId": "u7", "email": "Zoe@Example.com", "topics": ["newsletter"]}
    answer = httpx.post(f"{base_url}/v1/subscribe", json=body, auth=(BROWSER_KEY, ""))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"topics": {"newsletter": "pending"}}
    system.run_until_idle()
    [mail] = sink.messages
    assert mail.rcpt_tos == ["zoe@example.com"]
    html = mail.message.get_body(("html",)).get_content()
    [confirm] = _CONFIRM.findall(html)
    confirm = _local(confirm, base_url)
    page = httpx.get(confirm)
    assert "Newsletter" in page.text and "<form" in page.text
    assert _consent(base_url, "u7")["topics"]["newsletter"] == "pending", "a GET confirms nothing"  # type: ignore[index]
    done = httpx.post(confirm)
    assert "you are subscribed to Newsletter" in done.text
    history = _consent(base_url, "u7")["history"]
    assert [(c["topic"], c["status"], c["source"]) for c in history] == [  # type: ignore[union-attr]
        ("newsletter", "pending", "sign_up"),
        ("newsletter", "opted_in", "confirmation"),
    ]


def test_sign_ups_refuse_unknown_topics_and_bad_addresses_and_need_a_key(
    base_url: str,
) -> None:
    def subscribe(body: dict[str, object], key: str = WRITE_KEY) -> httpx.Response:
        return httpx.post(f"{base_url}/v1/subscribe", json=body, auth=(key, ""))

    unknown = subscribe({"userId": "u1", "email": "a@example.com", "topics": ["newsletters"]})
    assert unknown.status_code == 400
    assert unknown.json()["where"] == "topics.newsletters"
    bad = subscribe(
        {"userId": "u1", "email": "a@example.com, b@example.net", "topics": ["newsletter"]}
    )
    assert (bad.status_code, bad.json()["where"]) == (400, "email")
    nobody = subscribe({"email": "a@example.com", "topics": ["newsletter"]})
    assert nobody.status_code == 400
    no_address = subscribe({"userId": "u-new", "topics": ["newsletter"]})
    assert (no_address.status_code, no_address.json()["where"]) == (400, "email")
    assert subscribe({"userId": "u1", "topics": ["newsletter"]}, key="nope").status_code == 401


def test_a_server_side_sign_up_without_double_opt_in_counts_at_once(system: System) -> None:
    policy = ConsentPolicy(
        ConsentSettings.model_validate(
            {
                "double_opt_in": False,
                "topics": {"newsletter": {"name": "News", "default": "opted_out"}},
            }
        )
    )
    request = SignUp(["newsletter"], user_id="u9", email="u9@example.com")
    now = system.clock.now()
    assert sign_up(system.storage, policy, request, browser_key=False, now=now) == {
        "newsletter": "opted_in"
    }
    browser = SignUp(["newsletter"], user_id="u8", email="u8@example.com")
    assert sign_up(system.storage, policy, browser, browser_key=True, now=now) == {
        "newsletter": "pending"
    }, "anyone can send with a browser key: it always asks the address"
