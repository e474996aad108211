"""Bringing the store in line with the workspace's segment definitions.

`sync_definitions` is the one way a definition takes effect: the processor calls it at start,
`pertinent segments sync` and `pertinent apply` call it when the workspace changes. A new or
changed segment is saved as a new version and evaluated at once over everyone (a backfill:
its members enter now, with `segment_entered` events carrying `"backfill": true`, so a
journey can tell them from people who qualified by acting); a removed segment's memberships
close (with `segment_exited`, `"removed": true`) and its timers go. Saved versions stay.

The backfill walks the profiles a page at a time, each page its own transaction (on SQLite
the API waits for the one writer, so no transaction may hold it for the whole population).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from pertinent.events.system import system_event
from pertinent.processor.apply import apply
from pertinent.processor.batch import retrying
from pertinent.processor.effects import Effect, EmitEvents, ExitSegment, SetSegmentTimers
from pertinent.processor.segments import SegmentView, Work, clocks_of, evaluate
from pertinent.segments.definitions import SegmentSet
from pertinent.storage.ports import Storage

PAGE = 2000
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


def plan_changes(storage: Storage, segments: SegmentSet) -> dict[str, Change]:
    """What `sync_definitions` would do to each segment, without doing it."""
    with storage.snapshot() as tx:
        stored = tx.segments.definitions()
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
    changes = plan_changes(storage, segments)
    versions: dict[str, int] = {}
    with storage.transaction() as tx:
        stored = tx.segments.definitions()
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
    """Evaluate `keys` for everyone, a page at a time; (entered, exited) per segment."""
    counts = {key: [0, 0] for key in keys}
    total = storage.reads.status().profiles
    done, after = 0, None
    while True:
        with storage.snapshot() as tx:
            page = tx.profiles.ids_after(after, PAGE)
        if not page:
            break
        work = Work(list(keys), frozenset(page))

        def run(work: Work = work) -> list[tuple[str, int, int]]:
            with storage.transaction() as tx:
                clocks = clocks_of(segments, work.keys)
                view = SegmentView(
                    matching=tx.segments.matching(segments.conditions, work.keys, now, work.among),
                    current=tx.segments.current(work.among),
                    anchors=tx.segments.anchors([c for _, c in clocks], now, work.among),
                )
                effects = evaluate(segments, work, view, now, origin=f"backfill@{now}")
                tx.log.append(apply(tx, _marked(effects)))
                return [
                    (
                        key,
                        len(view.matching[key] - view.current.get(key, set())),
                        len(view.current.get(key, set()) - view.matching[key]),
                    )
                    for key in work.keys
                ]

        for key, entered, exited in retrying(run):
            counts[key][0] += entered
            counts[key][1] += exited
        done += len(page)
        after = page[-1]
        if progress is not None:
            progress(min(done, max(total, done)), max(total, done))
    return {key: (n[0], n[1]) for key, n in counts.items()}


def _marked(effects: list[Effect]) -> list[Effect]:
    """The evaluation's effects, its events marked as a backfill's."""
    return [
        EmitEvents(
            [replace(e, properties={**e.properties, "backfill": True}) for e in effect.events]
        )
        if isinstance(effect, EmitEvents)
        else effect
        for effect in effects
    ]


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
