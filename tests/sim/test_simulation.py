"""The simulator is deterministic, additive over time windows, and tastes drive responses."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from pertinent.sim import SimEmail, Simulation, email_rng

START = datetime(2026, 3, 2, tzinfo=UTC)


def test_same_seed_same_events_and_windows_add_up() -> None:
    a = Simulation(seed=3, n_people=60, n_products=40, start=START)
    b = Simulation(seed=3, n_people=60, n_products=40, start=START)
    whole = a.events_between(START, START + timedelta(days=2))
    parts = [
        e
        for hours in range(0, 48, 5)
        for e in b.events_between(
            START + timedelta(hours=hours),
            min(START + timedelta(hours=hours + 5), START + timedelta(days=2)),
        )
    ]
    assert whole == parts
    assert whole != Simulation(seed=4, n_people=60, n_products=40, start=START).events_between(
        START, START + timedelta(days=2)
    )


def test_a_plausible_mix_of_behaviour() -> None:
    sim = Simulation(seed=1, n_people=300, n_products=60, start=START)
    events = sim.events_between(START, START + timedelta(days=3))
    kinds = Counter(e.get("event", e["type"]) for e in events)
    assert kinds["Product Added"] > kinds["Order Completed"] > 0, "some carts are abandoned"
    assert kinds["identify"] == 300, "everyone signs up once"
    anonymous_first = {
        e["anonymousId"]
        for e in events
        if "userId" not in e and not e["anonymousId"].startswith("bot-")
    }
    assert anonymous_first, "some people browse before they identify"
    bots = [e for e in events if "Googlebot" in e["context"]["userAgent"]]
    assert bots and all("userId" not in e for e in bots)
    assert all(
        ("userId" in e or "anonymousId" in e) and e["messageId"] and e["timestamp"] for e in events
    )


def test_emails_matching_tastes_get_more_clicks() -> None:
    sim = Simulation(seed=5, n_people=400, n_products=60, start=START)
    clicks = {"matching": 0, "opposite": 0}
    for person in sim.people:
        by_taste = sorted(sim.catalogue, key=lambda p: person.likes(p.category))
        for label, product in (("matching", by_taste[-1]), ("opposite", by_taste[0])):
            email = SimEmail(
                message_id=f"{label}-{person.user_id}",
                to=person.email,
                subject="s",
                html="",
                links=["http://t/c/x"],
                product_ids=[product.item_id],
            )
            answers = sim.respond(person, email, START, email_rng(5, person.user_id))
            clicks[label] += any(r.kind == "click" for r in answers)
    assert clicks["matching"] > 1.5 * clicks["opposite"]


class _Watched:
    """An email that records which of its fields the simulator reads."""

    def __init__(self, email: SimEmail) -> None:
        self._email = email
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> object:
        self.read.add(name)
        return getattr(self._email, name)


def test_the_simulator_sees_only_what_a_reader_sees() -> None:
    """No arm, variant, journey or message id can reach the response model: it reads the
    subject, the links, the products and the pixel, and two emails alike in those get the
    same answer whatever else differs."""
    sim = Simulation(seed=6, n_people=300, n_products=60, start=START)
    read: set[str] = set()
    answered = 0
    for person in sim.people:
        products = [p.item_id for p in sim.catalogue[:3]]
        a = SimEmail("arm-a", person.email, "Hello", "<p>variant A</p>", ["http://t/c/1"], products)
        b = SimEmail("arm-b", "x@y", "Hello", "<p>experiment B</p>", ["http://t/c/1"], products)
        watched = _Watched(a)
        first = sim.respond(person, watched, START, email_rng(6, person.user_id))  # type: ignore[arg-type]
        second = sim.respond(person, b, START, email_rng(6, person.user_id))
        assert first == second
        read |= watched.read
        answered += bool(first)
    assert answered > 0, "some people answered, so the fields were really read"
    assert read <= {"subject", "links", "product_ids", "open_pixel_url"}
    assert {"subject", "product_ids"} <= read
