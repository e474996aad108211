"""A person's export holds everything kept on them; their erasure leaves nothing of them in
the SQLite database file or its WAL, read byte by byte, the recommendation model and the
catalogue rows they described included."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from apitools import ADMIN, WRITE_KEY

from pertinent.app import System
from pertinent.clock import SimClock
from pertinent.delivery.sink import SmtpSink

# Strings that appear nowhere but in what the person sent, so a byte search finds only them.
USER = "zq-person-7781"
ANON = "zq-anon-5523"
EMAIL = "zq.secret.7781@example.com"
NAME = "Zquillaume"
GIFT = "Engraved for Zquillaume"
SECRETS = [USER, ANON, EMAIL, NAME, GIFT]
GIFT_ID = "gift-100"  # the person's engraved gift (their name has 10 letters)


def _shopping(people: list[tuple[str, str, str, str]]) -> list[dict[str, object]]:
    batch: list[dict[str, object]] = []
    for number, (user, anon, email, name) in enumerate(people):
        batch += [
            {"type": "page", "anonymousId": anon, "name": "Home"},
            {"type": "identify", "userId": user, "anonymousId": anon,
             "traits": {"email": email, "first_name": name}},
            {"type": "track", "userId": user, "event": "Signed Up"},
            {"type": "track", "userId": user, "event": "Order Completed",
             "properties": {"order_id": f"o-{user}", "products": [
                 {"product_id": "lamp", "name": "Desk lamp", "category": "lighting", "price": 30},
                 {"product_id": f"gift-{len(name)}{number}", "name": f"Engraved for {name}",
                  "category": "gifts", "price": 12}]}},
        ]  # fmt: skip
    return batch


def _shop(system: System, base_url: str) -> None:
    """A few others shop, then the person; each gets a welcome email, then a post-purchase
    one; a model is trained. (What others were sent before the person came is theirs.)"""
    clock = system.clock
    assert isinstance(clock, SimClock)
    others = [
        (f"other-{i}", f"other-anon-{i}", f"other{i}@example.com", f"Other{i}") for i in range(6)
    ]
    for people in (others, [(USER, ANON, EMAIL, NAME)]):
        batch = _shopping(people)
        answer = httpx.post(f"{base_url}/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, ""))
        assert answer.status_code == 200 and answer.json()["accepted"] == len(batch)
        system.run_until_idle()
        clock.advance(timedelta(hours=2))  # the post-purchase email's hour passes
        system.run_until_idle()
    system.train_recommendations()


def _files(system: System) -> bytes:
    """The database file and its WAL, as they are on disk now."""
    database = Path(system.workspace.database_url().removeprefix("sqlite:///"))
    wal = database.with_name(database.name + "-wal")
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _found(dump: bytes) -> list[str]:
    return [s for s in SECRETS if s.encode() in dump]


def test_the_export_holds_everything_kept_on_the_person(
    base_url: str, system: System, sink: SmtpSink
) -> None:
    _shop(system, base_url)
    changed = httpx.put(
        f"{base_url}/v1/profiles/{USER}/consent",
        json={"topics": {"reminders": "opted_out"}},
        headers=ADMIN,
    )
    assert changed.status_code == 200
    exported = httpx.get(f"{base_url}/v1/profiles/{ANON}/export", headers=ADMIN)
    assert exported.status_code == 200
    data = exported.json()
    assert data["profile"]["traits"] == {"email": EMAIL, "first_name": NAME}
    assert {"kind": "anon", "id": ANON} in data["profile"]["identities"]
    names = [e["name"] for e in data["events"]]
    assert names[:4] == ["Home", None, "Signed Up", "Order Completed"], "their own, in order"
    assert {"email_sent", "journey_step", "consent_changed"} <= set(names)
    assert all(e["user_id"] in (USER, None) for e in data["events"]), "nobody else's"
    subjects = {e["template"]: e for e in data["emails"]}
    assert set(subjects) == {"welcome", "post_purchase"}
    assert NAME in subjects["welcome"]["html"] and NAME in subjects["welcome"]["text"]
    assert {j["journey"] for j in data["journeys"]} >= {"welcome", "post_purchase"}
    assert data["consent"]["topics"]["reminders"] == "opted_out"
    assert [(c["topic"], c["source"]) for c in data["consent"]["history"]] == [
        ("reminders", "admin")
    ]
    assert data["catalogue_rows_described"] == [GIFT_ID]
    assert httpx.get(f"{base_url}/v1/profiles/nobody/export", headers=ADMIN).status_code == 404


def test_an_erasure_leaves_no_trace_in_the_database_file_or_its_wal(
    base_url: str, system: System, sink: SmtpSink
) -> None:
    _shop(system, base_url)
    assert _found(_files(system)) == SECRETS, "everything is there before"
    erased = httpx.delete(f"{base_url}/v1/profiles/{USER}", headers=ADMIN)
    assert erased.status_code == 200
    assert _found(_files(system)) == []
    with system.storage.snapshot() as tx:
        catalogue = tx.products.all()
    assert "lamp" in catalogue and "gift-61" in catalogue, "the shared catalogue stays"
    assert GIFT_ID not in catalogue
    model = system.recommendations.current
    assert USER not in model.data.user_index and GIFT_ID not in model.products
    assert "other-1" in model.data.user_index
    kept = httpx.get(f"{base_url}/v1/profiles/other-1/export", headers=ADMIN).json()
    assert kept["profile"]["traits"]["first_name"] == "Other1"
