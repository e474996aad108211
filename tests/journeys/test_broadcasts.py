"""Broadcasts as a marketer sends them: over HTTP, at a local time in each person's zone,
throttled, with caps and suppression, delivered to a real SMTP server (aiosmtpd), on the
simulated clock; one email per person per broadcast whatever merges or crashes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from apitools import ADMIN
from conftest import START
from server import serving

from pertinent.api.app import create_app
from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.delivery.sink import SmtpSink


def readers_workspace(root: Path, **journeys: object) -> Path:
    """The example workspace with a `readers` segment (newsletter: true) and `news`."""
    (root / "segments" / "readers.yaml").write_text(
        yaml.safe_dump(
            {"key": "readers", "condition": {"type": "trait", "trait": "newsletter", "value": True}}
        )
    )
    news = root / "templates" / "news"
    news.mkdir()
    (news / "subject.liquid").write_text("March news for {{ profile.first_name }}")
    (news / "body.html").write_text(
        '<html><body><p>Hi {{ profile.first_name }}</p><a href="{{ unsubscribe_url }}">x</a>'
        "</body></html>"
    )
    if journeys:
        settings = yaml.safe_load((root / "pertinent.yaml").read_text())
        settings["journeys"].update(journeys)
        (root / "pertinent.yaml").write_text(yaml.safe_dump(settings))
    return root


def reader(user: str, **traits: object) -> list[dict[str, object]]:
    traits = {
        "email": f"{user}@example.com",
        "first_name": user.title(),
        "newsletter": True,
        **traits,
    }
    return [{"type": "identify", "userId": user, "traits": traits}]


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def newsroom(workspace: Path, clock: SimClock) -> Iterator[System]:
    system = build_system(load_workspace(readers_workspace(workspace)), clock=clock)
    yield system
    system.close()


def _received(sink: SmtpSink) -> list[tuple[str, str]]:
    return sorted((m.rcpt_tos[0], str(m.message["Subject"])) for m in sink.messages)


def test_a_broadcast_at_nine_local_reaches_each_reader_at_nine_in_their_zone(
    newsroom: System, clock: SimClock, sink: SmtpSink
) -> None:
    newsroom.ingestor.ingest(
        [
            *reader("ann"),
            *reader("bob", timezone="Asia/Tokyo"),
            *reader("cat"),
            {"type": "identify", "userId": "dan", "traits": {"email": "dan@example.com"}},
        ]
    )
    newsroom.run_until_idle()
    with newsroom.storage.transaction() as tx:  # cat unsubscribed earlier
        tx.suppressions.add("cat@example.com", "cat", "unsubscribed", START)
    with serving(create_app(newsroom)) as base:
        made = httpx.post(
            f"{base}/v1/broadcasts",
            headers=ADMIN,
            json={
                "template": "news",
                "segment": "readers",
                "send_at": "2026-03-03T09:00:00+00:00",
                "local_time": True,
            },
        )
        assert made.status_code == 201, made.text
        broadcast = made.json()["id"]
        wrong = httpx.post(
            f"{base}/v1/broadcasts", headers=ADMIN, json={"template": "nope", "segment": "readers"}
        )
        assert wrong.status_code == 400 and wrong.json()["where"] == "template"

        clock.set(datetime(2026, 3, 3, 0, 0, tzinfo=UTC))  # 09:00 in Tokyo
        newsroom.run_until_idle()
        assert _received(sink) == [("bob@example.com", "March news for Bob")]
        clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
        newsroom.run_until_idle()
        newsroom.run_until_idle()
        assert _received(sink) == [
            ("ann@example.com", "March news for Ann"),
            ("bob@example.com", "March news for Bob"),
        ], "dan is not a reader; cat unsubscribed"

        [ann_mail] = [m for m in sink.messages if m.rcpt_tos == ["ann@example.com"]]
        pixel = next(
            p.split('"')[0]
            for p in ann_mail.message.get_body(("html",)).get_content().split('src="')
            if "/t/o/" in p
        )
        httpx.get(pixel.replace("http://127.0.0.1:8000", base))
        newsroom.run_until_idle()
        numbers = httpx.get(f"{base}/v1/broadcasts/{broadcast}", headers=ADMIN).json()
    assert {k: numbers[k] for k in ("status", "targeted", "sent", "suppressed", "opens")} == {
        "status": "sent",
        "targeted": 3,
        "sent": 2,
        "suppressed": 1,
        "opens": 1,
    }


def test_a_throttled_broadcast_spreads_its_sends_and_caps_hold(
    workspace: Path, clock: SimClock, sink: SmtpSink
) -> None:
    root = readers_workspace(workspace, caps=[{"max": 1, "per": "1d"}])
    system = build_system(load_workspace(root), clock=clock)
    try:
        system.ingestor.ingest([e for u in ("ann", "bob", "cat", "dan") for e in reader(u)])
        system.run_until_idle()
        from pertinent.journeys.broadcasts import BroadcastRequest, create

        def broadcast(**fields: object) -> int:
            request = BroadcastRequest(template="news", segment="readers", **fields)  # type: ignore[arg-type]
            return create(system.storage, request, ["readers"], ["news"], clock.now()).id

        first = broadcast(per_hour=2)
        system.run_until_idle()
        assert len(sink.messages) == 1, "2 an hour: one now, the next in 30 minutes"
        for _ in range(3):
            clock.advance(timedelta(minutes=30))
            system.run_until_idle()
        assert len(sink.messages) == 4
        second = broadcast()
        system.run_until_idle()
        assert len(sink.messages) == 4, "everyone already had their one marketing email today"
        numbers = system.storage.reads.broadcast_numbers(second)
        assert numbers is not None and numbers.outcomes == {"capped": 4}
        done = system.storage.reads.broadcast_numbers(first)
        assert done is not None and (done.status, done.outcomes) == ("sent", {"sent": 4})
    finally:
        system.close()
