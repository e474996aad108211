"""What a mailbox provider receives: the bytes on the wire, read back with and without Python's
parser, and sent through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from conftest import START
from hypothesis import given
from hypothesis import strategies as st

from pertinent.delivery.message import (
    Envelope,
    HeaderError,
    Originator,
    message_bytes,
)
from pertinent.delivery.sink import ReceivedMessage, SmtpSink
from pertinent.delivery.smtp import SmtpSettings, SmtpTransport
from pertinent.errors import ConfigError

# As long as the real ones: a signed token for (message, person).
UNSUBSCRIBE = "https://shop.example.com/t/u/" + "eyJtIjoiNmM3ZjVhYzNhYjQ1In0" * 4 + ".Xk1u_2Q"
SHOP = Originator.from_settings("Pertinent Shop <shop@example.com>", None)


def _bytes(subject: str = "Zoë, you left a Blue Kettle in your cart", **fields: str) -> bytes:
    values = {
        "to_address": "zoe@example.com",
        "subject": subject,
        "text": "Hello Zoë\n",
        "html": "<html><body><p>Hello Zoë</p></body></html>",
        "message_id": "m1",
        "unsubscribe_url": UNSUBSCRIBE,
        **fields,
    }
    return message_bytes(SHOP, sent_at=START, **values)


def _parsed(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _deliver(sink: SmtpSink) -> ReceivedMessage:
    transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=sink.port))
    envelope = Envelope(SHOP.return_path("m1"), "zoe@example.com", _bytes())
    asyncio.run(transport.send(envelope))
    [received] = sink.messages
    assert received.envelope_from == "shop@example.com"
    assert received.rcpt_tos == ["zoe@example.com"]
    return received


def _header_lines(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return head.split("\r\n")


def test_one_click_unsubscribe_headers_are_literal_on_the_wire(sink: SmtpSink) -> None:
    lines = _header_lines(_deliver(sink).raw)
    assert f"List-Unsubscribe: <{UNSUBSCRIBE}>" in lines, "RFC 2369: the URL in angle brackets"
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines, "RFC 8058"
    assert not any("=?utf-8?" in line for line in lines if line.startswith("List-Unsubscribe"))


def test_the_rest_of_the_message_still_reads_back_as_sent(sink: SmtpSink) -> None:
    received = _deliver(sink)
    assert received.message["Subject"] == "Zoë, you left a Blue Kettle in your cart"
    assert received.message["Message-ID"] == "<m1@example.com>"
    assert received.message["From"] == "Pertinent Shop <shop@example.com>"
    html = received.message.get_body(("html",))
    text = received.message.get_body(("plain",))
    assert html is not None and "Hello Zoë" in html.get_content()
    assert text is not None and text.get_content().splitlines() == ["Hello Zoë"]
    assert all(len(line) <= 998 for line in received.raw.split(b"\r\n")), "RFC 5322 line limit"


def test_a_sender_name_with_a_comma_stays_one_address() -> None:
    shop = Originator.from_settings('"Toys, Games & More" <shop@example.com>', None)
    raw = message_bytes(
        shop,
        to_address="a@example.com",
        subject="s",
        text="t",
        html="<p>h</p>",
        message_id="m1",
        unsubscribe_url=UNSUBSCRIBE,
        sent_at=START,
    )
    [(name, address)] = [(a.display_name, a.addr_spec) for a in _parsed(raw)["From"].addresses]
    assert (name, address) == ("Toys, Games & More", "shop@example.com")


def test_a_from_address_that_is_not_one_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match=r"smtp\.from"):
        Originator.from_settings("shop@example.com, evil@example.net", None)


def test_the_return_path_names_the_email_when_there_is_a_bounce_address() -> None:
    verp = Originator.from_settings("Shop <shop@example.com>", "bounces@bounces.example.com")
    assert verp.return_path("6c7f") == "bounces+6c7f@bounces.example.com"
    assert SHOP.return_path("6c7f") == "shop@example.com"


@pytest.mark.parametrize(
    "subject", ["Hi\r\nBcc: evil@example.net", "Hi\nthere", "Hi\rthere", "nul\x00"]
)
def test_a_subject_that_would_end_its_header_line_is_refused(subject: str) -> None:
    with pytest.raises(HeaderError, match="Subject contains a line break"):
        _bytes(subject)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_any_subject_either_is_refused_or_reads_back_exactly_as_one_header(subject: str) -> None:
    try:
        raw = _bytes(subject)
    except HeaderError:
        assert any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in subject)
        return
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    parsed = _parsed(raw)
    assert parsed.get_all("Subject") is not None
    assert len(parsed.get_all("Subject") or []) == 1
    assert [a.addr_spec for a in parsed["To"].addresses] == ["zoe@example.com"]
    assert parsed.get_all("Bcc") is None
    # Python unfolds a folded subject with the fold's space; compare without whitespace runs.
    assert str(parsed["Subject"]).split() == subject.split()
