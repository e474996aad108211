"""A small shop's morning, for the dashboard to show: three big spenders, two sign-ups who
get the welcome email, a subject-line test read back from its email events, a bot, an event
from the future and one email that failed.

Processing runs in a thread of its own: sending runs an event loop, and a browser test's
thread already has Playwright's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

from conftest import START
from factories import outbox_item

from pertinent.app import System
from pertinent.clock import SimClock
from pertinent.events.system import system_event
from pertinent.experiments.assign import Allocation, assign

BUYERS = ["u0", "u1", "u2"]
SIGN_UPS = ["s1", "s2"]
TESTED = 200  # people mailed in the subject-line test
WEIGHTS = {"control": 1, "question": 1}


@dataclass(frozen=True)
class Story:
    variants: dict[str, str]  # tested person -> variant
    clicked: dict[str, int]  # variant -> people who clicked


def settle(system: System) -> None:
    worker = threading.Thread(target=system.run_until_idle)
    worker.start()
    worker.join()


def _experiment(system: System) -> Story:
    allocation = Allocation(list(WEIGHTS), list(WEIGHTS.values()))
    variants = {f"p{i:03d}": assign("subject-test", allocation, f"p{i:03d}") for i in range(TESTED)}
    clicked = dict.fromkeys(WEIGHTS, 0)
    events = []
    for n, (person, variant) in enumerate(sorted(variants.items())):
        at = START + timedelta(seconds=n)
        props = {
            "message_id": f"<m{n}@pertinent>",
            "template": "welcome",
            "experiment": "subject-test",
            "variant": variant,
            "experiment_control": "control",
            "experiment_weights": WEIGHTS,
        }
        events.append(system_event("email_sent", person, props, at, cause=f"sent-{n}"))
        if n % 10 < (5 if variant == "question" else 1):
            clicked[variant] += 1
            click = {"message_id": props["message_id"], "url": "https://shop.example/"}
            later = at + timedelta(minutes=30)
            events.append(system_event("email_clicked", person, click, later, cause=f"c{n}"))
    system.ingestor.append(events)
    return Story(variants, clicked)


def morning(system: System) -> Story:
    """The shop's morning, processed; the clock ends two hours after START."""
    assert isinstance(system.clock, SimClock)
    story = _experiment(system)
    shoppers = [
        {
            "type": "identify",
            "userId": u,
            "traits": {"email": f"{u}@example.com", "first_name": f"Buyer {u}"},
        }
        for u in BUYERS
    ] + [
        {"type": "track", "userId": u, "event": "Order Completed", "properties": {"revenue": 300}}
        for u in BUYERS
    ]
    sign_ups = [
        {
            "type": "identify",
            "userId": s,
            "traits": {"email": f"{s}@example.com", "first_name": "Sam"},
        }
        for s in SIGN_UPS
    ] + [{"type": "track", "userId": s, "event": "Signed Up"} for s in SIGN_UPS]
    odd = [
        {
            "type": "page",
            "anonymousId": "crawler-1",
            "name": "Home",
            "context": {"userAgent": "Mozilla/5.0 (compatible; Googlebot/2.1)"},
        },
        {
            "type": "track",
            "userId": "u0",
            "event": "Product Viewed",
            "timestamp": (START + timedelta(days=3)).isoformat(),
        },
    ]
    answer = system.ingestor.ingest(shoppers + sign_ups + odd)
    assert not answer.rejections, answer.rejections
    settle(system)
    with system.storage.transaction() as tx:
        tx.outbox.enqueue(
            [
                outbox_item(
                    "broken:1", "broken-1", START, to_address="u1@example.com", subject="Broken one"
                )
            ]
        )
    with system.storage.transaction() as tx:
        [pending] = [
            p
            for p in tx.outbox.claim(START, timedelta(minutes=1), 10, "test")
            if p.item.message_id == "broken-1"
        ]
        tx.outbox.mark_failed(pending.id, "550 5.1.1 mailbox unavailable")
    system.clock.advance(timedelta(hours=2))
    return story
