"""Signing up for topics, with double opt-in.

A sign-up with double opt-in (`consent.double_opt_in`, and always for a browser key, which
anyone can send with in anyone's name) makes the topics *pending* for the address, and logs
`consent_requested`: a journey triggered by it sends the confirmation email (the example
workspace's `confirm_subscription`), whose `confirm_url` leads to a button; the click proves
the address is the person's and turns the pending topics on (`preferences.confirm`).
Without double opt-in, a server-side sign-up turns them on at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pertinent.delivery.address import AddressError, normalize_address
from pertinent.errors import InputError
from pertinent.events.system import system_event
from pertinent.ingest.pipeline import prepare
from pertinent.privacy.consent import ConsentPolicy, ConsentStatus, changes_to
from pertinent.privacy.preferences import consent_events, record_changes
from pertinent.profiles.state import anonymous_profile_id
from pertinent.storage.ports import Storage


@dataclass(frozen=True)
class SignUp:
    topics: list[str]
    user_id: str | None = None
    anonymous_id: str | None = None
    email: str | None = None


def sign_up(
    storage: Storage, policy: ConsentPolicy, request: SignUp, *, browser_key: bool, now: datetime
) -> dict[str, ConsentStatus]:
    """Sign the person up for the topics; return each topic's status now (topics they were
    already opted in to stay as they are)."""
    if not request.topics:
        raise InputError("name at least one topic", where="topics")
    for topic in request.topics:
        if (problem := policy.unknown(topic)) is not None:
            raise InputError(problem, where=f"topics.{topic}")
    if (request.user_id is None) == (request.anonymous_id is None):
        raise InputError("give either userId or anonymousId", where="userId")
    try:
        email = normalize_address(request.email) if request.email is not None else None
    except AddressError as exc:
        raise InputError(exc.message, where="email") from None
    status: ConsentStatus = (
        "pending" if policy.settings.double_opt_in or browser_key else "opted_in"
    )
    with storage.transaction() as tx:
        if request.user_id is not None:
            pid = tx.profiles.resolve("user", request.user_id) or request.user_id
        else:
            anonymous = str(request.anonymous_id)
            pid = tx.profiles.resolve("anon", anonymous) or anonymous_profile_id(anonymous)
        state = tx.profiles.load([pid]).get(pid)
        known = state.traits.get("email") if state is not None else None
        address = email or (known if isinstance(known, str) else None)
        if status == "pending" and address is None:
            raise InputError(
                "no address to send the confirmation to", where="email", hint="send `email`"
            )
        history = tx.consent.history([pid])
        wanted = {t: status for t in request.topics if policy.status(history, t) != "opted_in"}
        changes = changes_to(policy, pid, history, wanted, "sign_up", now, address=address)
        events = []
        if email is not None:
            ids = (
                {"userId": request.user_id}
                if request.user_id
                else {"anonymousId": request.anonymous_id}
            )
            identify = prepare(
                [{"type": "identify", **ids, "traits": {"email": email}}],
                received_at=now,
                browser_key=browser_key,
            )
            events += identify.events
        events += consent_events(changes, None)
        pending = [c.topic for c in changes if c.status == "pending"]
        if pending:
            events.append(system_event("consent_requested", pid, {"topics": pending}, now))
        record_changes(tx, changes, events, None)
        return {t: policy.status([*history, *changes], t) for t in request.topics}
