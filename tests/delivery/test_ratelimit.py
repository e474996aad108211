"""Per-domain rate limits: a receiving domain gets at most its rate, the rest wait their turn
in the queue without counting as failed attempts; other domains are not held up."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from conftest import START
from delivery.conftest import picky_system
from delivery.picky import PickyServer
from factories import outbox_item
from hypothesis import given
from hypothesis import strategies as st

from pertinent.clock import SimClock
from pertinent.delivery.ratelimit import DomainLimits
from pertinent.scaffold import write_example_workspace


@given(
    rate=st.integers(min_value=1, max_value=50),
    gaps=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=300),
)
def test_no_window_of_one_second_lets_more_than_the_rate_plus_its_burst_through(
    rate: int, gaps: list[int]
) -> None:
    limits = DomainLimits({"gmail.com": rate})
    now, admitted = START, []
    for gap in gaps:
        now += timedelta(milliseconds=gap)
        if limits.admit("gmail.com", now) is None:
            admitted.append(now)
    for i, first in enumerate(admitted):
        within = [t for t in admitted[i:] if t - first < timedelta(seconds=1)]
        assert len(within) <= 2 * rate, "one second's burst plus one second's rate at most"


def test_refused_messages_are_told_to_come_back_one_interval_apart() -> None:
    limits = DomainLimits({"gmail.com": 2, "*": 100})
    answers = [limits.admit("Gmail.com", START) for _ in range(5)]
    assert answers[:2] == [None, None], "a burst of one second's worth goes at once"
    assert answers[2:] == [START + timedelta(seconds=s) for s in (0.5, 1.0, 1.5)]
    assert limits.admit("yahoo.com", START) is None, "'*' applies to each other domain alone"
    assert DomainLimits({}).admit("gmail.com", START) is None, "no limit, no wait"


@pytest.fixture
def limited(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    write_example_workspace(root)
    path = root / "pertinent.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["delivery"]["rate_limits"] = {"slow.example": 2}
    path.write_text(yaml.safe_dump(settings))
    return root


def test_a_domain_over_its_rate_waits_its_turn_and_others_go_at_once(
    limited: Path, picky: PickyServer, clock: SimClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = picky_system(limited, picky, clock, monkeypatch)
    slow = [f"p{i}@slow.example" for i in range(6)]
    fast = [f"p{i}@fast.example" for i in range(6)]
    with system.storage.transaction() as tx:
        tx.outbox.enqueue([outbox_item(f"k{a}", f"m{a}", START, to_address=a) for a in slow + fast])
    try:
        first = asyncio.run(system.sender.send_due())
        assert (first.sent, first.deferred) == (8, 4)
        assert sorted(picky.handler.recipients) == sorted(fast + slow[:2])
        waiting = [e for e in system.storage.reads.emails(100) if e.status == "pending"]
        assert len(waiting) == 4
        with system.storage.snapshot() as tx:
            assert tx.outbox.next_due() == START + timedelta(seconds=0.5)

        for _ in range(4):
            clock.advance(timedelta(seconds=0.5))
            asyncio.run(system.sender.send_due())
    finally:
        system.close()
    assert sorted(picky.handler.recipients) == sorted(fast + slow)
    retried = [e for e in system.storage.reads.emails(100) if e.item.to_address in slow[2:]]
    assert {e.status for e in retried} == {"sent"}
    assert all(e.last_error is None for e in retried), "waiting for a slot is not a failure"
