"""Simulated people: who they are (traits) and what they secretly like (hidden tastes).

Tastes drive what they browse and buy and how they answer emails, so a personalized email
can be measured against a generic one before anything goes live.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pertinent.sim.catalogue import CATEGORIES

_FIRST_NAMES = (
    "Ann",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Grace",
    "Hugo",
    "Isla",
    "Jun",
    "Kofi",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
)
_PLACES = (
    ("London", "Europe/London"),
    ("Manchester", "Europe/London"),
    ("NYC", "America/New_York"),
    ("Chicago", "America/Chicago"),
    ("Berlin", "Europe/Berlin"),
    ("Sydney", "Australia/Sydney"),
)
_OFFSETS = {
    "Europe/London": 0,
    "America/New_York": -5,
    "America/Chicago": -6,
    "Europe/Berlin": 1,
    "Australia/Sydney": 10,
}


@dataclass(frozen=True)
class SimPerson:
    user_id: str
    anonymous_id: str
    email: str
    first_name: str
    city: str
    age: int
    timezone: str
    reading_hour: int
    affinity: tuple[float, ...]
    sessions_per_day: float
    open_propensity: float
    click_propensity: float
    browses_anonymously_first: bool

    @property
    def utc_offset_hours(self) -> int:
        """A fixed offset is enough for a simulation (no daylight saving)."""
        return _OFFSETS[self.timezone]

    def likes(self, category: str) -> float:
        return self.affinity[list(CATEGORIES).index(category)]


def make_population(rng: np.random.Generator, n_people: int) -> list[SimPerson]:
    people = []
    n_categories = len(CATEGORIES)
    for index in range(n_people):
        city, timezone = _PLACES[int(rng.integers(len(_PLACES)))]
        user_id = f"u{index + 1:05d}"
        people.append(
            SimPerson(
                user_id=user_id,
                anonymous_id=f"anon-{int(rng.integers(1 << 40)):010x}",
                email=f"{user_id}@example.{'com' if index % 3 else 'org'}",
                first_name=_FIRST_NAMES[int(rng.integers(len(_FIRST_NAMES)))],
                city=city,
                age=int(rng.integers(18, 70)),
                timezone=timezone,
                reading_hour=int(rng.choice([7, 8, 9, 12, 13, 18, 19, 20, 21])),
                affinity=tuple(float(x) for x in rng.dirichlet(np.full(n_categories, 0.4))),
                sessions_per_day=float(rng.gamma(2.0, 0.35)),
                open_propensity=float(rng.beta(4, 5)),
                click_propensity=float(rng.beta(2, 6)),
                browses_anonymously_first=bool(rng.random() < 0.35),
            )
        )
    return people
