"""What a template sees: the person's segments now, the trigger event, the experiment."""

from __future__ import annotations

from datetime import timedelta

from pertinent.app import System
from pertinent.clock import SimClock
from pertinent.delivery.sink import SmtpSink

LINES = (
    '{% if profile.segments contains "cart_abandoners" %}<mj-text>In cart_abandoners</mj-text>'
    "{% endif %}<mj-text>Segments: {{ profile.segments | join: ', ' }}; "
    'variant: {{ experiment.variant | default: "none" }}</mj-text>'
)


def test_an_email_knows_the_segments_its_person_is_in_when_it_is_made(
    system: System, sink: SmtpSink, clock: SimClock
) -> None:
    body = system.workspace.templates_dir / "cart_abandoned" / "body.mjml"
    body.write_text(body.read_text().replace("</mj-column>", LINES + "</mj-column>", 1))
    system.ingestor.ingest(
        [
            {"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}},
            {
                "type": "track",
                "userId": "u1",
                "event": "Product Added",
                "properties": {"name": "Kettle"},
            },
        ]
    )
    system.run_until_idle()
    clock.advance(timedelta(hours=1, minutes=1))
    system.run_until_idle()
    [received] = sink.messages
    text = received.message.get_body(("plain",)).get_content()
    assert "In cart_abandoners" in text
    [line] = [x for x in text.splitlines() if x.startswith("Segments: ")]
    segments, variant = line.removeprefix("Segments: ").split("; ")
    assert "cart_abandoners" in segments.split(", ")
    assert segments.split(", ") == sorted(system.storage.reads.profile("u1").segments)
    assert variant == "variant: none"
