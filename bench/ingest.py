"""Ingestion and processing throughput: /v1/batch, 100 events per request, over real HTTP
into SQLite.

Reference, measured in the same run: json.loads of the same request bodies + executemany of
the same rows into a bare SQLite table (WAL, one commit per request). Served runs: the API
alone (`serve --no-worker`), without and with a tracking plan for the event; a processor
alone (`serve --only processor`) started on the backlog the first run left, timed until the
lag is 0; and `pertinent serve` as it
runs by default (API, processor and sender as separate processes on the same two cores),
timed for ingestion, for what the processor folded while the load ran, and for how long the
lag takes to drain after the last request. The client is an asyncio httpx loop with a few
connections; `GET /v1/status` gives the processor's position.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from common import ADMIN_KEY, WRITE_KEY, pertinent, print_table, serving

from pertinent.config import load_workspace
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage

BATCH = 100
# A tracking plan for the events sent (docs/tracking-plan.md), in flag mode: all of them pass.
PLAN = """
event: Product Viewed
schema:
  type: object
  required: [product_id]
  properties:
    product_id: {type: string}
    category: {type: string}
    price: {type: number, minimum: 0}
"""
START = datetime(2026, 3, 2, 10, tzinfo=UTC)


def _at(n: int) -> str:
    """Event n's time: one every 400 ms from a fixed start, so no two events share one."""
    return (START + timedelta(milliseconds=400 * n)).isoformat().replace("+00:00", "Z")


def make_bodies(total: int) -> list[bytes]:
    bodies = []
    for b in range(total // BATCH):
        batch = [
            {
                "type": "track",
                "event": "Product Viewed",
                "userId": f"u{(b * BATCH + i) % 5000}",
                "messageId": uuid.uuid4().hex,
                "timestamp": _at(b * BATCH + i),
                "properties": {
                    "product_id": f"sku-{i % 300}",
                    "category": "Garden",
                    "price": 12.5,
                    "name": "Watering can",
                },
                "context": {
                    "ip": "10.0.0.1",
                    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                },
            }
            for i in range(BATCH)
        ]
        sent = _at(b * BATCH + BATCH)
        bodies.append(orjson.dumps({"batch": batch, "sentAt": sent}))
    return bodies


def raw_reference(bodies: list[bytes], folder: Path) -> float:
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, message_id TEXT UNIQUE, type TEXT,"
        " name TEXT, user_id TEXT, anonymous_id TEXT, timestamp TEXT, properties TEXT,"
        " context TEXT)"
    )
    start = time.perf_counter()
    for body in bodies:
        batch = json.loads(body)["batch"]
        rows = [
            (
                e["messageId"],
                e["type"],
                e["event"],
                e.get("userId"),
                e.get("anonymousId"),
                e["timestamp"],
                json.dumps(e["properties"]),
                json.dumps(e["context"]),
            )
            for e in batch
        ]
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO events (message_id, type, name, user_id, anonymous_id, timestamp,"
            " properties, context) VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(bodies) * BATCH / elapsed


ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
WRITE = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()


@dataclass
class Run:
    """What one served run measured."""

    ingest_rate: float  # events/s acknowledged over HTTP
    processed_while_sending: float  # events/s the processor folded while the load ran
    drain_seconds: float  # from the last acknowledgement to a lag of 0


async def _status(client: httpx.AsyncClient, base: str) -> dict[str, int]:
    answer = await client.get(f"{base}/v1/status", headers=ADMIN)
    answer.raise_for_status()
    return dict(answer.json())


async def send_all(base: str, bodies: list[bytes], connections: int, *, drain: bool) -> Run:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"content-type": "application/json", "authorization": WRITE}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            answer = await client.post(f"{base}/v1/batch", content=body, headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"ingest failed: {answer.status_code} {answer.text[:200]}")

    limits = httpx.Limits(max_connections=connections + 1)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        before = await _status(client, base)
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        sent = time.perf_counter()
        during = await _status(client, base)
        total = len(bodies) * BATCH
        rate = total / (sent - start)
        folded = (during["processed_seq"] - before["processed_seq"]) / (sent - start)
        if not drain:
            return Run(rate, folded, float("nan"))
        while (await _status(client, base))["lag"] > 0:
            await asyncio.sleep(0.05)
        return Run(rate, folded, time.perf_counter() - sent)


def drain_backlog(workspace: Path, total: int) -> float:
    """Events/s a processor alone (`serve --only processor`) folds through the backlog it
    finds when it starts, read from the database as it goes."""
    storage = SqlStorage(Database(load_workspace(workspace).database_url()))
    process = subprocess.Popen(
        [sys.executable, "-m", "pertinent", "serve", "-w", str(workspace), "--only", "processor"],
        stderr=subprocess.DEVNULL,
    )

    def position() -> tuple[int, int]:
        # The cursor and the end of the log: cheap, unlike counting the lag.
        with storage.snapshot() as tx:
            return tx.cursors.get("processor"), tx.log.last_seq()

    try:
        while position()[0] == 0:
            time.sleep(0.01)
        start = time.perf_counter()
        while (at := position())[0] < at[1]:
            time.sleep(0.05)
        return total / (time.perf_counter() - start)
    finally:
        process.terminate()
        process.wait(10)
        storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20k events")
    parser.add_argument("--connections", type=int, default=6)
    args = parser.parse_args()
    total = 20_000 if args.quick else args.events
    bodies = make_bodies(total)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = raw_reference(bodies, folder)
        pertinent("init", str(folder / "api"))
        with serving(folder / "api", "--no-worker") as base:
            api_only = asyncio.run(send_all(base, bodies, args.connections, drain=False))
        capacity = drain_backlog(folder / "api", total)
        pertinent("init", str(folder / "plan"))
        (folder / "plan" / "tracking_plan").mkdir()
        (folder / "plan" / "tracking_plan" / "product_viewed.yaml").write_text(PLAN)
        with serving(folder / "plan", "--no-worker") as base:
            planned = asyncio.run(send_all(base, bodies, args.connections, drain=False))
        pertinent("init", str(folder / "all"))
        with serving(folder / "all") as base:
            full = asyncio.run(send_all(base, bodies, args.connections, drain=True))
    print_table(
        "Ingestion: /v1/batch x100 over HTTP into SQLite, with the processor running",
        [
            ("events", f"{total:,}"),
            ("raw json.loads + executemany (reference), events/s", f"{raw:,.0f}"),
            ("API alone (serve --no-worker), events/s", f"{api_only.ingest_rate:,.0f}"),
            (
                "API alone, every event checked by a tracking plan, events/s",
                f"{planned.ingest_rate:,.0f} ({planned.ingest_rate / raw:.2f}x)",
            ),
            ("serve (API + processor + sender), events/s", f"{full.ingest_rate:,.0f}"),
            (
                "ratio to raw (API alone / serve)",
                f"{api_only.ingest_rate / raw:.2f}x / {full.ingest_rate / raw:.2f}x",
            ),
            ("processor while the load runs, events/s", f"{full.processed_while_sending:,.0f}"),
            ("processor alone through a backlog, events/s", f"{capacity:,.0f}"),
            ("lag drained after the last request", f"{full.drain_seconds:.1f} s"),
            ("floors", "serve >= 0.35x raw; processor >= 20,000 events/s; drained <= 10 s"),
        ],
    )


if __name__ == "__main__":
    main()
