"""The mail viewer (the dashboard's outbox) shows every recipient and their tracking links:
only to someone signed in with an admin key."""

from __future__ import annotations

from apitools import ADMIN_KEY, settle
from fastapi.testclient import TestClient

from pertinent.api.app import create_app
from pertinent.app import System
from pertinent.delivery.sink import SmtpSink


def _deliver_a_welcome(system: System, first_name: str) -> None:
    system.ingestor.ingest(
        [
            {
                "type": "identify",
                "userId": "u1",
                "traits": {"email": "carol@example.com", "first_name": first_name},
            },
            {"type": "track", "event": "Signed Up", "userId": "u1"},
        ]
    )
    settle(system)


def _message_id(system: System) -> str:
    [email] = system.storage.reads.emails(10)
    return email.item.message_id


def test_without_signing_in_no_one_sees_the_delivered_emails(
    system: System, sink: SmtpSink
) -> None:
    _deliver_a_welcome(system, "Carol")
    assert len(sink.messages) == 1
    client = TestClient(create_app(system), follow_redirects=False)
    message_id = _message_id(system)
    for path in ("/", "/emails", f"/emails/{message_id}", f"/emails/{message_id}/html"):
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=")
        assert "carol@example.com" not in answer.text
    assert client.get("/healthz").status_code == 200, "the API itself is there"


def test_the_mail_viewer_lists_delivered_emails_with_the_persons_data_as_text(
    system: System, sink: SmtpSink
) -> None:
    _deliver_a_welcome(system, "<script>alert(1)</script>")
    client = TestClient(create_app(system))
    assert client.post("/login", data={"key": ADMIN_KEY}).status_code == 200
    listing = client.get("/emails")
    assert listing.status_code == 200
    assert "carol@example.com" in listing.text
    assert "Welcome to the shop, &lt;script&gt;alert(1)&lt;/script&gt;!" in listing.text
    email = client.get(f"/emails/{_message_id(system)}/html")
    assert email.status_code == 200
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;," in email.text
    assert "<script" not in email.text, "the stored email runs no script in the viewer"
    assert email.headers["content-security-policy"].startswith("sandbox;")
