"""What an open, a click or an unsubscribe means, and for whom.

A tracking token names the email (its Message-ID); the email's outbox row names who got it
*now*: the row follows the person through merges and is gone once they are erased, so an
erased person's old email records nothing and cannot bring their id back. An unsubscribe
suppresses the address the email went to, whatever the profile's email trait says now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pertinent.events.system import system_event
from pertinent.ingest.pipeline import Ingestor
from pertinent.storage.ports import Storage


def record_engagement(
    storage: Storage,
    ingestor: Ingestor,
    name: str,
    message_id: str,
    now: datetime,
    **properties: Any,
) -> bool:
    """Log `email_opened` or `email_clicked` for the email's recipient; False if the email is
    unknown (never sent from here, or its recipient was erased)."""
    with storage.snapshot() as tx:
        found = tx.outbox.get(message_id)
    if found is None:
        return False
    # What the email belonged to, so opens and clicks count for its journey step or broadcast.
    meta = found[0].meta
    origin: dict[str, Any] = {k: meta[k] for k in ("broadcast", "step", "version") if k in meta}
    if found[0].journey_key is not None:
        origin["journey"] = found[0].journey_key
    event = system_event(
        name, found[0].profile_id, {"message_id": message_id, **origin, **properties}, now
    )
    ingestor.append([event])
    return True


def unsubscribe(storage: Storage, message_id: str, now: datetime) -> bool:
    """Suppress the address the email went to and log `unsubscribed`; False if the email is
    unknown."""
    with storage.transaction() as tx:
        found = tx.outbox.get(message_id)
        if found is None:
            return False
        item = found[0]
        tx.suppressions.add(item.to_address, item.profile_id, "unsubscribed", now)
        tx.log.append(
            [
                system_event(
                    "unsubscribed",
                    item.profile_id,
                    {"message_id": message_id, "email": item.to_address},
                    now,
                )
            ]
        )
    return True
