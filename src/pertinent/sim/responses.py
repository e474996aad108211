"""How a simulated person answers an email: the response model of docs/simulator.md.

The simulator sees the email as a reader would, and nothing else: its subject, its links, the
products it shows (from its product links) and when it arrived, and the person. It never
learns which journey, experiment, variant or arm an email belongs to, nor how it was chosen:
a personalized email can beat a generic one here only by showing the person what they like
at the hour they read.

Every number below is written down, with its source, in docs/simulator.md. They are not
tuned to the engine's results: a change to one is a commit of its own that says why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from pertinent.sim.catalogue import CATEGORIES, SimProduct
from pertinent.sim.population import SimPerson

# Opening. A person's chance to open (a human open) is BASE_OPEN_RATE, times their own
# propensity relative to the population's mean, times the timing and subject effects.
BASE_OPEN_RATE = 0.20
MEAN_OPEN_PROPENSITY = 4 / 9  # the mean of Beta(4, 5), from which population.py draws it
READING_WINDOW = timedelta(hours=3)
IN_WINDOW = 1.20  # arrived in the 3 hours before the person's reading hour
OUT_OF_WINDOW = 0.97  # otherwise; 1/8 · 1.20 + 7/8 · 0.97 ≈ 1: a random hour is the base
SUBJECT_TASTE = (0.85, 0.90)  # x (a + b · liking) when the subject names categories
MAX_OPEN = 0.95

# The taste of a generic email: how much a person likes the best-liked category among four
# products picked at random, averaged over the population (Dirichlet(0.4) tastes over six
# categories): the reference at which the click and order rates below are the base rates.
REFERENCE_TASTE = 0.37

# Clicking, once opened: BASE_CLICK_TO_OPEN at the reference taste, scaled by the taste
# factor (TASTE_FLOOR + TASTE_SLOPE · liking) and the person's relative propensity.
BASE_CLICK_TO_OPEN = 0.128
MEAN_CLICK_PROPENSITY = 2 / 8  # the mean of Beta(2, 6)
TASTE_FLOOR, TASTE_SLOPE = 0.4, 3.0
MAX_CLICK = 0.90

# Buying, once clicked (the product of the email the person likes best): ORDER_GIVEN_CLICK at
# the reference taste, scaled by (ORDER_FLOOR + ORDER_SLOPE · liking).
ORDER_GIVEN_CLICK = 0.25
ORDER_FLOOR, ORDER_SLOPE = 0.15, 0.6
_CATEGORY_WORDS = {c.lower(): c for c in CATEGORIES}


@dataclass(frozen=True)
class SimEmail:
    """An email as it reached the person's inbox. `message_id`, `to` and `html` are there for
    the caller's bookkeeping; `respond` reads only `subject`, `links`, `product_ids` and
    `open_pixel_url` (a test holds it to that)."""

    message_id: str
    to: str
    subject: str
    html: str
    links: list[str] = field(default_factory=list)
    product_ids: list[str] = field(default_factory=list)
    open_pixel_url: str | None = None


@dataclass(frozen=True)
class SimResponse:
    kind: Literal["open", "click", "order"]
    at: datetime
    url: str | None = None
    product_id: str | None = None


def email_rng(seed: int, email_key: str) -> np.random.Generator:
    """A random stream fixed by (seed, email), so replays answer the same way. The key must
    not contain anything random itself (a Message-ID does): use who got what, in what order."""
    digest = hashlib.sha256(f"{seed}:{email_key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def next_reading_time(person: SimPerson, after: datetime) -> datetime:
    """The next time the person sits down to read mail: their reading hour, local time."""
    local = after + timedelta(hours=person.utc_offset_hours)
    target = local.replace(hour=person.reading_hour, minute=0, second=0, microsecond=0)
    if target < local:
        target += timedelta(days=1)
    return target - timedelta(hours=person.utc_offset_hours)


def _subject_factor(person: SimPerson, subject: str) -> float:
    named = [c for word, c in _CATEGORY_WORDS.items() if word in subject.lower()]
    if not named:
        return 1.0
    a, b = SUBJECT_TASTE
    return a + b * max(person.likes(c) for c in named)


def open_probability(person: SimPerson, subject: str, delivered_at: datetime) -> float:
    in_window = next_reading_time(person, delivered_at) - delivered_at <= READING_WINDOW
    timing = IN_WINDOW if in_window else OUT_OF_WINDOW
    relative = person.open_propensity / MEAN_OPEN_PROPENSITY
    chance = BASE_OPEN_RATE * relative * timing * _subject_factor(person, subject)
    return min(MAX_OPEN, chance)


def click_probability(person: SimPerson, taste: float) -> float:
    factor = (TASTE_FLOOR + TASTE_SLOPE * taste) / (TASTE_FLOOR + TASTE_SLOPE * REFERENCE_TASTE)
    relative = person.click_propensity / MEAN_CLICK_PROPENSITY
    return min(MAX_CLICK, BASE_CLICK_TO_OPEN * relative * factor)


def order_probability(liking: float) -> float:
    factor = (ORDER_FLOOR + ORDER_SLOPE * liking) / (ORDER_FLOOR + ORDER_SLOPE * REFERENCE_TASTE)
    return ORDER_GIVEN_CLICK * factor


def respond(
    person: SimPerson,
    email: SimEmail,
    delivered_at: datetime,
    rng: np.random.Generator,
    products: dict[str, SimProduct],
) -> list[SimResponse]:
    """What the person does with the email: nothing, an open, an open and a click, or all
    three and an order. The draws are made in a fixed order, so two emails alike in what the
    person sees get the same answer from the same random stream."""
    if rng.random() >= open_probability(person, email.subject, delivered_at):
        return []
    reading = next_reading_time(person, delivered_at)
    opened = reading + timedelta(minutes=float(rng.uniform(0, 45)))
    out = [SimResponse("open", opened, email.open_pixel_url)]
    mentioned = [products[i] for i in email.product_ids if i in products]
    taste = max((person.likes(p.category) for p in mentioned), default=0.0)
    if not email.links or rng.random() >= click_probability(person, taste):
        return out
    clicked = opened + timedelta(minutes=float(rng.uniform(0.5, 5)))
    favourite = max(mentioned, key=lambda p: person.likes(p.category), default=None)
    url = email.links[min(int(rng.integers(len(email.links))), len(email.links) - 1)]
    out.append(SimResponse("click", clicked, url, favourite.item_id if favourite else None))
    if favourite is not None and rng.random() < order_probability(person.likes(favourite.category)):
        out.append(
            SimResponse(
                "order",
                clicked + timedelta(minutes=float(rng.uniform(3, 20))),
                None,
                favourite.item_id,
            )
        )
    return out
