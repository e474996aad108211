"""What each experiment's emails did, per recipient, read off the log.

The unit is the recipient: a person who was sent at least one email of the experiment. (Two
emails to one person are not independent observations; people are.) Each recipient counts
under the variant of their first email of the experiment — the one assignment holds them to
(`experiments/assign.py`) — and a person who saw two variants (two profiles, each mailed,
merged later) is counted there too and reported as a crossover.

For a recipient, from the events attributed to their profile (merges included):

- delivered: at least one of their emails was sent and not bounced;
- opened / clicked: a human `email_opened` / `email_clicked` of one of their emails (an
  event whose `machine` property is true — a privacy proxy, a link scanner — is not human);
- converted: a goal event (`Order Completed` by default) within the window after one of
  their emails; revenue: the sum of those goal events' `revenue` (else `total`), each event
  counted once however many windows hold it;
- unsubscribed: an `unsubscribed` that names one of their emails.

Every rate divides by recipients (intention to treat): a variant whose subject line bounces
more must not look better by dropping the people it lost.

The event properties read are written by Pertinent itself, but the log also takes what a
client sends, so each is checked for its type before it is used; a row that does not fit is
left out and counted.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

SENT, BOUNCED, OPENED, CLICKED, UNSUBSCRIBED = (
    "email_sent",
    "email_bounced",
    "email_opened",
    "email_clicked",
    "unsubscribed",
)
EMAIL_ACTIONS = (SENT, BOUNCED, OPENED, CLICKED, UNSUBSCRIBED)
MAX_NAME = 128

# (profile id, action, event time, properties): what `ProfileStore.actions` answers.
ActionRow = tuple[str, str, datetime, dict[str, Any]]


@dataclass
class Recipient:
    """One person in one experiment, and what the experiment's emails did."""

    profile_id: str
    variant: str
    first_sent: datetime
    sends: list[datetime] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    weights: dict[str, float] | None = None
    variants_seen: set[str] = field(default_factory=set)
    delivered: bool = False
    opened: bool = False
    clicked: bool = False
    converted: bool = False
    unsubscribed: bool = False
    revenue: float = 0.0

    @property
    def crossed_over(self) -> bool:
        return len(self.variants_seen) > 1


@dataclass
class ExperimentLog:
    """An experiment's recipients, with what its `email_sent` events said about its design."""

    key: str
    recipients: dict[str, Recipient] = field(default_factory=dict)
    controls: list[str] = field(default_factory=list)
    allocation: str = "fixed"

    @property
    def variants(self) -> list[str]:
        """Variants in order of their first recipient."""
        seen: dict[str, None] = {}
        for r in sorted(self.recipients.values(), key=lambda r: r.first_sent):
            seen.setdefault(r.variant, None)
        return list(seen)

    @property
    def control(self) -> str | None:
        """The control named on the emails (the latest name wins), else a variant called
        "control", else the first variant sent."""
        if self.controls:
            return self.controls[-1]
        names = self.variants
        return "control" if "control" in names else (names[0] if names else None)


@dataclass
class Readout:
    experiments: dict[str, ExperimentLog]
    skipped: int


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_NAME else None


def _weights(value: Any) -> dict[str, float] | None:
    if not isinstance(value, dict) or not value:
        return None
    out: dict[str, float] = {}
    for k, v in value.items():
        if _name(k) is None or isinstance(v, bool) or not isinstance(v, int | float):
            return None
        if not math.isfinite(v) or v < 0:
            return None
        out[k] = float(v)
    return out if sum(out.values()) > 0 else None


def order_value(properties: Mapping[str, Any]) -> float:
    """An order's revenue (Segment's e-commerce spec: `revenue`, else `total`); 0 if neither
    is a finite number."""
    for key in ("revenue", "total"):
        value = properties.get(key)
        if not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value):
            return float(value)
    return 0.0


def read_experiments(
    rows: Iterable[ActionRow], goal: str, window: timedelta, experiment: str | None = None
) -> Readout:
    """Every experiment's recipients (or only `experiment`'s) from the email and goal events,
    in log order. A person is a recipient from their first `email_sent` or `email_bounced`
    of the experiment: an email that could not be delivered was still assigned."""
    experiments: dict[str, ExperimentLog] = {}
    by_message: dict[str, Recipient] = {}
    orders: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    sent: set[str] = set()
    bounced: set[str] = set()
    engagement: list[ActionRow] = []
    skipped = 0
    for row in rows:
        profile_id, action, at, props = row
        if action == goal:
            orders[profile_id].append((at, order_value(props)))
            continue
        message = props.get("message_id")
        if action not in (SENT, BOUNCED):
            engagement.append(row)
            continue
        if isinstance(message, str) and message in by_message:
            (sent if action == SENT else bounced).add(message)  # an asynchronous bounce
            continue
        if (key := props.get("experiment")) is None:
            continue
        name, variant = _name(key), _name(props.get("variant"))
        if name is None or variant is None or not isinstance(message, str):
            skipped += 1
            continue
        if experiment is not None and name != experiment:
            continue
        log = experiments.setdefault(name, ExperimentLog(name))
        recipient = log.recipients.get(profile_id)
        if recipient is None:
            recipient = log.recipients[profile_id] = Recipient(
                profile_id, variant, at, weights=_weights(props.get("experiment_weights"))
            )
        recipient.sends.append(at)
        recipient.messages.append(message)
        recipient.variants_seen.add(variant)
        if (control := _name(props.get("experiment_control"))) is not None:
            log.controls.append(control)
        if props.get("experiment_allocation") == "thompson":
            log.allocation = "thompson"
        by_message[message] = recipient
        (sent if action == SENT else bounced).add(message)
    for profile_id, action, _at, props in engagement:
        message = props.get("message_id")
        found = by_message.get(message) if isinstance(message, str) else None
        if found is None or found.profile_id != profile_id:
            continue
        human = props.get("machine") is not True
        if action == OPENED and human:
            found.opened = True
        elif action == CLICKED and human:
            found.clicked = True
        elif action == UNSUBSCRIBED:
            found.unsubscribed = True
    for log in experiments.values():
        for recipient in log.recipients.values():
            recipient.delivered = any(m in sent and m not in bounced for m in recipient.messages)
            _convert(recipient, orders.get(recipient.profile_id, []), window)
    return Readout(experiments, skipped)


def _convert(
    recipient: Recipient, orders: Sequence[tuple[datetime, float]], window: timedelta
) -> None:
    """Goal events after one of the recipient's emails and at most `window` after it."""
    if not orders:
        return
    ordered = sorted(orders, key=lambda o: o[0])
    times = [t for t, _ in ordered]
    counted: set[int] = set()
    for sent in recipient.sends:
        counted.update(range(bisect_right(times, sent), bisect_right(times, sent + window)))
    if counted:
        recipient.converted = True
        recipient.revenue = sum(ordered[i][1] for i in counted)


def in_segment_at(
    history: Iterable[tuple[str, datetime, datetime | None]],
) -> Mapping[str, list[tuple[datetime, datetime | None]]]:
    """A segment's membership intervals by person, for `was_member`."""
    spans: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for profile_id, entered, exited in history:
        spans[profile_id].append((entered, exited))
    return spans


def was_member(spans: Sequence[tuple[datetime, datetime | None]], at: datetime) -> bool:
    return any(entered <= at and (exited is None or at < exited) for entered, exited in spans)
