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
    async def run() -> float:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        began = time.perf_counter()
        for i in range(count):
            await client.sendmail("shop@example.com", [f"p{i}@example.com"], data)
        elapsed = time.perf_counter() - began
        await client.quit()
        return count / elapsed

    return asyncio.run(run())


def fill_outbox(system: System, count: int, run: str) -> None:
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
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 messages per run")
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    count = 2_000 if args.quick else args.messages
    port = free_port()
    sink = start_sink(port)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        pertinent("init", str(root))  # makes the DKIM key too
        key = root / "dkim" / "pertinent.pem"
        unsigned = root / "dkim" / "aside.pem"
        key.rename(unsigned)
        os.environ["PERTINENT_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
        try:
            system = open_system(root)
            fill_outbox(system, count, "plain")
            _subject, html, text = rendered(system)
            size = len(html.encode()) + len(text.encode())
            data = (b"Subject: x\r\n\r\n" + b"x" * 76 + b"\r\n") * (size // 78 + 1)
            bare = bare_loop(port, data, count)
            plain = through_sender(system, count)
            system.close()
            unsigned.rename(key)
            system = open_system(root)
            fill_outbox(system, count, "signed")
            signed = through_sender(system, count)
            connections = system.workspace.settings.delivery.connections
            system.close()
        finally:
            assert sink.stdin is not None
            sink.stdin.close()
            sink.wait(10)
    print_table(
        f"SMTP delivery: {count:,} messages of {size // 1024} KB into an aiosmtpd sink",
        [
            ("bare aiosmtplib loop, one connection (reference)", f"{bare:,.0f} msg/s"),
            (f"sender, {connections} connections, no DKIM", f"{plain:,.0f} msg/s"),
            ("ratio to bare", f"{plain / bare:.2f}× (floor ≥ 0.70×)"),
            ("floor", "≥ 1,000 msg/s" + (" ✓" if plain >= 1000 else " ✗")),
            ("sender with DKIM (RSA 2048)", f"{signed:,.0f} msg/s ({signed / bare:.2f}× bare)"),
        ],
    )


if __name__ == "__main__":
    main()
