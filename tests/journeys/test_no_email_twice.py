"""No email goes twice, under any interleaving of sign-ups, carts, orders, merges, time,
crashes before a commit, restarts and edits of a journey under running instances.

The invariant, checked after every operation (one batch or one round of timers, so no
operation both merges and sends): an email made for a person is never one the person (as
known at that moment: merges re-point earlier emails to the survivor) already got from
the same step of a journey they may enter only once. Two people who each got it before
they turned out to be one are not a duplicate made by Pertinent, and are not caught: the
merge comes after both. And the outbox never holds an idempotency key twice. Runs on the in-memory reference adapter, which the contract suite
holds the SQL adapters to.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import START
from factories import alias, identify, track
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pertinent.clock import SimClock
from pertinent.content.links import SystemUrls
from pertinent.content.render import Renderer
from pertinent.content.templates import TemplateLibrary
from pertinent.events.model import Event
from pertinent.journeys.caps import SendPolicy
from pertinent.journeys.model import JourneyDefinition
from pertinent.journeys.timing import UTC_ZONE
from pertinent.journeys.versions import register
from pertinent.processor.batch import Pipeline, Processor
from pertinent.processor.compose import Composer
from pertinent.segments.definitions import SegmentSet
from pertinent.storage.memory.storage import MemoryStorage
from pertinent.tracking.tokens import TrackingTokens

USERS = ["u0", "u1"]
DEVICES = ["a0", "a1"]


def _welcome(version: int) -> JourneyDefinition:
    """Version 1, and a version 2 that renames its waits and migrates the waiting."""
    pause, later = ("pause", "later") if version == 1 else ("pause_v2", "later_v2")
    spec: dict[str, Any] = {
        "key": "welcome",
        "trigger": {"type": "event", "event": "Signed Up"},
        "reentry": "never",
        "steps": [
            {"id": pause, "type": "wait", "duration": "1h" if version == 1 else "30m"},
            {"id": "hello", "type": "send", "template": "t_hello"},
            {"id": later, "type": "wait", "duration": "1d"},
            {"id": "tips", "type": "send", "template": "t_tips"},
        ],
    }
    if version == 2:
        spec["migrate"] = {"pause": "pause_v2", "later": "later_v2"}
    return JourneyDefinition.model_validate(spec)


CART = JourneyDefinition.model_validate(
    {
        "key": "cart",
        "trigger": {"type": "event", "event": "Product Added"},
        "exit": {"events": ["Order Completed"]},
        "steps": [
            {"id": "wait", "type": "wait_for_event", "event": "Order Completed", "timeout": "1h"},
            {"id": "remind", "type": "send", "template": "t_cart"},
        ],
    }
)


class Crashy:
    """Storage whose next write transaction fails just before it commits, when armed."""

    def __init__(self) -> None:
        self.inner = MemoryStorage()
        self.armed = False

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.inner.transaction() as tx:
            yield tx
            if self.armed:
                self.armed = False
                raise RuntimeError("the process died before the commit")

    def snapshot(self) -> Any:
        return self.inner.snapshot()

    def append(self, batches: Any) -> Any:
        return self.inner.append(batches)

    @property
    def reads(self) -> Any:
        return self.inner.reads

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("templates")
    for name in ("t_hello", "t_tips", "t_cart"):
        (root / name).mkdir()
        (root / name / "subject.liquid").write_text(name)
        (root / name / "body.html").write_text("<html><body><p>x</p></body></html>")
    return root


class World:
    def __init__(self, templates: Path) -> None:
        self.storage = Crashy()
        self.clock = SimClock(START)
        urls = SystemUrls("http://x", TrackingTokens("s" * 16))
        renderer = Renderer(TemplateLibrary(templates), urls)
        self.composer = Composer(renderer, "s" * 16)
        self.definitions = [_welcome(1), CART]
        self.processor = self._processor()
        self.seen: dict[int, tuple[str, str | None, str]] = {}
        self.counter = 0

    def _processor(self) -> Processor:
        with self.storage.transaction() as tx:
            journeys = register(tx.journeys, self.definitions, self.clock.now())
        policy = SendPolicy((), None, UTC_ZONE, lambda _t: "marketing")
        pipeline = Pipeline(SegmentSet([]), journeys, self.composer, policy)
        return Processor(self.storage, self.clock, pipeline, batch_size=3)  # type: ignore[arg-type]

    def ingest(self, events: list[Event]) -> None:
        self.storage.append([events])

    def next_id(self) -> str:
        self.counter += 1
        return f"m{self.counter}"

    def do(self, op: tuple[str, int, int]) -> None:
        kind, a, b = op
        now = self.clock.now()
        if kind == "signup":
            who = {"user": USERS[a % 2]} if b % 2 else {"anon": DEVICES[a % 2]}
            self.ingest(
                [
                    identify(now, email=f"p{a}{b % 2}@example.com", **who),  # type: ignore[arg-type]
                    track("Signed Up", now, message_id=self.next_id(), **who),  # type: ignore[arg-type]
                ]
            )
        elif kind == "cart":
            self.ingest([track("Product Added", now, user=USERS[a % 2], message_id=self.next_id())])
        elif kind == "order":
            self.ingest([track("Order Completed", now, user=USERS[a % 2])])
        elif kind == "alias":
            self.ingest([alias(now, previous=DEVICES[a % 2], user=USERS[b % 2])])
        elif kind == "time":
            self.clock.advance(timedelta(minutes=[10, 40, 70, 60 * 25][b % 4]))
        elif kind == "crash":
            self.storage.armed = True
            try:
                self.step()
            except RuntimeError:
                self.processor = self._processor()  # the process comes back
            self.storage.armed = False
        elif kind == "restart":
            self.processor = self._processor()
        elif kind == "edit":
            self.definitions = [_welcome(2), CART]
            self.processor = self._processor()
        if kind in ("process", "time", "edit", "restart"):
            self.step()

    def step(self) -> None:
        """One batch, or else one round of timers: never a merge and a send in one step,
        so a send can be held to what the person had got when it was made."""
        if not self.processor.process_batch():
            self.processor.run_timers()

    def check(self) -> None:
        rows = self.storage.inner._state.outbox  # the reference state, read directly
        keys = [r.item.idempotency_key for r in rows.values()]
        assert len(keys) == len(set(keys)), "an idempotency key twice"
        new = [i for i in rows if i not in self.seen]
        for row_id in new:
            item = rows[row_id].item
            if item.journey_key != "welcome":
                continue
            again = [
                other_id
                for other_id, other in rows.items()
                if other_id != row_id
                and other.item.profile_id == item.profile_id
                and other.item.journey_key == "welcome"
                and other.item.template == item.template
            ]
            assert not again, f"{item.profile_id} got {item.template} again"
        for row_id in new:
            item = rows[row_id].item
            self.seen[row_id] = (item.profile_id, item.journey_key, item.template)


OPS = st.tuples(
    st.sampled_from(
        [
            *("signup", "signup", "cart", "order", "alias", "time"),
            *("process", "process", "process", "crash", "restart", "edit"),
        ]
    ),
    st.integers(0, 1),
    st.integers(0, 3),
)
PROCESS = ("process", 0, 0)
# Interleavings worth having every time, besides the random ones: two running instances of
# one person merged; a merge after one of them sent; an edit between the two sends; a crash
# right after the sends were made.
BOTH_RUNNING = [("signup", 0, 0), ("signup", 0, 1), *[PROCESS] * 3, ("alias", 0, 0), PROCESS]
ONE_SENT = [("signup", 0, 0), *[PROCESS] * 2, ("time", 0, 2), ("signup", 0, 1), *[PROCESS] * 3]
ONE_SENT += [("alias", 0, 0), *[PROCESS] * 2]


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(OPS, min_size=5, max_size=30))
@example(BOTH_RUNNING)
@example(ONE_SENT)
@example([*BOTH_RUNNING, ("edit", 0, 0), ("time", 0, 2), ("crash", 0, 0), ("restart", 0, 0)])
def test_no_email_goes_twice(templates: Path, ops: list[tuple[str, int, int]]) -> None:
    world = World(templates)
    for op in [*ops, *[("process", 0, 0)] * 6, ("time", 0, 3), ("time", 0, 3)]:
        world.do(op)
        world.check()
