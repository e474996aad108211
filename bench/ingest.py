"""Ingestion throughput: /v1/batch, 100 events per request, over real HTTP into SQLite.

Reference, measured in the same run: json.loads of the same request bodies + executemany of
the same rows into a bare SQLite table (WAL, one commit per request). The server runs as its
own process, once with the API alone (`serve --no-worker`) and once as `pertinent serve` runs
by default, with the worker folding the same events into profiles at the same time; the
client is an asyncio httpx loop with a few connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from common import pertinent, print_table, serving

BATCH = 100


def make_bodies(total: int) -> list[bytes]:
    bodies = []
    for b in range(total // BATCH):
        batch = [
            {
                "type": "track",
                "event": "Product Viewed",
                "userId": f"u{(b * BATCH + i) % 5000}",
                "messageId": uuid.uuid4().hex,
                "timestamp": "2026-03-02T10:00:00Z",
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
        bodies.append(orjson.dumps({"batch": batch, "sentAt": "2026-03-02T10:00:01Z"}))
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


async def send_all(url: str, bodies: list[bytes], connections: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"content-type": "application/json"}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            answer = await client.post(url, content=body, headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"ingest failed: {answer.status_code} {answer.text[:200]}")

    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(auth=("demo-write-key", ""), limits=limits, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        return len(bodies) * BATCH / (time.perf_counter() - start)


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
        api_only = serve_and_send(folder / "api", bodies, args.connections, worker=False)
        with_worker = serve_and_send(folder / "both", bodies, args.connections, worker=True)
    print_table(
        "Ingestion: /v1/batch x100 over HTTP into SQLite",
        [
            ("events", f"{total:,}"),
            ("Pertinent API only (serve --no-worker), events/s", f"{api_only:,.0f}"),
            ("Pertinent API + worker (as `serve` runs), events/s", f"{with_worker:,.0f}"),
            ("raw json.loads + executemany, events/s", f"{raw:,.0f}"),
            (
                "ratio to raw (API only / with worker)",
                f"{api_only / raw:.2f}x / {with_worker / raw:.2f}x",
            ),
            ("floors", ">= 20,000 events/s and >= 0.30x raw"),
        ],
    )


def serve_and_send(folder: Path, bodies: list[bytes], connections: int, *, worker: bool) -> float:
    """Events/s into a `pertinent serve` process; with `worker`, its processor folds the events
    into profiles and segments at the same time, on the same two cores and the same file."""
    pertinent("init", str(folder))
    with serving(folder, "--worker" if worker else "--no-worker") as base:
        return asyncio.run(send_all(f"{base}/v1/batch", bodies, connections))


if __name__ == "__main__":
    main()
