"""Broadcast recipients whose time came: send, wait out quiet hours, or skip (capped, or the
person already got this broadcast, say from a profile merged into theirs).

Pure, like the journeys phase: the loader hands over the recipients, their broadcasts, and
the context (profiles, recent emails); the engine returns send requests for the compose
phase, the recipients to look at again later, and the outcomes decided here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, assert_never

from pertinent.journeys.broadcasts import Broadcast, Outcome, Recipient
from pertinent.journeys.caps import Capped, Category, Delay, Send, SendPolicy, SentRecord
from pertinent.processor.journeys import Context


@dataclass(frozen=True)
class BroadcastSend:
    """A broadcast email to make: the compose phase renders it and says how it went."""

    recipient: Recipient
    template: str
    category: Category

    @property
    def idempotency_key(self) -> str:
        """One email per person per broadcast, whatever crashes or merges."""
        return f"b:{self.recipient.broadcast_id}:{self.recipient.profile_id}"[:256]

    @property
    def profile_id(self) -> str:
        return self.recipient.profile_id

    @property
    def meta(self) -> dict[str, Any]:
        return {"broadcast": self.recipient.broadcast_id, "category": self.category}


@dataclass
class Decided:
    sends: list[BroadcastSend] = field(default_factory=list)
    later: list[Recipient] = field(default_factory=list)  # with their new due time
    outcomes: list[tuple[Recipient, Outcome]] = field(default_factory=list)


def on_due(
    broadcasts: Mapping[int, Broadcast],
    recipients: Sequence[Recipient],
    policy: SendPolicy,
    context: Context,
    now: datetime,
) -> Decided:
    decided = Decided()
    for recipient in recipients:
        broadcast = broadcasts.get(recipient.broadcast_id)
        if broadcast is None:
            decided.outcomes.append((recipient, "not sent"))
            continue
        sent = context.sent.setdefault(recipient.profile_id, [])
        if any(r.broadcast == broadcast.id for r in sent):
            decided.outcomes.append((recipient, "already sent"))
            continue
        decision = policy.decide(
            broadcast.template, context.traits(recipient.profile_id), sent, now
        )
        match decision:
            case Delay():
                decided.later.append(
                    Recipient(recipient.broadcast_id, recipient.profile_id, decision.until)
                )
            case Capped():
                decided.outcomes.append((recipient, "capped"))
            case Send():
                decided.sends.append(
                    BroadcastSend(recipient, broadcast.template, decision.category)
                )
                sent.append(
                    SentRecord(recipient.profile_id, now, decision.category, broadcast=broadcast.id)
                )
            case _:
                assert_never(decision)
    return decided
