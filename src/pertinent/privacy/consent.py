"""Consent per topic: what a person said, as history, and what it allows.

A person's choice for a topic is their newest change to it, unless they unsubscribed from
everything since (an `EVERY_TOPIC` opt-out); before they say anything, the topic's configured
default holds. Coming back from "everything off" (opting in to a topic again, or confirming a
sign-up) ends it with an `EVERY_TOPIC` opt-in, then writes an explicit opt-out for every other
topic that would otherwise come back on, so that only what the person chose does.

A marketing email of a topic goes only to someone opted in to it; a transactional email (an
order confirmation) is not a matter of consent. A pending opt-in (a sign-up waiting for its
confirmation click) is not an opt-in yet.

Pure: the stores keep the history (`storage.ports.ConsentStore`), `privacy.preferences`
changes it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pertinent.errors import InputError
from pertinent.privacy.settings import ConsentSettings

ConsentStatus = Literal["opted_in", "opted_out", "pending"]
STATUSES: tuple[ConsentStatus, ...] = ("opted_in", "opted_out", "pending")
EVERY_TOPIC = "*"
# Where a change came from, as the history shows it.
ConsentSource = Literal[
    "preference_centre", "one_click", "sign_up", "confirmation", "admin", "import"
]


@dataclass(frozen=True)
class ConsentChange:
    profile_id: str
    topic: str  # a configured topic, or EVERY_TOPIC
    status: ConsentStatus
    at: datetime
    source: ConsentSource
    # A pending opt-in: the address whose owner must confirm it (only an email sent there can).
    address: str | None = None


def by_person(history: Iterable[ConsentChange]) -> dict[str, list[ConsentChange]]:
    """A history of several people, split per person, each in its order."""
    people: dict[str, list[ConsentChange]] = defaultdict(list)
    for change in history:
        people[change.profile_id].append(change)
    return dict(people)


@dataclass(frozen=True)
class ConsentPolicy:
    settings: ConsentSettings

    @property
    def topics(self) -> list[str]:
        return list(self.settings.topics)

    def unknown(self, topic: str) -> str | None:
        """What is wrong with a topic a template or a request names; None if it is known."""
        if topic in self.settings.topics:
            return None
        known = ", ".join(self.settings.topics) or "none yet: add them under consent.topics"
        return f"no consent topic {topic!r} (topics: {known})"

    def status(self, changes: Sequence[ConsentChange], topic: str) -> ConsentStatus:
        """The person's choice for `topic` now (`changes`: their history, oldest first);
        for EVERY_TOPIC, whether they are unsubscribed from everything."""
        everything_ended = False
        for change in reversed(changes):
            if change.topic == topic:
                return change.status
            if change.topic == EVERY_TOPIC:
                if change.status == "opted_in":
                    everything_ended = True
                elif not everything_ended:
                    return "opted_out"
        configured = self.settings.topics.get(topic)
        return configured.default if configured is not None else "opted_in"

    def statuses(self, changes: Sequence[ConsentChange]) -> dict[str, ConsentStatus]:
        """The person's choice for every configured topic."""
        return {topic: self.status(changes, topic) for topic in self.settings.topics}

    def refusal(self, topic: str | None, changes: Sequence[ConsentChange]) -> str | None:
        """Why a marketing email of `topic` must not go to the person; None when it may. An
        email without a topic is stopped only by an unsubscribe from everything."""
        status = self.status(changes, topic or EVERY_TOPIC)
        if status == "opted_in":
            return None
        what = topic or "every topic"
        if status == "pending":
            return f"the opt-in to {what} waits for its confirmation"
        return f"opted out of {what}"

    def pending(self, changes: Sequence[ConsentChange], address: str) -> list[str]:
        """Topics waiting for a confirmation from `address`."""
        return [
            topic
            for topic in self.settings.topics
            if self.status(changes, topic) == "pending"
            and (next(c for c in reversed(changes) if c.topic == topic).address or "").lower()
            == address.lower()
        ]


def changes_to(
    policy: ConsentPolicy,
    profile_id: str,
    history: Sequence[ConsentChange],
    wanted: Mapping[str, ConsentStatus],
    source: ConsentSource,
    at: datetime,
    address: str | None = None,
) -> list[ConsentChange]:
    """The changes that make the person's choices `wanted` (topic -> status); a topic already
    at its wanted status makes none, so the history shows only real changes. An opt-in while
    the person is unsubscribed from everything ends that (see the module's docstring)."""
    for topic, status in wanted.items():
        if topic != EVERY_TOPIC and (problem := policy.unknown(topic)) is not None:
            raise InputError(problem, where=f"topics.{topic}")
        if status not in STATUSES:
            raise InputError(f"{status!r} is not a consent status", where=f"topics.{topic}")
    made: list[ConsentChange] = []
    now = list(history)

    def add(topic: str, status: ConsentStatus) -> None:
        pending = address if status == "pending" else None
        made.append(ConsentChange(profile_id, topic, status, at, source, pending))
        now.append(made[-1])

    coming_back = {t for t, s in wanted.items() if t != EVERY_TOPIC and s == "opted_in"}
    if coming_back and policy.status(now, EVERY_TOPIC) == "opted_out":
        add(EVERY_TOPIC, "opted_in")
        for topic in policy.topics:
            if topic not in wanted and policy.status(now, topic) != "opted_out":
                add(topic, "opted_out")
    for topic, status in wanted.items():
        if policy.status(now, topic) != status or (
            # Everything off again: a sign-up still pending since the last time goes too.
            topic == EVERY_TOPIC
            and status == "opted_out"
            and any(policy.status(now, t) != "opted_out" for t in policy.topics)
        ):
            add(topic, status)
    return made


def ends_everything_off(changes: Sequence[ConsentChange]) -> bool:
    """The changes bring back someone who had unsubscribed from everything."""
    return any(c.topic == EVERY_TOPIC and c.status == "opted_in" for c in changes)
