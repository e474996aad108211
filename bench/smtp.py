"""SMTP delivery throughput: messages/s through the sender into a local aiosmtpd sink.

The sink runs in its own process (aiosmtpd on uvloop, counting what it accepts), so that it
costs both sides the same. Reference, measured in the same run against the same sink: a bare
aiosmtplib loop on one connection sending ready-made bytes of the same size, one message
after the other. Then the sender as `pertinent serve` runs it, on the example workspace on
SQLite: rows already rendered in the outbox (as the processor leaves them) are claimed,
built (headers, MIME), sent over the sender's pool of connections and recorded (marked sent,
`email_sent` in the log), until the outbox is drained. Once without DKIM, once with the
workspace's DKIM key (RSA 2048).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib

sys.path.insert(0, str(Path(__file__).parent))
from common import free_port, pertinent, print_table

from pertinent.app import System, open_system
from pertinent.delivery.outbox import OutboxItem

SINK = """
import sys
import uvloop
from aiosmtpd.controller import Controller

class Count:
    accepted = 0

    async def handle_DATA(self, server, session, envelope):
        Count.accepted += 1
        return "250 OK"

controller = Controller(Count(), loop=uvloop.new_event_loop(), hostname="127.0.0.1",
                        port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
"""
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def start_sink(port: int) -> subprocess.Popen[str]:
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    return sink


def rendered(system: System) -> tuple[str, str, str]:
    """The example welcome email, rendered once: (subject, html, text)."""
    email = system.renderer.render(
        "welcome", {"profile": {"first_name": "Zoë"}}, message_id="m", profile_id="p"
    )
    return email.subject, email.html, email.text


def bare_loop(port: int, data: bytes, count: int) -> float:
    """Seconds to send `count` messages one after the other on one connection."""

    async def run() -> float:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        began = time.perf_counter()
        for i in range(count):
            await client.sendmail("shop@example.com", [f"p{i}@example.com"], data)
        elapsed = time.perf_counter() - began
        await client.quit()
        return elapsed

    return asyncio.run(run())


def fill_outbox(system: System, count: int, run: str) -> None:
    """`count` due rows, rendered as compose leaves them (not timed)."""
    subject, html, text = rendered(system)
    items = [
        OutboxItem(
            idempotency_key=f"{run}:{i}",
            message_id=f"{run}{i:08d}",
            profile_id=f"p{i}",
            template="welcome",
            to_address=f"p{i}@example.com",
            subject=subject,
            html=html,
            text=text,
            unsubscribe_url=f"http://127.0.0.1:8000/t/u/{run}{i:08d}",
            created_at=START,
        )
        for i in range(count)
    ]
    with system.storage.transaction() as tx:
        for start in range(0, count, 1000):
            tx.outbox.enqueue(items[start : start + 1000])


def through_sender(system: System, count: int) -> float:
    """Seconds for the sender to drain the outbox, which holds `count` due rows."""

    async def drain() -> int:
        sent = 0
        while report := await system.sender.send_due():
            sent += report.sent
        await system.sender.close()
        return sent

    began = time.perf_counter()
    sent = asyncio.run(drain())
    elapsed = time.perf_counter() - began
    assert sent == count, f"{sent} of {count} sent"
    return elapsed


def workspace(folder: Path, name: str, port: int, *, dkim: bool) -> System:
    root = folder / name
    pertinent("init", str(root))  # makes the DKIM key
    if not dkim:
        (root / "dkim" / "pertinent.pem").unlink()
    os.environ["PERTINENT_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    return open_system(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 messages per run")
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    count = 2_000 if args.quick else args.messages
    # The three take turns, a fifth of the messages at a time, so that a machine busy with
    # something else for a while slows them all alike.
    turns, per_turn = 5, count // 5
    port = free_port()
    sink = start_sink(port)
    seconds = {"bare": 0.0, "plain": 0.0, "signed": 0.0}
    with tempfile.TemporaryDirectory() as folder:
        plain = workspace(Path(folder), "plain", port, dkim=False)
        signed = workspace(Path(folder), "signed", port, dkim=True)
        try:
            _subject, html, text = rendered(plain)
            size = len(html.encode()) + len(text.encode())
            data = b"Subject: x\r\n\r\n" + (b"x" * 76 + b"\r\n") * (size // 78 + 1)
            for turn in range(turns):
                seconds["bare"] += bare_loop(port, data, per_turn)
                for name, system in (("plain", plain), ("signed", signed)):
                    fill_outbox(system, per_turn, f"{name}{turn}-")
                    seconds[name] += through_sender(system, per_turn)
            connections = plain.workspace.settings.delivery.connections
        finally:
            plain.close()
            signed.close()
            assert sink.stdin is not None
            sink.stdin.close()
            sink.wait(10)
    sent = turns * per_turn
    bare, unsigned, dkim = (sent / seconds[k] for k in ("bare", "plain", "signed"))
    print_table(
        f"SMTP delivery: {sent:,} messages of {size // 1024} KB each into an aiosmtpd sink",
        [
            ("bare aiosmtplib loop, one connection (reference)", f"{bare:,.0f} msg/s"),
            (f"sender, {connections} connections, unsigned", f"{unsigned:,.0f} msg/s"),
            ("ratio to bare (floor ≥ 0.70×)", f"{unsigned / bare:.2f}×"),
            ("floor ≥ 1,000 msg/s", "met" if unsigned >= 1000 else "not met"),
            ("sender, DKIM-signed (RSA 2048)", f"{dkim:,.0f} msg/s ({dkim / bare:.2f}× bare)"),
        ],
    )


if __name__ == "__main__":
    main()
