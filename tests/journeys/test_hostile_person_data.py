"""A person's data is text, never markup: it cannot break an email nor stop the processor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apitools import settle

from pertinent.app import System
from pertinent.delivery.sink import ReceivedMessage, SmtpSink

BREAKS_MJML = "</mj-text></mj-column>"
SCRIPT = "<script>alert(1)</script>"


def _sign_up(system: System, user_id: str, email: str, first_name: str) -> None:
    result = system.ingestor.ingest(
        [
            {
                "type": "identify",
                "userId": user_id,
                "traits": {"email": email, "first_name": first_name},
            },
            {"type": "track", "event": "Signed Up", "userId": user_id},
        ]
    )
    assert result.rejections == []


def _to(sink: SmtpSink, address: str) -> list[ReceivedMessage]:
    return [m for m in sink.messages if m.rcpt_tos == [address]]


def _html(received: ReceivedMessage) -> str:
    body = received.message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def _text(received: ReceivedMessage) -> str:
    body = received.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _log_is_drained(system: System) -> bool:
    return system.storage.reads.status().lag == 0


def _send_outcomes(system: System, template: str) -> list[dict[str, Any]]:
    with system.storage.snapshot() as tx:
        events = tx.log.read_after(0, 100_000)
    return [
        e.event.properties
        for e in events
        if e.event.name == "journey_step" and e.event.properties.get("template") == template
    ]


def test_a_trait_that_would_close_mjml_tags_is_delivered_as_text_and_nobody_waits(
    system: System, sink: SmtpSink
) -> None:
    _sign_up(system, "u1", "mallory@example.com", BREAKS_MJML)
    settle(system)
    _sign_up(system, "u2", "bob@example.com", "Bob")
    settle(system)

    assert _log_is_drained(system), "the processor reached the end of the log"
    [bob] = _to(sink, "bob@example.com")
    assert "Hello Bob," in _html(bob), "later people still get their email"
    [mallory] = _to(sink, "mallory@example.com")
    html = _html(mallory)
    assert "Hello &lt;/mj-text&gt;&lt;/mj-column&gt;," in html
    assert BREAKS_MJML not in html
    assert "Unsubscribe" in html, "the rest of the email is intact"
    assert str(mallory.message["Subject"]) == f"Welcome to the shop, {BREAKS_MJML}!"


def test_a_script_trait_is_escaped_in_the_html_and_verbatim_in_subject_and_text(
    system: System, sink: SmtpSink
) -> None:
    _sign_up(system, "u1", "carol@example.com", SCRIPT)
    settle(system)

    [carol] = _to(sink, "carol@example.com")
    html = _html(carol)
    assert "<script" not in html
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;," in html
    assert str(carol.message["Subject"]) == f"Welcome to the shop, {SCRIPT}!"
    assert f"Hello {SCRIPT}," in _text(carol)


def test_mjml_a_template_breaks_for_one_person_is_a_recorded_skip_and_others_proceed(
    workspace: Path, system: System, sink: SmtpSink
) -> None:
    body = workspace / "templates" / "welcome" / "body.mjml"
    body.write_text(
        body.read_text().replace(
            "<mj-column>", "<mj-column>{% if profile.first_name == 'Vip' %}</mj-column>{% endif %}"
        )
    )
    _sign_up(system, "u1", "vip@example.com", "Vip")
    settle(system)
    _sign_up(system, "u2", "bob@example.com", "Bob")
    settle(system)

    assert _log_is_drained(system)
    assert _to(sink, "vip@example.com") == []
    assert len(_to(sink, "bob@example.com")) == 1
    outcomes = [o["outcome"] for o in _send_outcomes(system, "welcome")]
    assert outcomes[1] == "enqueued"
    assert outcomes[0].startswith("template error:")
    assert "welcome/body.mjml" in outcomes[0], "the skip names the file to fix"
