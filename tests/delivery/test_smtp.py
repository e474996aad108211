"""What a mailbox provider receives: the bytes on the wire, read without Python's parser."""

from __future__ import annotations

import asyncio

from conftest import START

from pertinent.content.render import RenderedEmail
from pertinent.delivery.message import build_message
from pertinent.delivery.sink import ReceivedMessage, SmtpSink
from pertinent.delivery.smtp import SmtpSettings, SmtpTransport

# As long as the real ones: a signed token for (message, person).
UNSUBSCRIBE = "https://shop.example.com/t/u/" + "eyJtIjoiNmM3ZjVhYzNhYjQ1In0" * 4 + ".Xk1u_2Q"


def _deliver(sink: SmtpSink) -> ReceivedMessage:
    rendered = RenderedEmail(
        subject="Zoë, you left a Blue Kettle in your cart",
        preheader="",
        html="<html><body><p>Hello Zoë</p></body></html>",
        text="Hello Zoë\n",
        links=(),
        tracked_links=(),
    )
    message = build_message(
        rendered,
        from_addr="Pertinent Shop <shop@example.com>",
        to_addr="zoe@example.com",
        message_id="m1",
        unsubscribe_url=UNSUBSCRIBE,
        sent_at=START,
    )
    transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=sink.port))
    asyncio.run(transport.send(message))
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
    html = received.message.get_body(("html",))
    assert html is not None and "Hello Zoë" in html.get_content()
    assert all(len(line) <= 998 for line in received.raw.split(b"\r\n")), "RFC 5322 line limit"
