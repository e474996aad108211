"""Bringing the store in line with the workspace's segment definitions.

`sync_definitions` is the one way a definition takes effect: the processor calls it at start,
`pertinent segments sync` and `pertinent apply` call it when the workspace changes. A new or
changed segment is saved as a new version and evaluated at once over everyone (a backfill:
its members enter now, with `segment_entered` events carrying `"backfill": true`, so a
journey can tell them from people who qualified by acting); a removed segment's memberships
close (with `segment_exited`, `"removed": true`) and its timers go. Saved versions stay.

The backfill reads over everyone in a snapshot, then writes a page of people at a time, each
page its own transaction (on SQLite the API waits for the one writer, so no transaction may
hold it for the whole population).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pertinent.events.system import system_event
from pertinent.processor.apply import apply
from pertinent.processor.batch import retrying
from pertinent.processor.effects import Effect, EmitEvents, ExitSegment, SetSegmentTimers
from pertinent.processor.segments import SegmentView, Work, evaluate
from pertinent.segments.definitions import SegmentSet
from pertinent.storage.ports import DefinitionVersion, Storage

PAGE = 5000
Change = Literal["added", "changed", "removed", "unchanged"]


@dataclass(frozen=True)
class SegmentChange:
    """What a sync did to one segment: its version now, who entered and left, its size."""

    key: str
    change: Change
    version: int
    entered: int = 0
    exited: int = 0
    size: int = 0


def _definition(segments: SegmentSet, key: str) -> dict[str, object]:
    found = segments.by_key(key)
    assert found is not None
    return found.model_dump(mode="json", exclude_defaults=True)


def _changes(stored: Mapping[str, DefinitionVersion], segments: SegmentSet) -> dict[str, Change]:
    changes: dict[str, Change] = {}
    for seg in segments:
        before = stored.get(seg.key)
        if before is None:
            changes[seg.key] = "added"
        else:
            same = before.definition == _definition(segments, seg.key)
            changes[seg.key] = "unchanged" if same else "changed"
    for key in sorted(stored.keys() - set(segments.conditions)):
        changes[key] = "removed"
    return changes


def plan_changes(storage: Storage, segments: SegmentSet) -> dict[str, Change]:
    """What `sync_definitions` would do to each segment, without doing it."""
    with storage.snapshot() as tx:
        return _changes(tx.segments.definitions(), segments)


def _record(
    storage: Storage, segments: SegmentSet, now: datetime
) -> tuple[dict[str, Change], dict[str, int], set[str]]:
    """Save the new versions and mark the removed ones, in a transaction: (the changes, each
    segment's version now, segments with memberships but no definition). Two processors
    starting together race here; the loser runs it again and finds nothing to change."""
    versions: dict[str, int] = {}
    with storage.transaction() as tx:
        stored = tx.segments.definitions()
        changes = _changes(stored, segments)
        for key, change in changes.items():
            if change in ("added", "changed"):
                versions[key] = tx.segments.save_definition(key, _definition(segments, key), now)
            elif change == "removed":
                tx.segments.remove_definition(key, now)
            else:
                versions[key] = stored[key].version
        # Memberships of a segment no definition names any more (removed before versions
        # were kept) close too.
        orphans = set(tx.segments.current(None)) - set(segments.conditions)
    return changes, versions, orphans


def sync_definitions(
    storage: Storage,
    segments: SegmentSet,
    now: datetime,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[SegmentChange]:
    """Save new and changed definitions as versions, backfill them over everyone, close the
    memberships of removed segments; return one change per segment (unchanged ones too, with
    their sizes). `progress(done, total)` is called after each page of people."""
    changes, versions, orphans = retrying(functools.partial(_record, storage, segments, now))
    for key in orphans:
        changes.setdefault(key, "removed")
    backfill = [s.key for s in segments if changes[s.key] in ("added", "changed")]
    counts = _backfill(storage, segments, backfill, now, progress) if backfill else {}
    exited = {key: _close(storage, key, now) for key, c in changes.items() if c == "removed"}
    sizes = storage.reads.segment_sizes()
    return [
        SegmentChange(
            key,
            change,
            versions.get(key, 0),
            entered=counts.get(key, (0, 0))[0],
            exited=counts.get(key, (0, 0))[1] + exited.get(key, 0),
            size=sizes.get(key, 0),
        )
        for key, change in sorted(changes.items())
    ]


def _backfill(
    storage: Storage,
    segments: SegmentSet,
    keys: Sequence[str],
    now: datetime,
    progress: Callable[[int, int], None] | None,
) -> dict[str, tuple[int, int]]:
    """Evaluate `keys` over everyone, one segment at a time; (entered, exited) per segment.

    Who is in, who was, and when to look at whom again come from reads over everyone in a
    snapshot (the set-based shapes of `storage.sql.conditions`: each event of a window read
    once); only the people with something to write (members, former members, people with a
    timer to set) are then visited, a page at a time, each page a transaction of its own.
    """
    counts: dict[str, tuple[int, int]] = {}
    done = total = 0
    for key in keys:
        clocks = segments.clocks(key)
        with storage.snapshot() as tx:
            members = tx.segments.matching(segments.conditions, {key: None}, now)[key]
            anchors = tx.segments.anchors([(c, None) for c in clocks], now) if clocks else []
            before = {pid for pid, _, exited in tx.segments.history(key) if exited is None}
        anchored: dict[str, list[tuple[int, str, datetime]]] = defaultdict(list)
        for row in anchors:
            anchored[row[1]].append(row)
        people = sorted(members | before | anchored.keys())
        total += len(people)
        entered = exited = 0
        for start in range(0, len(people), PAGE):
            page = frozenset(people[start : start + PAGE])
            write = functools.partial(_write, storage, segments, key, page, members, anchored, now)
            came, went = retrying(write)
            entered, exited = entered + came, exited + went
            done += len(page)
            if progress is not None:
                progress(done, total)
        counts[key] = (entered, exited)
    return counts


def _write(
    storage: Storage,
    segments: SegmentSet,
    key: str,
    page: frozenset[str],
    members: set[str],
    anchored: Mapping[str, list[tuple[int, str, datetime]]],
    now: datetime,
) -> tuple[int, int]:
    """One page of a segment's backfill in a transaction; (entered, exited)."""
    with storage.transaction() as tx:
        current = tx.segments.current(page)
        view = SegmentView(
            matching={key: members & page},
            current=current,
            anchors=[row for pid in page for row in anchored.get(pid, ())],
        )
        work = Work.of([key], page)
        effects = evaluate(segments, work, view, now, f"backfill@{now}", {"backfill": True})
        tx.log.append(apply(tx, effects))
        was = current.get(key, set())
        return len(view.matching[key] - was), len(was - view.matching[key])


def _close(storage: Storage, key: str, now: datetime) -> int:
    """Close every open membership of a removed segment and drop its timers."""

    def run() -> int:
        with storage.transaction() as tx:
            members = tx.segments.current(None).get(key, set())
            events = [
                system_event(
                    "segment_exited",
                    pid,
                    {"segment": key, "removed": True},
                    now,
                    cause=f"{key}\x1fremoved@{now}",
                )
                for pid in sorted(members)
            ]
            effects: list[Effect] = [
                ExitSegment(key, frozenset(members), now),
                SetSegmentTimers(key, {}, frozenset(members)),
                EmitEvents(events),
            ]
            tx.log.append(apply(tx, effects))
            return len(members)

    return retrying(run)
