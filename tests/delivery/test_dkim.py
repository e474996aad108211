"""DKIM as a receiver checks it: `pertinent init` makes the key pair and prints the DNS record;
a message delivered to a real SMTP server carries a signature that dkimpy verifies against
that record (dkimpy's DNS lookup is handed the printed record: no real DNS here)."""

from __future__ import annotations

import re
from pathlib import Path

import dkim
import pytest
from typer.testing import CliRunner

from pertinent.app import System, build_system
from pertinent.cli import app
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.delivery.sink import ReceivedMessage, SmtpSink


def _init(root: Path) -> tuple[bytes, bytes]:
    """`pertinent init ROOT`; the (name, value) of the TXT record it printed."""
    result = CliRunner().invoke(app, ["init", str(root)])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if " IN TXT " in line]
    name = line.split()[0]
    value = "".join(re.findall(r'"([^"]*)"', line))  # the record's strings, joined
    return name.encode(), value.encode()


def _delivered(root: Path, clock: SimClock, sink: SmtpSink) -> ReceivedMessage:
    system: System = build_system(load_workspace(root), clock=clock)
    try:
        system.ingestor.ingest(
            [
                {"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}},
                {"type": "track", "event": "Signed Up", "userId": "u1"},
            ]
        )
        system.run_until_idle()
    finally:
        system.close()
    [received] = sink.messages
    return received


@pytest.fixture
def signed(
    tmp_path: Path, clock: SimClock, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> tuple[ReceivedMessage, dict[bytes, bytes]]:
    monkeypatch.setenv("PERTINENT_SMTP_URL", f"smtp://127.0.0.1:{sink.port}")
    name, value = _init(tmp_path / "shop")
    return _delivered(tmp_path / "shop", clock, sink), {name: value}


def test_init_prints_a_record_dkimpy_verifies_a_delivered_message_with(
    signed: tuple[ReceivedMessage, dict[bytes, bytes]],
) -> None:
    received, zone = signed
    assert list(zone) == [b"pertinent._domainkey.example.com."], "selector and the From domain"
    asked: list[bytes] = []

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        asked.append(name)
        return zone.get(name)

    assert dkim.verify(received.raw, dnsfunc=lookup)
    assert asked == [b"pertinent._domainkey.example.com."]
    signature = received.message["DKIM-Signature"]
    for header in ("list-unsubscribe", "list-unsubscribe-post", "from", "subject"):
        assert header in signature, f"RFC 8058 and the visible headers are signed: {header}"


def test_a_changed_body_or_subject_no_longer_verifies(
    signed: tuple[ReceivedMessage, dict[bytes, bytes]],
) -> None:
    received, zone = signed

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return zone.get(name)

    subject = str(received.message["Subject"]).encode()
    forged_subject = received.raw.replace(subject, b"Your account is locked", 1)
    assert forged_subject != received.raw
    assert not dkim.verify(forged_subject, dnsfunc=lookup)
    head, _, body = received.raw.partition(b"\r\n\r\n")
    forged_body = head + b"\r\n\r\n" + body.replace(b"Hello", b"Hullo", 1)
    assert forged_body != received.raw
    assert not dkim.verify(forged_body, dnsfunc=lookup)


def test_a_workspace_without_its_key_file_sends_unsigned_and_says_so(
    workspace: Path, clock: SimClock, sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    received = _delivered(workspace, clock, sink)
    assert received.message["DKIM-Signature"] is None
    assert "no DKIM key at" in caplog.text
