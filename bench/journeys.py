"""Journey wake-ups and broadcast targeting on SQLite.

Wake-ups: 100,000 people wait at the first step of a journey (`wait 1h`, then a branch on a
trait, then a wait until 10:00 in the person's zone or for two days), all due at once; the
processor's timer rounds (500 instances a transaction, as `serve` runs them) move every one
to its next wait. Reported: instances woken per second, transitions (steps moved) per
second, and the process's peak RSS before and after (bounded memory: the rounds hold 500 at
a time). Reference, measured in the same run: a bare sqlite3 loop over an identical table
that selects 500 due rows and updates each to a new step and wake time per transaction,
with no decision made: the floor any implementation pays.

Broadcast: 100,000 people in the `readers` segment; the time of targeting the broadcast
(who is in the segment now, each person's due time, the recipient rows) is the enqueue rate.
Reference: executemany of 100,000 rows into a bare table of the same shape, one transaction.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from common import pertinent, print_table

from pertinent.app import build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.journeys.broadcasts import BroadcastRequest, create
from pertinent.journeys.model import Instance
from pertinent.processor.apply import apply
from pertinent.profiles.state import ProfileState

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
JOURNEY = {
    "key": "bench",
    "trigger": {"type": "event", "event": "Bench Started"},
    "steps": [
        {"id": "pause", "type": "wait", "duration": "1h"},
        {
            "id": "check",
            "type": "branch",
            "branches": [
                {
                    "condition": {"type": "trait", "trait": "plan", "value": "pro"},
                    "next": "morning",
                }
            ],
            "else": "later",
        },
        {"id": "morning", "type": "wait", "until_time": "10:00", "next": "done"},
        {"id": "later", "type": "wait", "duration": "2d", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}
ZONES = ["Europe/Paris", "America/New_York", "Asia/Tokyo", None]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def workspace(root: Path) -> Path:
    pertinent("init", str(root))
    (root / "journeys" / "bench.yaml").write_text(yaml.safe_dump(JOURNEY))
    (root / "segments" / "readers.yaml").write_text(
        yaml.safe_dump(
            {"key": "readers", "condition": {"type": "trait", "trait": "newsletter", "value": True}}
        )
    )
    return root


def people(n: int) -> list[ProfileState]:
    out = []
    for i in range(n):
        traits: dict[str, object] = {"email": f"p{i}@example.com", "newsletter": True}
        traits["plan"] = "pro" if i % 2 else "free"
        if ZONES[i % 4]:
            traits["timezone"] = ZONES[i % 4]
        out.append(ProfileState(f"p{i:06d}", traits=traits))
    return out


def wake_ups(root: Path, n: int) -> tuple[float, float, float, float]:
    """(instances woken/s, transitions/s, peak RSS MB before, after)."""
    clock = SimClock(START)
    system = build_system(load_workspace(root), clock=clock)
    try:
        due = START + timedelta(hours=1)
        with system.storage.transaction() as tx:
            tx.profiles.save(people(n))
            tx.journeys.save(
                [
                    Instance(
                        f"i{i:06d}",
                        "bench",
                        f"p{i:06d}",
                        "pause",
                        "waiting",
                        START,
                        {"name": "Bench Started", "message_id": f"m{i}"},
                        wake_at=due,
                        step_at=START,
                    )
                    for i in range(n)
                ]
            )
        before = peak_rss_mb()
        clock.set(due)
        woken = 0
        started = time.perf_counter()
        while True:
            got = system.processor.run_timers()
            if not got:
                break
            woken += got
        took = time.perf_counter() - started
        after = peak_rss_mb()
        left = [
            x.n
            for x in system.storage.reads.journey_numbers()
            if x.metric == "waiting" and x.step == "pause"
        ]
        assert woken == n and not left, f"{woken} of {n} woke; {left} still at the first step"
        # pause -> check -> morning|later: two steps moved per wake-up.
        return woken / took, 2 * woken / took, before, after
    finally:
        system.close()


def bare(path: Path) -> sqlite3.Connection:
    """A bare SQLite connection, set up as Pertinent sets up its own (WAL, NORMAL sync)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def raw_wake_ups(folder: Path, n: int) -> float:
    conn = bare(folder / "raw-wake.db")
    conn.execute(
        "CREATE TABLE inst (id INTEGER PRIMARY KEY, key TEXT UNIQUE, step TEXT, status TEXT,"
        " wake_at TEXT, step_at TEXT)"
    )
    conn.execute("CREATE INDEX ix_due ON inst (status, wake_at)")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO inst (key, step, status, wake_at) VALUES (?, 'pause', 'waiting', '1')",
        [(f"i{i}",) for i in range(n)],
    )
    conn.execute("COMMIT")
    started = time.perf_counter()
    while True:
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(
            "SELECT id FROM inst WHERE status = 'waiting' AND wake_at <= '1'"
            " ORDER BY wake_at, id LIMIT 500"
        ).fetchall()
        conn.executemany(
            "UPDATE inst SET step = 'later', wake_at = '9', step_at = '1' WHERE id = ?", rows
        )
        conn.execute("COMMIT")
        if not rows:
            break
    took = time.perf_counter() - started
    conn.close()
    return n / took


def broadcast(root: Path, n: int) -> float:
    """Recipients enqueued per second when a broadcast to `n` readers is targeted."""
    clock = SimClock(START)
    system = build_system(load_workspace(root), clock=clock)
    try:
        with system.storage.transaction() as tx:
            tx.profiles.save(people(n))
        request = BroadcastRequest(template="welcome_tips", segment="readers")
        create(system.storage, request, ["readers"], system.templates.names(), clock.now())
        loader = system.processor._loader  # the phase's own entry point, timed alone
        started = time.perf_counter()
        with system.storage.transaction() as tx:
            apply(tx, loader.target_broadcasts(tx, clock.now()))
        took = time.perf_counter() - started
        [made] = system.storage.reads.broadcasts(1)
        assert made.targeted == n, made
        return n / took
    finally:
        system.close()


def raw_enqueue(folder: Path, n: int) -> float:
    conn = bare(folder / "raw-bc.db")
    conn.execute(
        "CREATE TABLE r (broadcast_id INTEGER, profile_id TEXT, pkey INTEGER, due_at TEXT,"
        " status TEXT, outcome TEXT, PRIMARY KEY (broadcast_id, profile_id))"
    )
    conn.execute("CREATE INDEX ix_r ON r (status, due_at)")
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO r VALUES (1, ?, ?, '2026-03-02 09:00:00', 'pending', NULL)",
        [(f"p{i:06d}", i) for i in range(n)],
    )
    conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return n / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10k people")
    args = parser.parse_args()
    n = 10_000 if args.quick else args.people
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw_wake = raw_wake_ups(folder, n)
        woke, moved, before, after = wake_ups(workspace(folder / "wake"), n)
        raw_bc = raw_enqueue(folder, n)
        targeted = broadcast(workspace(folder / "bc"), n)
    print_table(
        f"Journeys on SQLite: {n:,} waiting instances, a broadcast to {n:,} people",
        [
            ("bare sqlite3 claim + update of 500 (reference), rows/s", f"{raw_wake:,.0f}"),
            ("wake-ups (timer rounds of 500), instances/s", f"{woke:,.0f}"),
            ("transitions (two steps a wake-up), /s", f"{moved:,.0f}"),
            ("ratio to the bare loop (instances)", f"{woke / raw_wake:.2f}x"),
            ("peak RSS before / after the wake-ups", f"{before:,.0f} MB / {after:,.0f} MB"),
            ("bare executemany of recipient rows (reference), rows/s", f"{raw_bc:,.0f}"),
            ("broadcast targeted and enqueued, recipients/s", f"{targeted:,.0f}"),
            ("ratio to the bare insert", f"{targeted / raw_bc:.2f}x"),
            ("floors", "transitions >= 5,000/s; broadcast >= 10,000 recipients/s"),
        ],
    )


if __name__ == "__main__":
    main()
