"""End-to-end latency: the ack of a trigger event → SMTP DATA accepted by a sink.

A journey sends an email as soon as a "Latency Probe" event arrives. While a background load
of ordinary events runs (1k events/s by default), probes are sent one at a time through the
real HTTP API of a `pertinent serve` process; an aiosmtpd sink in this process timestamps each
message as its DATA is accepted. Reported: p50/p99 of (DATA accepted - HTTP ack).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).parent))
from common import WRITE_KEY, free_port, pertinent, print_table, serving

PROBE_JOURNEY = """key: latency_probe
trigger: {type: event, event: Latency Probe}
steps:
  - {type: send, template: probe}
"""


class Arrivals:
    """aiosmtpd handler that notes when each recipient's DATA was accepted."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.perf_counter()
        for rcpt in envelope.rcpt_tos:
            self.at[rcpt] = now
        return "250 OK"


def make_workspace(folder: Path) -> Path:
    root = folder / "ws"
    pertinent("init", str(root))
    (root / "journeys" / "latency_probe.yaml").write_text(PROBE_JOURNEY)
    probe = root / "templates" / "probe"
    probe.mkdir()
    (probe / "subject.liquid").write_text("Probe for {{ profile.first_name | default: 'you' }}")
    (probe / "body.html").write_text(
        "<html><body><p>Hello <a href='https://shop.example/'>shop</a></p></body></html>"
    )
    return root


async def background(url: str, rate: int, stop: asyncio.Event) -> int:
    sent = 0
    async with httpx.AsyncClient(auth=(WRITE_KEY, ""), timeout=30) as client:
        while not stop.is_set():
            tick = time.perf_counter()
            batch = [
                {
                    "type": "track",
                    "event": "Product Viewed",
                    "userId": f"bg{(sent + i) % 3000}",
                    "properties": {"category": "Garden", "product_id": f"sku-{i}"},
                }
                for i in range(rate // 10)
            ]
            await client.post(f"{url}/v1/batch", json={"batch": batch})
            sent += len(batch)
            await asyncio.sleep(max(0.0, 0.1 - (time.perf_counter() - tick)))
    return sent


async def probes(url: str, count: int, arrivals: Arrivals) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(auth=(WRITE_KEY, ""), timeout=30) as client:
        for _ in range(count):
            user = f"probe-{uuid.uuid4().hex[:10]}"
            address = f"{user}@example.com"
            batch = [
                {"type": "identify", "userId": user, "traits": {"email": address}},
                {"type": "track", "userId": user, "event": "Latency Probe"},
            ]
            answer = await client.post(f"{url}/v1/batch", json={"batch": batch})
            acked = time.perf_counter()
            assert answer.status_code == 200, answer.text
            deadline = acked + 10
            while address not in arrivals.at and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            if address in arrivals.at:
                latencies.append(arrivals.at[address] - acked)
            await asyncio.sleep(0.05)
    return latencies


async def run(url: str, count: int, rate: int, arrivals: Arrivals) -> tuple[list[float], int]:
    stop = asyncio.Event()
    load = asyncio.create_task(background(url, rate, stop))
    await asyncio.sleep(1.0)
    latencies = await probes(url, count, arrivals)
    stop.set()
    return latencies, await load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--rate", type=int, default=1000, help="background events/s")
    parser.add_argument("--quick", action="store_true", help="40 probes")
    args = parser.parse_args()
    count = 40 if args.quick else args.probes
    arrivals = Arrivals()
    smtp_port = free_port()
    sink = Controller(arrivals, hostname="127.0.0.1", port=smtp_port)
    sink.start()
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            serving(make_workspace(Path(tmp)), smtp_url=f"smtp://127.0.0.1:{smtp_port}") as url,
        ):
            latencies, background_events = asyncio.run(run(url, count, args.rate, arrivals))
    finally:
        sink.stop()
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
    print_table(
        "Latency: trigger ack -> SMTP DATA accepted",
        [
            ("probes delivered", f"{len(ms)} of {count}"),
            ("background load", f"{args.rate} events/s ({background_events:,} sent)"),
            ("p50", f"{statistics.median(ms):.0f} ms" if ms else "n/a"),
            ("p99", f"{p99:.0f} ms"),
            ("max", f"{max(ms):.0f} ms" if ms else "n/a"),
            ("floor", "p99 <= 200 ms"),
        ],
    )


if __name__ == "__main__":
    main()
