"""What receiving systems report after delivery, into the log: bounces and complaints.

Reports arrive in several forms (a DSN or an ARF report at the bounce address, an ESP's
webhook); each parser turns its form into `Bounce` and `Complaint` values, and
`record_feedback` is the one way they enter Pertinent: an `email_bounced` or
`email_complained` event in the log for the person the email went to, and, for a hard bounce
or a complaint, the address on the suppression list, in one transaction.

A report names its email by our Message-ID where it can (the VERP return path, the returned
headers, the ESP's copy of them), else by the address alone, which finds the newest email
sent there. Each event's id is derived from what it reports, so a DSN delivered twice or a
webhook the ESP retries is logged once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

from pertinent.delivery.address import AddressError, normalize_address
from pertinent.delivery.outbox import OutboxItem
from pertinent.events.model import Event
from pertinent.events.system import system_event
from pertinent.storage.ports import Storage, Transaction


@dataclass(frozen=True)
class Bounce:
    """The email did not arrive. `hard`: it never will (no such mailbox, a permanent
    refusal); otherwise it may later (mailbox full, delayed)."""

    source: str
    address: str | None
    message_id: str | None
    hard: bool
    reason: str


@dataclass(frozen=True)
class Complaint:
    """The recipient reported the email as spam (or another abuse `feedback_type`)."""

    source: str
    address: str | None
    message_id: str | None
    feedback_type: str = "abuse"


Feedback = Bounce | Complaint


@dataclass(frozen=True)
class FeedbackReport:
    recorded: int = 0  # events logged for a known email (a report seen before is not again)
    unmatched: int = 0  # reports that named no email of ours (a suppression may still apply)


def email_facts(item: OutboxItem) -> dict[str, Any]:
    """What every event about an email says of it."""
    return {
        "message_id": item.message_id,
        "template": item.template,
        "journey": item.journey_key,
        **item.meta,
    }


def message_id_of(header: str | None) -> str | None:
    """Our id from a Message-ID header value (`<id@domain>`), if it has the shape of one."""
    if not header:
        return None
    inner = header.strip().removeprefix("<").removesuffix(">")
    local = inner.rpartition("@")[0] if "@" in inner else inner
    return local or None


def _normalized(address: str | None) -> str | None:
    """The address in its stored form; None for one that could never have been ours."""
    try:
        return normalize_address(address) if address is not None else None
    except AddressError:
        return None


def _find(tx: Transaction, feedback: Feedback) -> OutboxItem | None:
    if feedback.message_id is not None:
        found = tx.outbox.get(feedback.message_id)
        if found is not None:
            return found[0]
    address = _normalized(feedback.address)
    return tx.outbox.latest_to(address) if address is not None else None


def _event(item: OutboxItem, feedback: Feedback, now: datetime) -> Event:
    facts = {**email_facts(item), "email": item.to_address, "source": feedback.source}
    match feedback:
        case Bounce():
            name = "email_bounced"
            facts |= {"bounce": "hard" if feedback.hard else "soft", "reason": feedback.reason}
            kind = facts["bounce"]
        case Complaint():
            name = "email_complained"
            facts["feedback_type"] = kind = feedback.feedback_type
        case _:
            assert_never(feedback)
    cause = f"{feedback.source}\x1f{item.message_id}\x1f{kind}"
    return system_event(name, item.profile_id, facts, now, cause=cause)


def _suppression(feedback: Feedback) -> str | None:
    match feedback:
        case Bounce():
            return "bounced" if feedback.hard else None
        case Complaint():
            return "complained"
        case _:
            assert_never(feedback)


def record_feedback(storage: Storage, reports: Sequence[Feedback], now: datetime) -> FeedbackReport:
    """Log each report about one of our emails and suppress what must be; in one transaction,
    so a caller that gets an error can have the reports sent again (nothing is half done)."""
    events: list[Event] = []
    unmatched = 0
    with storage.transaction() as tx:
        for feedback in reports:
            item = _find(tx, feedback)
            reason = _suppression(feedback)
            if item is None:
                unmatched += 1
                address = _normalized(feedback.address)
                if reason is not None and address is not None:
                    tx.suppressions.add(address, None, reason, now)
                continue
            if reason is not None:
                tx.suppressions.add(item.to_address, item.profile_id, reason, now)
            events.append(_event(item, feedback, now))
        recorded = tx.log.append(events).accepted if events else 0
    return FeedbackReport(recorded=recorded, unmatched=unmatched)
