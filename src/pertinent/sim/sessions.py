"""Simulated behaviour on a simulated clock, as Segment calls.

Each (person, day) has its own seeded random stream, so any window of time can be generated on
its own and consecutive windows add up to exactly one long window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from pertinent.sim.catalogue import CATEGORIES, SimProduct, make_catalogue
from pertinent.sim.population import SimPerson, make_population
from pertinent.sim.responses import SimEmail, SimResponse, respond

BROWSER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148",
)
BOT_AGENT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
_DAY = timedelta(days=1)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Simulation:
    def __init__(self, seed: int, n_people: int, n_products: int, start: datetime):
        self.seed = seed
        self.start = start
        rng = np.random.default_rng([seed, 0])
        self.catalogue: list[SimProduct] = make_catalogue(rng, n_products)
        self.products = {p.item_id: p for p in self.catalogue}
        self.people: list[SimPerson] = make_population(rng, n_people)
        self._by_category = {c: [p for p in self.catalogue if p.category == c] for c in CATEGORIES}
        self._joined = [
            start + timedelta(hours=float(np.random.default_rng([seed, i, 1]).uniform(0, 48)))
            for i in range(n_people)
        ]
        self._days: dict[int, list[dict[str, Any]]] = {}

    def events_between(self, t0: datetime, t1: datetime) -> list[dict[str, Any]]:
        """Every call whose timestamp is in [t0, t1), in time order."""
        first = (t0 - self.start) // _DAY
        last = (t1 - self.start) // _DAY
        out: list[dict[str, Any]] = []
        for day in range(max(first, 0), last + 1):
            out.extend(e for e in self._day(day) if t0 <= e["_at"] < t1)
        out.sort(key=lambda e: (e["_at"], e["messageId"]))
        return [{k: v for k, v in e.items() if k != "_at"} for e in out]

    def respond(
        self, person: SimPerson, email: SimEmail, delivered_at: datetime, rng: np.random.Generator
    ) -> list[SimResponse]:
        return respond(person, email, delivered_at, rng, self.products)

    def _day(self, day: int) -> list[dict[str, Any]]:
        if day not in self._days:
            events: list[dict[str, Any]] = []
            for index, person in enumerate(self.people):
                events.extend(self._person_day(index, person, day))
            events.extend(self._bots(day))
            self._days[day] = events
        return self._days[day]

    def _person_day(self, index: int, person: SimPerson, day: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng([self.seed, index, 2, day])
        day_start = self.start + day * _DAY
        joined = self._joined[index]
        starts = []
        for _ in range(int(rng.poisson(person.sessions_per_day))):
            local_hour = float(rng.normal(19, 3.5)) % 24
            starts.append(day_start + timedelta(hours=(local_hour - person.utc_offset_hours) % 24))
        if day_start <= joined < day_start + _DAY:
            starts.append(joined)
        agent = BROWSER_AGENTS[index % len(BROWSER_AGENTS)]
        events: list[dict[str, Any]] = []
        for number, at in enumerate(sorted(s for s in starts if s >= joined)):
            events.extend(
                self._session(rng, person, at, at == joined, agent, f"{index}-{day}-{number}")
            )
        return events

    def _session(
        self,
        rng: np.random.Generator,
        person: SimPerson,
        at: datetime,
        first: bool,
        agent: str,
        tag: str,
    ) -> list[dict[str, Any]]:
        counter = iter(range(10_000))
        anonymous = first and person.browses_anonymously_first
        context = {"userAgent": agent, "ip": f"192.0.2.{int(person.user_id[1:]) % 250 + 1}"}

        def call(kind: str, when: datetime, **fields: Any) -> dict[str, Any]:
            ids = {"anonymousId": person.anonymous_id}
            if not anonymous:
                ids["userId"] = person.user_id
            return {
                "type": kind,
                **ids,
                "messageId": f"sim-{self.seed}-{tag}-{next(counter)}",
                "timestamp": _iso(when),
                "context": context,
                "_at": when,
                **fields,
            }

        def identify(when: datetime) -> list[dict[str, Any]]:
            traits = {
                "email": person.email,
                "first_name": person.first_name,
                "city": person.city,
                "age": person.age,
                "timezone": person.timezone,
            }
            return [
                call("identify", when, traits=traits),
                call("track", when, event="Signed Up", properties={"method": "email"}),
            ]

        events = []
        if first and not anonymous:
            events.extend(identify(at))
        events.append(call("page", at, name="Home", properties={"path": "/"}))
        cart: list[SimProduct] = []
        when = at
        names = list(CATEGORIES)
        for _ in range(1 + int(rng.geometric(0.3))):
            when += timedelta(seconds=float(rng.uniform(20, 150)))
            category = names[int(rng.choice(len(names), p=np.asarray(person.affinity)))]
            product = self._by_category[category][
                int(rng.integers(len(self._by_category[category])))
            ]
            events.append(
                call("track", when, event="Product Viewed", properties=product.properties())
            )
            if rng.random() < 0.12 + 0.5 * person.likes(category):
                when += timedelta(seconds=float(rng.uniform(5, 40)))
                cart.append(product)
                events.append(
                    call(
                        "track",
                        when,
                        event="Product Added",
                        properties={
                            **product.properties(),
                            "quantity": 1,
                            "cart_id": f"cart-{tag}",
                        },
                    )
                )
        if anonymous:
            anonymous = False
            events.extend(identify(when + timedelta(seconds=30)))
            when += timedelta(seconds=30)
        if cart and rng.random() < 0.45:
            when += timedelta(seconds=float(rng.uniform(60, 300)))
            lines = [
                {
                    "product_id": p.item_id,
                    "name": p.title,
                    "category": p.category,
                    "price": p.price,
                    "quantity": 1,
                }
                for p in cart
            ]
            events.append(
                call(
                    "track",
                    when,
                    event="Order Completed",
                    properties={
                        "order_id": f"o-{tag}",
                        "revenue": round(sum(p.price for p in cart), 2),
                        "currency": "GBP",
                        "products": lines,
                    },
                )
            )
        return events

    def _bots(self, day: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng([self.seed, 3, day])
        day_start = self.start + day * _DAY
        events = []
        for number in range(int(rng.poisson(20))):
            at = day_start + timedelta(seconds=float(rng.uniform(0, 86_400)))
            product = self.catalogue[int(rng.integers(len(self.catalogue)))]
            events.append(
                {
                    "type": "track",
                    "event": "Product Viewed",
                    "anonymousId": f"bot-{day}-{number}",
                    "messageId": f"sim-{self.seed}-bot-{day}-{number}",
                    "timestamp": _iso(at),
                    "properties": product.properties(),
                    "context": {"userAgent": BOT_AGENT, "ip": "66.249.66.1"},
                    "_at": at,
                }
            )
        return events
