"""Segments at scale: a backfill over 1M profiles and 10M events on SQLite, against DuckDB over
the same rows; and incremental evaluation with 50 segments defined.

Data: DuckDB generates the population and the events (hash-seeded: every run has the same
rows; a few people are very active, most are not; events over 60 days, in time order as a log
has them) and the rows are copied into the tables Pertinent reads (`profiles`, `identities`,
`profile_events`) with bulk inserts, its indexes built afterwards. DuckDB keeps its copy: the
same strings, traits and properties as JSON text.

1. Evaluation: who is in each of five segments (a trait; Electronics viewed twice in 7 days;
   no product viewed in 30 days; a cart abandoned for 24 hours, as a sequence; more than 200
   spent in 90 days, as an aggregate), all of them over everyone, as `SegmentStore.matching`
   answers it for a backfill. Reference, same run: DuckDB's SQL for the same segments over the
   same rows; the sizes must agree. Floor: Pertinent <= 3x DuckDB.
2. Backfill: `sync_definitions` of those five segments end to end (evaluation, memberships,
   window-edge timers, a `segment_entered` event per entry), with its ratio to DuckDB's
   queries (DuckDB writes nothing, so there is no floor on that one).
3. Incremental: 50 segments defined and backfilled over a population of their own (100k
   people; a 50-segment backfill of a million would take the run's whole budget), new events
   of existing people appended to the log, the processor run until it is idle: the fold, the
   segments, the timers, and the segment events the changes write, which the processor then
   reads back too. Floor: 20,000 events/s.

Times are wall clock and this process's CPU time (DuckDB's threads included): on a shared
machine the CPU time is the steadier of the two.
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from common import pertinent, print_table

from pertinent.app import build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.events.model import Event
from pertinent.profiles.computed import empty_computed
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.language import SegmentDefinition
from pertinent.segments.sync import sync_definitions
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage

T = TypeVar("T")
NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 60
CATEGORIES = ["Electronics", "Garden", "Books", "Toys", "Kitchen", "Sports", "Beauty", "Fashion"]
COUNTRIES = ["DE", "FR", "US", "GB", "NL", "ES", "IT", "SE"]
# (action, share of events); product events carry a category and a price, orders a revenue.
ACTIONS = [
    ("Product Viewed", 0.55),
    ("Page Viewed", 0.20),
    ("Product Added", 0.12),
    ("Order Completed", 0.05),
    ("email_opened", 0.08),
]

FIVE: list[dict[str, Any]] = [
    {"key": "germany", "condition": {"type": "trait", "trait": "country", "value": "DE"}},
    {
        "key": "electronics_week",
        "condition": {
            "type": "performed",
            "event": "Product Viewed",
            "at_least": 2,
            "within": "7d",
            "where": [{"property": "category", "value": "Electronics"}],
        },
    },
    {
        "key": "silent_month",
        "condition": {"type": "not_performed", "event": "Product Viewed", "within": "30d"},
    },
    {
        "key": "cart_abandoned",
        "condition": {
            "type": "sequence",
            "first": {"event": "Product Added", "within": "7d"},
            "then_not": {"event": "Order Completed"},
            "within": "24h",
        },
    },
    {
        "key": "big_spenders",
        "condition": {
            "type": "aggregate",
            "event": "Order Completed",
            "function": "sum",
            "property": "revenue",
            "within": "90d",
            "op": "gt",
            "value": 200,
        },
    },
]

_AT = "TIMESTAMP '{now}'"
DUCKDB_QUERIES = {
    "germany": "SELECT profile_id FROM profiles WHERE traits->>'$.country' = 'DE'",
    "electronics_week": """
        SELECT profile_id FROM profile_events
        WHERE action = 'Product Viewed' AND timestamp >= {at} - INTERVAL 7 DAY
          AND properties->>'$.category' = 'Electronics'
        GROUP BY profile_id HAVING count(*) >= 2""",
    "silent_month": """
        SELECT profile_id FROM profiles ANTI JOIN (
          SELECT profile_id FROM profile_events
          WHERE action = 'Product Viewed' AND timestamp >= {at} - INTERVAL 30 DAY
        ) USING (profile_id)""",
    "cart_abandoned": """
        SELECT DISTINCT a.profile_id FROM profile_events a
        WHERE a.action = 'Product Added' AND a.timestamp >= {at} - INTERVAL 7 DAY
          AND a.timestamp <= {at} - INTERVAL 24 HOUR
          AND NOT EXISTS (
            SELECT 1 FROM profile_events b
            WHERE b.profile_id = a.profile_id AND b.action = 'Order Completed'
              AND b.timestamp >= a.timestamp AND b.timestamp <= a.timestamp + INTERVAL 24 HOUR)""",
    "big_spenders": """
        SELECT profile_id FROM profile_events
        WHERE action = 'Order Completed' AND timestamp >= {at} - INTERVAL 90 DAY
        GROUP BY profile_id HAVING sum(CAST(properties->>'$.revenue' AS DOUBLE)) > 200""",
}


def fifty() -> list[dict[str, Any]]:
    """Fifty segments of every kind, over the same events: the incremental run's workspace."""
    out: list[dict[str, Any]] = [*FIVE]
    for country in COUNTRIES[1:]:
        out.append(
            {
                "key": f"country_{country.lower()}",
                "condition": {"type": "trait", "trait": "country", "value": country},
            }
        )
    for category in CATEGORIES[1:]:
        out.append(
            {
                "key": f"fans_{category.lower()}",
                "condition": {
                    "type": "performed",
                    "event": "Product Viewed",
                    "at_least": 2,
                    "within": "7d",
                    "where": [{"property": "category", "value": category}],
                },
            }
        )
    for category in CATEGORIES:
        out.append(
            {
                "key": f"cart_{category.lower()}",
                "condition": {
                    "type": "sequence",
                    "first": {
                        "event": "Product Added",
                        "where": [{"property": "category", "value": category}],
                    },
                    "then_not": {"event": "Order Completed"},
                    "within": "24h",
                },
            }
        )
    for action, _share in ACTIONS:
        for days in (7, 30):
            out.append(
                {
                    "key": f"silent_{action.lower().replace(' ', '_')}_{days}d",
                    "condition": {"type": "not_performed", "event": action, "within": f"{days}d"},
                }
            )
    for action, _share in ACTIONS[:4]:
        out.append(
            {
                "key": f"today_{action.lower().replace(' ', '_')}",
                "condition": {"type": "performed", "event": action, "within": "1d"},
            }
        )
    for function, value in (("sum", 100), ("sum", 500), ("avg", 150), ("max", 400), ("count", 2)):
        out.append(
            {
                "key": f"orders_{function}_{value}",
                "condition": {
                    "type": "aggregate",
                    "event": "Order Completed",
                    "function": function,
                    **({} if function == "count" else {"property": "revenue"}),
                    "within": "30d",
                    "op": "gte",
                    "value": value,
                },
            }
        )
    out += [
        {
            "key": "german_spenders",
            "condition": {
                "type": "all",
                "conditions": [
                    {"type": "in_segment", "segment": "germany"},
                    {"type": "in_segment", "segment": "big_spenders"},
                ],
            },
        },
        {
            "key": "lapsing_customers",
            "condition": {
                "type": "all",
                "conditions": [
                    {"type": "performed", "event": "Order Completed"},
                    {"type": "not_performed", "event": "Page Viewed", "within": "14d"},
                ],
            },
        },
        {
            "key": "young_browsers",
            "condition": {
                "type": "all",
                "conditions": [
                    {"type": "trait", "trait": "age", "op": "lt", "value": 30},
                    {"type": "performed", "event": "Page Viewed", "at_least": 3, "within": "7d"},
                ],
            },
        },
        {
            "key": "readers_not_buyers",
            "condition": {
                "type": "all",
                "conditions": [
                    {"type": "performed", "event": "email_opened", "within": "14d"},
                    {
                        "type": "not",
                        "condition": {
                            "type": "performed",
                            "event": "Order Completed",
                            "within": "30d",
                        },
                    },
                ],
            },
        },
    ]
    assert len(out) == 50, len(out)
    return out


def definitions(raw: list[dict[str, Any]]) -> list[SegmentDefinition]:
    return [SegmentDefinition.model_validate(d) for d in raw]


# --- data -------------------------------------------------------------------------------------


def _uniform(salt: str) -> str:
    """A uniform number in [0, 1) from a hash of the row number: the same on every run."""
    return f"(hash(i, '{salt}') % 1000000007) / 1000000007.0"


def _pick(names: list[str], salt: str) -> str:
    listed = ", ".join(f"'{n}'" for n in names)
    return f"[{listed}][CAST(1 + hash(i, '{salt}') % {len(names)} AS BIGINT)]"


def generate(duck: duckdb.DuckDBPyConnection, people: int, events: int) -> None:
    """The population and its events, in DuckDB."""
    duck.execute(
        f"""CREATE TABLE profiles AS SELECT printf('u%07d', i) AS profile_id,
        printf('{{"email":"u%07d@example.com","country":"%s","age":%d}}', i,
               {_pick(COUNTRIES, "country")}, 18 + hash(i, 'age') % 60) AS traits
        FROM range({people}) t(i)"""
    )
    span = DAYS * 86_400_000_000
    start = (NOW - timedelta(days=DAYS)).replace(tzinfo=None).isoformat(sep=" ")
    bounds, total = [], 0.0
    for name, share in ACTIONS:
        total += share
        bounds.append(f"WHEN a < {total:.4f} THEN '{name}'")
    duck.execute(
        f"""CREATE TABLE profile_events AS
        WITH raw AS (
          SELECT i,
            -- u^1.5: the first 1% of people have a twentieth of the events
            CAST(floor({people} * pow({_uniform("who")}, 1.5)) AS BIGINT) AS who,
            -- in log order: event i at (i + u) / n of the span
            TIMESTAMP '{start}' + to_microseconds(
              CAST(floor((i + {_uniform("when")}) * {span} / {events}) AS BIGINT)) AS ts,
            {_uniform("action")} AS a,
            {_pick(CATEGORIES, "category")} AS category,
            (100 + hash(i, 'price') % 49900) / 100.0 AS price
          FROM range({events}) t(i)
        ), named AS (
          SELECT *, CASE {" ".join(bounds)} ELSE '{ACTIONS[-1][0]}' END AS action FROM raw
        )
        SELECT i + 1 AS seq, printf('u%07d', who) AS profile_id, action, ts AS timestamp,
          CASE WHEN action = 'Order Completed'
                 THEN printf('{{"revenue":%.2f,"currency":"EUR"}}', price)
               WHEN action IN ('Product Viewed', 'Product Added')
                 THEN printf('{{"category":"%s","price":%.2f}}', category, price)
               ELSE '{{}}' END AS properties
        FROM named"""
    )


def copy_to_sqlite(duck: duckdb.DuckDBPyConnection, path: Path, events: int) -> None:
    """DuckDB's rows into Pertinent's tables, by bulk inserts with the indexes built after."""
    Database(f"sqlite:///{path}").close()  # the schema, by Pertinent's own migrations
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'profile_events'"
        " AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        conn.execute(f"DROP INDEX {name}")
    conn.execute("BEGIN")
    stamp = (NOW - timedelta(days=90)).isoformat()
    times = orjson.dumps(dict.fromkeys(("email", "country", "age"), stamp)).decode()
    computed = orjson.dumps(empty_computed()).decode()
    rows = duck.execute("SELECT profile_id, traits FROM profiles ORDER BY profile_id")
    while page := rows.fetchmany(100_000):
        conn.executemany(
            "INSERT INTO profiles (profile_id, traits, trait_times, computed, version)"
            " VALUES (?, ?, ?, ?, 1)",
            [(pid, traits, times, computed) for pid, traits in page],
        )
        conn.executemany(
            "INSERT INTO identities (kind, value, profile_id) VALUES ('user', ?, ?)",
            [(pid, pid) for pid, _ in page],
        )
    rows = duck.execute(
        "SELECT seq, profile_id, action, strftime(timestamp, '%Y-%m-%d %H:%M:%S.%f'), properties"
        " FROM profile_events ORDER BY seq"
    )
    while page := rows.fetchmany(200_000):
        conn.executemany(
            "INSERT INTO profile_events (seq, profile_id, action, timestamp, properties)"
            " VALUES (?, ?, ?, ?, ?)",
            page,
        )
    conn.execute("COMMIT")
    for _name, sql in indexes:
        conn.execute(sql)
    # The log's history is not copied (segments read `profile_events`); new events get the
    # seqs after it, as they would.
    conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (events,))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


# --- measurements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Timed:
    wall: float  # seconds
    cpu: float  # CPU seconds of this process, every thread (DuckDB runs on both cores)

    def __str__(self) -> str:
        return f"{self.wall:.2f} s ({self.cpu:.2f} s CPU)"


def timed(work: Callable[[], T]) -> tuple[T, Timed]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, Timed(time.perf_counter() - wall, time.process_time() - cpu)


def duckdb_sizes(duck: duckdb.DuckDBPyConnection) -> dict[str, int]:
    at = _AT.format(now=NOW.replace(tzinfo=None).isoformat(sep=" "))
    return {
        key: len(duck.execute(sql.format(at=at)).fetchall()) for key, sql in DUCKDB_QUERIES.items()
    }


def pertinent_sizes(storage: SqlStorage, segments: SegmentSet) -> dict[str, int]:
    """Who is in each segment, over everyone: the read a backfill and a preview make."""
    keys = [s.key for s in segments]
    with storage.snapshot() as tx:
        found = tx.segments.matching(segments.conditions, dict.fromkeys(keys), NOW)
    return {key: len(found[key]) for key in keys}


def population(
    folder: Path, name: str, people: int, events: int
) -> tuple[duckdb.DuckDBPyConnection, Path, Timed, Timed]:
    """(DuckDB holding the data, the SQLite file holding the same, generating, copying)."""
    duck = duckdb.connect()
    db = folder / f"{name}.db"
    _, made = timed(lambda: generate(duck, people, events))
    _, copied = timed(lambda: copy_to_sqlite(duck, db, events))
    return duck, db, made, copied


def new_events(people: int, count: int) -> list[Event]:
    """Events of existing people after the generated ones (the same mix, the same skew)."""
    out = []
    for n in range(count):
        h = (n * 2654435761) % 4294967296
        who = int(people * ((h % 1_000_003) / 1_000_003) ** 1.5)
        name = ACTIONS[(h >> 8) % 4][0]
        properties: dict[str, Any] = {}
        if name in ("Product Viewed", "Product Added"):
            properties = {"category": CATEGORIES[(h >> 12) % 8], "price": 10 + (h >> 16) % 400}
        elif name == "Order Completed":
            properties = {"revenue": 20 + (h >> 16) % 300, "currency": "EUR"}
        at = NOW + timedelta(milliseconds=10 * n)
        out.append(
            Event(
                f"bench-{n}",
                "track",
                at,
                at,
                user_id=f"u{who:07d}",
                name=name,
                properties=properties,
            )
        )
    return out


def incremental(folder: Path, db: Path, people: int, count: int) -> tuple[Timed, Timed]:
    """(the backfill of the 50 segments, the processing of `count` new events)."""
    pertinent("init", str(folder / "ws"))
    template = load_workspace(folder / "ws")
    workspace = dataclasses.replace(template, segments=definitions(fifty()), journeys=[])
    events = new_events(people, count)
    clock = SimClock(NOW)
    system = build_system(workspace, clock=clock, database_url=f"sqlite:///{db}")
    try:
        _, backfill = timed(system.sync_segments)
        with system.storage.transaction() as tx:  # the backfill's own events are not timed
            tx.cursors.set("processor", tx.log.last_seq())
        for i in range(0, len(events), 1000):
            system.storage.append([events[i : i + 1000]])
        clock.set(events[-1].timestamp)
        _, processing = timed(system.processor.run_until_idle)
    finally:
        system.close()
    return backfill, processing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--events-per-person", type=int, default=10)
    parser.add_argument(
        "--incremental-people", type=int, default=100_000, help="the 50 segments' population"
    )
    parser.add_argument("--incremental", type=int, default=50_000, help="new events processed")
    parser.add_argument("--quick", action="store_true", help="20k people; 10k and 5k events")
    args = parser.parse_args()
    people = 20_000 if args.quick else args.people
    count = people * args.events_per_person
    small = 10_000 if args.quick else args.incremental_people
    stream = 5_000 if args.quick else args.incremental
    rows: list[tuple[str, str]] = [("people / events", f"{people:,} / {count:,}")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        duck, db, made, copied = population(folder, "large", people, count)
        rows.append(("data: generated in DuckDB / copied into SQLite", f"{made} / {copied}"))
        five = SegmentSet(definitions(FIVE))
        storage = SqlStorage(Database(f"sqlite:///{db}"))
        try:
            theirs, duck_t = timed(lambda: duckdb_sizes(duck))
            ours, ours_t = timed(lambda: pertinent_sizes(storage, five))
            if ours != theirs:
                raise SystemExit(f"the sizes differ: Pertinent {ours}, DuckDB {theirs}")
            _, backfill = timed(lambda: sync_definitions(storage, five, NOW))
        finally:
            storage.close()
            duck.close()
        rows += [
            ("sizes (the same in both)", ", ".join(f"{k} {v:,}" for k, v in ours.items())),
            ("DuckDB: the five queries", str(duck_t)),
            ("Pertinent: the five segments over everyone", str(ours_t)),
            (
                "ratio to DuckDB, wall / CPU (floor <= 3x)",
                f"{ours_t.wall / duck_t.wall:.2f}x / {ours_t.cpu / duck_t.cpu:.2f}x",
            ),
            (
                "Pertinent: backfill of the five (evaluation, memberships, timers, events)",
                str(backfill),
            ),
            ("backfill: ratio to DuckDB's queries, wall", f"{backfill.wall / duck_t.wall:.1f}x"),
        ]
        duck, db, _, _ = population(folder, "small", small, small * args.events_per_person)
        duck.close()
        fifty_t, processing = incremental(folder, db, small, stream)
        rows += [
            (f"50 segments over {small:,} people: backfill", str(fifty_t)),
            (
                f"incremental: {stream:,} new events through the processor, 50 segments",
                f"{stream / processing.wall:,.0f} events/s ({stream / processing.cpu:,.0f} per"
                " CPU second; floor >= 20,000)",
            ),
        ]
    print_table("Segments: backfill against DuckDB, incremental evaluation", rows)


if __name__ == "__main__":
    main()
