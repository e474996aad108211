"""Dashboard pages: how long a signed-in page takes to answer, against the admin API call that
reads the same data, in the same run, from the same `pertinent serve` process.

A workspace's log is filled in-process (people viewing products, ordering, signing up, a few
bots; the events arriving over the last 15 minutes) and processed; then `pertinent serve
--no-worker` serves it, and each page and its API reference are asked for in alternating
rounds, so that load from other processes falls on both alike. Reported: the median latency
of each, and the ratio (what the page's HTML, charts and extra reads cost over the JSON).

| page | reference (admin API) |
| --- | --- |
| `/` overview (status, arrivals per minute, top segments) | `GET /v1/status` |
| `/segments/high_value?range=30d` (31 sizes, members) | `GET .../high_value/history`, same 31 |
| `/events` (the newest 100 events) | `GET /v1/status` |
| `/quality` (bots and flags in the newest 10,000 events) | `GET /v1/tracking-plan/violations` |
| `/journeys/welcome` (funnel per version) | `GET /v1/journeys/welcome` |
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import ADMIN_KEY, KEYS_ENV, print_table, serving

from pertinent.app import build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.scaffold import write_example_workspace

CEILING_MS = 300  # the floor we hold: every page answers within this at the median


def fill(root: Path, events: int) -> None:
    """`events` events from events/10 people, arriving over the last 15 minutes, processed."""
    os.environ.update(KEYS_ENV)  # the keys `serving` gives the served process
    # Benchmark set-up, not business logic: the events arrive in the minutes before the run.
    start = datetime.now(UTC) - timedelta(minutes=15)
    clock = SimClock(start)
    system = build_system(load_workspace(root), clock=clock)
    system.sync_segments()
    people = max(events // 10, 1)
    batch = 1000
    step = timedelta(minutes=15) / max(events // batch, 1)
    for first in range(0, events, batch):
        calls: list[dict[str, object]] = []
        for i in range(first, min(first + batch, events)):
            person = f"u{i % people}"
            if i < people:
                traits = {"email": f"{person}@example.com", "first_name": "Ann"}
                calls.append({"type": "identify", "userId": person, "traits": traits})
            elif i % 50 == 0:
                calls.append(
                    {
                        "type": "track",
                        "userId": person,
                        "event": "Order Completed",
                        "properties": {"revenue": 250},
                    }
                )
            elif i % 97 == 0:
                calls.append({"type": "track", "userId": person, "event": "Signed Up"})
            elif i % 100 == 1:
                calls.append(
                    {
                        "type": "page",
                        "anonymousId": f"bot{i}",
                        "name": "Home",
                        "context": {"userAgent": "Googlebot/2.1"},
                    }
                )
            else:
                calls.append(
                    {
                        "type": "track",
                        "userId": person,
                        "event": "Product Viewed",
                        "properties": {"category": "Garden", "product_id": f"sku-{i % 300}"},
                    }
                )
        system.ingestor.ingest(calls)
        system.processor.run_until_idle()
        clock.advance(step)
    system.close()


def median_ms(client: httpx.Client, path: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        tick = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - tick) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 events, fewer rounds")
    args = parser.parse_args()
    events, rounds = (20_000, 5) if args.quick else (200_000, 15)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        write_example_workspace(root)
        tick = time.perf_counter()
        fill(root, events)
        filled = time.perf_counter() - tick
        with serving(root, "--no-worker") as base, httpx.Client(base_url=base, timeout=60) as web:
            api = httpx.Client(
                base_url=base, timeout=60, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
            )
            assert web.post("/login", data={"key": ADMIN_KEY}).status_code == 303
            now = datetime.now(UTC)
            history = (
                f"/v1/segments/high_value/history?from={(now - timedelta(days=30)).isoformat()}"
                f"&to={now.isoformat()}&step=1d"
            ).replace("+", "%2B")
            pairs = [
                ("overview /", "/", "/v1/status"),
                ("segment, 30 days", "/segments/high_value?range=30d", history),
                ("live events", "/events?refresh=off", "/v1/status"),
                ("data quality", "/quality", "/v1/tracking-plan/violations"),
                ("journey funnel", "/journeys/welcome", "/v1/journeys/welcome"),
            ]
            for _, page, ref in pairs:  # warm both up once
                median_ms(web, page, 1)
                median_ms(api, ref, 1)
            rows: list[tuple[str, str]] = [
                ("events in the log", f"{events:,} (filled in {filled:.0f} s)")
            ]
            worst = 0.0
            for name, page, ref in pairs:
                page_times, ref_times = [], []
                for _ in range(rounds):
                    page_times.append(median_ms(web, page, 1))
                    ref_times.append(median_ms(api, ref, 1))
                page_ms, ref_ms = statistics.median(page_times), statistics.median(ref_times)
                worst = max(worst, page_ms)
                rows.append(
                    (
                        f"{name}: page / API",
                        f"{page_ms:.1f} ms / {ref_ms:.1f} ms = {page_ms / ref_ms:.1f}x",
                    )
                )
            rows.append(
                (
                    f"floor: every page's median under {CEILING_MS} ms",
                    "met" if worst < CEILING_MS else f"NOT met ({worst:.0f} ms)",
                )
            )
            api.close()
    print_table("Dashboard pages against the admin API reading the same data (median)", rows)


if __name__ == "__main__":
    main()
