"""What an open or a click means, and for whom (an unsubscribe: `privacy.preferences`).

A tracking token names the email (its Message-ID); the email's outbox row names who got it
*now*: the row follows the person through merges and is gone once they are erased, so an
erased person's old email records nothing and cannot bring their id back.

An open or a click a machine made (a mail privacy proxy, a link scanner; see
`machine_opens`) is recorded with `machine: true` and its reason, for the person's timeline,
and left out of their engagement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pertinent.events.system import system_event
from pertinent.ingest.pipeline import Ingestor
from pertinent.storage.ports import SentEmail, Storage
from pertinent.tracking.machine_opens import MachineDetector, MachineReason, Seen


def _record(
    ingestor: Ingestor,
    name: str,
    email: SentEmail,
    reason: MachineReason | None,
    seen: Seen,
    now: datetime,
    **properties: Any,
) -> None:
    # What the email belonged to, so opens and clicks count for its journey step or broadcast.
    meta = email.item.meta
    origin: dict[str, Any] = {k: meta[k] for k in ("broadcast", "step", "version") if k in meta}
    if email.item.journey_key is not None:
        origin["journey"] = email.item.journey_key
    facts: dict[str, Any] = {
        "message_id": email.item.message_id,
        **origin,
        **properties,
        "user_agent": seen.user_agent,
        "machine": reason is not None,
    }
    if reason is not None:
        facts["machine_reason"] = reason
    ingestor.append([system_event(name, email.item.profile_id, facts, now)])


def record_open(
    storage: Storage,
    ingestor: Ingestor,
    machines: MachineDetector,
    message_id: str,
    seen: Seen,
    now: datetime,
) -> bool:
    """Log `email_opened` for the email's recipient; False if the email is unknown (never sent
    from here, or its recipient was erased)."""
    email = storage.reads.email(message_id)
    if email is None:
        return False
    _record(ingestor, "email_opened", email, machines.open_reason(seen), seen, now)
    return True


def record_click(
    storage: Storage,
    ingestor: Ingestor,
    machines: MachineDetector,
    message_id: str,
    url: str,
    seen: Seen,
    now: datetime,
) -> bool:
    """Log `email_clicked` (with the link) for the email's recipient; False if the email is
    unknown."""
    email = storage.reads.email(message_id)
    if email is None:
        return False
    reason = machines.click_reason(seen, message_id, url, email.sent_at, now)
    _record(ingestor, "email_clicked", email, reason, seen, now, url=url)
    return True
