"""Opens, clicks and unsubscribes come back through signed links as events."""

from __future__ import annotations

from datetime import timedelta

import httpx
from apitools import ADMIN, settle
from factories import outbox_item

from pertinent.app import System
from pertinent.tracking.tokens import Purpose

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


def _names(system: System) -> list[str]:
    with system.storage.snapshot() as tx:
        return [e.event.name or e.event.type for e in tx.log.read_after(0, 10_000)]


def _identify(system: System) -> None:
    """Ann is known, and email m1 went to her."""
    system.ingestor.ingest(
        [{"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}}]
    )
    settle(system)
    with system.storage.transaction() as tx:
        tx.outbox.enqueue(
            [outbox_item("welcome:u1:0", "m1", system.clock.now(), to_address="ann@example.com")]
        )


def _local(url: str, base_url: str) -> str:
    return url.replace("http://127.0.0.1:8000", base_url)


def _link(system: System, purpose: Purpose, url: str | None = None) -> str:
    """Email m1's link for `purpose`, made today."""
    return system.renderer.urls.make(purpose, "m1", system.clock.now().date(), url)


def test_open_pixel_and_click_redirect_record_events(base_url: str, system: System) -> None:
    _identify(system)
    pixel = httpx.get(_local(_link(system, "open"), base_url), headers=BROWSER)
    assert pixel.status_code == 200
    assert pixel.headers["content-type"] == "image/gif"
    click = _link(system, "click", "https://shop.example/p/k1")
    answer = httpx.get(_local(click, base_url), follow_redirects=False, headers=BROWSER)
    assert answer.status_code == 302
    assert answer.headers["location"] == "https://shop.example/p/k1"
    settle(system)
    profile = httpx.get(f"{base_url}/v1/profiles/u1", headers=ADMIN).json()
    assert profile["computed"]["event_counts"]["email_opened"] == 1
    assert profile["computed"]["event_counts"]["email_clicked"] == 1


def _engagement(system: System) -> list[tuple[str, bool, str | None]]:
    with system.storage.snapshot() as tx:
        return [
            (
                e.event.name or "",
                e.event.properties["machine"],
                e.event.properties.get("machine_reason"),
            )
            for e in tx.log.read_after(0, 10_000)
            if e.event.name in ("email_opened", "email_clicked")
        ]


def test_a_privacy_proxys_open_and_a_scanners_clicks_are_recorded_but_not_engagement(
    base_url: str, system: System
) -> None:
    _identify(system)
    proxy = {"User-Agent": "Mozilla/5.0"}
    assert httpx.get(_local(_link(system, "open"), base_url), headers=proxy).is_success
    for n in range(3):  # every link of the email within a second
        link = _local(_link(system, "click", f"https://shop.example/p/{n}"), base_url)
        assert httpx.get(link, headers=BROWSER, follow_redirects=False).status_code == 302
    settle(system)
    assert _engagement(system) == [
        ("email_opened", True, "apple_privacy_proxy"),
        ("email_clicked", False, None),
        ("email_clicked", False, None),
        ("email_clicked", True, "link_burst"),
    ]
    counts = httpx.get(f"{base_url}/v1/profiles/u1", headers=ADMIN).json()["computed"]
    assert counts["event_counts"].get("email_opened") is None, "a proxy's open is no open"
    assert counts["event_counts"]["email_clicked"] == 2
    timeline = httpx.get(f"{base_url}/v1/profiles/u1/events", headers=ADMIN).json()
    assert sum(e["name"] == "email_opened" for e in timeline) == 1, "still in the timeline"


def test_a_click_at_the_moment_of_delivery_is_a_link_scanners(
    base_url: str, system: System
) -> None:
    _identify(system)
    with system.storage.transaction() as tx:
        [pending] = tx.outbox.claim(system.clock.now(), timedelta(minutes=5), 10, "test")
        tx.outbox.mark_sent(pending.id, system.clock.now())
    link = _local(_link(system, "click", "https://shop.example/"), base_url)
    assert httpx.get(link, headers=BROWSER, follow_redirects=False).status_code == 302
    system.clock.advance(timedelta(minutes=20))
    assert httpx.get(link, headers=BROWSER, follow_redirects=False).status_code == 302
    settle(system)
    assert _engagement(system) == [
        ("email_clicked", True, "clicked_on_delivery"),
        ("email_clicked", False, None),
    ]


def test_a_tampered_click_link_goes_nowhere(base_url: str, system: System) -> None:
    click = _link(system, "click", "https://shop.example/")
    token = click.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    answer = httpx.get(f"{base_url}/t/c/{forged}", follow_redirects=False)
    assert answer.status_code == 404
    assert "location" not in answer.headers
    assert "email_clicked" not in _names(system)


def test_one_click_unsubscribe_suppresses_the_address(base_url: str, system: System) -> None:
    _identify(system)
    url = _link(system, "unsubscribe").replace("http://127.0.0.1:8000", base_url)
    page = httpx.get(url)
    assert page.status_code == 200 and "<form" in page.text
    assert "unsubscribed" not in _names(system), "a GET (link scanner) must not unsubscribe"
    answer = httpx.post(url, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert "unsubscribed" in _names(system)
    with system.storage.snapshot() as tx:
        assert tx.suppressions.suppressed(["ann@example.com"])


def test_erasing_a_person_removes_them_everywhere(base_url: str, system: System) -> None:
    system.ingestor.ingest(
        [
            {
                "type": "identify",
                "userId": "u1",
                "anonymousId": "a1",
                "traits": {"email": "ann@example.com"},
            },
            {"type": "track", "userId": "u1", "event": "Product Viewed"},
            {"type": "track", "userId": "u2", "event": "Product Viewed"},
        ]
    )
    settle(system)
    with system.storage.snapshot() as tx:
        # Theirs: the two they sent, and the segment entries written about them.
        theirs = [e for e in tx.log.read_after(0, 100) if e.event.user_id == "u1"]
    assert len(theirs) > 2
    erased = httpx.delete(f"{base_url}/v1/profiles/u1", headers=ADMIN)
    assert erased.status_code == 200
    assert erased.json()["erased_events"] == len(theirs)
    assert httpx.get(f"{base_url}/v1/profiles/u1", headers=ADMIN).status_code == 404
    assert httpx.get(f"{base_url}/v1/profiles/a1", headers=ADMIN).status_code == 404
    assert httpx.get(f"{base_url}/v1/profiles/u2", headers=ADMIN).status_code == 200
    with system.storage.snapshot() as tx:
        assert all(e.event.user_id != "u1" for e in tx.log.read_after(0, 100))


def test_an_erased_persons_old_email_brings_nothing_back(base_url: str, system: System) -> None:
    _identify(system)
    assert httpx.delete(f"{base_url}/v1/profiles/u1", headers=ADMIN).status_code == 200
    assert httpx.get(_local(_link(system, "open"), base_url)).status_code == 200
    click = _local(_link(system, "click", "https://shop.example/"), base_url)
    assert httpx.get(click, follow_redirects=False).status_code == 302, "the link still works"
    unsubscribe = _local(_link(system, "unsubscribe"), base_url)
    assert httpx.post(unsubscribe).status_code == 200
    settle(system)
    assert httpx.get(f"{base_url}/v1/profiles/u1", headers=ADMIN).status_code == 404
    with system.storage.snapshot() as tx:
        assert all(e.event.user_id != "u1" for e in tx.log.read_after(0, 100))


def test_unsubscribing_after_a_merge_suppresses_the_address_the_email_went_to(
    base_url: str, system: System
) -> None:
    _identify(system)
    system.ingestor.ingest(
        [
            {"type": "identify", "userId": "u9", "traits": {"email": "ann@work.example"}},
            {"type": "alias", "userId": "u9", "previousId": "u1"},
        ]
    )
    settle(system)
    unsubscribe = _local(_link(system, "unsubscribe"), base_url)
    assert httpx.post(unsubscribe).status_code == 200
    settle(system)
    with system.storage.snapshot() as tx:
        assert tx.suppressions.suppressed(["ann@example.com"])
    profile = httpx.get(f"{base_url}/v1/profiles/u9", headers=ADMIN).json()
    assert profile["computed"]["event_counts"]["unsubscribed"] == 1
