"""The scheduled RFM recompute (`profiles.rfm`), through the same ports and effects as a
micro-batch.

A run reads every customer twice, a page at a time in snapshots: once to know the population,
once to score each page against it. Only the customers whose scores changed are written:
their profiles are loaded, given the new scores and saved (a save checks the version, so a
processor that folded them meanwhile, or holds them in memory, loses the race and runs its
batch again), and in the same transaction every segment that reads a computed property the
run writes is evaluated for them, with its entries, exits, events and timers, as a batch
would. The first run of a workspace is a backfill: its segment entries carry
`"backfill": true`, as a new segment's do. Each run is recorded as an artefact (`rfm`): when
it ran, how many customers it scored, how many had each score; the schedule counts from it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from pertinent.events.model import Event
from pertinent.processor.apply import apply
from pertinent.processor.batch import retrying
from pertinent.processor.effects import SaveProfiles
from pertinent.processor.segments import Work, evaluate, load_view, reading
from pertinent.profiles.rfm import RFM_KEYS, RFM_SCORE, Customer, Population
from pertinent.segments.definitions import SegmentSet
from pertinent.storage.ports import Storage

ARTEFACT = "rfm"
PAGE = 2000


@dataclass(frozen=True)
class RfmRun:
    customers: int
    changed: int  # customers whose scores were written
    distribution: dict[str, list[int]]  # measure -> customers with each score 1-5


def rfm_due(storage: Storage, now: datetime, every: timedelta) -> bool:
    """Never run, or the last run is `every` old (by the clock, so simulated time runs it on
    the simulated schedule)."""
    with storage.snapshot() as tx:
        latest = tx.artefacts.latest(ARTEFACT)
    if latest is None:
        return True
    scored_at = latest.meta.get("scored_at")
    return not isinstance(scored_at, int | float) or (
        now.timestamp() - scored_at >= every.total_seconds()
    )


def score_rfm(storage: Storage, segments: SegmentSet, now: datetime) -> RfmRun:
    """Score every customer against all of them as of now, write the scores that changed,
    and move the people whose segments read them."""
    population = Population()
    after: str | None = None
    while page := _customers(storage, after):
        population.add(page)
        after = page[-1].profile_id
    with storage.snapshot() as tx:
        first = tx.artefacts.latest(ARTEFACT) is None
    keys = reading(segments, RFM_KEYS)
    changed, after = 0, None
    while page := _customers(storage, after):
        after = page[-1].profile_id
        scores = dict(zip((c.profile_id for c in page), population.scores(page), strict=True))
        moved = {
            c.profile_id: scores[c.profile_id]
            for c in page
            if c.rfm_score != scores[c.profile_id][RFM_SCORE]
        }
        if moved:
            write = functools.partial(_write, storage, segments, keys, moved, now, first)
            changed += retrying(write)
    summary = population.summary()
    meta = {"scored_at": now.timestamp(), "customers": len(population), "changed": changed}
    with storage.transaction() as tx:
        tx.artefacts.put(ARTEFACT, orjson.dumps(summary), meta, now)
        tx.artefacts.prune(ARTEFACT, 3)
    return RfmRun(len(population), changed, summary)


def _customers(storage: Storage, after: str | None) -> list[Customer]:
    with storage.snapshot() as tx:
        return tx.profiles.customers(after, PAGE)


def _write(
    storage: Storage,
    segments: SegmentSet,
    keys: list[str],
    scores: Mapping[str, Mapping[str, Any]],
    now: datetime,
    first: bool,
) -> int:
    """One page of new scores, and the segments that read them, in a transaction; return
    how many people got new scores (an erased one is gone)."""
    with storage.transaction() as tx:
        states = tx.profiles.load(scores)
        for pid, state in states.items():
            state.computed.update(scores[pid])
        emitted: list[Event] = apply(tx, [SaveProfiles(list(states.values()))])
        if keys and states:
            work = Work.of(keys, frozenset(states))
            view = load_view(tx, segments, work, now)
            marks = {"backfill": True} if first else None
            emitted += apply(tx, evaluate(segments, work, view, now, f"rfm@{now}", marks))
        tx.log.append(emitted)
        return len(states)
