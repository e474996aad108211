"""Tracking tokens reveal nothing and cannot be made or changed by their readers; clicks,
opens and the browser view work for `content.link_days`, unsubscribing for ever."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from apitools import ADMIN, settle
from factories import outbox_item
from hypothesis import given
from hypothesis import strategies as st
from server import serving

from pertinent.api.app import create_app
from pertinent.app import System
from pertinent.clock import SimClock
from pertinent.tracking.tokens import Claims, InvalidToken, Purpose, TrackingTokens

TOKENS = TrackingTokens("a workspace secret, long enough")
# A person's browser: a client without one (httpx) is taken for a link scanner, and what a
# machine does is left out of the person's counts.
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
DAY = date(2026, 3, 2)


@given(
    message_id=st.text(min_size=1, max_size=60)
    | st.text("0123456789abcdef", min_size=32, max_size=32),
    url=st.none() | st.text(min_size=1, max_size=300),
)
def test_a_token_says_what_was_sealed_and_shows_none_of_it(
    message_id: str, url: str | None
) -> None:
    token = TOKENS.seal("click", message_id, DAY, url)
    assert TOKENS.open("click", token) == Claims(message_id, DAY, url)
    assert TOKENS.seal("click", message_id, DAY, url) == token, "the same email, the same link"
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    hidden = [message_id.encode(), (url or "").encode()]
    if len(message_id) == 32 and all(c in "0123456789abcdef" for c in message_id):
        hidden.append(bytes.fromhex(message_id))
    assert not any(len(h) >= 4 and h in raw for h in hidden)


def test_a_token_cannot_be_changed_used_for_another_purpose_or_made_elsewhere() -> None:
    token = TOKENS.seal("click", "m1", DAY, "https://shop.example/")
    with pytest.raises(InvalidToken):
        TOKENS.open("unsubscribe", token)
    with pytest.raises(InvalidToken):
        TrackingTokens("another workspace's secret!!").open("click", token)
    for i in range(len(token)):
        changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        with pytest.raises(InvalidToken):
            TOKENS.open("click", changed)
    with pytest.raises(InvalidToken):
        TOKENS.open("click", "not a token at all")


@pytest.fixture
def base_url(system: System) -> Iterator[str]:
    with serving(create_app(system)) as url:
        yield url


def _sent_email(system: System) -> None:
    """Ann is known, and email m1 (a welcome) went to her."""
    system.ingestor.ingest(
        [{"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}}]
    )
    settle(system)
    with system.storage.transaction() as tx:
        tx.outbox.enqueue(
            [
                outbox_item(
                    "welcome:u1:0",
                    "m1",
                    system.clock.now(),
                    to_address="ann@example.com",
                    html="<html><body><p>Hello Ann</p></body></html>",
                )
            ]
        )


def _link(system: System, base_url: str, purpose: Purpose, url: str | None = None) -> str:
    made = system.renderer.urls.make(purpose, "m1", system.clock.now().date(), url)
    return made.replace(system.renderer.urls.base, base_url)


def _counts(system: System, base_url: str) -> dict[str, int]:
    settle(system)
    profile = httpx.get(f"{base_url}/v1/profiles/u1", headers=ADMIN).json()
    counts: dict[str, int] = profile["computed"]["event_counts"]
    return counts


def test_links_work_for_link_days_and_unsubscribing_for_ever(
    system: System, base_url: str, clock: SimClock
) -> None:
    _sent_email(system)
    click = _link(system, base_url, "click", "https://shop.example/p/k1")
    pixel = _link(system, base_url, "open")
    unsubscribe = _link(system, base_url, "unsubscribe")
    assert httpx.get(click, follow_redirects=False, headers=BROWSER).headers["location"] == (
        "https://shop.example/p/k1"
    )
    assert httpx.get(pixel, headers=BROWSER).status_code == 200
    assert _counts(system, base_url)["email_clicked"] == 1

    clock.advance(timedelta(days=system.workspace.settings.content.link_days + 1))
    late = httpx.get(click, follow_redirects=False, headers=BROWSER)
    assert late.status_code == 410 and "location" not in late.headers
    assert "expired" in late.text
    assert httpx.get(pixel, headers=BROWSER).headers["content-type"] == "image/gif"
    counts = _counts(system, base_url)
    assert (counts["email_clicked"], counts["email_opened"]) == (1, 1), "nothing recorded late"
    assert httpx.post(unsubscribe).status_code == 200
    with system.storage.snapshot() as tx:
        assert tx.suppressions.suppressed(["ann@example.com"])


def test_the_email_opens_in_a_browser_until_its_person_is_erased(
    system: System, base_url: str
) -> None:
    _sent_email(system)
    view = _link(system, base_url, "view")
    page = httpx.get(view)
    assert page.status_code == 200 and "Hello Ann" in page.text
    assert page.headers["content-security-policy"] == "script-src 'none'"
    assert httpx.delete(f"{base_url}/v1/profiles/u1", headers=ADMIN).status_code == 200
    gone = httpx.get(view)
    assert gone.status_code == 404 and "Hello Ann" not in gone.text
